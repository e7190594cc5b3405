/**
 * Bad input over a raw socket after a correct handshake (reliability plan E2/E3): the offending
 * connection is closed with the right reply code, and the broker keeps serving everyone else.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import {
  assertServing,
  bystanderAdvances,
  contentBody,
  contentHeader,
  frame,
  FRAME_BODY,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  MethodId,
  RawClient,
  rawMethodFrame,
  shortstr,
  startBystander,
} from '../helpers/amqp-raw.js';
import { encodeMethodFrame } from '../../src/protocol/amqp/generated/methods.js';
import { startBroker } from '../helpers/server.js';

/** Handshake (optionally opening channel 1), then hand the client to the test. */
async function opened(
  t: TestContext,
  options: { frameMax?: number; channel?: boolean } = {},
): Promise<{ c: RawClient; url: string; port: number }> {
  const { port, url } = await startBroker(t);
  const c = await RawClient.open(t, port);
  await c.handshake(options.frameMax === undefined ? {} : { frameMax: options.frameMax });
  if (options.channel !== false) await c.openChannel(1);
  return { c, url, port };
}

/** Expects connection.close with one of `codes` and a reply text, then the socket to close. */
async function expectHardError(
  c: RawClient,
  codes: number[],
): Promise<{ replyCode: number; replyText: string }> {
  const close = await c.expectConnectionClose();
  assert.ok(
    codes.includes(close.replyCode),
    `expected reply code ${codes.join(' or ')}, got ${close.replyCode} ${close.replyText}`,
  );
  assert.ok(close.replyText.length > 0, 'connection.close carries a reply text');
  await c.waitClosed();
  return close;
}

function publishMethod(channel: number, routingKey = 'q'): Buffer {
  return encodeMethodFrame(channel, MethodId.BasicPublish, {
    ticket: 0,
    exchange: '',
    routingKey,
    mandatory: false,
    immediate: false,
  });
}

function queueDeclareArgs(queue: string, table: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(table.length);
  // ticket, queue, bits (passive durable exclusive auto-delete nowait = 0), arguments
  return Buffer.concat([Buffer.alloc(2), shortstr(queue), Buffer.from([0]), len, table]);
}

/** Table content: one entry 'a' -> table -> … `depth` levels deep. */
function nestedTables(depth: number): Buffer {
  const b = Buffer.alloc(7 * depth);
  for (let i = 0; i < depth; i++) {
    const o = 7 * i;
    b[o] = 1;
    b[o + 1] = 0x61; // 'a'
    b[o + 2] = 0x46; // 'F'
    b.writeUInt32BE(7 * (depth - i - 1), o + 3);
  }
  return b;
}

/** Table content: one entry 'a' -> array -> array -> … `depth` levels deep. */
function nestedArrays(depth: number): Buffer {
  const head = Buffer.from([1, 0x61]);
  const b = Buffer.alloc(5 * depth);
  for (let i = 0; i < depth; i++) {
    b[5 * i] = 0x41; // 'A'
    b.writeUInt32BE(5 * (depth - i - 1), 5 * i + 1);
  }
  return Buffer.concat([head, b]);
}

void test('garbage bytes after a good handshake close that connection with 501 FRAME_ERROR while another client keeps publishing and consuming (RabbitMQ)', async (t) => {
  const { c, url } = await opened(t);
  const bystander = await startBystander(t, url);
  await bystanderAdvances(bystander);
  const garbage = randomBytes(4096);
  garbage[0] = 0xde; // not a frame type
  c.write(garbage);
  await expectHardError(c, [501]);
  await bystanderAdvances(bystander);
  const { sent, received } = await bystander.stop();
  assert.equal(received, sent);
  await assertServing(t, url);
});

void test('a frame larger than the negotiated frame-max closes the connection with 501 FRAME_ERROR (AMQP 0-9-1 §4.2.3)', async (t) => {
  const { c, url } = await opened(t, { frameMax: 4096 });
  const header = Buffer.alloc(7);
  header[0] = FRAME_METHOD;
  header.writeUInt16BE(1, 1);
  header.writeUInt32BE(64 * 1024, 3);
  c.write(Buffer.concat([header, Buffer.alloc(1000)]));
  await expectHardError(c, [501]);
  await assertServing(t, url);
});

void test('a frame size of 2^31 or more is refused from the header alone with 501, without buffering (reliability E2)', async (t) => {
  const { c, url } = await opened(t);
  const header = Buffer.alloc(7);
  header[0] = FRAME_BODY;
  header.writeUInt16BE(1, 1);
  header.writeUInt32BE(0xfffffff0, 3);
  c.write(header);
  await expectHardError(c, [501]);
  await assertServing(t, url);
});

void test('body frames of exactly frame-max - 8 payload bytes are accepted (AMQP 0-9-1 §4.2.3)', async (t) => {
  const { c } = await opened(t, { frameMax: 4096 });
  c.sendQueueDeclare(1, 'fm');
  await c.expectMethod(1, MethodId.QueueDeclareOk);
  const body = randomBytes(3 * 4088);
  c.write(publishMethod(1, 'fm'));
  c.write(contentHeader(1, body.length));
  for (let i = 0; i < 3; i++) c.write(contentBody(1, body.subarray(i * 4088, (i + 1) * 4088)));
  c.sendMethod(1, MethodId.BasicGet, { ticket: 0, queue: 'fm', noAck: true });
  await c.expectMethod(1, MethodId.BasicGetOk);
  const bodyFrames = [];
  let got = 0;
  while (got < body.length) {
    const f = await c.expectFrame((x) => x.type === FRAME_BODY && x.channel === 1, 'a body frame');
    assert.ok(f.payload.length <= 4088, 'the broker splits bodies at frame-max too');
    bodyFrames.push(f.payload);
    got += f.payload.length;
  }
  assert.ok(Buffer.concat(bodyFrames).equals(body));
});

void test('a frame without the 0xCE frame-end octet closes the connection with 501 (AMQP 0-9-1 §4.2.3)', async (t) => {
  const { c, url } = await opened(t);
  const f = encodeMethodFrame(1, MethodId.BasicQos, {
    prefetchSize: 0,
    prefetchCount: 1,
    global: false,
  });
  f[f.length - 1] = 0x00;
  c.write(f);
  await expectHardError(c, [501]);
  await assertServing(t, url);
});

void test('an unknown frame type closes the connection with 501 (AMQP 0-9-1 §4.2.3)', async (t) => {
  const { c, url } = await opened(t);
  c.write(frame(4, 1, Buffer.from('hello')));
  await expectHardError(c, [501]);
  await assertServing(t, url);
});

void test('a heartbeat frame on channel 1 closes the connection with 505 UNEXPECTED_FRAME (RabbitMQ)', async (t) => {
  const { c, url } = await opened(t);
  c.write(frame(FRAME_HEARTBEAT, 1, Buffer.alloc(0)));
  await expectHardError(c, [505]);
  await assertServing(t, url);
});

void test('a method on a channel that was never opened closes the connection with 504 CHANNEL_ERROR (RabbitMQ)', async (t) => {
  const { c, url } = await opened(t, { channel: false });
  c.sendMethod(7, MethodId.BasicQos, { prefetchSize: 0, prefetchCount: 1, global: false });
  await expectHardError(c, [504]);
  await assertServing(t, url);
});

void test('channel.open on a channel that is already open closes the connection with 504 CHANNEL_ERROR (RabbitMQ)', async (t) => {
  const { c, url } = await opened(t);
  c.sendMethod(1, MethodId.ChannelOpen, { outOfBand: '' });
  await expectHardError(c, [504]);
  await assertServing(t, url);
});

void test('channel.open above the negotiated channel-max closes the connection with 530 NOT_ALLOWED (RabbitMQ)', async (t) => {
  const { port, url } = await startBroker(t);
  const c = await RawClient.open(t, port);
  await c.handshake({ channelMax: 10 });
  await c.openChannel(10);
  c.sendMethod(11, MethodId.ChannelOpen, { outOfBand: '' });
  await expectHardError(c, [530]);
  await assertServing(t, url);
});

void test('a content header with no basic.publish before it closes the connection with 505 UNEXPECTED_FRAME (RabbitMQ)', async (t) => {
  const { c, url } = await opened(t);
  c.write(contentHeader(1, 5));
  await expectHardError(c, [505]);
  await assertServing(t, url);
});

void test('a body frame with no content header closes the connection with 505 UNEXPECTED_FRAME (RabbitMQ)', async (t) => {
  const { c, url } = await opened(t);
  c.write(publishMethod(1));
  c.write(contentBody(1, Buffer.from('no header')));
  await expectHardError(c, [505]);
  await assertServing(t, url);
});

void test('a method frame between a content header and its body closes the connection with 505 UNEXPECTED_FRAME (RabbitMQ)', async (t) => {
  const { c, url } = await opened(t);
  c.write(publishMethod(1));
  c.write(contentHeader(1, 10));
  c.sendMethod(1, MethodId.BasicQos, { prefetchSize: 0, prefetchCount: 1, global: false });
  await expectHardError(c, [505]);
  await assertServing(t, url);
});

void test('body frames carrying more than the header announced close the connection with 501 FRAME_ERROR (RabbitMQ rabbit_command_assembler)', async (t) => {
  const { c, url } = await opened(t);
  c.sendQueueDeclare(1, 'q');
  await c.expectMethod(1, MethodId.QueueDeclareOk);
  c.write(publishMethod(1));
  c.write(contentHeader(1, 10));
  c.write(contentBody(1, Buffer.alloc(6)));
  c.write(contentBody(1, Buffer.alloc(6))); // 12 > 10
  // RabbitMQ: frame_error, "content body frame exceeds remaining content size".
  await expectHardError(c, [501]);
  await assertServing(t, url);
  // Nothing half-assembled was enqueued.
  const c2 = await RawClient.open(t, Number(new URL(url).port));
  await c2.handshake();
  await c2.openChannel(1);
  c2.sendMethod(1, MethodId.BasicGet, { ticket: 0, queue: 'q', noAck: true });
  await c2.expectMethod(1, MethodId.BasicGetEmpty);
});

void test('a content header announcing 2^63 bytes is refused without allocating it (reliability E2)', async (t) => {
  const { c, url } = await opened(t);
  c.write(publishMethod(1));
  const h = contentHeader(1, 0);
  h.writeBigUInt64BE(0x7fffffffffffffffn, 7 + 4);
  c.write(h);
  // RabbitMQ: frame_error 501 (above ?MAX_MSG_SIZE) or 406 (max_message_size); never an OOM.
  const close = await Promise.race([
    c.expectMethod(0, MethodId.ConnectionClose).then((m) => m.replyCode),
    c.expectMethod(1, MethodId.ChannelClose).then((m) => m.replyCode),
  ]);
  assert.ok([406, 501].includes(close), `got ${close}`);
  await assertServing(t, url);
});

void test('a field table nested 10,000 deep in queue.declare arguments is refused with 502/501, not a stack overflow (reliability E3)', async (t) => {
  const { c, url } = await opened(t);
  const inner = nestedTables(10_000);
  const outerLen = Buffer.alloc(4);
  outerLen.writeUInt32BE(inner.length);
  const table = Buffer.concat([Buffer.from([1, 0x78, 0x46]), outerLen, inner]); // 'x' -> F
  c.write(rawMethodFrame(1, MethodId.QueueDeclare, queueDeclareArgs('deep', table)));
  await expectHardError(c, [501, 502]);
  await assertServing(t, url);
});

void test('a field array nested 10,000 deep is refused with 502/501, not a stack overflow (reliability E3)', async (t) => {
  const { c, url } = await opened(t);
  c.write(
    rawMethodFrame(1, MethodId.QueueDeclare, queueDeclareArgs('deep-a', nestedArrays(10_000))),
  );
  await expectHardError(c, [501, 502]);
  await assertServing(t, url);
});

void test('message headers nested 10,000 deep, routed through a headers exchange, close the connection with 502/501 (reliability E3)', async (t) => {
  const { c, url } = await opened(t);
  c.sendQueueDeclare(1, 'hq');
  await c.expectMethod(1, MethodId.QueueDeclareOk);
  c.sendMethod(1, MethodId.QueueBind, {
    ticket: 0,
    queue: 'hq',
    exchange: 'amq.headers',
    routingKey: '',
    nowait: false,
    arguments: { 'x-match': 'any', a: 1 },
  });
  await c.expectMethod(1, MethodId.QueueBindOk);
  const inner = nestedTables(10_000);
  // Property flags: headers only (bit 13); then the table with its length.
  const props = Buffer.alloc(2 + 4);
  props.writeUInt16BE(0x2000, 0);
  props.writeUInt32BE(inner.length, 2);
  const payload = Buffer.alloc(12);
  payload.writeUInt16BE(60, 0);
  payload.writeBigUInt64BE(1n, 4);
  c.write(
    encodeMethodFrame(1, MethodId.BasicPublish, {
      ticket: 0,
      exchange: 'amq.headers',
      routingKey: '',
      mandatory: false,
      immediate: false,
    }),
  );
  c.write(frame(2, 1, Buffer.concat([payload, props, inner])));
  c.write(contentBody(1, Buffer.from('x')));
  await expectHardError(c, [501, 502]);
  await assertServing(t, url);
});

void test('an unknown field-table type octet closes the connection with 502 SYNTAX_ERROR (RabbitMQ)', async (t) => {
  const { c, url } = await opened(t);
  const table = Buffer.from([1, 0x61, 0x51, 1, 2, 3, 4]); // 'a' -> type 'Q' (undefined)
  c.write(rawMethodFrame(1, MethodId.QueueDeclare, queueDeclareArgs('bad-type', table)));
  await expectHardError(c, [501, 502]);
  await assertServing(t, url);
});

void test('a long string whose length runs past the end of the frame closes the connection with 501/502 (reliability E3)', async (t) => {
  const { c, url } = await opened(t);
  const table = Buffer.from([1, 0x61, 0x53, 0x7f, 0xff, 0xff, 0xff, 0x41]); // 'a' -> S of 2 GiB
  c.write(rawMethodFrame(1, MethodId.QueueDeclare, queueDeclareArgs('long', table)));
  await expectHardError(c, [501, 502]);
  await assertServing(t, url);
});

void test('a truncated method frame closes the connection with 501/502 (RabbitMQ frame_error)', async (t) => {
  const { c, url } = await opened(t);
  // queue.declare that stops after the queue name.
  c.write(
    rawMethodFrame(1, MethodId.QueueDeclare, Buffer.concat([Buffer.alloc(2), shortstr('cut')])),
  );
  await expectHardError(c, [501, 502]);
  await assertServing(t, url);
});

void test('a __proto__ key in a field table does not pollute Object.prototype (reliability E3)', async (t) => {
  const { c, url } = await opened(t);
  const inner = Buffer.concat([Buffer.from([8]), Buffer.from('polluted'), Buffer.from([0x74, 1])]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(inner.length);
  // { __proto__: { polluted: true } }
  const value = Buffer.concat([
    Buffer.from([9]),
    Buffer.from('__proto__'),
    Buffer.from([0x46]),
    len,
    inner,
  ]);
  c.write(rawMethodFrame(1, MethodId.QueueDeclare, queueDeclareArgs('proto', value)));
  // Accepted or refused, either way nothing leaks into every object.
  await Promise.race([
    c.expectMethod(1, MethodId.QueueDeclareOk),
    c.expectMethod(1, MethodId.ChannelClose),
    c.expectMethod(0, MethodId.ConnectionClose),
  ]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
  await assertServing(t, url);
});

void test('an unknown class or method id closes the connection with a reply code and text (RabbitMQ: 540/503)', async (t) => {
  const { c, url } = await opened(t);
  c.write(rawMethodFrame(1, (77 << 16) | 7, Buffer.alloc(0)));
  await expectHardError(c, [501, 503, 540]);
  await assertServing(t, url);
});

void test('a server-only method sent by the client closes the connection with 503/540 (RabbitMQ: command_invalid)', async (t) => {
  const { c, url } = await opened(t);
  c.sendMethod(1, MethodId.BasicDeliver, {
    consumerTag: 'x',
    deliveryTag: 1,
    redelivered: false,
    exchange: '',
    routingKey: 'q',
  });
  await expectHardError(c, [503, 540]);
  await assertServing(t, url);
});

void test('connection.start sent by the client after the handshake closes the connection with 503/504/540 (RabbitMQ)', async (t) => {
  const { c, url } = await opened(t, { channel: false });
  c.sendMethod(0, MethodId.ConnectionStart, {
    versionMajor: 0,
    versionMinor: 9,
    serverProperties: {},
    mechanisms: Buffer.from('PLAIN'),
    locales: Buffer.from('en_US'),
  });
  await expectHardError(c, [503, 504, 540]);
  await assertServing(t, url);
});

void test('basic.publish with immediate=true closes the connection with 540 NOT_IMPLEMENTED (RabbitMQ 3.0+)', async (t) => {
  const { c, url } = await opened(t);
  c.write(
    encodeMethodFrame(1, MethodId.BasicPublish, {
      ticket: 0,
      exchange: '',
      routingKey: 'q',
      mandatory: false,
      immediate: true,
    }),
  );
  c.write(contentHeader(1, 1));
  c.write(contentBody(1, Buffer.from('x')));
  // rabbit_channel: handle_method(#'basic.publish'{immediate = true}) ->
  //   protocol_error(not_implemented, "immediate=true").
  await expectHardError(c, [540]);
  await assertServing(t, url);
});

void test('tx.select is answered: tx.select-ok (RabbitMQ) or a 540 NOT_IMPLEMENTED close with a reason', async (t) => {
  const { c, url } = await opened(t);
  c.sendMethod(1, MethodId.TxSelect, {});
  const reply: { replyCode: number; replyText: string } | 'select-ok' = await Promise.race([
    c.expectMethod(1, MethodId.TxSelectOk).then(() => 'select-ok' as const),
    c.expectMethod(0, MethodId.ConnectionClose),
    c.expectMethod(1, MethodId.ChannelClose),
  ]);
  if (reply !== 'select-ok') {
    assert.equal(reply.replyCode, 540);
    assert.match(reply.replyText, /NOT_IMPLEMENTED - .*tx/i);
  }
  await assertServing(t, url);
});

void test('100 clients sending malformed frames in a row on fresh sockets does not disturb a bystander (reliability E6, short)', async (t) => {
  const { port, url } = await startBroker(t);
  const bystander = await startBystander(t, url);
  for (let i = 0; i < 100; i++) {
    const c = await RawClient.open(t, port);
    await c.handshake();
    const junk = randomBytes(64 + (i % 64));
    junk[0] = [1, 2, 3, 8][i % 4]!; // a valid type so the broker reads further into the junk
    junk.writeUInt16BE(i % 3, 1);
    c.write(junk);
    c.write(randomBytes(32));
    // Do not wait for each close: they overlap, as an attack would.
    if (i % 20 === 19) await bystanderAdvances(bystander, 5);
  }
  await bystanderAdvances(bystander);
  const { sent, received } = await bystander.stop();
  assert.equal(received, sent);
  await assertServing(t, url);
});
