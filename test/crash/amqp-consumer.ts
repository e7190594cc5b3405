// Child process for the consumer-crash test (reliability plan A7): an amqplib consumer that
// takes deliveries and never acks them. One JSON line per delivery on stdout
// ({id, tag, redelivered}), then `holding <n>` once it holds `expect` deliveries. The test
// SIGKILLs it while it holds them.
//
// usage: node amqp-consumer.js <url> <queue> <prefetch> <expect>
import amqp from 'amqplib';

const [url, queue, prefetch = '10', expect = '10'] = process.argv.slice(2);
if (url === undefined || queue === undefined) {
  process.stderr.write('usage: amqp-consumer <url> <queue> <prefetch> <expect>\n');
  process.exit(2);
}

const conn = await amqp.connect(url);
conn.on('error', () => {});
conn.on('close', () => process.exit(1));
const ch = await conn.createChannel();
await ch.prefetch(Number(prefetch));
let held = 0;
await ch.consume(queue, (m) => {
  if (!m) return;
  held++;
  process.stdout.write(
    `${JSON.stringify({ id: m.properties.messageId as string, tag: m.fields.deliveryTag, redelivered: m.fields.redelivered })}\n`,
  );
  if (held === Number(expect)) process.stdout.write(`holding ${held}\n`);
});
process.stdout.write('consuming\n');
