import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../context.js';
import type { StoreHealth } from '../../../core/broker.js';

/**
 * GET /api/baton/journal: the store's health (segments, bytes, fsync latency and group-commit
 * batch histograms, what the last recovery cut or skipped), paging and alarms, as JSON with
 * RabbitMQ-style snake_case names. Baton's own; RabbitMQ has no equivalent.
 */
export function journalRoutes(app: FastifyInstance, ctx: HttpContext): void {
  // Node-level data, as RabbitMQ's /api/nodes: monitoring.
  app.get('/api/baton/journal', { config: { tag: 'monitoring' } }, () => {
    const b = ctx.broker;
    const h = b.storeHealth();
    return {
      ...(h === undefined ? { store: 'unknown' } : storeJson(h)),
      body_memory_bytes: b.bodies.bytes,
      body_memory_limit_bytes: b.bodies.limit,
      paged_bytes: b.bodies.paged,
      alarms: (['memory', 'disk', 'journal'] as const).filter((a) => b.alarms.active(a)),
    };
  });
}

function storeJson(h: StoreHealth): Record<string, unknown> {
  const r = h.recovery;
  return {
    store: h.kind,
    segments: h.segments,
    bytes: h.bytes,
    spare_files: h.spareFiles,
    live_messages: h.liveMessages,
    records_appended: h.appendedRecords,
    bytes_written: h.bytesWritten,
    syncs: h.syncs,
    compactions: h.compactions,
    deleted_segments: h.deletedSegments,
    write_retries: h.writeRetries,
    fsync_seconds: histogramJson(h.fsyncSeconds),
    commit_batch_records: histogramJson(h.commitBatchRecords),
    recovery: {
      segments: r.segments,
      records: r.records,
      messages: r.messages,
      torn_tail_bytes: r.tornTailBytes,
      skipped_bytes: r.skippedBytes,
      skipped_ranges: r.skippedRanges,
      clean: r.clean,
      ms: r.ms,
    },
    failure: h.failure ?? null,
    stall: h.stall ?? null,
  };
}

/** Prometheus-style cumulative buckets: `le` bound → observations at most that. */
function histogramJson(h: StoreHealth['fsyncSeconds']): Record<string, unknown> {
  return {
    count: h.count,
    sum: h.sum,
    buckets: [
      ...h.bounds.map((le, i) => ({ le, count: h.cumulative[i]! })),
      { le: '+Inf', count: h.count },
    ],
  };
}
