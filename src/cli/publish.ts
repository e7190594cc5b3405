import { readFile } from 'node:fs/promises';
import { apiPath } from './api-client.js';
import { hasFlag, optionValue } from './args.js';
import {
  defineCommand,
  JSON_OPTION,
  printJson,
  VHOST_OPTION,
  vhostOf,
  type CommandIo,
} from './command.js';
import { CliError, UsageError } from './errors.js';
import { keyValues } from './key-values.js';

/** basic.properties as the management API names them; the numeric ones are sent as numbers. */
const PROPERTIES = new Map<string, 'string' | 'number'>([
  ['content_type', 'string'],
  ['content_encoding', 'string'],
  ['delivery_mode', 'number'],
  ['priority', 'number'],
  ['correlation_id', 'string'],
  ['reply_to', 'string'],
  ['expiration', 'string'],
  ['message_id', 'string'],
  ['timestamp', 'number'],
  ['type', 'string'],
  ['user_id', 'string'],
  ['app_id', 'string'],
]);

function properties(raw: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(keyValues('--property', raw, false))) {
    const kind = PROPERTIES.get(key);
    if (kind === undefined)
      throw new UsageError(
        `--property: unknown property '${key}' (one of ${[...PROPERTIES.keys()].join(', ')}; headers go in --header)`,
      );
    if (kind === 'number' && typeof value === 'string') {
      if (!/^\d+$/.test(value))
        throw new UsageError(`--property ${key}: '${value}' is not a whole number`);
      out[key] = Number(value);
    } else out[key] = value;
  }
  return out;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

async function body(
  io: CommandIo,
  text: string | undefined,
  file: string | undefined,
): Promise<Buffer> {
  if (text !== undefined && file !== undefined)
    throw new UsageError('give --body or --file, not both');
  if (text !== undefined) return Buffer.from(text);
  if (file !== undefined && file !== '-') {
    try {
      return await readFile(file);
    } catch (e) {
      throw new CliError(`--file ${file}: ${(e as Error).message}`);
    }
  }
  if ((io.stdin as { isTTY?: boolean }).isTTY === true && file === undefined)
    throw new UsageError('give the body with --body, --file, or on stdin (it is a terminal)');
  return readAll(io.stdin);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The payload as the API takes it: text when it is UTF-8, else base64. */
export function encodePayload(bytes: Buffer): {
  payload: string;
  payload_encoding: 'string' | 'base64';
} {
  try {
    return { payload: utf8.decode(bytes), payload_encoding: 'string' };
  } catch {
    return { payload: bytes.toString('base64'), payload_encoding: 'base64' };
  }
}

export const PUBLISH = defineCommand(
  {
    name: 'publish',
    args: '',
    positionals: [0, 0],
    summary: 'Publish one message to an exchange',
    description:
      'POST /api/exchanges/{vhost}/{exchange}/publish. The body comes from --body, --file (- for stdin) or stdin;\nbytes that are not UTF-8 are sent base64-encoded. Says whether a queue got it.',
    options: [
      {
        name: '--exchange',
        value: 'X',
        help: "Exchange (default '': the default exchange, routing key = queue)",
      },
      { name: '--routing-key', value: 'K', help: "Routing key (default '')" },
      { name: '--body', value: 'TEXT', help: 'The body' },
      { name: '--file', value: 'F', help: 'Read the body from file F (- for stdin)' },
      {
        name: '--property',
        value: 'K=V',
        repeat: true,
        help: 'A property: content_type, message_id, priority, expiration, …',
      },
      {
        name: '--header',
        value: 'K=V',
        repeat: true,
        help: 'A header (string; K:=JSON for another type)',
      },
      { name: '--persistent', help: 'delivery_mode 2: stored on disk by durable queues' },
      VHOST_OPTION,
      JSON_OPTION,
    ],
  },
  async (io, args) => {
    const exchange = optionValue(args, '--exchange') ?? '';
    const props = properties(args.options.get('--property'));
    const headers = keyValues('--header', args.options.get('--header'), false);
    if (Object.keys(headers).length > 0) props.headers = headers;
    if (hasFlag(args, '--persistent')) {
      if (props.delivery_mode !== undefined && props.delivery_mode !== 2)
        throw new UsageError('--persistent contradicts --property delivery_mode');
      props.delivery_mode = 2;
    }
    const bytes = await body(io, optionValue(args, '--body'), optionValue(args, '--file'));
    const vhost = vhostOf(args);
    const reply = await io.api.request<{ routed?: boolean }>(
      'POST',
      apiPath('exchanges', vhost, exchange === '' ? 'amq.default' : exchange, 'publish'),
      {
        body: {
          properties: props,
          routing_key: optionValue(args, '--routing-key') ?? '',
          ...encodePayload(bytes),
        },
      },
    );
    if (hasFlag(args, '--json')) return printJson(io, reply);
    if (reply?.routed === false)
      io.out(
        `published ${bytes.length} bytes, but NOT routed: no queue is bound for that routing key\n`,
      );
    else io.out(`published ${bytes.length} bytes, routed\n`);
  },
);
