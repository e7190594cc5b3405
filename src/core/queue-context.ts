import type { Spill } from '../store/spill.js';
import type { BodyBudget } from './body-budget.js';
import type { DrainScheduler } from './dispatch.js';
import type { Properties } from './properties.js';
import type { StoreGuard } from './store-guard.js';

/**
 * What a queue needs from the broker, handed in at construction so a queue never reaches
 * through its vhost to the broker (and a test can build one on its own parts).
 */
export interface QueueContext {
  readonly store: StoreGuard;
  readonly scheduler: DrainScheduler;
  readonly bodies: BodyBudget;
  /** Where messages the store cannot page go past the body budget; gone at restart. */
  readonly spill: Spill;
  /** Reads and writes message properties (x-delivery-count on redeliveries). */
  readonly properties: Properties;
  /** Broker-wide consumer timeout (ms, 0 for none) for queues without x-consumer-timeout. */
  readonly consumerTimeout: number;
  /**
   * True while the broker shuts down: deliveries its closing sessions give back did not
   * fail (nothing is counted against their delivery limit, nothing is dead-lettered).
   */
  stopping(): boolean;
  reportError(err: unknown, context: string): void;
}
