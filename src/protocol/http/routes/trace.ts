import type { TraceEvent } from '../../../core/trace.js';
import type { VirtualHost } from '../../../core/vhost.js';
import type { HttpContext } from '../context.js';
import type { RouteGroup } from './index.js';
import { HttpError, notFound } from '../problem.js';
import { ADMIN_ONLY } from '../tags.js';

/**
 * Baton's message-life log (src/core/trace.ts), while tracing is on for the vhost:
 * GET /api/baton/trace/{vhost} lists recent message ids, GET /api/baton/trace/{vhost}/messages/{id}
 * gives one message's events in order. Administrators only, as RabbitMQ's /api/traces: the
 * events show who published what, where it was routed and who took it (monitoring, which may
 * read any vhost, must not read its traffic).
 */
export const traceRoutes: RouteGroup = (app, ctx) => {
  app.get<{ Params: { vhost: string } }>('/api/baton/trace/:vhost', ADMIN_ONLY, (req) => {
    const v = tracedVhost(ctx, req.params.vhost);
    return {
      vhost: v.name,
      tracing: true,
      messages: v.tracer.recent().map((m) => ({
        message_id: m.messageId,
        event_count: m.events,
        last_event: m.last.event,
        last_time: new Date(m.last.time).toISOString(),
      })),
    };
  });

  app.get<{ Params: { vhost: string; id: string } }>(
    '/api/baton/trace/:vhost/messages/:id',
    ADMIN_ONLY,
    (req) => {
      const v = tracedVhost(ctx, req.params.vhost);
      const life = v.tracer.life(req.params.id);
      if (life === undefined)
        throw notFound(
          `no traced events for message-id '${req.params.id}' in vhost '${v.name}': only messages with a message-id seen while tracing is on are recorded`,
        );
      return {
        message_id: life.messageId,
        vhost: v.name,
        events_dropped: life.dropped,
        events: life.events.map(eventJson),
      };
    },
  );
};

function tracedVhost(ctx: HttpContext, name: string): VirtualHost {
  const v = ctx.broker.vhosts.get(name);
  if (v === undefined) throw notFound(`vhost '${name}' not found`);
  if (!v.tracing)
    throw new HttpError(
      409,
      `tracing is off for vhost '${name}': turn it on with PUT /api/vhosts/${encodeURIComponent(name)} {"tracing": true}`,
    );
  return v;
}

/** An event as JSON: ISO time, RabbitMQ-style snake_case field names. */
function eventJson(e: TraceEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { time: new Date(e.time).toISOString() };
  for (const [k, v] of Object.entries(e))
    if (k !== 'time') out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v;
  return out;
}
