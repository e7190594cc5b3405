import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type TlsOptions } from 'node:tls';
import type { Config } from './config.js';
import { ConfigError } from './core/errors.js';

/** The TLS listeners' settings, read and checked once at startup. */
export interface TlsSettings {
  /** For tls.createServer / https.createServer; Node's default versions and ciphers. */
  readonly options: TlsOptions;
  /** verify_peer without fail_if_no_peer_cert: a certificate is optional, a bad one is not. */
  readonly optionalPeerCert: boolean;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/**
 * Reads the configured PEM files, or undefined when TLS is not configured (no cert and key).
 * Throws ConfigError naming the file that cannot be read or does not hold what it should.
 */
export function tlsSettings(
  config: Pick<Config, 'tlsCert' | 'tlsKey' | 'tlsCa' | 'tlsVerify' | 'tlsFailIfNoPeerCert'>,
): TlsSettings | undefined {
  if (config.tlsCert === '' && config.tlsKey === '') return undefined;
  if (config.tlsCert === '' || config.tlsKey === '')
    throw new ConfigError('TLS needs both --tls-cert and --tls-key');
  const cert = certificates(config.tlsCert, '--tls-cert');
  const key = read(config.tlsKey, '--tls-key');
  try {
    createPrivateKey(key);
  } catch (err) {
    throw new ConfigError(
      `--tls-key ${config.tlsKey}: not a readable unencrypted PEM private key (${(err as Error).message})`,
    );
  }
  const peer = config.tlsVerify === 'peer';
  if (peer && config.tlsCa === '') throw new ConfigError('--tls-verify peer needs --tls-ca');
  const ca = config.tlsCa !== '' ? certificates(config.tlsCa, '--tls-ca') : undefined;
  const options: TlsOptions = {
    cert,
    key,
    ...(ca !== undefined ? { ca } : {}),
    requestCert: peer,
    // Node refuses a missing certificate only together with a bad one; see optionalPeerCert.
    rejectUnauthorized: peer && config.tlsFailIfNoPeerCert,
  };
  try {
    createSecureContext(options);
  } catch (err) {
    throw new ConfigError(
      `--tls-cert ${config.tlsCert} and --tls-key ${config.tlsKey} do not go together (${(err as Error).message})`,
    );
  }
  return { options, optionalPeerCert: peer && !config.tlsFailIfNoPeerCert };
}

function read(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${flag} ${file}: cannot read it (${(err as Error).message})`);
  }
}

/** A PEM file of one or more certificates, each parsed so a bad one is named at startup. */
function certificates(file: string, flag: string): string {
  const text = read(file, flag);
  const blocks = text.match(PEM_CERT) ?? [];
  if (blocks.length === 0)
    throw new ConfigError(
      `${flag} ${file}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it`,
    );
  for (const [i, b] of blocks.entries()) {
    try {
      new X509Certificate(b);
    } catch (err) {
      throw new ConfigError(
        `${flag} ${file}: certificate ${i + 1} is not valid PEM (${(err as Error).message})`,
      );
    }
  }
  return text;
}
