// Publisher flow control over a real socket: consumers far slower than their producer (job
// workers) never tie it to their pace. Pacing to them would make 20,000 publishes take as long
// as the workers do; RabbitMQ never paces publishers to consumers, and the queue takes the
// backlog instead.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type amqp from 'amqplib';
import { FLOW_HIGH } from '../../src/core/flow.js';
import { eventually } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

// Workers that ack `perTick` messages every 10 ms: 100 and 2,000 msgs/s at most, on any machine.
for (const { speed, perTick } of [
  { speed: '100 msgs/s', perTick: 1 },
  { speed: '2,000 msgs/s', perTick: 20 },
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

      // A worker that keeps settling, `perTick` every 10 ms.
      const cons = await connect(t, url);
      const cc = await cons.createChannel();
      await cc.prefetch(2 * perTick);
      let acked = 0;
      const held: amqp.ConsumeMessage[] = [];
      await cc.consume('slow', (m) => m && held.push(m));
      const worker = setInterval(() => {
        for (const m of held.splice(0, perTick)) {
          acked++;
          cc.ack(m);
        }
      }, 10);
      t.after(() => clearInterval(worker));
      await eventually(() => assert.ok(acked >= 5));

      // Looks at the queue from a connection of its own (the publisher's is not read while held).
      const probe = await (await connect(t, url)).createChannel();
      const more = 20_000;
      for (let i = 0; i < more; i++) pc.sendToQueue('slow', body);
      await pc.waitForConfirms();
      const ready = (await probe.checkQueue('slow')).messageCount;
      const worked = acked;
      clearInterval(worker); // no ack after the connections close
      // Paced to the worker, the queue would hold about FLOW_HIGH when the last confirm came
      // (the worker having taken about as many as were published).
      assert.ok(
        ready > 10 * FLOW_HIGH,
        `${ready} ready when all were confirmed (the worker took ${worked}): paced to the worker`,
      );
    },
  );
}
