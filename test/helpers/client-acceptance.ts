/**
 * Helpers for the client's acceptance tests (test/client, test/crash/client-reconnect): a
 * Baton client closed after the test, whose 'error' events are collected instead of thrown (an
 * EventEmitter with no 'error' listener would crash the runner), and a gate for handlers that
 * must wait for the test.
 */
import type { TestContext } from 'node:test';
import { connect } from '../../src/client/index.js';

export type Client = Awaited<ReturnType<typeof connect>>;
export type ClientOptions = NonNullable<Parameters<typeof connect>[1]>;

/** A client on `url`; its 'error' events go to `errors`; closed after the test. */
export async function openClient(
  t: TestContext,
  url: string,
  options: ClientOptions = {},
): Promise<{ client: Client; errors: unknown[] }> {
  const client = await connect(url, options);
  const errors: unknown[] = [];
  client.on('error', (err: unknown) => errors.push(err));
  t.after(() => client.close().catch(() => {}));
  return { client, errors };
}

/** A promise the test opens by hand (`open()`), for handlers that must block until told. */
export function gate(): { wait: Promise<void>; open: () => void; isOpen: () => boolean } {
  let open!: () => void;
  let opened = false;
  const wait = new Promise<void>((resolve) => {
    open = () => {
      opened = true;
      resolve();
    };
  });
  return { wait, open, isOpen: () => opened };
}

/** Resolves true if `p` settled within `ms`, false otherwise ("not before" checks only). */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = p.then(
    () => true,
    () => true,
  );
  const r = await Promise.race([
    settled,
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]);
  clearTimeout(timer);
  return r;
}
