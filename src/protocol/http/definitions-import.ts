import { isDeepStrictEqual } from 'node:util';
import type { Broker } from '../../core/broker.js';
import type { BindingDefinition } from '../../core/definitions.js';
import type { Session, SessionHandler } from '../../core/session.js';
import type { VirtualHost } from '../../core/vhost.js';
import { bodyObject, boolField, onlyFields, stringField, tableField, type Fields } from './body.js';
import {
  applyAccess,
  checkAccessRefs,
  label,
  noVhost,
  ONE_VHOST_IGNORES,
  Problems,
  readAccess,
  type AccessPlan,
} from './definitions-access.js';
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

/** What an import will do, checked whole before anything is applied. */
export interface ImportPlan {
  access: AccessPlan;
  queues: QueueItem[];
  exchanges: ExchangeItem[];
  bindings: BindingItem[];
  /** The sections a one-vhost import left out (ONE_VHOST_IGNORES the document has). */
  ignored: string[];
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
 * 400 for malformed entries and references to vhosts or users that neither exist nor are in
 * the document, 501 for what Baton cannot apply yet (policies, parameters other than vhost
 * limits, topic permissions), each problem named. `only`: an import into one vhost, whose
 * items' vhost fields are ignored and which takes none of the cluster's users, vhosts or
 * permissions, as RabbitMQ's. Without a broker only what the document says is checked (the
 * boot does that before the broker opens).
 */
export function planImport(
  broker: Broker | undefined,
  body: unknown,
  only?: VirtualHost,
): ImportPlan {
  const doc = bodyObject(body, 'definitions');
  onlyFields(doc, TOP_LEVEL, [], 'definitions');
  const p = new Problems();
  const access = readAccess(doc, p, only?.name);
  const created = new Set(access.vhosts.map((v) => v.name));
  const vhostKnown = (name: string): boolean =>
    broker === undefined || broker.vhosts.has(name) || created.has(name);
  if (broker !== undefined) checkAccessRefs(broker, access, p, vhostKnown);
  const vhostOf = (o: Fields, what: string): string | undefined => {
    const name = only?.name ?? p.guard(what, () => stringField(o, 'vhost', '/'));
    if (name !== undefined && !vhostKnown(name)) {
      p.bad.push(`${what}: ${noVhost(name)}`);
      return undefined;
    }
    return name;
  };

  for (const x of p.items(doc, 'policies'))
    p.missing.push(`policies ${label(x.name)}: policies are not supported yet`);
  for (const g of p.items(doc, 'global_parameters'))
    if (!SOURCE_IDENTITY.includes(String(g.name)))
      p.missing.push(`global parameter ${label(g.name)} is not supported`);

  const ignored =
    only === undefined
      ? []
      : ONE_VHOST_IGNORES.filter((k) => doc[k] !== undefined && doc[k] !== null);
  const plan: ImportPlan = { access, queues: [], exchanges: [], bindings: [], ignored };
  for (const q of p.items(doc, 'queues')) {
    const what = `queue ${label(q.name)}`;
    const item = p.guard(what, () => {
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
    if (item !== undefined && item.name === '') p.bad.push("queues: an entry has no 'name'");
    else if (item !== undefined && vhost !== undefined) plan.queues.push({ ...item, vhost });
  }
  for (const x of p.items(doc, 'exchanges')) {
    const what = `exchange ${label(x.name)}`;
    const item = p.guard(what, () => {
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
    if (item !== undefined && item.name === '') p.bad.push("exchanges: an entry has no 'name'");
    else if (item !== undefined && vhost !== undefined) plan.exchanges.push({ ...item, vhost });
  }
  for (const b of p.items(doc, 'bindings')) {
    const what = `binding ${label(b.source)} → ${label(b.destination)}`;
    const item = p.guard(what, () => {
      onlyFields(
        b,
        ['source', 'vhost', 'destination', 'destination_type', 'routing_key', 'arguments'],
        [],
        what,
      );
      const type = stringField(b, 'destination_type', 'queue');
      if (type !== 'queue' && type !== 'exchange')
        throw new HttpError(400, "destination_type must be 'queue' or 'exchange'");
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
  p.throwIfAny();
  return plan;
}

/** Who an import acts as: the management API's user, or the boot's loader. */
export interface Importer {
  user: string;
  protocol: string;
  remoteAddress?: string;
}

/**
 * Check and apply a definitions document, then wait until it is durable: the one import the
 * management API (POST /api/definitions) and the boot (--definitions) share.
 */
export async function importDefinitions(
  broker: Broker,
  body: unknown,
  by: Importer,
  only?: VirtualHost,
): Promise<ImportPlan> {
  const plan = planImport(broker, body, only);
  await applyImport(plan, broker, by);
  await new Promise<void>((resolve, reject) =>
    broker.afterSync((err) => (err === undefined ? resolve() : reject(err))),
  );
  return plan;
}

/** An import's session never consumes: deliveries are refused, so nothing waits on it. */
const handler: SessionHandler = { deliver: () => false, consumerCancelled: () => {} };

/**
 * Apply a plan: the vhosts it creates, then exchanges, queues and bindings vhost by vhost on
 * trusted core sessions (importing is an administrator's act, as in RabbitMQ: the importer's
 * own permissions do not apply, and the vhosts' limits are the file's, applied after its
 * declarations), then vhost metadata and limits, users, permissions. If a declaration fails,
 * what this import created is removed again, so a failed import changes nothing (what already
 * existed is left as it was). It runs without a pause, so no client acts in between.
 */
export function applyImport(plan: ImportPlan, broker: Broker, by: Importer): Promise<void> {
  const session = (vhost: string, fn: (s: Session) => void): void => {
    const c = broker.connect(
      {
        user: by.user,
        protocol: by.protocol,
        internal: true,
        trusted: true,
        ...(by.remoteAddress !== undefined ? { remoteAddress: by.remoteAddress } : {}),
      },
      vhost,
    );
    try {
      fn(c.openSession(handler));
    } finally {
      c.close();
    }
  };
  const undo: (() => void)[] = [];
  const lifted = new Map<VirtualHost, VirtualHost['limits']>();
  try {
    for (const v of plan.access.vhosts)
      if (!broker.vhosts.has(v.name)) {
        broker.putVhost(v.name, v);
        undo.push(() => broker.deleteVhost(v.name));
      }
    for (const name of plan.access.limits.keys()) {
      const v = broker.vhosts.get(name)!;
      lifted.set(v, v.limits);
      v.limits = {};
    }
    const vhosts = new Set([
      ...plan.exchanges.map((x) => x.vhost),
      ...plan.queues.map((q) => q.vhost),
      ...plan.bindings.map((b) => b.vhost),
    ]);
    for (const name of vhosts) {
      const v = broker.vhosts.get(name)!;
      session(name, (s) => {
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
    for (const [v, limits] of lifted) v.limits = limits;
    for (const u of undo.reverse())
      try {
        u();
      } catch {
        // Taking back what this import made: an end already gone is fine.
      }
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
  for (const [v, limits] of lifted) v.limits = limits;
  applyAccess(broker, plan.access);
  return Promise.resolve();
}

function hasBinding(v: VirtualHost, b: BindingItem): boolean {
  const ex = v.exchanges.get(b.source);
  const dest =
    b.destinationType === 'queue' ? v.queues.get(b.destination) : v.exchanges.get(b.destination);
  if (ex === undefined || dest === undefined) return false;
  return ex.findBinding(dest, b.routingKey, b.arguments, isDeepStrictEqual) !== undefined;
}
