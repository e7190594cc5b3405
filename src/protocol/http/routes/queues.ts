import type { FastifyInstance } from 'fastify';
import type { Queue } from '../../../core/queue.js';
import type { VirtualHost } from '../../../core/vhost.js';
import type { HttpContext } from '../context.js';
import { itemReply, listReply } from '../listing.js';
import { vhostOf } from '../node.js';
import { notFound } from '../problem.js';
import { ratesFor } from '../rates.js';
import { BINDING_ORDER, vhostBindings } from '../views/binding-view.js';
import { queueView } from '../views/queue-view.js';
import { visibleVhosts } from '../visibility.js';

type QParams = { Params: { vhost: string; queue: string } };

/**
 * GET /api/queues[/{vhost}[/{queue}[/bindings]]]. Direct reply-to endpoints live outside
 * the vhost's queue map, so they are never listed (as RabbitMQ).
 */
export function queueRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const rates = ratesFor(app, ctx);
  const queueOf = (vhost: string, name: string): { v: VirtualHost; q: Queue } => {
    const v = vhostOf(ctx, vhost);
    const q = v.queues.get(name);
    if (q === undefined) throw notFound(`queue '${name}' in vhost '${vhost}' not found`);
    return { v, q };
  };
  const views = (v: VirtualHost) => [...v.queues.values()].map((q) => queueView(q, rates));

  app.get('/api/queues', (req) => listReply(req, visibleVhosts(ctx, req).flatMap(views)));
  app.get<{ Params: { vhost: string } }>('/api/queues/:vhost', (req) =>
    listReply(req, views(vhostOf(ctx, req.params.vhost))),
  );
  app.get<QParams>('/api/queues/:vhost/:queue', (req) =>
    itemReply(req, queueView(queueOf(req.params.vhost, req.params.queue).q, rates)),
  );
  app.get<QParams>('/api/queues/:vhost/:queue/bindings', (req) => {
    const { v, q } = queueOf(req.params.vhost, req.params.queue);
    return listReply(
      req,
      vhostBindings(v).filter((b) => b.destination_type === 'queue' && b.destination === q.name),
      BINDING_ORDER,
    );
  });
}
