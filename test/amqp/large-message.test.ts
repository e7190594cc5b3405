import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type amqp from 'amqplib';
import {
  assertServing,
  contentBody,
  contentHeader,
  MethodId,
  nextChannelError,
  openChannel,
  openConfirmChannel,
  RawClient,
  within,
} from '../helpers/amqp-raw.js';
import { encodeMethodFrame } from '../../src/protocol/amqp/generated/methods.js';
import { connect, startBroker } from '../helpers/server.js';

void test('a 10 MB message crosses many body frames and round-trips byte-exact (AMQP 0-9-1 §4.2.6)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('big', { durable: true });
  const body = randomBytes(10 * 1024 * 1024);
  ch.sendToQueue('big', body, { persistent: true, messageId: 'big-1' });
  // A small one behind it must not be mixed into the big one's frames.
  ch.sendToQueue('big', Buffer.from('small'), { persistent: true });
  await ch.waitForConfirms();
  const sub = await openChannel(conn);
  const got: amqp.ConsumeMessage[] = [];
  await new Promise<void>((resolve) => {
    void sub.consume('big', (m) => {
      if (m === null) return;
      got.push(m);
      sub.ack(m);
      if (got.length === 2) resolve();
    });
  });
  assert.equal(got[0]!.content.length, body.length);
  assert.ok(got[0]!.content.equals(body), 'the 10 MB body came back byte for byte');
  assert.equal(got[0]!.properties.messageId, 'big-1');
  assert.equal(got[1]!.content.toString(), 'small');
});

void test('a large message fetched with basic.get and one returned as unroutable are byte-exact too (AMQP 0-9-1)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('big-get', { durable: false });
  const body = randomBytes(3 * 1024 * 1024 + 17);
  ch.sendToQueue('big-get', body);
  await ch.waitForConfirms();
  const m = await ch.get('big-get', { noAck: true });
  assert.ok(m !== false);
  assert.ok(m.content.equals(body));
  const returned = new Promise<amqp.Message>((resolve) => ch.once('return', resolve));
  ch.publish('', 'nobody-home', body, { mandatory: true });
  assert.ok((await within(returned, 'basic.return')).content.equals(body));
});

void test('an empty body round-trips as zero bytes (AMQP 0-9-1: no body frames)', async (t) => {
  const { url } = await startBroker(t);
  const ch = await openConfirmChannel(await connect(t, url));
  await ch.assertQueue('empty-body', { durable: true });
  ch.sendToQueue('empty-body', Buffer.alloc(0), { persistent: true, type: 'nothing' });
  await ch.waitForConfirms();
  const m = await ch.get('empty-body', { noAck: true });
  assert.ok(m !== false);
  assert.equal(m.content.length, 0);
  assert.equal(m.properties.type, 'nothing');
});

void test('a message over max-message-size closes only its channel with 406; the connection, other channels and the broker keep working (RabbitMQ max_message_size)', async (t) => {
  const { url } = await startBroker(t, { maxMessageSize: 1024 * 1024 });
  const conn = await connect(t, url);
  let connClosed = false;
  conn.on('close', () => (connClosed = true));
  const other = await openConfirmChannel(conn);
  await other.assertQueue('limited', { durable: false });
  const ch = await openConfirmChannel(conn);
  const err = nextChannelError(ch);
  const confirm = new Promise<unknown>((resolve) =>
    ch.sendToQueue('limited', randomBytes(2 * 1024 * 1024), {}, resolve),
  );
  const e = await within(err, 'channel.close for the oversized message');
  assert.equal(e.code, 406, String(e));
  assert.match(e.message, /PRECONDITION_FAILED/);
  assert.notEqual(await confirm, null, 'the oversized publish is not confirmed');
  // Exactly at the limit is fine, on the surviving channel of the same connection.
  other.sendToQueue('limited', randomBytes(1024 * 1024));
  other.sendToQueue('limited', Buffer.from('after'));
  await other.waitForConfirms();
  assert.equal((await other.checkQueue('limited')).messageCount, 2);
  const fresh = await openChannel(conn);
  await fresh.checkQueue('limited');
  assert.equal(connClosed, false);
  await assertServing(t, url);
});

void test('content frames of two channels interleaved on one connection are assembled per channel (AMQP 0-9-1 §4.2.6)', async (t) => {
  const { port } = await startBroker(t);
  const c = await RawClient.open(t, port);
  await c.handshake({ frameMax: 4096 });
  await c.openChannel(1);
  await c.openChannel(2);
  c.sendQueueDeclare(1, 'mix');
  await c.expectMethod(1, MethodId.QueueDeclareOk);
  const publish = (ch: number, key: string): Buffer =>
    encodeMethodFrame(ch, MethodId.BasicPublish, {
      ticket: 0,
      exchange: '',
      routingKey: key,
      mandatory: false,
      immediate: false,
    });
  const a = Buffer.alloc(8000, 0x61);
  const b = Buffer.alloc(6000, 0x62);
  c.write(publish(1, 'mix'));
  c.write(contentHeader(1, a.length, { messageId: 'a' }));
  c.write(contentBody(1, a.subarray(0, 4000)));
  c.write(publish(2, 'mix'));
  c.write(contentHeader(2, b.length, { messageId: 'b' }));
  c.write(contentBody(2, b.subarray(0, 3000)));
  c.write(contentBody(1, a.subarray(4000)));
  c.write(contentBody(2, b.subarray(3000)));
  const conn = await connect(t, `amqp://guest:guest@127.0.0.1:${port}`);
  const ch = await openChannel(conn);
  const got = new Map<string, Buffer>();
  for (let i = 0; i < 2;) {
    const m = await ch.get('mix', { noAck: true });
    if (m === false) {
      await new Promise((r) => setTimeout(r, 10));
      continue;
    }
    got.set(String(m.properties.messageId), m.content);
    i++;
  }
  assert.ok(got.get('a')?.equals(a), 'message a intact');
  assert.ok(got.get('b')?.equals(b), 'message b intact');
});
