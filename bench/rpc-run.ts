/**
 * Orchestrates a request/reply run: declares the request queue, starts the responder
 * process(es) and then the caller process (bench/rpc-load.ts), and folds their figures into a
 * LoadResult (requests as "published", replies as "delivered", round trips/s as end-to-end).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import type { LoadResult } from './load.js';
import type { RpcCallResult, RpcSpec } from './rpc-load.js';

const script = join(fileURLToPath(new URL('.', import.meta.url)), 'rpc-load.js');

interface Proc {
  child: ChildProcessWithoutNullStreams;
  latest: Record<string, unknown> | undefined;
  exited: Promise<number | null>;
}

function start(role: 'respond' | 'call', spec: RpcSpec): Proc {
  const child = spawn(process.execPath, [script, role, JSON.stringify(spec)], { stdio: 'pipe' });
  const p: Proc = {
    child,
    latest: undefined,
    exited: new Promise((r) => child.once('exit', (code) => r(code))),
  };
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      p.latest = JSON.parse(buf.slice(0, i)) as Record<string, unknown>;
      buf = buf.slice(i + 1);
    }
  });
  child.stderr.pipe(process.stderr);
  return p;
}

/** Waits for `cond`, failing if `p` exits first. */
async function until(p: Proc, cond: () => boolean): Promise<void> {
  let gone = false;
  void p.exited.then(() => (gone = true));
  while (!cond()) {
    if (gone) throw new Error(`rpc-load exited with ${p.child.exitCode} (${p.child.spawnargs[2]})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function withChannel(url: string, f: (ch: amqp.Channel) => Promise<unknown>): Promise<void> {
  const c = await amqp.connect(url);
  try {
    await f(await c.createChannel());
  } finally {
    await c.close();
  }
}

export async function runRpc(spec: RpcSpec, responders: number): Promise<LoadResult> {
  // The usual RPC setup: a non-durable request queue, non-persistent requests.
  await withChannel(spec.url, (ch) => ch.assertQueue(spec.queue, { durable: false }));
  const resp = Array.from({ length: responders }, () => start('respond', spec));
  try {
    for (const r of resp) await until(r, () => r.latest?.ready === true);
    const caller = start('call', spec);
    await until(caller, () => caller.latest?.timed === true || caller.latest?.sent !== undefined);
    for (const r of resp) r.child.stdin.write('mark\n');
    await until(caller, () => caller.latest?.sent !== undefined);
    const c = caller.latest as unknown as RpcCallResult;
    for (const r of resp) r.child.stdin.write('stop\n');
    for (const r of resp) await until(r, () => r.latest?.final === true);
    const l = Buffer.from(c.latencies, 'base64');
    const lat = new Float64Array(l.buffer, l.byteOffset, l.length / 8).sort();
    const pct = (p: number): number =>
      lat.length === 0 ? 0 : lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!;
    const respCpu = resp.reduce((n, r) => n + Number(r.latest?.cpu ?? 0), 0);
    const rate = c.replies / c.seconds;
    return {
      published: c.sent,
      confirmed: c.replies,
      delivered: c.replies,
      duplicates: c.duplicates + c.mismatched,
      missing: c.missing,
      inversions: 0,
      groupInversions: NaN,
      publishSeconds: c.seconds,
      totalSeconds: c.seconds,
      drainSeconds: c.seconds,
      publishRate: rate,
      endToEndRate: rate,
      drainRate: NaN,
      latencyMs: { p50: pct(0.5), p99: pct(0.99), p999: pct(0.999), max: lat.at(-1) ?? 0 },
      clientCpuSeconds: c.cpu + respCpu,
    };
  } finally {
    for (const r of resp) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    await withChannel(spec.url, (ch) => ch.deleteQueue(spec.queue));
  }
}
