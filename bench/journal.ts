/**
 * In-process durable publish + ack throughput of the journal. A "publisher" appends one
 * enqueue, waits for its afterSync, settles it and appends the next, so every message costs a
 * confirmed write and a settle. Each scenario first runs one unmeasured second on a fresh
 * journal, so the measured window sees the steady state (segments rolled, files recycled).
 * Prints one JSON line per scenario.
 *
 * `--recovery` also times recovering a journal of one million 16-byte messages.
 *
 *   node dist/bench/journal.js [secondsPerScenario] [--recovery]
 *
 * Paging and recovery memory (each writes its backlog to `--dir` if that is empty, so runs
 * can share one; a temp dir otherwise):
 *
 *   node dist/bench/journal.js --paged N [--body 1024] [--read-ahead BYTES] [--dir D]
 *   node dist/bench/journal.js --recovery-memory N [--body 100] [--budget BYTES] [--dir D]
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  fdatasync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writev,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { JournalStore } from '../src/store/journal/journal-store.js';
import type { StoredMessage } from '../src/store/store.js';

export interface JournalBenchResult {
  scenario: string;
  bodySize: number;
  publishers: number;
  messages: number;
  seconds: number;
  msgsPerSec: number;
  fsyncsPerSec: number;
  /**
   * The disk alone: write+fdatasync rounds per second of a bare loop appending batches of the
   * same size to a fresh file, measured right after the scenario. The shared disk of this
   * machine varies a lot from minute to minute; compare against this, not across runs.
   */
  diskSyncsPerSec: number;
}

const SCENARIOS: readonly [number, number][] = [
  [1024, 1],
  [1024, 64],
  [16, 1],
  [16, 64],
];

export async function runJournalBench(
  secondsPerScenario = 3,
  print: (line: string) => void = (l) => console.log(l),
  warmupSeconds = 1,
): Promise<JournalBenchResult[]> {
  const results: JournalBenchResult[] = [];
  for (const [bodySize, publishers] of SCENARIOS) {
    const r = await scenario(bodySize, publishers, secondsPerScenario, warmupSeconds);
    results.push(r);
    print(JSON.stringify(r));
  }
  return results;
}

async function scenario(
  bodySize: number,
  publishers: number,
  seconds: number,
  warmupSeconds: number,
): Promise<JournalBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-journal-'));
  try {
    const store = await JournalStore.open({ dir });
    await store.recover({ definition() {}, message() {} });
    store.putDefinition('queue:/:bench', { name: 'bench', durable: true });
    const body = Buffer.alloc(bodySize, 0x61);
    const properties = Buffer.from([0x80, 0x00, 0x02]);
    const measureFrom = performance.now() + warmupSeconds * 1000;
    const deadline = measureFrom + seconds * 1000;
    let syncs0 = 0;
    let t0 = 0;
    let measuring = false;
    let messages = 0;
    let running = publishers;
    await new Promise<void>((finish, fail) => {
      const publisher = (queueId: number): void => {
        let seq = 0;
        let message: StoredMessage | undefined;
        // One closure per publisher, not per message: the callback reuses it.
        const confirmed = (err: Error | undefined): void => {
          if (err !== undefined) return fail(err);
          store.settle(queueId, seq, message!);
          const now = performance.now();
          if (measuring) messages++;
          else if (now >= measureFrom) {
            measuring = true;
            t0 = now;
            syncs0 = store.stats().syncs;
          }
          if (now >= deadline) {
            if (--running === 0) finish();
            return;
          }
          publish();
        };
        const publish = (): void => {
          message = {
            exchange: '',
            routingKey: 'bench',
            properties,
            body,
            bodySize,
            priority: 0,
            expiresAt: 0,
            timestamp: Date.now(),
            location: undefined,
          };
          store.enqueue(message, [queueId], [++seq]);
          store.afterSync(confirmed);
        };
        publish();
      };
      for (let i = 1; i <= publishers; i++) publisher(i);
    });
    await new Promise<void>((done) => store.afterSync(() => done()));
    const elapsed = (performance.now() - t0) / 1000;
    const stats = store.stats();
    const syncs = stats.syncs - syncs0;
    await store.close();
    const batchBytes = Math.max(1, Math.round(stats.bytesWritten / stats.syncs));
    const diskSyncsPerSec = await diskBaseline(join(dir, 'baseline.dat'), batchBytes, 1);
    return {
      scenario: `journal-${bodySize}B-${publishers}p`,
      bodySize,
      publishers,
      messages,
      seconds: round(elapsed),
      msgsPerSec: Math.round(messages / elapsed),
      fsyncsPerSec: Math.round(syncs / elapsed),
      diskSyncsPerSec,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Rounds per second of writev(batchBytes) + fdatasync, appending to a fresh file. */
async function diskBaseline(path: string, batchBytes: number, seconds: number): Promise<number> {
  const fd = openSync(path, 'w');
  const buf = Buffer.alloc(batchBytes, 0x62);
  let rounds = 0;
  const t0 = performance.now();
  try {
    await new Promise<void>((done, fail) => {
      const round = (): void => {
        if (performance.now() - t0 >= seconds * 1000) return done();
        writev(fd, [buf], rounds * batchBytes, (err) => {
          if (err !== null) return fail(err);
          fdatasync(fd, (err2) => {
            if (err2 !== null) return fail(err2);
            rounds++;
            round();
          });
        });
      };
      round();
    });
  } finally {
    closeSync(fd);
  }
  return Math.round(rounds / ((performance.now() - t0) / 1000));
}

export interface RecoveryBenchResult {
  scenario: string;
  messages: number;
  journalBytes: number;
  segments: number;
  seconds: number;
  msgsPerSec: number;
  mibPerSec: number;
}

/** Write `count` small messages (a tenth of them settled), then time a full recovery. */
export async function runRecoveryBench(
  count = 1_000_000,
  print: (line: string) => void = (l) => console.log(l),
): Promise<RecoveryBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-recovery-'));
  try {
    let store = await JournalStore.open({ dir });
    await store.recover({ definition() {}, message() {} });
    store.putDefinition('queue:/:bench', { name: 'bench', durable: true });
    const body = Buffer.alloc(16, 0x61);
    const properties = Buffer.from([0x80, 0x00, 0x02]);
    const ids = [1];
    const seqs = [0];
    for (let i = 1; i <= count; i++) {
      const m: StoredMessage = {
        exchange: '',
        routingKey: 'bench',
        properties,
        body,
        bodySize: 16,
        priority: 0,
        expiresAt: 0,
        timestamp: Date.now(),
        location: undefined,
      };
      seqs[0] = i;
      store.enqueue(m, ids, seqs);
      if (i % 10 === 0) store.settle(1, i, m);
      if (i % 20_000 === 0) await new Promise<void>((done) => store.afterSync(() => done()));
    }
    await store.close();
    store = await JournalStore.open({ dir });
    let messages = 0;
    const t0 = performance.now();
    await store.recover({
      definition() {},
      message() {
        messages++;
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    const stats = store.stats();
    await store.close();
    let journalBytes = 0;
    for (const f of readdirSync(dir)) journalBytes += statSync(join(dir, f)).size;
    const r: RecoveryBenchResult = {
      scenario: `journal-recovery-${count}`,
      messages,
      journalBytes,
      segments: stats.segments - 1,
      seconds: round(seconds),
      msgsPerSec: Math.round(messages / seconds),
      mibPerSec: Math.round(journalBytes / 1048576 / seconds),
    };
    print(JSON.stringify(r));
    return r;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface RecoveryMemoryResult {
  scenario: string;
  messages: number;
  journalMiB: number;
  bodyBudget: number;
  recoverMs: number;
  /** Peak resident set of the recovering process (VmHWM), MiB. */
  peakRssMiB: number;
  /** Resident set right after recover() returned, MiB. */
  rssAfterMiB: number;
  /** Resident set of a fresh Node process before opening the journal, MiB. */
  baselineRssMiB: number;
}

/**
 * Peak memory of recovery: write `count` messages of `bodySize` bytes to one queue (none
 * settled), then recover them in a fresh process whose visitor keeps only what the core keeps
 * for a paged message (three numbers in typed arrays), and report its VmHWM.
 */
export async function runRecoveryMemoryBench(
  count: number,
  bodySize: number,
  bodyBudget: number,
  print: (line: string) => void = (l) => console.log(l),
  keepDir?: string,
): Promise<RecoveryMemoryResult> {
  const dir = keepDir ?? mkdtempSync(join(tmpdir(), 'baton-bench-recovery-mem-'));
  try {
    if (readdirSync(dir).length === 0) await writeBacklog(dir, count, bodySize);
    let journalBytes = 0;
    for (const f of readdirSync(dir)) journalBytes += statSync(join(dir, f)).size;
    const child = spawnSync(
      process.execPath,
      [fileURLToPath(import.meta.url), '--recover-child', dir, String(bodyBudget)],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    if (child.status !== 0) throw new Error(`recovery child failed: ${child.stderr}`);
    const c = JSON.parse(child.stdout.trim().split('\n').pop()!) as Omit<
      RecoveryMemoryResult,
      'scenario' | 'journalMiB' | 'bodyBudget'
    >;
    const r: RecoveryMemoryResult = {
      scenario: `journal-recovery-memory-${count}x${bodySize}B`,
      journalMiB: Math.round(journalBytes / 1048576),
      bodyBudget,
      ...c,
    };
    print(JSON.stringify(r));
    return r;
  } finally {
    if (keepDir === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

async function writeBacklog(dir: string, count: number, bodySize: number): Promise<void> {
  const store = await JournalStore.open({ dir });
  await store.recover({ definition() {}, message() {} });
  store.putDefinition('queue:/:backlog', { name: 'backlog', durable: true });
  const body = Buffer.alloc(bodySize, 0x61);
  const properties = Buffer.from([0x80, 0x00, 0x02]);
  const ids = [1];
  const seqs = [0];
  for (let i = 1; i <= count; i++) {
    seqs[0] = i;
    store.enqueue(
      {
        exchange: '',
        routingKey: 'backlog',
        properties,
        body,
        bodySize,
        priority: 0,
        expiresAt: 0,
        timestamp: Date.now(),
        location: undefined,
      },
      ids,
      seqs,
    );
    if (i % 20_000 === 0) await new Promise<void>((done) => store.afterSync(() => done()));
  }
  await store.close();
}

/** In the child: recover `dir`, keeping 12 bytes per message like the core's paged tail. */
async function recoverChild(dir: string, bodyBudget: number): Promise<void> {
  const hwm = (): number =>
    Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;
  const baselineRssMiB = hwm();
  let cap = 1 << 16;
  let segs = new Uint32Array(cap);
  let offs = new Uint32Array(cap);
  let sizes = new Uint32Array(cap);
  let n = 0;
  let withBody = 0;
  const store = await JournalStore.open({ dir, bodyBudget });
  const t0 = performance.now();
  await store.recover({
    definition() {},
    // Sized once from the announced count, as a queue's paged tail can be.
    queue(_queueId, messages) {
      cap = n + messages;
      const grow = (a: Uint32Array<ArrayBuffer>): Uint32Array<ArrayBuffer> => {
        const b = new Uint32Array(cap);
        b.set(a.subarray(0, n));
        return b;
      };
      segs = grow(segs);
      offs = grow(offs);
      sizes = grow(sizes);
    },
    message(m) {
      if (m.message.body !== undefined) withBody++;
      if (n === cap) {
        cap *= 2;
        const grow = (a: Uint32Array<ArrayBuffer>): Uint32Array<ArrayBuffer> => {
          const b = new Uint32Array(cap);
          b.set(a);
          return b;
        };
        segs = grow(segs);
        offs = grow(offs);
        sizes = grow(sizes);
      }
      const l = m.message.location!;
      segs[n] = l.segment;
      offs[n] = l.offset;
      sizes[n++] = l.size;
    },
  });
  const recoverMs = Math.round(performance.now() - t0);
  const rssAfterMiB = Math.round(process.memoryUsage().rss / 1048576);
  await store.close();
  console.log(
    JSON.stringify({
      messages: n,
      withBody,
      recoverMs,
      peakRssMiB: Math.round(hwm()),
      rssAfterMiB,
      baselineRssMiB: Math.round(baselineRssMiB),
    }),
  );
}

export interface PagedReadResult {
  scenario: string;
  messages: number;
  readAhead: number;
  seconds: number;
  msgsPerSec: number;
  mibPerSec: number;
  preads: number;
  /** Resident set growth over the drain, MiB (bodies are copies: it should stay flat). */
  rssGrowthMiB: number;
}

/**
 * Drain rate of a paged backlog: journal `count` messages of `bodySize` bytes, recover them
 * with no body budget (locations only, kept as three numbers each like the core's paged
 * tail), then read every one back in order with readPaged. Page cache warm (just written).
 */
export async function runPagedReadBench(
  count: number,
  bodySize: number,
  readAhead = 1 << 20,
  print: (line: string) => void = (l) => console.log(l),
  keepDir?: string,
): Promise<PagedReadResult> {
  const dir = keepDir ?? mkdtempSync(join(tmpdir(), 'baton-bench-paged-'));
  try {
    if (readdirSync(dir).length === 0) await writeBacklog(dir, count, bodySize);
    const store = await JournalStore.open({ dir, bodyBudget: 0, readAhead });
    let n = 0;
    let locs = new Uint32Array(3 * 65536);
    await store.recover({
      definition() {},
      message(m) {
        if (3 * n === locs.length) {
          const grown = new Uint32Array(locs.length * 2);
          grown.set(locs);
          locs = grown;
        }
        const l = m.message.location!;
        locs[3 * n] = l.segment;
        locs[3 * n + 1] = l.offset;
        locs[3 * n + 2] = l.size;
        n++;
      },
    });
    const reader = (store as unknown as { reader: { reads: number } }).reader;
    const reads0 = reader.reads;
    const scratch = { segment: 0, offset: 0, size: 0 };
    let bytes = 0;
    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      scratch.segment = locs[3 * i]!;
      scratch.offset = locs[3 * i + 1]!;
      scratch.size = locs[3 * i + 2]!;
      const { message, seq } = store.readPaged(scratch, 1);
      if (seq !== i + 1) throw new Error(`seq ${seq} at ${i}`);
      bytes += message.bodySize;
    }
    const seconds = (performance.now() - t0) / 1000;
    const rssGrowthMiB = Math.round((process.memoryUsage().rss - rss0) / 1048576);
    const preads = reader.reads - reads0;
    await store.close();
    const r: PagedReadResult = {
      scenario: `journal-readPaged-${n}x${bodySize}B`,
      messages: n,
      readAhead,
      seconds: round(seconds),
      msgsPerSec: Math.round(n / seconds),
      mibPerSec: Math.round(bytes / 1048576 / seconds),
      preads,
      rssGrowthMiB,
    };
    print(JSON.stringify(r));
    return r;
  } finally {
    if (keepDir === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const fail = (err: unknown): void => {
    console.error(err);
    process.exitCode = 1;
  };
  const paged = flag('--paged');
  const child = flag('--recover-child');
  const memory = flag('--recovery-memory');
  if (paged !== undefined) {
    runPagedReadBench(
      Number(paged),
      Number(flag('--body') ?? 1024),
      Number(flag('--read-ahead') ?? 1 << 20),
      undefined,
      flag('--dir'),
    ).catch(fail);
  } else if (child !== undefined) {
    recoverChild(child, Number(args[args.indexOf('--recover-child') + 2])).catch(fail);
  } else if (memory !== undefined) {
    const budget = flag('--budget');
    runRecoveryMemoryBench(
      Number(memory),
      Number(flag('--body') ?? 100),
      budget === undefined ? 256 * 1024 * 1024 : Number(budget),
      undefined,
      flag('--dir'),
    ).catch(fail);
  } else {
    const seconds = Number(args.find((a) => !a.startsWith('--')) ?? 3);
    runJournalBench(seconds)
      .then(() => (args.includes('--recovery') ? runRecoveryBench() : undefined))
      .catch(fail);
  }
}
