import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../context.js';
import { HttpError } from '../problem.js';
import { requireVhost } from '../scope.js';

/** Baton has no policies or runtime parameters yet: empty lists, and 501 on writes. */
export function notYetRoutes(app: FastifyInstance, ctx: HttpContext): void {
  // Listings a RabbitMQ tool reads answer what is true: there are none.
  for (const kind of ['policies', 'operator-policies', 'parameters', 'global-parameters']) {
    app.get(`/api/${kind}`, () => []);
    app.get<{ Params: { vhost: string } }>(`/api/${kind}/:vhost`, (req) => {
      if (kind !== 'global-parameters') requireVhost(ctx, req.params.vhost);
      return [];
    });
  }
  const refuse = (what: string) => (): never => {
    throw new HttpError(501, `${what} are not implemented yet`);
  };
  const policies = refuse('policies');
  for (const kind of ['policies', 'operator-policies']) {
    app.put(`/api/${kind}/:vhost/:name`, policies);
    app.delete(`/api/${kind}/:vhost/:name`, policies);
  }
  app.put(
    '/api/parameters/:component/:vhost/:name',
    refuse('runtime parameters (shovel, federation)'),
  );
  app.put('/api/global-parameters/:name', refuse('global parameters'));
}
