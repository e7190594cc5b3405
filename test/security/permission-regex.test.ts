import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compilePermission } from '../../src/core/access/permissions.js';

const matches = (expression: string, name: string): boolean =>
  compilePermission(expression, 'configure').test(name);

void test('permission expressions are searched for in the name, as RabbitMQ’s; empty matches nothing', () => {
  assert.equal(matches('.*', 'anything'), true);
  assert.equal(matches('orders', 'my-orders-q'), true);
  assert.equal(matches('^orders$', 'my-orders-q'), false);
  assert.equal(matches('^amq\\.gen.*', 'amq.gen-abc'), true);
  assert.equal(matches('^amq\\.gen.*', 'amqxgen'), false);
  assert.equal(matches('^(a|b)$', 'b'), true);
  assert.equal(matches('^(?!secret$).*', 'secret'), false);
  assert.equal(matches('^(?!secret$).*', 'secrets'), true);
  assert.equal(matches('', 'x'), false);
});

void test('PCRE’s escaped punctuation is literal, as in PCRE', () => {
  assert.equal(matches('^a\\-b$', 'a-b'), true);
  assert.equal(matches('^a\\_b$', 'a_b'), true);
  assert.equal(matches('^[a\\-c]$', '-'), true);
  assert.equal(matches('^[a\\-c]$', 'b'), false);
  assert.equal(matches('^a\\\\-$', 'a\\-'), true);
});

void test('PCRE-only syntax is refused (406), never read as something else', () => {
  for (const expression of [
    '\\Aorders\\Z',
    '^\\Qa.b\\E$',
    '(?i)orders',
    'a*+',
    '\\h',
    '[',
    '\\x{41}',
  ])
    assert.throws(
      () => compilePermission(expression, 'read'),
      {
        replyCode: 406,
        message: new RegExp(
          `^invalid read regular expression '${expression.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}'`,
        ),
      },
      expression,
    );
});
