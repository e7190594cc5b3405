/**
 * The first admin from the environment (issue 13 item 1): BATON_DEFAULT_USER / BATON_DEFAULT_PASS
 * (--default-user / --default-pass) as RabbitMQ's RABBITMQ_DEFAULT_USER/PASS, applied on the
 * first boot only; one without the other is a config error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import amqp from 'amqplib';
import { pino } from 'pino';
import { defaultConfig, defaultUserOf, loadConfig } from '../../src/config.js';
import { Server } from '../../src/server.js';
import { ConfigError } from '../../src/core/errors.js';
import { startBroker } from '../helpers/server.js';

void test('BATON_DEFAULT_USER / BATON_DEFAULT_PASS and the flags set the default user; flags win', () => {
  const env = { BATON_DEFAULT_USER: 'admin', BATON_DEFAULT_PASS: 'from-env' };
  assert.deepEqual(defaultUserOf(loadConfig([], env)), { name: 'admin', password: 'from-env' });
  assert.deepEqual(defaultUserOf(loadConfig(['--default-pass', 'from-flag'], env)), {
    name: 'admin',
    password: 'from-flag',
  });
  assert.equal(defaultUserOf(loadConfig([], {})), undefined, 'neither: guest/guest');
});

void test('only one of the two is a config error that names both and quotes no value', () => {
  for (const env of [{ BATON_DEFAULT_USER: 'admin' }, { BATON_DEFAULT_PASS: 'hush-123' }])
    assert.throws(
      () => loadConfig([], env),
      (err: Error) =>
        err instanceof ConfigError &&
        /BATON_DEFAULT_USER .*BATON_DEFAULT_PASS .*go together/.test(err.message) &&
        !err.message.includes('hush-123'),
    );
  assert.throws(() => loadConfig(['--default-user', 'admin'], {}), ConfigError);
});

void test('the default user replaces guest on the first boot only; a later boot keeps the users it finds', async (t) => {
  const first = await startBroker(t, { defaultUser: 'admin', defaultPass: 'first-pass' });
  const url = (creds: string): string => `amqp://${creds}@127.0.0.1:${first.port}`;
  const c = await amqp.connect(url('admin:first-pass'));
  await c.close();
  await assert.rejects(amqp.connect(url('guest:guest')), /403/, 'no guest when a default is named');
  assert.deepEqual(first.server.broker.users.get('admin')!.tags, ['administrator']);
  await first.server.stop();
  // Started and stopped here, before the first one's teardown removes the data dir.
  const second = await Server.start(
    {
      ...defaultConfig(),
      host: '127.0.0.1',
      amqpPort: first.port,
      httpPort: 'off',
      prometheusPort: 'off',
      dataDir: first.dataDir,
      defaultUser: 'other',
      defaultPass: 'second-pass',
    },
    pino({ level: 'silent' }),
  );
  try {
    assert.equal(second.broker.firstBoot, false);
    assert.equal(second.broker.users.get('other'), undefined, 'not created on a later boot');
    const again = await amqp.connect(url('admin:first-pass'));
    await again.close();
  } finally {
    await second.stop();
  }
});
