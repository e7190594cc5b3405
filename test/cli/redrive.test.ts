import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { describe } from '../../src/cli/redrive.js';
import { openConfirmChannel } from '../helpers/amqp-raw.js';
import { baton, cleanEnv, closedPort } from '../helpers/baton-cli.js';
import { startBrokerProcess } from '../helpers/broker-process.js';
import { tempDir, until } from '../helpers/core.js';
import { connect } from '../helpers/server.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** `baton …` with a pseudo-terminal as stdin/stdout/stderr (util-linux script): what people see. */
function onTerminal(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const cmd = [process.execPath, cli, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    execFile('script', ['-qefc', cmd, '/dev/null'], { env: cleanEnv(env) }, (err, stdout) =>
      err === null ? resolve(stdout) : reject(new Error(`${cmd}: ${err.message}\n${stdout}`)),
    );
  });
}

void test('baton redrive against a running baton serve, through the management API: moves the dead letters home and says so; errors exit non-zero', async (t) => {
  const b = await startBrokerProcess(t, { args: ['--http-port', '0'] });
  const ready = await b.ready;
  assert.ok(ready?.ports.http !== undefined, 'the broker reports its HTTP port');
  const env = { BATON_URL: `http://127.0.0.1:${ready.ports.http}` };
  const conn = await connect(t, b.url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('dlq', { durable: true });
  await ch.assertQueue('work', {
    durable: true,
    arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq' },
  });
  for (let i = 0; i < 3; i++) ch.sendToQueue('work', Buffer.from(`w${i}`), { persistent: true });
  ch.sendToQueue('dlq', Buffer.from('stray'), { persistent: true });
  await ch.waitForConfirms();
  for (let i = 0; i < 3; i++) {
    const m = await ch.get('work');
    assert.ok(m !== false);
    ch.reject(m, false);
  }
  await until(async () => (await ch.checkQueue('dlq')).messageCount === 4, 'four in the DLQ');

  const r = await baton(['redrive', 'dlq'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "moved 3 messages from 'dlq' to 'work' (1 skipped: no x-death)\n");
  // Not a terminal: no progress drawn.
  assert.equal(r.stderr, '');
  assert.equal((await ch.checkQueue('work')).messageCount, 3);
  assert.equal((await ch.checkQueue('dlq')).messageCount, 1);

  // --to and --limit, the URL given by flag; --json is the API's reply.
  const r2 = await baton([
    'redrive',
    'dlq',
    '--to',
    'work',
    '--limit',
    '5',
    '--json',
    '--url',
    env.BATON_URL,
  ]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual(JSON.parse(r2.stdout), {
    moved: 1,
    skipped: 0,
    skippedBy: {},
    movedTo: { work: 1 },
  });
  assert.equal((await ch.checkQueue('work')).messageCount, 4);

  const missing = await baton(['redrive', 'nope'], { env });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^baton: .*nope/);

  const usage = await baton(['redrive', '--limit', 'x', 'dlq'], { env });
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--limit: 'x' is not a positive whole number/);
  assert.match(usage.stderr, /Usage: baton redrive <queue>/);
  const retired = await baton(['redrive', 'dlq', '--data-dir', '/tmp'], { env });
  assert.equal(retired.code, 2);
  assert.match(retired.stderr, /management API; give --url/);
  const help = await baton(['redrive', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: baton redrive <queue>/);

  // Nothing listening: the URL tried is named.
  const closed = await closedPort();
  const nowhere = await baton(['redrive', 'dlq', '--url', `http://127.0.0.1:${closed}`]);
  assert.equal(nowhere.code, 1);
  assert.ok(
    nowhere.stderr.includes(`at http://127.0.0.1:${closed} (ECONNREFUSED)`),
    nowhere.stderr,
  );
});

void test('on a terminal, redrive, purge and definitions import draw a progress bar on stderr, cleared before the result', async (t) => {
  const b = await startBrokerProcess(t, { args: ['--http-port', '0'] });
  const ready = await b.ready;
  const env = { BATON_URL: `http://127.0.0.1:${ready!.ports.http}` };
  const conn = await connect(t, b.url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('dlq');
  await ch.assertQueue('work');
  for (let i = 0; i < 200; i++) ch.sendToQueue('dlq', Buffer.from(`m${i}`));
  await ch.waitForConfirms();
  const screen = await onTerminal(['redrive', 'dlq', '--to', 'work'], env);
  assert.match(screen, /\rredriving 'dlq' \[[#.]+\] +\d+% \d+\/200 messages/);
  assert.ok(screen.includes("\r\x1b[Kmoved 200 messages from 'dlq' to 'work'"), screen);
  assert.equal((await ch.checkQueue('work')).messageCount, 200);
  // --json on a terminal: no bar.
  const quiet = await onTerminal(
    ['redrive', 'work', '--to', 'dlq', '--limit', '100', '--json'],
    env,
  );
  assert.doesNotMatch(quiet, /redriving/);
  assert.equal((await ch.checkQueue('dlq')).messageCount, 100);

  const purge = await onTerminal(['queue', 'purge', 'work'], env);
  assert.match(purge, /\rpurging 'work' \[[#.]+\] +\d+% \d+\/100 messages/);
  assert.ok(purge.includes("\r\x1b[Kpurged queue 'work' (100 ready messages before)"), purge);
  assert.equal((await ch.checkQueue('work')).messageCount, 0);

  const file = join(tempDir(t), 'defs.json');
  await baton(['definitions', 'export', file], { env });
  const size = statSync(file).size;
  const load = await onTerminal(['definitions', 'import', file], env);
  assert.ok(load.includes(`${size}/${size} bytes`), load);
  assert.ok(load.includes('\r\x1b[Kimported '), load);
});

void test('baton redrive output: counts, targets and skip reasons in one line', () => {
  assert.equal(
    describe('dlq', {
      moved: 12,
      skipped: 3,
      movedTo: { a: 10, b: 2 },
      skippedBy: { 'no-x-death': 2, 'queue-missing': 1 },
    }),
    "moved 12 messages from 'dlq' to 'a' (10), 'b' (2) (3 skipped: 2 no x-death, 1 target queue missing)",
  );
  assert.equal(
    describe('dlq', { moved: 0, skipped: 0, movedTo: {}, skippedBy: {} }),
    "moved 0 messages from 'dlq'",
  );
});
