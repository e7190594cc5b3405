/**
 * Many idle connections and pre-handshake sockets (reliability plan C4, C6), shared by the
 * short test and the long variant. The sockets come from a separate load process (10k client
 * plus 10k server sockets do not fit one process's descriptor limit); a bystander amqplib
 * connection in the test process publishes with confirms and consumes throughout.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bystanderAdvances, startBystander } from '../helpers/amqp-raw.js';
import { procFdCount, spawnBrokerChild } from '../helpers/broker-child.js';
import { eventually } from '../helpers/core.js';

const loadChild = fileURLToPath(new URL('./conn-load-child.js', import.meta.url));

interface LoadChild {
  messages: Record<string, unknown>[];
  wait: (key: string, ms: number) => Promise<Record<string, unknown>>;
  stop: () => Promise<void>;
}

function startLoad(t: TestContext, port: number, idle: number, pre: number): LoadChild {
  const child = spawn(process.execPath, [loadChild, String(port), String(idle), String(pre)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const messages: Record<string, unknown>[] = [];
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) messages.push(JSON.parse(l) as Record<string, unknown>);
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  };
  t.after(stop);
  return {
    messages,
    wait: async (key, ms) => {
      let found: Record<string, unknown> | undefined;
      await eventually(() => {
        found = messages.find((m) => key in m);
        assert.ok(found !== undefined, `load child did not report '${key}'`);
        assert.equal(child.exitCode, null, 'load child exited');
      }, ms);
      return found!;
    },
    stop,
  };
}

async function ratePerSec(progress: () => number, ms: number): Promise<number> {
  const a = progress();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  return Math.round(((progress() - a) * 1000) / (performance.now() - t0));
}

export interface ConnectionsOptions {
  idle: number;
  pre: number;
  /** How long the idle connections are held open while the bystander runs. */
  holdMs: number;
}

export async function runConnections(t: TestContext, o: ConnectionsOptions): Promise<void> {
  const broker = await spawnBrokerChild(t);
  const bystander = await startBystander(t, broker.url);
  await bystanderAdvances(bystander, 100);
  const rateBefore = await ratePerSec(bystander.progress, 2000);
  const rss0 = broker.memory().rssKiB;
  const fds0 = procFdCount(broker.pid);

  // Phase 1: idle, fully handshaken amqplib connections.
  const idle = startLoad(t, broker.port, o.idle, 0);
  const opened = await idle.wait('ready', 30_000 + o.idle * 10);
  assert.equal(opened.idle, o.idle);
  const rateIdle = await ratePerSec(bystander.progress, Math.max(2000, o.holdMs));
  await bystanderAdvances(bystander, 50);
  const rss1 = broker.memory().rssKiB;
  const fds1 = procFdCount(broker.pid);
  assert.ok(
    fds1 >= fds0 + o.idle,
    `broker holds ${fds1 - fds0} connection fds, expected ${o.idle}`,
  );
  assert.equal(broker.exited(), false);
  await idle.stop();
  // The broker notices every client going away and frees the connections.
  await eventually(() => assert.ok(procFdCount(broker.pid) <= fds0 + 2), 30_000);

  // Phase 2: pre-handshake sockets (silent, and slowloris dripping a partial header).
  const pre = startLoad(t, broker.port, 0, o.pre);
  await pre.wait('ready', 30_000);
  const rss2 = broker.memory().rssKiB;
  const ratePre = await ratePerSec(bystander.progress, 2000);
  const closed = await pre.wait('preClosed', 40_000);
  const [p50, max, min] = closed.closeMs as [number, number, number];
  // Not before the 10 s handshake timeout (timers never fire early; 9.5 s allows clock slack).
  assert.ok(min >= 9500, `a pre-handshake socket was closed after ${min} ms, before the timeout`);
  await eventually(() => assert.ok(procFdCount(broker.pid) <= fds0 + 2), 30_000);
  await pre.stop();

  await bystanderAdvances(bystander, 100);
  const { sent } = await bystander.stop();
  const mem = broker.memory();
  const result = {
    idle: o.idle,
    pre: o.pre,
    bystanderPerSec: { before: rateBefore, withIdle: rateIdle, withPreHandshake: ratePre },
    bystanderSent: sent,
    rssKiB: {
      before: rss0,
      withIdle: rss1,
      withPreHandshake: rss2,
      after: mem.rssKiB,
      hwm: mem.hwmKiB,
    },
    kibPerIdleConnection: Math.round(((rss1 - rss0) / o.idle) * 10) / 10,
    kibPerPreHandshakeSocket: Math.round(((rss2 - mem.rssKiB) / Math.max(1, o.pre)) * 10) / 10,
    preHandshakeCloseMs: { min, p50, max },
  };
  t.diagnostic(JSON.stringify(result));
  assert.equal(broker.errors().length, 0, broker.errors().join('\n'));
}
