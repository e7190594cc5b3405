import type { FastifyInstance, FastifyReply } from 'fastify';
import { Message } from '../../../core/message.js';
import { withSession, type HttpContext } from '../context.js';
import { NODE_NAME, vhostOf } from '../node.js';
import { badRequest } from '../problem.js';

/** The queue RabbitMQ's aliveness test declares, publishes to and reads from. */
const ALIVENESS_QUEUE = 'aliveness-test';
const ALIVENESS_BODY = 'test_message';

/** Protocol names a listener check accepts, as RabbitMQ normalises them. */
const PROTOCOL_ALIASES: Record<string, string> = {
  amqp: 'amqp',
  amqp091: 'amqp',
  'amqp0.9.1': 'amqp',
  'amqp0-9-1': 'amqp',
  amqps: 'amqps',
  'amqp/ssl': 'amqps',
  http: 'http',
  https: 'https',
  'http/prometheus': 'prometheus',
  prometheus: 'prometheus',
};

/**
 * RabbitMQ's health checks: 200 {status: 'ok'} or 503 {status: 'failed', reason}; and the
 * aliveness test (declare, publish, get on a queue of its own through the core's door).
 */
export function healthRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const broker = ctx.broker;
  const alarms = (_req: unknown, reply: FastifyReply) => {
    const on = (['memory', 'disk', 'journal'] as const).filter((s) => broker.alarms.active(s));
    if (on.length === 0) return { status: 'ok' };
    return failed(reply, 'There are alarms in effect in the cluster', {
      alarms: on.map((s) => ({ node: NODE_NAME, resource: s === 'memory' ? 'memory' : 'disk' })),
    });
  };
  app.get('/api/health/checks/alarms', alarms);
  app.get('/api/health/checks/local-alarms', alarms);
  // Every vhost of a single node runs in the process: none can be down alone.
  app.get('/api/health/checks/virtual-hosts', () => ({ status: 'ok' }));
  // A single node holds no quorum or mirror another node depends on.
  app.get('/api/health/checks/node-is-quorum-critical', () => ({ status: 'ok' }));
  app.get('/api/health/checks/node-is-mirror-sync-critical', () => ({ status: 'ok' }));

  app.get<{ Params: { port: string } }>('/api/health/checks/port-listener/:port', (req, reply) => {
    const port = Number(req.params.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw badRequest(`port must be a number from 1 to 65535, got '${req.params.port}'`);
    const ports = [...ctx.ports.values()];
    if (ports.includes(port)) return { status: 'ok', port };
    return failed(reply, `No active listener on port ${port}`, { missing: port, ports });
  });

  app.get<{ Params: { protocol: string } }>(
    '/api/health/checks/protocol-listener/:protocol',
    (req, reply) => {
      const asked = req.params.protocol.toLowerCase();
      const protocol = PROTOCOL_ALIASES[asked] ?? asked;
      const protocols = [...ctx.ports.keys()].filter((p) => p !== 'control');
      if (protocols.includes(protocol)) return { status: 'ok', protocol: asked };
      return failed(reply, `No active listener for protocol ${asked}`, {
        missing: asked,
        protocols,
      });
    },
  );

  app.get<{ Params: { vhost: string } }>('/api/aliveness-test/:vhost', async (req, reply) => {
    const v = vhostOf(ctx, req.params.vhost);
    const ok = await withSession(ctx, req.user, req.socket.remoteAddress, v.name, async (s) => {
      s.declareQueue(ALIVENESS_QUEUE, { durable: false });
      const message = new Message(
        '',
        ALIVENESS_QUEUE,
        broker.properties.encode({}),
        Buffer.from(ALIVENESS_BODY),
        false,
      );
      s.publish('', ALIVENESS_QUEUE, message);
      const d = await s.getOrWait(ALIVENESS_QUEUE, true);
      return d?.message.body?.toString() === ALIVENESS_BODY;
    });
    if (ok) return { status: 'ok' };
    return failed(reply, 'aliveness test failed: the test message did not come back');
  });
}

function failed(reply: FastifyReply, reason: string, extra: Record<string, unknown> = {}) {
  return reply.code(503).send({ status: 'failed', reason, ...extra });
}
