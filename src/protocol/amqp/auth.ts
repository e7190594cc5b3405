import { AccessRefusedError } from '../../core/errors.js';
import type { AccessControl } from '../../core/access/access-control.js';
import { decodeFieldTable } from './field-table.js';

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
  throw refused(`authentication mechanism '${mechanism}' is not supported; use PLAIN or AMQPLAIN`);
}

/**
 * Decodes the response and asks the broker's users (core/users.ts). Returns the user name or
 * throws ACCESS_REFUSED; `refused` hears of a refusal with the user name (never the password).
 */
export function authenticate(
  users: AccessControl,
  mechanism: string,
  response: Buffer,
  remoteAddress: string | undefined,
  refusedFor: (user: string, reason: string) => void = () => {},
): string {
  let user = '';
  try {
    const c = credentials(mechanism, response);
    user = c.user;
    return users.authenticate(c.user, c.pass, remoteAddress, mechanism).name;
  } catch (err) {
    refusedFor(user, (err as Error).message);
    throw err;
  }
}

function refused(text: string): AccessRefusedError {
  return new AccessRefusedError(text, 'connection');
}
