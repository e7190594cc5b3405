import { AccessRefusedError, PreconditionFailedError } from '../errors.js';

/** RabbitMQ's three permissions: regular expressions over resource names. */
export interface PermissionSet {
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}

export type Permission = keyof PermissionSet;
export type ResourceKind = 'queue' | 'exchange';

/** One user's permissions on one vhost, with its expressions compiled once. */
export interface PermissionEntry extends PermissionSet {
  readonly user: string;
  readonly vhost: string;
  readonly compiled: { readonly [P in Permission]: RegExp };
}

/**
 * RabbitMQ's matching: the expression is searched for in the name (anchor it with ^ and $ to
 * match the whole name); an empty expression matches nothing. RabbitMQ's is PCRE; JavaScript's
 * syntax agrees for the expressions people write (`.*`, `^amq\.gen.*`, alternations).
 */
export function compilePermission(expression: string, what: Permission): RegExp {
  if (expression === '') return /^$/;
  try {
    return new RegExp(expression);
  } catch (err) {
    throw new PreconditionFailedError(
      `invalid ${what} regular expression '${expression}': ${(err as Error).message}`,
    );
  }
}

/**
 * Who may do what where: configure/write/read expressions per user per vhost. `generation`
 * changes with every edit, so cached answers (Access) know when to ask again.
 */
export class Permissions {
  private readonly byUser = new Map<string, Map<string, PermissionEntry>>();
  generation = 0;

  set(user: string, vhost: string, p: PermissionSet): PermissionEntry {
    const entry: PermissionEntry = {
      user,
      vhost,
      configure: p.configure,
      write: p.write,
      read: p.read,
      compiled: {
        configure: compilePermission(p.configure, 'configure'),
        write: compilePermission(p.write, 'write'),
        read: compilePermission(p.read, 'read'),
      },
    };
    let m = this.byUser.get(user);
    if (m === undefined) this.byUser.set(user, (m = new Map<string, PermissionEntry>()));
    m.set(vhost, entry);
    this.generation++;
    return entry;
  }

  get(user: string, vhost: string): PermissionEntry | undefined {
    return this.byUser.get(user)?.get(vhost);
  }

  clear(user: string, vhost: string): boolean {
    const m = this.byUser.get(user);
    if (m === undefined || !m.delete(vhost)) return false;
    if (m.size === 0) this.byUser.delete(user);
    this.generation++;
    return true;
  }

  /** Every entry of a user (a deleted user takes them along). */
  clearUser(user: string): PermissionEntry[] {
    const gone = [...(this.byUser.get(user)?.values() ?? [])];
    if (this.byUser.delete(user)) this.generation++;
    return gone;
  }

  /** Every entry on a vhost (a deleted vhost takes them along). */
  clearVhost(vhost: string): PermissionEntry[] {
    const gone = this.list().filter((e) => e.vhost === vhost);
    for (const e of gone) this.clear(e.user, vhost);
    return gone;
  }

  list(): PermissionEntry[] {
    const out: PermissionEntry[] = [];
    for (const m of this.byUser.values()) for (const e of m.values()) out.push(e);
    return out;
  }
}

/**
 * What one connection's user may do in its vhost, asked at the session door before every
 * operation. Answers are cached per name until the permissions change (the publish path asks
 * once per message, so the common case is one string compare with the name asked last).
 * `undefined` permissions: a trusted in-process caller that may do everything.
 */
export class Access {
  readonly user: string;
  readonly vhost: string;
  private readonly permissions: Permissions | undefined;
  private generation = -1;
  private entry: PermissionEntry | undefined;
  private readonly cache = new Map<string, boolean>();
  /**
   * The last name asked per permission and kind, with its answer: a publisher asks about the
   * same exchange for every message, and comparing a short string is cheaper than building
   * the Map's key (a new string to hash on every call).
   */
  private readonly lastName: (string | undefined)[] = new Array<string | undefined>(6).fill(
    undefined,
  );
  private readonly lastOk: boolean[] = new Array<boolean>(6).fill(false);

  constructor(user: string, vhost: string, permissions: Permissions | undefined) {
    this.user = user;
    this.vhost = vhost;
    this.permissions = permissions;
  }

  /** May this user use the vhost at all (has any permission entry there)? */
  get allowed(): boolean {
    return this.permissions === undefined || this.current() !== undefined;
  }

  /** Throws 403 ACCESS_REFUSED with RabbitMQ's text unless `permission` covers the resource. */
  check(permission: Permission, kind: ResourceKind, name: string): void {
    if (this.permissions === undefined) return;
    // RabbitMQ checks the default exchange under the name amq.default.
    const resource = kind === 'exchange' && name === '' ? 'amq.default' : name;
    if (!this.permits(permission, kind, resource))
      throw new AccessRefusedError(
        `access to ${kind} '${resource}' in vhost '${this.vhost}' refused for user '${this.user}'`,
      );
  }

  permits(permission: Permission, kind: ResourceKind, name: string): boolean {
    if (this.permissions === undefined) return true;
    const entry = this.current();
    if (entry === undefined) return false;
    const slot =
      (permission === 'configure' ? 0 : permission === 'write' ? 2 : 4) +
      (kind === 'queue' ? 0 : 1);
    if (this.lastName[slot] === name) return this.lastOk[slot]!;
    const key = `${permission[0]}${kind[0]}${name}`;
    let ok = this.cache.get(key);
    if (ok === undefined) {
      ok = entry.compiled[permission].test(name);
      // Bounded: a client cycling through names must not grow it without end.
      if (this.cache.size >= 1024) this.cache.clear();
      this.cache.set(key, ok);
    }
    this.lastName[slot] = name;
    this.lastOk[slot] = ok;
    return ok;
  }

  private current(): PermissionEntry | undefined {
    const p = this.permissions!;
    if (p.generation !== this.generation) {
      this.generation = p.generation;
      this.entry = p.get(this.user, this.vhost);
      this.cache.clear();
      this.lastName.fill(undefined);
    }
    return this.entry;
  }
}
