import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OPERATOR_COMMANDS } from '../../src/cli/operator-commands.js';
import { baton, brokerWithHttp, closedPort } from '../helpers/baton-cli.js';

void test('every operator command has --help (exit 0) and refuses an unknown option with its help (exit 2)', async () => {
  for (const c of OPERATOR_COMMANDS) {
    const words = c.spec.name.split(' ');
    const help = await baton([...words, '--help']);
    assert.equal(help.code, 0, c.spec.name);
    assert.match(help.stdout, new RegExp(`^Usage: baton ${c.spec.name}`), c.spec.name);
    assert.match(help.stdout, /--url URL/);
    const bad = await baton([...words, '--frobnicate']);
    assert.equal(bad.code, 2, c.spec.name);
    assert.match(bad.stderr, new RegExp(`^baton ${c.spec.name}: unknown option '--frobnicate'`));
    assert.match(bad.stderr, /Usage: /);
  }
  const group = await baton(['queue']);
  assert.equal(group.code, 2);
  assert.match(group.stderr, /baton queue purge <queue>/);
  const top = await baton(['help']);
  assert.equal(top.code, 0);
  for (const c of OPERATOR_COMMANDS)
    assert.ok(top.stdout.includes(`baton ${c.spec.name}`), c.spec.name);
});

void test('connection settings: --url, BATON_URL, credentials in the URL or by flag or env; a refused login says why and never shows the password', async (t) => {
  const b = await brokerWithHttp(t);
  const port = new URL(b.httpUrl).port;
  const ok = (r: { code: number; stderr: string }): void => assert.equal(r.code, 0, r.stderr);
  ok(await baton(['queues', 'list'], { env: b.env }));
  ok(await baton(['queues', 'list', '--url', b.httpUrl]));
  ok(await baton(['queues', 'list', '--url', `http://guest:guest@127.0.0.1:${port}`]));
  ok(await baton(['queues', 'list', '--user', 'guest', '--password', 'guest'], { env: b.env }));
  ok(
    await baton(['queues', 'list'], {
      env: { ...b.env, BATON_USER: 'guest', BATON_PASSWORD: 'guest' },
    }),
  );

  const secret = 's3cr3t-Pa55';
  for (const r of [
    await baton(['queues', 'list', '--password', secret], { env: b.env }),
    await baton(['status'], { env: { ...b.env, BATON_PASSWORD: secret } }),
    await baton(['status', '--url', `http://guest:${secret}@127.0.0.1:${port}`]),
  ]) {
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^baton: \S/);
    assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret), r.stderr);
  }
  // The flag beats the URL's credentials.
  ok(
    await baton([
      'status',
      '--url',
      `http://guest:${secret}@127.0.0.1:${port}`,
      '--password',
      'guest',
    ]),
  );

  const closed = await closedPort();
  const refused = await baton(['status', '--url', `http://127.0.0.1:${closed}`]);
  assert.equal(refused.code, 1);
  assert.ok(
    refused.stderr.startsWith(
      `baton: cannot reach the management API at http://127.0.0.1:${closed} (ECONNREFUSED)`,
    ),
    refused.stderr,
  );
  const notUrl = await baton(['status', '--url', 'not a url']);
  assert.equal(notUrl.code, 2);
  assert.match(notUrl.stderr, /is not a URL/);
});
