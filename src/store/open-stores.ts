import { join } from 'node:path';
import { JournalStore } from './journal/journal-store.js';
import { MemoryStore } from './memory/memory-store.js';
import { FileSpill } from './spill/file-spill.js';
import type { Spill } from './spill.js';
import type { Store } from './store.js';

/** Which stores to build; server.ts and tests hand the result to Broker.open. */
export interface StoreSetup {
  store?: 'journal' | 'memory';
  /** Where the journal and the transient spill live (journal store only). */
  dataDir?: string;
  /** Journal segment size in bytes (tests use tiny ones to exercise rollover). */
  segmentSize?: number;
  /** Bytes of bodies recovery keeps in memory; the broker's body budget. */
  bodyBudget?: number;
  /** Start past corrupt journal records (skipped and reported) instead of refusing to. */
  recoverSkipCorrupt?: boolean;
  /** Transient spill file size (tests use tiny ones). */
  spillFileSize?: number;
}

/**
 * The message store and the transient spill for a setup. With the journal, spill files live
 * in `<dataDir>/transient` (covered by the journal's directory lock); with the memory store in
 * a temp dir removed on close.
 */
export async function openStores(o: StoreSetup = {}): Promise<{ store: Store; spill: Spill }> {
  const dataDir = o.dataDir ?? './data';
  const memory = o.store === 'memory';
  const store = memory
    ? new MemoryStore()
    : await JournalStore.open({
        dir: dataDir,
        ...(o.segmentSize !== undefined && { segmentSize: o.segmentSize }),
        ...(o.bodyBudget !== undefined && { bodyBudget: o.bodyBudget }),
        ...(o.recoverSkipCorrupt === true && { skipCorrupt: true }),
      });
  try {
    const spill = new FileSpill({
      ...(!memory && { dir: join(dataDir, 'transient') }),
      ...(o.spillFileSize !== undefined && { fileSize: o.spillFileSize }),
    });
    return { store, spill };
  } catch (err) {
    await store.close();
    throw err;
  }
}
