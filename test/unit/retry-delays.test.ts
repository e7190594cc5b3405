import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryDelay } from '../../src/core/retry-delays.js';

void test('retryDelay: linear without a multiplier, constant with 1, exponential with ≥ 2, capped by max', () => {
  const linear = { minMs: 100, maxMs: undefined, multiplier: undefined };
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => retryDelay(linear, n)),
    [100, 200, 300, 400],
  );
  const constant = { minMs: 100, maxMs: undefined, multiplier: 1 };
  assert.deepEqual(
    [1, 2, 5].map((n) => retryDelay(constant, n)),
    [100, 100, 100],
  );
  const exp = { minMs: 100, maxMs: 1000, multiplier: 2 };
  assert.deepEqual(
    [1, 2, 3, 4, 5, 50].map((n) => retryDelay(exp, n)),
    [100, 200, 400, 800, 1000, 1000],
  );
  const huge = { minMs: 100, maxMs: undefined, multiplier: 10 };
  assert.ok(Number.isFinite(retryDelay(huge, 5000)), 'never Infinity or NaN');
});
