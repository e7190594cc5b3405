/**
 * A fixed-bucket histogram (Prometheus style: cumulative `le` buckets, sum and count) that
 * allocates nothing per observation: bucket counts sit in a typed array, and the bucket is
 * found by a short walk over the bounds.
 */
export class Histogram {
  /** Upper bounds, ascending; a last bucket (+Inf) catches the rest. */
  readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative), one more than `bounds`. */
  private readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }

  /** A copy for readers: cumulative counts per bound (the last one is +Inf, = count). */
  snapshot(): HistogramSnapshot {
    const cumulative: number[] = [];
    let n = 0;
    for (const c of this.counts) cumulative.push((n += c));
    return { bounds: [...this.bounds], cumulative, sum: this.sum, count: this.count };
  }
}

export interface HistogramSnapshot {
  bounds: number[];
  /** Observations <= bounds[i]; one more entry than `bounds`: the +Inf bucket. */
  cumulative: number[];
  sum: number;
  count: number;
}

/** An empty snapshot with the given bounds (a store that never syncs). */
export function emptyHistogram(bounds: readonly number[]): HistogramSnapshot {
  return new Histogram(bounds).snapshot();
}
