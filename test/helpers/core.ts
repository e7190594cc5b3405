import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Broker, type BrokerOptions } from '../../src/core/broker.js';
import { DEFAULT_BODY_BUDGET } from '../../src/util/body-budget.js';
import { openStores, type StoreSetup } from '../../src/store/open-stores.js';
import { amqpPropertiesCodec } from '../../src/protocol/amqp/properties-codec.js';
import { encodeProperties } from '../../src/protocol/amqp/generated/properties.js';
import type { FieldTable } from '../../src/protocol/amqp/field-table.js';
import type { Consumer } from '../../src/core/consumer.js';
import { Message } from '../../src/core/message.js';
import type { Delivery } from '../../src/core/delivery.js';
import type { Session, SessionHandler } from '../../src/core/session.js';

export function tempDir(t: TestContext, prefix = 'baton-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** What a test broker is made of: the stores to build and the broker's own options. */
export type TestBrokerOptions = StoreSetup & Omit<BrokerOptions, 'store' | 'spill' | 'codec'>;

/** A broker on stores built from `options` (the caller closes it). */
export async function newBroker(options: TestBrokerOptions = {}): Promise<Broker> {
  // As server.ts: the journal's recovery and the broker share one body budget.
  const o = { bodyBudget: DEFAULT_BODY_BUDGET, ...options };
  return Broker.open({ ...o, ...(await openStores(o)), codec: amqpPropertiesCodec });
}

/** A journal-backed broker in a temp dir with tiny segments, closed after the test. */
export async function openBroker(
  t: TestContext,
  options: TestBrokerOptions = {},
): Promise<{ broker: Broker; dir: string; reopen: () => Promise<Broker> }> {
  const owned = options.dataDir === undefined;
  const dir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'baton-'));
  const opts = { segmentSize: 64 * 1024, ...options, dataDir: dir };
  let broker: Broker | undefined;
  // Close before deleting: a closing journal may still create or rename files. Registered
  // first, so a broker that fails to open leaves no directory behind either.
  t.after(async () => {
    await broker?.close();
    if (owned) rmSync(dir, { recursive: true, force: true });
  });
  broker = await newBroker(opts);
  return {
    broker,
    dir,
    reopen: async () => {
      await broker?.close();
      broker = undefined;
      broker = await newBroker(opts);
      return broker;
    },
  };
}

export interface Received {
  consumer: Consumer;
  entry: Delivery;
  tag: number;
  body: string;
  redelivered: boolean;
}

/** A session whose deliveries land in `received`. */
export function collectingSession(broker: Broker): { session: Session; received: Received[] } {
  const received: Received[] = [];
  const handler: SessionHandler = {
    deliver(consumer, entry, tag) {
      received.push({
        consumer,
        entry,
        tag,
        body: entry.message.body!.toString(),
        redelivered: entry.redelivered,
      });
      return true;
    },
    consumerCancelled() {},
  };
  const connection = broker.connect({ user: 'test', trusted: true });
  return { session: connection.openSession(handler), received };
}

/** A message with AMQP `headers` (x-group-id and the like), persistent unless told. */
export function hmsg(body: string, headers: FieldTable, persistent = true): Message {
  const props = encodeProperties({ deliveryMode: persistent ? 2 : 1, headers });
  return new Message('', '', props, Buffer.from(body), persistent);
}

export function msg(body: string, persistent = true): Message {
  return new Message('', '', Buffer.alloc(0), Buffer.from(body), persistent);
}

export function synced(broker: Broker): Promise<void> {
  return new Promise((resolve, reject) =>
    broker.afterSync((err) => (err ? reject(err) : resolve())),
  );
}

/** Let scheduled drains run. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Poll until `fn` stops throwing (up to ~15 s). */
export async function eventually(fn: () => void | Promise<void>, ms = 15000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await fn();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/**
 * Poll until `cond` holds; fails after `ms` naming `what` (a poll with no deadline would hang
 * the run until the runner's timeout, with no word on what was awaited).
 */
export async function until(
  cond: () => boolean | Promise<boolean>,
  what: string,
  ms = 15000,
  everyMs = 5,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * An absence check: something must NOT happen for `ms`. Runs `check` now and every 10 ms
 * until `ms` has passed, failing at the first violation. Absence can only be shown over a
 * window; `ms` names it, so a test says how long it watched.
 */
export async function expectNothingFor(
  ms: number,
  check: () => void | Promise<void>,
): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    await check();
    const left = end - Date.now();
    if (left <= 0) return;
    await new Promise((r) => setTimeout(r, Math.min(10, left)));
  }
}
