import { apiPath } from './api-client.js';
import { countOption, hasFlag } from './args.js';
import { defineCommand, JSON_OPTION, printJson, VHOST_OPTION, vhostOf } from './command.js';
import { UsageError } from './errors.js';

/** One message of POST /api/queues/{vhost}/{queue}/get, as RabbitMQ returns it. */
export interface GotMessage {
  payload: string;
  payload_bytes: number;
  payload_encoding: 'string' | 'base64';
  redelivered: boolean;
  exchange: string;
  routing_key: string;
  message_count: number;
  properties: Record<string, unknown> & { headers?: Record<string, unknown> };
}

const show = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** A message for people: where it came from, its properties, headers and body. */
export function describeMessage(m: GotMessage, index: number, count: number): string {
  const lines = [
    `message ${index} of ${count}: exchange '${m.exchange}', routing key '${m.routing_key}'` +
      `${m.redelivered ? ', redelivered' : ''}; ${m.message_count} left in the queue`,
  ];
  const { headers, ...props } = m.properties ?? {};
  const section = (title: string, entries: [string, unknown][]): void => {
    if (entries.length === 0) return;
    lines.push(`  ${title}:`);
    const w = Math.max(...entries.map(([k]) => k.length));
    for (const [k, v] of entries) lines.push(`    ${k.padEnd(w)}  ${show(v)}`);
  };
  section('properties', Object.entries(props));
  section('headers', Object.entries(headers ?? {}));
  const binary = m.payload_encoding === 'base64';
  lines.push(`  body (${m.payload_bytes} bytes${binary ? ', not UTF-8: base64' : ''}):`);
  lines.push(...m.payload.split('\n').map((l) => `    ${l}`));
  return lines.join('\n');
}

export const GET = defineCommand(
  {
    name: 'get',
    args: '<queue>',
    positionals: [1, 1],
    summary: 'Fetch messages from a queue and show them (requeued unless --ack)',
    description:
      'POST /api/queues/{vhost}/{queue}/get. By default the messages go back to the queue (marked redelivered);\n--ack removes them. Bodies that are not UTF-8 are shown base64-encoded.',
    options: [
      { name: '--count', value: 'N', help: 'How many messages at most (default 1)' },
      { name: '--ack', help: 'Acknowledge: the messages leave the queue' },
      { name: '--requeue', help: 'Put them back (the default)' },
      VHOST_OPTION,
      JSON_OPTION,
    ],
  },
  async (io, args) => {
    if (hasFlag(args, '--ack') && hasFlag(args, '--requeue'))
      throw new UsageError('give --ack or --requeue, not both');
    const count = countOption(args, '--count') ?? 1;
    const queue = args.positional[0]!;
    const messages = await io.api.request<GotMessage[]>(
      'POST',
      apiPath('queues', vhostOf(args), queue, 'get'),
      {
        body: {
          count,
          ackmode: hasFlag(args, '--ack') ? 'ack_requeue_false' : 'ack_requeue_true',
          encoding: 'auto',
        },
      },
    );
    if (hasFlag(args, '--json')) return printJson(io, messages);
    if (messages.length === 0) {
      io.out(`queue '${queue}' is empty\n`);
      return;
    }
    io.out(`${messages.map((m, i) => describeMessage(m, i + 1, messages.length)).join('\n\n')}\n`);
  },
);
