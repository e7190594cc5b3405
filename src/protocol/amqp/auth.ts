import { AccessRefusedError } from '../../core/errors.js';
import type { AccessControl } from '../../core/access/access-control.js';
import type { LoginThrottle } from '../../core/access/login-throttle.js';
import { loginRefused } from '../../core/access/users.js';
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
 * Decodes the response and asks the broker's users (core/users.ts), through the login
 * throttle: the user name, at once or after the throttle's wait (a promise), or ACCESS_REFUSED
 * (thrown, or the promise rejects). `refusedFor` hears of a refusal with the user name (never
 * the password).
 */
export function authenticate(
  access: AccessControl,
  throttle: LoginThrottle,
  mechanism: string,
  response: Buffer,
  remoteAddress: string | undefined,
  refusedFor: (user: string, reason: string) => void = () => {},
): string | Promise<string> {
  let creds: { user: string; pass: string } | Error;
  try {
    creds = credentials(mechanism, response);
  } catch (err) {
    creds = err as Error;
  }
  const user = creds instanceof Error ? '' : creds.user;
  const check = (): string => {
    if (creds instanceof Error) throw creds;
    return access.authenticate(creds.user, creds.pass, remoteAddress, mechanism).name;
  };
  const report = (err: unknown): never => {
    refusedFor(user, (err as Error).message);
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
