import { NotFoundError, PreconditionFailedError } from '../errors.js';
import type { StoreGuard } from '../store-guard.js';
import { parseLimits, USER_LIMITS } from './limits.js';
import { DEFAULT_HASHING, hashPassword, isHashingAlgorithm, validHash } from './password.js';
import { Access, Permissions, type PermissionSet } from './permissions.js';
import { type AuthenticatedUser, type UserLimits, type UserRecord, Users } from './users.js';

/** What the store keeps of a user (the hash, never the password). */
export interface UserDefinition {
  type: 'user';
  name: string;
  passwordHash: string;
  hashingAlgorithm: string;
  tags: string[];
  limits: UserLimits;
}
export interface PermissionDefinition extends PermissionSet {
  type: 'permission';
  user: string;
  vhost: string;
}
/** Written once the first boot has created the default user and vhost (RabbitMQ does it once). */
export interface AccessSeededDefinition {
  type: 'access-seeded';
}
export type AccessDefinition = UserDefinition | PermissionDefinition | AccessSeededDefinition;

export const SEEDED_KEY = JSON.stringify(['access-seeded']);

/** A user as a write names it: a password (hashed here) or a ready hash, never both. */
export interface UserInput {
  password?: string;
  passwordHash?: string;
  hashingAlgorithm?: string;
  tags: readonly string[];
  limits?: UserLimits;
}

/** The account the first boot creates: guest/guest unless BATON_DEFAULT_USER/PASS say else. */
export interface DefaultUser {
  name: string;
  password: string;
}

export const FULL_PERMISSIONS: PermissionSet = { configure: '.*', write: '.*', read: '.*' };

/**
 * Users and permissions, journaled: every change is a definition record (so it survives a
 * restart and a crash once the store has synced), and every protocol's login and permission
 * question comes here.
 */
export class AccessControl {
  readonly users = new Users();
  readonly permissions = new Permissions();
  private readonly journal: StoreGuard;
  /** Recovery found the seeded marker: the defaults were created on an earlier boot. */
  seeded = false;
  /** Installed by the broker: permissions may only name a vhost that exists (as RabbitMQ). */
  vhostExists: (name: string) => boolean = () => true;

  constructor(journal: StoreGuard) {
    this.journal = journal;
  }

  /** Recovery: one stored record. Bad records are skipped by the caller's report. */
  restore(d: AccessDefinition): void {
    if (d.type === 'access-seeded') this.seeded = true;
    else if (d.type === 'user') this.users.put(recordOf(d));
    else this.permissions.set(d.user, d.vhost, d);
  }

  authenticate(
    user: string,
    password: string,
    remoteAddress: string | undefined,
    mechanism = 'PLAIN',
  ): AuthenticatedUser {
    return this.users.authenticate(user, password, remoteAddress, mechanism);
  }

  authenticateExternal(user: string, remoteAddress: string | undefined): AuthenticatedUser {
    return this.users.authenticateExternal(user, remoteAddress);
  }

  /** The door's view of what `user` may do in `vhost` (cached answers, live rules). */
  access(user: string, vhost: string): Access {
    return new Access(user, vhost, this.permissions);
  }

  /** Create or replace a user. Throws 406 for a bad hash, algorithm or limit. */
  putUser(name: string, input: UserInput): UserRecord {
    if (name === '') throw new PreconditionFailedError('a user name must not be empty');
    const existing = this.users.get(name);
    const keepsHash = input.password === undefined && input.passwordHash === undefined;
    // A kept hash keeps the algorithm it was made with (an export without hashes still names
    // the algorithm: it describes no hash here).
    const kept = keepsHash && existing !== undefined && existing.passwordHash !== '';
    const algorithm = kept
      ? existing.hashingAlgorithm
      : (input.hashingAlgorithm ?? DEFAULT_HASHING);
    if (!isHashingAlgorithm(algorithm))
      throw new PreconditionFailedError(
        `unsupported hashing algorithm '${algorithm}'; use rabbit_password_hashing_sha256, _sha512 or _md5`,
      );
    let hash: string;
    if (input.password !== undefined && input.passwordHash !== undefined)
      throw new PreconditionFailedError('give password or password_hash, not both');
    if (input.password !== undefined) hash = hashPassword(input.password, algorithm);
    else if (input.passwordHash !== undefined) {
      if (!validHash(input.passwordHash, algorithm))
        throw new PreconditionFailedError(`password_hash is not a valid ${algorithm} hash`);
      hash = input.passwordHash;
    } else hash = existing?.passwordHash ?? '';
    const limits = input.limits ?? existing?.limits ?? {};
    const record: UserRecord = {
      name,
      passwordHash: hash,
      hashingAlgorithm: algorithm,
      tags: [...input.tags],
      limits,
    };
    this.users.put(record);
    this.journalUser(record);
    return record;
  }

  /** Set a user's limits (RabbitMQ's set_user_limits merges into the existing ones). */
  setUserLimits(name: string, limits: unknown): UserRecord {
    const r = this.requireUser(name);
    const merged = { ...r.limits, ...parseLimits(limits, USER_LIMITS, 'user') };
    // A negative value clears that limit.
    for (const k of USER_LIMITS) {
      const given = (limits as Record<string, unknown>)[k];
      if (given !== undefined && Number(given) < 0) delete merged[k];
    }
    const record = { ...r, limits: merged };
    this.users.put(record);
    this.journalUser(record);
    return record;
  }

  clearUserLimit(name: string, limit: string): UserRecord {
    const r = this.requireUser(name);
    if (limit !== 'all' && !(USER_LIMITS as readonly string[]).includes(limit))
      throw new PreconditionFailedError(
        `unknown user limit '${limit}'; known limits: ${USER_LIMITS.join(', ')}`,
      );
    const limits: Record<string, number> = { ...r.limits };
    if (limit === 'all') for (const k of USER_LIMITS) delete limits[k];
    else delete limits[limit];
    const record = { ...r, limits };
    this.users.put(record);
    this.journalUser(record);
    return record;
  }

  /** Delete a user and its permissions; the broker closes its connections. */
  deleteUser(name: string): boolean {
    if (!this.users.delete(name)) return false;
    this.journal.deleteDefinition(JSON.stringify(['user', name]));
    for (const e of this.permissions.clearUser(name))
      this.journal.deleteDefinition(permissionKey(e.user, e.vhost));
    return true;
  }

  setPermissions(user: string, vhost: string, p: PermissionSet): void {
    this.requireUser(user);
    // A permission on a missing vhost would wait there and apply to a vhost created later.
    if (!this.vhostExists(vhost)) throw new NotFoundError(`no vhost '${vhost}'`);
    this.permissions.set(user, vhost, p);
    const def: PermissionDefinition = {
      type: 'permission',
      user,
      vhost,
      configure: p.configure,
      write: p.write,
      read: p.read,
    };
    this.journal.putDefinition(permissionKey(user, vhost), def);
  }

  clearPermissions(user: string, vhost: string): boolean {
    if (!this.permissions.clear(user, vhost)) return false;
    this.journal.deleteDefinition(permissionKey(user, vhost));
    return true;
  }

  /** A vhost is gone: so are the permissions on it. */
  dropVhost(vhost: string): void {
    for (const e of this.permissions.clearVhost(vhost))
      this.journal.deleteDefinition(permissionKey(e.user, vhost));
  }

  /** First boot: the default user with full permissions on `vhost`, then the marker. */
  seed(user: DefaultUser | undefined, vhost: string): void {
    if (user !== undefined) {
      this.putUser(user.name, { password: user.password, tags: ['administrator'] });
      this.setPermissions(user.name, vhost, FULL_PERMISSIONS);
    }
    this.markSeeded();
  }

  markSeeded(): void {
    if (this.seeded) return;
    this.seeded = true;
    this.journal.putDefinition(SEEDED_KEY, { type: 'access-seeded' });
  }

  requireUser(name: string): UserRecord {
    const r = this.users.get(name);
    if (r === undefined) throw new NotFoundError(`no user '${name}'`);
    return r;
  }

  private journalUser(r: UserRecord): void {
    const def: UserDefinition = {
      type: 'user',
      name: r.name,
      passwordHash: r.passwordHash,
      hashingAlgorithm: r.hashingAlgorithm,
      tags: [...r.tags],
      limits: r.limits,
    };
    this.journal.putDefinition(JSON.stringify(['user', r.name]), def);
  }
}

function permissionKey(user: string, vhost: string): string {
  return JSON.stringify(['permission', user, vhost]);
}

function recordOf(d: UserDefinition): UserRecord {
  return {
    name: d.name,
    passwordHash: d.passwordHash,
    hashingAlgorithm: isHashingAlgorithm(d.hashingAlgorithm) ? d.hashingAlgorithm : DEFAULT_HASHING,
    tags: d.tags,
    limits: d.limits ?? {},
  };
}
