// The A2 power-cut run (reliability.md §6 A2), shared by the short test in `npm test` and the
// long run: broker child on a loop-mounted ext4 image under confirmed load with a consumer,
// SIGKILL, copy the image at once (what a power cut leaves), mount the copy, restart, repeat;
// then a final clean phase, drain and the checker.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { launch, type BrokerProcess } from './broker.js';
import { check, type CheckResult } from './checker.js';
import { holdWriteback, LoopImage } from './fs-tools.js';
import { drain, prng, sleep, startConsumer, startProducer } from './harness.js';
import { History } from './history.js';

export interface PowerCutOptions {
  cycles: number;
  seed: number;
  /** Extra broker environment (the mutation check passes BATON_TEST_CONFIRM_BEFORE_FSYNC=1). */
  env?: Record<string, string>;
  segmentSize?: number;
}

export interface PowerCutRun {
  result: CheckResult;
  extra: Record<string, unknown>;
}

const QUEUE = 'power-q';
const PRODUCER = 'p';

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

export async function powerCutRun(t: TestContext, o: PowerCutOptions): Promise<PowerCutRun> {
  const rand = prng(o.seed);
  const work = mkdtempSync(join(tmpdir(), 'baton-powercut-'));
  const img = new LoopImage(t, work);
  // Registered after the image: hooks run in reverse, so the image is unmounted first.
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const strict = holdWriteback(t);
  const dataDir = join(img.mnt, 'data');
  const history = new History();
  const args = ['--segment-size', String(o.segmentSize ?? 262144)];
  const startup: number[] = [];
  const copyMs: number[] = [];
  const boot = async (): Promise<BrokerProcess> => {
    const b = await launch(t, dataDir, { args, ...(o.env ? { env: o.env } : {}) });
    startup.push(b.startupMs);
    history.nemesis('start', b.port);
    return b;
  };
  const produce = (url: string) =>
    startProducer(
      t,
      {
        url,
        queue: QUEUE,
        name: PRODUCER,
        firstSeq: history.maxInvoked(PRODUCER) + 1,
        bodySize: 200,
      },
      history,
    );

  let broker = await boot();
  for (let cycle = 0; cycle < o.cycles; cycle++) {
    const consumer =
      cycle === 0 || rand() < 0.7
        ? await startConsumer(t, broker.url, history, { queue: QUEUE })
        : undefined;
    const producer = produce(broker.url);
    await producer.ready;
    await sleep(300 + Math.floor(rand() * 1200));
    history.nemesis('kill', cycle);
    await broker.kill('SIGKILL');
    copyMs.push(img.powerCut());
    await producer.done;
    if (consumer) await Promise.race([consumer.closed, sleep(5000)]);
    broker = await boot();
  }

  // Final phase, no faults: publish a little more, stop cleanly, drain.
  const producer = produce(broker.url);
  await producer.ready;
  await sleep(300);
  producer.stop();
  const finalExit = await producer.done;
  const { unseen, ms } = await drain(t, broker.url, history, QUEUE);
  const warnings = broker.logsAtLeast('warn').length;
  await broker.kill('SIGTERM');
  const result = check(history.events, unseen);
  return {
    result,
    extra: {
      seed: o.seed,
      cycles: o.cycles,
      strictWriteback: strict,
      env: o.env ?? {},
      startupMsP50: percentile(startup, 50),
      startupMsP95: percentile(startup, 95),
      copyMsP50: percentile(copyMs, 50),
      drainMs: ms,
      finalProducer: finalExit,
      finalBrokerWarnings: warnings,
      duplicatesPerMillion: Math.round((result.duplicated / Math.max(1, result.delivered)) * 1e6),
    },
  };
}
