// Number, byte, rate and time formatting shared by the pages.

const nf = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const nf1 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

export function num(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  return nf.format(n);
}

/** A rate per second: one decimal below 10/s. */
export function rate(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  return `${Math.abs(n) < 10 ? nf1.format(n) : nf.format(n)}/s`;
}

/** Compact count for axes and tiles: 1.2k, 3.4M. */
export function compact(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a >= 1e9) return `${nf1.format(n / 1e9)}G`;
  if (a >= 1e6) return `${nf1.format(n / 1e6)}M`;
  if (a >= 1e4) return `${nf1.format(n / 1e3)}k`;
  return nf1.format(n);
}

export function bytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? nf.format(v) : nf1.format(v)} ${units[i]}`;
}

export function duration(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const hr = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${hr}h`;
  if (hr > 0) return `${hr}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** Milliseconds with a sensible unit (fsync latencies). */
export function millis(ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
  if (ms < 1) return `${nf1.format(ms * 1000)} µs`;
  if (ms < 1000) return `${nf1.format(ms)} ms`;
  return `${nf1.format(ms / 1000)} s`;
}

/** A timestamp (ms, seconds, or ISO string) as local date-time. */
export function time(t) {
  if (t === undefined || t === null || t === '') return '–';
  let d;
  if (typeof t === 'number') d = new Date(t < 1e11 ? t * 1000 : t);
  else d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toLocaleString(undefined, { hour12: false });
}

export function clock(ms) {
  return new Date(ms).toLocaleTimeString(undefined, {
    hour12: false,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

/** A rate out of RabbitMQ's `x_details: {rate}` next to counter `x`. */
export function detail(stats, key) {
  const d = stats?.[`${key}_details`];
  return typeof d?.rate === 'number' ? d.rate : undefined;
}

/**
 * A sortable table column for the rate of message_stats counter `field`. `stats`: the column
 * shows only where the broker keeps such counters (per-channel and per-exchange ones it may not).
 */
export function rateColumn(key, label, field, stats = false) {
  const col = {
    key,
    label,
    num: true,
    value: (o) => detail(o.message_stats, field) ?? 0,
    render: (o) =>
      rate(stats ? detail(o.message_stats, field) : (detail(o.message_stats, field) ?? 0)),
  };
  if (stats) col.stats = true;
  return col;
}

export const vhostLabel = (v) => (v === '/' ? '/' : v);
