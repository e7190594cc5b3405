import type { FastifyInstance } from 'fastify';
import { parseLimits, USER_LIMITS, VHOST_LIMITS } from '../../../core/access/limits.js';
import { bodyObject, onlyFields } from '../body.js';
import type { HttpContext } from '../context.js';
import { listReply, type Item } from '../listing.js';
import { badRequest, notFound } from '../problem.js';
import { requireVhost } from '../scope.js';
import { ADMIN_ONLY } from '../tags.js';
import { synced } from './queue-writes.js';

interface VhostLimitParams {
  vhost: string;
  name: string;
}
interface UserLimitParams {
  user: string;
  name: string;
}

/**
 * RabbitMQ's /api/vhost-limits and /api/user-limits: `[{vhost|user, value: {limit: N}}]`
 * for those that have any; PUT {"value": N} sets one (a negative N removes it), DELETE
 * removes it. Administrators only.
 */
export function limitRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const broker = ctx.broker;
  const access = broker.access;
  const vhostLimits = (names: Iterable<string>): Item[] => {
    const out: Item[] = [];
    for (const name of names) {
      const v = broker.vhosts.get(name);
      if (v !== undefined && Object.keys(v.limits).length > 0)
        out.push({ vhost: name, value: { ...v.limits } });
    }
    return out;
  };
  const userLimits = (names: Iterable<string>): Item[] => {
    const out: Item[] = [];
    for (const name of names) {
      const u = access.users.get(name);
      if (u !== undefined && Object.keys(u.limits).length > 0)
        out.push({ user: name, value: { ...u.limits } });
    }
    return out;
  };
  const requireUser = (name: string): void => {
    if (access.users.get(name) === undefined) throw notFound(`no user '${name}'`);
  };

  app.get('/api/vhost-limits', ADMIN_ONLY, (req) =>
    listReply(req, vhostLimits(broker.vhosts.keys()), ['vhost']),
  );
  app.get<{ Params: { vhost: string } }>('/api/vhost-limits/:vhost', ADMIN_ONLY, (req) => {
    requireVhost(ctx, req.params.vhost);
    return listReply(req, vhostLimits([req.params.vhost]), ['vhost']);
  });
  app.put<{ Params: VhostLimitParams }>(
    '/api/vhost-limits/:vhost/:name',
    ADMIN_ONLY,
    async (req, reply) => {
      const { vhost, name } = req.params;
      const v = requireVhost(ctx, vhost);
      const value = limitValue(req.body);
      const merged: Record<string, number> = {
        ...v.limits,
        ...parseLimits({ [name]: value }, VHOST_LIMITS, 'vhost'),
      };
      if (Number(value) < 0) delete merged[name];
      broker.putVhost(vhost, { limits: merged });
      await synced(ctx);
      return reply.code(204).send();
    },
  );
  app.delete<{ Params: VhostLimitParams }>(
    '/api/vhost-limits/:vhost/:name',
    ADMIN_ONLY,
    async (req, reply) => {
      const { vhost, name } = req.params;
      const v = requireVhost(ctx, vhost);
      knownLimit(name, VHOST_LIMITS, 'vhost');
      const limits: Record<string, number> = { ...v.limits };
      delete limits[name];
      broker.putVhost(vhost, { limits });
      await synced(ctx);
      return reply.code(204).send();
    },
  );

  app.get('/api/user-limits', ADMIN_ONLY, (req) =>
    listReply(req, userLimits(access.users.records().map((u) => u.name)), ['user']),
  );
  app.get<{ Params: { user: string } }>('/api/user-limits/:user', ADMIN_ONLY, (req) => {
    requireUser(req.params.user);
    return listReply(req, userLimits([req.params.user]), ['user']);
  });
  app.put<{ Params: UserLimitParams }>(
    '/api/user-limits/:user/:name',
    ADMIN_ONLY,
    async (req, reply) => {
      const { user, name } = req.params;
      requireUser(user);
      access.setUserLimits(user, { [name]: limitValue(req.body) });
      await synced(ctx);
      return reply.code(204).send();
    },
  );
  app.delete<{ Params: UserLimitParams }>(
    '/api/user-limits/:user/:name',
    ADMIN_ONLY,
    async (req, reply) => {
      const { user, name } = req.params;
      requireUser(user);
      knownLimit(name, USER_LIMITS, 'user');
      access.clearUserLimit(user, name);
      await synced(ctx);
      return reply.code(204).send();
    },
  );
}

/** The body's `value` (a number, or its text as rabbitmqadmin sends it). */
function limitValue(body: unknown): unknown {
  const b = bodyObject(body);
  onlyFields(b, ['value'], ['vhost', 'user', 'name']);
  if (b.value === undefined || b.value === null) throw badRequest(`the body needs field 'value'`);
  return b.value;
}

function knownLimit(name: string, known: readonly string[], what: string): void {
  if (!known.includes(name))
    throw badRequest(`unknown ${what} limit '${name}'; known limits: ${known.join(', ')}`);
}
