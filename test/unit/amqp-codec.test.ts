import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { AmqpDecodeError } from '../../src/protocol/amqp/constants.js';
import { decodeFieldTable } from '../../src/protocol/amqp/field-table.js';
import type { FieldTable } from '../../src/protocol/amqp/field-table.js';
import {
  encodeBasicAck,
  encodeBasicNack,
  encodeDelivery,
  encodeFrame,
  encodeGetOk,
  encodeReturn,
  HEARTBEAT_FRAME,
} from '../../src/protocol/amqp/frame-writer.js';
import {
  decodeMethod,
  encodeBasicAckFrame,
  encodeBasicDeliverFrame,
  encodeBasicGetOkFrame,
  encodeBasicNackFrame,
  encodeBasicReturnFrame,
  encodeMethodFrame,
  MethodId,
  methodName,
  METHODS,
} from '../../src/protocol/amqp/generated/methods.js';
import type { MethodInfo, MethodKey, WireType } from '../../src/protocol/amqp/generated/methods.js';
import {
  decodeProperties,
  encodeProperties,
  peekProperties,
  PeekedProperties,
  PROPERTIES,
} from '../../src/protocol/amqp/generated/properties.js';
import type { BasicPropertiesInput } from '../../src/protocol/amqp/generated/properties.js';

// amqplib's generated codec, for golden-byte comparisons only (not in its exports map).
const require = createRequire(import.meta.url);
const defs = require(join(dirname(require.resolve('amqplib')), 'lib/defs.js')) as {
  encodeMethod(id: number, channel: number, fields: unknown): Buffer;
  decode(id: number, buf: Buffer): Record<string, unknown>;
  encodeProperties(id: number, channel: number, size: number, fields: unknown): Buffer;
};

const root = fileURLToPath(new URL('../../../', import.meta.url));
const isDecodeError = (code: number) => (e: unknown) =>
  e instanceof AmqpDecodeError && e.replyCode === code;

// ---------------------------------------------------------------- arbitraries from the spec

const shortstr = fc
  .string({ unit: 'binary', maxLength: 30 })
  .filter((s) => Buffer.from(s).toString() === s && Buffer.byteLength(s) <= 255);
const key = shortstr.filter((k) => k !== '__proto__' && k !== '!');
/** Table values amqplib and Baton encode identically and decode back unchanged. */
const table = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    shortstr,
    fc.boolean(),
    fc.constant(null),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double({ min: -(2 ** 50), max: 2 ** 50, noNaN: true }).filter((d) => !Object.is(d, -0)),
    fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)),
    fc.nat().map((value) => ({ '!': 'timestamp', value })),
    fc.array(tie('value'), { maxLength: 3 }),
    tie('table'),
  ),
  table: fc.dictionary(key, tie('value'), { maxKeys: 4, noNullPrototype: true }),
})).table as fc.Arbitrary<FieldTable>;

function arbitraryFor(type: WireType): fc.Arbitrary<unknown> {
  switch (type) {
    case 'octet':
      return fc.integer({ min: 0, max: 0xff });
    case 'short':
      return fc.integer({ min: 0, max: 0xffff });
    case 'long':
      return fc.nat({ max: 0xffffffff });
    case 'longlong':
    case 'timestamp':
      return fc.oneof(fc.maxSafeNat(), fc.nat());
    case 'bit':
      return fc.boolean();
    case 'shortstr':
      return shortstr;
    case 'longstr':
      return fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a));
    case 'table':
      return table;
  }
}
const argsOf = (m: MethodInfo): fc.Arbitrary<Record<string, unknown>> =>
  fc.record(Object.fromEntries(m.args.map((a) => [a.name, arbitraryFor(a.type)])), {
    noNullPrototype: true,
  });
const methodArb = fc.constantFrom(...METHODS).chain((m) => argsOf(m).map((args) => ({ m, args })));
const channelArb = fc.integer({ min: 0, max: 0xffff });
const propertiesArb = fc.record(
  Object.fromEntries(PROPERTIES.map((p) => [p.name, arbitraryFor(p.type)])),
  { requiredKeys: [], noNullPrototype: true },
) as fc.Arbitrary<BasicPropertiesInput>;

const encode = (channel: number, id: number, args: unknown): Buffer =>
  encodeMethodFrame(channel, id as MethodKey, args as never);

// ---------------------------------------------------------------- methods

void test('every method round-trips and matches amqplib byte for byte (fast-check, 10k runs)', () => {
  const seen = new Set<number>();
  fc.assert(
    fc.property(methodArb, channelArb, ({ m, args }, channel) => {
      seen.add(m.id);
      const frame = encode(channel, m.id, args);
      assert.equal(frame[0], 1);
      assert.equal(frame.readUInt16BE(1), channel);
      assert.equal(frame.readUInt32BE(3), frame.length - 8);
      assert.equal(frame[frame.length - 1], 0xce);
      assert.deepEqual(decodeMethod(frame, 7, frame.length - 8), { id: m.id, ...args });
      assert.deepEqual(frame, defs.encodeMethod(m.id, channel, args), m.name);
      assert.deepEqual(defs.decode(m.id, frame.subarray(11, frame.length - 1)), args);
    }),
    { numRuns: 10_000 },
  );
  assert.equal(seen.size, METHODS.length);
});

void test('decoded methods have every key, in spec order, with id first', () => {
  const frame = defs.encodeMethod(MethodId.BasicPublish, 1, {});
  const publish = decodeMethod(frame, 7, frame.length - 8);
  assert.deepEqual(Object.keys(publish), [
    ...['id', 'ticket', 'exchange', 'routingKey', 'mandatory', 'immediate'],
  ]);
  assert.equal(methodName(MethodId.BasicPublish), 'basic.publish');
  assert.equal(methodName((99 << 16) | 1), '99.1');
});

void test('golden bytes: hand-checked frames', () => {
  const hex = (b: Buffer): string => b.toString('hex');
  assert.equal(hex(encodeBasicAck(1, 1, false)), '01000100000' + '00d003c0050000000000000000100ce');
  assert.equal(hex(HEARTBEAT_FRAME), '0800000000000' + '0ce');
  const publish = encodeMethodFrame(1, MethodId.BasicPublish, {
    ...{ ticket: 0, exchange: 'ex', routingKey: 'rk', mandatory: true, immediate: false },
  });
  assert.equal(hex(publish), '0100010000000d003c00280000026578' + '02726b01ce');
  const tune = encodeMethodFrame(0, MethodId.ConnectionTune, {
    ...{ channelMax: 2047, frameMax: 131072, heartbeat: 60 },
  });
  assert.equal(hex(tune), '0100000000000c000a001e07ff00020000003cce');
});

void test('golden bytes: queue.declare with arguments and start-ok with client properties equal amqplib', () => {
  const declare = {
    ...{ ticket: 0, queue: 'orders', passive: false, durable: true, exclusive: false },
    autoDelete: false,
    nowait: false,
    arguments: {
      'x-message-ttl': 60000,
      'x-dead-letter-exchange': 'dlx',
      'x-max-length': 1_000_000,
      'x-queue-type': 'classic',
      'x-single-active-consumer': true,
    },
  };
  const ours = encodeMethodFrame(3, MethodId.QueueDeclare, declare);
  assert.deepEqual(ours, defs.encodeMethod(MethodId.QueueDeclare, 3, declare));
  assert.deepEqual(decodeMethod(ours, 7, ours.length - 8), {
    id: MethodId.QueueDeclare,
    ...declare,
  });

  const startOk = {
    clientProperties: {
      product: 'amqplib',
      version: '2.3.1',
      platform: 'Node.JS v20',
      information: 'https://amqp-node.github.io/amqplib/',
      capabilities: {
        publisher_confirms: true,
        exchange_exchange_bindings: true,
        'basic.nack': true,
        consumer_cancel_notify: true,
        'connection.blocked': true,
        authentication_failure_close: true,
      },
    },
    mechanism: 'PLAIN',
    response: Buffer.from('\0guest\0guest'),
    locale: 'en_US',
  };
  const frame = defs.encodeMethod(MethodId.ConnectionStartOk, 0, startOk);
  assert.deepEqual(encodeMethodFrame(0, MethodId.ConnectionStartOk, startOk), frame);
  assert.deepEqual(decodeMethod(frame, 7, frame.length - 8), {
    id: MethodId.ConnectionStartOk,
    ...startOk,
  });
});

void test('truncated or padded method payloads are 501, unknown methods 540', () => {
  fc.assert(
    fc.property(methodArb, fc.nat(), ({ m, args }, cutSeed) => {
      const frame = encode(1, m.id, args);
      const payload = frame.subarray(7, frame.length - 1);
      const cut = cutSeed % payload.length;
      assert.throws(() => decodeMethod(payload, 0, cut), isDecodeError(501));
      const padded = Buffer.concat([payload, Buffer.from([0])]);
      assert.throws(() => decodeMethod(padded, 0, padded.length), isDecodeError(501));
    }),
    { numRuns: 2000 },
  );
  const unknown = Buffer.from([0, 60, 0, 99]);
  assert.throws(
    () => decodeMethod(unknown, 0, 4),
    (e: unknown) => e instanceof AmqpDecodeError && e.replyCode === 540 && e.methodId === 99,
  );
  assert.throws(() => decodeMethod(Buffer.from([0, 60]), 0, 2), isDecodeError(501));
});

// ---------------------------------------------------------------- properties

void test('properties round-trip, peek agrees with decode, and match amqplib (fast-check)', () => {
  const into = new PeekedProperties();
  fc.assert(
    fc.property(propertiesArb, fc.maxSafeNat(), (p, bodySize) => {
      const bytes = encodeProperties(p);
      const decoded = decodeProperties(bytes, 0, bytes.length);
      const expected = Object.fromEntries(PROPERTIES.map((x) => [x.name, p[x.name as keyof typeof p]])); // prettier-ignore
      assert.deepEqual(decoded, expected);
      assert.equal(peekProperties(bytes, 0, bytes.length, into), into);
      assert.equal(into.deliveryMode, p.deliveryMode ?? 0);
      assert.equal(into.priority, p.priority);
      assert.equal(into.expiration, p.expiration);
      assert.equal(into.userId, p.userId);
      if (p.headers)
        assert.deepEqual(decodeFieldTable(bytes, into.headersOffset, into.headersLength), p.headers); // prettier-ignore
      else assert.equal(into.headersOffset, -1);
      const frame = defs.encodeProperties(60, 1, bodySize, p);
      assert.deepEqual(frame.subarray(19, frame.length - 1), bytes);
      const fromAmqplib = defs.decode(60, bytes);
      for (const [k, v] of Object.entries(fromAmqplib)) assert.deepEqual(v, decoded[k as keyof typeof decoded]); // prettier-ignore
    }),
    { numRuns: 3000 },
  );
});

void test('malformed property lists are AmqpDecodeErrors', () => {
  const bytes = encodeProperties({ contentType: 'text/plain', headers: { a: 1 }, priority: 3 });
  for (let cut = 0; cut < bytes.length; cut++) {
    assert.throws(() => decodeProperties(bytes, 0, cut), isDecodeError(501));
    assert.throws(() => peekProperties(bytes, 0, cut), isDecodeError(501));
  }
  const unknownFlag = Buffer.from([0x00, 0x02]);
  assert.throws(() => decodeProperties(unknownFlag, 0, 2), isDecodeError(502));
  // A continuation word that flags nothing is accepted; one that flags something is not.
  assert.deepEqual(decodeProperties(Buffer.from([0x10, 0x01, 0x00, 0x00, 0x02]), 0, 5).deliveryMode, 2); // prettier-ignore
  assert.throws(() => decodeProperties(Buffer.from([0x00, 0x01, 0x80, 0x00]), 0, 4), isDecodeError(502)); // prettier-ignore
});

// ---------------------------------------------------------------- hot-path frame builders

/** Content header + body frames built the slow, obvious way. */
function contentFrames(channel: number, props: Buffer, body: Buffer, frameMax: number): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(60, 0);
  head.writeBigUInt64BE(BigInt(body.length), 4);
  const frames = [encodeFrame(2, channel, Buffer.concat([head, props]))];
  const chunk = frameMax === 0 ? body.length : frameMax - 8;
  for (let i = 0; i < body.length; i += chunk) {
    frames.push(encodeFrame(3, channel, body.subarray(i, i + chunk)));
  }
  return Buffer.concat(frames);
}

void test('encodeDelivery / encodeGetOk / encodeReturn equal the generic frames, split at frame-max', () => {
  const contentArb = fc.record({
    channel: channelArb,
    tag: fc.maxSafeNat(),
    redelivered: fc.boolean(),
    ct: shortstr,
    ex: shortstr,
    rk: shortstr,
    props: propertiesArb.map((p) => encodeProperties(p)),
    body: fc.oneof(
      fc.uint8Array({ maxLength: 100 }),
      fc.uint8Array({ minLength: 4000, maxLength: 20_000 }),
    ),
    frameMax: fc.constantFrom(0, 4096, 4097, 5000, 131072),
  });
  fc.assert(
    fc.property(contentArb, ({ channel, tag, redelivered, ct, ex, rk, props, body, frameMax }) => {
      const b = Buffer.from(body);
      const content = contentFrames(channel, props, b, frameMax);
      const deliver = { consumerTag: ct, deliveryTag: tag, redelivered, exchange: ex, routingKey: rk }; // prettier-ignore
      assert.deepEqual(
        encodeDelivery(channel, ct, tag, redelivered, ex, rk, props, b, frameMax),
        Buffer.concat([encodeBasicDeliverFrame(channel, deliver), content]),
      );
      const getOk = { deliveryTag: tag, redelivered, exchange: ex, routingKey: rk, messageCount: 7 }; // prettier-ignore
      assert.deepEqual(
        encodeGetOk(channel, tag, redelivered, ex, rk, 7, props, b, frameMax),
        Buffer.concat([encodeBasicGetOkFrame(channel, getOk), content]),
      );
      const ret = { replyCode: 312, replyText: 'NO_ROUTE', exchange: ex, routingKey: rk };
      assert.deepEqual(
        encodeReturn(channel, 312, 'NO_ROUTE', ex, rk, props, b, frameMax),
        Buffer.concat([encodeBasicReturnFrame(channel, ret), content]),
      );
      assert.deepEqual(
        encodeBasicAck(channel, tag, redelivered),
        encodeBasicAckFrame(channel, { deliveryTag: tag, multiple: redelivered }),
      );
      assert.deepEqual(
        encodeBasicNack(channel, tag, redelivered, !redelivered),
        encodeBasicNackFrame(channel, { deliveryTag: tag, multiple: redelivered, requeue: !redelivered }), // prettier-ignore
      );
    }),
    { numRuns: 500 },
  );
});

// ---------------------------------------------------------------- generator

const spec = join(root, '../shared/spec/amqp-rabbitmq-0.9.1.json');
void test(
  'the committed generated code is what the generator produces',
  { skip: !existsSync(spec) && `spec not found at ${spec}` },
  (t) => {
    // prettier-ignore
    const out = mkdtempSync(join(tmpdir(), 'gen-amqp-'));
    t.after(() => rmSync(out, { recursive: true, force: true }));
    const gen = join(root, 'dist/scripts/gen-amqp.js');
    const r = spawnSync(process.execPath, [gen, spec, '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const dir = join(root, 'src/protocol/amqp/generated');
    assert.deepEqual(readdirSync(out).sort(), readdirSync(dir).sort());
    for (const f of readdirSync(dir)) {
      const fresh = readFileSync(join(out, f), 'utf8');
      assert.ok(fresh === readFileSync(join(dir, f), 'utf8'), `generated/${f} is stale: run npx tsc -p tsconfig.json && node dist/scripts/gen-amqp.js`); // prettier-ignore
    }
  },
);
