import { readdir, readFile, statfs } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { cpus, totalmem } from 'node:os';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HttpContext } from '../context.js';
import { itemReply, listReply, type Item } from '../listing.js';
import {
  CHURN_NAMES,
  churnCounters,
  VHOST_STAT_NAMES,
  vhostCounters,
  withRates,
  type Values,
} from '../message-stats.js';
import { CLUSTER_NAME, NODE_NAME, PRODUCT_VERSION, RABBITMQ_COMPAT_VERSION } from '../node.js';
import { notFound } from '../problem.js';
import { ratesFor, type Rates } from '../rates.js';
import { listedConnections } from '../views/connection-view.js';
import { visibleConnections, visibleVhosts } from '../visibility.js';

const EXCHANGE_TYPES = [
  ['direct', 'AMQP direct exchange, as per the AMQP specification'],
  ['fanout', 'AMQP fanout exchange, as per the AMQP specification'],
  ['headers', 'AMQP headers exchange, as per the AMQP specification'],
  ['topic', 'AMQP topic exchange, as per the AMQP specification'],
  ['x-delayed-message', 'Delayed message exchange'],
].map(([name, description]) => ({ name, description, enabled: true }));

/** Listener protocol names as RabbitMQ's overview shows them. */
const LISTENER_PROTOCOL: Record<string, string> = {
  amqp: 'amqp',
  amqps: 'amqp/ssl',
  http: 'http',
  https: 'https',
  prometheus: 'http/prometheus',
};

/** Node facts (memory, disk, descriptors) are for monitoring users, as in RabbitMQ. */
const MONITORING = { config: { tag: 'monitoring' } } as const;

/** GET /api/overview, /api/nodes, /api/whoami, /api/extensions, /api/cluster-name. */
export function overviewRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const rates = ratesFor(app, ctx);
  app.get('/api/overview', (req) => itemReply(req, overview(app, ctx, rates, req)));

  app.get('/api/nodes', MONITORING, async (req) => listReply(req, [await nodeView(ctx)], ['name']));
  app.get<{ Params: { name: string } }>('/api/nodes/:name', MONITORING, async (req) => {
    if (req.params.name !== NODE_NAME) throw notFound(`node '${req.params.name}' not found`);
    return itemReply(req, await nodeView(ctx));
  });

  app.get('/api/whoami', (req) => ({ name: req.user.name, tags: req.user.tags }));
  // RabbitMQ lists its UI plugins' scripts here; Baton's dashboard has none to load.
  app.get('/api/extensions', () => []);
  app.get('/api/cluster-name', () => ({ name: CLUSTER_NAME }));
}

/** The totals cover what the user may see: every vhost for monitoring, else their own. */
function overview(app: FastifyInstance, ctx: HttpContext, rates: Rates, req: FastifyRequest): Item {
  const broker = ctx.broker;
  const vhosts = visibleVhosts(ctx, req);
  const sources: [object, Values][] = [];
  const churn: [object, Values][] = [];
  let queues = 0;
  let exchanges = 0;
  let consumers = 0;
  let ready = 0;
  let unacked = 0;
  for (const v of vhosts) {
    sources.push([v, vhostCounters(v.stats)]);
    churn.push([v, churnCounters(v.stats)]);
    queues += v.queues.size;
    exchanges += v.exchanges.size;
    for (const q of v.queues.values()) {
      consumers += q.consumerCount;
      ready += q.messageCount;
      unacked += q.unackedCount;
    }
  }
  const totalRate = (field: string): { rate: number } => {
    let r = 0;
    for (const v of vhosts) r += rates.rate(v, field);
    return { rate: Math.round(r * 10) / 10 };
  };
  const connections = visibleConnections(req, listedConnections(broker));
  let channels = 0;
  for (const c of connections) channels += c.connection.sessions.size;
  const address = (app.server.address() as AddressInfo | null)?.address ?? ctx.host ?? '';
  return {
    management_version: RABBITMQ_COMPAT_VERSION,
    rabbitmq_version: RABBITMQ_COMPAT_VERSION,
    product_name: 'Baton',
    product_version: PRODUCT_VERSION,
    rates_mode: 'basic',
    sample_retention_policies: {
      global: [600, 3600, 28800, 86400],
      basic: [600, 3600],
      detailed: [600],
    },
    exchange_types: EXCHANGE_TYPES,
    cluster_name: CLUSTER_NAME,
    node: NODE_NAME,
    disable_stats: false,
    enable_queue_totals: false,
    statistics_db_event_queue: 0,
    message_stats: withRates(rates, sources, VHOST_STAT_NAMES),
    churn_rates: withRates(rates, churn, CHURN_NAMES),
    queue_totals: {
      messages: ready + unacked,
      messages_details: totalRate('messages'),
      messages_ready: ready,
      messages_ready_details: totalRate('messages_ready'),
      messages_unacknowledged: unacked,
      messages_unacknowledged_details: totalRate('messages_unacknowledged'),
    },
    object_totals: {
      connections: connections.length,
      channels,
      exchanges,
      queues,
      consumers,
    },
    // Every listener binds the configured host; the HTTP one's address stands for them all.
    listeners: [...ctx.ports]
      .filter(([name]) => LISTENER_PROTOCOL[name] !== undefined)
      .map(([name, port]) => ({
        node: NODE_NAME,
        protocol: LISTENER_PROTOCOL[name],
        ip_address: address,
        port,
        socket_opts: {},
      })),
    contexts: [
      {
        node: NODE_NAME,
        description: 'Baton Management',
        path: '/',
        port: String(ctx.ports.get('http') ?? ''),
      },
      ...(ctx.ports.has('https')
        ? [
            {
              node: NODE_NAME,
              description: 'Baton Management (HTTPS)',
              path: '/',
              port: String(ctx.ports.get('https')),
              ssl: true,
            },
          ]
        : []),
    ],
  };
}

async function nodeView(ctx: HttpContext): Promise<Item> {
  const broker = ctx.broker;
  const monitor = broker.monitor;
  const alarms = broker.alarms;
  const mem = process.memoryUsage.rss();
  const diskFree =
    monitor !== undefined && monitor.diskFree >= 0 ? monitor.diskFree : await freeDisk();
  const fds = await openFds();
  const fdTotal = await fdLimit();
  let sockets = 0;
  for (const c of broker.connections) if (c.details !== undefined) sockets++;
  return {
    name: NODE_NAME,
    type: 'disc',
    running: true,
    being_drained: false,
    uptime: Date.now() - broker.startedAt,
    os_pid: String(process.pid),
    processors: cpus().length,
    rates_mode: 'basic',
    mem_used: mem,
    mem_limit: monitor !== undefined && monitor.memoryLimit > 0 ? monitor.memoryLimit : totalmem(),
    mem_alarm: alarms.active('memory'),
    mem_calculation_strategy: 'rss',
    disk_free: diskFree,
    disk_free_limit: monitor?.diskFreeLimit ?? 0,
    disk_free_alarm: alarms.active('disk') || alarms.active('journal'),
    fd_used: fds,
    fd_total: fdTotal,
    sockets_used: sockets,
    sockets_total: fdTotal,
    // Erlang processes have no Node.js counterpart; active handles and requests stand in.
    proc_used: process.getActiveResourcesInfo().length,
    proc_total: 1_048_576,
    run_queue: 0,
    partitions: [],
    net_ticktime: 60,
    enabled_plugins: ['rabbitmq_management', 'rabbitmq_prometheus'],
    exchange_types: EXCHANGE_TYPES,
    auth_mechanisms: [
      { name: 'PLAIN', description: 'SASL PLAIN authentication mechanism', enabled: true },
      { name: 'AMQPLAIN', description: 'QPid AMQPLAIN mechanism', enabled: true },
    ],
    applications: [{ name: 'baton', description: 'Baton', version: PRODUCT_VERSION }],
  };
}

async function freeDisk(): Promise<number> {
  try {
    const s = await statfs(process.cwd());
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
}

/** Open descriptors (Linux /proc; 0 where there is none). */
async function openFds(): Promise<number> {
  try {
    return (await readdir('/proc/self/fd')).length;
  } catch {
    return 0;
  }
}

/** The open-files limit (Linux /proc/self/limits), as RabbitMQ's fd_total. */
async function fdLimit(): Promise<number> {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(await readFile('/proc/self/limits', 'utf8'));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}
