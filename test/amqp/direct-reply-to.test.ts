import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import { eventually, expectNothingFor } from '../helpers/core.js';
import {
  hasCode,
  nextChannelError,
  openChannel,
  openConfirmChannel,
  txCommit,
  txSelect,
  within,
} from '../helpers/amqp-raw.js';
import { connect, startBroker } from '../helpers/server.js';

const REPLY_TO = 'amq.rabbitmq.reply-to';

/** A responder on its own connection: echoes each request's body, upper-cased. */
async function startEchoResponder(
  conn: amqp.ChannelModel,
  queue: string,
  seen: amqp.Message[] = [],
): Promise<amqp.Channel> {
  const ch = await openChannel(conn);
  await ch.assertQueue(queue, { durable: false });
  await ch.consume(queue, (m) => {
    if (m === null) return;
    seen.push(m);
    ch.publish(
      '',
      m.properties.replyTo as string,
      Buffer.from(m.content.toString().toUpperCase()),
      {
        correlationId: m.properties.correlationId as string,
      },
    );
    ch.ack(m);
  });
  return ch;
}

void test('direct reply-to: a request published with reply-to amq.rabbitmq.reply-to is answered on the requesting channel, without a queue (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const seen: amqp.Message[] = [];
  await startEchoResponder(await connect(t, url), 'rpc', seen);
  const ch = await openChannel(await connect(t, url));
  const replies: amqp.Message[] = [];
  const { consumerTag } = await ch.consume(REPLY_TO, (m) => m && replies.push(m), { noAck: true });
  ch.sendToQueue('rpc', Buffer.from('marco'), { replyTo: REPLY_TO, correlationId: 'c-1' });
  await eventually(() => assert.equal(replies.length, 1));
  const reply = replies[0]!;
  assert.equal(reply.content.toString(), 'MARCO');
  assert.equal(reply.properties.correlationId, 'c-1');
  assert.equal(reply.fields.consumerTag, consumerTag);
  assert.equal(reply.fields.exchange, '');
  // The responder saw a routable address; the reply is delivered under it as routing key.
  const address = seen[0]!.properties.replyTo as string;
  assert.match(address, /^amq\.rabbitmq\.reply-to\.[A-Za-z0-9_-]{20,}$/);
  assert.equal(reply.fields.routingKey, address);
  assert.equal(reply.fields.redelivered, false);
  // The address is the channel's: a second request carries the same one.
  ch.sendToQueue('rpc', Buffer.from('again'), { replyTo: REPLY_TO, correlationId: 'c-2' });
  await eventually(() => assert.equal(replies.length, 2));
  assert.equal(seen[1]!.properties.replyTo, address);
  assert.equal(replies[1]!.properties.correlationId, 'c-2');
});

void test('direct reply-to: 1,000 concurrent requests on one channel each get their own reply; a big reply spans frames', async (t) => {
  const { url } = await startBroker(t);
  await startEchoResponder(await connect(t, url), 'rpc');
  const ch = await openChannel(await connect(t, url));
  const byId = new Map<string, string>();
  await ch.consume(
    REPLY_TO,
    (m) => m && byId.set(m.properties.correlationId as string, m.content.toString()),
    { noAck: true },
  );
  for (let i = 0; i < 1000; i++)
    ch.sendToQueue('rpc', Buffer.from(`req-${i}`), { replyTo: REPLY_TO, correlationId: `${i}` });
  const big = 'x'.repeat(300_000);
  ch.sendToQueue('rpc', Buffer.from(big), { replyTo: REPLY_TO, correlationId: 'big' });
  await eventually(() => assert.equal(byId.size, 1001));
  for (let i = 0; i < 1000; i++) assert.equal(byId.get(`${i}`), `REQ-${i}`);
  assert.equal(byId.get('big'), big.toUpperCase());
});

void test('direct reply-to: consuming in ack mode is 406 "reply consumer cannot acknowledge"; a second reply consumer on a channel is 406 "reply consumer already set"', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const acking = await openChannel(conn);
  const err = nextChannelError(acking);
  await assert.rejects(
    acking.consume(REPLY_TO, () => {}, { noAck: false }),
    hasCode(406),
  );
  assert.match((await err).message, /PRECONDITION_FAILED - reply consumer cannot acknowledge/);

  const ch = await openChannel(conn);
  await ch.consume(REPLY_TO, () => {}, { noAck: true });
  const err2 = nextChannelError(ch);
  await assert.rejects(
    ch.consume(REPLY_TO, () => {}, { noAck: true }),
    hasCode(406),
  );
  assert.match((await err2).message, /reply consumer already set/);
  // Channel errors only: the connection goes on.
  const other = await openChannel(conn);
  await other.consume(REPLY_TO, () => {}, { noAck: true });
});

void test('direct reply-to: publishing with reply-to amq.rabbitmq.reply-to on a channel without a reply consumer is 406 "fast reply consumer does not exist" (per channel, as RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const withConsumer = await openChannel(conn);
  await withConsumer.consume(REPLY_TO, () => {}, { noAck: true });
  await withConsumer.assertQueue('rpc', { durable: false });
  // Another channel of the same connection has no reply consumer of its own.
  const ch = await openChannel(conn);
  const err = nextChannelError(ch);
  ch.sendToQueue('rpc', Buffer.from('q'), { replyTo: REPLY_TO });
  const e = await within(err, 'the channel error');
  assert.equal(e.code, 406);
  assert.match(e.message, /fast reply consumer does not exist/);
  // Nothing was enqueued; the connection and the other channel are fine.
  assert.equal((await withConsumer.checkQueue('rpc')).messageCount, 0);
  // A reply-to that only starts like the pseudo-queue is just a string.
  const plain = await openChannel(conn);
  plain.sendToQueue('rpc', Buffer.from('q'), { replyTo: 'amq.rabbitmq.reply-to-not' });
  await eventually(async () => assert.equal((await plain.checkQueue('rpc')).messageCount, 1));
});

void test('direct reply-to: queue.declare of the pseudo-queue and of a live address answers 0 messages, 1 consumer; a dead or made-up address is 404; nothing is created', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const probe = await openChannel(conn);
  const pseudo = await probe.checkQueue(REPLY_TO);
  assert.deepEqual(
    { queue: pseudo.queue, messageCount: pseudo.messageCount, consumerCount: pseudo.consumerCount },
    { queue: REPLY_TO, messageCount: 0, consumerCount: 1 },
  );
  // Non-passive too ("there is no need to declare this queue first, though the client may").
  const declared = await probe.assertQueue(REPLY_TO, { durable: false, exclusive: true });
  assert.equal(declared.queue, REPLY_TO);

  const requester = await openChannel(conn);
  await requester.consume(REPLY_TO, () => {}, { noAck: true });
  const seen: amqp.Message[] = [];
  await startEchoResponder(await connect(t, url), 'rpc', seen);
  requester.sendToQueue('rpc', Buffer.from('q'), { replyTo: REPLY_TO });
  await eventually(() => assert.equal(seen.length, 1));
  const address = seen[0]!.properties.replyTo as string;
  const live = await probe.checkQueue(address);
  assert.equal(live.messageCount, 0);
  assert.equal(live.consumerCount, 1);
  assert.equal((await probe.assertQueue(address)).queue, address);

  await requester.close();
  const gone = await openChannel(conn);
  await assert.rejects(gone.checkQueue(address), hasCode(404));
  const madeUp = await openChannel(conn);
  await assert.rejects(madeUp.checkQueue(`${REPLY_TO}.nobody`), hasCode(404));
  const notCreated = await openChannel(conn);
  await assert.rejects(notCreated.assertQueue(`${REPLY_TO}.nobody`), hasCode(404));
});

void test('direct reply-to: a reply to a requester that is gone is dropped, or returned 312 NO_ROUTE with mandatory; a confirming responder is acked either way', async (t) => {
  const { url } = await startBroker(t);
  const requesterConn = await connect(t, url);
  const requester = await openChannel(requesterConn);
  await requester.consume(REPLY_TO, () => {}, { noAck: true });
  const responderConn = await connect(t, url);
  const responder = await openConfirmChannel(responderConn);
  await responder.assertQueue('rpc', { durable: false });
  requester.sendToQueue('rpc', Buffer.from('q'), { replyTo: REPLY_TO });
  let request: amqp.GetMessage | false = false;
  await eventually(async () => assert.ok((request = await responder.get('rpc', { noAck: true }))));
  const address = (request as unknown as amqp.Message).properties.replyTo as string;
  await requesterConn.close();

  const returned: amqp.Message[] = [];
  responder.on('return', (m: amqp.Message) => returned.push(m));
  const publish = (mandatory: boolean): Promise<unknown> =>
    new Promise((resolve) =>
      responder.publish('', address, Buffer.from('late'), { mandatory }, (err) => resolve(err)),
    );
  assert.equal(await publish(false), null, 'confirmed (acked) though dropped');
  await expectNothingFor(200, () => assert.equal(returned.length, 0, 'a return without mandatory'));
  assert.equal(await publish(true), null);
  await eventually(() => assert.equal(returned.length, 1));
  const r = returned[0]!.fields as unknown as { replyCode: number; routingKey: string };
  assert.equal(r.replyCode, 312);
  assert.equal(r.routingKey, address);
});

void test('direct reply-to: a live requester gets a mandatory reply without a basic.return', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const requester = await openChannel(conn);
  const got: amqp.Message[] = [];
  await requester.consume(REPLY_TO, (m) => m && got.push(m), { noAck: true });
  const responder = await openConfirmChannel(await connect(t, url));
  await responder.assertQueue('rpc', { durable: false });
  requester.sendToQueue('rpc', Buffer.from('q'), { replyTo: REPLY_TO });
  let request: amqp.GetMessage | false = false;
  await eventually(async () => assert.ok((request = await responder.get('rpc', { noAck: true }))));
  const address = (request as unknown as amqp.Message).properties.replyTo as string;
  const returned: amqp.Message[] = [];
  responder.on('return', (m: amqp.Message) => returned.push(m));
  await new Promise<void>((resolve, reject) =>
    responder.publish('', address, Buffer.from('r'), { mandatory: true }, (err) =>
      err ? reject(err as Error) : resolve(),
    ),
  );
  await eventually(() => assert.equal(got.length, 1));
  assert.equal(returned.length, 0);
});

void test('direct reply-to: after basic.cancel of the reply consumer its address is dead; consuming again gives a new address that works', async (t) => {
  const { url } = await startBroker(t);
  const seen: amqp.Message[] = [];
  await startEchoResponder(await connect(t, url), 'rpc', seen);
  const ch = await openChannel(await connect(t, url));
  const got: amqp.Message[] = [];
  const first = await ch.consume(REPLY_TO, (m) => m && got.push(m), { noAck: true });
  ch.sendToQueue('rpc', Buffer.from('one'), { replyTo: REPLY_TO });
  await eventually(() => assert.equal(got.length, 1));
  const oldAddress = seen[0]!.properties.replyTo as string;
  await ch.cancel(first.consumerTag);
  await assert.rejects(
    (await openChannel(await connect(t, url))).checkQueue(oldAddress),
    hasCode(404),
  );
  await ch.consume(REPLY_TO, (m) => m && got.push(m), { noAck: true });
  ch.sendToQueue('rpc', Buffer.from('two'), { replyTo: REPLY_TO });
  await eventually(() => assert.equal(got.length, 2));
  assert.notEqual(seen[1]!.properties.replyTo, oldAddress);
  assert.equal(got[1]!.content.toString(), 'TWO');
});

void test('direct reply-to: the address is no queue for anything but the reply publish (consume, get, bind, purge: 404; delete: a no-op)', async (t) => {
  const { url } = await startBroker(t);
  const seen: amqp.Message[] = [];
  await startEchoResponder(await connect(t, url), 'rpc', seen);
  const requester = await openChannel(await connect(t, url));
  const got: amqp.Message[] = [];
  await requester.consume(REPLY_TO, (m) => m && got.push(m), { noAck: true });
  requester.sendToQueue('rpc', Buffer.from('one'), { replyTo: REPLY_TO });
  await eventually(() => assert.equal(seen.length, 1));
  const address = seen[0]!.properties.replyTo as string;
  const other = await connect(t, url);
  const attempts: [string, (ch: amqp.Channel) => Promise<unknown>][] = [
    ['consume', (ch) => ch.consume(address, () => {}, { noAck: true })],
    ['get', (ch) => ch.get(address)],
    ['bind', (ch) => ch.bindQueue(address, 'amq.direct', 'k')],
    ['purge', (ch) => ch.purgeQueue(address)],
  ];
  for (const [what, attempt] of attempts)
    await assert.rejects(attempt(await openChannel(other)), hasCode(404), what);
  const del = await openChannel(other);
  assert.equal((await del.deleteQueue(address)).messageCount, 0);
  // Still alive after all that.
  requester.sendToQueue('rpc', Buffer.from('two'), { replyTo: REPLY_TO });
  await eventually(() => assert.equal(got.length, 2));
});

void test('direct reply-to: a reply published in a transaction arrives at commit, not before', async (t) => {
  const { url } = await startBroker(t);
  const requester = await openChannel(await connect(t, url));
  const got: amqp.Message[] = [];
  await requester.consume(REPLY_TO, (m) => m && got.push(m), { noAck: true });
  const responder = await openChannel(await connect(t, url));
  await responder.assertQueue('rpc', { durable: false });
  requester.sendToQueue('rpc', Buffer.from('q'), { replyTo: REPLY_TO });
  let request: amqp.GetMessage | false = false;
  await eventually(async () => assert.ok((request = await responder.get('rpc', { noAck: true }))));
  const address = (request as unknown as amqp.Message).properties.replyTo as string;
  await txSelect(responder);
  responder.publish('', address, Buffer.from('in tx'));
  await expectNothingFor(200, () => assert.equal(got.length, 0, 'a reply before commit'));
  await txCommit(responder);
  await eventually(() => assert.equal(got.length, 1));
});

void test('direct reply-to: the capability is advertised, and a requester publishing persistent requests in confirm mode is confirmed', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const caps = (
    conn.connection as unknown as { serverProperties: { capabilities: Record<string, unknown> } }
  ).serverProperties.capabilities;
  assert.equal(caps['direct_reply_to'], true);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('rpc-durable', { durable: true });
  await ch.consume(REPLY_TO, () => {}, { noAck: true });
  await new Promise<void>((resolve, reject) =>
    ch.sendToQueue(
      'rpc-durable',
      Buffer.from('q'),
      { replyTo: REPLY_TO, persistent: true },
      (err) => (err ? reject(err as Error) : resolve()),
    ),
  );
  const m = await ch.get('rpc-durable', { noAck: true });
  assert.ok(m);
  assert.match(m.properties.replyTo as string, /^amq\.rabbitmq\.reply-to\./);
});
