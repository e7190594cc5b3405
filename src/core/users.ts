import { isLoopback } from '../util/loopback.js';
import { AccessRefusedError } from './errors.js';

/** A logged-in user as every protocol door sees it. */
export interface AuthenticatedUser {
  readonly name: string;
  /** RabbitMQ's user tags (administrator, monitoring, management, policymaker). */
  readonly tags: readonly string[];
}

/**
 * Who may log in. Until real users exist (issue 13) the only account is guest/guest with the
 * administrator tag and, as in RabbitMQ, it may log in only from a loopback address. Every
 * protocol (AMQP, the management API) asks here, so the rules live in one place.
 */
export class Users {
  /**
   * Throws ACCESS_REFUSED (a connection error) with RabbitMQ's text. `mechanism` only
   * shapes the message.
   */
  authenticate(
    user: string,
    password: string,
    remoteAddress: string | undefined,
    mechanism = 'PLAIN',
  ): AuthenticatedUser {
    if (user !== 'guest' || password !== 'guest')
      throw new AccessRefusedError(
        `login was refused using authentication mechanism ${mechanism}`,
        'connection',
      );
    if (!isLoopback(remoteAddress))
      throw new AccessRefusedError(`user 'guest' can only connect via localhost`, 'connection');
    return { name: user, tags: ['administrator'] };
  }

  /** Every user, for listings (never with a password or hash). */
  list(): AuthenticatedUser[] {
    return [{ name: 'guest', tags: ['administrator'] }];
  }
}
