// pika (python3-pika) reads Baton's firehose as it reads RabbitMQ's. A missing module skips,
// or fails under BATON_REQUIRE_ALL=1.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lacksPythonModule, runPythonScript } from '../helpers/python.js';
import { startBroker } from '../helpers/server.js';

void test('pika: tracing on over HTTP, publish.<exchange> and deliver.<queue> copies with their headers', async (t) => {
  if (lacksPythonModule(t, 'pika')) return;
  const { port, server } = await startBroker(t, { httpPort: 0 });
  const out = await runPythonScript(t, 'pika_firehose.py', [port, server.ports.get('http')!]);
  const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const properties = { message_id: 'p-1', headers: { traceparent } };
  const common = { body: 'payload', exchange_name: '', routing_keys: ['pika-work'], properties };
  const who = { user: 'guest', vhost: '/' };
  assert.deepEqual(out, [
    { put: 204 },
    { traceparent, body: 'payload' },
    { put: 204 },
    { key: 'publish.', ...common, routed_queues: ['pika-work'], redelivered: null, ...who },
    { key: 'deliver.pika-work', ...common, routed_queues: null, redelivered: 0, ...who },
  ]);
});
