// An order-processing worker on baton/client: `node dist/examples/order-worker.js`.
// It declares `orders` (a failing order is retried, then after 3 failed deliveries moved to
// `orders.dlq`), queues a few demo orders, processes them 8 at a time, and logs what lands in
// the dead-letter queue. Ctrl-C stops it gracefully (running orders finish and are acked).
// BATON_URL (default amqp://guest:guest@localhost:5672); DEMO_ORDERS (default 20, 0: none).
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'baton/client';

interface Order {
  id: number;
  item: string;
  qty: number;
}

const url = process.env.BATON_URL ?? 'amqp://guest:guest@localhost:5672';
const demo = Number(process.env.DEMO_ORDERS ?? 20);

const client = await connect(url, { name: 'order-worker' });
client.on('disconnected', (err) => console.log(`disconnected (${err.message}), reconnecting…`));
client.on('connected', () => console.log('connected again'));
client.on('error', (err) => console.error('client error:', err.message));

const dlq = client.queue<Order>('orders.dlq', {});
const orders = client.queue<Order>('orders', {
  deadLetterExchange: '',
  deadLetterRoutingKey: 'orders.dlq',
  deliveryLimit: 2,
});
await dlq.declare();
await orders.declare();

const worker = await orders.consume(
  async (msg) => {
    const order = msg.body;
    if (order.qty <= 0) {
      // Throwing nacks it back to the queue; the queue's delivery limit then dead-letters it.
      console.log(`order ${order.id} failed (delivery ${msg.deliveryCount + 1}): bad quantity`);
      throw new Error(`order ${order.id}: bad quantity ${order.qty}`);
    }
    await sleep(20); // the actual work
    console.log(`processed order ${order.id}: ${order.qty} x ${order.item}`);
  },
  { concurrency: 8 },
);
const deadLetters = await dlq.consume((msg) => {
  const death = (msg.headers['x-death'] as { reason?: string }[] | undefined)?.[0];
  console.log(`dead letter: order ${msg.body.id} (${death?.reason ?? 'unknown reason'})`);
});
console.log(`order-worker consuming 'orders' on ${url} (Ctrl-C to stop)`);

for (let id = 1; id <= demo; id++) {
  // Every seventh order is broken: it ends in the dead-letter queue.
  const { messageId } = await orders.send({ id, item: 'book', qty: id % 7 === 0 ? 0 : id });
  if (id === 1) console.log(`sent order 1 as message ${messageId} (confirmed by the broker)`);
}
if (demo > 0) console.log(`sent ${demo} demo orders`);

const stop = async () => {
  console.log('stopping: finishing the orders in hand…');
  await worker.stop();
  await deadLetters.stop();
  await client.close();
  console.log('stopped');
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
