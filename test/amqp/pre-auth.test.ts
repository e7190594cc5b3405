/**
 * Before connection.open-ok a connection can do nothing but authenticate, tune, open or close
 * (issue 13 item 6): every other method, content frames and early heartbeats get a connection
 * error and the close; frames larger than frame_min (4096) are refused before tune.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import {
  AMQP_0_9_1,
  assertServing,
  contentBody,
  contentHeader,
  frame,
  FRAME_HEARTBEAT,
  MethodId,
  RawClient,
} from '../helpers/amqp-raw.js';
import { startBroker } from '../helpers/server.js';

type Stage = 'before start-ok' | 'before tune-ok' | 'before open';

/** A raw client stopped at `stage` of the handshake (credentials right). */
async function at(t: TestContext, port: number, stage: Stage): Promise<RawClient> {
  const c = await RawClient.open(t, port);
  c.write(AMQP_0_9_1);
  await c.expectMethod(0, MethodId.ConnectionStart);
  if (stage === 'before start-ok') return c;
  c.startOk('guest', 'guest');
  const tune = await c.expectMethod(0, MethodId.ConnectionTune);
  if (stage === 'before tune-ok') return c;
  c.sendMethod(0, MethodId.ConnectionTuneOk, {
    channelMax: tune.channelMax,
    frameMax: tune.frameMax,
    heartbeat: 0,
  });
  return c;
}

/** The broker closes the connection with one of `codes` and never opened a channel. */
async function refused(c: RawClient, codes: number[], what: string): Promise<void> {
  const close = await c.expectConnectionClose();
  assert.ok(
    codes.includes(close.replyCode),
    `${what}: ${close.replyCode} ${close.replyText}, expected one of ${codes.join('/')}`,
  );
  await c.waitClosed();
  for (const id of [MethodId.ChannelOpenOk, MethodId.ConnectionOpenOk, MethodId.BasicAck])
    assert.ok(!c.frames.some((f) => f.method?.id === id), `${what}: nothing was carried out`);
}

const publish = (c: RawClient): void =>
  c.sendMethod(1, MethodId.BasicPublish, {
    ticket: 0,
    exchange: '',
    routingKey: 'q',
    mandatory: false,
    immediate: false,
  });

const ABUSE: { what: string; codes: number[]; send: (c: RawClient) => void }[] = [
  {
    what: 'channel.open',
    codes: [504, 505],
    send: (c) => c.sendMethod(1, MethodId.ChannelOpen, { outOfBand: '' }),
  },
  { what: 'basic.publish', codes: [504, 505], send: publish },
  {
    what: 'queue.declare on channel 0',
    codes: [503, 504, 505, 540],
    send: (c) => c.sendQueueDeclare(0, 'q'),
  },
  {
    what: 'content header and body frames',
    codes: [505],
    send: (c) => c.write(Buffer.concat([contentHeader(1, 2), contentBody(1, Buffer.from('hi'))])),
  },
  {
    what: 'connection.update-secret',
    codes: [503],
    send: (c) =>
      c.sendMethod(0, MethodId.ConnectionUpdateSecret, {
        newSecret: Buffer.from('x'),
        reason: 'r',
      }),
  },
];

for (const stage of ['before start-ok', 'before tune-ok', 'before open'] as const)
  for (const a of ABUSE)
    void test(`${a.what} ${stage} is a connection error and the socket is closed`, async (t) => {
      const { port, url } = await startBroker(t);
      const c = await at(t, port, stage);
      a.send(c);
      await refused(c, a.codes, `${a.what} ${stage}`);
      await assertServing(t, url);
    });

void test('a heartbeat frame before tune-ok is 505 UNEXPECTED_FRAME: heartbeats are negotiated there', async (t) => {
  const { port, url } = await startBroker(t);
  for (const stage of ['before start-ok', 'before tune-ok'] as const) {
    const c = await at(t, port, stage);
    c.write(frame(FRAME_HEARTBEAT, 0, Buffer.alloc(0)));
    await refused(c, [505], `heartbeat ${stage}`);
  }
  await assertServing(t, url);
});

void test('a frame larger than frame_min (4096) before tune is refused with 501 FRAME_ERROR (RabbitMQ)', async (t) => {
  const { port, url } = await startBroker(t);
  for (const stage of ['before start-ok', 'before tune-ok'] as const) {
    const c = await at(t, port, stage);
    // A start-ok whose client properties alone exceed frame_min.
    c.sendMethod(0, MethodId.ConnectionStartOk, {
      clientProperties: { product: 'x'.repeat(5000) },
      mechanism: 'PLAIN',
      response: Buffer.from('\0guest\0guest'),
      locale: 'en_US',
    });
    await refused(c, [501], `5000-byte frame ${stage}`);
  }
  await assertServing(t, url);
});

void test('a 4096-byte start-ok is within frame_min and accepted', async (t) => {
  const { port } = await startBroker(t);
  const c = await at(t, port, 'before start-ok');
  const base = {
    clientProperties: { product: '' },
    mechanism: 'PLAIN',
    response: Buffer.from('\0guest\0guest'),
    locale: 'en_US',
  };
  c.sendMethod(0, MethodId.ConnectionStartOk, {
    ...base,
    // Padding that brings the payload to exactly 4096 bytes (the 8 bytes of frame overhead
    // aside, as RabbitMQ counts).
    clientProperties: { product: 'x'.repeat(4096 - payloadSize(base)) },
  });
  await c.expectMethod(0, MethodId.ConnectionTune);
});

function payloadSize(args: {
  clientProperties: { product: string };
  mechanism: string;
  response: Buffer;
  locale: string;
}): number {
  // class+method 4, table length 4, "product" shortstr 8, type 1, longstr length 4 (+ text),
  // mechanism shortstr, response longstr, locale shortstr.
  return (
    4 +
    4 +
    8 +
    1 +
    4 +
    args.clientProperties.product.length +
    1 +
    args.mechanism.length +
    4 +
    args.response.length +
    1 +
    args.locale.length
  );
}
