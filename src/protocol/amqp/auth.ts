import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { AccessRefusedError } from '../../core/errors.js';
import type { AccessControl } from '../../core/access/access-control.js';
import type { LoginThrottle } from '../../core/access/login-throttle.js';
import { loginRefused } from '../../core/access/users.js';
import { decodeFieldTable } from './field-table.js';

/**
 * Who SASL EXTERNAL logs in as (rabbitmq_auth_mechanism_ssl): the subject CN of a client
 * certificate the TLS layer verified, or why there is none.
 */
export type PeerIdentity = { readonly user: string } | { readonly refused: string };

export function peerIdentity(socket: Socket): PeerIdentity {
  if (!(socket instanceof TLSSocket)) return { refused: 'not a TLS connection' };
  const cert = socket.getPeerCertificate();
  if (Object.keys(cert).length === 0) return { refused: 'no peer certificate' };
  if (!socket.authorized)
    return { refused: `peer certificate not verified (${String(socket.authorizationError)})` };
  const cn: unknown = cert.subject?.CN;
  if (typeof cn !== 'string' || cn === '')
    return { refused: 'peer certificate subject has no single CN' };
  return { user: cn };
}

/** The SASL mechanisms connection.start offers: EXTERNAL only with a verified certificate. */
export function mechanismsFor(peer: PeerIdentity): string {
  return 'user' in peer ? 'EXTERNAL PLAIN AMQPLAIN' : 'PLAIN AMQPLAIN';
}

/**
 * SASL PLAIN and AMQPLAIN: the user name and password in a start-ok response. Throws
 * ACCESS_REFUSED (a connection error) for a malformed response or another mechanism.
 */
export function credentials(mechanism: string, response: Buffer): { user: string; pass: string } {
  if (mechanism === 'PLAIN') {
    // authzid NUL authcid NUL password
    const parts = response.toString('utf8').split('\0');
    if (parts.length !== 3) throw refused('malformed PLAIN response');
    return { user: parts[1]!, pass: parts[2]! };
  }
  if (mechanism === 'AMQPLAIN') {
    let t;
    try {
      t = decodeFieldTable(response, 0, response.length);
    } catch {
      throw refused('malformed AMQPLAIN response');
    }
    return {
      user: typeof t.LOGIN === 'string' ? t.LOGIN : '',
      pass: typeof t.PASSWORD === 'string' ? t.PASSWORD : '',
    };
  }
  throw refused(
    `authentication mechanism '${mechanism}' is not supported; use PLAIN, AMQPLAIN or (TLS with a client certificate) EXTERNAL`,
  );
}

/**
 * Decodes the response (or, for EXTERNAL, takes the TLS peer's verified name) and asks the
 * broker's users, through the login throttle: the user name, at once or after the throttle's
 * wait (a promise), or ACCESS_REFUSED (thrown, or the promise rejects). `refusedFor` hears of a
 * refusal with the user name (never the password).
 */
export function authenticate(
  access: AccessControl,
  throttle: LoginThrottle,
  mechanism: string,
  response: Buffer,
  remoteAddress: string | undefined,
  refusedFor: (user: string, reason: string) => void = () => {},
  peer: PeerIdentity = { refused: 'not a TLS connection' },
): string | Promise<string> {
  let creds: { user: string; pass: string } | Error;
  if (mechanism === 'EXTERNAL') {
    // The response (an authzid, if any) is not read, as RabbitMQ: the certificate decides.
    creds = 'user' in peer ? { user: peer.user, pass: '' } : loginRefused('EXTERNAL');
  } else {
    try {
      creds = credentials(mechanism, response);
    } catch (err) {
      creds = err as Error;
    }
  }
  const user = creds instanceof Error ? '' : creds.user;
  const check = (): string => {
    if (creds instanceof Error) throw creds;
    if (mechanism === 'EXTERNAL')
      return access.authenticateExternal(creds.user, remoteAddress).name;
    return access.authenticate(creds.user, creds.pass, remoteAddress, mechanism).name;
  };
  const report = (err: unknown): never => {
    const why = mechanism === 'EXTERNAL' && !('user' in peer) ? peer.refused : undefined;
    refusedFor(user, why ?? (err as Error).message);
    throw err;
  };
  try {
    const r = throttle.attempt(remoteAddress, check, () => loginRefused(mechanism));
    return typeof r === 'string' ? r : r.catch(report);
  } catch (err) {
    return report(err);
  }
}

function refused(text: string): AccessRefusedError {
  return new AccessRefusedError(text, 'connection');
}
