/**
 * zzuf-mutated replays of a real amqplib session (reliability plan E6), shared by the short
 * test and the long variant. A broker child gets thousands of mutants of one captured client
 * byte stream, each on a fresh socket, while a bystander amqplib connection publishes with
 * confirms and consumes. Checked: the broker never exits and logs no unexpected error, every
 * mutant connection ends (the broker closes it, or the client gives up after a timeout), the
 * bystander loses nothing and keeps flowing, RSS stays bounded. A seed that makes the broker
 * log an internal error or die is saved under test/fixtures/zzuf/ and replayed by every run.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bystanderAdvances, startBystander } from '../helpers/amqp-raw.js';
import {
  haveTool,
  procFdCount,
  requireCapability,
  spawnBrokerChild,
} from '../helpers/broker-child.js';
import { eventually } from '../helpers/core.js';
import { captureAmqplibSession, replay, zzufMutant, type ReplayEnd } from '../helpers/fault-net.js';

export const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/zzuf/', import.meta.url));

export interface ZzufOptions {
  mutants: number;
  firstSeed: number;
  concurrency: number;
  /** Give up on a mutant connection the broker has not closed after this long. */
  timeoutMs: number;
}

export interface ZzufResult {
  mutants: number;
  firstSeed: number;
  fixturesReplayed: number;
  ends: Record<ReplayEnd, number>;
  captureBytes: number;
  bystanderPerSecBefore: number;
  bystanderPerSecDuring: number;
  bystanderSent: number;
  rssKiBBefore: number;
  rssKiBAfter: number;
  hwmKiB: number;
  fdsBefore: number;
  fdsAfter: number;
  newFixtures: number[];
  seconds: number;
}

/** Suspicious broker log lines: errors a bad client must never cause. */
function isBrokerBug(line: string): boolean {
  return /unexpected error|internal error|uncaught|"level":"fatal"/i.test(line);
}

async function ratePerSec(progress: () => number, ms: number): Promise<number> {
  const a = progress();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  return ((progress() - a) * 1000) / (performance.now() - t0);
}

export async function runZzufReplay(
  t: TestContext,
  o: ZzufOptions,
): Promise<ZzufResult | undefined> {
  if (requireCapability(t, haveTool('zzuf', ['-V']), 'zzuf not installed (apt-get install zzuf)'))
    return undefined;
  const started = performance.now();
  // Heartbeat 2 s in the capture: a mutant stuck mid-frame after the handshake is closed by
  // missed heartbeats; before it, by the 10 s handshake timeout.
  const broker = await spawnBrokerChild(t, { args: ['--heartbeat', '2'] });
  const capture = await captureAmqplibSession(broker.port);
  // The unmutated capture is a complete, clean session.
  const clean = await replay(broker.port, capture, { halfClose: false, timeoutMs: 5000 });
  assert.equal(clean.end, 'closed', 'the unmutated capture ends with the broker closing');

  const bystander = await startBystander(t, broker.url);
  await bystanderAdvances(bystander, 100);
  const before = await ratePerSec(bystander.progress, 2000);
  const rssKiBBefore = broker.memory().rssKiB;
  const fdsBefore = procFdCount(broker.pid);

  const bugLines = (): number =>
    broker.errors().filter(isBrokerBug).length + (broker.exited() ? 1 : 0);
  const ends: Record<ReplayEnd, number> = { closed: 0, timeout: 0, refused: 0 };
  const suspects = new Set<number>();
  const inFlight = new Set<number>();
  let hwmKiB = 0;

  // Regression fixtures first, then fresh seeds.
  mkdirSync(FIXTURES, { recursive: true });
  const fixtures = readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.bin'))
    .map((f) => readFileSync(FIXTURES + f));
  for (const f of fixtures) {
    const r = await replay(broker.port, f, { halfClose: false, timeoutMs: o.timeoutMs });
    ends[r.end]++;
  }
  assert.equal(
    bugLines(),
    0,
    `a saved fixture still breaks the broker: ${broker.errors().join('\n')}`,
  );

  let during = 0;
  const duringSampler = (async () => {
    // Sample the bystander while the attack runs (the first seconds of it).
    await new Promise((r) => setTimeout(r, 500));
    during = await ratePerSec(bystander.progress, 2000);
  })();

  let next = o.firstSeed;
  const last = o.firstSeed + o.mutants;
  let knownBugs = 0;
  const worker = async (): Promise<void> => {
    while (next < last && !broker.exited()) {
      const seed = next++;
      const mutant = await zzufMutant(capture, seed);
      inFlight.add(seed);
      // Most mutants hang up after sending (a crashed client); some wait for the broker.
      const r = await replay(broker.port, mutant, {
        halfClose: seed % 4 !== 0,
        timeoutMs: o.timeoutMs,
      });
      ends[r.end]++;
      const bugs = bugLines();
      if (bugs > knownBugs) {
        knownBugs = bugs;
        for (const s of inFlight) suspects.add(s);
        suspects.add(seed);
      }
      inFlight.delete(seed);
      if (seed % 50 === 0) hwmKiB = Math.max(hwmKiB, broker.memory().hwmKiB);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  await duringSampler;

  // Narrow the suspects down one by one, save the ones that reproduce as fixtures.
  const newFixtures: number[] = [];
  if (suspects.size > 0 && !broker.exited()) {
    for (const seed of [...suspects].sort((a, b) => a - b)) {
      const mutant = await zzufMutant(capture, seed);
      const n0 = bugLines();
      await replay(broker.port, mutant, { halfClose: false, timeoutMs: o.timeoutMs });
      await new Promise((r) => setTimeout(r, 100));
      if (bugLines() > n0 || broker.exited()) {
        writeFileSync(`${FIXTURES}seed-${seed}.bin`, mutant);
        newFixtures.push(seed);
        if (broker.exited()) break;
      }
    }
  } else if (broker.exited()) {
    // Cannot narrow it down on a dead broker: keep every seed that was in flight.
    for (const seed of inFlight) {
      writeFileSync(`${FIXTURES}seed-${seed}.bin`, await zzufMutant(capture, seed));
      newFixtures.push(seed);
    }
  }

  assert.equal(broker.exited(), false, 'the broker exited during the replays');
  assert.equal(ends.refused, 0, 'the broker refused connections');
  await bystanderAdvances(bystander, 100);
  // Every mutant connection is gone on the broker's side too (no leaked sockets).
  await eventually(() =>
    assert.ok(
      procFdCount(broker.pid) <= fdsBefore + 2,
      `broker holds ${procFdCount(broker.pid)} fds, ${fdsBefore} before`,
    ),
  );
  const fdsAfter = procFdCount(broker.pid);
  const { sent } = await bystander.stop(); // asserts nothing lost, in order
  const mem = broker.memory();
  hwmKiB = Math.max(hwmKiB, mem.hwmKiB);
  const result: ZzufResult = {
    mutants: o.mutants,
    firstSeed: o.firstSeed,
    fixturesReplayed: fixtures.length,
    ends,
    captureBytes: capture.length,
    bystanderPerSecBefore: Math.round(before),
    bystanderPerSecDuring: Math.round(during),
    bystanderSent: sent,
    rssKiBBefore,
    rssKiBAfter: mem.rssKiB,
    hwmKiB,
    fdsBefore,
    fdsAfter,
    newFixtures,
    seconds: Math.round((performance.now() - started) / 1000),
  };
  t.diagnostic(JSON.stringify(result));
  assert.deepEqual(
    broker.errors().filter(isBrokerBug),
    [],
    `broker logged unexpected errors; seeds saved: ${newFixtures.join(', ')}`,
  );
  // Bounded: every mutant connection's state was freed (generous: GC timing varies).
  assert.ok(
    mem.rssKiB < rssKiBBefore + 150 * 1024,
    `RSS grew from ${rssKiBBefore} to ${mem.rssKiB} KiB`,
  );
  return result;
}
