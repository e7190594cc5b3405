import type { LoadSpec } from './load.js';

export interface Figure {
  name: string;
  get: (r: {
    result: import('./load.js').LoadResult;
    brokerCpuSeconds: number;
    brokerPeakRss: number;
    /** Broker CPU over the whole load (set-up included) per message published, in µs. */
    brokerCpuUsPerMessage: number;
    /** Wall-clock time of the whole load, over which brokerCpuSeconds was taken. */
    wallSeconds: number;
  }) => number;
  higherIsBetter: boolean;
  digits?: number;
}

export interface Scenario {
  id: string;
  title: string;
  spec: Omit<LoadSpec, 'url' | 'queue'>;
  figures: Figure[];
  longOnly?: boolean;
  /** Measure Baton only (the peer would need hours or more disk than a run should take). */
  batonOnly?: boolean;
  /**
   * Run producers and consumers as separate processes (this many consumer processes), over
   * `queues` queues (default one).
   */
  split?: { consumers: number; queues?: number };
  /**
   * A load of its own instead of load.js: the single-active-consumer, the TLS or the bare-client
   * (sat) load.
   */
  script?: 'sac-load.js' | 'tls-load.js' | 'blast-load.js';
  /** Fail on any out-of-order delivery even with several consumers (sac, tls check it). */
  ordered?: boolean;
  /**
   * Request/reply (bench/rpc-run.ts): `spec.messages` timed round trips of `spec.size` bytes
   * after `warmup`, `callers` requests in flight over direct reply-to, `responders` processes
   * with `spec.prefetch`.
   */
  rpc?: { callers: number; responders: number; warmup: number; noDelay: boolean };
  /**
   * Log in as the bench user on vhost 'bench' (bench/auth.ts: restrictive permission
   * expressions, set up the same way on both brokers) instead of guest on '/'.
   */
  auth?: boolean;
}

const base = {
  producers: 1,
  consumers: 1,
  messages: 100_000,
  size: 1024,
  prefetch: 100,
  window: 1000,
  rate: 0,
  backlog: false,
  queues: 1,
  connections: 1,
};

const publish: Figure = {
  name: 'publish msgs/s',
  get: (r) => r.result.publishRate,
  higherIsBetter: true,
};
const e2e: Figure = {
  name: 'end-to-end msgs/s',
  get: (r) => r.result.endToEndRate,
  higherIsBetter: true,
};
const p99: Figure = {
  name: 'latency p99 ms',
  get: (r) => r.result.latencyMs.p99,
  higherIsBetter: false,
  digits: 2,
};
/** p99 without each producer's first tenth (load.ts `steadyLatencyMs`): the warm tail. */
const steadyP99: Figure = {
  name: 'latency p99 after the first 10 % ms',
  get: (r) => r.result.steadyLatencyMs?.p99 ?? NaN,
  higherIsBetter: false,
  digits: 2,
};
const p50: Figure = {
  name: 'latency p50 ms',
  get: (r) => r.result.latencyMs.p50,
  higherIsBetter: false,
  digits: 2,
};
const cpu: Figure = {
  name: 'broker CPU s',
  get: (r) => r.brokerCpuSeconds,
  higherIsBetter: false,
  digits: 1,
};
const clientCpu: Figure = {
  name: 'client CPU s',
  get: (r) => r.result.clientCpuSeconds,
  higherIsBetter: false,
  digits: 1,
};
const rss: Figure = {
  name: 'broker peak RSS MiB',
  get: (r) => r.brokerPeakRss / 2 ** 20,
  higherIsBetter: false,
};
const roundTripRate: Figure = {
  name: 'round trips/s',
  get: (r) => r.result.endToEndRate,
  higherIsBetter: true,
};
const drain: Figure = {
  name: 'drain msgs/s',
  get: (r) => r.result.drainRate,
  higherIsBetter: true,
};

const extra = (key: string) => (r: Parameters<Figure['get']>[0]) =>
  Number(r.result.extra?.[key] ?? NaN);
const cpuPerMessage: Figure = {
  name: 'broker CPU µs/msg',
  get: (r) => r.brokerCpuUsPerMessage,
  higherIsBetter: false,
  digits: 1,
};
const p999: Figure = {
  name: 'latency p99.9 ms',
  get: (r) => r.result.latencyMs.p999,
  higherIsBetter: false,
  digits: 2,
};
/** Client CPU over the first publish to the last delivery (split loads measure just that). */
const clientUtilisation: Figure = {
  name: 'client CPU utilisation (CPU-s/wall-s)',
  get: (r) => r.result.clientCpuSeconds / r.result.totalSeconds,
  higherIsBetter: false,
  digits: 2,
};

/** A request/reply scenario: 128 B requests, one responder process with prefetch 64. */
function rpc(
  id: string,
  title: string,
  callers: number,
  roundTrips: number,
  warmup: number,
  noDelay: boolean,
): Scenario {
  return {
    id,
    title,
    spec: { ...base, messages: roundTrips, size: 128, prefetch: 64 },
    rpc: { callers, responders: 1, warmup, noDelay },
    figures: [roundTripRate, p50, p99, cpu, clientCpu],
  };
}

/** Broker CPU per message and per wall second from the first publish to the last delivery. */
const messagePhaseCpu: Figure[] = [
  {
    name: 'broker CPU µs/msg (message phase)',
    get: extra('brokerCpuUsPerMessage'),
    higherIsBetter: false,
    digits: 1,
  },
  {
    name: 'broker CPU utilisation (CPU-s/wall-s, message phase)',
    get: extra('brokerUtilisation'),
    higherIsBetter: false,
    digits: 2,
  },
];

const scenarios: Scenario[] = [
  {
    id: 'a',
    title: '1p/1c 1 KB',
    spec: base,
    figures: [publish, e2e, p99, steadyP99, cpu, clientCpu],
  },
  {
    id: 'b',
    title: '1p/1c 16 B',
    spec: { ...base, size: 16 },
    figures: [publish, e2e, p99, steadyP99, cpu, clientCpu],
  },
  {
    id: 'plain',
    title: '1p/1c 1 KB fire and forget (no confirms, noAck consumer)',
    spec: { ...base, plain: true },
    figures: [publish, e2e, p99, cpu, clientCpu, clientUtilisation],
  },
  {
    // The shape of many amqplib programs: publish everything, then wait for the confirms. A
    // consumer in the same process gets to run only when the publishing loop yields.
    id: 'burst',
    title: '1p/1c 1 KB, every publish handed over at once (no confirm window, only drain)',
    spec: { ...base, window: 1e9 },
    figures: [publish, e2e, p99, steadyP99, cpu, clientCpu],
  },
  {
    id: 'work',
    title: '1p/1c 1 KB, the consumer a worker handling 5,000 msgs/s (slower than its producer)',
    spec: { ...base, messages: 25_000, prefetch: 200, workRate: 5000 },
    figures: [publish, { ...e2e, name: 'handled msgs/s' }, rss, cpu, clientCpu],
  },
  {
    id: 'c',
    title: '4p/4c one queue 1 KB',
    spec: { ...base, producers: 4, consumers: 4, messages: 25_000 },
    figures: [publish, e2e, p99, steadyP99, cpu, clientCpu],
  },
  {
    id: 'a2',
    title: '1p/1c 1 KB, producer and consumer in separate processes',
    spec: base,
    split: { consumers: 1 },
    figures: [publish, e2e, p99, cpu, clientCpu],
  },
  {
    id: 'c2',
    title: '2p/2c one queue 1 KB, 4 client processes',
    spec: { ...base, producers: 2, consumers: 2, messages: 50_000 },
    split: { consumers: 2 },
    figures: [publish, e2e, p99, cpu, clientCpu],
  },
  {
    id: 'busy',
    title: '4p/4c over 2 queues 1 KB, 8 client processes, 200k',
    spec: { ...base, producers: 4, consumers: 4, messages: 50_000 },
    split: { consumers: 4, queues: 2 },
    // Broker CPU per message from the first publish to the last delivery, with amqplib clients.
    figures: [e2e, p99, ...messagePhaseCpu, cpu, clientCpu, clientUtilisation],
  },
  {
    id: 'sat',
    title: 'broker saturated by a bare client: 4 queues, 1p/1c each, 1 KB, 400k',
    // amqplib costs more CPU per message than either broker; pre-encoded frames do not.
    spec: { ...base, messages: 100_000, queues: 4 },
    script: 'blast-load.js',
    figures: [e2e, p50, p99, ...messagePhaseCpu, clientCpu],
  },
  {
    id: 'd',
    title: '2,000 msgs/s for 10 s, after 2 s untimed',
    spec: { ...base, messages: 24_000, rate: 2000, warmup: 4_000 },
    figures: [p50, p99, p999, cpu],
  },
  {
    id: 'dt',
    title:
      '2,000 msgs/s for 10 s after 2 s untimed, paced by a 1 ms setInterval sending 2 per tick',
    spec: { ...base, messages: 24_000, rate: 2000, pacing: 'timer', warmup: 4_000 },
    figures: [p50, p99, p999, { ...publish, name: 'achieved publish msgs/s' }, cpu],
  },
  {
    id: 'e',
    title: 'backlog 100k 1 KB',
    spec: { ...base, backlog: true },
    figures: [publish, drain, rss, cpu],
  },
  {
    id: 'f',
    title: '1,000 queues over 10 connections',
    spec: { ...base, messages: 100, queues: 1000, connections: 10, window: 100, prefetch: 50 },
    figures: [publish, e2e, p99, steadyP99, cpu],
  },
  {
    id: 'tls',
    title: '200 AMQPS connections opened 8 at a time, then 100p/100c over 20 queues, 1 KB, 50k',
    spec: {
      ...base,
      producers: 100,
      consumers: 100,
      messages: 500,
      queues: 20,
      window: 50,
      prefetch: 50,
      tls: { connections: 200, opening: 8 },
    },
    script: 'tls-load.js',
    ordered: true,
    figures: [
      {
        name: 'TLS connections opened/s',
        get: extra('connectionsPerSecond'),
        higherIsBetter: true,
      },
      {
        name: 'broker CPU ms/connection opened',
        get: extra('brokerCpuMsPerConnection'),
        higherIsBetter: false,
        digits: 2,
      },
      e2e,
      p99,
      {
        name: 'broker CPU µs/msg (message phase)',
        get: extra('brokerCpuUsPerMessage'),
        higherIsBetter: false,
        digits: 1,
      },
      cpu,
      { name: 'broker RSS MiB, all open', get: extra('rssAllOpenMiB'), higherIsBetter: false },
      clientCpu,
    ],
  },
  {
    id: 'metrics',
    title: '1p/1c 1 KB while /metrics is scraped every 250 ms and the dashboard polls',
    spec: { ...base, scrapeEveryMs: 250 },
    figures: [
      publish,
      e2e,
      p99,
      steadyP99,
      cpu,
      {
        // All answered (a failed scrape fails the run); fewer only because the run is shorter.
        name: 'scrapes answered',
        get: (r) => r.result.scrapes ?? 0,
        higherIsBetter: true,
        digits: 0,
      },
    ],
  },
  {
    id: 'auth',
    title: '1p/1c 1 KB as a non-guest user with anchored regex permissions on vhost bench',
    spec: base,
    auth: true,
    figures: [publish, e2e, p99, steadyP99, cpu, clientCpu],
  },
  {
    id: 'dlx',
    title: 'dead-lettering: every message rejected (requeue=false) into a DLQ, 1 KB',
    spec: { ...base, messages: 50_000, failure: 'dlx' },
    figures: [publish, { ...e2e, name: 'dead-lettered msgs/s' }, p99, steadyP99, cpu, clientCpu],
  },
  {
    id: 'ttl',
    title: 'expiry: x-message-ttl 100 ms, no consumer, dead-lettered into a DLQ, 1 KB',
    spec: { ...base, messages: 50_000, failure: 'ttl', ttlMs: 100 },
    figures: [
      publish,
      { ...e2e, name: 'expired+dead-lettered msgs/s' },
      p99,
      steadyP99,
      cpu,
      clientCpu,
    ],
  },
  {
    id: 'groups',
    title: 'message groups: 100 groups (x-group-id), 4 consumers, 1 KB',
    spec: { ...base, messages: 50_000, consumers: 4, prefetch: 25, groups: 100 },
    figures: [
      publish,
      e2e,
      p99,
      steadyP99,
      cpu,
      {
        name: 'deliveries out of group order',
        get: (r) => r.result.groupInversions,
        higherIsBetter: false,
        digits: 0,
      },
    ],
  },
  {
    id: 'sac',
    title: 'single active consumer: 3 consumers, the active one closed halfway, 1 KB, 50k',
    spec: { ...base, messages: 50_000, consumers: 3 },
    script: 'sac-load.js',
    ordered: true,
    figures: [
      e2e,
      p99,
      cpu,
      clientCpu,
      {
        name: 'takeover ms (close to next delivery)',
        get: extra('takeoverMs'),
        higherIsBetter: false,
        digits: 1,
      },
    ],
  },
  {
    id: 'delay',
    title: 'delayed delivery: x-delayed-message exchange, x-delay spread 0..1000 ms, 1 KB',
    spec: { ...base, messages: 50_000, delayMs: 1000 },
    figures: [publish, { ...e2e, name: 'delayed end-to-end msgs/s' }, cpu, clientCpu, rss],
    // Debian's rabbitmq-server does not ship rabbitmq_delayed_message_exchange.
    batonOnly: true,
  },
  {
    id: 'dedup',
    title: 'deduplication: x-message-deduplication queue, 1 KB, every 10th publish a duplicate',
    spec: { ...base, messages: 50_000, dedupEvery: 10 },
    figures: [publish, e2e, p99, steadyP99, cpu, clientCpu],
    // RabbitMQ needs the rabbitmq-message-deduplication plugin, which Debian does not package.
    batonOnly: true,
  },
  {
    id: 'prio',
    title: 'priority queue: x-max-priority 10, priorities 0..9, 1p/1c 1 KB',
    spec: { ...base, maxPriority: 10 },
    figures: [publish, e2e, p99, steadyP99, cpu, clientCpu],
  },
  {
    id: 'prio-e',
    title: 'priority queue backlog: 100k 1 KB, priorities 0..9, published then drained',
    spec: { ...base, maxPriority: 10, backlog: true },
    figures: [publish, drain, rss, cpu],
  },
  {
    id: 'tx1',
    title: 'transactions: consume one, publish one, ack, tx.commit — per message, 1 KB',
    spec: { ...base, messages: 5_000, tx: 1 },
    // Latency is left out: the producer runs far ahead, so it measures the backlog.
    figures: [{ ...e2e, name: 'committed steps/s' }, cpu, clientCpu],
  },
  {
    id: 'tx10',
    title: 'transactions: consume 10, publish 10, ack, tx.commit — per batch of 10, 1 KB',
    spec: { ...base, messages: 50_000, tx: 10 },
    figures: [{ ...e2e, name: 'committed msgs/s' }, cpu, clientCpu],
  },
  // Requests non-persistent on a non-durable queue, the usual RPC setup; see bench/README.md.
  rpc('rpc1', 'request/reply, 1 caller, direct reply-to, 128 B', 1, 20_000, 1000, true),
  rpc(
    'rpc32',
    'request/reply, 32 in flight on one caller channel, direct reply-to, 128 B',
    32,
    100_000,
    2000,
    true,
  ),
  rpc(
    'rpc1-nagle',
    "request/reply as rpc1 on amqplib's default sockets (Nagle on)",
    1,
    400,
    50,
    false,
  ),
  {
    id: 'e10m',
    title: 'backlog 10M 1 KB',
    spec: { ...base, messages: 10_000_000, backlog: true },
    figures: [publish, drain, rss],
    longOnly: true,
    batonOnly: true,
  },
];

/** Every scenario also reports broker CPU per message (per round trip for request/reply). */
export const SCENARIOS: Scenario[] = scenarios.map((s) => ({
  ...s,
  figures: [
    ...s.figures,
    s.rpc ? { ...cpuPerMessage, name: 'broker CPU µs/round trip' } : cpuPerMessage,
  ],
}));
