import type { RouteGroup } from './index.js';
import { badRequest, HttpError } from '../problem.js';

/**
 * Fields RabbitMQ's PUT /api/vhosts/{name} stores beside tracing. Baton keeps no vhost
 * metadata yet: the values it has (RabbitMQ's defaults) are accepted, others refused by name.
 */
const METADATA: Record<string, (v: unknown) => boolean> = {
  description: (v) => v === '' || v === null,
  tags: (v) => v === '' || v === null || (Array.isArray(v) && v.length === 0),
  default_queue_type: (v) => v === 'classic' || v === null,
};

/**
 * PUT /api/vhosts/{name}: RabbitMQ's way to switch a vhost's tracing (`{"tracing": true}`).
 * Only vhost '/' exists; creating another is not implemented yet (501).
 */
export const vhostsWrite: RouteGroup = (app, ctx) => {
  app.put<{ Params: { vhost: string } }>('/api/vhosts/:vhost', ADMIN, (req, reply) => {
    const name = req.params.vhost;
    const vhost = ctx.broker.vhosts.get(name);
    if (vhost === undefined)
      throw new HttpError(
        501,
        `cannot create vhost '${name}': multiple vhosts are not implemented; Baton has only vhost '/'`,
      );
    const body: unknown = req.body ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw badRequest('the body must be a JSON object such as {"tracing": true}');
    let tracing: boolean | undefined;
    for (const [key, value] of Object.entries(body)) {
      if (key === 'tracing') tracing = parseBool(value);
      // The path names the vhost; rabbitmqadmin sends these too and RabbitMQ ignores them.
      else if (key === 'name' || key === 'vhost') continue;
      else if (METADATA[key] !== undefined) {
        if (!METADATA[key](value))
          throw new HttpError(
            501,
            `vhost field '${key}' is not implemented: Baton keeps no vhost metadata yet (accepted only as ${key === 'default_queue_type' ? "'classic'" : 'empty'})`,
          );
      } else
        throw badRequest(
          `unknown vhost field '${key}'; Baton accepts tracing (and RabbitMQ's description, tags, default_queue_type at their defaults)`,
        );
    }
    if (tracing !== undefined && tracing !== vhost.tracing) {
      vhost.tracing = tracing;
      ctx.logger.info(
        { vhost: name, user: req.user.name },
        `tracing ${tracing ? 'on' : 'off'} for vhost '${name}'`,
      );
    }
    return reply.code(204).send();
  });
};

const ADMIN = { config: { tag: 'administrator' } } as const;

/** RabbitMQ's parse of the tracing field: a boolean, or its text (rabbitmqadmin sends text). */
function parseBool(v: unknown): boolean {
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw badRequest(`vhost field 'tracing' must be true or false, got ${JSON.stringify(v)}`);
}
