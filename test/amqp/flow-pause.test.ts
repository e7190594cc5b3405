// Publisher flow control over a real socket: a congestion that outlasts one pause (5 s) keeps
// its publisher paused, instead of letting it run free once the first pause is over.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventually } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

void test('a publisher stays paused while its queue stays congested longer than one pause', async (t) => {
  const { url } = await startBroker(t);
  const pub = await connect(t, url);
  const pc = await pub.createConfirmChannel();
  await pc.assertQueue('slow', { durable: false });
  const body = Buffer.alloc(1024, 'x');
  // A backlog from before anyone consumed (no consumers: nothing throttles).
  const backlog = 3000;
  for (let i = 0; i < backlog; i++) pc.sendToQueue('slow', body);
  await pc.waitForConfirms();

  // A consumer that keeps settling, slowly (about 100/s): the backlog stays over the high mark
  // for far longer than one pause.
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

  // Far more than the backlog, all handed to the socket at once: the first publish read finds
  // the queue congested, and reading stops.
  for (let i = 0; i < 10_000; i++) pc.sendToQueue('slow', body);
  await sleep(7000);
  const { messageCount } = await (await pub.createChannel()).checkQueue('slow');
  done = true; // no ack after the connections close
  assert.ok(acked > 0, 'the consumer kept acking');
  assert.ok(
    messageCount < backlog + 1000,
    `${messageCount} ready after 7 s: the publisher ran free after its first pause`,
  );
});
