import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultConfig, loadConfig } from '../../src/config.js';
import { DEFAULT_BODY_BUDGET } from '../../src/util/body-budget.js';
import { newBroker, tempDir } from '../helpers/core.js';

void test('config precedence: flags > environment > file > defaults', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'baton.json');
  writeFileSync(file, JSON.stringify({ dataDir: '/from-file', amqpPort: 1111, heartbeat: 5 }));
  const c = loadConfig(['--config', file, '--amqp-port=3333'], {
    BATON_AMQP_PORT: '2222',
    BATON_DATA_DIR: '/from-env',
  });
  assert.equal(c.amqpPort, 3333);
  assert.equal(c.dataDir, '/from-env');
  assert.equal(c.heartbeat, 5);
  assert.equal(c.frameMax, 131072);
  assert.equal(loadConfig([], {}).dataDir, './data');
});

void test('bad values are refused with a message naming their source', (t) => {
  assert.throws(
    () => loadConfig(['--amqp-port', '70000'], {}),
    /flag --amqp-port: 70000 is outside 0..65535/,
  );
  assert.throws(
    () => loadConfig([], { BATON_AMQP_PORT: 'abc' }),
    /environment variable BATON_AMQP_PORT/,
  );
  assert.throws(() => loadConfig(['--store', 'disk'], {}), /not one of journal, memory/);
  assert.throws(() => loadConfig(['--nope', '1'], {}), /unknown option '--nope'/);
  assert.throws(() => loadConfig(['--data-dir'], {}), /needs a value/);
  const dir = tempDir(t);
  const file = join(dir, 'bad.json');
  writeFileSync(file, '{"colour": 1}');
  assert.throws(() => loadConfig(['--config', file], {}), /unknown key 'colour'/);
});

void test('one body-budget default: the config, a broker opened without one, and a served broker agree', async (t) => {
  assert.equal(defaultConfig().bodyBudget, DEFAULT_BODY_BUDGET);
  assert.equal(loadConfig([], {}).bodyBudget, DEFAULT_BODY_BUDGET);
  const broker = await newBroker({ store: 'memory' });
  t.after(() => broker.close());
  assert.equal(broker.bodies.limit, DEFAULT_BODY_BUDGET);
});
