// Reliability plan B1 (torn tails) and B2 (bit flips) at the broker level: a broker child takes
// ~5,000 confirmed ~500 B messages with 256 KiB segments and is SIGKILLed; then every case runs
// on its own copy of that data dir, damages one segment, starts a broker on it and drains.
//
// After SIGKILL every confirmed record is complete on disk, so a truncation models a power cut
// (the cut bytes were never synced): the broker must start, deliver every message of the batches
// before the one the cut tears (a batch is synced and confirmed as a whole, so the torn one may
// go entirely), deliver nothing unexpected, and keep the cut bytes in a side file next to the
// segment. A flipped bit with confirmed records behind it is corruption: refuse to
// start naming file and offset, or with --recover-skip-corrupt skip exactly the bad record.
//
// Env: BATON_LONG=1 runs 50 random cut offsets instead of a handful.
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import {
  appendFileSync,
  cpSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { BrokerProcess, launch } from './broker.js';
import { check, report, type CheckResult } from './checker.js';
import { drain, sleep, startProducer, waitFor } from './harness.js';
import { History } from './history.js';
import {
  batchStart,
  idsIn,
  mapSegment,
  recordAt,
  segmentNames,
  type SegmentMap,
} from './segments.js';

const QUEUE = 'corrupt-q';
const SEGMENT = ['--segment-size', '262144'];
const long = process.env.BATON_LONG === '1';
const root = mkdtempSync(join(tmpdir(), 'baton-corrupt-'));
after(() => rmSync(root, { recursive: true, force: true }));

interface Golden {
  dir: string;
  history: History;
  segments: SegmentMap[];
}
let golden: Promise<Golden> | undefined;

/** Load once per file: 5,000+ confirmed messages, producer stopped cleanly, broker SIGKILLed. */
function loadGolden(t: TestContext): Promise<Golden> {
  return (golden ??= (async () => {
    const dir = join(root, 'golden');
    const history = new History();
    const b = await launch(t, dir, { args: SEGMENT });
    const p = startProducer(
      t,
      { url: b.url, queue: QUEUE, name: 'p', firstSeq: 1, bodySize: 500 },
      history,
    );
    assert.equal(await p.ready, true);
    assert.ok(await waitFor(() => p.confirmed >= 5000, 60000), 'load confirmed');
    p.stop();
    assert.equal(await p.done, 'closed stopped');
    await b.kill('SIGKILL');
    const segments = segmentNames(dir).map((n) => mapSegment(dir, n));
    assert.ok(segments.length >= 3, `several segments (${segments.length})`);
    return { dir, history, segments };
  })());
}

let copies = 0;
function copyOf(g: Golden): string {
  const dir = join(root, `copy-${++copies}`);
  // Not the control socket a SIGKILLed broker leaves behind (cpSync cannot copy a socket).
  cpSync(g.dir, dir, { recursive: true, filter: (src) => !lstatSync(src).isSocket() });
  return dir;
}

/** Files next to `segName` whose names start with it (the side files of cut or skipped bytes). */
function sideFiles(dir: string, segName: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.startsWith(`${segName}.`))
    .sort();
}

/** Start on `dir`, drain, check with `excused` allowed to be missing. */
async function startAndDrain(
  t: TestContext,
  g: Golden,
  dir: string,
  excused: Iterable<string>,
  args: string[] = [],
): Promise<{ b: BrokerProcess; result: CheckResult }> {
  const b = await launch(t, dir, { args: [...SEGMENT, ...args] });
  const history = new History();
  for (const e of g.history.events) history.add(e);
  const ex = new Set(excused);
  const { unseen } = await drain(t, b.url, history, QUEUE, { quietMs: 500, excused: ex });
  await b.kill('SIGKILL');
  return { b, result: check(history.events, unseen, { excused: ex }) };
}

function flipBit(path: string, offset: number): void {
  const buf = readFileSync(path);
  buf[offset] = buf[offset]! ^ 0x10;
  writeFileSync(path, buf);
}

/** Move an offset off a record header, so the flip damages a payload (one record's worth). */
function inPayload(seg: SegmentMap, offset: number): number {
  const r = recordAt(seg, offset)!;
  return offset - r.start < 20 ? r.start + 20 : offset;
}

void test('B1 torn tail: cut the newest segment at many offsets; the broker starts, keeps every batch before the torn one and the cut bytes', async (t) => {
  const g = await loadGolden(t);
  const seg = g.segments.at(-1)!;
  const recs = seg.records.slice(-12, -1);
  const cuts = long
    ? Array.from({ length: 50 }, () => seg.dataEnd - 1 - randomInt(Math.min(32768, seg.dataEnd)))
    : // mid length word, mid CRC, mid payload, on a boundary, one byte short
      [
        recs[0]!.start + 2,
        recs[3]!.start + 6,
        recs[6]!.start + 60,
        recs[9]!.start,
        seg.dataEnd - 1,
      ];
  for (const cut of cuts)
    await t.test(`cut at ${cut}`, async (t) => {
      const dir = copyOf(g);
      truncateSync(join(dir, seg.name), cut);
      const excused = idsIn(seg, cut, seg.dataEnd).filter(
        (id) => seg.records.find((r) => r.id === id)!.end > cut,
      );
      const { b, result } = await startAndDrain(t, g, dir, excused);
      const boundary = Math.max(0, ...seg.records.filter((r) => r.end <= cut).map((r) => r.end));
      const sides = sideFiles(dir, seg.name);
      report(`B1 cut ${seg.name} at ${cut}`, result, { cut, boundary, sides });
      assert.deepEqual(result.lostIds, [], `cut at ${cut}: lost records before the cut`);
      assert.deepEqual(result.unexpectedIds, [], `cut at ${cut}: unexpected`);
      assert.equal(result.duplicatedWithoutRedelivered, 0);
      if (cut > boundary) {
        assert.ok(sides.length > 0, `cut at ${cut}: a side file for the torn bytes, ${b.output()}`);
        const saved = Buffer.concat(sides.map((n) => readFileSync(join(dir, n))));
        const torn = readFileSync(join(g.dir, seg.name)).subarray(boundary, cut);
        assert.ok(
          saved.includes(torn),
          `cut at ${cut}: the side file holds the ${cut - boundary} torn bytes`,
        );
      }
      rmSync(dir, { recursive: true, force: true });
    });
});

void test('B1 torn tail: zero-filled and random-garbage tails are cut, nothing confirmed is lost', async (t) => {
  const g = await loadGolden(t);
  const seg = g.segments.at(-1)!;
  for (const kind of ['zeros', 'garbage'] as const)
    await t.test(kind, async (t) => {
      const dir = copyOf(g);
      const tail = kind === 'zeros' ? Buffer.alloc(4096) : randomBytes(3000);
      // A length word that cannot be a record here, so the garbage is a tear and not a record.
      if (kind === 'garbage') tail.writeUInt32LE(0xffff_fff0, 0);
      appendFileSync(join(dir, seg.name), tail);
      const { result } = await startAndDrain(t, g, dir, []);
      const sides = sideFiles(dir, seg.name);
      report(`B1 ${kind} tail`, result, { sides });
      assert.equal(result.valid, true, JSON.stringify(result));
      if (kind === 'garbage') {
        const saved = Buffer.concat(sides.map((n) => readFileSync(join(dir, n))));
        assert.ok(saved.includes(tail), 'the garbage is kept in a side file');
      }
      rmSync(dir, { recursive: true, force: true });
    });
});

interface FlipCase {
  label: string;
  seg: SegmentMap;
  offset: number;
}

function flipCases(g: Golden): FlipCase[] {
  const newest = g.segments.at(-1)!;
  const sealed = g.segments[Math.floor(g.segments.length / 2)]!;
  assert.equal(sealed.sealed, true, `${sealed.name} is sealed`);
  const penultimate = (s: SegmentMap) => s.records.filter((r) => r.id !== undefined).at(-2)!;
  const cases: FlipCase[] = [];
  for (const [label, s] of [
    ['newest', newest],
    ['sealed', sealed],
  ] as const) {
    // The short variant keeps the cases that differ in kind; BATON_LONG=1 runs all six.
    if (long || label === 'newest')
      cases.push({ label: `${label} @100`, seg: s, offset: inPayload(s, 100) });
    cases.push({ label: `${label} mid`, seg: s, offset: inPayload(s, Math.floor(s.dataEnd / 2)) });
    if (long) cases.push({ label: `${label} near end`, seg: s, offset: penultimate(s).start + 30 });
  }
  return cases;
}

void test('B2 bit flip followed by confirmed records: the broker refuses to start, naming file and offset', async (t) => {
  const g = await loadGolden(t);
  for (const c of flipCases(g))
    await t.test(c.label, async (t) => {
      const dir = copyOf(g);
      flipBit(join(dir, c.seg.name), c.offset);
      const b = new BrokerProcess(t, dir, { args: SEGMENT });
      const port = await Promise.race([b.listening, sleep(30000).then(() => -1)]);
      const code = await Promise.race([b.exited, sleep(1000).then(() => 'running')]);
      await b.kill();
      const rec = recordAt(c.seg, c.offset)!;
      const out = b.output();
      const m = /offset\D{0,3}(\d+)/.exec(out);
      console.log(
        JSON.stringify({
          run: `B2 refuse ${c.label}`,
          offset: c.offset,
          record: rec,
          code,
          named: m?.[1],
        }),
      );
      assert.equal(port, undefined, `${c.label}: must not start (flip at ${c.offset}); ${out}`);
      assert.equal(code, 1, `${c.label}: exit code 1`);
      assert.ok(out.includes(c.seg.name), `${c.label}: the error names ${c.seg.name}: ${out}`);
      assert.ok(
        m !== null && [rec.start, c.offset].includes(Number(m[1])),
        `${c.label}: the error names the offset of the bad record (${rec.start}) or byte (${c.offset}): ${out}`,
      );
      rmSync(dir, { recursive: true, force: true });
    });
});

void test('B2 bit flip with --recover-skip-corrupt: starts, logs the skip at error level, loses only the bad record', async (t) => {
  const g = await loadGolden(t);
  for (const c of flipCases(g))
    await t.test(c.label, async (t) => {
      const dir = copyOf(g);
      flipBit(join(dir, c.seg.name), c.offset);
      const bad = idsIn(c.seg, c.offset, c.offset + 1);
      const { b, result } = await startAndDrain(t, g, dir, bad, ['--recover-skip-corrupt']);
      const errors = b.logsAtLeast('error').filter((l) => JSON.stringify(l).includes(c.seg.name));
      const sides = sideFiles(dir, c.seg.name);
      report(`B2 skip ${c.label}`, result, { offset: c.offset, skipped: bad, sides });
      assert.deepEqual(result.lostIds, [], `${c.label}: only the bad record may be missing`);
      assert.deepEqual(result.unexpectedIds, [], `${c.label}: unexpected`);
      assert.ok(errors.length > 0, `${c.label}: an error-level log names ${c.seg.name}`);
      assert.ok(sides.length > 0, `${c.label}: the skipped bytes are kept in a side file`);
      rmSync(dir, { recursive: true, force: true });
    });
});

void test('B1 a bit flip in the last record of the newest segment (nothing after it) is a torn tail: cut and kept aside', async (t) => {
  const g = await loadGolden(t);
  const seg = g.segments.at(-1)!;
  const last = seg.records.at(-1)!;
  const dir = copyOf(g);
  flipBit(join(dir, seg.name), last.start + Math.min(12, last.end - last.start - 1));
  // Only the batch holding the damaged record may go (if the last record is the marker that
  // follows a synced batch, nothing at all).
  const { result } = await startAndDrain(
    t,
    g,
    dir,
    idsIn(seg, batchStart(seg, last.start), seg.dataEnd),
  );
  const sides = sideFiles(dir, seg.name);
  report('B1 flip in last record', result, { lastKind: last.kind, sides });
  assert.equal(result.valid, true, JSON.stringify(result));
  assert.ok(sides.length > 0, 'the cut record is kept in a side file');
});
