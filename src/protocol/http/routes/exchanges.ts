import type { FastifyInstance } from 'fastify';
import type { Exchange } from '../../../core/exchange.js';
import type { VirtualHost } from '../../../core/vhost.js';
import type { HttpContext } from '../context.js';
import { itemReply, listReply } from '../listing.js';
import { vhostOf } from '../node.js';
import { notFound } from '../problem.js';
import { BINDING_ORDER, vhostBindings } from '../views/binding-view.js';
import { exchangeView } from '../views/exchange-view.js';
import { visibleVhosts } from '../visibility.js';

type XParams = { Params: { vhost: string; exchange: string } };

/** GET /api/exchanges[/{vhost}[/{exchange}[/bindings/source|destination]]]. */
export function exchangeRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const exchangeOf = (vhost: string, name: string): { v: VirtualHost; x: Exchange } => {
    const v = vhostOf(ctx, vhost);
    // RabbitMQ's paths name the default exchange amq.default.
    const x = v.exchanges.get(name === 'amq.default' ? '' : name);
    if (x === undefined) throw notFound(`exchange '${name}' in vhost '${vhost}' not found`);
    return { v, x };
  };
  const views = (v: VirtualHost) => [...v.exchanges.values()].map((x) => exchangeView(v.name, x));

  app.get('/api/exchanges', (req) => listReply(req, visibleVhosts(ctx, req).flatMap(views)));
  app.get<{ Params: { vhost: string } }>('/api/exchanges/:vhost', (req) =>
    listReply(req, views(vhostOf(ctx, req.params.vhost))),
  );
  app.get<XParams>('/api/exchanges/:vhost/:exchange', (req) => {
    const { v, x } = exchangeOf(req.params.vhost, req.params.exchange);
    return itemReply(req, exchangeView(v.name, x));
  });
  app.get<XParams>('/api/exchanges/:vhost/:exchange/bindings/source', (req) => {
    const { v, x } = exchangeOf(req.params.vhost, req.params.exchange);
    return listReply(
      req,
      vhostBindings(v).filter((b) => b.source === x.name),
      BINDING_ORDER,
    );
  });
  app.get<XParams>('/api/exchanges/:vhost/:exchange/bindings/destination', (req) => {
    const { v, x } = exchangeOf(req.params.vhost, req.params.exchange);
    return listReply(
      req,
      vhostBindings(v).filter((b) => b.destination_type === 'exchange' && b.destination === x.name),
      BINDING_ORDER,
    );
  });
}
