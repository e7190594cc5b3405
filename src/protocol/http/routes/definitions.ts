import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HTTP_PROTOCOL, type HttpContext } from '../context.js';
import { exportDefinitions } from '../definitions-export.js';
import { importDefinitions } from '../definitions-import.js';
import { badRequest } from '../problem.js';
import { requireVhost } from '../scope.js';

/** Definitions hold every user's password hash and every permission: administrators only. */
const ADMIN = { config: { tag: 'administrator' } } as const;

/**
 * GET/POST /api/definitions (and /{vhost}): RabbitMQ's export and import. The one-vhost import
 * takes that vhost's queues, exchanges, bindings and parameters only, never users, vhosts or
 * permissions (as RabbitMQ's). An import is checked whole first, then applied; it answers 204
 * once everything is in the store, as RabbitMQ does once it is in its database. The export
 * leaves password hashes out unless the query says `include_password_hashes=true` (a backup
 * that must log its users in again).
 */
export function definitionRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.get<{ Querystring: Record<string, string | undefined> }>('/api/definitions', ADMIN, (req) =>
    exportDefinitions(ctx.broker, undefined, hashesWanted(req.query)),
  );
  app.get<{ Params: { vhost: string } }>('/api/definitions/:vhost', ADMIN, (req) =>
    exportDefinitions(ctx.broker, requireVhost(ctx, req.params.vhost)),
  );
  const importInto = async (req: FastifyRequest, vhost?: string): Promise<void> => {
    const only = vhost === undefined ? undefined : requireVhost(ctx, vhost);
    const by = { user: req.user.name, protocol: HTTP_PROTOCOL };
    const remoteAddress = req.socket.remoteAddress;
    const plan = await importDefinitions(
      ctx.broker,
      req.body,
      remoteAddress === undefined ? by : { ...by, remoteAddress },
      only,
    );
    // Left out as RabbitMQ's one-vhost import leaves them out; said, so it is not silent.
    if (only !== undefined && plan.ignored.length !== 0)
      ctx.logger.warn(
        { vhost: only.name, by: req.user.name, ignored: plan.ignored },
        `definitions import into vhost '${only.name}' ignored ${plan.ignored.join(', ')}: a one-vhost import takes only its queues, exchanges, bindings and parameters`,
      );
  };
  app.post('/api/definitions', ADMIN, async (req, reply) => {
    await importInto(req);
    return reply.code(204).send();
  });
  app.post<{ Params: { vhost: string } }>('/api/definitions/:vhost', ADMIN, async (req, reply) => {
    await importInto(req, req.params.vhost);
    return reply.code(204).send();
  });
}

/** `?include_password_hashes=true`; any other value of it is refused, not taken as false. */
function hashesWanted(query: Record<string, string | undefined>): boolean {
  const v = query.include_password_hashes;
  if (v === undefined || v === 'false') return false;
  if (v === 'true') return true;
  throw badRequest(`include_password_hashes must be true or false, got '${v}'`);
}
