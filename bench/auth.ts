/**
 * The `auth` scenario's login: a non-guest user on a non-default vhost with restrictive
 * permission expressions, created the same way on both brokers before the run (Baton: in its
 * data dir before it starts; the peer: its management API, else rabbitmqctl) and removed from
 * the peer afterwards.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Broker } from '../src/core/broker.js';
import type { PermissionSet } from '../src/core/access/permissions.js';
import { amqpPropertiesCodec } from '../src/protocol/amqp/properties-codec.js';
import { openStores } from '../src/store/open-stores.js';

export const BENCH_VHOST = 'bench';
export const BENCH_USER = 'bench';
/** Queue names the user may use start with this (run.ts names the auth queues so). */
export const BENCH_QUEUE_PREFIX = 'bench.';
/** Anchored, so every check runs a real match rather than `.*`. */
export const BENCH_PERMISSIONS: PermissionSet = {
  configure: '^bench\\..*',
  write: '^(amq\\.default|bench\\..*)$',
  read: '^bench\\..*',
};

/** A fresh password per run: nothing to leak, nothing left behind that still logs in. */
export const benchPassword = randomBytes(12).toString('hex');

/** `url` with the bench user's credentials and vhost. */
export function authUrl(url: string): string {
  const u = new URL(url);
  u.username = BENCH_USER;
  u.password = benchPassword;
  u.pathname = `/${encodeURIComponent(BENCH_VHOST)}`;
  return u.toString();
}

/** Creates the vhost, user and permissions in a Baton data dir before `baton serve` opens it. */
export async function seedBaton(dataDir: string): Promise<void> {
  const broker = await Broker.open({
    ...(await openStores({ dataDir })),
    codec: amqpPropertiesCodec,
  });
  try {
    broker.putVhost(BENCH_VHOST);
    broker.access.putUser(BENCH_USER, { password: benchPassword, tags: [] });
    broker.access.setPermissions(BENCH_USER, BENCH_VHOST, BENCH_PERMISSIONS);
  } finally {
    // Closing flushes the journaled definitions.
    await broker.close();
  }
}

/** The same on the peer; returns what removes them again. */
export async function setUpPeer(
  managementUrl: string | undefined,
  adminAuth: string,
): Promise<() => Promise<void>> {
  if (managementUrl !== undefined) {
    const api = async (method: string, path: string, body?: unknown): Promise<void> => {
      const r = await fetch(`${managementUrl}/api/${path}`, {
        method,
        headers: {
          authorization: `Basic ${Buffer.from(adminAuth).toString('base64')}`,
          'content-type': 'application/json',
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(10_000),
      });
      await r.arrayBuffer();
      // 404 on delete: already gone.
      if (!r.ok && !(method === 'DELETE' && r.status === 404))
        throw new Error(`peer management API: ${method} /api/${path} answered ${r.status}`);
    };
    const v = encodeURIComponent(BENCH_VHOST);
    await api('PUT', `vhosts/${v}`, {});
    await api('PUT', `users/${BENCH_USER}`, { password: benchPassword, tags: '' });
    await api('PUT', `permissions/${v}/${BENCH_USER}`, BENCH_PERMISSIONS);
    return async () => {
      await api('DELETE', `users/${BENCH_USER}`);
      await api('DELETE', `vhosts/${v}`);
    };
  }
  const ctl = (...args: string[]): void => {
    execFileSync(process.env.PEER_RABBITMQCTL ?? 'rabbitmqctl', args, { stdio: 'ignore' });
  };
  ctl('add_vhost', BENCH_VHOST);
  ctl('add_user', BENCH_USER, benchPassword);
  const p = BENCH_PERMISSIONS;
  ctl('set_permissions', '-p', BENCH_VHOST, BENCH_USER, p.configure, p.write, p.read);
  return () => {
    ctl('delete_user', BENCH_USER);
    ctl('delete_vhost', BENCH_VHOST);
    return Promise.resolve();
  };
}
