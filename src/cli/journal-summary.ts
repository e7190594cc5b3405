/** GET /api/baton/journal as Baton returns it (src/protocol/http/routes/journal.ts). */
export interface JournalHealth {
  store?: string;
  segments?: number;
  bytes?: number;
  spare_files?: number;
  live_messages?: number;
  syncs?: number;
  fsync_seconds?: Histogram;
  commit_batch_records?: Histogram;
  recovery?: {
    clean?: boolean;
    ms?: number;
    torn_tail_bytes?: number;
    skipped_bytes?: number;
    skipped_ranges?: number;
  };
  failure?: unknown;
  stall?: unknown;
  body_memory_bytes?: number;
  body_memory_limit_bytes?: number;
  paged_bytes?: number;
  alarms?: string[];
}

interface Histogram {
  count: number;
  sum: number;
  buckets: { le: number | string; count: number }[];
}

/** "5.7 KiB". */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

const ms = (seconds: number): string =>
  seconds < 0.001 ? `${(seconds * 1e6).toFixed(0)} µs` : `${(seconds * 1000).toFixed(1)} ms`;

/** The smallest bucket bound holding at least fraction `q` of the observations. */
export function quantileBound(h: Histogram, q: number): number | string | undefined {
  if (h.count === 0) return undefined;
  return h.buckets.find((b) => b.count >= q * h.count)?.le;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** `[label, value]` lines for `baton status`: what an operator checks, not every counter. */
export function journalLines(j: JournalHealth): [string, string][] {
  const lines: [string, string][] = [];
  if (j.store !== 'journal') {
    lines.push(['store', `${j.store ?? 'unknown'} (no journal on disk)`]);
  } else {
    let disk = `${j.segments ?? 0} segment${j.segments === 1 ? '' : 's'}, ${bytes(j.bytes ?? 0)}, ${j.live_messages ?? 0} live messages`;
    if ((j.spare_files ?? 0) > 0) disk += `, ${j.spare_files} spare files`;
    lines.push(['journal', disk]);
    const f = j.fsync_seconds;
    if (f !== undefined && f.count > 0) {
      const p99 = quantileBound(f, 0.99);
      lines.push([
        'fsync',
        `${f.count} syncs, mean ${ms(f.sum / f.count)}${typeof p99 === 'number' ? `, 99% ≤ ${ms(p99)}` : ''}`,
      ]);
    }
    const c = j.commit_batch_records;
    if (c !== undefined && c.count > 0)
      lines.push([
        'group commit',
        `${c.sum} records in ${c.count} batches (mean ${(c.sum / c.count).toFixed(1)})`,
      ]);
    const r = j.recovery;
    if (r !== undefined) {
      const cut = [
        (r.torn_tail_bytes ?? 0) > 0 ? `cut a ${bytes(r.torn_tail_bytes!)} torn tail` : '',
        (r.skipped_ranges ?? 0) > 0
          ? `skipped ${r.skipped_ranges} corrupt ranges (${bytes(r.skipped_bytes ?? 0)})`
          : '',
      ].filter((s) => s !== '');
      lines.push(['recovery', `${cut.length === 0 ? 'clean' : cut.join(', ')} in ${r.ms ?? 0} ms`]);
    }
  }
  if (j.body_memory_bytes !== undefined) {
    let mem = `${bytes(j.body_memory_bytes)} of bodies in memory`;
    if (j.body_memory_limit_bytes !== undefined)
      mem += ` (limit ${bytes(j.body_memory_limit_bytes)})`;
    mem += `, ${bytes(j.paged_bytes ?? 0)} paged out`;
    lines.push(['memory', mem]);
  }
  if (j.failure !== undefined && j.failure !== null) lines.push(['store failure', text(j.failure)]);
  if (j.stall !== undefined && j.stall !== null) lines.push(['store stall', text(j.stall)]);
  return lines;
}
