import { apiPath } from './api-client.js';
import type { ParsedArgs } from './args.js';
import {
  defineCommand,
  JSON_OPTION,
  printJson,
  VHOST_OPTION,
  type Command,
  type CommandIo,
} from './command.js';
import { ApiError, CliError } from './errors.js';
import { rate, renderTable, type Column } from './table.js';

type Row = Record<string, unknown>;
type Details = { rate?: number } | undefined;

const str = (v: unknown): string | undefined => {
  if (v === undefined || v === null) return undefined;
  return typeof v === 'object' ? JSON.stringify(v) : `${v as string | number | boolean}`;
};
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const bool = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
const stat = (r: Row, key: string): Details =>
  (r.message_stats as Record<string, Details> | undefined)?.[key];
const sub = (r: Row, key: string): Row => (r[key] ?? {}) as Row;

/** One `baton <things> list` command: where its rows come from and which columns people see. */
interface Listing {
  things: string;
  summary: string;
  /** The API path for all vhosts ('queues' → /api/queues). */
  path: string;
  /** Narrow by vhost with the path /api/<path>/<vhost> (else by each row's `vhost` field). */
  vhostPath: boolean;
  columns: Column<Row>[];
  noVhostOption?: boolean;
}

const vhostColumn: Column<Row> = { title: 'vhost', cell: (r) => str(r.vhost) };

const LISTINGS: Listing[] = [
  {
    things: 'queues',
    summary: 'List queues with their depth, consumers and rates',
    path: 'queues',
    vhostPath: true,
    columns: [
      { title: 'name', cell: (r) => str(r.name) },
      { title: 'type', cell: (r) => str(r.type) },
      { title: 'durable', cell: (r) => bool(r.durable) },
      { title: 'messages', cell: (r) => num(r.messages), numeric: true },
      { title: 'ready', cell: (r) => num(r.messages_ready), numeric: true },
      { title: 'unacked', cell: (r) => num(r.messages_unacknowledged), numeric: true },
      { title: 'consumers', cell: (r) => num(r.consumers), numeric: true },
      { title: 'publish', cell: (r) => rate(stat(r, 'publish_details')), numeric: true },
      { title: 'deliver', cell: (r) => rate(stat(r, 'deliver_get_details')), numeric: true },
    ],
  },
  {
    things: 'exchanges',
    summary: 'List exchanges with their type and rates',
    path: 'exchanges',
    vhostPath: true,
    columns: [
      { title: 'name', cell: (r) => (r.name === '' ? '(AMQP default)' : str(r.name)) },
      { title: 'type', cell: (r) => str(r.type) },
      { title: 'durable', cell: (r) => bool(r.durable) },
      { title: 'auto delete', cell: (r) => bool(r.auto_delete) },
      { title: 'internal', cell: (r) => bool(r.internal) },
      { title: 'publish in', cell: (r) => rate(stat(r, 'publish_in_details')), numeric: true },
      { title: 'publish out', cell: (r) => rate(stat(r, 'publish_out_details')), numeric: true },
    ],
  },
  {
    things: 'bindings',
    summary: 'List bindings: source exchange, destination, routing key',
    path: 'bindings',
    vhostPath: true,
    columns: [
      { title: 'source', cell: (r) => (r.source === '' ? '(AMQP default)' : str(r.source)) },
      { title: 'destination', cell: (r) => str(r.destination) },
      { title: 'type', cell: (r) => str(r.destination_type) },
      { title: 'routing key', cell: (r) => str(r.routing_key) },
      {
        title: 'arguments',
        cell: (r) =>
          r.arguments && Object.keys(r.arguments).length > 0 ? JSON.stringify(r.arguments) : '',
      },
    ],
  },
  {
    things: 'connections',
    summary: 'List client connections: peer, user, channels, traffic',
    path: 'connections',
    vhostPath: false,
    columns: [
      { title: 'name', cell: (r) => str(r.name) },
      { title: 'user', cell: (r) => str(r.user) },
      { title: 'protocol', cell: (r) => str(r.protocol) },
      { title: 'state', cell: (r) => str(r.state) },
      { title: 'channels', cell: (r) => num(r.channels), numeric: true },
      {
        title: 'client',
        cell: (r) =>
          str(sub(r, 'client_properties').connection_name ?? sub(r, 'client_properties').product),
      },
      { title: 'recv', cell: (r) => byteRate(r.recv_oct_details as Details), numeric: true },
      { title: 'send', cell: (r) => byteRate(r.send_oct_details as Details), numeric: true },
    ],
  },
  {
    things: 'channels',
    summary: 'List channels: prefetch, unacked messages, consumers',
    path: 'channels',
    vhostPath: false,
    columns: [
      { title: 'name', cell: (r) => str(r.name) },
      { title: 'user', cell: (r) => str(r.user) },
      {
        title: 'mode',
        cell: (r) => (r.transactional === true ? 'tx' : r.confirm === true ? 'confirm' : ''),
      },
      { title: 'state', cell: (r) => str(r.state) },
      { title: 'prefetch', cell: (r) => num(r.prefetch_count), numeric: true },
      { title: 'unacked', cell: (r) => num(r.messages_unacknowledged), numeric: true },
      { title: 'consumers', cell: (r) => num(r.consumer_count), numeric: true },
    ],
  },
  {
    things: 'consumers',
    summary: 'List consumers: queue, tag, channel, ack mode, prefetch',
    path: 'consumers',
    vhostPath: true,
    columns: [
      { title: 'queue', cell: (r) => str(sub(r, 'queue').name) },
      { title: 'consumer tag', cell: (r) => str(r.consumer_tag) },
      { title: 'channel', cell: (r) => str(sub(r, 'channel_details').name) },
      {
        title: 'ack',
        cell: (r) =>
          r.ack_required === false ? 'auto' : r.ack_required === true ? 'manual' : undefined,
      },
      { title: 'exclusive', cell: (r) => bool(r.exclusive) },
      { title: 'prefetch', cell: (r) => num(r.prefetch_count), numeric: true },
    ],
  },
  {
    things: 'vhosts',
    summary: 'List virtual hosts with their message totals',
    path: 'vhosts',
    vhostPath: false,
    noVhostOption: true,
    columns: [
      { title: 'name', cell: (r) => str(r.name) },
      { title: 'messages', cell: (r) => num(r.messages), numeric: true },
      { title: 'ready', cell: (r) => num(r.messages_ready), numeric: true },
      { title: 'unacked', cell: (r) => num(r.messages_unacknowledged), numeric: true },
      { title: 'tracing', cell: (r) => bool(r.tracing) },
      { title: 'publish', cell: (r) => rate(stat(r, 'publish_details')), numeric: true },
      { title: 'deliver', cell: (r) => rate(stat(r, 'deliver_get_details')), numeric: true },
    ],
  },
];

function byteRate(d: Details): string | undefined {
  const r = d?.rate;
  if (typeof r !== 'number') return undefined;
  if (r < 1024) return `${Math.round(r)} B/s`;
  if (r < 1024 * 1024) return `${(r / 1024).toFixed(1)} KiB/s`;
  return `${(r / 1024 / 1024).toFixed(1)} MiB/s`;
}

async function list(l: Listing, io: CommandIo, args: ParsedArgs): Promise<void> {
  const vhost = args.options.get('--vhost')?.at(-1);
  let rows: Row[];
  try {
    rows = await io.api.get<Row[]>(
      vhost !== undefined && l.vhostPath ? apiPath(l.path, vhost) : apiPath(l.path),
    );
  } catch (e) {
    if (e instanceof ApiError && e.status === 404 && vhost !== undefined)
      throw new CliError(`no vhost '${vhost}' (${e.message})`);
    throw e;
  }
  if (vhost !== undefined && !l.vhostPath) rows = rows.filter((r) => r.vhost === vhost);
  if (args.options.has('--json')) return printJson(io, rows);
  // The vhost column only says something when the listing spans more than one.
  const spans = vhost === undefined && new Set(rows.map((r) => r.vhost)).size > 1;
  const columns = spans && l.noVhostOption !== true ? [vhostColumn, ...l.columns] : l.columns;
  io.out(`${renderTable(columns, rows, io.width)}\n`);
}

export const LIST_COMMANDS: Command[] = LISTINGS.map((l) =>
  defineCommand(
    {
      name: `${l.things} list`,
      args: '',
      positionals: [0, 0],
      summary: l.summary,
      description: `Columns are chosen for people; --json prints GET /api/${l.path} as the API returns it.`,
      options:
        l.noVhostOption === true
          ? [JSON_OPTION]
          : [{ ...VHOST_OPTION, help: 'Only this virtual host (default: all)' }, JSON_OPTION],
    },
    (io, args) => list(l, io, args),
  ),
);
