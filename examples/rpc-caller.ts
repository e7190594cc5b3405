// Calls the rpc-service example: `node dist/examples/rpc-caller.js [sku qty]…`, then exits.
// Each request goes over direct reply-to and waits at most 2 s for its reply.
import { connect, RemoteError, RequestTimeoutError, UnroutableError } from 'baton/client';
import type { Quote, QuoteRequest } from './rpc-service.js';

const url = process.env.BATON_URL ?? 'amqp://guest:guest@localhost:5672';
const args = process.argv.slice(2);
const asks: QuoteRequest[] = [];
for (let i = 0; i + 1 < args.length; i += 2) asks.push({ sku: args[i]!, qty: Number(args[i + 1]) });
if (asks.length === 0)
  asks.push({ sku: 'book', qty: 3 }, { sku: 'pen', qty: 10 }, { sku: 'car', qty: 1 });

const client = await connect(url, { name: 'rpc-caller' });
const prices = client.queue<QuoteRequest>('prices');
let failed = false;
let noQueue = false;
await Promise.all(
  asks.map(async (ask) => {
    try {
      const q = await prices.request<Quote>(ask, { timeoutMs: 2000 });
      console.log(`${q.qty} x ${q.sku} = ${q.total}`);
    } catch (err) {
      failed = true;
      if (err instanceof RemoteError) console.log(`${ask.sku}: the service said: ${err.message}`);
      else if (err instanceof RequestTimeoutError) console.log(`${ask.sku}: no reply in 2 s`);
      else if (err instanceof UnroutableError) noQueue = true;
      else throw err;
    }
  }),
);
if (noQueue) console.log(`no 'prices' queue: start node dist/examples/rpc-service.js first`);
await client.close();
process.exitCode = failed ? 1 : 0;
