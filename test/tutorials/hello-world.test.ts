// RabbitMQ tutorial one, "Hello World!", as a user writes it with amqplib's promise API:
// https://www.rabbitmq.com/tutorials/tutorial-one-javascript (send.js / receive.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConsumeMessage } from 'amqplib';
import { connect, startBroker } from '../helpers/server.js';

void test('tutorial 1 (hello world): send.js then receive.js on queue hello', async (t) => {
  const { url } = await startBroker(t);

  // send.js
  const sender = await connect(t, url);
  const sendCh = await sender.createChannel();
  const queue = 'hello';
  const msg = 'Hello World!';
  await sendCh.assertQueue(queue, { durable: false });
  assert.equal(sendCh.sendToQueue(queue, Buffer.from(msg)), true);
  await sendCh.close();
  await sender.close();

  // receive.js
  const receiver = await connect(t, url);
  const recvCh = await receiver.createChannel();
  const ok = await recvCh.assertQueue(queue, { durable: false });
  assert.equal(ok.queue, 'hello');
  const got = await new Promise<ConsumeMessage>((resolve) => {
    void recvCh.consume(
      queue,
      (m) => {
        if (m) resolve(m);
      },
      { noAck: true },
    );
  });
  assert.equal(got.content.toString(), 'Hello World!');
  assert.equal(got.fields.routingKey, 'hello');
  assert.equal(got.fields.exchange, '');
  assert.equal(got.fields.redelivered, false);
});

void test('tutorial 1 (hello world): a receiver started first gets messages sent later', async (t) => {
  const { url } = await startBroker(t);
  const receiver = await connect(t, url);
  const recvCh = await receiver.createChannel();
  await recvCh.assertQueue('hello', { durable: false });
  const got: string[] = [];
  const done = new Promise<void>((resolve) => {
    void recvCh.consume(
      'hello',
      (m) => {
        if (!m) return;
        got.push(m.content.toString());
        if (got.length === 3) resolve();
      },
      { noAck: true },
    );
  });

  const sender = await connect(t, url);
  const sendCh = await sender.createChannel();
  await sendCh.assertQueue('hello', { durable: false });
  for (const s of ['Hello', 'World', '!']) sendCh.sendToQueue('hello', Buffer.from(s));
  await done;
  assert.deepEqual(got, ['Hello', 'World', '!']);
});
