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
 * match the whole name); an empty expression matches nothing. RabbitMQ's is PCRE. Compiled
 * with JavaScript's `u` flag, which refuses the escapes it does not know (`\A`, `\Z`, `\h`,
 * `\Q`…) instead of reading them as plain letters, so PCRE syntax is either read the same
 * or refused, never matched differently. PCRE's escaped punctuation (`\-`, `\_`) is literal,
 * as in PCRE.
 */
export function compilePermission(expression: string, what: Permission): RegExp {
  if (expression === '') return /^$/;
  try {
    return new RegExp(expression.replace(/\\([^A-Za-z0-9])/g, literal), 'u');
  } catch (err) {
    throw new PreconditionFailedError(
      `invalid ${what} regular expression '${expression}': ${(err as Error).message}`,
    );
  }
}

/** `\c` for punctuation c, in a form the `u` flag takes (it refuses `\-` outside classes). */
function literal(escape: string, c: string): string {
  return '^$\\.*+?()[]{}|/'.includes(c) ? escape : `\\u{${c.codePointAt(0)!.toString(16)}}`;
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
 * once per message, so the common case is one Map lookup). `undefined` permissions: a trusted
 * in-process caller that may do everything.
 */
export class Access {
  readonly user: string;
  readonly vhost: string;
  private readonly permissions: Permissions | undefined;
  private generation = -1;
  private entry: PermissionEntry | undefined;
  /** Answers by name, one map per permission (the answer does not depend on the kind). */
  private readonly cache = {
    configure: new Map<string, boolean>(),
    write: new Map<string, boolean>(),
    read: new Map<string, boolean>(),
  };
  /** Set when the vhost is deleted under the connection: nothing more may happen in it. */
  revoked = false;
  /** The latest question and answer (forgotten when the permissions change). */
  private lastPermission: Permission | undefined;
  private lastName = '';
  private lastOk = false;

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
    if (this.revoked) throw new AccessRefusedError(`vhost '${this.vhost}' is deleted`);
    if (this.permissions === undefined) return;
    // RabbitMQ checks the default exchange under the name amq.default.
    const resource = kind === 'exchange' && name === '' ? 'amq.default' : name;
    if (!this.permits(permission, kind, resource))
      throw new AccessRefusedError(
        `${permission} access to ${kind} '${resource}' in vhost '${this.vhost}' refused for user '${this.user}'`,
      );
  }

  permits(permission: Permission, _kind: ResourceKind, name: string): boolean {
    if (this.permissions === undefined) return true;
    const entry = this.current();
    if (entry === undefined) return false;
    // A publisher asks the same question per message: answered without a lookup.
    if (this.lastName === name && this.lastPermission === permission) return this.lastOk;
    const cache = this.cache[permission];
    let ok = cache.get(name);
    if (ok === undefined) {
      ok = entry.compiled[permission].test(name);
      // Bounded: a client cycling through names must not grow it without end.
      if (cache.size >= 1024) cache.clear();
      cache.set(name, ok);
    }
    this.lastPermission = permission;
    this.lastName = name;
    this.lastOk = ok;
    return ok;
  }

  private current(): PermissionEntry | undefined {
    const p = this.permissions!;
    if (p.generation !== this.generation) {
      this.generation = p.generation;
      this.entry = p.get(this.user, this.vhost);
      this.cache.configure.clear();
      this.cache.write.clear();
      this.cache.read.clear();
      this.lastPermission = undefined;
    }
    return this.entry;
  }
}
