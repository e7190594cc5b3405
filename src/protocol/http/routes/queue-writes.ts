import type { FastifyInstance } from 'fastify';
import type { RedriveOptions } from '../../../core/redrive.js';
import { bodyObject, boolField, intField, onlyFields, stringField, tableField } from '../body.js';
import type { HttpContext } from '../context.js';
import { badRequest, HttpError } from '../problem.js';
import { inVhost, requireQueue, requireVhost } from '../scope.js';

interface QueueParams {
  vhost: string;
  queue: string;
}

/** AMQP 0-9-1 names are short strings: at most 255 bytes (RabbitMQ checks it before declaring). */
export function checkName(kind: 'queue' | 'exchange', name: string): void {
  if (Buffer.byteLength(name) > 255)
    throw badRequest(`${kind} name '${name.slice(0, 40)}…' is longer than 255 bytes`);
}

/**
 * Declare, delete, purge and redrive queues (RabbitMQ's management API, plus Baton's redrive):
 * each through a core session, so the rules AMQP clients meet apply here too.
 */
export function queueWriteRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.put<{ Params: QueueParams }>('/api/queues/:vhost/:queue', async (req, reply) => {
    const { vhost, queue } = req.params;
    const b = bodyObject(req.body);
    // rabbitmqadmin repeats name and vhost and keeps queue_type beside x-queue-type.
    onlyFields(
      b,
      ['durable', 'auto_delete', 'exclusive', 'arguments', 'node'],
      ['name', 'vhost', 'queue_type'],
    );
    checkName('queue', queue);
    if (boolField(b, 'exclusive', false))
      throw badRequest(
        'an exclusive queue belongs to its connection and the management API keeps none open; declare it over AMQP',
      );
    // A single node holds every queue: any node name places it here.
    stringField(b, 'node');
    const options = {
      // RabbitMQ 3.x's default for a declare without it (the queue.declare record's).
      durable: boolField(b, 'durable', false),
      autoDelete: boolField(b, 'auto_delete', false),
      arguments: tableField(b, 'arguments'),
    };
    const existed = requireVhost(ctx, vhost).queues.has(queue);
    await inVhost(ctx, req, vhost, (s) => s.declareQueue(queue, options));
    await synced(ctx);
    return reply.code(existed ? 204 : 201).send();
  });

  app.delete<{ Params: QueueParams; Querystring: Record<string, string> }>(
    '/api/queues/:vhost/:queue',
    async (req, reply) => {
      const { vhost, queue } = req.params;
      requireQueue(requireVhost(ctx, vhost), queue);
      const options = {
        ifUnused: req.query['if-unused'] === 'true',
        ifEmpty: req.query['if-empty'] === 'true',
      };
      await inVhost(ctx, req, vhost, (s) => s.deleteQueue(queue, options));
      await synced(ctx);
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: QueueParams }>('/api/queues/:vhost/:queue/contents', async (req, reply) => {
    const { vhost, queue } = req.params;
    requireQueue(requireVhost(ctx, vhost), queue);
    await inVhost(ctx, req, vhost, (s) => s.purgeQueue(queue));
    // Purged ready messages were settled in the store: answer once that is durable.
    await synced(ctx);
    return reply.code(204).send();
  });

  app.post<{ Params: QueueParams }>('/api/queues/:vhost/:queue/actions', (req) => {
    const { vhost, queue } = req.params;
    requireQueue(requireVhost(ctx, vhost), queue);
    const b = bodyObject(req.body);
    onlyFields(b, ['action']);
    const action = stringField(b, 'action');
    if (action !== 'sync' && action !== 'cancel_sync')
      throw badRequest(`unknown action ${JSON.stringify(action)}; known: sync, cancel_sync`);
    throw new HttpError(
      400,
      `queue '${queue}' in vhost '${vhost}' is not mirrored: Baton has no classic mirrored queues, so there is nothing to ${action === 'sync' ? 'synchronise' : 'cancel'}`,
    );
  });

  app.post<{ Params: QueueParams }>('/api/queues/:vhost/:queue/redrive', async (req) => {
    const { vhost, queue } = req.params;
    requireQueue(requireVhost(ctx, vhost), queue);
    const b = bodyObject(req.body);
    onlyFields(b, ['to', 'limit']);
    const options: RedriveOptions = {};
    const to = stringField(b, 'to');
    if (to !== undefined) options.to = to;
    if (b.limit !== undefined && b.limit !== null) options.limit = intField(b, 'limit', 0, 1);
    const r = await inVhost(ctx, req, vhost, (s) => s.redrive(queue, options));
    return { moved: r.moved, skipped: r.skipped, skippedBy: r.skippedBy, movedTo: r.movedTo };
  });
}

/** Resolves once everything the store was given so far is durable. */
export function synced(ctx: HttpContext): Promise<void> {
  return new Promise((resolve, reject) =>
    ctx.broker.afterSync((err) => (err === undefined ? resolve() : reject(err))),
  );
}
