/**
 * The `tls` scenario's certificate: one self-signed P-256 certificate for localhost and
 * 127.0.0.1 that both brokers serve and the load trusts. RabbitMQ needs it as fixed files, so
 * it lives in a known directory and is made only when absent (bench/README.md, "TLS").
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** Where the peer's copy lives when it was set up as bench/README.md says. */
export const PEER_TLS_DIR = '/etc/rabbitmq/bench-tls';

export interface BenchCert {
  dir: string;
  cert: string;
  key: string;
  /** Made by this run (the peer does not have it yet). */
  created: boolean;
}

/**
 * BENCH_TLS_DIR, else the peer's directory when it holds a certificate (so both brokers serve
 * the same one), else `fallback` (bench/.tls); the files are generated with openssl if missing.
 */
export function benchCert(fallback: string): BenchCert {
  const env = process.env.BENCH_TLS_DIR;
  const dir =
    env !== undefined && env !== ''
      ? env
      : existsSync(join(PEER_TLS_DIR, 'cert.pem'))
        ? PEER_TLS_DIR
        : fallback;
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  if (existsSync(cert) && existsSync(key)) return { dir, cert, key, created: false };
  mkdirSync(dir, { recursive: true });
  // P-256, as docs/security.md's example; ten years, so the peer's copy does not expire.
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '3650',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { dir, cert, key, created: true };
}
