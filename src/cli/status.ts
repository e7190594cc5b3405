import { apiPath } from './api-client.js';
import { hasFlag } from './args.js';
import { defineCommand, JSON_OPTION, printJson } from './command.js';
import { ApiError } from './errors.js';
import { journalLines, type JournalHealth } from './journal-summary.js';
import { rate } from './table.js';

type Obj = Record<string, unknown>;
type Details = { rate?: number };

/** The parts of GET /api/overview that status shows (RabbitMQ's field names). */
interface Overview {
  product_name?: string;
  product_version?: string;
  rabbitmq_version?: string;
  node?: string;
  listeners?: { protocol?: string; ip_address?: string; port?: number }[];
  object_totals?: Record<string, number>;
  queue_totals?: { messages?: number; messages_ready?: number; messages_unacknowledged?: number };
  message_stats?: Record<string, Details | number>;
}

interface NodeInfo {
  name?: string;
  uptime?: number;
  mem_alarm?: boolean;
  disk_free_alarm?: boolean;
}

/** "3d 4h", "2h 5m", "42s": uptime in milliseconds, as /api/nodes gives it. */
export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

const plural = (n: number, word: string): string =>
  `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

/** The alarms the node reports (RabbitMQ's two, and any failed health check reason). */
function alarms(
  nodes: NodeInfo[],
  health: string | undefined,
  journal: JournalHealth | undefined,
): string[] {
  // Baton names its alarms (memory, disk, journal); RabbitMQ's node flags have only two.
  if (journal?.alarms !== undefined) return journal.alarms.map((a) => `${a} alarm`);
  const out: string[] = [];
  for (const n of nodes) {
    if (n.mem_alarm === true) out.push(`memory alarm on ${n.name ?? 'node'}`);
    if (n.disk_free_alarm === true) out.push(`disk free alarm on ${n.name ?? 'node'}`);
  }
  if (health !== undefined && out.length === 0) out.push(health);
  return out;
}

const host = (ip: string | undefined): string =>
  ip === undefined ? '' : ip.includes(':') ? `[${ip}]` : ip;

/** The status report for people. */
export function describeStatus(
  o: Overview,
  nodes: NodeInfo[],
  alarmList: string[],
  journal: JournalHealth | undefined,
): string {
  const lines: [string, string][] = [];
  const version = o.product_version ?? o.rabbitmq_version ?? '?';
  const node = nodes[0];
  let head = `${o.product_name ?? 'Baton'} ${version}`;
  if (o.node !== undefined) head += ` on ${o.node}`;
  if (typeof node?.uptime === 'number') head += `, up ${duration(node.uptime)}`;
  const listeners = (o.listeners ?? []).map(
    (l) => `${l.protocol ?? '?'} ${host(l.ip_address)}:${l.port ?? '?'}`,
  );
  lines.push(['listeners', listeners.length > 0 ? listeners.join(', ') : 'none reported']);
  const t = o.object_totals ?? {};
  lines.push([
    'objects',
    ['connection', 'channel', 'queue', 'exchange', 'consumer']
      .map((w) => plural(t[`${w}s`] ?? 0, w))
      .join(', '),
  ]);
  const q = o.queue_totals ?? {};
  lines.push([
    'messages',
    `${plural(q.messages ?? 0, 'message')} (${(q.messages_ready ?? 0).toLocaleString('en-US')} ready, ${(q.messages_unacknowledged ?? 0).toLocaleString('en-US')} unacked)`,
  ]);
  const ms = o.message_stats ?? {};
  const rates = [
    ['publish', 'publish_details'],
    ['deliver', 'deliver_get_details'],
    ['ack', 'ack_details'],
    ['confirm', 'confirm_details'],
    ['redeliver', 'redeliver_details'],
  ]
    .map(([label, key]) => [label, rate(ms[key!] as Details | undefined)] as const)
    .filter(([, r]) => r !== undefined)
    .map(([label, r]) => `${label} ${r}`);
  lines.push(['rates', rates.length > 0 ? rates.join(', ') : 'none yet']);
  lines.push(['alarms', alarmList.length > 0 ? alarmList.join('; ') : 'none']);
  if (journal !== undefined) lines.push(...journalLines(journal));
  const w = Math.max(...lines.map(([k]) => k.length));
  return [head, ...lines.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`)].join('\n');
}

export const STATUS = defineCommand(
  {
    name: 'status',
    args: '',
    positionals: [0, 0],
    summary: 'Broker overview: version, uptime, listeners, totals, rates, alarms, journal health',
    description:
      "GET /api/overview, /api/nodes, /api/health/checks/alarms and Baton's /api/baton/journal.",
    options: [JSON_OPTION],
  },
  async (io, args) => {
    const [overview, nodes, health, journal] = await Promise.all([
      io.api.get<Overview>(apiPath('overview')),
      io.api.get<NodeInfo[]>(apiPath('nodes'), { allowNotFound: true }),
      // 503 with a reason when an alarm is in effect (RabbitMQ's health check).
      io.api.get<Obj>('/api/health/checks/alarms', { allowNotFound: true }).then(
        () => undefined,
        (e: unknown) => {
          if (e instanceof ApiError && e.status === 503) return e.message;
          throw e;
        },
      ),
      io.api.get<JournalHealth>('/api/baton/journal', { allowNotFound: true }),
    ]);
    const alarmList = alarms(nodes ?? [], health, journal);
    if (hasFlag(args, '--json'))
      return printJson(io, {
        overview,
        nodes: nodes ?? [],
        alarms: alarmList,
        journal: journal ?? null,
      });
    io.out(`${describeStatus(overview, nodes ?? [], alarmList, journal)}\n`);
  },
);
