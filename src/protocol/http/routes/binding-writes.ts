import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Binding } from '../../../core/exchange.js';
import type { VirtualHost } from '../../../core/vhost.js';
import { bodyObject, onlyFields, stringField, tableField } from '../body.js';
import type { HttpContext } from '../context.js';
import { notFound } from '../problem.js';
import { propertiesKey } from '../views/binding-view.js';
import { exchangeParam, inVhost, requireVhost } from '../scope.js';
import { synced } from './queue-writes.js';

interface BindingParams {
  vhost: string;
  source: string;
  destination: string;
}
type Kind = 'queue' | 'exchange';

/**
 * Create and delete bindings (RabbitMQ's management API): POST to the pair's collection
 * answers 201 with the new binding's Location (its properties_key); DELETE names one by it.
 */
export function bindingWriteRoutes(app: FastifyInstance, ctx: HttpContext): void {
  for (const [letter, kind] of [
    ['q', 'queue'],
    ['e', 'exchange'],
  ] as const) {
    const base = `/api/bindings/:vhost/e/:source/${letter}/:destination`;
    app.post<{ Params: BindingParams }>(base, (req, reply) =>
      create(ctx, req, reply, kind, letter),
    );
    app.delete<{ Params: BindingParams & { props: string } }>(
      `${base}/:props`,
      async (req, reply) => {
        const { vhost, props } = req.params;
        const source = exchangeParam(req.params.source);
        const destination =
          kind === 'exchange' ? exchangeParam(req.params.destination) : req.params.destination;
        const b = findBinding(requireVhost(ctx, vhost), source, destination, kind, props);
        await inVhost(ctx, req, vhost, (s) =>
          s.unbind(source, destination, kind, b.routingKey, b.arguments),
        );
        await synced(ctx);
        return reply.code(204).send();
      },
    );
  }
}

async function create(
  ctx: HttpContext,
  req: FastifyRequest<{ Params: BindingParams }>,
  reply: FastifyReply,
  kind: Kind,
  letter: 'q' | 'e',
): Promise<FastifyReply> {
  const { vhost } = req.params;
  const source = exchangeParam(req.params.source);
  const destination =
    kind === 'exchange' ? exchangeParam(req.params.destination) : req.params.destination;
  const b = bodyObject(req.body);
  // rabbitmqadmin repeats the path's parts in the body.
  onlyFields(
    b,
    ['routing_key', 'arguments'],
    ['vhost', 'source', 'destination', 'destination_type'],
  );
  const routingKey = stringField(b, 'routing_key', '');
  const args = tableField(b, 'arguments');
  await inVhost(ctx, req, vhost, (s) => s.bind(source, destination, kind, routingKey, args));
  await synced(ctx);
  const key = propertiesKey(routingKey, args);
  const path = [vhost, source || 'amq.default', letter, destination].map(encodeURIComponent);
  return reply
    .code(201)
    .header(
      'location',
      `/api/bindings/${path[0]}/e/${path[1]}/${path[2]}/${path[3]}/${encodeURIComponent(key)}`,
    )
    .send();
}

/**
 * The binding a properties_key names: compared with each binding's own key, and, for one
 * without arguments, with its plain routing key (what a person types).
 */
function findBinding(
  v: VirtualHost,
  source: string,
  destination: string,
  kind: Kind,
  props: string,
): Binding {
  const ex = v.exchanges.get(source);
  const dest = kind === 'queue' ? v.queues.get(destination) : v.exchanges.get(destination);
  const found = ex?.bindings.find(
    (b) =>
      b.destination === dest &&
      (propertiesKey(b.routingKey, b.arguments) === props ||
        (Object.keys(b.arguments).length === 0 && b.routingKey === props)),
  );
  if (found === undefined)
    throw notFound(
      `no binding from exchange '${source || 'amq.default'}' to ${kind} '${destination}' with properties key '${props}' in vhost '${v.name}'`,
    );
  return found;
}
