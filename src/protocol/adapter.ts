import type { Logger } from 'pino';
import type { Broker } from '../core/broker.js';

/** A protocol listener: turns wire traffic into core calls. server.ts starts and stops them. */
export interface ProtocolAdapter {
  readonly name: string;
  start(broker: Broker, logger: Logger): Promise<{ host: string; port: number }>;
  /** Stop accepting, close connections (their sessions requeue), release the port. */
  stop(): Promise<void>;
}
