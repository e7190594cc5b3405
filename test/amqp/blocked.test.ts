// Resource alarms as clients see them: a connection that publishes while an alarm is on gets
// connection.blocked and is no longer read; a consumer on another connection keeps draining;
// clearing the alarm sends connection.unblocked and the held publishes arrive.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import amqp from 'amqplib';
import { until as waitUntil } from '../helpers/core.js';
import { loadConfig, usage } from '../../src/config.js';
import { memoryLimit } from '../../src/core/resource-monitor.js';
import { connect, spawnBroker, startBroker } from '../helpers/server.js';

/**
 * The scenario both alarms share. `raise` turns the alarm on (perhaps only by the monitor's
 * next look), `clear` off. Checks: the publisher is blocked with `reason`, the consumer on
 * another connection drains the queue meanwhile, the publishes held back arrive after the
 * unblock, and nothing is lost, repeated or reordered.
 */
async function blockedScenario(
  t: TestContext,
  url: string,
  reason: RegExp,
  raise: () => void | Promise<void>,
  clear: () => void | Promise<void>,
): Promise<void> {
  const pub = await connect(t, url);
  const events: string[] = [];
  pub.on('blocked', (r: string) => events.push(`blocked:${r}`));
  pub.on('unblocked', () => events.push('unblocked'));
  const pc = await pub.createConfirmChannel();
  await pc.assertQueue('work', { durable: false });
  const sent: string[] = [];
  const send = (body: string): void => {
    sent.push(body);
    pc.sendToQueue('work', Buffer.from(body));
  };
  for (let i = 0; i < 100; i++) send(`a${i}`);
  await pc.waitForConfirms();

  await raise();
  // Publish until blocked: the publish that finds the alarm on is read, then reading stops.
  const blocked = once(pub, 'blocked');
  let why: string | undefined;
  for (let k = 0; why === undefined; k++) {
    send(`t${k}`);
    why = await Promise.race([
      blocked.then(([r]) => r as string),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 200)),
    ]);
  }
  assert.match(why, reason);
  for (let i = 0; i < 50; i++) send(`b${i}`);
  const confirmed = pc.waitForConfirms();

  // Another connection, consuming only, is not blocked: it drains everything that was read.
  const cons = await connect(t, url);
  const cc = await cons.createChannel();
  const got: string[] = [];
  await cc.consume('work', (m) => {
    if (m === null) return;
    got.push(m.content.toString());
    cc.ack(m);
  });
  const check = await cons.createChannel();
  const until = async (cond: () => Promise<boolean> | boolean): Promise<void> => {
    await waitUntil(cond, 'the blocked-publisher condition', 15000, 20);
  };
  // The publish that met the alarm may or may not have been read (a publish-only connection
  // stops being read as soon as the alarm goes on): wait until what was read is drained.
  await until(async () => got.length >= 100 && (await check.checkQueue('work')).messageCount === 0);
  assert.ok(!got.some((b) => b.startsWith('b')), 'publishes after the block were not read');
  assert.deepEqual(events, [`blocked:${why}`]);

  const unblocked = once(pub, 'unblocked');
  await clear();
  await unblocked;
  await confirmed;
  await until(() => got.length === sent.length);
  assert.deepEqual(got, sent);
  assert.deepEqual(events, [`blocked:${why}`, 'unblocked']);
  // Closed here, before the hooks may kill a child broker (a close to a dead one hangs).
  await cons.close();
  await pub.close();
}

void test('memory alarm: a publisher is blocked and unblocked; a consumer keeps draining', async (t) => {
  const { server, url } = await startBroker(t);
  const monitor = server.broker.monitor!;
  await blockedScenario(
    t,
    url,
    /^low on memory$/,
    // A tiny absolute watermark (> 1 means bytes): the process is always above it.
    () => monitor.setLimits({ memoryHighWatermark: 1000 }),
    () => monitor.setLimits({ memoryHighWatermark: 0.4 }),
  );
});

void test('disk alarm on a tmpfs: filling it blocks the publisher, freeing it unblocks', async (t) => {
  if (!haveTmpfs(t)) return;
  const mnt = mkdtempTmpfs(t, 32 * 1024 * 1024);
  const dataDir = join(mnt, 'data');
  mkdirSync(dataDir);
  // The limit is 8 MB; the filler leaves about 4 MB free.
  const { url } = await spawnBroker(t, dataDir, [
    '--disk-free-limit',
    String(8_000_000),
    '--segment-size',
    String(1024 * 1024),
  ]);
  const filler = join(mnt, 'filler');
  await blockedScenario(
    t,
    url,
    /^low on disk$/,
    () => writeFileSync(filler, Buffer.alloc(26 * 1024 * 1024)),
    () => rmSync(filler),
  );
});

void test('disk alarm: --disk-free-limit above the free space blocks publishers from the start', async (t) => {
  const dir = join(tmpdir(), `baton-disk-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { url } = await spawnBroker(t, dir, ['--disk-free-limit', String(2 ** 52)]);
  const pub = await amqp.connect(url);
  pub.on('error', () => {});
  const ch = await pub.createChannel();
  await ch.assertQueue('d', { durable: true });
  const blocked = once(pub, 'blocked');
  ch.sendToQueue('d', Buffer.from('x'));
  const [why] = (await blocked) as [string];
  assert.equal(why, 'low on disk');
  // A consuming connection still works while the publisher waits.
  const cons = await amqp.connect(url);
  const cc = await cons.createChannel();
  const m = await cc.get('d', { noAck: true });
  assert.equal(m === false ? undefined : m.content.toString(), 'x');
  await cons.close();
  // amqplib closes a blocked connection without waiting for close-ok.
  await pub.close();
});

void test('alarm options: a watermark fraction or bytes, a disk limit in bytes; bad values refused', () => {
  const d = loadConfig([], {});
  assert.equal(d.memoryHighWatermark, 0.4);
  assert.equal(d.diskFreeLimit, 50_000_000);
  const c = loadConfig(['--memory-high-watermark', '0.6'], { BATON_DISK_FREE_LIMIT: '0' });
  assert.equal(c.memoryHighWatermark, 0.6);
  assert.equal(c.diskFreeLimit, 0);
  assert.equal(loadConfig(['--memory-high-watermark=2147483648'], {}).memoryHighWatermark, 2 ** 31);
  assert.throws(
    () => loadConfig(['--memory-high-watermark', '-1'], {}),
    /flag --memory-high-watermark: '-1' is not a non-negative number/,
  );
  assert.throws(() => loadConfig(['--disk-free-limit', '1.5'], {}), /not a whole number/);
  assert.match(usage(), /--memory-high-watermark +BATON_MEMORY_HIGH_WATERMARK +0\.4/);
  assert.match(usage(), /--disk-free-limit +BATON_DISK_FREE_LIMIT +50000000/);
  // <= 1 is a fraction of memory, > 1 bytes, 0 off.
  assert.equal(memoryLimit(0), 0);
  assert.equal(memoryLimit(5000), 5000);
  const half = memoryLimit(0.5);
  assert.ok(half > 0 && half < memoryLimit(1), `${half}`);
});

function haveTmpfs(t: TestContext): boolean {
  const why =
    process.getuid?.() !== 0
      ? 'not root: cannot mount a tmpfs'
      : (() => {
          try {
            execFileSync('mount', ['--version'], { stdio: 'ignore' });
            return undefined;
          } catch {
            return 'mount(8) not available';
          }
        })();
  if (why === undefined) return true;
  if (process.env.BATON_REQUIRE_ALL === '1') assert.fail(`required capability missing: ${why}`);
  process.stderr.write(`\n*** skipped: ${why} ***\n`);
  t.skip(`skipped: ${why}`);
  return false;
}

/** A fresh tmpfs of `size` bytes, unmounted after the test (after the broker is killed). */
function mkdtempTmpfs(t: TestContext, size: number): string {
  const mnt = join(tmpdir(), `baton-tmpfs-${process.pid}-${Date.now()}`);
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt]);
  t.after(() => {
    // Lazy: the broker may not be killed yet and hold files open.
    try {
      execFileSync('umount', ['-l', mnt]);
    } catch {
      // Already unmounted.
    }
    rmSync(mnt, { recursive: true, force: true });
  });
  return mnt;
}
