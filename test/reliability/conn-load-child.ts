/**
 * Load generator child for the connection tests: opens `idle` fully handshaken amqplib
 * connections (heartbeat 60) and `pre` pre-handshake sockets (half send nothing, half a slow
 * partial protocol header, one byte every 5 s), then reports on stdout as JSON lines:
 *   {"ready":true,"idle":n,"pre":n}               once everything is open
 *   {"preClosed":n,"closeMs":[p50,max,min],"byPeer":n}  once every pre-handshake socket closed
 * It keeps the idle connections until stdin closes. A separate process because 10k client
 * plus 10k server sockets do not fit one process's 20000 descriptors.
 */
import { connect as netConnect, type Socket } from 'node:net';
import amqp from 'amqplib';

const [port, idle, pre] = process.argv.slice(2).map(Number) as [number, number, number];
const say = (o: object): void => void process.stdout.write(JSON.stringify(o) + '\n');

const conns: amqp.ChannelModel[] = [];
async function openIdle(): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < idle) {
      next++;
      const c = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}?heartbeat=60`);
      c.on('error', () => {});
      conns.push(c);
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
}

const header = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');
const closeMs: number[] = [];
let byPeer = 0;
function openPre(): Promise<void>[] {
  const opened: Promise<void>[] = [];
  for (let i = 0; i < pre; i++) {
    const s: Socket = netConnect({ host: '127.0.0.1', port });
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    s.on('error', () => {});
    opened.push(new Promise((resolve) => s.once('connect', () => resolve())));
    s.once('connect', () => {
      if (i % 2 === 1) {
        // Slowloris: a byte of the header every 5 s, never the whole of it.
        let sent = 0;
        const drip = (): void => {
          if (sent < 7 && !s.destroyed) s.write(header.subarray(sent, ++sent));
          timer = setTimeout(drip, 5000);
        };
        drip();
      }
    });
    s.once('end', () => byPeer++);
    s.once('close', () => {
      clearTimeout(timer);
      closeMs.push(performance.now() - t0);
      if (closeMs.length === pre) {
        closeMs.sort((a, b) => a - b);
        say({
          preClosed: pre,
          closeMs: [pre >> 1, pre - 1, 0].map((i) => Math.round(closeMs[i]!)),
          byPeer,
        });
      }
    });
  }
  return opened;
}

const preOpened = openPre();
await openIdle();
await Promise.all(preOpened);
say({ ready: true, idle: conns.length, pre });
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
