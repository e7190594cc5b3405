// The examples (examples/*.ts, built to dist/examples) run as their docs say, as child
// processes against a real broker, and stop cleanly on SIGINT.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { eventually } from '../helpers/core.js';
import { startBroker } from '../helpers/server.js';

function run(t: TestContext, script: string, env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, [`dist/examples/${script}`, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, output: () => out, exited };
}

async function interrupt(p: {
  child: ChildProcess;
  exited: Promise<[number | null, string | null]>;
}) {
  p.child.kill('SIGINT');
  const [code] = await p.exited;
  assert.equal(code, 0);
}

void test('examples: the order worker processes the demo orders and dead-letters the broken ones', async (t) => {
  const { url } = await startBroker(t);
  const w = run(t, 'order-worker.js', { BATON_URL: url, DEMO_ORDERS: '14' });
  await eventually(() => {
    const out = w.output();
    for (const id of [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13])
      assert.match(out, new RegExp(`processed order ${id}:`));
    assert.match(out, /dead letter: order 7 \(delivery_limit\)/);
    assert.match(out, /dead letter: order 14 \(delivery_limit\)/);
  }, 60_000);
  await interrupt(w);
  assert.match(w.output(), /stopped/);
});

void test('examples: the rpc service answers the rpc caller, errors included', async (t) => {
  const { url } = await startBroker(t);
  const s = run(t, 'rpc-service.js', { BATON_URL: url });
  await eventually(() => assert.match(s.output(), /answering on 'prices'/), 30_000);
  const c = run(t, 'rpc-caller.js', { BATON_URL: url });
  const [code] = await c.exited;
  assert.equal(code, 1, 'one of the default asks is an unknown product');
  assert.match(c.output(), /3 x book = 37.5/);
  assert.match(c.output(), /car: the service said: unknown product 'car'/);
  const ok = run(t, 'rpc-caller.js', { BATON_URL: url }, ['lamp', '2']);
  assert.equal((await ok.exited)[0], 0);
  assert.match(ok.output(), /2 x lamp = 60/);
  await interrupt(s);
});

void test("examples: README's client snippet runs as shown", async (t) => {
  const { url } = await startBroker(t);
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf("```js\nimport { connect } from 'baton/client';");
  assert.ok(start >= 0, 'the snippet is in README.md');
  const code = readme
    .slice(start + 6, readme.indexOf('```', start + 6))
    .replace('amqp://guest:guest@localhost:5672', url);
  // A module in the package (dist/), so 'baton/client' resolves by the package's own name.
  const file = join('dist', `readme-snippet-${process.pid}.mjs`);
  writeFileSync(file, `${code}\nconsole.log('four =', four);\n`);
  t.after(() => rmSync(file, { force: true }));
  const r = run(t, `../${file.slice('dist/'.length)}`, {});
  const [code_] = await r.exited;
  assert.equal(code_, 0, r.output());
  assert.match(r.output(), /four = 4/);
});
