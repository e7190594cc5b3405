// Publisher flow control over a real socket: consumers far slower than their producer (job
// workers) never tie it to their pace. Pacing to them would make 10,000 publishes take as long
// as the workers do; RabbitMQ never paces publishers to consumers, and the queue takes the
// backlog instead.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FLOW_HIGH } from '../../src/core/flow.js';
import { eventually } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

for (const { speed, prefetch, workMs } of [
  { speed: 'about 100 msgs/s', prefetch: 1, workMs: 10 },
  { speed: 'a few thousand msgs/s', prefetch: 4, workMs: 1 },
]) {
  void test(
    `a consumer working at ${speed} does not pace its publisher: the queue takes the backlog`,
    {
      timeout: 60_000,
    },
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

      // A worker that keeps settling, each message taking `workMs`.
      const cons = await connect(t, url);
      const cc = await cons.createChannel();
      await cc.prefetch(prefetch);
      let acked = 0;
      let done = false;
      await cc.consume('slow', (m) => {
        if (m === null) return;
        setTimeout(() => {
          if (done) return;
          acked++;
          cc.ack(m);
        }, workMs);
      });
      await eventually(() => assert.ok(acked >= 5));

      // Looks at the queue from a connection of its own (the publisher's is not read while held).
      const probe = await (await connect(t, url)).createChannel();
      const more = 20_000;
      for (let i = 0; i < more; i++) pc.sendToQueue('slow', body);
      await pc.waitForConfirms();
      const ready = (await probe.checkQueue('slow')).messageCount;
      const worked = acked;
      done = true; // no ack after the connections close
      // Paced to the worker, the queue would hold about FLOW_HIGH when the last confirm came
      // (the worker having taken about as many as were published).
      assert.ok(
        ready > 10 * FLOW_HIGH,
        `${ready} ready when all were confirmed (the worker took ${worked}): paced to the worker`,
      );
    },
  );
}
