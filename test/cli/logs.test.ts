// What `baton serve` logs, in both formats, and that logging never holds the broker up: a
// closed log pipe (EPIPE) must not stop it from serving or from exiting 0 on SIGTERM/SIGINT.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { waitReady } from '../../src/cli/ready.js';
import { MethodId, RawClient, nextChannelError, openChannel } from '../helpers/amqp-raw.js';
import { startBrokerProcess, type BrokerProcess, type LogLine } from '../helpers/broker-process.js';
import { tempDir, until } from '../helpers/core.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Waits for a log record matching `pred` (JSON format) and returns it. */
async function logLine(b: BrokerProcess, pred: (l: LogLine) => boolean, what: string) {
  await until(() => b.logs.some(pred), `${what}; log so far:\n${b.stdout.slice(-3000)}`);
  return b.logs.find(pred)!;
}

async function refusedLogin(url: string, o: amqp.Options.Connect = {}): Promise<void> {
  await assert.rejects(amqp.connect(url, o), /ACCESS_REFUSED|403/);
}

void test('--log-format text: one readable line per event, ISO time, level, message, then key=value fields', async (t) => {
  const b = await startBrokerProcess(t, { args: ['--log-format', 'text'] });
  const conn = await amqp.connect(b.url, { clientProperties: { connection_name: 'orders app' } });
  const ch = await openChannel(conn);
  const failed = nextChannelError(ch);
  await assert.rejects(ch.checkQueue('nope'), /404/);
  await failed;
  await conn.close();
  await refusedLogin(`amqp://guest:wrong@127.0.0.1:${b.port}`);
  await until(
    () => b.lines.some((l) => l.includes('amqp connection closed by client')),
    `the close line; got:\n${b.stdout}`,
  );
  await until(() => b.lines.some((l) => l.includes('login refused')), 'the refused login');

  const line = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) \S/;
  for (const l of b.lines.filter((x) => !x.startsWith('    ')))
    assert.match(l, line, `every line starts with time and level: ${l}`);
  assert.ok(
    b.lines.every((l) => !l.startsWith('{')),
    `no JSON in text format:\n${b.stdout}`,
  );
  const peer = String.raw`127\.0\.0\.1:\d+ -> 127\.0\.0\.1:${b.port}`;
  const find = (re: RegExp): string => {
    const l = b.lines.find((x) => re.test(x));
    assert.ok(l !== undefined, `a line matching ${re}; got:\n${b.stdout}`);
    return l;
  };
  find(new RegExp(`^\\S+ INFO  amqp listening on 127\\.0\\.0\\.1:${b.port} port=${b.port}$`));
  const opened = find(
    new RegExp(`INFO  amqp connection opened: ${peer}, user 'guest', vhost '/' `),
  );
  // Values with spaces are quoted; plain ones are not.
  assert.match(opened, / clientName="orders app"/);
  assert.match(opened, / client="amqplib [\d.]+"/);
  // What the message shows is not repeated as a field.
  assert.match(opened, / vhost=\/ heartbeat=60 /);
  assert.doesNotMatch(opened, / (connection|user)=/);
  find(
    / WARN {2}amqp channel 1 closed on error: 404 NOT_FOUND - no queue 'nope' in vhost '\/' \(queue\.declare\) .*channel=1 code=404/,
  );
  find(
    new RegExp(
      `INFO  amqp connection closed by client: ${peer} \\(200 [^)]*\\) after \\d+ ms user=guest vhost=/ code=200 durationMs=\\d+ bytesIn=\\d+ bytesOut=\\d+$`,
    ),
  );
  find(
    / WARN {2}amqp login refused for user 'guest' from 127\.0\.0\.1:\d+ \(PLAIN\): Login was refused using authentication mechanism PLAIN\. For details see the broker logfile\.$/,
  );
});

void test('--log-format json: pino JSON with ISO time and level names; connection open/close, refused logins, protocol errors, heartbeat timeouts', async (t) => {
  const b = await startBrokerProcess(t, { args: ['--heartbeat', '1'] });
  const conn = await amqp.connect(`${b.url}?heartbeat=0`, {
    clientProperties: { connection_name: 'billing' },
  });
  const open = await logLine(
    b,
    (l) => l.msg?.startsWith('amqp connection opened') === true,
    'open',
  );
  assert.equal(open.level, 'info');
  assert.match(open.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(typeof open.pid, 'number');
  assert.match(
    String(open.connection),
    new RegExp(`^127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${b.port}$`),
  );
  assert.equal(open.user, 'guest');
  assert.equal(open.vhost, '/');
  assert.equal(open.clientName, 'billing');
  assert.match(String(open.client), /^amqplib /);

  // A connection-level protocol error: a frame on a channel that was never opened.
  const ch = await openChannel(conn);
  await ch.assertQueue('q');
  const raw = await RawClient.open(t, b.port);
  await raw.handshake();
  raw.sendMethod(7, MethodId.BasicQos, { prefetchSize: 0, prefetchCount: 1, global: false });
  const closeFrame = await raw.expectConnectionClose();
  const err = await logLine(
    b,
    (l) => l.code === closeFrame.replyCode && l.level === 'warn',
    'error',
  );
  assert.match(String(err.msg), /^amqp connection closed on error: 504 CHANNEL_ERROR - /);
  assert.equal(err.channel, 7);
  assert.equal(err.method, 'basic.qos');
  const rawClosed = await logLine(
    b,
    (l) => l.closedBy === 'broker' && l.code === 504,
    'the close line of the connection the broker closed',
  );
  assert.equal(rawClosed.level, 'info');
  assert.equal(typeof rawClosed.durationMs, 'number');
  assert.ok(Number(rawClosed.bytesIn) > 0);

  // A refused login over AMQPLAIN names user and mechanism.
  await refusedLogin(`amqp://127.0.0.1:${b.port}`, {
    credentials: amqp.credentials.amqplain('bob', 'wrong'),
  });
  const refused = await logLine(b, (l) => l.user === 'bob', 'the refused login');
  assert.equal(refused.level, 'warn');
  assert.equal(refused.mechanism, 'AMQPLAIN');
  assert.match(String(refused.peer), /^127\.0\.0\.1:\d+$/);

  // Heartbeat timeout: negotiate 1 s and then say nothing.
  const silent = await RawClient.open(t, b.port);
  await silent.handshake({ heartbeat: 1 });
  await silent.waitClosed();
  const hb = await logLine(b, (l) => /missed heartbeats/.test(String(l.msg)), 'heartbeat timeout');
  assert.equal(hb.level, 'warn');
  assert.equal(hb.heartbeat, 1);

  // Shutdown closes the rest: the broker says it closed them, and why.
  const closed = once(conn, 'close');
  conn.on('error', () => {});
  b.child.kill('SIGTERM');
  assert.equal(await b.exited, 0);
  await closed;
  const forced = b.logs.find((l) => l.closedBy === 'broker' && l.code === 320);
  assert.ok(forced !== undefined, b.stdout);
  assert.match(String(forced.msg), /CONNECTION_FORCED - broker shutting down/);
  assert.equal(b.logs.at(-1)?.msg, 'stopped');
});

void test('no secret in any log line: wrong AMQP and HTTP passwords, update-secret, at log level trace', async (t) => {
  const secrets = ['pw-plain-4f1c', 'pw-amqplain-9d2e', 'pw-http-77aa', 'new-secret-e3b0'];
  const b = await startBrokerProcess(t, {
    args: ['--log-level', 'trace', '--http-port', '0'],
  });
  const http = (await b.ready)!.ports.http!;
  await refusedLogin(`amqp://guest:${secrets[0]}@127.0.0.1:${b.port}`);
  await refusedLogin(`amqp://127.0.0.1:${b.port}`, {
    credentials: amqp.credentials.amqplain('guest', secrets[1]!),
  });
  const auth = `Basic ${Buffer.from(`guest:${secrets[2]}`).toString('base64')}`;
  const res = await fetch(`http://127.0.0.1:${http}/api/overview`, {
    headers: { authorization: auth },
  });
  assert.equal(res.status, 401);
  const conn = await amqp.connect(b.url);
  await (conn as unknown as { updateSecret(s: Buffer, r: string): Promise<void> }).updateSecret(
    Buffer.from(secrets[3]!),
    'rotation',
  );
  await conn.close();
  await until(() => b.lines.some((l) => l.includes('closed by client')), 'the close line');
  await until(() => b.lines.some((l) => l.includes('HTTP login failed')), 'the HTTP refusal');
  assert.equal(b.logs.filter((l) => /login (refused|failed)/.test(String(l.msg))).length, 3);
  b.child.kill('SIGTERM');
  assert.equal(await b.exited, 0);
  const all = b.stdout + b.stderr;
  for (const s of [...secrets, auth.slice('Basic '.length)])
    assert.equal(all.includes(s), false, `'${s}' appears in the log:\n${all}`);
});

/** `baton serve` with its stdout as a pipe to `reader` (or to us) and fd 3 for readiness. */
function serveChild(t: TestContext, stdout: 'pipe' | NodeJS.WritableStream): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      cli,
      'serve',
      ...['--amqp-port', '0', '--host', '127.0.0.1', '--data-dir', tempDir(t)],
      ...['--http-port', 'off', '--prometheus-port', 'off', '--ready-fd', '3'],
    ],
    { stdio: ['ignore', stdout as 'pipe', 'pipe', 'pipe'] },
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** Exit code (or signal) of `child`, failing if it has not exited within `ms`. */
async function exitOf(child: ChildProcess, ms = 15_000): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const exited = once(child, 'exit').then(([c, s]) => (c === null ? String(s) : Number(c)));
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running ${ms} ms after the signal`)), ms);
  });
  try {
    return await Promise.race([exited, hung]);
  } finally {
    clearTimeout(timer);
  }
}

for (const signal of ['SIGTERM', 'SIGINT'] as const)
  for (const how of ['read end closed', 'reader killed'] as const)
    void test(`a closed log pipe (${how}): the broker keeps serving, then exits 0 on ${signal}`, async (t) => {
      let reader: ChildProcess | undefined;
      let child: ChildProcess;
      if (how === 'reader killed') {
        // The log pipe goes to another process (`baton serve | cat`), which then dies.
        reader = spawn('cat', [], { stdio: ['pipe', 'ignore', 'ignore'] });
        t.after(() => void reader?.kill('SIGKILL'));
        child = serveChild(t, reader.stdin!);
      } else child = serveChild(t, 'pipe');
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const ready = await waitReady(child);
      assert.ok(ready !== undefined, stderr);
      if (reader !== undefined) {
        reader.kill('SIGKILL');
        await once(reader, 'exit');
        reader.stdin!.destroy();
      } else child.stdout!.destroy();
      // Every connection logs two lines: the first write finds the pipe gone.
      for (let i = 0; i < 3; i++) {
        const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${ready.ports.amqp}`);
        const ch = await conn.createChannel();
        await ch.assertQueue(`q${i}`);
        await conn.close();
      }
      await refusedLogin(`amqp://guest:nope@127.0.0.1:${ready.ports.amqp}`);
      child.kill(signal);
      assert.equal(await exitOf(child), 0, stderr);
      assert.doesNotMatch(stderr, /EPIPE|Error/);
    });

void test('a resource alarm is logged at error when raised (publishers blocked), the listeners at info', async (t) => {
  // A 2-byte memory watermark: the memory alarm is on from the first check.
  const b = await startBrokerProcess(t, {
    args: ['--memory-high-watermark', '2', '--http-port', '0'],
  });
  const http = (await b.ready)!.ports.http!;
  const alarm = await logLine(b, (l) => /resource alarm/.test(String(l.msg)), 'the alarm');
  assert.equal(alarm.level, 'error');
  assert.equal(alarm.alarm, 'low on memory');
  assert.equal(alarm.msg, 'resource alarm (low on memory): publishers blocked');
  const listening = b.logs.find((l) => l.protocol === 'http' && l.port === http);
  assert.equal(listening?.level, 'info');
  assert.equal(listening?.msg, `http listening on 127.0.0.1:${http}`);
});
