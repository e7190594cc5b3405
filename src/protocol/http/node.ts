import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { VirtualHost } from '../../core/vhost.js';
import type { HttpContext } from './context.js';
import { notFound } from './problem.js';

/** This broker's node name, RabbitMQ style (`name@host`): what every object's `node` says. */
export const NODE_NAME = `baton@${hostname()}`;

/** The vhost a path names, or 404 as RabbitMQ answers for an unknown one. */
export function vhostOf(ctx: HttpContext, name: string): VirtualHost {
  const v = ctx.broker.vhosts.get(name);
  if (v === undefined) throw notFound(`vhost '${name}' not found`);
  return v;
}

/** The cluster name clients see (AMQP server properties say the same). */
export const CLUSTER_NAME = 'baton';

/** Baton's own version, from package.json. */
export const PRODUCT_VERSION = (
  JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/**
 * The RabbitMQ release whose management API Baton answers like: tools (rabbitmqadmin, the
 * HTTP API clients) switch features on by it.
 */
export const RABBITMQ_COMPAT_VERSION = '3.13.7';
