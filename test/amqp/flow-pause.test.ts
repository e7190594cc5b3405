// Publisher flow control over a real socket: a slow but working consumer paces its publisher
// for FLOW_PACE_MAX_MS at most; after that the backlog is what the queue is for (as in
// RabbitMQ, which never paces publishers to consumers).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FLOW_PACE_MAX_MS } from '../../src/core/flow.js';
import { eventually } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

void test(
  'a slow consumer paces its publisher for a bounded stretch, then the queue takes the backlog',
  { timeout: 60_000 },
  async (t) => {
    const { url } = await startBroker(t);
    const pub = await connect(t, url);
    const pc = await pub.createConfirmChannel();
    await pc.assertQueue('slow', { durable: false });
    const body = Buffer.alloc(1024, 'x');
    // A backlog from before anyone consumed (no consumers: nothing throttles).
    const backlog = 3000;
    for (let i = 0; i < backlog; i++) pc.sendToQueue('slow', body);
    await pc.waitForConfirms();

    // A consumer that keeps settling, slowly (about 100/s): pacing would tie the producer to it
    // for minutes.
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
    await sleep(FLOW_PACE_MAX_MS / 2);
    const held = (await probe.checkQueue('slow')).messageCount;
    assert.ok(held < backlog + 1000, `${held} ready, pacing under way: the publisher was not held`);
    // Once the stretch is over, the rest is read although the consumer has not caught up (paced
    // for good, 10,000 at 100/s would outlast the test).
    await pc.waitForConfirms();
    const waited = Date.now() - t0;
    const after = (await probe.checkQueue('slow')).messageCount;
    done = true; // no ack after the connections close
    assert.ok(waited >= FLOW_PACE_MAX_MS / 2, `confirmed after ${waited} ms: never held back`);
    assert.ok(after > backlog + more / 2, `${after} ready: the publisher was still paced`);
  },
);
