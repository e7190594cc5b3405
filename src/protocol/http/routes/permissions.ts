import type { FastifyInstance } from 'fastify';
import type { PermissionEntry } from '../../../core/access/permissions.js';
import { bodyObject, onlyFields, requiredString } from '../body.js';
import type { HttpContext } from '../context.js';
import { itemReply, listReply, type Item } from '../listing.js';
import { badRequest, HttpError, notFound } from '../problem.js';
import { requireVhost } from '../scope.js';
import { ADMIN_ONLY } from '../tags.js';
import { synced } from './queue-writes.js';

interface PermissionParams {
  vhost: string;
  user: string;
}

/**
 * RabbitMQ's permission routes: configure/write/read expressions per user per vhost.
 * Administrators only. Topic permissions (RabbitMQ's per-exchange routing-key rules) do not
 * exist in Baton: their listings are empty and writes answer 501.
 */
export function permissionRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const access = ctx.broker.access;
  const all = (): Item[] => access.permissions.list().map(permissionView);
  const requireUser = (name: string): void => {
    if (access.users.get(name) === undefined) throw notFound(`no user '${name}'`);
  };

  app.get('/api/permissions', ADMIN_ONLY, (req) => listReply(req, all(), ['vhost', 'user']));
  app.get<{ Params: { user: string } }>('/api/users/:user/permissions', ADMIN_ONLY, (req) => {
    requireUser(req.params.user);
    const mine = all().filter((p) => p.user === req.params.user);
    return listReply(req, mine, ['vhost', 'user']);
  });
  app.get<{ Params: { vhost: string } }>('/api/vhosts/:vhost/permissions', ADMIN_ONLY, (req) => {
    requireVhost(ctx, req.params.vhost);
    const here = all().filter((p) => p.vhost === req.params.vhost);
    return listReply(req, here, ['vhost', 'user']);
  });
  app.get<{ Params: PermissionParams }>('/api/permissions/:vhost/:user', ADMIN_ONLY, (req) => {
    const { vhost, user } = req.params;
    const p = access.permissions.get(user, vhost);
    if (p === undefined) throw notFound(`user '${user}' has no permissions in vhost '${vhost}'`);
    return itemReply(req, permissionView(p));
  });

  app.put<{ Params: PermissionParams }>(
    '/api/permissions/:vhost/:user',
    ADMIN_ONLY,
    async (req, reply) => {
      const { vhost, user } = req.params;
      const b = bodyObject(req.body);
      onlyFields(b, ['configure', 'write', 'read'], ['vhost', 'user']);
      const set = {
        configure: requiredString(b, 'configure'),
        write: requiredString(b, 'write'),
        read: requiredString(b, 'read'),
      };
      // RabbitMQ answers a grant for a missing user or vhost with 400, not 404.
      if (access.users.get(user) === undefined) throw badRequest(`no user '${user}'`);
      if (!ctx.broker.vhosts.has(vhost)) throw badRequest(`no vhost '${vhost}'`);
      const existed = access.permissions.get(user, vhost) !== undefined;
      access.setPermissions(user, vhost, set);
      await synced(ctx);
      ctx.logger.info(
        { user, vhost, by: req.user.name, ...set },
        `permissions of user '${user}' in vhost '${vhost}' set`,
      );
      return reply.code(existed ? 204 : 201).send();
    },
  );

  app.delete<{ Params: PermissionParams }>(
    '/api/permissions/:vhost/:user',
    ADMIN_ONLY,
    async (req, reply) => {
      const { vhost, user } = req.params;
      if (!access.clearPermissions(user, vhost))
        throw notFound(`user '${user}' has no permissions in vhost '${vhost}'`);
      await synced(ctx);
      ctx.logger.info(
        { user, vhost, by: req.user.name },
        `permissions of user '${user}' in vhost '${vhost}' cleared`,
      );
      return reply.code(204).send();
    },
  );

  // Topic permissions: none exist, so every listing is empty; setting one is refused.
  app.get('/api/topic-permissions', ADMIN_ONLY, () => []);
  app.get('/api/topic-permissions/:vhost/:user', ADMIN_ONLY, () => []);
  app.get('/api/users/:user/topic-permissions', ADMIN_ONLY, () => []);
  app.get('/api/vhosts/:vhost/topic-permissions', ADMIN_ONLY, () => []);
  const refuse = (): never => {
    throw new HttpError(
      501,
      'topic permissions are not implemented: Baton checks configure/write/read permissions only',
    );
  };
  app.put('/api/topic-permissions/:vhost/:user', ADMIN_ONLY, refuse);
  app.delete('/api/topic-permissions/:vhost/:user', ADMIN_ONLY, refuse);
}

function permissionView(p: PermissionEntry): Item {
  return { user: p.user, vhost: p.vhost, configure: p.configure, write: p.write, read: p.read };
}
