import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { JournalStore, type JournalStoreOptions } from '../../src/store/journal/journal-store.js';
import type {
  RecoveredMessage,
  RecoveryStats,
  Store,
  StoredMessage,
} from '../../src/store/store.js';

export function tempDir(t: TestContext, prefix = 'baton-store-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function message(body: string | Buffer, routingKey = 'rk', priority = 0): StoredMessage {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  return {
    exchange: 'amq.direct',
    routingKey,
    properties: Buffer.from([0x80, 0x00, priority]),
    body: b,
    bodySize: b.length,
    priority,
    expiresAt: 0,
    timestamp: Date.now(),
    location: undefined,
  };
}

export function synced(store: Store): Promise<void> {
  return new Promise((resolve, reject) =>
    store.afterSync((err) => (err ? reject(err) : resolve())),
  );
}

export interface Recovered {
  stats: RecoveryStats;
  definitions: Map<string, unknown>;
  messages: RecoveredMessage[];
  /** "queueId:seq" → body text, in visit order. */
  byQueue: Map<number, { seq: number; body: string | undefined; redelivered: boolean }[]>;
}

export async function recoverAll(store: Store): Promise<Recovered> {
  const definitions = new Map<string, unknown>();
  const messages: RecoveredMessage[] = [];
  const byQueue: Recovered['byQueue'] = new Map();
  let sawMessage = false;
  const stats = await store.recover({
    definition(key, value) {
      if (sawMessage) throw new Error('definition visited after a message');
      definitions.set(key, value);
    },
    message(m) {
      sawMessage = true;
      messages.push(m);
      let list = byQueue.get(m.queueId);
      if (list === undefined) byQueue.set(m.queueId, (list = []));
      list.push({ seq: m.seq, body: m.message.body?.toString(), redelivered: m.redelivered });
    },
  });
  return { stats, definitions, messages, byQueue };
}

/** Seeded PRNG (mulberry32): failures print the seed so they can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seedFromEnv(name: string): number {
  const v = process.env[name];
  return v !== undefined ? Number(v) : (Date.now() ^ (process.pid << 8)) >>> 0;
}

/** Poll until `fn` stops throwing (up to ~15 s). */
export async function eventually(fn: () => void, ms = 15000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      fn();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/** A journal in a temp dir, closed after the test; `reopen` closes it and opens it again. */
export async function openJournal(
  t: TestContext,
  options: Partial<JournalStoreOptions> = {},
): Promise<{
  store: JournalStore;
  dir: string;
  reopen: (more?: Partial<JournalStoreOptions>) => Promise<JournalStore>;
}> {
  const own = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'baton-store-'));
  let store = await JournalStore.open({ ...options, dir });
  // Close first: the reclaimer may still be renaming files in the directory.
  t.after(async () => {
    await store.close();
    if (own) rmSync(dir, { recursive: true, force: true });
  });
  return {
    store,
    dir,
    reopen: async (more = {}) => {
      await store.close();
      store = await JournalStore.open({ ...options, ...more, dir });
      return store;
    },
  };
}
