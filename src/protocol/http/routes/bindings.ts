import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HttpContext } from '../context.js';
import { itemReply, listReply, type Item } from '../listing.js';
import { vhostOf } from '../node.js';
import { notFound } from '../problem.js';
import { BINDING_ORDER, vhostBindings } from '../views/binding-view.js';
import { visibleVhosts } from '../visibility.js';

type EndParams = { Params: { vhost: string; source: string; destination: string } };
type OneParams = { Params: EndParams['Params'] & { props: string } };

/** GET /api/bindings[/{vhost}[/e/{source}/q|e/{destination}]]. */
export function bindingRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.get('/api/bindings', (req) =>
    listReply(req, visibleVhosts(ctx, req).flatMap(vhostBindings), BINDING_ORDER),
  );
  app.get<{ Params: { vhost: string } }>('/api/bindings/:vhost', (req) =>
    listReply(req, vhostBindings(vhostOf(ctx, req.params.vhost)), BINDING_ORDER),
  );
  for (const [char, type] of [
    ['q', 'queue'],
    ['e', 'exchange'],
  ] as const) {
    const between = (req: FastifyRequest<EndParams>): Item[] => {
      const v = vhostOf(ctx, req.params.vhost);
      const source = req.params.source === 'amq.default' ? '' : req.params.source;
      if (!v.exchanges.has(source))
        throw notFound(`exchange '${req.params.source}' in vhost '${v.name}' not found`);
      const dest = req.params.destination;
      if (type === 'queue' ? !v.queues.has(dest) : !v.exchanges.has(dest))
        throw notFound(`${type} '${dest}' in vhost '${v.name}' not found`);
      return vhostBindings(v).filter(
        (b) => b.source === source && b.destination_type === type && b.destination === dest,
      );
    };
    const path = `/api/bindings/:vhost/e/:source/${char}/:destination`;
    app.get<EndParams>(path, (req) => listReply(req, between(req), BINDING_ORDER));
    app.get<OneParams>(`${path}/:props`, (req) => {
      // The path segment arrives URL-decoded; the key is URL-quoted: either form names it.
      const props = req.params.props;
      const b = between(req).find(
        (x) => x.properties_key === props || decodeURIComponent(String(x.properties_key)) === props,
      );
      if (b === undefined) throw notFound(`binding '${props}' not found`);
      return itemReply(req, b);
    });
  }
}
