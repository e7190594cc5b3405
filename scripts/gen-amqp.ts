/**
 * Generates the AMQP 0-9-1 codec in src/protocol/amqp/generated/ from the rabbitmq-codegen
 * JSON spec: straight-line encode/decode per method, a switch on (classId << 16) | methodId,
 * fixed sizes folded in at generation time, and decoded objects with every key present.
 *
 *   npx tsc -p tsconfig.json && node dist/scripts/gen-amqp.js [spec.json] [--out dir]
 *
 * Defaults: ../shared/spec/amqp-rabbitmq-0.9.1.json (from the repo root) and the committed
 * generated/ folder. test/unit/amqp-codec.test.ts regenerates into a temp dir and diffs.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface SpecArg {
  name: string;
  type?: string;
  domain?: string;
}
interface SpecClass {
  id: number;
  name: string;
  methods: {
    id: number;
    name: string;
    arguments: SpecArg[];
    synchronous?: boolean;
    content?: boolean;
  }[];
  properties?: SpecArg[];
}
/** The rabbitmq-codegen JSON format (the parts the generator reads). */
export interface Spec {
  'major-version': number;
  'minor-version': number;
  revision: number;
  port: number;
  domains: [string, string][];
  constants: { name: string; value: number; class?: string }[];
  classes: SpecClass[];
}

type Wire =
  'octet' | 'short' | 'long' | 'longlong' | 'timestamp' | 'bit' | 'shortstr' | 'longstr' | 'table';
interface Field {
  name: string;
  wire: Wire;
}
interface Method {
  key: number;
  classId: number;
  methodId: number;
  dotted: string;
  type: string;
  fields: Field[];
  synchronous: boolean;
  content: boolean;
}

const U64 = 'b.readUInt32BE(o) * 4294967296 + b.readUInt32BE(o + 4)';
const FIXED: Partial<Record<Wire, [size: number, read: string]>> = {
  octet: [1, 'b[o]!'],
  short: [2, 'b.readUInt16BE(o)'],
  long: [4, 'b.readUInt32BE(o)'],
  longlong: [8, U64],
  timestamp: [8, U64],
};
/** Variable-size types: length-prefix size, prefix read, body read (n = length). */
const VARIABLE: Partial<Record<Wire, [prefix: number, readLength: string, read: string]>> = {
  shortstr: [1, 'n = b[o++]!;', 'readUtf8(b, o, o + n)'],
  longstr: [4, 'n = b.readUInt32BE(o);\n  o += 4;', 'Buffer.from(b.subarray(o, o + n))'],
  table: [4, 'n = b.readUInt32BE(o);\n  o += 4;', 'decodeFieldTable(b, o, n)'],
};
const TS_TYPE: Record<Wire, string> = {
  ...{ octet: 'number', short: 'number', long: 'number', longlong: 'number', timestamp: 'number' },
  ...{ bit: 'boolean', shortstr: 'string', longstr: 'Buffer', table: 'FieldTable' },
};

const camel = (s: string): string => s.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
const pascal = (s: string): string => camel(s).replace(/^[a-z]/, (c) => c.toUpperCase());
const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
/** Local variable for a field: the trailing `_` keeps `arguments` legal. */
const local = (f: Field): string => `${f.name}_`;

/** Writes value expression `v` of field `f` at `o` and advances `o`; `len` names its byte length. */
function write(f: Field, v: string, len: string): string {
  const w = f.wire;
  if (w === 'octet') return `o = b.writeUInt8(${v}, o);`;
  if (w === 'short') return `o = b.writeUInt16BE(${v}, o);`;
  if (w === 'long') return `o = b.writeUInt32BE(${v}, o);`;
  if (w === 'longlong' || w === 'timestamp') return `o = writeUInt64(b, o, ${v});`;
  if (w === 'shortstr') return `b[o] = ${len};\n  o = writeUtf8(b, o + 1, ${v}, ${len});`;
  if (w === 'longstr') return `o = b.writeUInt32BE(${len}, o);\n  o += ${v}.copy(b, o);`;
  return `o = writeFieldTable(b, o, ${v});`;
}
/** Byte length of a variable field without its prefix (tables: with it, see fieldTableSize). */
function length(f: Field, v: string, what: string): string {
  if (f.wire === 'shortstr') return `shortStrLength(${v}, '${what}')`;
  return f.wire === 'longstr' ? `${v}.length` : `fieldTableSize(${v})`;
}

function wireOf(spec: Spec, a: SpecArg): Wire {
  const domains = new Map(spec.domains);
  let t = a.type ?? a.domain ?? '';
  while (domains.get(t) !== undefined && domains.get(t) !== t) t = domains.get(t)!;
  if (!(t in TS_TYPE)) throw new Error(`unsupported AMQP type '${t}' for ${a.name}`);
  return t as Wire;
}

function methodsOf(spec: Spec): Method[] {
  // The hot methods first, then the rest of basic, so the decode switch meets them early.
  const hot = ['basic.publish', 'basic.ack', 'basic.nack', 'basic.reject', 'basic.deliver'];
  const all = spec.classes.flatMap((c) =>
    c.methods.map((m) => ({
      key: ((c.id << 16) | m.id) >>> 0,
      classId: c.id,
      methodId: m.id,
      dotted: `${c.name}.${m.name}`,
      type: pascal(`${c.name}-${m.name}`),
      fields: m.arguments.map((a) => ({ name: camel(a.name), wire: wireOf(spec, a) })),
      synchronous: m.synchronous === true,
      content: m.content === true,
    })),
  );
  const rank = (m: Method): number =>
    hot.includes(m.dotted) ? hot.indexOf(m.dotted) : hot.length + (m.classId === 60 ? 0 : 1);
  return all
    .map((m, i) => ({ m, i }))
    .sort((a, b) => rank(a.m) - rank(b.m) || a.i - b.i)
    .map((x) => x.m);
}

/**
 * Fields split into segments, each ending with one variable-size field (the last may have
 * none). `need` is the bytes a segment needs before its variable body, so decoding checks
 * bounds once per segment. A Field[] is a run of bits packed into one octet.
 */
interface Segment {
  fixed: (Field | Field[])[];
  variable: Field | undefined;
  need: number;
}
function segmentsOf(fields: Field[]): Segment[] {
  const out: Segment[] = [{ fixed: [], variable: undefined, need: 0 }];
  let bits: Field[] | undefined;
  for (const f of fields) {
    const cur = out[out.length - 1]!;
    if (f.wire !== 'bit') bits = undefined;
    if (f.wire === 'bit') {
      if (!bits || bits.length === 8) cur.fixed.push((bits = []));
      bits.push(f);
    } else if (FIXED[f.wire]) cur.fixed.push(f);
    else {
      cur.variable = f;
      out.push({ fixed: [], variable: undefined, need: 0 });
    }
  }
  for (const s of out) {
    s.need = s.fixed.reduce((n, f) => n + (Array.isArray(f) ? 1 : FIXED[f.wire]![0]), 0);
    if (s.variable) s.need += VARIABLE[s.variable.wire]![0];
  }
  return out;
}

const HEADER = (
  spec: string,
): string => `// Generated by scripts/gen-amqp.ts from ${spec}. DO NOT EDIT.
// Regenerate: npx tsc -p tsconfig.json && node dist/scripts/gen-amqp.js
`;

function genSpec(spec: Spec, specName: string): string {
  const replies = spec.constants.filter((c) => c.class !== undefined || c.name === 'REPLY-SUCCESS');
  const hard = replies.filter((c) => c.class === 'hard-error').map((c) => c.value);
  const value = (name: string): number => spec.constants.find((c) => c.name === name)?.value ?? NaN;
  const entries = (xs: [string, number][]): string =>
    xs.map(([k, v]) => `  ${k}: ${v},`).join('\n');
  const frames = spec.constants.filter((c) =>
    /^FRAME-(METHOD|HEADER|BODY|HEARTBEAT)$/.test(c.name),
  );
  return `${HEADER(specName)}
/** Frame type octets. */
export const FrameType = {
${entries(frames.map((c) => [pascal(c.name.slice(6).toLowerCase()), c.value]))}
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];
export const FRAME_MIN_SIZE = ${value('FRAME-MIN-SIZE')};
export const FRAME_END = ${value('FRAME-END')};
/** Reply codes for channel.close, connection.close and basic.return. */
export const ReplyCode = {
${entries(replies.map((c) => [pascal(c.name.toLowerCase()), c.value]))}
} as const;
export type ReplyCode = (typeof ReplyCode)[keyof typeof ReplyCode];
/** Reply codes the spec classes as hard errors: they close the connection, not the channel. */
export const HARD_ERRORS: ReadonlySet<number> = new Set([${hard.join(', ')}]);
export const ClassId = {
${entries(spec.classes.map((c) => [pascal(c.name), c.id]))}
} as const;
export type ClassId = (typeof ClassId)[keyof typeof ClassId];
export const PROTOCOL = { major: ${spec['major-version']}, minor: ${spec['minor-version']}, revision: ${spec.revision}, port: ${spec.port} } as const;
`;
}

function genDecode(m: Method): string {
  const segs = segmentsOf(m.fields);
  const L = [
    `export function decode${m.type}(b: Buffer, o: number, e: number): Decoded<typeof MethodId.${m.type}> {`,
  ];
  if (segs.length > 1) L.push('  let n: number;');
  // The last segment must end exactly at e (trailing bytes are a frame error, as in RabbitMQ).
  const check = (expr: string, i: number): void => {
    const total = segs[i]!.need === 0 ? expr : `${expr} + ${segs[i]!.need}`;
    const op = i === segs.length - 1 ? '!==' : '>';
    if (op === '!==' || total !== 'o')
      L.push(`  if (${total} ${op} e) throw sizeError(${hex(m.key)}, ${total}, e);`);
  };
  check('o', 0);
  const bitExprs = new Map<string, string>();
  segs.forEach((s, i) => {
    for (const f of s.fixed) {
      if (Array.isArray(f)) {
        const g = `bits${bitExprs.size}`;
        L.push(`  const ${g} = b[o++]!;`);
        f.forEach((bf, j) => bitExprs.set(bf.name, `(${g} & ${1 << j}) !== 0`));
      } else L.push(`  const ${local(f)} = ${FIXED[f.wire]![1]};`, `  o += ${FIXED[f.wire]![0]};`);
    }
    if (!s.variable) return;
    const [, readLength, read] = VARIABLE[s.variable.wire]!;
    L.push(`  ${readLength}`);
    check('o + n', i + 1);
    L.push(`  const ${local(s.variable)} = ${read};`);
    if (i + 2 < segs.length || segs[i + 1]!.fixed.length > 0) L.push('  o += n;');
  });
  const props = m.fields.map((f) => `, ${f.name}: ${bitExprs.get(f.name) ?? local(f)}`).join('');
  return `${L.join('\n')}\n  return { id: ${hex(m.key)}${props} };\n}\n`;
}

function genEncode(m: Method): string {
  const segs = segmentsOf(m.fields);
  const vars = segs.flatMap((s) => (s.variable ? [s.variable] : []));
  // 7 header + 4 ids + fixed arguments + prefixes + 1 frame-end; fieldTableSize counts its prefix.
  const fixed =
    segs.reduce((n, s) => n + s.need, 12) - vars.filter((v) => v.wire === 'table').length * 4;
  const L = [`export function encode${m.type}Frame(channel: number, f: ${m.type}): Buffer {`];
  for (const v of vars)
    L.push(`  const ${v.name}Len = ${length(v, `f.${v.name}`, `${m.dotted} ${v.name}`)};`);
  L.push(
    `  const b = Buffer.allocUnsafe(${[fixed, ...vars.map((v) => `${v.name}Len`)].join(' + ')});`,
  );
  L.push(`  b[0] = 1;\n  b.writeUInt16BE(channel, 1);\n  b.writeUInt32BE(b.length - 8, 3);`);
  L.push(`  b.writeUInt32BE(${hex(m.key)}, 7);\n  let o = 11;`);
  for (const s of segs) {
    for (const f of s.fixed) {
      if (!Array.isArray(f)) L.push(`  ${write(f, `f.${f.name}`, '')}`);
      else L.push(`  b[o++] = ${f.map((bf, j) => `(f.${bf.name} ? ${1 << j} : 0)`).join(' | ')};`);
    }
    if (s.variable)
      L.push(`  ${write(s.variable, `f.${s.variable.name}`, `${s.variable.name}Len`)}`);
  }
  return `${L.join('\n')}\n  b[o] = 206;\n  return b;\n}\n`;
}

function genMethods(methods: Method[], specName: string): string {
  const types = methods.map((m) => {
    const doc = `/** ${m.dotted} (${m.classId}/${m.methodId}${m.content ? ', carries content' : ''}) */\n`;
    if (m.fields.length === 0) return `${doc}export type ${m.type} = Record<never, never>;`;
    return `${doc}export interface ${m.type} {\n${m.fields.map((f) => `  ${f.name}: ${TS_TYPE[f.wire]};`).join('\n')}\n}`;
  });
  const info = methods.map((m) => {
    const args = m.fields.map((f) => `{ name: '${f.name}', type: '${f.wire}' }`).join(', ');
    return `  { id: ${hex(m.key)}, classId: ${m.classId}, methodId: ${m.methodId}, name: '${m.dotted}', type: '${m.type}', synchronous: ${m.synchronous}, content: ${m.content}, args: [${args}] },`;
  });
  const each = (f: (m: Method) => string): string => methods.map(f).join('\n');
  return `${HEADER(specName)}
import { AmqpDecodeError, readUtf8, shortStrLength, writeUInt64, writeUtf8 } from '../constants.js';
import { decodeFieldTable, fieldTableSize, writeFieldTable } from '../field-table.js';
import type { FieldTable } from '../field-table.js';

/** Method ids: (classId << 16) | methodId. */
export const MethodId = {
${each((m) => `  ${m.type}: ${hex(m.key)},`)}
} as const;
export type MethodId = (typeof MethodId)[keyof typeof MethodId];

${types.join('\n')}

/** Argument interface per method id. */
export interface MethodArgs {
${each((m) => `  [MethodId.${m.type}]: ${m.type};`)}
}
export type MethodKey = keyof MethodArgs;
/** A decoded method: its id plus every argument (one stable shape per method). */
export type Decoded<K extends MethodKey> = { id: K } & MethodArgs[K];
/** Any decoded method; narrow it with \`switch (m.id)\` on \`MethodId\` members. */
export type AmqpMethod = { [K in MethodKey]: Decoded<K> }[MethodKey];

export type WireType = 'octet' | 'short' | 'long' | 'longlong' | 'timestamp' | 'bit' | 'shortstr' | 'longstr' | 'table';
export interface MethodInfo {
  readonly id: number;
  readonly classId: number;
  readonly methodId: number;
  /** As in the spec: \`basic.publish\`. */
  readonly name: string;
  /** The generated interface: \`BasicPublish\`. */
  readonly type: string;
  readonly synchronous: boolean;
  readonly content: boolean;
  readonly args: readonly { readonly name: string; readonly type: WireType }[];
}
/** Every method of the spec, in decode-switch order. */
export const METHODS: readonly MethodInfo[] = [
${info.join('\n')}
];
const BY_ID = new Map(METHODS.map((m) => [m.id, m]));
/** The spec entry for a method id, or undefined. */
export function methodInfo(id: number): MethodInfo | undefined {
  return BY_ID.get(id);
}
/** \`basic.publish\` for a known id, \`classId.methodId\` otherwise. */
export function methodName(id: number): string {
  return BY_ID.get(id)?.name ?? \`\${id >>> 16}.\${id & 0xffff}\`;
}

function sizeError(id: number, need: number, end: number): AmqpDecodeError {
  const what = need > end ? \`is truncated by \${need - end} bytes\` : \`has \${end - need} unexpected trailing bytes\`;
  return new AmqpDecodeError(501, \`\${methodName(id)} \${what}\`, id);
}

${each(genDecode)}
/**
 * Decodes a method frame payload \`buf[offset, offset + length)\`: class id, method id and
 * arguments, into \`{ id, ...arguments }\`. Throws AmqpDecodeError: 501 for truncated or
 * trailing bytes, 540 for an unknown class or method, 502 for bad field-table contents.
 */
export function decodeMethod(buf: Buffer, offset: number, length: number): AmqpMethod {
  const e = offset + length;
  if (length < 4 || offset < 0 || e > buf.length) {
    throw new AmqpDecodeError(501, \`method frame payload of \${length} bytes cannot hold a class and method id\`);
  }
  const o = offset + 4;
  const id = buf.readUInt32BE(offset);
  switch (id) {
${each((m) => `    case ${hex(m.key)}: return decode${m.type}(buf, o, e);`)}
    default:
      throw new AmqpDecodeError(540, \`method \${id >>> 16}.\${id & 0xffff} is not part of AMQP 0-9-1\`, id);
  }
}

${each(genEncode)}
/** A whole method frame (header, class and method ids, arguments, frame-end) for any method. */
export function encodeMethodFrame<K extends MethodKey>(channel: number, id: K, args: MethodArgs[K]): Buffer {
  switch (id as number) {
${each((m) => `    case ${hex(m.key)}: return encode${m.type}Frame(channel, args as ${m.type});`)}
    default:
      throw new RangeError(\`unknown AMQP method id \${id}\`);
  }
}
`;
}

/** Content properties (only basic has them): decode, encode, and a cheap peek for the hot path. */
function genProperties(spec: Spec, specName: string): string {
  const classes = spec.classes.filter((c) => (c.properties ?? []).length > 0);
  if (classes.length !== 1) throw new Error('expected exactly one class with content properties');
  const cls = classes[0]!;
  const props = (cls.properties ?? []).map((a) => ({ name: camel(a.name), wire: wireOf(spec, a) }));
  if (props.length > 15) throw new Error('more than 15 properties need flag continuation words');
  const flag = (i: number): string => `0x${(0x8000 >>> i).toString(16)}`;
  const unused = ~props.reduce((m, _p, i) => m | (0x8000 >>> i), 0) & 0xfffe;
  const peeked = ['deliveryMode', 'priority', 'expiration', 'userId'];
  const located = ['headers', 'replyTo'];
  /** Reads property `p` at `o` into `dst`, or only skips it when `dst` is ''. */
  const read = (p: Field, i: number, dst: string): string => {
    const L = [`  if ((flags & ${flag(i)}) !== 0) {`];
    const fixed = FIXED[p.wire];
    if (fixed)
      L.push(
        `    if (o + ${fixed[0]} > e) throw truncated();`,
        dst ? `    ${dst} = ${fixed[1]};` : '',
        `    o += ${fixed[0]};`,
      );
    else {
      const [prefix, readLength, body] = VARIABLE[p.wire]!;
      L.push(
        `    if (o + ${prefix} > e) throw truncated();`,
        `    ${readLength.replace('\n', '\n  ')}`,
        '    if (o + n > e) throw truncated();',
      );
      // Where these are, not their values: headers are decoded lazily, reply-to compared.
      if (located.includes(p.name) && !dst)
        L.push(`    into.${p.name}Offset = o;`, `    into.${p.name}Length = n;`);
      L.push(dst ? `    ${dst} = ${body};` : '', '    o += n;');
    }
    return [...L, '  }'].filter((l) => l !== '').join('\n');
  };
  const start = `  const e = offset + length;
  if (offset < 0 || length < 2 || e > b.length) throw truncated();
  const flags = b.readUInt16BE(offset);
  let o = (flags & 1) !== 0 ? skipFlagWords(b, offset + 2, e) : offset + 2;
  if ((flags & 0x${unused.toString(16)}) !== 0) throw unknownFlags(flags);
  let n: number;`;
  const each = (f: (p: Field, i: number) => string): string => props.map(f).join('\n');
  return `${HEADER(specName)}
import { AmqpDecodeError, readUtf8, shortStrLength, writeUInt64, writeUtf8 } from '../constants.js';
import { decodeFieldTable, fieldTableSize, writeFieldTable } from '../field-table.js';
import type { FieldTable } from '../field-table.js';
import type { WireType } from './methods.js';

/** The class whose content headers carry these properties. */
export const PROPERTIES_CLASS_ID = ${cls.id};
/** ${cls.name} content properties in wire order; decoding sets every key (undefined when absent). */
export interface BasicProperties {
${each((p) => `  ${p.name}: ${TS_TYPE[p.wire]} | undefined;`)}
}
/** Properties to encode: absent, undefined and null all mean "not set". */
export type BasicPropertiesInput = { readonly [K in keyof BasicProperties]?: BasicProperties[K] | null };
export const PROPERTIES: readonly { readonly name: string; readonly type: WireType }[] = [
${each((p) => `  { name: '${p.name}', type: '${p.wire}' },`)}
];

function truncated(): AmqpDecodeError {
  return new AmqpDecodeError(501, 'content header properties do not fit their frame: truncated, trailing bytes or a bad length', ${(cls.id << 16) >>> 0});
}
function unknownFlags(flags: number): AmqpDecodeError {
  return new AmqpDecodeError(502, \`content header property flags 0x\${flags.toString(16)} name properties ${cls.name} does not have\`);
}
/** Skips continuation flag words (bit 0 set); they may not flag anything. */
function skipFlagWords(b: Buffer, o: number, e: number): number {
  for (;;) {
    if (o + 2 > e) throw truncated();
    const w = b.readUInt16BE(o);
    o += 2;
    if ((w & 0xfffe) !== 0) throw unknownFlags(w);
    if ((w & 1) === 0) return o;
  }
}

/** Decodes the flags + property list \`b[offset, offset + length)\` of a content header. */
export function decodeProperties(b: Buffer, offset: number, length: number): BasicProperties {
${start}
${each((p, i) => `  let ${local(p)}: ${TS_TYPE[p.wire]} | undefined = undefined;\n${read(p, i, local(p))}`)}
  if (o !== e) throw truncated();
  return { ${props.map((p) => `${p.name}: ${local(p)}`).join(', ')} };
}

/** Encodes properties as flags + property list (what follows body-size in a content header). */
export function encodeProperties(p: BasicPropertiesInput): Buffer {
  let flags = 0;
  let size = 2;
${each((p, i) => {
  const v = local(p);
  const len = FIXED[p.wire]
    ? String(FIXED[p.wire]![0])
    : p.wire === 'table'
      ? length(p, v, p.name)
      : `${VARIABLE[p.wire]![0]} + ${length(p, v, p.name)}`;
  return `  const ${v} = p.${p.name};\n  let ${p.name}Len = 0;\n  if (${v} != null) {\n    flags |= ${flag(i)};\n    ${p.name}Len = ${len};\n    size += ${p.name}Len;\n  }`;
})}
  const b = Buffer.allocUnsafe(size);
  b.writeUInt16BE(flags, 0);
  let o = 2;
${each((p) => `  if (${local(p)} != null) {\n    ${write(p, local(p), `${p.name}Len - ${VARIABLE[p.wire]?.[0] ?? 0}`).replace('\n', '\n  ')}\n  }`)}
  return b;
}

/** What the broker needs from a published message without decoding its properties. */
export class PeekedProperties {
  /** 2 = persistent; 0 when absent. */
  deliveryMode = 0;
  priority: number | undefined = undefined;
  expiration: string | undefined = undefined;
  userId: string | undefined = undefined;
  /** Where the headers table's content (after its length) starts in the buffer; -1 if absent. */
  headersOffset = -1;
  headersLength = 0;
  /** Where reply-to's bytes start in the buffer; -1 if absent. */
  replyToOffset = -1;
  replyToLength = 0;
}

/**
 * Walks (and so checks the framing of) a property list, extracting only the fields the broker
 * routes and stores by; \`decodeFieldTable(b, headersOffset, headersLength)\` decodes the
 * headers lazily. Reuses \`into\` when given.
 */
export function peekProperties(b: Buffer, offset: number, length: number, into: PeekedProperties = new PeekedProperties()): PeekedProperties {
${start}
  into.deliveryMode = 0;
  into.priority = undefined;
  into.expiration = undefined;
  into.userId = undefined;
  into.headersOffset = -1;
  into.headersLength = 0;
  into.replyToOffset = -1;
  into.replyToLength = 0;
${each((p, i) => read(p, i, peeked.includes(p.name) ? `into.${p.name}` : ''))}
  if (o !== e) throw truncated();
  return into;
}
`;
}

export function generate(spec: Spec, specName: string): Record<string, string> {
  return {
    'spec.ts': genSpec(spec, specName),
    'methods.ts': genMethods(methodsOf(spec), specName),
    'properties.ts': genProperties(spec, specName),
  };
}

function main(argv: string[]): void {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const outAt = argv.indexOf('--out');
  const out =
    outAt >= 0 ? resolve(argv[outAt + 1] ?? '.') : join(root, 'src/protocol/amqp/generated');
  const specArg = argv.find((a, i) => !a.startsWith('--') && argv[i - 1] !== '--out');
  const specPath = specArg
    ? resolve(specArg)
    : join(root, '../shared/spec/amqp-rabbitmq-0.9.1.json');
  const spec = JSON.parse(readFileSync(specPath, 'utf8')) as Spec;
  mkdirSync(out, { recursive: true });
  for (const [name, text] of Object.entries(generate(spec, basename(specPath)))) {
    writeFileSync(join(out, name), text);
  }
  console.log(`gen-amqp: wrote ${out} from ${specPath}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2));
}
