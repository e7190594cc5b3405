import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPassword } from '../../src/core/access/password.js';
import { FULL } from './matrix.js';
import { startBroker } from '../helpers/server.js';

void test('permissions on a vhost that does not exist are refused 404, so none wait for a vhost created later', async (t) => {
  const { server } = await startBroker(t);
  const access = server.broker.access;
  access.putUser('u', { password: 'pw', tags: [] });
  assert.throws(() => access.setPermissions('u', 'later', FULL), {
    replyCode: 404,
    message: "no vhost 'later'",
  });
  server.broker.putVhost('later');
  assert.equal(access.permissions.get('u', 'later'), undefined);
  access.setPermissions('u', 'later', FULL);
  assert.equal(access.permissions.get('u', 'later')?.read, '.*');
});

void test('changing only the tags of a user keeps its password working, whatever algorithm hashed it', async (t) => {
  const b = await startBroker(t);
  const access = b.server.broker.access;
  access.putUser('md5', {
    passwordHash: hashPassword('secret', 'rabbit_password_hashing_md5'),
    hashingAlgorithm: 'rabbit_password_hashing_md5',
    tags: [],
  });
  access.putUser('md5', { tags: ['monitoring'] });
  assert.deepEqual(access.authenticate('md5', 'secret', '127.0.0.1').tags, ['monitoring']);
  // An algorithm without a hash (as a hashless export names it) describes no hash: the kept
  // hash keeps its own.
  access.putUser('md5', {
    tags: ['monitoring'],
    hashingAlgorithm: 'rabbit_password_hashing_sha512',
  });
  assert.equal(access.users.get('md5')?.hashingAlgorithm, 'rabbit_password_hashing_md5');
  await b.restart();
  assert.deepEqual(b.server.broker.access.authenticate('md5', 'secret', '127.0.0.1').tags, [
    'monitoring',
  ]);
});
