import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { controlSocketPath } from '../../src/config.js';
import { controlRequest } from '../../src/protocol/control/client.js';
import { openConfirmChannel } from '../helpers/amqp-raw.js';
import { startBrokerProcess } from '../helpers/broker-process.js';
import { tempDir } from '../helpers/core.js';
import { connect } from '../helpers/server.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Run `baton …` (asynchronously: the test's own amqplib connection keeps running). */
function baton(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { env: { ...process.env, BATON_CONTROL_SOCKET: '', BATON_DATA_DIR: '', ...env } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Send raw bytes to the control socket; resolves with every reply line once it closes. */
async function raw(path: string, bytes: string | Buffer, end = true): Promise<unknown[]> {
  const s = netConnect(path);
  let text = '';
  s.setEncoding('utf8');
  s.on('data', (d: string) => (text += d));
  await once(s, 'connect');
  if (end) s.end(bytes);
  else s.write(bytes);
  await once(s, 'close');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);
}

void test('control socket: mode 0600; bad input gets an error reply and never hurts the broker; removed on clean stop, a stale one replaced', async (t) => {
  const dir = tempDir(t, 'baton-cs-');
  let b = await startBrokerProcess(t, { dataDir: dir });
  const path = join(dir, 'baton.sock');
  assert.ok(statSync(path).isSocket());
  assert.equal(statSync(path).mode & 0o777, 0o600);

  const replies = await raw(
    path,
    'not json\n[1,2]\n{"op":"launch"}\n\n{"op":"redrive"}\n{"op":"ping","id":7}\n{"op":"ping"}',
  );
  assert.deepEqual(
    replies.map((r) => [(r as { ok: boolean }).ok, (r as { code?: number }).code]),
    [
      [false, 502],
      [false, 502],
      [false, 503],
      [false, 406],
      [true, undefined],
      [true, undefined],
    ],
  );
  assert.match(JSON.stringify(replies[0]), /not JSON/);
  assert.match(JSON.stringify(replies[2]), /unknown op \\"launch\\"; known: redrive, ping/);
  assert.equal((replies[4] as { id: unknown }).id, 7);

  // A line past 64 KiB: one error reply, then the connection is closed.
  const huge = await raw(path, `{"op":"ping","pad":"${'x'.repeat(70 * 1024)}"}\n`, false);
  assert.equal(huge.length, 1);
  assert.equal((huge[0] as { code: number }).code, 501);
  // Invalid UTF-8 and NUL bytes: an error reply, nothing else.
  const junk = await raw(path, Buffer.from([0xff, 0xfe, 0x00, 0x0a]));
  assert.equal((junk[0] as { ok: boolean }).ok, false);

  // The broker is unharmed: AMQP serves, the socket still answers.
  const conn = await connect(t, b.url);
  const ch = await openConfirmChannel(conn);
  await ch.assertQueue('q');
  assert.equal((await controlRequest(path, { op: 'ping' })).ok, true);
  await conn.close();

  // SIGTERM: a clean stop removes the socket file.
  b.child.kill('SIGTERM');
  assert.equal(await b.exited, 0);
  assert.equal(existsSync(path), false);

  // SIGKILL leaves a stale socket behind; the next start replaces it.
  b = await startBrokerProcess(t, { dataDir: dir });
  await b.kill('SIGKILL');
  assert.ok(existsSync(path), 'a killed broker leaves its socket file');
  b = await startBrokerProcess(t, { dataDir: dir });
  assert.equal((await controlRequest(path, { op: 'ping' })).pid, b.pid);

  // A path that is not a socket is never taken over.
  const file = join(dir, 'not-a-socket');
  writeFileSync(file, 'keep me');
  const other = await baton([
    'serve',
    '--data-dir',
    tempDir(t),
    '--amqp-port',
    '0',
    '--http-port',
    'off',
    '--prometheus-port',
    'off',
    '--control-socket',
    file,
  ]);
  assert.equal(other.code, 1);
  assert.match(other.stderr, /exists and is not a socket/);
});

void test('control socket path: <data-dir>/baton.sock with the journal, none with memory unless given, off for none', () => {
  const base = { dataDir: '/var/lib/baton', controlSocket: '' };
  assert.equal(controlSocketPath({ ...base, store: 'journal' }), '/var/lib/baton/baton.sock');
  assert.equal(controlSocketPath({ ...base, store: 'memory' }), undefined);
  assert.equal(
    controlSocketPath({ ...base, store: 'memory', controlSocket: '/run/b.sock' }),
    '/run/b.sock',
  );
  assert.equal(controlSocketPath({ ...base, store: 'journal', controlSocket: 'off' }), undefined);
});
