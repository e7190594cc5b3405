import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Broker } from '../../core/broker.js';
import type { ProtocolAdapter } from '../adapter.js';
import { CONTENT_TYPE, Exposition } from './exposition.js';
import { nodeFacts } from './node-facts.js';
import {
  churn,
  identityInfo,
  QUEUE_FAMILIES,
  queueMetrics,
  writeAll,
} from './prometheus-metrics.js';

export interface PrometheusOptions {
  host: string;
  port: number;
  /** The data directory: the filesystem whose free space is reported. */
  dataDir: string;
}

/** Families /metrics/detailed serves (RabbitMQ's names), beyond the per-queue ones. */
const DETAILED_FAMILIES: readonly string[] = [...QUEUE_FAMILIES, 'connection_churn_metrics'];

/**
 * The Prometheus endpoint, as RabbitMQ's rabbitmq_prometheus plugin serves it: GET /metrics
 * and /metrics/per-object (both per object: each queue's metrics labelled {vhost, queue}, as
 * RabbitMQ with prometheus.return_per_object_metrics = true), and /metrics/detailed with
 * `family` and `vhost` query parameters (prefix rabbitmq_detailed_). Every figure is read at
 * scrape time from the core's counters: a scrape costs the broker nothing between scrapes.
 */
export function prometheusAdapter(options: PrometheusOptions): ProtocolAdapter {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  return {
    name: 'prometheus',
    async start(broker: Broker, logger: Logger) {
      const log = logger.child({ protocol: 'prometheus' });
      server = createServer((req, res) => {
        serve(broker, options.dataDir, req, res).catch((err: unknown) => {
          log.error({ err, url: req.url }, 'metrics scrape failed');
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('metrics scrape failed\n');
        });
      });
      server.requestTimeout = 30_000;
      server.on('connection', (s: Socket) => {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
      });
      const srv = server;
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(options.port, options.host, () => {
          srv.off('error', reject);
          resolve();
        });
      });
      const a = srv.address() as AddressInfo;
      return { host: a.address, port: a.port };
    },
    async stop() {
      const srv = server;
      server = undefined;
      if (srv === undefined) return;
      const closed = new Promise<void>((resolve) => srv.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

async function serve(
  broker: Broker,
  dataDir: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const path = url.pathname.replace(/\/+$/, '');
  const endpoint = ENDPOINTS[path];
  if (endpoint === undefined) return plain(res, 404, `no such endpoint: ${url.pathname}\n`);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return plain(res, 405, `method ${req.method} not allowed on ${url.pathname}\n`);
  }
  const x = new Exposition();
  const facts = await nodeFacts(broker, dataDir);
  if (endpoint === 'detailed') {
    const refused = detailed(x, broker, url.searchParams);
    if (refused !== undefined) return plain(res, 400, refused);
    identityInfo(x, facts, endpoint);
  } else writeAll(x, broker, facts, endpoint);
  const body = x.toString();
  res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}

const ENDPOINTS: Readonly<Record<string, 'default' | 'per-object' | 'detailed'>> = {
  '/metrics': 'default',
  '/metrics/per-object': 'per-object',
  '/metrics/detailed': 'detailed',
};

/**
 * /metrics/detailed?family=…&vhost=…: only the families asked for (none: identity only),
 * of the vhosts asked for (none: all). An unknown family or parameter is refused.
 */
function detailed(x: Exposition, broker: Broker, params: URLSearchParams): string | undefined {
  for (const key of params.keys())
    if (key !== 'family' && key !== 'vhost')
      return `unknown query parameter '${key}': /metrics/detailed takes family and vhost\n`;
  const families = params.getAll('family');
  for (const f of families)
    if (!DETAILED_FAMILIES.includes(f))
      return `unknown or unsupported metric family '${f}'; Baton serves ${DETAILED_FAMILIES.join(', ')}\n`;
  const vhosts = params.getAll('vhost');
  const only = vhosts.length === 0 ? undefined : new Set(vhosts);
  const queueFamilies = QUEUE_FAMILIES.filter((f) => families.includes(f));
  queueMetrics(x, broker, 'rabbitmq_detailed_', queueFamilies, only);
  if (families.includes('connection_churn_metrics')) churn(x, broker.stats(), 'rabbitmq_detailed_');
  return undefined;
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
}
