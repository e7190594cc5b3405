import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseArgs, type CommandSpec } from '../../src/cli/args.js';
import { UsageError } from '../../src/cli/errors.js';
import { keyValues } from '../../src/cli/key-values.js';
import { ProgressBar, renderProgress } from '../../src/cli/progress.js';
import { duration } from '../../src/cli/status.js';
import { rate, renderTable, type Column } from '../../src/cli/table.js';

type R = { name: string; n: number };
const cols: Column<R>[] = [
  { title: 'name', cell: (r) => r.name },
  { title: 'count', cell: (r) => r.n, numeric: true },
];

void test('renderTable: columns aligned, numbers right-aligned, text cut with … to fit, numbers never', () => {
  const rows = [
    { name: 'a', n: 5 },
    { name: 'longer-name', n: 12345 },
  ];
  assert.equal(
    renderTable(cols, rows),
    'name         count\na                5\nlonger-name  12345',
  );
  const narrow = renderTable(cols, rows, 15);
  assert.equal(narrow, 'name      count\na             5\nlonger-…  12345');
  // Too narrow to fit at all: text stops at its floor, numbers stay whole.
  assert.match(renderTable(cols, rows, 3), /12345$/);
  assert.equal(renderTable(cols, []), 'name  count');
});

void test('rates and durations read as people write them', () => {
  assert.equal(rate({ rate: 0 }), '0/s');
  assert.equal(rate({ rate: 0.44 }), '0.4/s');
  assert.equal(rate({ rate: 1234.6 }), '1235/s');
  assert.equal(rate(undefined), undefined);
  assert.equal(duration(42_000), '42s');
  assert.equal(duration(3_725_000), '1h 2m');
  assert.equal(duration(90_061_000), '1d 1h');
});

void test('progress: drawn only on a TTY, in place, then cleared', () => {
  assert.equal(renderProgress('x', 4, 8, 'msgs', 40), 'x [###########...........]  50% 4/8 msgs');
  assert.equal(renderProgress('x', 4, 8, 'msgs', 40).length, 40);
  assert.match(renderProgress('x', 20, 10, 'msgs', 80), /100% 10\/10/);
  const written: string[] = [];
  const tty = { isTTY: true, columns: 60, write: (s: string) => written.push(s) };
  const bar = new ProgressBar(tty, 'purging', 4, 'messages');
  bar.update(1);
  bar.finish();
  assert.equal(written.length, 2);
  assert.equal(written[0], `\r${renderProgress('purging', 1, 4, 'messages', 60)}\x1b[K`);
  assert.match(written[0], /25% 1\/4 messages/);
  assert.equal(written[1], '\r\x1b[K');
  const piped: string[] = [];
  const quiet = new ProgressBar({ isTTY: false, write: (s: string) => piped.push(s) }, 'x', 4, 'm');
  quiet.update(2);
  quiet.finish();
  assert.deepEqual(piped, []);
});

void test('arguments: --x=v and --x v, repeats only where allowed, -- ends options, key=value typing', () => {
  const spec: CommandSpec = {
    name: 't',
    args: '<q>',
    positionals: [1, 1],
    summary: '',
    options: [
      { name: '--to', value: 'Q', help: '' },
      { name: '--arg', value: 'K=V', repeat: true, help: '' },
      { name: '--json', help: '' },
    ],
  };
  const p = parseArgs(spec, ['--to=a', 'q', '--arg', 'x=1', '--arg', 'y=z', '--json']);
  assert.ok(!p.help);
  assert.deepEqual(p.positional, ['q']);
  assert.deepEqual(p.options.get('--arg'), ['x=1', 'y=z']);
  assert.deepEqual(parseArgs(spec, ['--', '--to']), {
    help: false,
    positional: ['--to'],
    options: new Map(),
  });
  assert.deepEqual(parseArgs(spec, ['q', '-h']), { help: true });
  for (const bad of [
    ['q', '--to', 'a', '--to', 'b'],
    ['q', '--json=1'],
    ['q', '--to'],
    [],
    ['a', 'b'],
    ['q', '--nope'],
  ])
    assert.throws(() => parseArgs(spec, bad), UsageError, bad.join(' '));
  assert.deepEqual(keyValues('--arg', ['n=10', 'b=true', 's=abc', 'j:={"a":1}', 'e='], true), {
    n: 10,
    b: true,
    s: 'abc',
    j: { a: 1 },
    e: '',
  });
  assert.deepEqual(keyValues('--header', ['n=10'], false), { n: '10' });
  assert.throws(() => keyValues('--arg', ['novalue'], true), /not key=value/);
});
