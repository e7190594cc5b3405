// pika sees Baton's resource alarms: add_on_connection_blocked_callback fires once its
// connection publishes during an alarm, an amqplib consumer drains meanwhile, and
// add_on_connection_unblocked_callback fires when the alarm clears; nothing is lost.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { until } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

const PYTHON = '/usr/bin/python3';
const scriptDir = fileURLToPath(new URL('../../../test/interop/', import.meta.url));

const pikaMissing: string | undefined = (() => {
  const r = spawnSync(PYTHON, ['-c', 'import pika'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON}: ${r.error.message}`;
  if (r.status !== 0) return r.stderr.trim().split('\n').at(-1) ?? `exit ${r.status}`;
  return undefined;
})();

function needPika(t: TestContext): boolean {
  if (pikaMissing === undefined) return true;
  const why = `python3-pika not installed: ${pikaMissing} (apt-get install python3-pika)`;
  if (process.env.BATON_REQUIRE_ALL === '1') assert.fail(`required capability missing: ${why}`);
  process.stderr.write(`\n*** skipped: ${why} ***\n`);
  t.skip(`skipped: ${why}`);
  return false;
}

/** Run pika_blocked.py; `lines` yields its JSON lines as they come. */
function runBlocked(t: TestContext, port: number, queue: string) {
  const child = spawn(PYTHON, [`${scriptDir}pika_blocked.py`, String(port), queue], {
    cwd: scriptDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const lines: unknown[] = [];
  const waiters: (() => void)[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
      for (const w of waiters.splice(0)) w();
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  /** Resolves with the first line matching `pred`; rejects if the script exits first. */
  const next = (pred: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const look = (): void => {
        const l = lines.find((x) => pred(x as Record<string, unknown>));
        if (l !== undefined) resolve(l as Record<string, unknown>);
        else waiters.push(look);
      };
      look();
      void exited.then((code) => {
        const l = lines.find((x) => pred(x as Record<string, unknown>));
        if (l === undefined) reject(new Error(`pika_blocked.py exited ${code}: ${err}`));
      });
    });
  return { next, exited };
}

for (const alarm of ['memory', 'disk'] as const) {
  void test(`pika: ${alarm} alarm calls the blocked and unblocked callbacks; a consumer drains meanwhile`, async (t) => {
    if (!needPika(t)) return;
    const { server, url, port } = await startBroker(t);
    const monitor = server.broker.monitor!;
    const cons = await connect(t, url);
    const cc = await cons.createChannel();
    await cc.assertQueue('pq', { durable: false });
    if (alarm === 'memory') monitor.setLimits({ memoryHighWatermark: 1000 });
    // Free space is never 4 PiB: the alarm goes on with the next statfs.
    else monitor.setLimits({ diskFreeLimit: 2 ** 52 });

    const py = runBlocked(t, port, 'pq');
    const blocked = await py.next((l) => l.event === 'blocked');
    assert.equal(blocked.reason, `low on ${alarm}`);
    const got: string[] = [];
    await cc.consume('pq', (m) => {
      if (m === null) return;
      got.push(m.content.toString());
      cc.ack(m);
    });
    const check = await cons.createChannel();
    await until(
      async () => got.length !== 0 && (await check.checkQueue('pq')).messageCount === 0,
      'the pika publisher drained into the consumer',
      15000,
      20,
    );
    assert.ok(
      got.every((b) => b.startsWith('t')),
      `only publishes before the block were read: ${got.join(',')}`,
    );

    if (alarm === 'memory') monitor.setLimits({ memoryHighWatermark: 0.4 });
    else monitor.setLimits({ diskFreeLimit: 50_000_000 });
    await py.next((l) => l.event === 'unblocked');
    const { sent } = (await py.next((l) => l.sent !== undefined)) as { sent: string[] };
    assert.equal(await py.exited, 0);
    await until(() => got.length >= sent.length, 'every message pika published', 15000, 20);
    assert.deepEqual(got, sent);
    assert.equal(sent.filter((b) => b.startsWith('b')).length, 20);
  });
}
