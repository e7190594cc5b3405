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
