// Child process for the AMQP crash tests: one amqplib ConfirmChannel publishing persistent
// messages with message-id `<producer>-<seq>` (also in the body) to a durable queue, keeping
// about `window` confirms outstanding. It reports on stdout, one line per batch, so the test
// process can write the history (the history is never written by the broker):
//   ready
//   invoke <from> <to>   before publishing seqs from..to
//   ok <from> <to>       basic.ack covered these seqs (confirmed)
//   fail <from> <to>     basic.nack covered these seqs
//   info <from> <to>     the channel closed before these were confirmed (indeterminate)
//   blocked <reason> / unblocked   the broker sent connection.blocked / connection.unblocked
//   closed <reason>      last line; the process exits 0 after it
// Stops publishing and waits for its confirms when stdin receives "stop" (or closes).
//
// usage: node amqp-producer.js <url> <queue> <producer> <firstSeq> [window] [batch] [bodySize]
// (bodySize pads the JSON body with a `pad` field to about that many bytes.)
import amqp from 'amqplib';

const [url, queue, producer = 'p', first = '1', win = '200', bat = '20', size = '0'] =
  process.argv.slice(2);
if (url === undefined || queue === undefined) {
  process.stderr.write(
    'usage: amqp-producer <url> <queue> <producer> <firstSeq> [window] [batch]\n',
  );
  process.exit(2);
}
const window = Number(win);
const batch = Number(bat);
const bodySize = Number(size);
let nextSeq = Number(first);
let outstanding = 0;
let stopping = false;
let done = false;

function line(s: string): void {
  // Writes to a pipe are synchronous on Linux, so nothing is lost if we exit right after.
  process.stdout.write(`${s}\n`);
}

/** Consecutive seqs with the same outcome are printed as one range, once per tick. */
class RangeLog {
  private from = 0;
  private to = -1;
  private scheduled = false;
  private readonly kind: string;
  constructor(kind: string) {
    this.kind = kind;
  }
  add(seq: number): void {
    if (this.to >= this.from && seq === this.to + 1) this.to = seq;
    else {
      this.flush();
      this.from = this.to = seq;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }
  flush(): void {
    if (this.to >= this.from) line(`${this.kind} ${this.from} ${this.to}`);
    this.from = 0;
    this.to = -1;
  }
}
const oks = new RangeLog('ok');
const fails = new RangeLog('fail');
const infos = new RangeLog('info');
const flushAll = (): void => {
  oks.flush();
  fails.flush();
  infos.flush();
};

let wake: (() => void) | undefined;
const poke = (): void => {
  const w = wake;
  wake = undefined;
  w?.();
};

function finish(reason: string): void {
  if (done) return;
  done = true;
  flushAll();
  line(`closed ${reason.replace(/\s+/g, ' ')}`);
  process.exit(0);
}

process.stdin.on('data', (d: Buffer) => {
  if (d.toString().includes('stop')) {
    stopping = true;
    poke();
  }
});
process.stdin.on('end', () => {
  stopping = true;
  poke();
});

async function main(): Promise<void> {
  const conn = await amqp.connect(url!);
  let closeReason = 'connection closed';
  conn.on('error', (err: Error) => (closeReason = err.message));
  conn.on('blocked', (reason: string) => line(`blocked ${String(reason).replace(/\s+/g, ' ')}`));
  conn.on('unblocked', () => line('unblocked'));
  conn.on('close', () => {
    // Unconfirmed callbacks have already been called with 'channel closed' by now.
    setImmediate(() => finish(closeReason));
  });
  const ch = await conn.createConfirmChannel();
  ch.on('error', (err: Error) => (closeReason = err.message));
  await ch.assertQueue(queue, { durable: true });
  line('ready');
  while (!stopping) {
    if (outstanding + batch > window) {
      await new Promise<void>((r) => (wake = r));
      continue;
    }
    const from = nextSeq;
    const to = nextSeq + batch - 1;
    line(`invoke ${from} ${to}`);
    for (let seq = from; seq <= to; seq++) {
      const id = `${producer}-${seq}`;
      outstanding++;
      const plain = JSON.stringify({ id, producer, seq });
      const body =
        bodySize > plain.length + 10
          ? JSON.stringify({ id, producer, seq, pad: 'x'.repeat(bodySize - plain.length - 10) })
          : plain;
      ch.sendToQueue(queue!, Buffer.from(body), { persistent: true, messageId: id }, (err) => {
        outstanding--;
        if (err === null || err === undefined) oks.add(seq);
        else if (err.message === 'message nacked') fails.add(seq);
        else infos.add(seq);
        if (outstanding + batch <= window || outstanding === 0) poke();
      });
    }
    nextSeq = to + 1;
    // Let the socket drain and confirms arrive between batches.
    await new Promise((r) => setImmediate(r));
  }
  while (outstanding > 0) await new Promise<void>((r) => (wake = r));
  flushAll();
  await ch.close().catch(() => {});
  await conn.close().catch(() => {});
  finish('stopped');
}

main().catch((err: unknown) => {
  finish(`error ${(err as Error).message}`);
});
