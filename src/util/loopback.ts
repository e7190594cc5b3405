import { isIP } from 'node:net';

/** True for 127.0.0.0/8 (also as an IPv4-mapped IPv6 address) and ::1. */
export function isLoopback(addr: string | undefined): boolean {
  if (addr === undefined) return false;
  if (addr === '::1') return true;
  const v4 = addr.startsWith('::ffff:') ? addr.slice(7) : addr;
  return isIP(v4) === 4 && v4.startsWith('127.');
}
