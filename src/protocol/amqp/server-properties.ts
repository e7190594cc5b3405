import { readFileSync } from 'node:fs';
import type { FieldTable } from './field-table.js';

const version = (
  JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/** What connection.start advertises; clients switch features on from `capabilities`. */
export function serverProperties(): FieldTable {
  return {
    product: 'Baton',
    version,
    platform: `Node.js ${process.version}`,
    copyright: 'Baton contributors',
    information: 'https://github.com/baton-broker/baton',
    capabilities: {
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      consumer_priorities: false,
      authentication_failure_close: true,
      per_consumer_qos: true,
      direct_reply_to: true,
    },
    cluster_name: 'baton',
  };
}
