/** Scenario (g): time from `baton serve` start to listening, with N persistent messages journaled. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from '../src/core/broker.js';
import { openStores } from '../src/store/open-stores.js';
import { spawnServe } from './serve.js';
import { amqpPropertiesCodec } from '../src/protocol/amqp/properties-codec.js';
import { Message } from '../src/core/message.js';
import { waitReady } from '../src/cli/ready.js';

export async function measureRecovery(
  count: number,
  cli: string,
): Promise<{ messages: number; seconds: number; journalMs: number; peakRssMiB: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-recovery-'));
  try {
    const broker = await Broker.open({
      ...(await openStores({ dataDir: dir })),
      codec: amqpPropertiesCodec,
    });
    const session = broker.connect({ user: 'bench', trusted: true }).openSession({
      deliver: () => true,
      consumerCancelled: () => {},
    });
    session.declareQueue('recovery', { durable: true });
    const props = Buffer.from([0x10, 0x00, 2]); // delivery-mode 2
    const body = Buffer.alloc(100, 1);
    for (let i = 0; i < count; i++) {
      session.publish('', 'recovery', new Message('', 'recovery', props, body, true));
      if (i % 10_000 === 9_999) await new Promise<void>((r) => broker.afterSync(() => r()));
    }
    await broker.close();
    const t0 = performance.now();
    const child = spawnServe(cli, dir);
    // Recovery's own timing comes from its log line; readiness from the ready fd.
    let journalMs = 0;
    let buf = '';
    const journalLine = new Promise<void>((resolve) => {
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const j = /"messages":(\d+).*?"ms":([\d.]+)/.exec(buf);
        if (j) {
          journalMs = Number(j[2]);
          resolve();
        }
      });
    });
    const ready = await waitReady(child, 3);
    if (ready === undefined)
      throw new Error(`baton exited with ${child.exitCode} before it was ready`);
    const seconds = (performance.now() - t0) / 1000;
    // The log pipe may lag the ready fd a little; the line was written before listening.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([journalLine, new Promise((r) => (timer = setTimeout(r, 5000)))]);
    clearTimeout(timer);
    const status = await import('node:fs').then((fs) =>
      fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'),
    );
    const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    return { messages: count, seconds, journalMs, peakRssMiB: Math.round(hwm) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
