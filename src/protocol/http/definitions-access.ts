import { isDeepStrictEqual } from 'node:util';
import type { Broker } from '../../core/broker.js';
import { BatonError } from '../../core/errors.js';
import type { UserInput } from '../../core/access/access-control.js';
import {
  parseLimits,
  USER_LIMITS,
  VHOST_LIMITS,
  type VhostLimits,
} from '../../core/access/limits.js';
import {
  checkPassword,
  DEFAULT_HASHING,
  HASHING_ALGORITHMS,
  isHashingAlgorithm,
  validHash,
  type HashingAlgorithm,
} from '../../core/access/password.js';
import { compilePermission, type PermissionSet } from '../../core/access/permissions.js';
import { parseTags, type UserLimits } from '../../core/access/users.js';
import { bodyObject, onlyFields, stringField, typeName, type Fields } from './body.js';
import { badRequest, HttpError } from './problem.js';

/**
 * What is wrong with a definitions document, gathered whole so one answer names every
 * problem: `bad` entries make it a 400, `missing` ones (what Baton cannot apply yet) a 501.
 */
export class Problems {
  readonly bad: string[] = [];
  readonly missing: string[] = [];

  /** Runs `fn`; an HTTP or broker error it throws is noted under `what` instead. */
  guard<T>(what: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      if (err instanceof HttpError)
        (err.status === 501 ? this.missing : this.bad).push(`${what}: ${err.message}`);
      else if (err instanceof BatonError)
        (err.replyCode === 540 ? this.missing : this.bad).push(`${what}: ${err.message}`);
      else throw err;
      return undefined;
    }
  }

  /** The objects of a top-level array (absent: none). */
  items(doc: Fields, key: string): Fields[] {
    const v = doc[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.bad.push(`'${key}' must be an array`);
      return [];
    }
    return v.filter((x, i) => {
      const ok = x !== null && typeof x === 'object' && !Array.isArray(x);
      if (!ok) this.bad.push(`${key}[${i}] must be an object`);
      return ok;
    }) as Fields[];
  }

  /** Refuses the document if anything was noted; 501 wins, naming every problem. */
  throwIfAny(): void {
    const all = [...this.bad, ...this.missing];
    if (all.length === 0) return;
    throw new HttpError(
      this.missing.length !== 0 ? 501 : 400,
      `definitions not imported (nothing was changed): ${all.join('; ')}`,
    );
  }
}

export interface UserItem {
  name: string;
  input: UserInput;
}
export interface VhostItem {
  name: string;
  description?: string;
  tags?: string[];
}
export interface PermissionItem extends PermissionSet {
  user: string;
  vhost: string;
}

/** Users, vhosts, permissions and vhost limits a document names, checked but not applied. */
export interface AccessPlan {
  users: UserItem[];
  vhosts: VhostItem[];
  permissions: PermissionItem[];
  /** Per vhost, its whole limits (RabbitMQ's set_vhost_limits replaces them all). */
  limits: Map<string, VhostLimits>;
}

const USER_FIELDS = ['name', 'password_hash', 'password', 'hashing_algorithm', 'tags', 'limits'];
const VHOST_FIELDS = ['name', 'description', 'tags', 'limits', 'metadata', 'default_queue_type'];
const METADATA_FIELDS = ['description', 'tags', 'default_queue_type'];
const PERMISSION_FIELDS = ['user', 'vhost', 'configure', 'write', 'read'];

/**
 * What a one-vhost import leaves out, as RabbitMQ's (rabbit_definitions:apply_defs/4 takes only
 * exchanges, queues, bindings, policies and parameters): the cluster's users, vhosts and
 * permissions, so such a file can never create a user or grant one, and the top-level
 * `limits`, which RabbitMQ does not read either (the 'vhost-limits' parameter is applied).
 */
export const ONE_VHOST_IGNORES = ['users', 'vhosts', 'permissions', 'topic_permissions', 'limits'];

/**
 * Reads the access part of a definitions document as RabbitMQ writes it (3.x exports: users
 * with password_hash and hashing_algorithm, vhosts with metadata, permissions, and vhost limits
 * both in the vhost entry and as 'vhost-limits' parameters). `only`: a one-vhost import, which
 * takes only its 'vhost-limits' parameter (for that vhost) and ignores ONE_VHOST_IGNORES. Nothing
 * here looks at the broker.
 */
export function readAccess(doc: Fields, p: Problems, only?: string): AccessPlan {
  const plan: AccessPlan = { users: [], vhosts: [], permissions: [], limits: new Map() };
  if (only === undefined) readClusterAccess(doc, p, plan);
  for (const x of p.items(doc, 'parameters')) {
    if (x.component !== 'vhost-limits') {
      p.missing.push(
        `parameter ${label(x.component)} ${label(x.name)}: parameters other than vhost-limits are not supported yet`,
      );
      continue;
    }
    const what = `vhost-limits parameter for vhost ${label(only ?? x.vhost)}`;
    p.guard(what, () => {
      onlyFields(x, ['component', 'name', 'vhost', 'value'], [], what);
      const vhost = only ?? stringField(x, 'vhost');
      if (vhost === undefined) throw badRequest("needs field 'vhost'");
      plan.limits.set(vhost, readLimits(x.value, VHOST_LIMITS, 'vhost'));
    });
  }
  return plan;
}

function readClusterAccess(doc: Fields, p: Problems, plan: AccessPlan): void {
  p.items(doc, 'users').forEach((u, i) => {
    const item = readUser(p, u, i);
    if (item !== undefined) plan.users.push(item);
  });
  p.items(doc, 'vhosts').forEach((v, i) => {
    const name = nameOf(v);
    if (name === undefined) return void p.bad.push(`vhosts[${i}] has no 'name'`);
    const what = `vhost '${name}'`;
    const item = p.guard(what, () => readVhost(v, name, what));
    if (item === undefined) return;
    plan.vhosts.push(item.vhost);
    if (item.limits !== undefined) plan.limits.set(name, item.limits);
  });
  p.items(doc, 'permissions').forEach((e, i) => {
    const what = `permissions[${i}]`;
    const item = p.guard(what, () => {
      onlyFields(e, PERMISSION_FIELDS, [], what);
      const [user, vhost, configure, write, read] = PERMISSION_FIELDS.map((k) => {
        const s = stringField(e, k);
        if (s === undefined) throw badRequest(`needs field '${k}'`);
        return s;
      }) as [string, string, string, string, string];
      compilePermission(configure, 'configure');
      compilePermission(write, 'write');
      compilePermission(read, 'read');
      return { user, vhost, configure, write, read };
    });
    if (item !== undefined) plan.permissions.push(item);
  });
  if (p.items(doc, 'topic_permissions').length !== 0)
    p.missing.push('topic_permissions: topic permissions are not implemented yet');
}

/** A name from the document for a message: quoted when a string, else only its type. */
export function label(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : `(${typeName(v)})`;
}

function nameOf(o: Fields): string | undefined {
  return typeof o.name === 'string' && o.name !== '' ? o.name : undefined;
}

function readUser(p: Problems, u: Fields, i: number): UserItem | undefined {
  const name = nameOf(u);
  if (name === undefined) return void p.bad.push(`users[${i}] has no 'name'`);
  return p.guard(`user '${name}'`, () => {
    onlyFields(u, USER_FIELDS, [], `user '${name}'`);
    const algorithm = stringField(u, 'hashing_algorithm', DEFAULT_HASHING);
    if (!isHashingAlgorithm(algorithm))
      throw badRequest(
        `unknown hashing_algorithm '${algorithm}'; known: ${Object.keys(HASHING_ALGORITHMS).join(', ')}`,
      );
    const hash = stringField(u, 'password_hash');
    const password = stringField(u, 'password');
    if (hash !== undefined && password !== undefined)
      throw badRequest('give password or password_hash, not both');
    if (hash !== undefined && !validHash(hash, algorithm))
      throw badRequest(
        `password_hash is not a valid ${algorithm} hash (base64 of a 4-byte salt and the digest)`,
      );
    const tags = parseTags(u.tags);
    if (tags === undefined)
      throw badRequest('tags must be a list of strings or one comma-separated string');
    const input: UserInput = { tags, hashingAlgorithm: algorithm };
    if (hash !== undefined) input.passwordHash = hash;
    if (password !== undefined) input.password = password;
    if (u.limits !== undefined && u.limits !== null)
      input.limits = readLimits(u.limits, USER_LIMITS, 'user');
    return { name, input };
  });
}

function readVhost(
  v: Fields,
  name: string,
  what: string,
): { vhost: VhostItem; limits: VhostLimits | undefined } {
  onlyFields(v, VHOST_FIELDS, [], what);
  const meta = bodyObject(v.metadata, `${what} metadata`);
  onlyFields(meta, METADATA_FIELDS, [], `${what} metadata`);
  const vhost: VhostItem = { name };
  const description = stringField(v, 'description') ?? stringField(meta, 'description');
  if (description !== undefined) vhost.description = description;
  const rawTags = v.tags ?? meta.tags;
  if (rawTags !== undefined && rawTags !== null) {
    const tags = parseTags(rawTags);
    if (tags === undefined)
      throw badRequest('tags must be a list of strings or one comma-separated string');
    vhost.tags = tags;
  }
  // RabbitMQ 3.11+ writes 'undefined' for a vhost that never chose one.
  const dqt = v.default_queue_type ?? meta.default_queue_type;
  if (dqt !== undefined && dqt !== null && dqt !== 'classic' && dqt !== 'undefined')
    throw new HttpError(
      501,
      `default_queue_type ${JSON.stringify(dqt)} is not implemented (Baton's vhosts declare classic queues)`,
    );
  const limits =
    v.limits === undefined || v.limits === null
      ? undefined
      : readLimits(v.limits, VHOST_LIMITS, 'vhost');
  return { vhost, limits };
}

/**
 * Limits as RabbitMQ exports them: an object, or (3.10's vhost entries) a list of
 * [name, value] pairs, `[]` for none.
 */
function readLimits<K extends string>(
  value: unknown,
  known: readonly K[],
  what: string,
): Partial<Record<K, number>> {
  if (Array.isArray(value)) {
    const pairs: Record<string, unknown> = {};
    for (const pair of value) {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string')
        throw badRequest(`${what} limits must be an object or a list of [name, value] pairs`);
      pairs[pair[0]] = pair[1];
    }
    value = pairs;
  }
  return parseLimits(value, known, what);
}

/**
 * What a document's references need: every vhost it uses exists or is created by it, every
 * permission's user exists or is created by it.
 */
export function checkAccessRefs(
  broker: Broker,
  plan: AccessPlan,
  p: Problems,
  vhostKnown: (name: string) => boolean,
): void {
  const fileUsers = new Set(plan.users.map((u) => u.name));
  for (const e of plan.permissions) {
    const what = `permission of user '${e.user}' in vhost '${e.vhost}'`;
    if (!fileUsers.has(e.user) && broker.users.get(e.user) === undefined)
      p.bad.push(`${what}: no user '${e.user}' (add it to 'users')`);
    if (!vhostKnown(e.vhost)) p.bad.push(`${what}: ${noVhost(e.vhost)}`);
  }
  for (const name of plan.limits.keys())
    if (!vhostKnown(name)) p.bad.push(`limits of vhost '${name}': ${noVhost(name)}`);
}

export function noVhost(name: string): string {
  return `vhost '${name}' does not exist (add it to 'vhosts' to create it)`;
}

/**
 * Applies what cannot fail once checked: vhost metadata and limits, users, then permissions.
 * Unchanged entries are not written again, so loading the same file at every boot is cheap.
 */
export function applyAccess(broker: Broker, plan: AccessPlan): void {
  for (const v of plan.vhosts) {
    const have = broker.vhosts.get(v.name);
    if (
      have === undefined ||
      (v.description !== undefined && v.description !== have.description) ||
      (v.tags !== undefined && !isDeepStrictEqual(v.tags, [...have.tags]))
    )
      broker.putVhost(v.name, v);
  }
  for (const [name, limits] of plan.limits)
    if (!isDeepStrictEqual(limits, broker.vhosts.get(name)?.limits))
      broker.putVhost(name, { limits });
  for (const u of plan.users) {
    const have = broker.users.get(u.name);
    const input = { ...u.input };
    // No password in the entry: an existing user keeps its hash, and that hash's algorithm.
    if (have !== undefined && input.password === undefined && input.passwordHash === undefined)
      input.hashingAlgorithm = have.hashingAlgorithm;
    if (have !== undefined && sameUser(have, input)) continue;
    broker.access.putUser(u.name, input);
  }
  for (const e of plan.permissions) {
    const have = broker.access.permissions.get(e.user, e.vhost);
    if (
      have !== undefined &&
      have.configure === e.configure &&
      have.write === e.write &&
      have.read === e.read
    )
      continue;
    broker.access.setPermissions(e.user, e.vhost, e);
  }
}

function sameUser(
  have: {
    passwordHash: string;
    hashingAlgorithm: HashingAlgorithm;
    tags: readonly string[];
    limits: UserLimits;
  },
  input: UserInput,
): boolean {
  if (input.hashingAlgorithm !== undefined && input.hashingAlgorithm !== have.hashingAlgorithm)
    return false;
  if (input.passwordHash !== undefined && input.passwordHash !== have.passwordHash) return false;
  if (
    input.password !== undefined &&
    !checkPassword(input.password, have.passwordHash, have.hashingAlgorithm)
  )
    return false;
  if (input.limits !== undefined && !isDeepStrictEqual(input.limits, have.limits)) return false;
  return isDeepStrictEqual([...input.tags].sort(), [...have.tags].sort());
}
