import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthenticatedUser } from '../../core/access/users.js';
import { HttpError } from './problem.js';

/** RabbitMQ's tag implication: administrator ⊃ monitoring ⊃ management; policymaker ⊃ management. */
const IMPLIED: Readonly<Record<string, readonly string[]>> = {
  administrator: ['administrator', 'monitoring', 'policymaker', 'management'],
  monitoring: ['monitoring', 'management'],
  policymaker: ['policymaker', 'management'],
  management: ['management'],
};

/** Does `user` carry `tag`, directly or through a stronger one? */
export function hasTag(user: AuthenticatedUser, tag: string): boolean {
  return user.tags.some((t) => t === tag || (IMPLIED[t]?.includes(tag) ?? false));
}

/** Throws 403 unless the request's user has `tag` (RabbitMQ's not_authorised for a weaker user). */
export function requireTag(req: FastifyRequest, tag: string): void {
  if (!hasTag(req.user, tag))
    throw new HttpError(
      403,
      `user '${req.user.name}' lacks the '${tag}' tag this needs (it has: ${req.user.tags.join(', ') || 'none'})`,
      'not_authorised',
    );
}

/**
 * Route options for administrator-only routes: the tag is named in the route's config (what
 * the auth hook reads) and checked again before the handler, so it holds either way.
 */
export const ADMIN_ONLY = {
  config: { tag: 'administrator' },
  preHandler: (req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void => {
    try {
      requireTag(req, 'administrator');
      done();
    } catch (err) {
      done(err as Error);
    }
  },
};
