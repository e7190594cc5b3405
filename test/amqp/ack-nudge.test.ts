import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeMethodFrame, MethodId } from '../../src/protocol/amqp/generated/methods.js';
import {
  contentBody,
  contentHeader,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  RawClient,
} from '../helpers/amqp-raw.js';
import { expectNothingFor } from '../helpers/core.js';
import { startBroker } from '../helpers/server.js';

/**
 * The ACK nudge (connection.ts, output.ts): a client with Nagle's algorithm on (amqplib's
 * default) holds its next small write until our TCP ACK, which our kernel delays until we send
 * something. So an input chunk that carried a publish and got nothing back in that turn is
 * answered with a heartbeat frame; one that got an answer (a confirm) needs none. Heartbeats
 * are negotiated off here, so every heartbeat frame seen is a nudge.
 */
function publish(routingKey: string, body: Buffer, replyTo?: string): Buffer {
  return Buffer.concat([
    encodeMethodFrame(1, MethodId.BasicPublish, {
      ticket: 0,
      exchange: '',
      routingKey,
      mandatory: false,
      immediate: false,
    }),
    contentHeader(1, body.length, replyTo === undefined ? {} : { replyTo }),
    contentBody(1, body),
  ]);
}

async function rawChannel(t: Parameters<typeof startBroker>[0], port: number): Promise<RawClient> {
  const c = await RawClient.open(t, port);
  await c.handshake({ heartbeat: 0 });
  await c.openChannel(1);
  return c;
}

const heartbeats = (c: RawClient): number =>
  c.frames.filter((f) => f.type === FRAME_HEARTBEAT).length;

void test('a publish that gets no reply is answered with one heartbeat frame, so a Nagle client can send on', async (t) => {
  const { port } = await startBroker(t);
  const c = await rawChannel(t, port);
  assert.equal(heartbeats(c), 0, 'no heartbeats before any publish (they are negotiated off)');
  c.write(publish('nowhere', Buffer.from('x')));
  const f = await c.expectFrame((x) => x.type === FRAME_HEARTBEAT, 'a heartbeat after the publish');
  assert.equal(f.channel, 0);
  assert.equal(f.payload.length, 0);
  // One per input chunk, not a stream of them.
  await expectNothingFor(300, () => assert.equal(heartbeats(c), 1));
});

void test('a publish answered in the same turn (a confirm) gets no heartbeat: the answer carries the ACK', async (t) => {
  const { port } = await startBroker(t);
  const c = await rawChannel(t, port);
  c.sendMethod(1, MethodId.ConfirmSelect, { nowait: false });
  await c.expectFrame((x) => x.method?.id === MethodId.ConfirmSelectOk, 'confirm.select-ok');
  // Unroutable: confirmed at once, with nothing to write to disk.
  c.write(publish('nowhere', Buffer.from('x')));
  const ack = await c.expectFrame((x) => x.method?.id === MethodId.BasicAck, 'basic.ack');
  assert.equal(ack.type, FRAME_METHOD);
  await expectNothingFor(300, () => assert.equal(heartbeats(c), 0));
});

void test('a closed channel or connection is never nudged after its close', async (t) => {
  const { port } = await startBroker(t);
  const c = await rawChannel(t, port);
  // A publish and a connection.close in one chunk: the close-ok is the last frame we get.
  c.write(
    Buffer.concat([
      publish('nowhere', Buffer.from('x')),
      encodeMethodFrame(0, MethodId.ConnectionClose, {
        replyCode: 200,
        replyText: 'bye',
        classId: 0,
        methodId: 0,
      }),
    ]),
  );
  await c.expectFrame((x) => x.method?.id === MethodId.ConnectionCloseOk, 'connection.close-ok');
  await c.waitClosed(5000);
  const last = c.frames.at(-1);
  assert.equal(last?.method?.id, MethodId.ConnectionCloseOk, `got ${c.describe()}`);
});

async function declare(c: RawClient, queue: string): Promise<void> {
  c.sendQueueDeclare(1, queue);
  await c.expectFrame((x) => x.method?.id === MethodId.QueueDeclareOk, 'queue.declare-ok');
}

/** Consumes from `queue` and returns the first delivery's tag. */
async function consumeOne(c: RawClient, queue: string): Promise<number> {
  c.sendMethod(1, MethodId.BasicConsume, {
    ticket: 0,
    queue,
    consumerTag: 'c1',
    noLocal: false,
    noAck: false,
    exclusive: false,
    nowait: false,
    arguments: {},
  });
  const d = await c.expectFrame((x) => x.method?.id === MethodId.BasicDeliver, 'basic.deliver');
  return Number((d.method as { deliveryTag: number | bigint }).deliveryTag);
}

for (const role of ['an RPC responder (it also publishes)', 'a pure consumer'] as const) {
  const producer = role !== 'a pure consumer';
  void test(`an ack from ${role} ${producer ? 'is' : 'is not'} nudged when nothing else answers it`, async (t) => {
    const { port } = await startBroker(t);
    const c = await rawChannel(t, port);
    await declare(c, 'q');
    if (producer) {
      c.write(publish('q', Buffer.from('x')));
      await c.expectFrame((x) => x.type === FRAME_HEARTBEAT, 'the publish nudge');
    } else {
      const p = await rawChannel(t, port);
      p.write(publish('q', Buffer.from('x')));
      await p.expectFrame((x) => x.type === FRAME_HEARTBEAT, 'the publisher is nudged');
    }
    const tag = await consumeOne(c, 'q');
    const before = heartbeats(c);
    // The queue is empty now: the ack gets no delivery back, only (maybe) the nudge.
    c.sendMethod(1, MethodId.BasicAck, { deliveryTag: tag, multiple: false });
    if (producer) {
      await c.expectFrame((x) => x.type === FRAME_HEARTBEAT, 'a heartbeat after the ack');
      await expectNothingFor(300, () => assert.equal(heartbeats(c), before + 1));
    } else {
      await expectNothingFor(300, () => assert.equal(heartbeats(c), before));
    }
    // A valid ack either way: the channel stays open.
    assert.equal(c.closed, false);
  });
}

void test('a direct reply-to request gets no nudge: its reply comes back on this connection and carries the ACK', async (t) => {
  const { port } = await startBroker(t);
  const responder = await rawChannel(t, port);
  await declare(responder, 'rpc');
  const caller = await rawChannel(t, port);
  caller.sendMethod(1, MethodId.BasicConsume, {
    ticket: 0,
    queue: 'amq.rabbitmq.reply-to',
    consumerTag: 'replies',
    noLocal: false,
    noAck: true,
    exclusive: false,
    nowait: false,
    arguments: {},
  });
  await caller.expectFrame((x) => x.method?.id === MethodId.BasicConsumeOk, 'basic.consume-ok');
  caller.write(publish('rpc', Buffer.from('request'), 'amq.rabbitmq.reply-to'));
  // The request reached the responder's queue, and the caller got nothing back for it.
  const tag = await consumeOne(responder, 'rpc');
  assert.ok(tag > 0);
  await expectNothingFor(300, () => assert.equal(heartbeats(caller), 0));
});
