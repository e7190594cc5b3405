import type { Logger } from 'pino';
import type { Broker } from '../../core/broker.js';
import type { ClientConnection } from '../../core/connection.js';
import type { Session, SessionHandler } from '../../core/session.js';
import type { AuthenticatedUser } from '../../core/access/users.js';
import { AccessRefusedError, NotAllowedError } from '../../core/errors.js';

/** What every management route is built with. */
export interface HttpContext {
  readonly broker: Broker;
  readonly logger: Logger;
  /** Bound listener ports by protocol name (amqp, http, prometheus), for /api/overview. */
  readonly ports: ReadonlyMap<string, number>;
  /** The configured listen address, for /api/overview when no HTTP listener is bound. */
  readonly host?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on every /api request. */
    user: AuthenticatedUser;
  }
}

/** The protocol name of the core connections the management API opens for its own work. */
export const HTTP_PROTOCOL = 'http';

/** Connections the management API opened for itself: listings and metrics leave them out. */
export function isInternal(c: ClientConnection): boolean {
  return c.principal.protocol === HTTP_PROTOCOL;
}

/** An HTTP session never consumes: deliveries are refused, so nothing waits on it. */
const handler: SessionHandler = {
  deliver: () => false,
  consumerCancelled: () => {},
};

/**
 * Runs `fn` on a core session of its own, as `user` from `remoteAddress` in `vhost`: the same
 * door AMQP uses, so the same rules (and, later, permissions) apply. The session and its
 * connection close when `fn` settles, requeueing whatever it left unacked.
 */
export async function withSession<T>(
  ctx: HttpContext,
  user: AuthenticatedUser,
  remoteAddress: string | undefined,
  vhost: string,
  fn: (s: Session) => T | Promise<T>,
): Promise<T> {
  let c: ClientConnection;
  try {
    c = ctx.broker.connect(
      {
        user: user.name,
        protocol: HTTP_PROTOCOL,
        internal: true,
        ...(remoteAddress ? { remoteAddress } : {}),
      },
      vhost,
    );
  } catch (err) {
    // No permissions in the vhost: AMQP's 530, but on HTTP a refusal (403), not a bad request.
    if (err instanceof NotAllowedError && !ctx.broker.access.access(user.name, vhost).allowed)
      throw new AccessRefusedError(err.message, 'connection');
    throw err;
  }
  try {
    return await fn(c.openSession(handler));
  } finally {
    c.close();
  }
}
