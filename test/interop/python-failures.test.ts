// Python clients driving Baton's failure handling, unchanged: pika (python3-pika) with TTL and
// a dead-letter exchange, each x-overflow mode with publisher confirms, and a quorum queue's
// delivery limit; kombu (python3-kombu, py-amqp transport) with its own queue options
// (message_ttl, expires, max_length, max_length_bytes, queue_arguments) and per-message
// expiration. The scripts sit next to this file in the source tree; each takes the broker's
// port. RabbitMQ 3.10 prints the same lines (run a script by hand with port 5672 and a name
// prefix). A missing module skips, or fails under BATON_REQUIRE_ALL=1.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { startBroker } from '../helpers/server.js';
import { lacksPythonModule, runPythonScript } from '../helpers/python.js';

/** Run one script against a fresh broker; resolves with its stdout's JSON lines. */
async function runPy(t: TestContext, script: string, ...args: string[]): Promise<unknown[]> {
  const { port } = await startBroker(t);
  return runPythonScript(t, script, [port, ...args], 30000);
}

function death(queue: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    queue,
    reason: 'expired',
    count: 1,
    exchange: '',
    'routing-keys': [queue],
    'original-expiration': null,
    ...extra,
  };
}

void test('pika: x-message-ttl and per-message expiration dead-letter in order, x-death as RabbitMQ writes it', async (t) => {
  if (lacksPythonModule(t, 'pika')) return;
  const lines = await runPy(t, 'pika_failures.py', 'ttl_dlx');
  const q = (body: string) => ({
    body,
    expiration: null,
    deaths: [death('ttl')],
    first: 'expired',
  });
  assert.deepEqual(lines, [
    q('q0'),
    q('q1'),
    q('q2'),
    {
      body: 'e0',
      expiration: null,
      deaths: [death('plain', { 'original-expiration': '150' })],
      first: 'expired',
    },
    { ttl_left: 0, plain_left: 1 },
  ]);
});

void test('pika: x-max-length with drop-head, reject-publish and reject-publish-dlx under confirms', async (t) => {
  if (lacksPythonModule(t, 'pika')) return;
  // A refused publish is nacked once and never acked: pika's BlockingChannel loses the
  // connection ("_CallbackResult was already set") on a second confirm for one publish.
  const lines = await runPy(t, 'pika_failures.py', 'max_length');
  assert.deepEqual(lines, [
    {
      'drop-head': { acks: [true, true, true, true], left: ['drop-head:2', 'drop-head:3'] },
      'reject-publish': {
        acks: [true, true, false, false],
        left: ['reject-publish:0', 'reject-publish:1'],
      },
      'reject-publish-dlx': {
        acks: [true, true, false, false],
        left: ['reject-publish-dlx:0', 'reject-publish-dlx:1'],
      },
    },
    {
      dead: [
        ['drop-head:0', 'maxlen'],
        ['drop-head:1', 'maxlen'],
        ['reject-publish-dlx:2', 'maxlen'],
        ['reject-publish-dlx:3', 'maxlen'],
      ],
    },
  ]);
});

void test('pika: a quorum queue with x-delivery-limit 2 dead-letters after three deliveries, x-delivery-count counting', async (t) => {
  if (lacksPythonModule(t, 'pika')) return;
  const [out] = await runPy(t, 'pika_failures.py', 'delivery_limit');
  assert.deepEqual(out, {
    seen: [
      { redelivered: false, count: null, app: 'x' },
      { redelivered: true, count: 1, app: 'x' },
      { redelivered: true, count: 2, app: 'x' },
    ],
    dead: [{ body: 'poison', reasons: ['delivery_limit'], app: 'x' }],
    left: 0,
  });
});

void test('kombu: Queue(message_ttl, expires, max_length, max_length_bytes, queue_arguments) and publish(expiration)', async (t) => {
  if (lacksPythonModule(t, 'kombu')) return;
  const lines = await runPy(t, 'kombu_failures.py');
  const dead = (body: object, queue: string, reason: string) => ({
    body,
    deaths: [[queue, reason, 1]],
    routing_key: 'dead',
  });
  assert.deepEqual(lines, [
    {
      check: 'message_ttl',
      dead: [0, 1, 2].map((n) => dead({ n }, 'k.ttl', 'expired')),
    },
    { check: 'expiration', first: { kept: true }, more: false },
    {
      check: 'max_length',
      left: [{ c: 2 }, { c: 3 }],
      dead: [dead({ c: 0 }, 'k.capped', 'maxlen'), dead({ c: 1 }, 'k.capped', 'maxlen')],
    },
    { check: 'reject_publish', outcomes: ['ack', 'nack', 'nack'] },
    { check: 'max_length_bytes', count: 2 },
    { check: 'expires', deleted: true },
  ]);
});
