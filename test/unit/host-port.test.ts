import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostPort } from '../../src/util/host-port.js';

void test('peers as RabbitMQ writes them: IPv4-mapped as IPv4, IPv6 in brackets', () => {
  assert.equal(hostPort('::ffff:127.0.0.1', 5672), '127.0.0.1:5672');
  assert.equal(hostPort('10.0.0.2', 5672), '10.0.0.2:5672');
  assert.equal(hostPort('::1', 50312), '[::1]:50312');
  assert.equal(hostPort('::', 5672), '[::]:5672');
});
