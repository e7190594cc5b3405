import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Access, Permissions } from '../../src/core/access/permissions.js';

const rules = {
  configure: '^bench\\..*',
  write: '^(amq\\.default|bench\\..*)$',
  read: '^bench\\..*',
};

void test('access: the remembered last answer follows permission changes', () => {
  const p = new Permissions();
  p.set('u', 'v', rules);
  const a = new Access('u', 'v', p);
  assert.equal(a.permits('write', 'exchange', 'bench.x'), true);
  assert.equal(a.permits('write', 'exchange', 'bench.x'), true);
  // Same name, other permission or kind: its own answer.
  assert.equal(a.permits('read', 'exchange', 'amq.default'), false);
  assert.equal(a.permits('write', 'exchange', 'amq.default'), true);
  p.set('u', 'v', { ...rules, write: '^other$' });
  assert.equal(a.permits('write', 'exchange', 'bench.x'), false);
  assert.throws(() => a.check('write', 'exchange', ''), {
    replyCode: 403,
    message: "write access to exchange 'amq.default' in vhost 'v' refused for user 'u'",
  });
  p.clear('u', 'v');
  assert.equal(a.permits('read', 'queue', 'bench.q'), false);
  assert.equal(a.allowed, false);
});

void test('access: names alternating on one permission keep their own answers', () => {
  const p = new Permissions();
  p.set('u', 'v', rules);
  const a = new Access('u', 'v', p);
  for (let i = 0; i < 3; i++) {
    assert.equal(a.permits('read', 'queue', 'bench.q'), true);
    assert.equal(a.permits('read', 'queue', 'q'), false);
    // A fresh string equal to the last name asks nothing new.
    assert.equal(a.permits('read', 'queue', ['bench', 'q'].join('.')), true);
  }
});
