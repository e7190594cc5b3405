// `baton help`, `baton --version` and `baton serve --help`: what an operator types first.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from '../../src/cli/commands.js';
import { OPTIONS } from '../../src/config.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
// dist/test/cli → the package root.
const pkg = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8'),
) as { version: string };

function baton(...args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
}

void test("baton --version, -v and version print 'baton <package.json version>'", () => {
  for (const spelling of ['--version', '-v', 'version']) {
    const r = baton(spelling);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `baton ${pkg.version}\n`);
  }
  const extra = baton('version', 'now');
  assert.equal(extra.status, 2);
  assert.match(extra.stderr, /takes no arguments \(got 'now'\)/);
});

void test('baton serve --help and -h print every serve option and exit 0 without starting', () => {
  for (const spelling of ['--help', '-h']) {
    const r = baton('serve', '--amqp-port', '1', spelling);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Usage: baton serve \[options\]/);
    for (const o of OPTIONS) assert.match(r.stdout, new RegExp(`${o.flag}\\s+${o.env}\\s`));
    assert.match(r.stdout, /--ready-fd\s+BATON_READY_FD/);
    assert.equal(r.stderr, '');
  }
});

void test('baton help lists every command, then serve options; --help and -h are the same; unknown commands exit 2', () => {
  const r = baton('help');
  assert.equal(r.status, 0);
  for (const c of COMMANDS)
    assert.match(r.stdout, new RegExp(`^  baton ${c.name}\\b.*  ${escape(c.summary)}$`, 'm'));
  assert.match(r.stdout, /Usage: baton serve \[options\]/);
  assert.equal(baton('--help').stdout, r.stdout);
  assert.equal(baton('-h').stdout, r.stdout);
  assert.equal(baton().stdout, r.stdout, 'no command: the help');
  const bad = baton('serv');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^baton: unknown command 'serv'\n/);
  assert.match(bad.stderr, /baton serve \[options\]/);
});

void test('baton help into a closed pipe (baton help | head -0) exits 0 without a stack trace', async () => {
  const child = spawn(process.execPath, [cli, 'help'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(stderr, '');
  assert.equal(code, 0);
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
