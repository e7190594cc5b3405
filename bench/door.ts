/**
 * `npm run bench:door`: what the permission check at the session door costs, in-process and
 * without sockets or disk (a noisy machine moves the AMQP figures by more than the check).
 * Publish + basic.get + ack of one message at a time through a core Session, on a trusted
 * connection (no checks) and on one whose Access checks the bench user's anchored regex
 * permissions (bench/auth.ts), in alternating rounds; prints medians in ns per message.
 *
 * Flags: --rounds N (per side, default 101), --messages N (per round, default 10,000): many
 * short rounds, so a burst of load on the machine spoils few of them.
 */
import { performance } from 'node:perf_hooks';
import { BENCH_PERMISSIONS, BENCH_USER, BENCH_VHOST } from './auth.js';
import { Broker } from '../src/core/broker.js';
import { Message } from '../src/core/message.js';
import type { Session } from '../src/core/session.js';
import { readUtf8 } from '../src/protocol/amqp/constants.js';
import { amqpPropertiesCodec } from '../src/protocol/amqp/properties-codec.js';
import { openStores } from '../src/store/open-stores.js';

const args = process.argv.slice(2);
const flag = (name: string, d: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const rounds = flag('--rounds', 101);
const messages = flag('--messages', 10_000);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
};

/** A name as the AMQP decoder hands it over: a new string per frame. */
const decoded = (b: Buffer): string => readUtf8(b, 0, b.length);

/** ns per publish + get + ack of `n` transient 1 KB messages through `exchange`. */
function pubGetAck(session: Session, exchange: string, queue: string, n: number): number {
  const body = Buffer.alloc(1024, 1);
  const none = Buffer.alloc(0);
  const ex = Buffer.from(exchange);
  const q = Buffer.from(queue);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const x = decoded(ex);
    const k = decoded(q);
    session.publish(x, k, new Message(x, k, none, body, false));
    const d = session.get(decoded(q), false);
    if (d === undefined) throw new Error(`${queue}: published message not there`);
    session.ack(d.tag, false);
  }
  return ((performance.now() - t0) * 1e6) / n;
}

/** ns per door check alone (what the publish path asks once per message). */
function checks(session: Session, exchange: string, n: number): number {
  const access = session.connection.access;
  const ex = Buffer.from(exchange);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) access.check('write', 'exchange', decoded(ex));
  return ((performance.now() - t0) * 1e6) / n;
}

async function main(): Promise<void> {
  const broker = await Broker.open({
    ...(await openStores({ store: 'memory' })),
    codec: amqpPropertiesCodec,
  });
  try {
    broker.putVhost(BENCH_VHOST);
    broker.access.putUser(BENCH_USER, { password: 'door', tags: [] });
    broker.access.setPermissions(BENCH_USER, BENCH_VHOST, BENCH_PERMISSIONS);
    const handler = { deliver: () => true, consumerCancelled: () => {} };
    const open = (trusted: boolean): Session =>
      broker.connect({ user: BENCH_USER, trusted }, BENCH_VHOST).openSession(handler);
    const sides = { trusted: open(true), checked: open(false) };
    const queue = 'bench.door';
    const exchange = 'bench.direct';
    sides.checked.declareQueue(queue, {});
    sides.checked.declareExchange(exchange, 'direct', {});
    sides.checked.bind(exchange, queue, 'queue', queue);
    const cases = [
      {
        name: 'publish+get+ack, default exchange',
        run: (s: Session) => pubGetAck(s, '', queue, messages),
      },
      {
        name: 'publish+get+ack, direct exchange',
        run: (s: Session) => pubGetAck(s, exchange, queue, messages),
      },
      {
        name: 'door check alone (write exchange, name decoded per call)',
        run: (s: Session) => checks(s, exchange, messages),
      },
    ];
    const lines = [
      `| figure (ns per message, median of ${rounds}) | trusted | checked | checked/trusted | checked − trusted, median per round |`,
      '|---|---|---|---|---|',
    ];
    for (const c of cases) {
      // Warm-up: both sides' code optimised before anything counts.
      c.run(sides.trusted);
      c.run(sides.checked);
      const times = { trusted: [] as number[], checked: [] as number[] };
      for (let r = 0; r < rounds; r++) {
        // Alternate which side goes first, so drift in the machine's load hits both alike.
        const order =
          r % 2 === 0 ? (['trusted', 'checked'] as const) : (['checked', 'trusted'] as const);
        for (const side of order) times[side].push(c.run(sides[side]));
      }
      const t = median(times.trusted);
      const k = median(times.checked);
      // Per round (both sides back to back): steadier than the medians' difference under load.
      const paired = median(times.checked.map((x, i) => x - times.trusted[i]!));
      lines.push(
        `| ${c.name} | ${t.toFixed(1)} | ${k.toFixed(1)} | ${(k / t).toFixed(3)} | ${paired.toFixed(1)} |`,
      );
      process.stdout.write(
        JSON.stringify({ case: c.name, trusted: times.trusted, checked: times.checked }) + '\n',
      );
    }
    process.stdout.write(`\n${lines.join('\n')}\n`);
  } finally {
    await broker.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`door bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
