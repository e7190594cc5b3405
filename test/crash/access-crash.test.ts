/**
 * Access data survives kill -9: a child broker (access-child.ts) seeds guest on its first
 * boot, deletes it, then creates vhosts, users, permissions and a queue per vhost in a loop
 * until it is SIGKILLed mid-load. After recovery every change confirmed durable is there and
 * works over AMQP, a change torn by the kill is whole or absent (no permission without its
 * user and vhost), and guest is not seeded again: the first boot's seeding happens once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { tempDir } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

const CHILD = fileURLToPath(new URL('./access-child.js', import.meta.url));
/** Kill once this many steps are durable. */
const STEPS = 40;

async function runUntilKilled(dir: string): Promise<{ seeded: string; lastDurable: number }> {
  const child = spawn(process.execPath, [CHILD, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  let seeded = '';
  let lastDurable = -1;
  let guestGone = false;
  let partial = '';
  let killing = false;
  await new Promise<void>((resolve, reject) => {
    child.on('exit', () => {
      if (!killing) reject(new Error(`child exited early: ${partial}`));
    });
    child.stdout.on('data', (d: Buffer) => {
      partial += d.toString();
      let nl;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        if (line.startsWith('seeded ')) seeded = line.slice(7);
        else if (line === 'G') guestGone = true;
        else if (line.startsWith('C ')) lastDurable = Number(line.slice(2));
      }
      if (guestGone && lastDurable >= STEPS) resolve();
    });
  });
  killing = true;
  child.kill('SIGKILL');
  await exited;
  return { seeded, lastDurable };
}

void test('users, permissions and vhosts created under load survive kill -9; guest is seeded only once', async (t) => {
  const dir = tempDir(t, 'baton-access-crash-');
  const run = await runUntilKilled(dir);
  assert.equal(run.seeded, 'yes', 'the first boot seeds guest');

  const b = await startBroker(t, { dataDir: dir });
  for (const boot of ['after the kill', 'after a clean restart']) {
    const broker = b.server.broker;
    assert.equal(broker.access.users.get('guest'), undefined, `guest not seeded again ${boot}`);
    for (let i = 0; i <= run.lastDurable; i++) {
      assert.ok(broker.vhosts.has(`v${i}`), `vhost v${i} ${boot}`);
      assert.equal(broker.vhost(`v${i}`).description, `vhost ${i}`);
      assert.ok(broker.vhost(`v${i}`).queues.has(`q${i}`), `queue q${i} ${boot}`);
      assert.deepEqual(broker.access.authenticate(`u${i}`, `p${i}`, '127.0.0.1').tags, [
        'management',
      ]);
      assert.equal(broker.access.permissions.get(`u${i}`, `v${i}`)?.configure, `^q${i}$`);
    }
    // Whatever the kill tore is whole or absent.
    for (const p of broker.access.permissions.list()) {
      assert.ok(broker.access.users.get(p.user) !== undefined, `user of ${p.user}@${p.vhost}`);
      assert.ok(broker.vhosts.has(p.vhost), `vhost of ${p.user}@${p.vhost}`);
    }
    // Over AMQP: the last durable user gets into its vhost, with its permissions.
    const n = run.lastDurable;
    const conn = await connect(t, `amqp://u${n}:p${n}@127.0.0.1:${b.port}/v${n}`);
    const ch = await conn.createChannel();
    ch.on('error', () => {});
    assert.equal((await ch.assertQueue(`q${n}`, { durable: true })).queue, `q${n}`);
    await assert.rejects(ch.assertQueue('other', { durable: true }), { code: 403 });
    await conn.close();
    await assert.rejects(
      amqp.connect(`amqp://guest:guest@127.0.0.1:${b.port}`),
      /ACCESS_REFUSED|403/,
    );
    if (boot === 'after the kill') await b.restart();
  }
});
