import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** RabbitMQ's hashing module names, as definitions exports carry them. */
export const HASHING_ALGORITHMS = {
  rabbit_password_hashing_sha256: 'sha256',
  rabbit_password_hashing_sha512: 'sha512',
  rabbit_password_hashing_md5: 'md5',
} as const;

export type HashingAlgorithm = keyof typeof HASHING_ALGORITHMS;

export const DEFAULT_HASHING: HashingAlgorithm = 'rabbit_password_hashing_sha256';

export function isHashingAlgorithm(name: unknown): name is HashingAlgorithm {
  return typeof name === 'string' && Object.hasOwn(HASHING_ALGORITHMS, name);
}

/**
 * RabbitMQ's salted hash: base64(salt ++ H(salt ++ utf8(password))) with a 4-byte salt, so a
 * RabbitMQ export's `password_hash` checks here unchanged and Baton's imports there.
 */
export function hashPassword(
  password: string,
  algorithm: HashingAlgorithm = DEFAULT_HASHING,
  salt: Buffer = randomBytes(4),
): string {
  const digest = createHash(HASHING_ALGORITHMS[algorithm])
    .update(salt)
    .update(password, 'utf8')
    .digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

/** Constant-time check of `password` against a stored hash; '' (no password) never matches. */
export function checkPassword(
  password: string,
  hash: string,
  algorithm: HashingAlgorithm,
): boolean {
  if (hash === '') return false;
  const stored = Buffer.from(hash, 'base64');
  if (stored.length <= 4) return false;
  const computed = Buffer.from(hashPassword(password, algorithm, stored.subarray(0, 4)), 'base64');
  return computed.length === stored.length && timingSafeEqual(computed, stored);
}

/** A hash as stored must be base64 of a 4-byte salt plus one digest of its algorithm. */
export function validHash(hash: string, algorithm: HashingAlgorithm): boolean {
  if (hash === '') return true;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(hash)) return false;
  const size = createHash(HASHING_ALGORITHMS[algorithm]).digest().length;
  return Buffer.from(hash, 'base64').length === 4 + size;
}
