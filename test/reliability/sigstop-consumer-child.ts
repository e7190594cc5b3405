/**
 * A consumer for the SIGSTOP test: heartbeat 1 s, prefetch `n`, never acks. Prints one JSON
 * line with the message ids once it holds `n` unacked deliveries, then waits to be frozen.
 */
import amqp from 'amqplib';

const [url, queue, n] = [process.argv[2]!, process.argv[3]!, Number(process.argv[4])];
const conn = await amqp.connect(`${url}?heartbeat=1`);
conn.on('error', () => {});
const ch = await conn.createChannel();
await ch.prefetch(n);
const held: { id: string; redelivered: boolean }[] = [];
await ch.consume(queue, (m) => {
  if (m === null) return;
  held.push({ id: String(m.properties.messageId), redelivered: m.fields.redelivered });
  if (held.length === n) process.stdout.write(JSON.stringify({ held }) + '\n');
});
