// Direct reply-to (amq.rabbitmq.reply-to) through unchanged Python clients: pika's
// BlockingConnection (test/interop/pika_direct_reply_to.py, starting with pika's own
// examples/direct_reply_to.py flow) and kombu's Consumer/Producer
// (test/interop/kombu_direct_reply_to.py). The expected lines are what RabbitMQ 3.10 prints for
// the same scripts (run one by hand with port 5672). A missing module skips, or fails under
// BATON_REQUIRE_ALL=1.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBroker } from '../helpers/server.js';
import { lacksPythonModule, runPythonScript } from '../helpers/python.js';

const precondition = (text: string): [number, string] => [406, `PRECONDITION_FAILED - ${text}`];

void test('pika: direct reply-to as on RabbitMQ (example flow, two connections, declare rules, errors)', async (t) => {
  if (lacksPythonModule(t, 'pika')) return;
  const { port } = await startBroker(t);
  const lines = await runPythonScript(t, 'pika_direct_reply_to.py', [port]);
  assert.deepEqual(lines, [
    {
      case: 'pika example',
      request: 'Marco',
      reply: 'Polo',
      address: true,
      'delivered from': ['', true],
    },
    {
      case: 'two connections',
      served: 20,
      replies: 20,
      'one address per channel': true,
      'each its own reply': true,
      'delivered from': [['', true]],
      redelivered: false,
      'properties kept': true,
    },
    {
      case: 'declare the address',
      live: [true, 0, 1],
      'pseudo-queue': ['amq.rabbitmq.reply-to', 0, 1],
      gone: 404,
    },
    {
      case: 'reply to a gone requester',
      'dropped, channel open': true,
      mandatory: [[312, 'NO_ROUTE', true]],
    },
    {
      case: 'errors',
      'ack mode': precondition('reply consumer cannot acknowledge'),
      'second consumer': precondition('reply consumer already set'),
      'publish without consumer': precondition('fast reply consumer does not exist'),
      'publish after cancel': precondition('fast reply consumer does not exist'),
      'connection open': true,
    },
  ]);
});

void test('kombu: Queue("amq.rabbitmq.reply-to", no_ack=True) declared and consumed, replies by kombu.Producer', async (t) => {
  if (lacksPythonModule(t, 'kombu')) return;
  const { port } = await startBroker(t);
  const lines = await runPythonScript(t, 'kombu_direct_reply_to.py', [port]);
  assert.deepEqual(lines, [
    {
      case: 'kombu rpc',
      replies: 10,
      'each its own reply': true,
      address: true,
      'delivered with the address as routing key': true,
    },
  ]);
});
