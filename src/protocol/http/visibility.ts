import type { FastifyRequest } from 'fastify';
import type { AuthenticatedUser } from '../../core/access/users.js';
import type { VirtualHost } from '../../core/vhost.js';
import type { HttpContext } from './context.js';
import { HttpError } from './problem.js';
import { hasTag } from './tags.js';
import type { Listed } from './views/connection-view.js';

/**
 * What a management user sees, as RabbitMQ's management plugin: monitoring (and so
 * administrator) sees every vhost and connection; management and policymaker see the vhosts
 * they have permissions in, and only their own connections and channels.
 */
export function seesAll(user: AuthenticatedUser): boolean {
  return hasTag(user, 'monitoring');
}

/** Whether `user` has any permissions in the vhost (what lets a non-monitor see it). */
export function hasVhostAccess(ctx: HttpContext, user: AuthenticatedUser, vhost: string): boolean {
  return ctx.broker.access.permissions.get(user.name, vhost) !== undefined;
}

/** The vhosts the request's user may list. */
export function visibleVhosts(ctx: HttpContext, req: FastifyRequest): VirtualHost[] {
  const all = [...ctx.broker.vhosts.values()];
  if (seesAll(req.user)) return all;
  return all.filter((v) => hasVhostAccess(ctx, req.user, v.name));
}

/** Only the connections the request's user may see (their own unless monitoring). */
export function visibleConnections(req: FastifyRequest, conns: Listed[]): Listed[] {
  if (seesAll(req.user)) return conns;
  return conns.filter((l) => l.connection.principal.user === req.user.name);
}

/** Whether the request's user may see this connection. */
export function seesConnection(req: FastifyRequest, l: Listed): boolean {
  return seesAll(req.user) || l.connection.principal.user === req.user.name;
}

/**
 * The check on a path that names a vhost (`:vhost`), run by the auth hook: a user may read
 * (GET) a vhost they have permissions in, or any as monitoring; anything else on it needs
 * permissions there, administrators included, since the work runs as them through the core's
 * door. Routes tagged administrator (vhost and permission management) need no permissions in
 * the vhost they manage. An unknown vhost is left to the route's 404, as RabbitMQ does.
 */
export function checkVhostPath(ctx: HttpContext, req: FastifyRequest, admin: boolean): void {
  const vhost = (req.params as { vhost?: unknown } | undefined)?.vhost;
  if (typeof vhost !== 'string' || admin || !ctx.broker.vhosts.has(vhost)) return;
  if (hasVhostAccess(ctx, req.user, vhost)) return;
  if ((req.method === 'GET' || req.method === 'HEAD') && seesAll(req.user)) return;
  throw new HttpError(403, `access to vhost '${vhost}' refused for user '${req.user.name}'`);
}
