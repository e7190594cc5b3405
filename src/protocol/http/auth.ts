import type { FastifyContextConfig, FastifyReply, FastifyRequest } from 'fastify';
import { loginRefused } from '../../core/access/users.js';
import { BatonError } from '../../core/errors.js';
import type { HttpContext } from './context.js';
import { sendProblem } from './problem.js';
import { plainHost } from '../../util/host-port.js';
import { requireTag, type ManagementTag } from './tags.js';
import { checkVhostPath } from './visibility.js';

declare module 'fastify' {
  /** What a route may say in its `config`: public (no login) or the user tag it needs. */
  interface FastifyContextConfig {
    public?: boolean;
    /** The tag the route needs; 'management' unless it says otherwise. */
    tag?: ManagementTag;
  }
}

/**
 * HTTP basic auth, as RabbitMQ's management plugin: the same users as AMQP. Decided by the
 * route that matched, never by the raw URL (`/%61pi/…` routes to /api too): every route needs
 * a login except those marked `config: { public: true }` (the dashboard's static files); a
 * request no route matched gets its 404 either way. A browser dashboard sends `x-baton-ui: 1`
 * so a 401 does not pop up the browser's own login box. A login then needs the route's tag
 * (`config: { tag }`, 'management' by default) and, on a path naming a vhost, access to it
 * (visibility.ts): both 403, since the credentials were right.
 */
export function basicAuth(ctx: HttpContext) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (req.is404) return;
    const config = req.routeOptions.config as FastifyContextConfig | undefined;
    if (config?.public === true) return;
    const header = req.headers.authorization;
    const creds = header === undefined ? undefined : parseBasic(header);
    if (creds === undefined) return refuse(reply, req, 'Not_Authorized');
    const remote = req.socket.remoteAddress;
    const throttle = ctx.broker.logins;
    try {
      // Throttled after repeated failures from this address: the answer waits (an await).
      req.user = await throttle.attempt(
        remote,
        () => ctx.broker.access.authenticate(creds.user, creds.pass, remote),
        () => loginRefused('PLAIN'),
      );
    } catch (err) {
      if (!(err instanceof BatonError)) throw err;
      const peer = plainHost(remote ?? '');
      // While the address is throttled its one warning says so; each refusal is debug.
      ctx.logger[throttle.throttled(remote) ? 'debug' : 'warn'](
        { user: creds.user, peer, protocol: 'http' },
        `HTTP login failed for user '${creds.user}' from ${peer}: ${err.message}`,
      );
      return refuse(reply, req, err.message);
    }
    const tag = config?.tag ?? 'management';
    requireTag(req, tag);
    checkVhostPath(ctx, req, tag === 'administrator');
  };
}

function refuse(reply: FastifyReply, req: FastifyRequest, why: string): FastifyReply {
  if (req.headers['x-baton-ui'] === undefined)
    reply.header('www-authenticate', 'Basic realm="Baton Management"');
  return sendProblem(reply, 401, why, 'not_authorized');
}

function parseBasic(header: string): { user: string; pass: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (m === null) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = text.indexOf(':');
  if (i < 0) return undefined;
  return { user: text.slice(0, i), pass: text.slice(i + 1) };
}
