// The broker-wide poll: /api/overview and /api/nodes every 5 s, whatever page is open, so the
// alarm banner is always current and the overview charts keep their last 5 minutes.

import { get, isMissingEndpoint } from './api.js';

export const POLL_MS = 5000;
const KEEP_MS = 5 * 60_000 + POLL_MS;

/** The rates the overview charts; RabbitMQ's message_stats names. */
export const RATE_KEYS = ['publish', 'deliver_get', 'ack', 'redeliver', 'confirm'];

const state = {
  /** @type {any} */ overview: undefined,
  /** @type {any[]} */ nodes: [],
  /** GET /api/baton/journal, or null when the broker has none. @type {any} */ journal: undefined,
  /** @type {Error | undefined} */ journalError: undefined,
  /** @type {{t: number, v: Record<string, number>}[]} */ rates: [],
  /** @type {{t: number, v: Record<string, number>}[]} */ queued: [],
  /** @type {Error | undefined} */ error: undefined,
  /** @type {{t: number, counters: Record<string, number>} | undefined} */ last: undefined,
};
const subscribers = new Set();
let timer;

export const live = () => state;

/** `fn(state)` after every poll; returns the unsubscribe function. */
export function subscribe(fn) {
  subscribers.add(fn);
  return () => subscribers.delete(fn);
}

/**
 * Rates from counter deltas over this poll's own interval (smooth, whatever the server's
 * sampling window); the server's `x_details.rate` only for the first point.
 */
function sampleRates(stats, t) {
  const counters = {};
  const v = {};
  for (const k of RATE_KEYS) {
    const n = stats?.[k];
    if (typeof n === 'number') counters[k] = n;
    const prev = state.last?.counters[k];
    const given = stats?.[`${k}_details`]?.rate;
    if (typeof n === 'number' && typeof prev === 'number' && t > state.last.t)
      v[k] = Math.max(0, (n - prev) / ((t - state.last.t) / 1000));
    else v[k] = typeof given === 'number' ? given : 0;
  }
  state.last = { t, counters };
  return v;
}

async function poll() {
  const t = Date.now();
  try {
    const [overview, nodes, journal] = await Promise.all([
      get('overview'),
      get('nodes').catch(() => []),
      get('baton/journal').catch((err) => {
        state.journalError = isMissingEndpoint(err) ? undefined : err;
        return isMissingEndpoint(err) ? null : undefined;
      }),
    ]);
    state.overview = overview;
    state.nodes = Array.isArray(nodes) ? nodes : [];
    state.journal = journal;
    if (journal) state.journalError = undefined;
    state.error = undefined;
    state.rates.push({ t, v: sampleRates(overview?.message_stats, t) });
    const q = overview?.queue_totals ?? {};
    state.queued.push({
      t,
      v: { ready: q.messages_ready ?? 0, unacked: q.messages_unacknowledged ?? 0 },
    });
    while (state.rates.length && state.rates[0].t < t - KEEP_MS) state.rates.shift();
    while (state.queued.length && state.queued[0].t < t - KEEP_MS) state.queued.shift();
  } catch (err) {
    state.error = err;
  }
  for (const fn of subscribers) fn(state);
}

/** Starts polling (once); the first poll runs now. */
export function startLive() {
  if (timer !== undefined) return;
  void poll();
  timer = setInterval(() => void poll(), POLL_MS);
}

export function stopLive() {
  clearInterval(timer);
  timer = undefined;
  state.rates = [];
  state.queued = [];
  state.last = undefined;
  state.overview = undefined;
}

/** Polls now (after an action that changes counts) instead of waiting for the next tick. */
export const refreshLive = () => poll();

/** The alarms in force, as readable sentences. */
export function alarms() {
  const out = [];
  const j = state.journal;
  const storeAlarms = j && Array.isArray(j.alarms) ? j.alarms : undefined;
  for (const n of state.nodes) {
    const name = n.name ?? 'node';
    if (n.mem_alarm)
      out.push(`Memory alarm on ${name}: publishers are blocked until memory use falls.`);
    // The journal's own alarm also sets disk_free_alarm; say which it is when we can tell.
    if (n.disk_free_alarm && (storeAlarms === undefined || storeAlarms.includes('disk')))
      out.push(`Disk alarm on ${name}: free disk is below the limit, publishers are blocked.`);
    for (const a of Array.isArray(n.alarms) ? n.alarms : [])
      out.push(
        typeof a === 'string'
          ? `${a} alarm on ${name}`
          : `${a.resource ?? a.type ?? 'resource'} alarm on ${name}`,
      );
  }
  if (storeAlarms?.includes('journal'))
    out.push(
      `Journal alarm: the store failed${j.failure ? ` (${j.failure})` : ''}; publishes are refused until the broker restarts into recovery.`,
    );
  if (j && typeof j.stall === 'string') out.push(`Journal writes are stalled: ${j.stall}`);
  return out;
}
