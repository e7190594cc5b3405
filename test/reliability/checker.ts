// The checker of reliability.md §7.4, in the style of jepsen's total-queue: multisets of
// attempted, confirmed, nacked and delivered ids, and what follows from them. Plus the report
// format CI reads: one JSON line per run and a closing "N passed, N failed" line per file.
import { after } from 'node:test';
import type { HistoryEvent } from './history.js';

export interface CheckResult {
  valid: boolean;
  attempted: number;
  confirmed: number;
  nacked: number;
  indeterminate: number;
  delivered: number;
  deliveredUnique: number;
  lost: number;
  lostIds: string[];
  lostClass: { prefix: number; middle: number; postfix: number };
  excusedLost: number;
  unseen: boolean;
  unexpected: number;
  unexpectedIds: string[];
  nackButDelivered: number;
  duplicated: number;
  duplicatedWithRedelivered: number;
  duplicatedWithoutRedelivered: number;
  duplicatedWithoutRedeliveredIds: string[];
  recovered: number;
  /** Inversions among redelivered=false deliveries (the §7 definition)… */
  inversions: number;
  /** …and among the first copy of each id only, to tell reordering from duplicates. */
  inversionsAmongFirstCopies: number;
  inversionSamples: string[];
}

export interface CheckOptions {
  /**
   * Confirmed ids whose loss the fault allows (e.g. the records `--recover-skip-corrupt`
   * skipped): counted as `excusedLost`, not as `lost`.
   */
  excused?: ReadonlySet<string>;
}

/**
 * `unseen`: the drain gave up before every confirmed id was read, so missing ids are reported
 * as unseen rather than lost (still invalid).
 */
export function check(
  events: readonly HistoryEvent[],
  unseen = false,
  options: CheckOptions = {},
): CheckResult {
  const attempts = new Set<string>();
  const confirmed = new Set<string>();
  const nacked = new Set<string>();
  const seqOf = new Map<string, { proc: string; seq: number }>();
  const deliveries = new Map<string, boolean[]>(); // id -> redelivered flags in arrival order
  const firstTime = new Map<string, number[]>(); // producer -> seqs of redelivered=false deliveries
  const firstCopies = new Map<string, number[]>(); // producer -> seqs of each id's first delivery
  let delivered = 0;
  for (const e of events) {
    if (e.f === 'publish') {
      seqOf.set(e.id, { proc: e.proc, seq: e.seq });
      if (e.type === 'invoke') attempts.add(e.id);
      else if (e.type === 'ok') confirmed.add(e.id);
      else if (e.type === 'fail') nacked.add(e.id);
    } else if (e.f === 'deliver') {
      delivered++;
      const producer = e.id.slice(0, e.id.lastIndexOf('-'));
      let d = deliveries.get(e.id);
      if (d === undefined) {
        deliveries.set(e.id, (d = []));
        let s = firstCopies.get(producer);
        if (s === undefined) firstCopies.set(producer, (s = []));
        s.push(e.seq);
      }
      d.push(e.redelivered === true);
      if (e.redelivered !== true) {
        let s = firstTime.get(producer);
        if (s === undefined) firstTime.set(producer, (s = []));
        s.push(e.seq);
      }
    }
  }
  const missing = [...confirmed].filter((id) => !deliveries.has(id));
  const lostIds = missing.filter((id) => options.excused?.has(id) !== true);
  const excusedLost = missing.length - lostIds.length;
  // Per producer: lost below the first delivered seq is a prefix, above the last a postfix.
  const lostClass = { prefix: 0, middle: 0, postfix: 0 };
  const range = new Map<string, { lo: number; hi: number }>();
  for (const id of deliveries.keys()) {
    const s = seqOf.get(id);
    if (s === undefined) continue;
    const r = range.get(s.proc) ?? { lo: Infinity, hi: -Infinity };
    range.set(s.proc, { lo: Math.min(r.lo, s.seq), hi: Math.max(r.hi, s.seq) });
  }
  for (const id of lostIds) {
    const s = seqOf.get(id)!;
    const r = range.get(s.proc);
    if (r === undefined || s.seq > r.hi) lostClass.postfix++;
    else if (s.seq < r.lo) lostClass.prefix++;
    else lostClass.middle++;
  }
  const unexpectedIds = [...deliveries.keys()].filter((id) => !attempts.has(id));
  const nackButDelivered = [...nacked].filter((id) => deliveries.has(id)).length;
  let duplicated = 0;
  let withRedelivered = 0;
  const withoutRedeliveredIds: string[] = [];
  for (const [id, flags] of deliveries) {
    if (flags.length < 2) continue;
    duplicated++;
    if (flags.slice(1).every((r) => r)) withRedelivered++;
    else withoutRedeliveredIds.push(id);
  }
  let recovered = 0;
  for (const id of deliveries.keys())
    if (attempts.has(id) && !confirmed.has(id) && !nacked.has(id)) recovered++;
  const inversionSamples: string[] = [];
  const countInversions = (perProducer: Map<string, number[]>, samples: string[] | undefined) => {
    let n = 0;
    for (const [producer, seqs] of perProducer) {
      let max = -Infinity;
      for (const seq of seqs) {
        if (seq <= max) {
          n++;
          if (samples !== undefined && samples.length < 10)
            samples.push(`${producer}-${seq} after ${producer}-${max}`);
        } else max = seq;
      }
    }
    return n;
  };
  const inversions = countInversions(firstTime, inversionSamples);
  const inversionsAmongFirstCopies = countInversions(firstCopies, undefined);
  const indeterminate = [...attempts].filter((id) => !confirmed.has(id) && !nacked.has(id)).length;
  const result: CheckResult = {
    valid: false,
    attempted: attempts.size,
    confirmed: confirmed.size,
    nacked: nacked.size,
    indeterminate,
    delivered,
    deliveredUnique: deliveries.size,
    lost: lostIds.length,
    lostIds: lostIds.slice(0, 20),
    lostClass,
    excusedLost,
    unseen: unseen && lostIds.length > 0,
    unexpected: unexpectedIds.length,
    unexpectedIds: unexpectedIds.slice(0, 20),
    nackButDelivered,
    duplicated,
    duplicatedWithRedelivered: withRedelivered,
    duplicatedWithoutRedelivered: withoutRedeliveredIds.length,
    duplicatedWithoutRedeliveredIds: withoutRedeliveredIds.slice(0, 20),
    recovered,
    inversions,
    inversionsAmongFirstCopies,
    inversionSamples,
  };
  result.valid =
    result.lost === 0 &&
    result.unexpected === 0 &&
    result.nackButDelivered === 0 &&
    result.duplicatedWithoutRedelivered === 0 &&
    result.inversions === 0;
  return result;
}

// ---- report -------------------------------------------------------------------------------

let passed = 0;
let failed = 0;
let reported = false;
// At the top level, so it runs once after all of the importing file's tests.
after(() => {
  if (reported) console.log(`checker: ${passed} passed, ${failed} failed`);
});

/**
 * Print one run's result as ONE JSON line (`{"run": name, ...result, ...extra}`) and count it;
 * the file's closing line "checker: N passed, N failed" is printed when its tests are done.
 * `ok` overrides `result.valid` for runs that must fail (the mutation check).
 */
export function report(
  name: string,
  result: CheckResult,
  extra: Record<string, unknown> = {},
  ok: boolean = result.valid,
): void {
  reported = true;
  if (ok) passed++;
  else failed++;
  console.log(JSON.stringify({ run: name, pass: ok, ...result, ...extra }));
}
