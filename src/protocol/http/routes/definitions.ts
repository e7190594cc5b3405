import type { FastifyInstance, FastifyRequest } from 'fastify';
import { withSession, type HttpContext } from '../context.js';
import { exportDefinitions } from '../definitions-export.js';
import { applyImport, planImport } from '../definitions-import.js';
import { requireVhost } from '../scope.js';
import { synced } from './queue-writes.js';

/** Definitions hold every user's password hash and every permission: administrators only. */
const ADMIN = { config: { tag: 'administrator' } } as const;

/**
 * GET/POST /api/definitions (and /{vhost}): RabbitMQ's export and import. An import is checked
 * whole first, then applied through core sessions; it answers 204 once the declarations are
 * in the store, as RabbitMQ does once they are in its database.
 */
export function definitionRoutes(app: FastifyInstance, ctx: HttpContext): void {
  app.get('/api/definitions', ADMIN, () => exportDefinitions(ctx.broker));
  app.get<{ Params: { vhost: string } }>('/api/definitions/:vhost', ADMIN, (req) =>
    exportDefinitions(ctx.broker, requireVhost(ctx, req.params.vhost)),
  );
  const importInto = async (req: FastifyRequest, vhost?: string): Promise<void> => {
    const only = vhost === undefined ? undefined : requireVhost(ctx, vhost);
    const plan = planImport(ctx.broker, req.body, only);
    await applyImport(plan, ctx.broker, (name, fn) =>
      withSession(ctx, req.user, req.socket.remoteAddress, name, fn),
    );
    await synced(ctx);
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
