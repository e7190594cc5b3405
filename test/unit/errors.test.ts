import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as errors from '../../src/core/errors.js';

void test('docs/errors.md lists exactly the error classes of src/core/errors.ts, with their codes', () => {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  const rows = new Map<string, { code: string; reply: number }>();
  for (const m of doc.matchAll(/^\|\s*`(\w+)`\s*\|\s*`(\w+)`\s*\|\s*(\d+)\s*\|/gm))
    rows.set(m[1]!, { code: m[2]!, reply: Number(m[3]) });
  const classes = Object.entries(errors).filter(
    ([name, v]) => typeof v === 'function' && name !== 'BatonError',
  ) as [string, new (msg: string) => errors.BatonError][];
  assert.deepEqual(new Set(rows.keys()), new Set(classes.map(([n]) => n)));
  for (const [name, Cls] of classes) {
    const e = new Cls('x');
    assert.ok(e instanceof errors.BatonError);
    assert.equal(e.code, rows.get(name)!.code, name);
    assert.equal(e.replyCode, rows.get(name)!.reply, name);
  }
});
