import type { FastifyInstance } from 'fastify';
import { bodyObject, boolField, onlyFields, stringField, tableField } from '../body.js';
import type { HttpContext } from '../context.js';
import { exchangeParam, inVhost, requireExchange, requireVhost } from '../scope.js';
import { checkName, synced } from './queue-writes.js';

interface ExchangeParams {
  vhost: string;
  exchange: string;
}

/** Declare and delete exchanges (RabbitMQ's management API) through a core session. */
export function exchangeWriteRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.put<{ Params: ExchangeParams }>('/api/exchanges/:vhost/:exchange', async (req, reply) => {
    const { vhost } = req.params;
    const name = exchangeParam(req.params.exchange);
    const b = bodyObject(req.body);
    onlyFields(b, ['type', 'durable', 'auto_delete', 'internal', 'arguments'], ['name', 'vhost']);
    checkName('exchange', name);
    // The exchange.declare record's defaults, as RabbitMQ's PUT uses them.
    const type = stringField(b, 'type', 'direct');
    const options = {
      durable: boolField(b, 'durable', false),
      autoDelete: boolField(b, 'auto_delete', false),
      internal: boolField(b, 'internal', false),
      arguments: tableField(b, 'arguments'),
    };
    const existed = requireVhost(ctx, vhost).exchanges.has(name);
    await inVhost(ctx, req, vhost, (s) => s.declareExchange(name, type, options));
    await synced(ctx);
    return reply.code(existed ? 204 : 201).send();
  });

  app.delete<{ Params: ExchangeParams; Querystring: Record<string, string> }>(
    '/api/exchanges/:vhost/:exchange',
    async (req, reply) => {
      const { vhost } = req.params;
      const name = exchangeParam(req.params.exchange);
      const v = requireVhost(ctx, vhost);
      // The built-in ones exist, so the core's refusal (403) names them.
      if (name !== '' && !name.startsWith('amq.')) requireExchange(v, name);
      await inVhost(ctx, req, vhost, (s) =>
        s.deleteExchange(name, req.query['if-unused'] === 'true'),
      );
      await synced(ctx);
      return reply.code(204).send();
    },
  );
}
