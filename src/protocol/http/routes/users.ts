import type { FastifyInstance } from 'fastify';
import { parseTags, type UserRecord } from '../../../core/access/users.js';
import { bodyObject, onlyFields, stringField } from '../body.js';
import type { HttpContext } from '../context.js';
import { itemReply, listReply, type Item } from '../listing.js';
import { badRequest, notFound } from '../problem.js';
import { ADMIN_ONLY } from '../tags.js';
import { synced } from './queue-writes.js';

interface UserParams {
  user: string;
}

/**
 * RabbitMQ's /api/users: listings, create/update, delete, bulk delete. RabbitMQ also shows
 * `password_hash` and `hashing_algorithm`; Baton never shows them (a hash is a secret).
 * Administrators only, as RabbitMQ.
 */
export function userRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const access = ctx.broker.access;
  const userOf = (name: string): UserRecord => {
    const u = access.users.get(name);
    if (u === undefined) throw notFound(`no user '${name}'`);
    return u;
  };

  app.get('/api/users', ADMIN_ONLY, (req) =>
    listReply(req, access.users.records().map(userView), ['name']),
  );
  app.get('/api/users/without-permissions', ADMIN_ONLY, (req) => {
    const granted = new Set(access.permissions.list().map((p) => p.user));
    const users = access.users.records().filter((u) => !granted.has(u.name));
    return listReply(req, users.map(userView), ['name']);
  });
  app.get<{ Params: UserParams }>('/api/users/:user', ADMIN_ONLY, (req) =>
    itemReply(req, userView(userOf(req.params.user))),
  );

  app.put<{ Params: UserParams }>('/api/users/:user', ADMIN_ONLY, async (req, reply) => {
    const name = req.params.user;
    const b = bodyObject(req.body);
    // rabbitmqadmin repeats the name (and its vhost option) in the body.
    onlyFields(b, ['password', 'password_hash', 'hashing_algorithm', 'tags'], ['name', 'vhost']);
    const tags = parseTags(b.tags);
    if (tags === undefined)
      throw badRequest(`field 'tags' must be a string "a,b" or a list of strings`);
    const password = stringField(b, 'password');
    const passwordHash = stringField(b, 'password_hash');
    const hashingAlgorithm = stringField(b, 'hashing_algorithm');
    if (password !== undefined && passwordHash !== undefined)
      throw badRequest('give password or password_hash, not both');
    if (hashingAlgorithm !== undefined && passwordHash === undefined && password === undefined)
      throw badRequest('hashing_algorithm goes with password or password_hash');
    const existed = access.users.get(name) !== undefined;
    // Without password or password_hash: a new user has none (it cannot log in with one, as
    // RabbitMQ); an existing user keeps its own hash and algorithm (RabbitMQ would clear it).
    access.putUser(name, {
      tags,
      ...(password !== undefined ? { password } : {}),
      ...(passwordHash !== undefined ? { passwordHash } : {}),
      ...(hashingAlgorithm !== undefined ? { hashingAlgorithm } : {}),
    });
    await synced(ctx);
    ctx.logger.info(
      { user: name, by: req.user.name },
      `user '${name}' ${existed ? 'updated' : 'created'}`,
    );
    return reply.code(existed ? 204 : 201).send();
  });

  app.delete<{ Params: UserParams }>('/api/users/:user', ADMIN_ONLY, async (req, reply) => {
    const name = req.params.user;
    userOf(name);
    ctx.broker.deleteUser(name);
    await synced(ctx);
    ctx.logger.info({ user: name, by: req.user.name }, `user '${name}' deleted`);
    return reply.code(204).send();
  });

  // RabbitMQ's bulk delete: names that do not exist are skipped.
  app.post('/api/users/bulk-delete', ADMIN_ONLY, async (req, reply) => {
    const b = bodyObject(req.body);
    onlyFields(b, ['users']);
    const names = b.users;
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string'))
      throw badRequest(`field 'users' must be a list of user names`);
    for (const name of names as string[])
      if (ctx.broker.deleteUser(name))
        ctx.logger.info({ user: name, by: req.user.name }, `user '${name}' deleted`);
    await synced(ctx);
    return reply.code(204).send();
  });
}

export function userView(u: UserRecord): Item {
  return { name: u.name, tags: [...u.tags], limits: { ...u.limits } };
}
