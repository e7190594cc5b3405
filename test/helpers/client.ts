import type { TestContext } from 'node:test';
import { connect, type BatonClient, type ConnectOptions } from '../../src/client/index.js';

/** A baton/client client closed after the test; 'error' events collected, never thrown. */
export async function openClient(
  t: TestContext,
  url: string,
  options: ConnectOptions = {},
): Promise<BatonClient & { errors: Error[] }> {
  const client = await connect(url, options);
  const errors: Error[] = [];
  client.on('error', (e) => errors.push(e));
  t.after(() => client.close());
  return Object.assign(client, { errors });
}
