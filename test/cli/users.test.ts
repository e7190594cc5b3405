// baton users|vhosts|permissions|limits: managing access through the management API, checked
// with amqplib logins.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import amqp from 'amqplib';
import { baton, batonOk, brokerWithHttp } from '../helpers/baton-cli.js';
import { connect } from '../helpers/server.js';

const amqpUrl = (base: string, user: string, pass: string, vhost: string): string =>
  base.replace('guest:guest', `${user}:${pass}`) + `/${encodeURIComponent(vhost)}`;

void test('baton users/vhosts/permissions: add, list, passwd, tags, delete; never prints passwords', async (t) => {
  const b = await brokerWithHttp(t);
  assert.equal(
    await batonOk(b.env, ['vhosts', 'add', 'shop', '--description', 'web shop']),
    "added vhost 'shop'\n",
  );
  assert.equal(
    await batonOk(b.env, ['users', 'add', 'alice', 'TopSecret1', '--tags', 'management']),
    "added user 'alice'\n",
  );
  const dup = await baton(['users', 'add', 'alice', 'x'], { env: b.env });
  assert.equal(dup.code, 1);
  assert.match(dup.stderr, /user 'alice' already exists/);
  await batonOk(b.env, ['permissions', 'set', 'alice', '^alice\\.', '.*', '.*', '--vhost', 'shop']);

  const users = await batonOk(b.env, ['users', 'list']);
  assert.match(users, /^name +tags +limits/);
  assert.match(users, /\nalice +management/);
  assert.doesNotMatch(users, /TopSecret1/);
  const perms = await batonOk(b.env, ['permissions', 'list', '--vhost', 'shop']);
  assert.match(perms, /alice +shop +\^alice\\\. +\.\* +\.\*/);
  const json = JSON.parse(await batonOk(b.env, ['permissions', 'list', '--json'])) as unknown[];
  assert.equal(json.length, 2);
  assert.match(await batonOk(b.env, ['vhosts', 'list']), /\nshop /);

  // alice logs in to shop; a new password (read from stdin) replaces the old one, tags stay.
  await (await connect(t, amqpUrl(b.amqpUrl, 'alice', 'TopSecret1', 'shop'))).close();
  const passwd = await batonOk(b.env, ['users', 'passwd', 'alice', '-'], 'Other2\n');
  assert.doesNotMatch(passwd, /Other2/);
  await assert.rejects(
    amqp.connect(amqpUrl(b.amqpUrl, 'alice', 'TopSecret1', 'shop')),
    /ACCESS_REFUSED/,
  );
  await (await connect(t, amqpUrl(b.amqpUrl, 'alice', 'Other2', 'shop'))).close();
  assert.match(await batonOk(b.env, ['users', 'list']), /\nalice +management/);
  assert.equal(
    await batonOk(b.env, ['users', 'tags', 'alice', 'monitoring', 'policymaker']),
    "user 'alice' has tags: monitoring, policymaker\n",
  );
  await (await connect(t, amqpUrl(b.amqpUrl, 'alice', 'Other2', 'shop'))).close();

  // Limits.
  await batonOk(b.env, ['limits', 'set', 'max-queues', '3', '--vhost', 'shop']);
  assert.match(await batonOk(b.env, ['limits', 'list']), /vhost +shop +max-queues=3/);
  await batonOk(b.env, ['limits', 'clear', 'max-queues', '--vhost', 'shop']);
  const which = await baton(['limits', 'set', 'max-queues', '3'], { env: b.env });
  assert.equal(which.code, 2);

  // The API's reasons, exit 1; usage errors exit 2.
  const bad = await baton(['permissions', 'set', 'nobody', '.*', '.*', '.*'], { env: b.env });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /no user 'nobody'/);
  const regex = await baton(['permissions', 'set', 'alice', '(', '.*', '.*'], { env: b.env });
  assert.equal(regex.code, 1);
  assert.match(regex.stderr, /invalid configure regular expression/);
  assert.equal((await baton(['users', 'add', 'bob'], { env: b.env })).code, 2);
  const noone = await baton(['users', 'passwd', 'nobody', 'x'], { env: b.env });
  assert.equal(noone.code, 1);
  assert.match(noone.stderr, /no user 'nobody'/);

  // A non-administrator is refused with the API's reason.
  await batonOk(b.env, ['users', 'add', 'mo', 'pw', '--tags', 'monitoring']);
  const weak = await baton(['users', 'list', '--user', 'mo', '--password', 'pw'], { env: b.env });
  assert.equal(weak.code, 1);
  assert.match(weak.stderr, /Not administrator user/);

  await batonOk(b.env, ['permissions', 'clear', 'alice', '--vhost', 'shop']);
  assert.equal(await batonOk(b.env, ['users', 'delete', 'alice']), "deleted user 'alice'\n");
  assert.equal(await batonOk(b.env, ['vhosts', 'delete', 'shop']), "deleted vhost 'shop'\n");
  const gone = await baton(['vhosts', 'delete', 'shop'], { env: b.env });
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /no vhost 'shop'/);
  assert.doesNotMatch(await batonOk(b.env, ['users', 'list']), /alice/);
});
