import type { FastifyInstance } from 'fastify';
import type { AuthenticatedUser } from '../../../core/access/users.js';
import type { HttpContext } from '../context.js';
import { itemReply, listReply, type Item } from '../listing.js';
import { vhostOf } from '../node.js';
import { notFound } from '../problem.js';

/**
 * GET /api/users, /api/users/{user}, and the permission reads. RabbitMQ also returns
 * `password_hash` and `hashing_algorithm`; Baton keeps no hashes (its one user is built in)
 * and would not show them anyway, so both fields are left out.
 */
export function userRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const users = (): AuthenticatedUser[] => ctx.broker.users.list();
  const userOf = (name: string): AuthenticatedUser => {
    const u = users().find((x) => x.name === name);
    if (u === undefined) throw notFound(`user '${name}' not found`);
    return u;
  };
  // Until real users and grants exist (issue 13) every user may do everything everywhere.
  const permissions = (): Item[] =>
    users().flatMap((u) => [...ctx.broker.vhosts.keys()].map((v) => permissionView(u, v)));

  app.get('/api/users', (req) => listReply(req, users().map(userView), ['name']));
  app.get<{ Params: { user: string } }>('/api/users/:user', (req) =>
    itemReply(req, userView(userOf(req.params.user))),
  );
  app.get('/api/permissions', (req) => listReply(req, permissions(), ['vhost', 'user']));
  app.get<{ Params: { user: string } }>('/api/users/:user/permissions', (req) => {
    userOf(req.params.user);
    return listReply(
      req,
      permissions().filter((p) => p.user === req.params.user),
      ['vhost', 'user'],
    );
  });
  app.get<{ Params: { vhost: string } }>('/api/vhosts/:vhost/permissions', (req) => {
    vhostOf(ctx, req.params.vhost);
    return listReply(
      req,
      permissions().filter((p) => p.vhost === req.params.vhost),
      ['vhost', 'user'],
    );
  });
  app.get<{ Params: { vhost: string; user: string } }>('/api/permissions/:vhost/:user', (req) => {
    vhostOf(ctx, req.params.vhost);
    return itemReply(req, permissionView(userOf(req.params.user), req.params.vhost));
  });
}

function userView(u: AuthenticatedUser): Item {
  return { name: u.name, tags: [...u.tags], limits: {} };
}

function permissionView(u: AuthenticatedUser, vhost: string): Item {
  return { user: u.name, vhost, configure: '.*', write: '.*', read: '.*' };
}
