import { parseTags } from '../../../core/access/users.js';
import { bodyObject, boolField, onlyFields, stringField } from '../body.js';
import { badRequest, HttpError } from '../problem.js';
import { requireVhost } from '../scope.js';
import { ADMIN_ONLY } from '../tags.js';
import type { RouteGroup } from './index.js';
import { synced } from './queue-writes.js';

/**
 * PUT /api/vhosts/{name}: create a vhost (201) or update its description, tags and tracing
 * (204), as RabbitMQ; DELETE /api/vhosts/{name} deletes it with its queues, messages and
 * permissions, closing its connections. Administrators only. Baton's only queue type is
 * classic, so default_queue_type is accepted as 'classic' and refused otherwise.
 */
export const vhostsWrite: RouteGroup = (app, ctx) => {
  app.put<{ Params: { vhost: string } }>('/api/vhosts/:vhost', ADMIN_ONLY, async (req, reply) => {
    const name = req.params.vhost;
    const b = bodyObject(req.body, 'the body (a JSON object such as {"tracing": true})');
    // The path names the vhost; rabbitmqadmin sends these too and RabbitMQ ignores them.
    onlyFields(b, ['description', 'tags', 'tracing', 'default_queue_type'], ['name', 'vhost']);
    const description = stringField(b, 'description');
    const tags = b.tags === undefined ? undefined : parseTags(b.tags);
    if (tags === undefined && b.tags !== undefined)
      throw badRequest(`field 'tags' must be a string "a,b" or a list of strings`);
    const queueType = stringField(b, 'default_queue_type');
    if (queueType !== undefined && queueType !== 'classic')
      throw new HttpError(
        501,
        `vhost default_queue_type '${queueType}' is not implemented: Baton's queues are classic`,
      );
    const existed = ctx.broker.vhosts.has(name);
    const tracing = b.tracing === undefined ? undefined : boolField(b, 'tracing', false);
    const v = ctx.broker.putVhost(name, {
      ...(description !== undefined ? { description } : {}),
      ...(tags !== undefined ? { tags } : {}),
    });
    if (tracing !== undefined && tracing !== v.tracing) {
      v.tracing = tracing;
      ctx.logger.info(
        { vhost: name, user: req.user.name },
        `tracing ${tracing ? 'on' : 'off'} for vhost '${name}'`,
      );
    }
    await synced(ctx);
    if (!existed) ctx.logger.info({ vhost: name, by: req.user.name }, `vhost '${name}' created`);
    return reply.code(existed ? 204 : 201).send();
  });

  app.delete<{ Params: { vhost: string } }>(
    '/api/vhosts/:vhost',
    ADMIN_ONLY,
    async (req, reply) => {
      const name = req.params.vhost;
      requireVhost(ctx, name);
      ctx.broker.deleteVhost(name);
      await synced(ctx);
      ctx.logger.info({ vhost: name, by: req.user.name }, `vhost '${name}' deleted`);
      return reply.code(204).send();
    },
  );
};
