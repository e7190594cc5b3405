import type { PermissionSet } from '../../src/core/access/permissions.js';
import type { Broker } from '../../src/core/broker.js';
import { Message } from '../../src/core/message.js';

/**
 * The permission matrix as data: every operation a client can do, with what RabbitMQ's
 * access-control table says it needs. Protocol runners (AMQP here, HTTP, later STOMP) look
 * operations up by name, so a new protocol adds a runner map and reuses the table and cases.
 */

export type Permission = keyof PermissionSet;
export type ResourceKind = 'queue' | 'exchange';

/** One permission on one resource that an operation needs. */
export interface Requirement {
  readonly permission: Permission;
  readonly kind: ResourceKind;
  /** The resource as RabbitMQ names it in the refusal (the default exchange: amq.default). */
  readonly name: string;
  /** The name is server-chosen and only starts with `name` (amq.gen-…). */
  readonly prefix?: boolean;
}

export interface MatrixOperation {
  readonly name: string;
  /** Everything it needs; empty: allowed with permissions that match nothing. */
  readonly requires: readonly Requirement[];
  /** The permissions that allow it, when not `.*` everywhere (the amq.gen pattern). */
  readonly allow?: PermissionSet;
}

const need = (permission: Permission, kind: ResourceKind, name: string): Requirement => ({
  permission,
  kind,
  name,
});

/**
 * What every case's vhost holds before the operation runs (built by `seedFixture`): queue q
 * with one message, exchanges x and x2 (direct), dlx and ae, bindings x→q and x→x2 on 'k'.
 */
export const FIXTURE = {
  queue: 'q',
  exchange: 'x',
  exchange2: 'x2',
  dlx: 'dlx',
  ae: 'ae',
  key: 'k',
} as const;

export const OPERATIONS: readonly MatrixOperation[] = [
  { name: 'queue.declare', requires: [need('configure', 'queue', 'newq')] },
  { name: 'queue.declare passive', requires: [] },
  {
    name: 'queue.declare server-named',
    requires: [{ permission: 'configure', kind: 'queue', name: 'amq.gen-', prefix: true }],
    allow: { configure: '^amq\\.gen.*', write: '', read: '' },
  },
  {
    name: 'queue.declare x-dead-letter-exchange',
    requires: [
      need('configure', 'queue', 'dlq'),
      need('write', 'exchange', 'dlx'),
      need('read', 'queue', 'dlq'),
    ],
  },
  { name: 'queue.delete', requires: [need('configure', 'queue', 'q')] },
  { name: 'queue.purge', requires: [need('read', 'queue', 'q')] },
  {
    name: 'queue.bind',
    requires: [need('write', 'queue', 'q'), need('read', 'exchange', 'x')],
  },
  {
    name: 'queue.unbind',
    requires: [need('write', 'queue', 'q'), need('read', 'exchange', 'x')],
  },
  { name: 'exchange.declare', requires: [need('configure', 'exchange', 'newx')] },
  { name: 'exchange.declare passive', requires: [] },
  {
    name: 'exchange.declare alternate-exchange',
    requires: [
      need('configure', 'exchange', 'aex'),
      need('write', 'exchange', 'ae'),
      need('read', 'exchange', 'aex'),
    ],
  },
  { name: 'exchange.delete', requires: [need('configure', 'exchange', 'x')] },
  {
    name: 'exchange.bind',
    requires: [need('write', 'exchange', 'x2'), need('read', 'exchange', 'x')],
  },
  {
    name: 'exchange.unbind',
    requires: [need('write', 'exchange', 'x2'), need('read', 'exchange', 'x')],
  },
  { name: 'basic.publish', requires: [need('write', 'exchange', 'x')] },
  { name: 'basic.publish default exchange', requires: [need('write', 'exchange', 'amq.default')] },
  { name: 'basic.get', requires: [need('read', 'queue', 'q')] },
  { name: 'basic.consume', requires: [need('read', 'queue', 'q')] },
];

export const FULL: PermissionSet = { configure: '.*', write: '.*', read: '.*' };
export const NOTHING: PermissionSet = { configure: '', write: '', read: '' };

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Full permissions except that `r.permission` excludes exactly r's resource. */
export function denying(r: Requirement): PermissionSet {
  const name = escapeRegExp(r.name);
  return { ...FULL, [r.permission]: r.prefix === true ? `^(?!${name}).*` : `^(?!${name}$).*` };
}

/** RabbitMQ's refusal text for r (a pattern when the name is server-chosen). */
export function refusal(r: Requirement, vhost: string, user: string): RegExp {
  const name = escapeRegExp(r.name) + (r.prefix === true ? "[^']*" : '');
  return new RegExp(
    `^${r.permission} access to ${r.kind} '${name}' in vhost '${escapeRegExp(vhost)}' refused for user '${escapeRegExp(user)}'$`,
  );
}

export interface MatrixCase {
  readonly title: string;
  readonly operation: MatrixOperation;
  readonly permissions: PermissionSet;
  /** undefined: the operation succeeds; else the requirement whose refusal is expected. */
  readonly denied?: Requirement;
}

/** Each operation allowed, then denied once per requirement (or allowed with nothing). */
export function matrixCases(ops: readonly MatrixOperation[] = OPERATIONS): MatrixCase[] {
  const out: MatrixCase[] = [];
  for (const op of ops) {
    out.push({ title: `${op.name}: allowed`, operation: op, permissions: op.allow ?? FULL });
    if (op.requires.length === 0)
      out.push({
        title: `${op.name}: allowed with permissions that match nothing`,
        operation: op,
        permissions: NOTHING,
      });
    for (const r of op.requires)
      out.push({
        title: `${op.name}: denied without ${r.permission} on ${r.kind} '${r.name}${r.prefix === true ? '…' : ''}'`,
        operation: op,
        permissions: denying(r),
        denied: r,
      });
  }
  return out;
}

/** A fresh vhost with the fixture, built by a trusted in-process session. */
export function seedFixture(broker: Broker, vhost: string): void {
  broker.putVhost(vhost);
  const c = broker.connect({ user: 'matrix-admin', trusted: true }, vhost);
  try {
    const s = c.openSession({ deliver: () => true, consumerCancelled: () => {} });
    s.declareQueue(FIXTURE.queue, { durable: true });
    for (const x of [FIXTURE.exchange, FIXTURE.exchange2, FIXTURE.dlx, FIXTURE.ae])
      s.declareExchange(x, 'direct', { durable: true });
    s.bind(FIXTURE.exchange, FIXTURE.queue, 'queue', FIXTURE.key);
    s.bind(FIXTURE.exchange, FIXTURE.exchange2, 'exchange', FIXTURE.key);
    const props = broker.properties.encode({ deliveryMode: 2 });
    s.publish('', FIXTURE.queue, new Message('', FIXTURE.queue, props, Buffer.from('m'), true));
  } finally {
    c.close();
  }
}
