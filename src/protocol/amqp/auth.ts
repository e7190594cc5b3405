import { AccessRefusedError } from '../../core/errors.js';
import type { Users } from '../../core/users.js';
import { decodeFieldTable } from './field-table.js';

/**
 * SASL PLAIN and AMQPLAIN: decodes the response and asks the broker's users (core/users.ts).
 * Returns the user name or throws ACCESS_REFUSED (a connection error).
 */
export function authenticate(
  users: Users,
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
  return users.authenticate(user, pass, remoteAddress, mechanism).name;
}

function refused(text: string): AccessRefusedError {
  return new AccessRefusedError(text, 'connection');
}
