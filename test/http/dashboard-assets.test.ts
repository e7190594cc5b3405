// The dashboard's static files: served without auth at /, with content types, revalidation by
// ETag, a CSP, and no way out of web/; the API beside them still needs auth.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findWebRoot } from '../../src/protocol/http/routes/dashboard.js';
import { startBroker } from '../helpers/server.js';

async function base(t: Parameters<typeof startBroker>[0]): Promise<string> {
  const { server } = await startBroker(t, { httpPort: 0 });
  return `http://127.0.0.1:${server.ports.get('http')}`;
}

void test('dashboard: web/ is found from the built file by walking up to the package root', () => {
  const root = findWebRoot();
  assert.ok(root !== undefined, 'web/ not found');
  assert.match(root, /[/\\]web$/);
});

void test('dashboard: / serves index.html without auth, with a CSP and no-cache + ETag', async (t) => {
  const url = await base(t);
  const r = await fetch(`${url}/`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.match(await r.text(), /<script type="module" src="js\/app.js">/);
  assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  assert.equal(r.headers.get('cache-control'), 'no-cache');
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  const etag = r.headers.get('etag');
  assert.ok(etag);
  const again = await fetch(`${url}/`, { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);
});

void test('dashboard: assets have their content types', async (t) => {
  const url = await base(t);
  for (const [path, type] of [
    ['/app.css', 'text/css; charset=utf-8'],
    ['/js/app.js', 'text/javascript; charset=utf-8'],
    ['/js/pages/queue.js', 'text/javascript; charset=utf-8'],
    ['/favicon.svg', 'image/svg+xml'],
  ]) {
    const r = await fetch(`${url}${path}`);
    assert.equal(r.status, 200, path);
    assert.equal(r.headers.get('content-type'), type, path);
    await r.arrayBuffer();
  }
});

void test('dashboard: no path reaches outside web/', async (t) => {
  const url = await base(t);
  for (const path of [
    '/../package.json',
    '/%2e%2e/package.json',
    '/js/..%2f..%2fpackage.json',
    '/js/%2e%2e/%2e%2e/src/config.ts',
    '/..%5c..%5cpackage.json',
    '/index.html%00.js',
    '/package.json',
  ]) {
    const r = await fetch(`${url}${path}`);
    const body = await r.text();
    assert.equal(r.status, 404, `${path} → ${r.status}`);
    assert.doesNotMatch(body, /"devDependencies"|defaultConfig/, path);
  }
});

void test('dashboard: the API still needs auth; x-baton-ui gets no WWW-Authenticate', async (t) => {
  const url = await base(t);
  const plain = await fetch(`${url}/api/overview`);
  assert.equal(plain.status, 401);
  assert.ok(plain.headers.get('www-authenticate'));
  const ui = await fetch(`${url}/api/overview`, {
    headers: { 'x-baton-ui': '1', authorization: 'Basic ' + btoa('guest:wrong') },
  });
  assert.equal(ui.status, 401);
  assert.equal(ui.headers.get('www-authenticate'), null);
  const body = (await ui.json()) as { reason: string };
  assert.match(body.reason, /refused/);
});
