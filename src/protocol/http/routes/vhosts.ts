import type { FastifyInstance } from 'fastify';
import type { VirtualHost } from '../../../core/vhost.js';
import type { HttpContext } from '../context.js';
import { itemReply, listReply, type Item } from '../listing.js';
import { VHOST_STAT_NAMES, vhostCounters, withRates } from '../message-stats.js';
import { NODE_NAME, vhostOf } from '../node.js';
import { ratesFor, type Rates } from '../rates.js';
import { listedConnections } from '../views/connection-view.js';
import { visibleVhosts } from '../visibility.js';

/** GET /api/vhosts and /api/vhosts/{vhost}. */
export function vhostRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const rates = ratesFor(app, ctx);
  app.get('/api/vhosts', (req) =>
    listReply(
      req,
      visibleVhosts(ctx, req).map((v) => vhostView(ctx, v, rates)),
      ['name'],
    ),
  );
  // The auth hook has refused a vhost this user may not see (visibility.ts).
  app.get<{ Params: { vhost: string } }>('/api/vhosts/:vhost', (req) =>
    itemReply(req, vhostView(ctx, vhostOf(ctx, req.params.vhost), rates)),
  );
}

function vhostView(ctx: HttpContext, v: VirtualHost, rates: Rates): Item {
  let ready = 0;
  let unacked = 0;
  for (const q of v.queues.values()) {
    ready += q.messageCount;
    unacked += q.unackedCount;
  }
  let recv = 0;
  let send = 0;
  for (const c of listedConnections(ctx.broker))
    if (c.connection.vhost === v) {
      recv += c.details.recvOct;
      send += c.details.sendOct;
    }
  // RabbitMQ creates '/' with this description; Baton's first boot leaves it empty.
  const description = v.description || (v.name === '/' ? 'Default virtual host' : '');
  return {
    name: v.name,
    description,
    tags: [...v.tags],
    metadata: { description, tags: [...v.tags] },
    default_queue_type: 'classic',
    tracing: v.tracing,
    cluster_state: { [NODE_NAME]: 'running' },
    messages: ready + unacked,
    messages_details: rates.details(v, 'messages'),
    messages_ready: ready,
    messages_ready_details: rates.details(v, 'messages_ready'),
    messages_unacknowledged: unacked,
    messages_unacknowledged_details: rates.details(v, 'messages_unacknowledged'),
    recv_oct: recv,
    send_oct: send,
    message_stats: withRates(rates, [[v, vhostCounters(v.stats)]], VHOST_STAT_NAMES),
  };
}
