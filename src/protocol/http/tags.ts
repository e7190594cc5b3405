import type { FastifyRequest } from 'fastify';
import { HttpError } from './problem.js';

/** RabbitMQ's user tags the management API knows. */
export type ManagementTag = 'management' | 'policymaker' | 'monitoring' | 'administrator';

/** The tags that include each one: administrator ⊃ monitoring ⊃ management, policymaker ⊃ management. */
const GRANTED_BY: Record<ManagementTag, readonly string[]> = {
  management: ['management', 'policymaker', 'monitoring', 'administrator'],
  policymaker: ['policymaker', 'administrator'],
  monitoring: ['monitoring', 'administrator'],
  administrator: ['administrator'],
};

/** Whether `user` may do what `tag` allows, by RabbitMQ's tag hierarchy. */
export function hasTag(user: { tags: readonly string[] }, tag: ManagementTag): boolean {
  return user.tags.some((t) => GRANTED_BY[tag].includes(t));
}

/**
 * 403 unless the request's user has `tag`. RabbitMQ answers 401 with the same text; the
 * credentials were right, so Baton says 403 (a browser would otherwise ask for them again).
 */
export function requireTag(req: FastifyRequest, tag: ManagementTag): void {
  if (!hasTag(req.user, tag)) throw new HttpError(403, `Not ${tag} user`);
}

/** Route options of administrator-only routes: the auth hook checks the tag before the handler. */
export const ADMIN_ONLY = { config: { tag: 'administrator' } } as const;
