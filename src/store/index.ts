export type {
  Located,
  MessageLocation,
  MessageRef,
  PagedMessage,
  StoreCapabilities,
  StoreOp,
  RecoveredMessage,
  RecoveryStats,
  RecoveryVisitor,
  Store,
  StoredMessage,
  StoreStats,
} from './store.js';
export { StoreCorruptError, StoreFailure } from './store-failure.js';
export { JournalStore, type JournalStoreOptions } from './journal/journal-store.js';
export { MemoryStore } from './memory/memory-store.js';
