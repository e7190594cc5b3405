/** Orchestrates bench/split-load.ts processes and merges their results into a LoadResult. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import amqp from 'amqplib';
import { fileURLToPath } from 'node:url';
import type { LoadResult } from './load.js';
import type { SplitSpec } from './split-load.js';
import { cpuSeconds } from './proc.js';

const script = join(fileURLToPath(new URL('.', import.meta.url)), 'split-load.js');

interface Proc {
  child: ChildProcessWithoutNullStreams;
  lines: Record<string, unknown>[];
  latest: Record<string, unknown> | undefined;
}

function start(role: 'produce' | 'consume', spec: SplitSpec): Proc {
  const child = spawn(process.execPath, [script, role, JSON.stringify(spec)], { stdio: 'pipe' });
  const p: Proc = { child, lines: [], latest: undefined };
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const obj = JSON.parse(buf.slice(0, i)) as Record<string, unknown>;
      buf = buf.slice(i + 1);
      p.lines.push(obj);
      p.latest = obj;
    }
  });
  child.stderr.pipe(process.stderr);
  return p;
}

async function deleteQueue(url: string, queue: string): Promise<void> {
  const c = await amqp.connect(url);
  const ch = await c.createChannel();
  await ch.deleteQueue(queue);
  await c.close();
}

const until = async (cond: () => boolean): Promise<void> => {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
};

/**
 * With `queues` > 1, producer and consumer i use queue `<queue>-<i % queues>` (message ids
 * stay global, so the exactly-once check covers all of them). With `brokerPid`, the broker's CPU
 * from "go" to the last delivery is reported as extra.brokerCpuUsPerMessage and its share of
 * that wall time as extra.brokerUtilisation.
 */
export async function runSplit(
  base: Omit<SplitSpec, 'producer'>,
  consumers: number,
  queues = 1,
  brokerPid?: number,
): Promise<LoadResult> {
  const total = base.producers * base.messages;
  const queueOf = (i: number): string => (queues <= 1 ? base.queue : `${base.queue}-${i % queues}`);
  const cons = Array.from({ length: consumers }, (_, i) =>
    start('consume', { ...base, queue: queueOf(i), producer: 0 }),
  );
  await until(() => cons.every((c) => c.lines.some((l) => l.ready === true)));
  const prods = Array.from({ length: base.producers }, (_, i) =>
    start('produce', { ...base, queue: queueOf(i), producer: i }),
  );
  await until(() => prods.every((p) => p.latest?.ready === true));
  const brokerCpu0 = brokerPid === undefined ? 0 : cpuSeconds(brokerPid);
  for (const p of prods) p.child.stdin.write('go\n');
  await until(() => prods.every((p) => p.latest !== undefined && 'end' in p.latest));
  const delivered = (): number => cons.reduce((n, c) => n + Number(c.latest?.delivered ?? 0), 0);
  await until(() => delivered() >= total);
  const brokerCpu = brokerPid === undefined ? NaN : cpuSeconds(brokerPid) - brokerCpu0;
  for (const c of cons) c.child.stdin.write('stop\n');
  for (let i = 0; i < Math.max(1, queues); i++) await deleteQueue(base.url, queueOf(i));
  await until(() => cons.every((c) => c.latest?.final === true));
  const pr = prods.map((p) => p.latest as { start: number; end: number; cpu: number });
  const fin = cons.map(
    (c) =>
      c.latest as {
        delivered: number;
        duplicates: number;
        last: number;
        cpu: number;
        seen: string;
        latencies: string;
      },
  );
  const seen = new Uint8Array(total);
  let dup = 0;
  const lat: number[] = [];
  for (const f of fin) {
    const s = Buffer.from(f.seen, 'base64');
    for (let i = 0; i < total; i++) {
      if (!s[i]) continue;
      if (seen[i]) dup++;
      else seen[i] = 1;
    }
    dup += f.duplicates;
    const l = Buffer.from(f.latencies, 'base64');
    const arr = new Float64Array(l.buffer, l.byteOffset, l.length / 8);
    for (const x of arr) lat.push(x);
  }
  lat.sort((a, b) => a - b);
  const pct = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0;
  let missing = 0;
  for (let i = 0; i < total; i++) if (!seen[i]) missing++;
  const t0 = Math.min(...pr.map((p) => p.start));
  const tPub = Math.max(...pr.map((p) => p.end));
  const tLast = Math.max(...fin.map((f) => f.last));
  return {
    published: total,
    confirmed: total,
    delivered: total - missing,
    duplicates: dup,
    missing,
    inversions: NaN,
    groupInversions: NaN,
    publishSeconds: (tPub - t0) / 1000,
    totalSeconds: (tLast - t0) / 1000,
    drainSeconds: (tLast - tPub) / 1000,
    publishRate: total / ((tPub - t0) / 1000),
    endToEndRate: total / ((tLast - t0) / 1000),
    drainRate: NaN,
    latencyMs: { p50: pct(0.5), p99: pct(0.99), p999: pct(0.999), max: lat[lat.length - 1] ?? 0 },
    clientCpuSeconds: pr.reduce((n, p) => n + p.cpu, 0) + fin.reduce((n, f) => n + f.cpu, 0),
    ...(brokerPid !== undefined && {
      extra: {
        brokerCpuUsPerMessage: (brokerCpu * 1e6) / total,
        brokerUtilisation: brokerCpu / ((tLast - t0) / 1000),
      },
    }),
  };
}
