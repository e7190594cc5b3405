// A request/reply service on baton/client: `node dist/examples/rpc-service.js`.
// It answers price quotes on the `prices` queue (16 at a time); an unknown product makes the
// handler throw, which the caller receives as a RemoteError. Try it with
// `node dist/examples/rpc-caller.js`. BATON_URL (default amqp://guest:guest@localhost:5672).
import { connect } from 'baton/client';

export interface QuoteRequest {
  sku: string;
  qty: number;
}
export interface Quote {
  sku: string;
  qty: number;
  total: number;
}

const PRICES: Record<string, number> = { book: 12.5, pen: 1.2, lamp: 30 };

const url = process.env.BATON_URL ?? 'amqp://guest:guest@localhost:5672';
const client = await connect(url, { name: 'rpc-service' });
client.on('error', (err) => console.error('client error:', err.message));

const prices = client.queue<QuoteRequest>('prices', { durable: false });
const responder = await prices.respond<Quote>(
  ({ body }) => {
    const price = PRICES[body.sku];
    if (price === undefined) throw new Error(`unknown product '${body.sku}'`);
    return { sku: body.sku, qty: body.qty, total: Math.round(price * body.qty * 100) / 100 };
  },
  { concurrency: 16 },
);
console.log(`rpc-service answering on 'prices' at ${url} (Ctrl-C to stop)`);

const stop = async () => {
  await responder.stop();
  await client.close();
  console.log('stopped');
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
