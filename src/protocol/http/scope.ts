import type { FastifyRequest } from 'fastify';
import type { Session } from '../../core/session.js';
import type { VirtualHost } from '../../core/vhost.js';
import { withSession, type HttpContext } from './context.js';
import { notFound } from './problem.js';

/** The vhost a path names, or 404 (before any session: connecting to a missing one is a 400). */
export function requireVhost(ctx: HttpContext, name: string): VirtualHost {
  const v = ctx.broker.vhosts.get(name);
  if (v === undefined) throw notFound(`no vhost '${name}'`);
  return v;
}

/** RabbitMQ's management API names the default exchange `amq.default` in paths. */
export function exchangeParam(name: string): string {
  return name === 'amq.default' ? '' : name;
}

/** Run `fn` on a core session of the request's user in `vhost` (404 for an unknown vhost). */
export function inVhost<T>(
  ctx: HttpContext,
  req: FastifyRequest,
  vhost: string,
  fn: (s: Session) => T | Promise<T>,
): Promise<T> {
  requireVhost(ctx, vhost);
  return withSession(ctx, req.user, req.socket.remoteAddress, vhost, fn);
}

/** 404 unless the queue exists (RabbitMQ answers a DELETE of a missing queue so). */
export function requireQueue(v: VirtualHost, name: string): void {
  if (!v.queues.has(name)) throw notFound(`no queue '${name}' in vhost '${v.name}'`);
}

export function requireExchange(v: VirtualHost, name: string): void {
  if (!v.exchanges.has(name))
    throw notFound(`no exchange '${name || 'amq.default'}' in vhost '${v.name}'`);
}

/** Path parameters of every vhost-scoped route. */
export interface VhostParams {
  vhost: string;
}
