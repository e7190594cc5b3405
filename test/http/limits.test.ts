/**
 * The management server's guards against bad clients: a request that never arrives whole is
 * cut off, an oversized body is refused with 413, and neither harms the next client.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import { buildManagementApp, MAX_BODY } from '../../src/protocol/http/management.js';
import { startBroker } from '../helpers/server.js';

const GUEST = `Basic ${Buffer.from('guest:guest').toString('base64')}`;

async function app(t: import('node:test').TestContext, requestTimeoutMs: number) {
  const { server } = await startBroker(t, { store: 'memory' });
  const a = await buildManagementApp(
    { broker: server.broker, logger: pino({ level: 'silent' }), ports: server.ports },
    requestTimeoutMs,
  );
  await a.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => a.close());
  return (a.server.address() as AddressInfo).port;
}

void test('a client that sends half a request and stalls is disconnected; others are served meanwhile', async (t) => {
  const port = await app(t, 1000);
  const slow = connect(port, '127.0.0.1');
  await once(slow, 'connect');
  slow.write('GET /api/overview HTTP/1.1\r\nHost: x\r\nAuthorization: ' + GUEST + '\r\n');
  let answer = '';
  slow.on('data', (d: Buffer) => (answer += d.toString()));
  const r = await fetch(`http://127.0.0.1:${port}/api/overview`, {
    headers: { authorization: GUEST },
  });
  assert.equal(r.status, 200);
  await once(slow, 'close');
  // Node answers a timed-out request with 408 before closing, or just closes.
  assert.ok(answer === '' || answer.startsWith('HTTP/1.1 408'), answer);
});

void test('a body over the cap is refused with 413 problem JSON, and the server goes on', async (t) => {
  const port = await app(t, 30_000);
  const big = JSON.stringify({ payload: 'x'.repeat(MAX_BODY + 1), payload_encoding: 'string' });
  const r = await fetch(`http://127.0.0.1:${port}/api/exchanges/%2F/amq.default/publish`, {
    method: 'POST',
    headers: { authorization: GUEST, 'content-type': 'application/json' },
    body: big,
  });
  assert.equal(r.status, 413);
  assert.match(r.headers.get('content-type') ?? '', /application\/problem\+json/);
  const body = (await r.json()) as { status: number; reason: string };
  assert.equal(body.status, 413);
  const ok = await fetch(`http://127.0.0.1:${port}/api/overview`, {
    headers: { authorization: GUEST },
  });
  assert.equal(ok.status, 200);
});

void test('unknown paths, bad JSON and missing credentials get problem JSON with their status', async (t) => {
  const port = await app(t, 30_000);
  const base = `http://127.0.0.1:${port}`;
  const nope = await fetch(`${base}/api/nonsense`, { headers: { authorization: GUEST } });
  assert.equal(nope.status, 404);
  assert.equal(((await nope.json()) as { error: string }).error, 'Object Not Found');
  const bad = await fetch(`${base}/api/queues/%2F/q1`, {
    method: 'PUT',
    headers: { authorization: GUEST },
    body: '{"durable": tru',
  });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { reason: string }).reason, /not JSON/);
  const anon = await fetch(`${base}/api/queues`);
  assert.equal(anon.status, 401);
  assert.equal(anon.headers.get('www-authenticate'), 'Basic realm="Baton Management"');
  const wrong = await fetch(`${base}/api/queues`, {
    headers: { authorization: `Basic ${Buffer.from('guest:nope').toString('base64')}` },
  });
  assert.equal(wrong.status, 401);
});

void test('the login is decided by the route, not the raw URL: /%61pi, //api and case tricks get 401 or 404, never data', async (t) => {
  const port = await app(t, 30_000);
  const { request } = await import('node:http');
  // fetch normalises paths; a raw request sends them as written.
  const raw = (path: string, method = 'GET'): Promise<number> =>
    new Promise((resolve, reject) => {
      const r = request({ host: '127.0.0.1', port, path, method }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      r.on('error', reject);
      r.end();
    });
  for (const path of [
    '/%61pi/definitions',
    '/%61pi/overview',
    '/a%70i/queues',
    '/api%2Fqueues',
    '/API/overview',
    '/api/../api/overview',
    '//api/overview',
  ]) {
    const status = await raw(path);
    assert.ok(status === 401 || status === 404, `${path}: ${status}`);
  }
  assert.equal(await raw('/%61pi/vhosts/%2F', 'PUT'), 401);
  // The dashboard's files stay public.
  assert.equal(await raw('/'), 200);
});

void test('long names, policies, user writes and bad base64 get clear answers', async (t) => {
  const port = await app(t, 30_000);
  const base = `http://127.0.0.1:${port}`;
  const headers = { authorization: GUEST };
  const name = 'q'.repeat(255);
  const put = await fetch(`${base}/api/queues/%2F/${name}`, {
    method: 'PUT',
    headers,
    body: '{"durable":false}',
  });
  assert.equal(put.status, 201);
  const got = (await (await fetch(`${base}/api/queues/%2F/${name}`, { headers })).json()) as {
    name: string;
  };
  assert.equal(got.name, name);
  assert.deepEqual(await (await fetch(`${base}/api/policies`, { headers })).json(), []);
  assert.deepEqual(await (await fetch(`${base}/api/policies/%2F`, { headers })).json(), []);
  const user = await fetch(`${base}/api/users/alice`, {
    method: 'PUT',
    headers,
    body: '{"password":"s3cret","tags":""}',
  });
  assert.equal(user.status, 201);
  assert.doesNotMatch(await user.text(), /s3cret/);
  const perm = await fetch(`${base}/api/permissions/%2F/alice`, {
    method: 'PUT',
    headers,
    body: '{"configure":".*","write":".*","read":".*"}',
  });
  assert.equal(perm.status, 201);
  const b64 = await fetch(`${base}/api/exchanges/%2F/amq.default/publish`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      properties: {},
      routing_key: name,
      payload: 'x',
      payload_encoding: 'base64',
    }),
  });
  assert.equal(b64.status, 400);
});
