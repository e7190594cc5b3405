// Crashes at chosen moments of the journal's life (reliability.md §6 A3): the test watches the
// data dir with fs.watch and SIGKILLs the broker the moment a new segment file appears (a roll)
// or a segment leaves (compaction deleting or recycling it), optionally followed by a power cut
// (image copy). Consumers ack throughout so old segments become garbage and get compacted.
import { existsSync, mkdtempSync, readdirSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { launch, type BrokerProcess } from './broker.js';
import { check, type CheckResult } from './checker.js';
import { holdWriteback, LoopImage } from './fs-tools.js';
import { drain, prng, sleep, startConsumer, startProducer } from './harness.js';
import { History } from './history.js';

export type Trigger = 'roll' | 'compaction';

export interface CrashPointOptions {
  cycles: number;
  seed: number;
  trigger: Trigger;
  /** Copy the loop image right after the kill (needs root); else restart on the same dir. */
  powerCut?: boolean;
  segmentSize: number;
  bodySize?: number;
}

const QUEUE = 'crashpoint-q';
const SEG = /^\d{20}\.seg$/;

/**
 * Resolves with the event's file name when `trigger` happens in `dir`, or undefined after
 * `timeoutMs`. The watcher is closed either way.
 */
function watchFor(dir: string, trigger: Trigger, timeoutMs: number): Promise<string | undefined> {
  const known = new Set(readdirSync(dir).filter((n) => SEG.test(n)));
  return new Promise((resolve) => {
    const w = watch(dir, (_event, name) => {
      if (name === null) return;
      const hit =
        trigger === 'roll'
          ? SEG.test(name) && !known.has(name) && existsSync(join(dir, name))
          : (SEG.test(name) && known.has(name) && !existsSync(join(dir, name))) ||
            name.endsWith('.spare');
      if (hit) done(name);
    });
    const timer = setTimeout(() => done(undefined), timeoutMs);
    function done(name: string | undefined): void {
      clearTimeout(timer);
      w.close();
      resolve(name);
    }
  });
}

export async function crashPointRun(
  t: TestContext,
  o: CrashPointOptions,
): Promise<{ result: CheckResult; extra: Record<string, unknown> }> {
  const rand = prng(o.seed);
  const work = mkdtempSync(join(tmpdir(), 'baton-crashpoint-'));
  const img = o.powerCut === true ? new LoopImage(t, work) : undefined;
  t.after(() => rmSync(work, { recursive: true, force: true }));
  if (img) holdWriteback(t);
  const dataDir = join(img?.mnt ?? work, 'data');
  const history = new History();
  const args = ['--segment-size', String(o.segmentSize)];
  const boot = async (): Promise<BrokerProcess> => {
    const b = await launch(t, dataDir, { args });
    history.nemesis('start', b.port);
    return b;
  };
  const produce = (url: string) =>
    startProducer(
      t,
      {
        url,
        queue: QUEUE,
        name: 'p',
        firstSeq: history.maxInvoked('p') + 1,
        bodySize: o.bodySize ?? 300,
      },
      history,
    );
  let broker = await boot();
  let triggered = 0;
  for (let cycle = 0; cycle < o.cycles; cycle++) {
    const consumer = await startConsumer(t, broker.url, history, { queue: QUEUE });
    const producer = produce(broker.url);
    await producer.ready;
    // Let some load build (and, for compaction, some garbage) before arming the trigger.
    await sleep(200 + Math.floor(rand() * 400));
    const hit = await watchFor(dataDir, o.trigger, 5000);
    if (hit !== undefined) triggered++;
    history.nemesis('kill', cycle, hit ?? 'timeout');
    await broker.kill('SIGKILL');
    img?.powerCut();
    await producer.done;
    if (consumer) await Promise.race([consumer.closed, sleep(5000)]);
    broker = await boot();
  }
  const producer = produce(broker.url);
  await producer.ready;
  await sleep(300);
  producer.stop();
  const finalProducer = await producer.done;
  const { unseen } = await drain(t, broker.url, history, QUEUE);
  const segments = readdirSync(dataDir).filter((n) => SEG.test(n)).length;
  await broker.kill('SIGTERM');
  return {
    result: check(history.events, unseen),
    extra: { ...o, triggered, finalProducer, segmentsAtEnd: segments },
  };
}
