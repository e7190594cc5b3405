// Publisher flow control over a real socket: it holds a publisher back for at most 5 s per
// congestion. A slow but working consumer must not pace its producer for good: after that, the
// backlog is what the queue is for (as in RabbitMQ).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

void test('flow control holds a publisher back for at most 5 s while a slow consumer works', async (t) => {
  const { url } = await startBroker(t);
  const pub = await connect(t, url);
  const pc = await pub.createConfirmChannel();
  await pc.assertQueue('slow', { durable: false });
  const body = Buffer.alloc(1024, 'x');
  // A backlog from before anyone consumed (no consumers: nothing throttles).
  const backlog = 3000;
  for (let i = 0; i < backlog; i++) pc.sendToQueue('slow', body);
  await pc.waitForConfirms();

  // A consumer that keeps settling, slowly (about 100/s): the queue stays congested for far
  // longer than one pause.
  const cons = await connect(t, url);
  const cc = await cons.createChannel();
  await cc.prefetch(1);
  let acked = 0;
  let done = false;
  await cc.consume('slow', (m) => {
    if (m === null) return;
    setTimeout(() => {
      if (done) return;
      acked++;
      cc.ack(m);
    }, 10);
  });
  await eventually(() => assert.ok(acked >= 5));

  // Looks at the queue from a connection of its own (the publisher's is not read while held).
  const probe = await (await connect(t, url)).createChannel();
  // The first publish read finds the queue congested, and reading stops.
  const more = 10_000;
  const t0 = Date.now();
  for (let i = 0; i < more; i++) pc.sendToQueue('slow', body);
  await sleep(2000);
  const held = (await probe.checkQueue('slow')).messageCount;
  assert.ok(held < backlog + 1000, `${held} ready 2 s in: the publisher was not held back`);
  // Once the pause is over, the rest is read although the consumer has not caught up.
  await pc.waitForConfirms();
  const waited = Date.now() - t0;
  const after = (await probe.checkQueue('slow')).messageCount;
  done = true; // no ack after the connections close
  assert.ok(waited >= 4500, `confirmed after ${waited} ms: never held back`);
  assert.ok(after > backlog + more / 2, `${after} ready: the publisher was still paced`);
});
