// TLS (issue 13): AMQPS with amqplib and pika, client certificates and SASL EXTERNAL
// (rabbitmq_auth_mechanism_ssl), the management API over HTTPS, and the TLS config checks.
// Certificates are made with openssl per test (test/helpers/certs.ts).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import amqp from 'amqplib';
import { loadConfig, type Config } from '../../src/config.js';
import { startBroker } from '../helpers/server.js';
import { lacksOpenssl, makeCerts, type KeyPair, type TestCerts } from '../helpers/certs.js';
import { lacksPythonModule, runPythonScript } from '../helpers/python.js';

type Broker = Awaited<ReturnType<typeof startBroker>>;

async function tlsBroker(
  t: TestContext,
  certs: TestCerts,
  extra: Partial<Config> = {},
): Promise<Broker> {
  return startBroker(t, {
    tlsCert: certs.server.cert,
    tlsKey: certs.server.key,
    tlsCa: certs.ca,
    amqpsPort: 0,
    ...extra,
  });
}

/** amqplib over AMQPS to 127.0.0.1 (an IP SAN of the server certificate). */
async function amqps(
  t: TestContext,
  b: Broker,
  opts: { ca?: string; client?: KeyPair; external?: boolean; user?: string } = {},
): Promise<amqp.ChannelModel> {
  const port = b.server.ports.get('amqps')!;
  const user = opts.external === true ? '' : `${opts.user ?? 'guest:guest'}@`;
  const c = await amqp.connect(`amqps://${user}127.0.0.1:${port}`, {
    ...(opts.ca !== undefined ? { ca: [readFileSync(opts.ca)] } : {}),
    ...(opts.client !== undefined
      ? { cert: readFileSync(opts.client.cert), key: readFileSync(opts.client.key) }
      : {}),
    ...(opts.external === true ? { credentials: amqp.credentials.external() } : {}),
  });
  c.on('error', () => {});
  t.after(() => c.close().catch(() => {}));
  return c;
}

/** GET over HTTPS as guest, checking the server certificate against `ca`. */
function httpsGet(
  port: number,
  path: string,
  ca: string,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        ca: readFileSync(ca),
        servername: 'localhost',
        auth: 'guest:guest',
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

interface Listener {
  protocol: string;
  ip_address: string;
  port: number;
}
const listenersOf = (body: unknown): Listener[] => (body as { listeners: Listener[] }).listeners;

function addUser(b: Broker, name: string): void {
  b.server.broker.access.putUser(name, { password: 'unused-here', tags: [] });
  b.server.broker.access.setPermissions(name, '/', { configure: '.*', write: '.*', read: '.*' });
}

void test('amqps with the CA: messages flow, the listing says ssl, overview lists amqp/ssl; HTTPS serves the API', async (t) => {
  if (lacksOpenssl(t)) return;
  const certs = makeCerts(t);
  const b = await tlsBroker(t, certs, { httpPort: 0, httpsPort: 0 });
  const c = await amqps(t, b, { ca: certs.ca });
  const ch = await c.createChannel();
  await ch.assertQueue('tls-q');
  ch.sendToQueue('tls-q', Buffer.from('secret'));
  const m = await new Promise<amqp.GetMessage | false>((resolve) => {
    const poll = (): void => {
      void ch.get('tls-q', { noAck: true }).then((x) => (x ? resolve(x) : setImmediate(poll)));
    };
    poll();
  });
  assert.ok(m);
  assert.equal(m.content.toString(), 'secret');
  // The plain listener stays as it was.
  const plain = await amqp.connect(b.url);
  t.after(() => plain.close().catch(() => {}));

  const https = b.server.ports.get('https')!;
  const conns = await httpsGet(https, '/api/connections', certs.ca);
  assert.equal(conns.status, 200);
  const rows = conns.body as Array<{ ssl: boolean; port: number; ssl_protocol: string | null }>;
  assert.deepEqual(
    rows.map((x) => [x.port, x.ssl, x.ssl_protocol]).sort(),
    [
      [b.port, false, null],
      [b.server.ports.get('amqps'), true, 'tlsv1.3'],
    ].sort(),
  );
  const overview = await httpsGet(https, '/api/overview', certs.ca);
  assert.equal(overview.status, 200);
  const listeners = listenersOf(overview.body).map((l) => [l.protocol, l.port]);
  assert.deepEqual(
    listeners.sort(),
    [
      ['amqp', b.port],
      ['amqp/ssl', b.server.ports.get('amqps')],
      ['http', b.server.ports.get('http')],
      ['https', https],
    ].sort(),
  );
  const health = await httpsGet(https, '/api/health/checks/protocol-listener/amqps', certs.ca);
  assert.equal(health.status, 200);
});

void test('amqps without the CA fails the server certificate check; HTTPS alone serves the API', async (t) => {
  if (lacksOpenssl(t)) return;
  const certs = makeCerts(t);
  const b = await tlsBroker(t, certs, { httpsPort: 0 });
  await assert.rejects(amqps(t, b), (err: NodeJS.ErrnoException) => {
    assert.match(String(err.code), /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    return true;
  });
  assert.equal(b.server.ports.get('http'), undefined);
  const https = b.server.ports.get('https')!;
  const overview = await httpsGet(https, '/api/overview', certs.ca);
  assert.equal(overview.status, 200);
  assert.ok(
    listenersOf(overview.body).some(
      (l) => l.protocol === 'https' && l.port === https && l.ip_address === '127.0.0.1',
    ),
  );
});

void test('verify peer + fail_if_no_peer_cert: no client certificate is refused at TLS; EXTERNAL logs in as the CN', async (t) => {
  if (lacksOpenssl(t)) return;
  const certs = makeCerts(t);
  const b = await tlsBroker(t, certs, { tlsVerify: 'peer', tlsFailIfNoPeerCert: true });
  await assert.rejects(amqps(t, b, { ca: certs.ca }), (err: NodeJS.ErrnoException) => {
    // The server's TLS alert, before any AMQP.
    assert.match(String(err.code), /CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE/);
    return true;
  });
  await assert.rejects(
    amqps(t, b, { ca: certs.ca, client: certs.untrustedClient('app-1') }),
    'a certificate from another CA is refused too',
  );

  addUser(b, 'app-1');
  const c = await amqps(t, b, { ca: certs.ca, client: certs.client('app-1'), external: true });
  const core = [...b.server.broker.connections].find((x) => x.details?.ssl === true);
  assert.equal(core?.principal.user, 'app-1');
  assert.equal(core?.details?.authMechanism, 'EXTERNAL');
  const facts = core?.details?.tls;
  assert.equal(facts?.protocol, 'tlsv1.3');
  assert.equal(facts?.peerCertSubject, 'CN=app-1');
  assert.equal(facts?.peerCertIssuer, 'CN=Baton test ca');
  assert.match(String(facts?.peerCertValidity), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ - \d{4}-/);
  const ch = await c.createChannel();
  await ch.assertQueue('ext-q');
  // user_id is checked against the login: the CN is the user.
  ch.sendToQueue('ext-q', Buffer.from('x'), { userId: 'app-1' });
  await ch.checkQueue('ext-q');

  // With a certificate, PLAIN still works.
  await amqps(t, b, { ca: certs.ca, client: certs.client('whoever') });
});

void test('EXTERNAL: a CN that is not a user, or no certificate at all, is refused with 403', async (t) => {
  if (lacksOpenssl(t)) return;
  const certs = makeCerts(t);
  const b = await tlsBroker(t, certs, { tlsVerify: 'peer' });
  await assert.rejects(
    amqps(t, b, { ca: certs.ca, client: certs.client('nobody'), external: true }),
    /403 \(ACCESS-REFUSED\) with message "ACCESS_REFUSED - Login was refused using authentication mechanism EXTERNAL\./,
  );
  // verify_peer without fail_if_no_peer_cert: no certificate is let in, but not for EXTERNAL
  // (amqplib refuses itself, as EXTERNAL is not offered).
  await assert.rejects(
    amqps(t, b, { ca: certs.ca, external: true }),
    /SASL mechanism EXTERNAL is not provided by the server/,
  );
  await amqps(t, b, { ca: certs.ca });
  // ...while a certificate that does not verify is cut.
  await assert.rejects(amqps(t, b, { ca: certs.ca, client: certs.untrustedClient('guest') }));
});

void test('pika over TLS: PLAIN as guest, EXTERNAL as the certificate CN', async (t) => {
  if (lacksOpenssl(t) || lacksPythonModule(t, 'pika')) return;
  const certs = makeCerts(t);
  const b = await tlsBroker(t, certs, { tlsVerify: 'peer' });
  const port = b.server.ports.get('amqps')!;
  const [plain] = await runPythonScript(t, 'pika_tls.py', [port, certs.ca, 'guest', 'plain']);
  assert.deepEqual(plain, { user_id: 'guest', body: 'over tls' });
  addUser(b, 'pika-app');
  const client = certs.client('pika-app');
  const [ext] = await runPythonScript(t, 'pika_tls.py', [
    port,
    certs.ca,
    'pika-app',
    'external',
    client.cert,
    client.key,
  ]);
  assert.deepEqual(ext, { user_id: 'pika-app', body: 'over tls' });
});

void test('TLS config: ports without a certificate, peer checks without a CA, bad PEM files are refused by name', async (t) => {
  if (lacksOpenssl(t)) return;
  assert.throws(
    () => loadConfig(['--amqps-port', '5671'], {}),
    /flag --amqps-port: TLS needs --tls-cert and --tls-key/,
  );
  assert.throws(
    () => loadConfig([], { BATON_HTTPS_PORT: '15671' }),
    /environment variable BATON_HTTPS_PORT: TLS needs --tls-cert and --tls-key/,
  );
  assert.equal(loadConfig(['--amqps-port', 'off'], {}).amqpsPort, 'off');
  assert.throws(() => loadConfig(['--tls-cert', 'c.pem'], {}), /--tls-cert c.pem needs --tls-key/);
  assert.throws(
    () => loadConfig(['--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--tls-verify', 'peer'], {}),
    /--tls-verify peer needs --tls-ca/,
  );
  assert.throws(
    () =>
      loadConfig(
        ['--tls-cert', 'c', '--tls-key', 'k', '--tls-ca', 'a', '--tls-fail-if-no-peer-cert'],
        {},
      ),
    /--tls-fail-if-no-peer-cert needs --tls-verify peer/,
  );
  const ok = loadConfig(['--tls-cert', 'c', '--tls-key', 'k'], {});
  assert.deepEqual([ok.amqpsPort, ok.httpsPort], [5671, 15671]);

  const certs = makeCerts(t);
  const garbage = join(certs.dir, 'garbage.pem');
  writeFileSync(garbage, 'not a certificate\n');
  const missing = join(certs.dir, 'missing.pem');
  const bad: Array<[Partial<Config>, RegExp]> = [
    [{ tlsCert: missing }, /--tls-cert .*missing\.pem: cannot read it/],
    [{ tlsCert: garbage }, /--tls-cert .*garbage\.pem: no PEM certificate/],
    [{ tlsKey: garbage }, /--tls-key .*garbage\.pem: not a readable unencrypted PEM private key/],
    [{ tlsCa: garbage }, /--tls-ca .*garbage\.pem: no PEM certificate/],
    [{ tlsKey: certs.client('x').key }, /do not go together/],
  ];
  for (const [override, message] of bad)
    await assert.rejects(tlsBroker(t, certs, override), message);
});
