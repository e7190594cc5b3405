import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fastify, LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Broker } from '../../core/broker.js';
import type { TlsSettings } from '../../tls.js';
import type { ProtocolAdapter } from '../adapter.js';
import { basicAuth } from './auth.js';
import type { HttpContext } from './context.js';
import { sendProblem, toProblem } from './problem.js';
import { ROUTE_GROUPS } from './routes/index.js';

export interface ManagementOptions {
  host: string;
  port: number;
  /** The server's bound ports, filled as listeners start (shown by /api/overview). */
  ports: ReadonlyMap<string, number>;
  /** The app the HTTP and HTTPS listeners share; one of its own when not given. */
  app?: ManagementApp;
}

/**
 * One management app for the HTTP and HTTPS listeners (one set of rate samplers): built by
 * the first listener to start, closed by the last to stop.
 */
export class ManagementApp {
  private readonly ports: ReadonlyMap<string, number>;
  private readonly host: string;
  private app: Promise<FastifyInstance> | undefined;
  private users = 0;

  constructor(ports: ReadonlyMap<string, number>, host: string) {
    this.ports = ports;
    this.host = host;
  }

  open(broker: Broker, logger: Logger): Promise<FastifyInstance> {
    this.users++;
    this.app ??= buildManagementApp({ broker, logger, ports: this.ports, host: this.host });
    return this.app;
  }

  async close(): Promise<void> {
    if (this.users === 0 || --this.users > 0 || this.app === undefined) return;
    const app = this.app;
    this.app = undefined;
    await (await app).close();
  }
}

/** Largest request body (definitions imports, HTTP publishes); RabbitMQ's default is 20 MB. */
export const MAX_BODY = 20_000_000;
/** A request must arrive whole within this; a slow or stalled client is cut off. */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Builds the management app without listening (tests may inject into it). A request must
 * arrive whole within `requestTimeoutMs`; once it has, the answer may take as long as the work
 * does (a redrive of millions), so there is no idle cut while it runs.
 */
export async function buildManagementApp(
  ctx: HttpContext,
  requestTimeoutMs = REQUEST_TIMEOUT_MS,
): Promise<FastifyInstance> {
  // Fastify's own logger only for its warnings; requests are not logged one by one.
  const log: FastifyBaseLogger = ctx.logger.child({ protocol: 'http' }, { level: 'warn' });
  const app = fastify({
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_BODY,
    requestTimeout: requestTimeoutMs,
    connectionTimeout: 0,
    keepAliveTimeout: 5_000,
    // Node checks the request timeout on this interval (30 s by default, too coarse).
    http: {
      headersTimeout: requestTimeoutMs,
      connectionsCheckingInterval: Math.min(1000, requestTimeoutMs),
    },
    return503OnClosing: true,
    forceCloseConnections: true,
    // %2F in a path is RabbitMQ's default vhost ('/'): keep it one segment.
    // Names may be 255 bytes, up to three times that URL-encoded.
    routerOptions: {
      ignoreTrailingSlash: true,
      ignoreDuplicateSlashes: false,
      maxParamLength: 1024,
    },
  });
  // RabbitMQ reads every body as JSON whatever its content type (curl -d sends form type).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      // V8's message quotes the text around the fault, which may be a password: only where.
      const at = /at position (\d+)/.exec((err as Error).message)?.[1];
      const e = new Error(
        `request body is not JSON${at === undefined ? '' : ` (at position ${at})`}`,
      ) as Error & { statusCode: number };
      e.statusCode = 400;
      done(e, undefined);
    }
  });
  app.setErrorHandler((err, req, reply) => {
    toProblem(err, reply);
    if (reply.statusCode >= 500)
      ctx.logger.error({ err, method: req.method, url: req.url }, 'management API request failed');
    return reply;
  });
  app.setNotFoundHandler((req, reply) =>
    sendProblem(
      reply,
      404,
      `no such endpoint: ${req.method} ${req.url.split('?')[0]}`,
      'Object Not Found',
    ),
  );
  app.addHook('onRequest', basicAuth(ctx));
  for (const group of ROUTE_GROUPS) group(app, ctx);
  await app.ready();
  return app;
}

/** The management HTTP API (and dashboard) as a listener server.ts starts and stops. */
export function managementAdapter(options: ManagementOptions): ProtocolAdapter {
  const shared = options.app ?? new ManagementApp(options.ports, options.host);
  let started = false;
  return {
    name: 'http',
    async start(broker: Broker, logger: Logger) {
      started = true;
      const app = await shared.open(broker, logger);
      await app.listen({ host: options.host, port: options.port });
      const a = app.server.address() as AddressInfo;
      return { host: a.address, port: a.port };
    },
    async stop() {
      if (started) await shared.close();
      started = false;
    },
  };
}

/**
 * The management app over TLS ('https'): an https server of its own handing requests to the
 * shared app's router. Client certificates are not asked for (basic auth, as over HTTP).
 */
export function managementTlsAdapter(
  options: ManagementOptions & { app: ManagementApp; tls: TlsSettings },
): ProtocolAdapter {
  let server: HttpsServer | undefined;
  return {
    name: 'https',
    async start(broker: Broker, logger: Logger) {
      const app = await options.app.open(broker, logger);
      const { requestCert: _r, rejectUnauthorized: _u, ...tls } = options.tls.options;
      // The same request limits as fastify puts on its own server (buildManagementApp).
      const srv = createHttpsServer(
        {
          ...tls,
          requestTimeout: REQUEST_TIMEOUT_MS,
          headersTimeout: REQUEST_TIMEOUT_MS,
          keepAliveTimeout: 5_000,
          connectionsCheckingInterval: 1000,
        },
        (req, res) => app.routing(req, res),
      );
      server = srv;
      srv.on('tlsClientError', (err) =>
        logger.debug({ err: err.message }, `https: TLS handshake failed: ${err.message}`),
      );
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(options.port, options.host, () => {
          srv.off('error', reject);
          resolve();
        });
      });
      srv.on('error', (err) => logger.error({ err }, 'https listener error'));
      const a = srv.address() as AddressInfo;
      return { host: a.address, port: a.port };
    },
    async stop() {
      const srv = server;
      if (srv === undefined) return;
      server = undefined;
      const closed = new Promise<void>((resolve) => srv.close(() => resolve()));
      srv.closeAllConnections();
      await closed;
      await options.app.close();
    },
  };
}
