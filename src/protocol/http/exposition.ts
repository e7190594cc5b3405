/**
 * Prometheus text exposition (format 0.0.4), written straight into one string at scrape
 * time: a family header (HELP, TYPE) once, then its samples. Nothing is kept between scrapes.
 */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'untyped';

export type Labels = Readonly<Record<string, string>>;

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export class Exposition {
  private out = '';
  private readonly seen = new Set<string>();

  /** Start a family; samples follow with `sample`. A family is announced once. */
  family(name: string, type: MetricType, help: string): this {
    if (this.seen.has(name)) return this;
    this.seen.add(name);
    this.out += `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n`;
    this.out += `# TYPE ${name} ${type}\n`;
    return this;
  }

  sample(name: string, value: number, labels?: Labels): this {
    this.out += `${name}${formatLabels(labels)} ${formatValue(value)}\n`;
    return this;
  }

  /** A family of one sample. */
  metric(name: string, type: MetricType, help: string, value: number, labels?: Labels): this {
    return this.family(name, type, help).sample(name, value, labels);
  }

  /** A histogram family from cumulative bucket counts (one more than `bounds`: +Inf). */
  histogram(
    name: string,
    help: string,
    h: { bounds: readonly number[]; cumulative: readonly number[]; sum: number; count: number },
    labels: Labels = {},
  ): this {
    this.family(name, 'histogram', help);
    h.bounds.forEach((b, i) =>
      this.sample(`${name}_bucket`, h.cumulative[i]!, { ...labels, le: formatValue(b) }),
    );
    this.sample(`${name}_bucket`, h.count, { ...labels, le: '+Inf' });
    this.sample(`${name}_sum`, h.sum, labels);
    return this.sample(`${name}_count`, h.count, labels);
  }

  toString(): string {
    return this.out;
  }
}

function formatLabels(labels: Labels | undefined): string {
  if (labels === undefined) return '';
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',')}}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
