// Direct reply-to through two unchanged Node clients whose RPC helpers rely on it:
// rabbitmq-client's RPCClient (consumes amq.rabbitmq.reply-to on its own channel, publishes with
// reply-to and an expiration) against its createConsumer(…, reply) responder and an amqplib one,
// and @cloudamqp/amqp-client's AMQPSession rpcClient()/rpcCall()/rpcServer(). The cases follow the
// RPC tests of those libraries' own suites (rabbitmq-client test/rpc.ts; @cloudamqp/amqp-client
// test/amqp-session.ts), which fail on a broker without direct reply-to. Skipped when a library
// is not installed, failed then under BATON_REQUIRE_ALL=1.
//
// INTEROP_BROKER_URL=amqp://guest:guest@127.0.0.1:5672 runs the same checks against another
// broker (RabbitMQ, to check the expectations; never from npm test).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import { requireCapability } from '../helpers/broker-child.js';
import { connect, startBroker } from '../helpers/server.js';

const external = process.env.INTEROP_BROKER_URL;

/** The module, or why importing it failed. */
async function load<M>(name: string, load: () => Promise<M>): Promise<M | string> {
  return load().catch((err: Error) => `${name}: ${err.message.split('\n')[0] ?? String(err)}`);
}
const rabbitmqClient = await load('rabbitmq-client', () => import('rabbitmq-client'));
const cloudamqp = await load('@cloudamqp/amqp-client', () => import('@cloudamqp/amqp-client'));

function need<M>(t: TestContext, mod: M | string): mod is M {
  const why = typeof mod === 'string' ? `${mod} (npm ci installs the devDependencies)` : '';
  return !requireCapability(t, typeof mod !== 'string', `not installed: ${why}`);
}

interface Target {
  url: string;
  /** A name no earlier run against INTEROP_BROKER_URL left behind. */
  name: (s: string) => string;
  /** Runs `close` after the test, newest first, before the broker stops. */
  onClose: (close: () => Promise<unknown>) => void;
}

/** Baton on port 0, or INTEROP_BROKER_URL. */
async function target(t: TestContext): Promise<Target> {
  const closers: Array<() => Promise<unknown>> = [];
  // Registered before startBroker's own stop: after-hooks run in order.
  t.after(async () => {
    for (const close of closers.reverse()) await close();
  });
  const url = external ?? (await startBroker(t)).url;
  const run = `${process.pid}-${Date.now()}`;
  return {
    url,
    name: (s) => (external === undefined ? s : `${s}-${run}`),
    onClose: (close) => closers.push(close),
  };
}

const ADDRESS = /^amq\.rabbitmq\.reply-to\..+/;

void test('rabbitmq-client: RPCClient.send to a createConsumer responder, 200 concurrent', async (t) => {
  if (!need(t, rabbitmqClient)) return;
  const { url, name, onClose } = await target(t);
  const rabbit = new rabbitmqClient.Connection(url);
  onClose(() => rabbit.close());
  const queue = name('rc-rpc');
  const seen = new Set<string | undefined>();
  const server = rabbit.createConsumer(
    { queue, queueOptions: { exclusive: true }, concurrency: 8 },
    async (req, reply) => {
      seen.add(req.replyTo);
      await reply({ echo: req.body as unknown, id: req.correlationId });
    },
  );
  onClose(() => server.close());
  await once(server, 'ready');
  const client = rabbit.createRPCClient({ timeout: 10_000 });
  onClose(() => client.close());

  const res = await client.send(queue, 'PING');
  assert.deepEqual(res.body, { echo: 'PING', id: res.correlationId });
  const many = await Promise.all(Array.from({ length: 200 }, (_, i) => client.send(queue, { i })));
  many.forEach((r, i) => assert.deepEqual((r.body as { echo: unknown }).echo, { i }));

  // One reply consumer, so one address for every request of the client's channel.
  assert.equal(seen.size, 1);
  assert.match([...seen][0] ?? '', ADDRESS);
});

void test('rabbitmq-client: RPC failure modes (setup 404, timeout, channel error) and recovery', async (t) => {
  if (!need(t, rabbitmqClient)) return;
  const { url, name, onClose } = await target(t);
  const rabbit = new rabbitmqClient.Connection(url);
  onClose(() => rabbit.close());
  const queue = name('rc-rpc-failures');
  const client = rabbit.createRPCClient({
    confirm: true,
    timeout: 50,
    queues: [{ queue, passive: true }], // setup fails until the queue exists
  });
  onClose(() => client.close());
  const code = (p: Promise<unknown>): Promise<unknown> =>
    p.then(
      () => 'resolved',
      (e: { code?: unknown }) => e.code,
    );

  assert.equal(await code(client.send({ routingKey: queue }, '')), 'NOT_FOUND');
  const ch = await rabbit.acquire();
  await ch.queueDeclare({ queue, exclusive: true });
  await ch.close();
  // The queue exists now, nobody answers: a timeout, not a channel error.
  assert.equal(await code(client.send({ routingKey: queue }, '')), 'RPC_TIMEOUT');
  // A publish to a missing exchange closes the RPC channel; the pending request fails with it.
  const [r1, r2] = await Promise.all([
    code(client.send({ routingKey: queue }, '')),
    code(client.send({ exchange: name('rc-no-such-exchange'), routingKey: queue }, '')),
  ]);
  assert.deepEqual([r1, r2], ['RPC_CLOSED', 'NOT_FOUND']);

  // The client sets up a new channel and reply consumer, and works again.
  const server = rabbit.createConsumer(
    { queue, queueOptions: { exclusive: true } },
    async (_req, reply) => reply('PONG'),
  );
  onClose(() => server.close());
  await once(server, 'ready');
  const slow = rabbit.createRPCClient({ timeout: 10_000 });
  onClose(() => slow.close());
  assert.equal((await slow.send(queue, 'PING')).body, 'PONG');
});

// RPCClient({ confirm: true }) files a request as pending only once its publish is confirmed
// and drops a reply that comes first. RabbitMQ confirms a transient publish as soon as its
// queues took it, long before a reply can come back; so does Baton (it once waited for the
// journal's next sync, which other producers' persistent messages kept busy, and replies were
// lost).
void test('rabbitmq-client: RPCClient({ confirm: true }) while persistent messages are being synced', async (t) => {
  if (!need(t, rabbitmqClient)) return;
  const { url, name, onClose } = await target(t);
  const busy = name('rc-busy-durable');
  const bg = await connect(t, url);
  const bch = await bg.createConfirmChannel();
  await bch.assertQueue(busy, { durable: true });
  let stop = false;
  const background = (async () => {
    while (!stop) {
      for (let i = 0; i < 20; i++) bch.sendToQueue(busy, Buffer.alloc(1000), { persistent: true });
      await bch.waitForConfirms();
    }
    await bch.deleteQueue(busy);
  })();
  onClose(() => ((stop = true), background));

  const rabbit = new rabbitmqClient.Connection(url);
  onClose(() => rabbit.close());
  const queue = name('rc-rpc-confirm');
  const server = rabbit.createConsumer(
    { queue, queueOptions: { exclusive: true } },
    async (_req, reply) => reply('pong'),
  );
  onClose(() => server.close());
  await once(server, 'ready');
  const client = rabbit.createRPCClient({ confirm: true, timeout: 2000 });
  onClose(() => client.close());
  for (let i = 0; i < 20; i++) assert.equal((await client.send(queue, 'ping')).body, 'pong');
});

void test('rabbitmq-client: RPCClient against an amqplib responder on another connection', async (t) => {
  if (!need(t, rabbitmqClient)) return;
  const { url, name, onClose } = await target(t);
  const queue = name('rc-rpc-amqplib');
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertQueue(queue, { exclusive: true });
  await ch.consume(queue, (m) => {
    if (m === null) return;
    ch.sendToQueue(m.properties.replyTo as string, Buffer.from(`re:${m.content.toString()}`), {
      correlationId: m.properties.correlationId as string,
      contentType: 'text/plain',
    });
    ch.ack(m);
  });
  const rabbit = new rabbitmqClient.Connection(url);
  onClose(() => rabbit.close());
  const client = rabbit.createRPCClient({ timeout: 10_000 });
  onClose(() => client.close());
  const replies = await Promise.all(['a', 'b', 'c'].map((s) => client.send(queue, s)));
  assert.deepEqual(
    replies.map((r): unknown => r.body),
    ['re:a', 're:b', 're:c'],
  );
});

void test('@cloudamqp/amqp-client: session rpcServer with rpcClient().call, rpcCall, JSON codec, timeout', async (t) => {
  if (!need(t, cloudamqp)) return;
  const { url, name, onClose } = await target(t);
  const session = await cloudamqp.AMQPSession.connect(url);
  onClose(() => session.stop());
  const queue = name('ca-rpc');
  await session.rpcServer(queue, (msg) => `reply:${msg.bodyString()}`);

  const rpc = await session.rpcClient();
  assert.equal((await rpc.call(queue, 'hello')).bodyString(), 'reply:hello');
  assert.equal((await rpc.call(queue, 'again')).bodyString(), 'reply:again');
  const all = await Promise.all(Array.from({ length: 50 }, (_, i) => rpc.call(queue, `n${i}`)));
  all.forEach((r, i) => assert.equal(r.bodyString(), `reply:n${i}`));
  assert.equal((await session.rpcCall(queue, 'ping')).bodyString(), 'reply:ping');

  // Nobody consumes this one: the call times out, and closing rejects what is pending.
  const silent = name('ca-rpc-silent');
  await session.queue(silent, { durable: false, autoDelete: false });
  await assert.rejects(rpc.call(silent, 'x', { timeout: 50 }), /No response received/);
  const pending = assert.rejects(rpc.call(silent, 'y'), /RPC client closed|Channel is closed/);
  await rpc.close();
  await pending;
  for (const q of [queue, silent]) await session.queue(q).then((x) => x.delete());

  const json = await cloudamqp.AMQPSession.connect(url, {
    parsers: cloudamqp.builtinParsers,
    defaultContentType: 'application/json',
  });
  onClose(() => json.stop());
  const jq = name('ca-rpc-json');
  await json.rpcServer(jq, (msg) => ({ echo: msg.body as { greeting: string } }));
  const reply = await json.rpcCall(jq, { greeting: 'hi' });
  assert.equal(reply.properties.contentType, 'application/json');
  assert.deepEqual(reply.body, { echo: { greeting: 'hi' } });
  await json.queue(jq).then((x) => x.delete());
});

void test('@cloudamqp/amqp-client: basicConsume("amq.rabbitmq.reply-to", { noAck }) on an AMQPClient channel', async (t) => {
  if (!need(t, cloudamqp)) return;
  const { url, name, onClose } = await target(t);
  const client = new cloudamqp.AMQPClient(url);
  const conn = await client.connect();
  onClose(() => conn.close());
  const queue = name('ca-raw-rpc');
  const srv = await conn.channel();
  await srv.queueDeclare(queue, { exclusive: true });
  await srv.basicConsume(queue, { noAck: false }, async (m) => {
    await srv.basicPublish('', m.properties.replyTo ?? '', `got ${m.bodyString()}`, {
      correlationId: m.properties.correlationId ?? '',
    });
    await m.ack();
  });

  const ch = await conn.channel();
  const replies: Array<[string | undefined, string | null, string]> = [];
  let wake = (): void => {};
  await ch.basicConsume('amq.rabbitmq.reply-to', { noAck: true }, (m) => {
    replies.push([m.properties.correlationId, m.bodyString(), m.routingKey]);
    wake();
  });
  await ch.basicPublish('', queue, 'one', { replyTo: 'amq.rabbitmq.reply-to', correlationId: '1' });
  await new Promise<void>((resolve) => (wake = resolve));
  assert.deepEqual(replies[0]?.slice(0, 2), ['1', 'got one']);
  assert.match(replies[0]?.[2] ?? '', ADDRESS);

  // Without a reply consumer on the channel the publish closes it, as RabbitMQ does.
  const bare = await conn.channel();
  await bare.basicPublish('', queue, 'x', { replyTo: 'amq.rabbitmq.reply-to' });
  await assert.rejects(
    bare.queueDeclare(queue, { passive: true }),
    /PRECONDITION_FAILED - fast reply consumer does not exist/,
  );
});
