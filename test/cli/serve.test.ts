import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { tempDir } from '../helpers/core.js';
import { spawnBroker } from '../helpers/server.js';
import { startBrokerProcess } from '../helpers/broker-process.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

void test('baton serve logs its listener and data dir, serves, and stops cleanly on SIGTERM', async (t) => {
  const dir = tempDir(t);
  const { child, url } = await spawnBroker(t, dir);
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  const conn = await amqp.connect(url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('q', { durable: true });
  ch.sendToQueue('q', Buffer.from('x'), { persistent: true });
  await ch.waitForConfirms();
  conn.on('error', () => {});
  const closed = once(conn, 'close');
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = (await exited) as [number];
  await closed;
  assert.equal(code, 0);
  assert.match(log, /shutting down/);
  assert.ok(readdirSync(dir).some((f) => f.endsWith('.seg')));
  // The message is still there on the next start.
  const again = await spawnBroker(t, dir);
  const c2 = await amqp.connect(again.url);
  const ch2 = await c2.createChannel();
  const got = await ch2.get('q', { noAck: true });
  assert.ok(got);
  assert.equal(got.content.toString(), 'x');
  await c2.close();
  again.child.kill('SIGINT');
  assert.deepEqual(await once(again.child, 'exit'), [0, null]);
});

void test('baton serve refuses a bad flag with exit status 2 and a clear message', () => {
  const r = spawnSync(process.execPath, [cli, 'serve', '--amqp-port', 'x'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--amqp-port: 'x' is not a whole number/);
  const h = spawnSync(process.execPath, [cli, 'help'], { encoding: 'utf8' });
  assert.equal(h.status, 0);
  assert.match(h.stdout, /BATON_DATA_DIR/);
});

void test('baton serve --ready-fd 3 writes {pid, ports:{amqp}} as one JSON line once listening, and the port serves', async (t) => {
  const dir = tempDir(t);
  const b = await startBrokerProcess(t, { dataDir: dir });
  const ready = await b.ready;
  assert.ok(ready !== undefined);
  assert.equal(ready.pid, b.pid);
  assert.equal(ready.ports.amqp, b.port);
  const conn = await amqp.connect(b.url);
  await conn.close();
});

void test('baton serve refuses a --ready-fd that is not a descriptor >= 3, and documents the flag in help', () => {
  for (const bad of ['x', '1']) {
    const r = spawnSync(process.execPath, [cli, 'serve', '--ready-fd', bad], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--ready-fd: '.+' is not a file descriptor number of 3 or more/);
  }
  const h = spawnSync(process.execPath, [cli, 'help'], { encoding: 'utf8' });
  assert.match(h.stdout, /--ready-fd\s+BATON_READY_FD/);
});
