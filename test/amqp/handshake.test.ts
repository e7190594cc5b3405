/**
 * Protocol negotiation, authentication and tuning (AMQP 0-9-1 §4.2.2, §2.2.4; reliability E1,
 * F), over a raw socket and with amqplib.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import amqp from 'amqplib';
import { AMQP_0_9_1, assertServing, MethodId, RawClient } from '../helpers/amqp-raw.js';
import { startBroker } from '../helpers/server.js';

async function badHeader(t: TestContext, bytes: Buffer): Promise<void> {
  const { port, url } = await startBroker(t);
  const c = await RawClient.open(t, port);
  c.write(bytes);
  await c.waitClosed();
  assert.deepEqual(
    c.bytes,
    AMQP_0_9_1,
    `the broker answers with AMQP 0-0-9-1 and nothing else; got ${c.bytes.toString('hex')}`,
  );
  await assertServing(t, url);
}

void test('protocol header AMQP 0-0-9-0 is answered with AMQP 0-0-9-1 and the socket closed (AMQP 0-9-1 §4.2.2)', async (t) => {
  await badHeader(t, Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 0]));
});

void test('an HTTP request is answered with AMQP 0-0-9-1 and the socket closed (AMQP 0-9-1 §4.2.2)', async (t) => {
  await badHeader(t, Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
});

void test('an AMQP 1.0 header is answered with AMQP 0-0-9-1 and the socket closed (AMQP 0-9-1 §4.2.2)', async (t) => {
  await badHeader(t, Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]));
});

void test('random bytes instead of a header are answered with AMQP 0-0-9-1 and the socket closed (reliability E1)', async (t) => {
  const junk = randomBytes(64);
  junk[0] = 0x00; // not 'A'
  await badHeader(t, junk);
});

void test('a correct header split across many writes is still accepted (AMQP 0-9-1 §4.2.2)', async (t) => {
  const { port } = await startBroker(t);
  const c = await RawClient.open(t, port);
  for (const b of AMQP_0_9_1) {
    c.write(Buffer.from([b]));
    await new Promise((r) => setTimeout(r, 2));
  }
  const start = await c.expectMethod(0, MethodId.ConnectionStart);
  assert.equal(start.versionMajor, 0);
  assert.equal(start.versionMinor, 9);
  assert.match(start.mechanisms.toString(), /\bPLAIN\b/);
});

void test('a wrong password is refused with connection.close 403 ACCESS_REFUSED (RabbitMQ, authentication_failure_close)', async (t) => {
  const { port, url } = await startBroker(t);
  const c = await RawClient.open(t, port);
  c.write(AMQP_0_9_1);
  await c.expectMethod(0, MethodId.ConnectionStart);
  c.startOk('guest', 'not-the-password');
  const close = await c.expectConnectionClose();
  assert.equal(close.replyCode, 403);
  assert.match(close.replyText, /ACCESS_REFUSED/);
  assert.doesNotMatch(close.replyText, /not-the-password/, 'the password is not echoed');
  await c.waitClosed();
  assert.ok(
    !c.frames.some((f) => f.method?.id === MethodId.ConnectionTune),
    'no tune after a failed login',
  );
  await assertServing(t, url);
});

void test('amqplib with a wrong password or unknown user fails to connect with 403 ACCESS_REFUSED (RabbitMQ)', async (t) => {
  const { port, url } = await startBroker(t);
  for (const creds of ['guest:wrong', 'nobody:guest', 'guest:']) {
    await assert.rejects(amqp.connect(`amqp://${creds}@127.0.0.1:${port}`), (err: Error) => {
      assert.match(err.message, /403|ACCESS_REFUSED/, `${creds}: ${err.message}`);
      return true;
    });
  }
  await assertServing(t, url);
});

void test('an unsupported SASL mechanism is refused and the socket closed (RabbitMQ)', async (t) => {
  const { port, url } = await startBroker(t);
  const c = await RawClient.open(t, port);
  c.write(AMQP_0_9_1);
  await c.expectMethod(0, MethodId.ConnectionStart);
  c.sendMethod(0, MethodId.ConnectionStartOk, {
    clientProperties: {},
    mechanism: 'EXTERNAL',
    response: Buffer.alloc(0),
    locale: 'en_US',
  });
  await c.waitClosed();
  assert.ok(!c.frames.some((f) => f.method?.id === MethodId.ConnectionTune));
  await assertServing(t, url);
});

void test('tune-ok with frame-max below 4096 closes the connection with 530 NOT_ALLOWED (RabbitMQ)', async (t) => {
  const { port, url } = await startBroker(t);
  const c = await RawClient.open(t, port);
  c.write(AMQP_0_9_1);
  await c.expectMethod(0, MethodId.ConnectionStart);
  c.startOk('guest', 'guest');
  const tune = await c.expectMethod(0, MethodId.ConnectionTune);
  c.sendMethod(0, MethodId.ConnectionTuneOk, {
    channelMax: tune.channelMax,
    frameMax: 1024,
    heartbeat: 0,
  });
  const close = await c.expectConnectionClose();
  assert.equal(close.replyCode, 530);
  await c.waitClosed();
  await assertServing(t, url);
});

void test('tune-ok with frame-max 0 or above the server value closes the connection with 530 NOT_ALLOWED (RabbitMQ validate_negotiated_integer_value)', async (t) => {
  const { port, url } = await startBroker(t);
  for (const frameMax of [0, 0x7fffffff]) {
    const c = await RawClient.open(t, port);
    c.write(AMQP_0_9_1);
    await c.expectMethod(0, MethodId.ConnectionStart);
    c.startOk('guest', 'guest');
    const tune = await c.expectMethod(0, MethodId.ConnectionTune);
    assert.ok(tune.frameMax > 0, 'the broker has a frame-max limit');
    c.sendMethod(0, MethodId.ConnectionTuneOk, {
      channelMax: tune.channelMax,
      frameMax,
      heartbeat: 0,
    });
    c.sendMethod(0, MethodId.ConnectionOpen, { virtualHost: '/', capabilities: '', insist: false });
    const close = await c.expectConnectionClose(2000);
    assert.equal(close.replyCode, 530, `frame-max ${frameMax}: ${close.replyText}`);
  }
  await assertServing(t, url);
});

void test('tune-ok with channel-max 0 or above the server value closes the connection with 530 NOT_ALLOWED (RabbitMQ validate_negotiated_integer_value)', async (t) => {
  const { port, url } = await startBroker(t, { channelMax: 100 });
  for (const channelMax of [0, 200]) await tuneChannelMax(t, port, channelMax);
  await assertServing(t, url);
});

async function tuneChannelMax(t: TestContext, port: number, channelMax: number): Promise<void> {
  const c = await RawClient.open(t, port);
  c.write(AMQP_0_9_1);
  await c.expectMethod(0, MethodId.ConnectionStart);
  c.startOk('guest', 'guest');
  const tune = await c.expectMethod(0, MethodId.ConnectionTune);
  assert.equal(tune.channelMax, 100);
  c.sendMethod(0, MethodId.ConnectionTuneOk, {
    channelMax,
    frameMax: tune.frameMax,
    heartbeat: 0,
  });
  c.sendMethod(0, MethodId.ConnectionOpen, { virtualHost: '/', capabilities: '', insist: false });
  const close = await c.expectConnectionClose(2000);
  assert.equal(close.replyCode, 530, `channel-max ${channelMax}: ${close.replyText}`);
}

void test('connection.open of an unknown vhost closes the connection with 530 NOT_ALLOWED (RabbitMQ)', async (t) => {
  const { port, url } = await startBroker(t);
  const c = await RawClient.open(t, port);
  c.write(AMQP_0_9_1);
  await c.expectMethod(0, MethodId.ConnectionStart);
  c.startOk('guest', 'guest');
  const tune = await c.expectMethod(0, MethodId.ConnectionTune);
  c.sendMethod(0, MethodId.ConnectionTuneOk, {
    channelMax: tune.channelMax,
    frameMax: tune.frameMax,
    heartbeat: 0,
  });
  c.sendMethod(0, MethodId.ConnectionOpen, {
    virtualHost: 'no-such-vhost',
    capabilities: '',
    insist: false,
  });
  const close = await c.expectConnectionClose();
  assert.equal(close.replyCode, 530);
  assert.match(close.replyText, /no-such-vhost/);
  await assertServing(t, url);
});

void test('channel.open before connection.open closes the connection with 505/504 (RabbitMQ unexpected_frame)', async (t) => {
  const { port, url } = await startBroker(t);
  const c = await RawClient.open(t, port);
  c.write(AMQP_0_9_1);
  await c.expectMethod(0, MethodId.ConnectionStart);
  c.startOk('guest', 'guest');
  const tune = await c.expectMethod(0, MethodId.ConnectionTune);
  c.sendMethod(0, MethodId.ConnectionTuneOk, {
    channelMax: tune.channelMax,
    frameMax: tune.frameMax,
    heartbeat: 0,
  });
  c.sendMethod(1, MethodId.ChannelOpen, { outOfBand: '' });
  const close = await c.expectConnectionClose();
  assert.ok([504, 505].includes(close.replyCode), `${close.replyCode} ${close.replyText}`);
  await c.waitClosed();
  await assertServing(t, url);
});

void test('connection.close from the client is answered with close-ok and the socket closed (AMQP 0-9-1 §4.2.2)', async (t) => {
  const { port } = await startBroker(t);
  const c = await RawClient.open(t, port);
  await c.handshake();
  c.sendMethod(0, MethodId.ConnectionClose, {
    replyCode: 200,
    replyText: 'bye',
    classId: 0,
    methodId: 0,
  });
  await c.expectMethod(0, MethodId.ConnectionCloseOk);
  await c.waitClosed();
});

void test('amqplib sees the server properties RabbitMQ clients rely on (capabilities table) (RabbitMQ)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await amqp.connect(url);
  t.after(() => conn.close().catch(() => {}));
  const caps = conn.connection.serverProperties.capabilities as unknown as Record<string, unknown>;
  for (const cap of [
    'publisher_confirms',
    'exchange_exchange_bindings',
    'basic.nack',
    'consumer_cancel_notify',
  ])
    assert.equal(caps[cap], true, cap);
});
