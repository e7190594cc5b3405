// RabbitMQ tutorial six, "RPC", as a user writes it with amqplib's promise API:
// https://www.rabbitmq.com/tutorials/tutorial-six-javascript (rpc_server.js / rpc_client.js).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { connect, startBroker } from '../helpers/server.js';

function fibonacci(n: number): number {
  let [a, b] = [0, 1];
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}

/** rpc_server.js: consume rpc_queue with prefetch 1, reply to reply_to with the correlation id. */
async function rpcServer(t: TestContext, url: string): Promise<{ served: number[] }> {
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  const queue = 'rpc_queue';
  await ch.assertQueue(queue, { durable: false });
  await ch.prefetch(1);
  const served: number[] = [];
  await ch.consume(queue, (msg) => {
    if (!msg) return;
    const n = parseInt(msg.content.toString(), 10);
    served.push(n);
    const r = fibonacci(n);
    ch.sendToQueue(msg.properties.replyTo as string, Buffer.from(r.toString()), {
      correlationId: msg.properties.correlationId as string,
    });
    ch.ack(msg);
  });
  return { served };
}

/** rpc_client.js, generalised to several calls in flight on one callback queue. */
async function rpcClient(t: TestContext, url: string) {
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  const q = await ch.assertQueue('', { exclusive: true });
  const waiting = new Map<string, (v: string) => void>();
  const stray: string[] = [];
  await ch.consume(
    q.queue,
    (msg) => {
      if (!msg) return;
      const id = msg.properties.correlationId as string;
      const resolve = waiting.get(id);
      if (resolve === undefined) stray.push(id);
      else {
        waiting.delete(id);
        resolve(msg.content.toString());
      }
    },
    { noAck: true },
  );
  const call = (n: number): Promise<number> => {
    const correlationId = randomUUID();
    const reply = new Promise<string>((resolve) => waiting.set(correlationId, resolve));
    ch.sendToQueue('rpc_queue', Buffer.from(n.toString()), { correlationId, replyTo: q.queue });
    return reply.then((s) => parseInt(s, 10));
  };
  return { call, stray, queue: q.queue };
}

void test('tutorial 6 (RPC): fib(30) over rpc_queue with reply_to and correlation_id', async (t) => {
  const { url } = await startBroker(t);
  await rpcServer(t, url);
  const client = await rpcClient(t, url);
  assert.match(client.queue, /^amq\.gen-/);
  assert.equal(await client.call(30), 832040);
});

void test('tutorial 6 (RPC): concurrent calls from two clients against two servers are all answered correctly', async (t) => {
  const { url } = await startBroker(t);
  const s1 = await rpcServer(t, url);
  const s2 = await rpcServer(t, url);
  const c1 = await rpcClient(t, url);
  const c2 = await rpcClient(t, url);
  const ns = Array.from({ length: 30 }, (_, i) => i);
  const [r1, r2] = await Promise.all([
    Promise.all(ns.map((n) => c1.call(n))),
    Promise.all(ns.map((n) => c2.call(40 - n))),
  ]);
  assert.deepEqual(
    r1,
    ns.map((n) => fibonacci(n)),
  );
  assert.deepEqual(
    r2,
    ns.map((n) => fibonacci(40 - n)),
  );
  assert.deepEqual(c1.stray, [], 'no reply reached the wrong callback queue');
  assert.deepEqual(c2.stray, []);
  assert.equal(s1.served.length + s2.served.length, 60, 'each request served exactly once');
  assert.ok(s1.served.length > 0 && s2.served.length > 0, 'both servers got requests');
});
