// Test certificates made with the openssl command line in a temp dir (deleted after the test):
// a CA, a server certificate for localhost / 127.0.0.1 and client certificates by CN.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { requireCapability } from './broker-child.js';

export interface KeyPair {
  /** PEM file paths. */
  cert: string;
  key: string;
}

export interface TestCerts {
  dir: string;
  /** The CA certificate (PEM path) that signed the server and client certificates. */
  ca: string;
  server: KeyPair;
  /** A client certificate with subject CN `cn`, signed by the CA. */
  client(cn: string): KeyPair;
  /** A client certificate with subject CN `cn` from a CA the broker does not trust. */
  untrustedClient(cn: string): KeyPair;
}

/** Skips (or under BATON_REQUIRE_ALL=1 fails) the test without the openssl command; true: return. */
export function lacksOpenssl(t: TestContext): boolean {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return requireCapability(t, r.status === 0, 'openssl not installed (apt-get install openssl)');
}

export function makeCerts(t: TestContext): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'baton-certs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  // EC keys: quick to make, and every client here speaks them.
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const makeCa = (name: string): void =>
    ssl(
      'req',
      '-x509',
      ...newKey,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-subj',
      `/CN=Baton test ${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
  const sign = (ca: string, name: string, cn: string, ext: string): KeyPair => {
    writeFileSync(join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\n${ext}\n`);
    ssl('req', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.pem`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    );
    return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  };
  makeCa('ca');
  let otherCa = false;
  let n = 0;
  const server = sign(
    'ca',
    'server',
    'localhost',
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth',
  );
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    server,
    client: (cn) => sign('ca', `client-${n++}`, cn, 'extendedKeyUsage=clientAuth'),
    untrustedClient: (cn) => {
      if (!otherCa) makeCa('other-ca');
      otherCa = true;
      return sign('other-ca', `client-${n++}`, cn, 'extendedKeyUsage=clientAuth');
    },
  };
}
