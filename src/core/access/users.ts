import { isLoopback } from '../../util/loopback.js';
import { AccessRefusedError } from '../errors.js';
import { checkPassword, DEFAULT_HASHING, hashPassword, type HashingAlgorithm } from './password.js';

/** RabbitMQ's management tags; others are kept and shown but mean nothing to Baton. */
export const USER_TAGS = ['administrator', 'monitoring', 'policymaker', 'management'] as const;

/** A logged-in user as every protocol door sees it. */
export interface AuthenticatedUser {
  readonly name: string;
  /** RabbitMQ's user tags (administrator, monitoring, management, policymaker). */
  readonly tags: readonly string[];
}

/** Per-user limits (RabbitMQ's user limits); absent means unlimited. */
export interface UserLimits {
  readonly 'max-connections'?: number;
  readonly 'max-channels'?: number;
}

/** A user as stored: never shown whole outside the core (the hash is a secret). */
export interface UserRecord {
  readonly name: string;
  /** base64(salt ++ digest), RabbitMQ's format; '' for a user without a password. */
  readonly passwordHash: string;
  readonly hashingAlgorithm: HashingAlgorithm;
  readonly tags: readonly string[];
  readonly limits: UserLimits;
}

/** Users who may log in only from a loopback address (RabbitMQ's loopback_users default). */
const LOOPBACK_USERS = new Set(['guest']);

/**
 * The internal user database. Every protocol asks here (through AccessControl), so the
 * rules live in one place. Changes are journaled by AccessControl; this holds the current set.
 */
export class Users {
  private readonly byName = new Map<string, UserRecord>();

  put(record: UserRecord): void {
    this.byName.set(record.name, record);
  }

  delete(name: string): boolean {
    return this.byName.delete(name);
  }

  get(name: string): UserRecord | undefined {
    return this.byName.get(name);
  }

  get size(): number {
    return this.byName.size;
  }

  /** Every user, for listings (name, tags and limits only). */
  list(): AuthenticatedUser[] {
    return [...this.byName.values()].map(publicUser);
  }

  records(): UserRecord[] {
    return [...this.byName.values()];
  }

  /**
   * Checks the password; throws ACCESS_REFUSED (a connection error) with RabbitMQ's text for
   * an unknown user or a wrong password alike, so a refusal never says which it was.
   */
  authenticate(
    user: string,
    password: string,
    remoteAddress: string | undefined,
    mechanism = 'PLAIN',
  ): AuthenticatedUser {
    const record = this.byName.get(user);
    // Hash even for an unknown user, a user without a password or a blank password (refused,
    // as RabbitMQ), so timing does not tell which names exist.
    const usable = record !== undefined && record.passwordHash !== '' && password !== '';
    const ok = usable
      ? checkPassword(password, record.passwordHash, record.hashingAlgorithm)
      : (checkPassword(password, DUMMY_HASH, DEFAULT_HASHING), false);
    if (!ok || record === undefined) throw loginRefused(mechanism);
    return this.admitted(record, remoteAddress);
  }

  /**
   * SASL EXTERNAL: the TLS layer has verified the client's certificate and names the user
   * (its CN); the user must exist, its password is not asked for (rabbitmq_auth_mechanism_ssl).
   */
  authenticateExternal(user: string, remoteAddress: string | undefined): AuthenticatedUser {
    const record = this.byName.get(user);
    if (record === undefined) throw loginRefused('EXTERNAL');
    return this.admitted(record, remoteAddress);
  }

  private admitted(record: UserRecord, remoteAddress: string | undefined): AuthenticatedUser {
    if (LOOPBACK_USERS.has(record.name) && !isLoopback(remoteAddress))
      throw new AccessRefusedError(
        `user '${record.name}' can only connect via localhost`,
        'connection',
      );
    return publicUser(record);
  }
}

const DUMMY_HASH = hashPassword('');

export function loginRefused(mechanism: string): AccessRefusedError {
  return new AccessRefusedError(
    `Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`,
    'connection',
  );
}

export function publicUser(r: UserRecord): AuthenticatedUser {
  return { name: r.name, tags: r.tags };
}

/**
 * RabbitMQ accepts tags as a list or one comma-separated string; blanks are dropped and
 * duplicates kept once.
 */
export function parseTags(tags: unknown): string[] | undefined {
  let list: unknown[];
  if (tags === undefined || tags === null) return [];
  if (typeof tags === 'string') list = tags.split(',');
  else if (Array.isArray(tags)) list = tags;
  else return undefined;
  const out: string[] = [];
  for (const t of list) {
    if (typeof t !== 'string') return undefined;
    const s = t.trim();
    if (s !== '' && !out.includes(s)) out.push(s);
  }
  return out;
}
