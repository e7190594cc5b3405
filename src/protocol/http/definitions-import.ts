import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Broker } from '../../core/broker.js';
import type { BindingDefinition } from '../../core/definitions.js';
import type { Session } from '../../core/session.js';
import type { VirtualHost } from '../../core/vhost.js';
import { bodyObject, boolField, onlyFields, stringField, tableField, type Fields } from './body.js';
import { HttpError } from './problem.js';

interface QueueItem {
  vhost: string;
  name: string;
  durable: boolean;
  autoDelete: boolean;
  arguments: Record<string, unknown>;
}
interface ExchangeItem {
  vhost: string;
  name: string;
  type: string;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  arguments: Record<string, unknown>;
}
/** A binding as the core keeps it, minus the record tag. */
type BindingItem = Omit<BindingDefinition, 'type'>;

/** What an import will declare, checked whole before anything is applied. */
export interface ImportPlan {
  queues: QueueItem[];
  exchanges: ExchangeItem[];
  bindings: BindingItem[];
}

const TOP_LEVEL = [
  'rabbit_version',
  'rabbitmq_version',
  'product_name',
  'product_version',
  'rabbitmq_definition_format',
  'original_cluster_name',
  'original_vhost_name',
  'explanation',
  'metadata',
  'description',
  'limits',
  'users',
  'vhosts',
  'permissions',
  'topic_permissions',
  'parameters',
  'global_parameters',
  'policies',
  'queues',
  'exchanges',
  'bindings',
];

/**
 * Global parameters that name the exporting cluster (RabbitMQ writes them in every export):
 * they describe where the file came from, not a setting to take over.
 */
const SOURCE_IDENTITY = ['cluster_name', 'internal_cluster_id'];

/**
 * Read a definitions document (RabbitMQ's export format) into a plan, or refuse it whole:
 * 400 for malformed entries, 501 for what Baton cannot apply yet (other users, new vhosts,
 * policies, parameters), each problem named. `only`: an import into one vhost, whose items'
 * vhost fields are ignored, as RabbitMQ's.
 */
export function planImport(broker: Broker, body: unknown, only?: VirtualHost): ImportPlan {
  const doc = bodyObject(body, 'definitions');
  onlyFields(doc, TOP_LEVEL, [], 'definitions');
  const bad: string[] = [];
  const missing: string[] = [];
  const items = (key: string): Fields[] => {
    const v = doc[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      bad.push(`'${key}' must be an array`);
      return [];
    }
    return v.filter((x, i) => {
      const ok = x !== null && typeof x === 'object' && !Array.isArray(x);
      if (!ok) bad.push(`${key}[${i}] must be an object`);
      return ok;
    }) as Fields[];
  };
  const guard = <T>(what: string, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      bad.push(`${what}: ${err.message}`);
      return undefined;
    }
  };
  const vhostOf = (o: Fields, what: string): string | undefined => {
    const name = only?.name ?? guard(what, () => stringField(o, 'vhost', '/'));
    if (name !== undefined && !broker.vhosts.has(name)) {
      missing.push(
        `${what}: vhost '${name}' does not exist (creating vhosts is not supported yet)`,
      );
      return undefined;
    }
    return name;
  };

  checkUsers(broker, items('users'), bad, missing);
  for (const v of items('vhosts')) {
    const name = guard('vhosts', () => stringField(v, 'name'));
    if (name === undefined) bad.push("vhosts: an entry has no 'name'");
    else if (!broker.vhosts.has(name))
      missing.push(`vhost '${name}': creating vhosts is not supported yet`);
    if (v.limits !== undefined && !isEmpty(v.limits))
      missing.push(`vhost '${name}': limits are not supported`);
  }
  if (only !== undefined && doc.limits !== undefined && !isEmpty(doc.limits))
    missing.push(`vhost '${only.name}': limits are not supported`);
  for (const p of items('permissions')) {
    const text = JSON.stringify(p);
    const full = ['configure', 'write', 'read'].every((k) => p[k] === '.*');
    if (p.user !== 'guest' || !full || typeof p.vhost !== 'string' || !broker.vhosts.has(p.vhost))
      missing.push(
        `permission ${text}: only guest's full access ('.*') to existing vhosts exists until users and permissions arrive`,
      );
  }
  for (const key of ['topic_permissions', 'parameters', 'policies'])
    for (const x of items(key))
      missing.push(
        `${key} ${JSON.stringify(x.name ?? x.user ?? x)}: ${key.replace('_', ' ')} are not supported yet`,
      );
  for (const g of items('global_parameters'))
    if (!SOURCE_IDENTITY.includes(String(g.name)))
      missing.push(`global parameter ${JSON.stringify(g.name)} is not supported`);

  const plan: ImportPlan = { queues: [], exchanges: [], bindings: [] };
  for (const q of items('queues')) {
    const what = `queue ${JSON.stringify(q.name)}`;
    const item = guard(what, () => {
      onlyFields(q, ['name', 'vhost', 'durable', 'auto_delete', 'arguments', 'type'], [], what);
      const args = tableField(q, 'arguments');
      const type = stringField(q, 'type');
      if (
        type !== undefined &&
        type !== (typeof args['x-queue-type'] === 'string' ? args['x-queue-type'] : 'classic')
      )
        throw new HttpError(400, `type '${type}' disagrees with its x-queue-type argument`);
      return {
        name: stringField(q, 'name') ?? '',
        durable: boolField(q, 'durable', true),
        autoDelete: boolField(q, 'auto_delete', false),
        arguments: args,
      };
    });
    const vhost = vhostOf(q, what);
    if (item !== undefined && item.name === '') bad.push("queues: an entry has no 'name'");
    else if (item !== undefined && vhost !== undefined) plan.queues.push({ ...item, vhost });
  }
  for (const x of items('exchanges')) {
    const what = `exchange ${JSON.stringify(x.name)}`;
    const item = guard(what, () => {
      onlyFields(
        x,
        ['name', 'vhost', 'type', 'durable', 'auto_delete', 'internal', 'arguments'],
        [],
        what,
      );
      return {
        name: stringField(x, 'name') ?? '',
        type: stringField(x, 'type', 'direct'),
        durable: boolField(x, 'durable', true),
        autoDelete: boolField(x, 'auto_delete', false),
        internal: boolField(x, 'internal', false),
        arguments: tableField(x, 'arguments'),
      };
    });
    const vhost = vhostOf(x, what);
    if (item !== undefined && item.name === '') bad.push("exchanges: an entry has no 'name'");
    else if (item !== undefined && vhost !== undefined) plan.exchanges.push({ ...item, vhost });
  }
  for (const b of items('bindings')) {
    const what = `binding ${JSON.stringify(b.source)} → ${JSON.stringify(b.destination)}`;
    const item = guard(what, () => {
      onlyFields(
        b,
        ['source', 'vhost', 'destination', 'destination_type', 'routing_key', 'arguments'],
        [],
        what,
      );
      const type = stringField(b, 'destination_type', 'queue');
      if (type !== 'queue' && type !== 'exchange')
        throw new HttpError(400, `destination_type must be 'queue' or 'exchange', got '${type}'`);
      const source = stringField(b, 'source');
      const destination = stringField(b, 'destination');
      if (source === undefined || destination === undefined)
        throw new HttpError(400, "a binding needs 'source' and 'destination'");
      return {
        source,
        destination,
        destinationType: type,
        routingKey: stringField(b, 'routing_key', ''),
        arguments: tableField(b, 'arguments'),
      } satisfies Omit<BindingItem, 'vhost'>;
    });
    const vhost = vhostOf(b, what);
    if (item !== undefined && vhost !== undefined) plan.bindings.push({ ...item, vhost });
  }
  if (missing.length !== 0)
    throw new HttpError(
      501,
      `definitions not imported (nothing was changed): ${[...bad, ...missing].join('; ')}`,
    );
  if (bad.length !== 0)
    throw new HttpError(400, `definitions not imported (nothing was changed): ${bad.join('; ')}`);
  return plan;
}

/** Users: only guest exists until users arrive; an entry must describe it as it is. */
function checkUsers(broker: Broker, users: Fields[], bad: string[], missing: string[]): void {
  const known = new Map(broker.users.list().map((u) => [u.name, u]));
  for (const u of users) {
    const name = typeof u.name === 'string' ? u.name : undefined;
    const have = name === undefined ? undefined : known.get(name);
    if (have === undefined) {
      missing.push(
        `user ${JSON.stringify(u.name)}: adding users is not supported yet (only guest exists)`,
      );
      continue;
    }
    const tags = Array.isArray(u.tags)
      ? u.tags.map(String)
      : typeof u.tags === 'string'
        ? u.tags
            .split(',')
            .map((t) => t.trim())
            .filter((t) => t !== '')
        : undefined;
    if (tags !== undefined && !isDeepStrictEqual([...tags].sort(), [...have.tags].sort()))
      missing.push(`user '${name}': changing tags to ${JSON.stringify(tags)} is not supported yet`);
    if (typeof u.password === 'string' && u.password !== 'guest')
      missing.push(`user '${name}': changing passwords is not supported yet`);
    if (typeof u.password_hash === 'string' && u.password_hash !== '') {
      const same = hashIsOf(
        u.password_hash,
        typeof u.hashing_algorithm === 'string' ? u.hashing_algorithm : '',
        'guest',
      );
      if (same === undefined)
        bad.push(
          `user '${name}': unknown hashing_algorithm ${JSON.stringify(u.hashing_algorithm)}`,
        );
      else if (!same) missing.push(`user '${name}': changing passwords is not supported yet`);
    }
    if (u.limits !== undefined && !isEmpty(u.limits))
      missing.push(`user '${name}': user limits are not supported`);
  }
}

/**
 * Whether a RabbitMQ password hash (base64 of a 4-byte salt and hash(salt ++ password)) is
 * of `password`; undefined for an algorithm Baton does not know.
 */
function hashIsOf(hash: string, algorithm: string, password: string): boolean | undefined {
  const algo =
    algorithm === '' || algorithm === 'rabbit_password_hashing_sha256'
      ? 'sha256'
      : algorithm === 'rabbit_password_hashing_sha512'
        ? 'sha512'
        : algorithm === 'rabbit_password_hashing_md5'
          ? 'md5'
          : undefined;
  if (algo === undefined) return undefined;
  const raw = Buffer.from(hash, 'base64');
  if (raw.length < 5) return false;
  const salt = raw.subarray(0, 4);
  const want = createHash(algo)
    .update(Buffer.concat([salt, Buffer.from(password)]))
    .digest();
  return want.equals(raw.subarray(4));
}

function isEmpty(v: unknown): boolean {
  return (
    v === null ||
    (Array.isArray(v) && v.length === 0) ||
    (typeof v === 'object' && v !== null && Object.keys(v).length === 0)
  );
}

/**
 * Apply a plan vhost by vhost through core sessions: exchanges, queues, then bindings. If any
 * declaration fails, what this import created is removed again, so a failed import changes
 * nothing (declarations that already existed are left as they were).
 */
export async function applyImport(
  plan: ImportPlan,
  broker: Broker,
  session: (vhost: string, fn: (s: Session) => void) => Promise<void>,
): Promise<void> {
  const vhosts = new Set([
    ...plan.exchanges.map((x) => x.vhost),
    ...plan.queues.map((q) => q.vhost),
    ...plan.bindings.map((b) => b.vhost),
  ]);
  const undo: (() => Promise<void>)[] = [];
  try {
    for (const name of vhosts) {
      const v = broker.vhosts.get(name)!;
      await session(name, (s) => {
        for (const x of plan.exchanges.filter((i) => i.vhost === name)) {
          const created = !v.exchanges.has(x.name);
          s.declareExchange(x.name, x.type, x);
          if (created) undo.push(() => session(name, (u) => u.deleteExchange(x.name)));
        }
        for (const q of plan.queues.filter((i) => i.vhost === name)) {
          const created = !v.queues.has(q.name);
          s.declareQueue(q.name, q);
          if (created) undo.push(() => session(name, (u) => void u.deleteQueue(q.name)));
        }
        for (const b of plan.bindings.filter((i) => i.vhost === name)) {
          const { source, destination, destinationType: kind, routingKey: key } = b;
          const created = !hasBinding(v, b);
          s.bind(source, destination, kind, key, b.arguments);
          if (created)
            undo.push(() =>
              session(name, (u) => u.unbind(source, destination, kind, key, b.arguments)),
            );
        }
      });
    }
  } catch (err) {
    for (const u of undo.reverse()) await u().catch(() => {});
    throw err;
  }
}

function hasBinding(v: VirtualHost, b: BindingItem): boolean {
  const ex = v.exchanges.get(b.source);
  const dest =
    b.destinationType === 'queue' ? v.queues.get(b.destination) : v.exchanges.get(b.destination);
  if (ex === undefined || dest === undefined) return false;
  return ex.findBinding(dest, b.routingKey, b.arguments, isDeepStrictEqual) !== undefined;
}
