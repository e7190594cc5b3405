import { isIP } from 'node:net';
import { AccessRefusedError } from '../../core/errors.js';
import { decodeFieldTable } from './field-table.js';

/**
 * SASL PLAIN and AMQPLAIN. Until real users exist, the only account is guest/guest and, as
 * in RabbitMQ, it may log in only from a loopback address (judged by the peer address).
 * Returns the user name or throws ACCESS_REFUSED (a connection error).
 */
export function authenticate(
  mechanism: string,
  response: Buffer,
  remoteAddress: string | undefined,
): string {
  let user: string;
  let pass: string;
  if (mechanism === 'PLAIN') {
    // authzid NUL authcid NUL password
    const parts = response.toString('utf8').split('\0');
    if (parts.length !== 3) throw refused('malformed PLAIN response');
    user = parts[1]!;
    pass = parts[2]!;
  } else if (mechanism === 'AMQPLAIN') {
    let t;
    try {
      t = decodeFieldTable(response, 0, response.length);
    } catch {
      throw refused('malformed AMQPLAIN response');
    }
    user = typeof t.LOGIN === 'string' ? t.LOGIN : '';
    pass = typeof t.PASSWORD === 'string' ? t.PASSWORD : '';
  } else {
    throw refused(
      `authentication mechanism '${mechanism}' is not supported; use PLAIN or AMQPLAIN`,
    );
  }
  if (user !== 'guest' || pass !== 'guest')
    throw refused(`login was refused using authentication mechanism ${mechanism}`);
  if (!isLoopback(remoteAddress)) throw refused(`user 'guest' can only connect via localhost`);
  return user;
}

function refused(text: string): AccessRefusedError {
  return new AccessRefusedError(text, 'connection');
}

export function isLoopback(addr: string | undefined): boolean {
  if (addr === undefined) return false;
  if (addr === '::1') return true;
  const v4 = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  return isIP(v4) === 4 && v4.startsWith('127.');
}
