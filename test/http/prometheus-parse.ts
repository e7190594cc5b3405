import assert from 'node:assert/strict';

/** One sample of a scrape. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A scrape parsed by the text format's rules (0.0.4); throws on any malformed line. */
export interface Scrape {
  types: Map<string, string>;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/;

export function parseExposition(text: string): Scrape {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('# HELP ')) {
      assert.match(line.split(' ')[2]!, NAME, line);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [, , name, type, extra] = line.split(' ');
      assert.match(name!, NAME, line);
      assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type!), line);
      assert.equal(extra, undefined, line);
      assert.ok(!types.has(name!), `family ${name} announced twice`);
      types.set(name!, type!);
      continue;
    }
    assert.ok(!line.startsWith('#') && line !== '', `unexpected line '${line}'`);
    samples.push(parseSample(line, types));
  }
  return { types, samples };
}

function parseSample(line: string, types: Map<string, string>): Sample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
  assert.ok(m !== null, `malformed sample '${line}'`);
  const name = m[1]!;
  const labels: Record<string, string> = {};
  let rest = m[2]?.slice(1, -1) ?? '';
  while (rest !== '') {
    const l = LABEL.exec(rest);
    assert.ok(l !== null, `malformed labels in '${line}'`);
    // One pass, so an escaped backslash before an 'n' stays a backslash and an 'n'.
    labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(l[0].length);
    if (rest.startsWith(',')) rest = rest.slice(1);
    else assert.equal(rest, '', `malformed labels in '${line}'`);
  }
  const raw = m[3]!;
  const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
  assert.ok(raw === 'NaN' || !Number.isNaN(value), `bad value in '${line}'`);
  // Every sample belongs to an announced family (histograms by their suffixes).
  const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
  assert.ok(types.has(family), `sample '${name}' has no # TYPE`);
  return { name, labels, value };
}

/** The one sample of `name` whose labels include `match`; fails unless exactly one. */
export function value(s: Scrape, name: string, match: Record<string, string> = {}): number {
  const found = s.samples.filter(
    (x) => x.name === name && Object.entries(match).every(([k, v]) => x.labels[k] === v),
  );
  assert.equal(found.length, 1, `one sample of ${name} ${JSON.stringify(match)}`);
  return found[0]!.value;
}
