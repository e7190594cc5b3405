import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HttpContext } from '../context.js';
import { itemReply, listReply, type Item } from '../listing.js';
import { vhostOf } from '../node.js';
import { HttpError, notFound } from '../problem.js';
import { ratesFor } from '../rates.js';
import { requireTag } from '../tags.js';
import { seesConnection, visibleConnections, visibleVhosts } from '../visibility.js';
import {
  channelName,
  channelView,
  connectionView,
  consumerView,
  findConnection,
  listedConnections,
  type Listed,
} from '../views/connection-view.js';

/** RabbitMQ's reason when DELETE /api/connections/{name} has no X-Reason header. */
const DEFAULT_CLOSE_REASON = 'Closed via management plugin';

/**
 * Connections, channels and consumers: GET, and DELETE of a connection. A user without the
 * monitoring tag sees only their own connections and channels (and consumers in the vhosts
 * they have permissions in); closing another user's connection needs administrator.
 */
export function connectionRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const rates = ratesFor(app, ctx);
  const broker = ctx.broker;
  const connectionOf = (req: FastifyRequest, name: string): Listed => {
    const l = findConnection(broker, name);
    if (l === undefined) throw notFound(`connection '${name}' not found`);
    if (!seesConnection(req, l)) throw refused(req, `connection '${name}'`);
    return l;
  };
  const mine = (req: FastifyRequest): Listed[] =>
    visibleConnections(req, listedConnections(broker));
  // Consumers follow the vhost, not the connection: RabbitMQ lists every consumer there.
  const inVisibleVhosts = (req: FastifyRequest): Listed[] => {
    const names = new Set(visibleVhosts(ctx, req).map((v) => v.name));
    return listedConnections(broker).filter((l) => names.has(l.connection.principal.vhost));
  };
  const channels = (conns: Listed[]): Item[] =>
    conns.flatMap((l) => [...l.connection.sessions].map((s) => channelView(l, s)));
  const consumers = (conns: Listed[]): Item[] =>
    conns.flatMap((l) =>
      [...l.connection.sessions].flatMap((s) =>
        [...s.consumers.values()].map((c) => consumerView(l, c)),
      ),
    );
  const inVhost = (vhost: string): Listed[] =>
    listedConnections(broker).filter((l) => l.connection.principal.vhost === vhost);

  app.get('/api/connections', (req) =>
    listReply(
      req,
      mine(req).map((l) => connectionView(l, rates)),
      ['name'],
    ),
  );
  app.get<{ Params: { vhost: string } }>('/api/vhosts/:vhost/connections', (req) => {
    vhostOf(ctx, req.params.vhost);
    return listReply(
      req,
      visibleConnections(req, inVhost(req.params.vhost)).map((l) => connectionView(l, rates)),
      ['name'],
    );
  });
  app.get<{ Params: { name: string } }>('/api/connections/:name', (req) =>
    itemReply(req, connectionView(connectionOf(req, req.params.name), rates)),
  );
  app.get<{ Params: { name: string } }>('/api/connections/:name/channels', (req) =>
    listReply(req, channels([connectionOf(req, req.params.name)]), ['name']),
  );
  app.delete<{ Params: { name: string } }>('/api/connections/:name', (req, reply) => {
    const l = connectionOf(req, req.params.name);
    // Another user's connection: administrator only (monitoring sees it, cannot close it).
    if (l.connection.principal.user !== req.user.name) requireTag(req, 'administrator');
    const header = req.headers['x-reason'];
    const reason = typeof header === 'string' && header !== '' ? header : DEFAULT_CLOSE_REASON;
    broker.closeConnection(l.connection.id, reason);
    return reply.code(204).send();
  });

  app.get('/api/channels', (req) => listReply(req, channels(mine(req)), ['name']));
  app.get<{ Params: { vhost: string } }>('/api/vhosts/:vhost/channels', (req) => {
    vhostOf(ctx, req.params.vhost);
    return listReply(req, channels(visibleConnections(req, inVhost(req.params.vhost))), ['name']);
  });
  app.get<{ Params: { name: string } }>('/api/channels/:name', (req) => {
    for (const l of mine(req))
      for (const s of l.connection.sessions)
        if (channelName(l.details, s) === req.params.name) return itemReply(req, channelView(l, s));
    throw notFound(`channel '${req.params.name}' not found`);
  });

  app.get('/api/consumers', (req) =>
    listReply(req, consumers(inVisibleVhosts(req)), ['queue.vhost', 'queue.name', 'consumer_tag']),
  );
  app.get<{ Params: { vhost: string } }>('/api/consumers/:vhost', (req) => {
    vhostOf(ctx, req.params.vhost);
    return listReply(req, consumers(inVhost(req.params.vhost)), [
      'queue.vhost',
      'queue.name',
      'consumer_tag',
    ]);
  });
}

/** RabbitMQ answers 401 "User not authorised to access object"; the login was right, so 403. */
function refused(req: FastifyRequest, what: string): HttpError {
  return new HttpError(403, `access to ${what} refused for user '${req.user.name}'`);
}
