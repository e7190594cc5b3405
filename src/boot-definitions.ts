import { readFileSync } from 'node:fs';
import type { Broker } from './core/broker.js';
import { SEEDED_KEY } from './core/access/access-control.js';
import { BatonError, ConfigError } from './core/errors.js';
import { importDefinitions, planImport } from './protocol/http/definitions-import.js';
import { HttpError } from './protocol/http/problem.js';

/** A definitions file named by --definitions, read and checked before the broker opens. */
export interface BootDefinitions {
  readonly file: string;
  readonly doc: unknown;
  /** It names users: the first boot then creates no default user (as RabbitMQ). */
  readonly hasUsers: boolean;
}

/** Who the boot's import acts as (RabbitMQ's name for its own acts). */
const LOADER = { user: 'rmq-internal', protocol: 'definitions' };

/**
 * Reads the file and checks what it says on its own (JSON, fields, hashes, what Baton cannot
 * apply), so a bad file stops the start before the store is touched, seeding included.
 */
export function readBootDefinitions(file: string): BootDefinitions {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read definitions file ${file}: ${(err as Error).message}`);
  }
  refused(file, () => planImport(undefined, doc));
  const users = (doc as Record<string, unknown>).users;
  return { file, doc, hasUsers: Array.isArray(users) && users.length !== 0 };
}

/**
 * Merges the file into the recovered broker (RabbitMQ's load_definitions at every boot): what
 * it names is created or updated, nothing else is touched, and an unchanged file writes
 * nothing. All or nothing, durable before it returns. A refused file that leaves the broker
 * without any user (a first boot that skipped the default user for it) takes the first-boot
 * mark back, so the next start without the file creates the default user instead of a broker
 * nobody can log in to.
 */
export async function loadBootDefinitions(broker: Broker, boot: BootDefinitions): Promise<void> {
  try {
    await importDefinitions(broker, boot.doc, LOADER);
  } catch (err) {
    if (broker.users.size === 0 && broker.access.seeded) {
      broker.journal.deleteDefinition(SEEDED_KEY);
      broker.access.seeded = false;
    }
    refused(boot.file, () => {
      throw err;
    });
  }
}

/** Runs `fn`; an import's refusal becomes a ConfigError naming the file. */
function refused(file: string, fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof HttpError || err instanceof BatonError)
      throw new ConfigError(`definitions file ${file}: ${err.message}`);
    throw err;
  }
}
