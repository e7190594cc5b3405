// RabbitMQ tutorial two, "Work Queues", as a user writes it with amqplib's promise API:
// https://www.rabbitmq.com/tutorials/tutorial-two-javascript (new_task.js / worker.js).
// A durable task_queue, persistent messages, prefetch 1 and manual acks.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { Channel, ConsumeMessage } from 'amqplib';
import { eventually } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

const QUEUE = 'task_queue';

async function newTask(t: TestContext, url: string, tasks: string[]): Promise<void> {
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertQueue(QUEUE, { durable: true });
  for (const task of tasks) ch.sendToQueue(QUEUE, Buffer.from(task), { persistent: true });
  // As in the tutorial: close the channel first. amqplib writes connection.close on channel 0
  // directly, so it can overtake publishes still buffered on the channel's stream.
  await ch.close();
  await conn.close();
}

interface Worker {
  name: string;
  ch: Channel;
  received: ConsumeMessage[];
  done: string[];
  close: () => Promise<void>;
}

/**
 * worker.js: one connection, prefetch 1, "work" for a few ms per dot, then ack. `hold` decides
 * whether a task waits on an external gate before it is acked.
 */
async function worker(
  t: TestContext,
  url: string,
  name: string,
  hold: (task: string, w: Worker) => Promise<void> = () => Promise.resolve(),
): Promise<Worker> {
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertQueue(QUEUE, { durable: true });
  await ch.prefetch(1);
  const w: Worker = { name, ch, received: [], done: [], close: () => conn.close() };
  await ch.consume(
    QUEUE,
    (msg) => {
      if (!msg) return;
      w.received.push(msg);
      const task = msg.content.toString();
      const secs = task.split('.').length - 1;
      void hold(task, w)
        .then(() => new Promise((r) => setTimeout(r, secs * 2)))
        .then(() => {
          w.done.push(task);
          ch.ack(msg);
        });
    },
    { noAck: false },
  );
  return w;
}

void test('tutorial 2 (work queues): prefetch 1 gives a busy worker no second task; every task done once', async (t) => {
  const { url } = await startBroker(t);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  // Worker A is "stuck" on its first task until the gate opens; B works normally.
  const a = await worker(t, url, 'A', (_task, w) =>
    w.received.length === 1 ? gate : Promise.resolve(),
  );
  const b = await worker(t, url, 'B');

  const tasks = Array.from({ length: 20 }, (_, i) => `task ${i + 1}${'.'.repeat((i % 3) + 1)}`);
  await newTask(t, url, tasks);

  // Fair dispatch: while A holds one unacked task, all the other 19 go to B.
  await eventually(() => assert.equal(b.done.length, 19));
  assert.equal(a.received.length, 1, 'worker A was given a second task while busy (prefetch 1)');
  assert.equal(a.done.length, 0);
  release();
  await eventually(() => assert.equal(a.done.length + b.done.length, 20));

  const all = [...a.done, ...b.done].sort();
  assert.deepEqual(all, [...tasks].sort(), 'each task done exactly once');
  assert.ok(a.done.length > 0 && b.done.length > 0, 'both workers got work');
  for (const m of [...a.received, ...b.received]) {
    assert.equal(m.fields.redelivered, false);
    assert.equal(m.properties.deliveryMode, 2, 'persistent flag travels with the task');
  }
});

void test('tutorial 2 (work queues): two idle workers share a batch, each task done exactly once', async (t) => {
  const { url } = await startBroker(t);
  const a = await worker(t, url, 'A');
  const b = await worker(t, url, 'B');
  const tasks = Array.from({ length: 40 }, (_, i) => `job ${i}${'.'.repeat(i % 4)}`);
  await newTask(t, url, tasks);
  await eventually(() => assert.equal(a.done.length + b.done.length, 40));
  assert.deepEqual([...a.done, ...b.done].sort(), [...tasks].sort());
  assert.ok(a.done.length > 0, 'worker A got work');
  assert.ok(b.done.length > 0, 'worker B got work');
  // Let late frames arrive, then make sure nothing is left or doubled.
  const check = await a.ch.checkQueue(QUEUE);
  assert.equal(check.messageCount, 0);
  assert.equal(a.received.length + b.received.length, 40);
});

void test('tutorial 2 (work queues): a worker that dies before acking hands its task to the other worker', async (t) => {
  const { url } = await startBroker(t);
  const a = await worker(t, url, 'A', () => new Promise(() => {})); // never finishes
  await newTask(t, url, ['crashy task...']);
  await eventually(() => assert.equal(a.received.length, 1));
  const b = await worker(t, url, 'B');
  await a.close(); // the worker dies with the task unacked
  await eventually(() => assert.equal(b.done.length, 1));
  assert.equal(b.done[0], 'crashy task...');
  assert.equal(b.received[0]!.fields.redelivered, true);
});

void test('tutorial 2 (work queues): durable queue and persistent tasks survive a broker restart', async (t) => {
  const broker = await startBroker(t);
  await newTask(t, broker.url, ['survive 1.', 'survive 2..', 'survive 3...']);
  await broker.restart();
  const w = await worker(t, broker.url, 'A');
  await eventually(() => assert.equal(w.done.length, 3));
  assert.deepEqual(w.done, ['survive 1.', 'survive 2..', 'survive 3...']);
});
