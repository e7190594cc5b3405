/** One column of a table for people: a title and how to get the cell from a row. */
export interface Column<R> {
  title: string;
  cell: (row: R) => string | number | boolean | undefined;
  /** Right-aligned and never cut (counts, rates); text columns shrink to fit. */
  numeric?: boolean;
}

const GAP = '  ';
/** A text column is never cut below this (or its title). */
const MIN_TEXT = 6;

function text(v: string | number | boolean | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v).replace(/[\r\n\t]/g, ' ');
}

/**
 * Aligned columns, titles first. When wider than `width`, the widest text columns are cut
 * (with '…') until it fits or none can shrink further; numbers are never cut.
 */
export function renderTable<R>(
  columns: readonly Column<R>[],
  rows: readonly R[],
  width = Infinity,
): string {
  const cells = rows.map((r) => columns.map((c) => text(c.cell(r))));
  const widths = columns.map((c, i) =>
    Math.max(c.title.length, ...cells.map((row) => [...row[i]!].length)),
  );
  const floor = columns.map((c) =>
    c.numeric === true ? Infinity : Math.max(MIN_TEXT, c.title.length),
  );
  const total = (): number => widths.reduce((a, b) => a + b, 0) + GAP.length * (columns.length - 1);
  while (total() > width) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++)
      if (widths[i]! > floor[i]! && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
    if (widest < 0) break;
    widths[widest]!--;
  }
  const line = (row: readonly string[]): string =>
    row
      .map((v, i) => {
        const w = widths[i]!;
        const chars = [...v];
        const fitted = chars.length > w ? `${chars.slice(0, w - 1).join('')}…` : v;
        const pad = w - Math.min(chars.length, w);
        return columns[i]!.numeric === true ? ' '.repeat(pad) + fitted : fitted + ' '.repeat(pad);
      })
      .join(GAP)
      .trimEnd();
  return [line(columns.map((c) => c.title)), ...cells.map(line)].join('\n');
}

/** The width tables must fit: $COLUMNS, else the terminal's, else none (piped output). */
export function outputWidth(
  env: NodeJS.ProcessEnv,
  stdout: { isTTY?: boolean; columns?: number },
): number {
  const fromEnv = Number(env.COLUMNS);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  if (stdout.isTTY === true && typeof stdout.columns === 'number' && stdout.columns > 0)
    return stdout.columns;
  return Infinity;
}

/** A management API rate (`{rate: n}` details), as people read it: '12/s', '0.4/s'. */
export function rate(details: { rate?: number } | undefined): string | undefined {
  const r = details?.rate;
  if (typeof r !== 'number') return undefined;
  return `${r >= 10 || Number.isInteger(r) ? Math.round(r) : r.toFixed(1)}/s`;
}
