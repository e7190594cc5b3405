// rascal (npm, "an advanced RabbitMQ / AMQP client built on amqplib"), unchanged, running the
// failure-handling patterns its README documents against Baton: a TTL delay queue that
// dead-letters back to the work queue (forward recovery with CC routing keys), republish with a
// limited number of attempts then nack to a dead-letter exchange, republish with immediateNack
// (and replay from the DLQ), redelivery limits with nack+requeue, and plain TTL expiry into a
// DLQ. Skipped when rascal is not installed, failed then under BATON_REQUIRE_ALL=1.
//
// INTEROP_BROKER_URL=amqp://guest:guest@127.0.0.1:5672 runs the same checks against another
// broker instead (RabbitMQ, to check the expectations; never from npm test).
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Message } from 'amqplib';
import type { AckOrNack, Broker } from 'rascal';
import { expectNothingFor, until } from '../helpers/core.js';
import { startBroker } from '../helpers/server.js';

type Rascal = (typeof import('rascal'))['default'];

const external = process.env.INTEROP_BROKER_URL;

const rascal: Rascal | string = await import('rascal').then(
  (m) => m.default,
  (err: Error) => err.message.split('\n')[0] ?? String(err),
);

function needRascal(t: TestContext): Rascal | undefined {
  if (typeof rascal !== 'string') return rascal;
  const why = `rascal not installed: ${rascal} (npm install --save-dev rascal)`;
  if (process.env.BATON_REQUIRE_ALL === '1') assert.fail(`required capability missing: ${why}`);
  process.stderr.write(`\n*** skipped: ${why} ***\n`);
  t.skip(`skipped: ${why}`);
  return undefined;
}

/** Names unique per run, so an external broker's leftovers never meet a later run. */
function prefix(): string {
  return external === undefined ? '' : `rascal-${process.pid}-${Date.now()}-`;
}

/** A rascal broker on vhost '/' of Baton (or INTEROP_BROKER_URL), shut down after the test. */
async function rascalOn(
  t: TestContext,
  r: Rascal,
  vhost: object,
  top: object = {},
): Promise<Broker> {
  const made: { broker?: Broker } = {};
  // Registered before the broker's own stop (after-hooks run in order): rascal goes first.
  t.after(async () => {
    if (external !== undefined) await made.broker?.nuke();
    else await made.broker?.shutdown();
  });
  const url = external ?? (await startBroker(t)).url;
  const broker = await r.BrokerAsPromised.create(
    r.withDefaultConfig({ ...top, vhosts: { '/': { connection: { url }, ...vhost } } }),
  );
  made.broker = broker;
  broker.on('error', (err: Error) => process.stderr.write(`rascal broker error: ${err.message}\n`));
  return broker;
}

interface Seen {
  content: unknown;
  message: Message;
}

/** Subscribe and keep every message; `handle` acks or recovers it. */
async function collect(
  broker: Broker,
  name: string,
  handle: (m: Seen, ackOrNack: AckOrNack) => void = (_m, ack) => ack(),
): Promise<Seen[]> {
  const seen: Seen[] = [];
  const sub = await broker.subscribe(name);
  sub.on('message', (message: Message, content: unknown, ackOrNack: AckOrNack) => {
    const m = { content, message };
    seen.push(m);
    handle(m, ackOrNack);
  });
  sub.on('error', (err: Error) => process.stderr.write(`rascal ${name}: ${err.message}\n`));
  return seen;
}

function deaths(m: Message): [unknown, unknown, unknown][] {
  const xs = (m.properties.headers?.['x-death'] ?? []) as unknown as Record<string, unknown>[];
  return xs.map((d) => [d.queue, d.reason, d.count]);
}

function rascalHeader(m: Message): Record<string, unknown> {
  return (m.properties.headers?.rascal ?? {}) as Record<string, unknown>;
}

void test('rascal: forward to a TTL delay queue (CC routing keys) retries 3 times, then nack dead-letters', async (t) => {
  const r = needRascal(t);
  if (r === undefined) return;
  const p = prefix();
  // The README's "retry backoff fail" topology (examples/advanced/config.js), shorter TTL.
  const broker = await rascalOn(t, r, {
    exchanges: [`${p}service`, `${p}delay`, `${p}retry`, `${p}dead_letters`],
    queues: {
      [`${p}work`]: {
        options: {
          arguments: {
            'x-dead-letter-exchange': `${p}dead_letters`,
            'x-dead-letter-routing-key': 'work.dead_letter',
          },
        },
      },
      [`${p}delay:short`]: {
        options: { arguments: { 'x-message-ttl': 50, 'x-dead-letter-exchange': `${p}retry` } },
      },
      [`${p}dlq`]: {},
    },
    bindings: [
      `${p}service[job.#] -> ${p}work`,
      `${p}delay[delay.short] -> ${p}delay:short`,
      // The CC key rascal adds on forward: <queue>.<original routing key>.
      `${p}retry[${p}work.#] -> ${p}work`,
      `${p}dead_letters[work.dead_letter] -> ${p}dlq`,
    ],
    publications: {
      job: { exchange: `${p}service`, routingKey: 'job.a' },
      retry_later: { exchange: `${p}delay`, options: { CC: ['delay.short'] } },
    },
    subscriptions: { work: { queue: `${p}work` }, dlq: { queue: `${p}dlq` } },
  });
  const attempts = await collect(broker, 'work', (_m, ackOrNack) =>
    ackOrNack(new Error('boom'), [
      { strategy: 'forward', publication: 'retry_later', attempts: 3 },
      { strategy: 'nack' },
    ]),
  );
  const dead = await collect(broker, 'dlq');
  await broker.publish('job', 'job-1');
  await until(() => dead.length === 1, 'the dead letter');
  assert.equal(attempts.length, 4, 'the first delivery and three retries through the delay queue');
  attempts.forEach((a, i) => {
    assert.equal(a.content, 'job-1');
    // rascal restores the original routing fields for the handler.
    assert.equal(a.message.fields.routingKey, 'job.a');
    if (i > 0) assert.deepEqual(deaths(a.message), [[`${p}delay:short`, 'expired', i]]);
  });
  const d = dead[0]!;
  assert.equal(d.content, 'job-1');
  assert.deepEqual(deaths(d.message), [
    [`${p}work`, 'rejected', 1],
    [`${p}delay:short`, 'expired', 3],
  ]);
  const recovery = rascalHeader(d.message).recovery as Record<string, Record<string, unknown>>;
  assert.equal(recovery[`${p}work`]!.forwarded, 3);
  await expectNothingFor(200, () => assert.equal(attempts.length + dead.length, 5));
});

void test('rascal: republish with 2 attempts, then nack to the dead-letter exchange (error annotated)', async (t) => {
  const r = needRascal(t);
  if (r === undefined) return;
  const p = prefix();
  const broker = await rascalOn(t, r, {
    exchanges: [`${p}dlx`],
    queues: {
      // amqplib's own option names, which rascal passes through to assertQueue.
      [`${p}work`]: { options: { deadLetterExchange: `${p}dlx` } },
      [`${p}dlq`]: {},
    },
    bindings: [`${p}dlx[#] -> ${p}dlq`],
    publications: { job: { queue: `${p}work` } },
    subscriptions: { work: { queue: `${p}work` }, dlq: { queue: `${p}dlq` } },
  });
  const attempts = await collect(broker, 'work', (_m, ackOrNack) =>
    ackOrNack(new Error('still failing'), [
      { strategy: 'republish', attempts: 2 },
      { strategy: 'nack' },
    ]),
  );
  const dead = await collect(broker, 'dlq');
  await broker.publish('job', { id: 7 });
  await until(() => dead.length === 1, 'the dead letter');
  assert.equal(attempts.length, 3);
  const d = dead[0]!;
  assert.deepEqual(d.content, { id: 7 });
  assert.deepEqual(deaths(d.message), [[`${p}work`, 'rejected', 1]]);
  assert.equal(d.message.properties.headers?.['x-first-death-queue'], `${p}work`);
  const h = rascalHeader(d.message);
  assert.deepEqual(h.error, { message: 'still failing' });
  assert.equal((h.recovery as Record<string, Record<string, unknown>>)[`${p}work`]!.republished, 2);
  await expectNothingFor(200, () => assert.equal(attempts.length + dead.length, 4));
});

void test('rascal: republish with immediateNack goes straight to the DLQ; replayed from it, it is processed again', async (t) => {
  const r = needRascal(t);
  if (r === undefined) return;
  const p = prefix();
  const broker = await rascalOn(t, r, {
    exchanges: [`${p}dlx`],
    queues: {
      [`${p}work`]: {
        options: {
          arguments: { 'x-dead-letter-exchange': `${p}dlx`, 'x-dead-letter-routing-key': 'dead' },
        },
      },
      [`${p}dlq`]: {},
    },
    bindings: [`${p}dlx[dead] -> ${p}dlq`],
    publications: { job: { queue: `${p}work` }, replay: { queue: `${p}work` } },
    subscriptions: { work: { queue: `${p}work` }, dlq: { queue: `${p}dlq` } },
  });
  let fail = true;
  const handled = await collect(broker, 'work', (_m, ackOrNack) =>
    fail
      ? ackOrNack(new Error('invalid'), { strategy: 'republish', immediateNack: true })
      : ackOrNack(),
  );
  const dead: Seen[] = [];
  const replays: (() => void)[] = [];
  const dlq = await broker.subscribe('dlq');
  dlq.on('message', (message: Message, content: unknown, ack: AckOrNack) => {
    dead.push({ message, content });
    // Replay (once the test has looked): forward the dead letter back to the work queue, then
    // ack it here.
    replays.push(() => void broker.forward('replay', message).then(() => ack()));
  });
  dlq.on('error', (err: Error) => process.stderr.write(`rascal dlq: ${err.message}\n`));
  await broker.publish('job', 'j');
  await until(() => dead.length === 1, 'the dead letter');
  assert.equal(handled.length, 1, 'the republished copy is nacked without reaching the handler');
  assert.deepEqual(deaths(dead[0]!.message), [[`${p}work`, 'rejected', 1]]);
  fail = false;
  for (const replay of replays) replay();
  await until(() => handled.length === 2, 'the replayed message reaching the handler');
  assert.equal(handled[1]!.content, 'j');
  await expectNothingFor(200, () => assert.equal(dead.length, 1));
});

void test('rascal: redelivery limit with nack+requeue, then redeliveries_exceeded dead-letters it', async (t) => {
  const r = needRascal(t);
  if (r === undefined) return;
  const p = prefix();
  const broker = await rascalOn(
    t,
    r,
    {
      exchanges: [`${p}dlx`],
      queues: {
        [`${p}work`]: { options: { deadLetterExchange: `${p}dlx` } },
        [`${p}dlq`]: {},
      },
      bindings: [`${p}dlx -> ${p}dlq`],
      publications: { job: { queue: `${p}work` } },
      subscriptions: {
        work: { queue: `${p}work`, redeliveries: { limit: 2, counter: 'mem' } },
        dlq: { queue: `${p}dlq` },
      },
    },
    { redeliveries: { counters: { mem: { type: 'inMemory' } } } },
  );
  const attempts: boolean[] = [];
  const sub = await broker.subscribe('work');
  sub.on('message', (message: Message, _c: unknown, ackOrNack: AckOrNack) => {
    attempts.push(message.fields.redelivered);
    ackOrNack(new Error('transient'), { strategy: 'nack', requeue: true });
  });
  let exceeded = 0;
  sub.on('redeliveries_exceeded', (err: Error, _m: Message, ackOrNack: AckOrNack) => {
    exceeded++;
    ackOrNack(err, { strategy: 'nack' });
  });
  sub.on('error', () => {});
  const dead = await collect(broker, 'dlq');
  await broker.publish('job', 'poison');
  await until(() => dead.length === 1, 'the dead letter');
  assert.deepEqual(attempts, [false, true, true]);
  assert.equal(exceeded, 1);
  assert.deepEqual(deaths(dead[0]!.message), [[`${p}work`, 'rejected', 1]]);
  await expectNothingFor(200, () => assert.equal(attempts.length, 3));
});

void test('rascal: messageTtl expiry on a queue nobody reads dead-letters into a subscribed DLQ', async (t) => {
  const r = needRascal(t);
  if (r === undefined) return;
  const p = prefix();
  const broker = await rascalOn(t, r, {
    exchanges: { [`${p}dlx`]: { type: 'direct' } },
    queues: {
      [`${p}parked`]: {
        options: {
          messageTtl: 50,
          deadLetterExchange: `${p}dlx`,
          deadLetterRoutingKey: 'expired',
        },
      },
      [`${p}dlq`]: {},
    },
    bindings: [`${p}dlx[expired] -> ${p}dlq`],
    publications: { park: { queue: `${p}parked` } },
    subscriptions: { dlq: { queue: `${p}dlq` } },
  });
  const dead = await collect(broker, 'dlq');
  for (let i = 0; i < 5; i++) await broker.publish('park', `m${i}`);
  await until(() => dead.length === 5, 'five expired messages');
  assert.deepEqual(
    dead.map((d) => d.content),
    ['m0', 'm1', 'm2', 'm3', 'm4'],
  );
  for (const d of dead) {
    assert.deepEqual(deaths(d.message), [[`${p}parked`, 'expired', 1]]);
    assert.equal(d.message.fields.routingKey, 'expired');
  }
});
