// Interop with Python pika (Debian python3-pika 1.2, run by /usr/bin/python3): pika and amqplib
// publish and consume each other's messages through Baton. The .py scripts live next to this
// file in the source tree and take the broker's port as their first argument.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { connect, startBroker } from '../helpers/server.js';

const PYTHON = '/usr/bin/python3';
const scriptDir = fileURLToPath(new URL('../../../test/interop/', import.meta.url));

/** Why pika cannot be used here, or undefined when `import pika` works. */
const pikaMissing: string | undefined = (() => {
  const r = spawnSync(PYTHON, ['-c', 'import pika; print(pika.__version__)'], {
    encoding: 'utf8',
  });
  if (r.error) return `${PYTHON}: ${r.error.message}`;
  if (r.status !== 0) return r.stderr.trim().split('\n').at(-1) ?? `exit ${r.status}`;
  return undefined;
})();

function needPika(t: TestContext): boolean {
  if (pikaMissing === undefined) return true;
  const why = `python3-pika not installed: ${pikaMissing} (apt-get install python3-pika)`;
  process.stderr.write(`\n*** SKIPPED pika interop: ${why} ***\n`);
  t.diagnostic(why);
  t.skip(why);
  return false;
}

/** Run one interop script; resolves with its stdout split into parsed JSON lines. */
function runPy(t: TestContext, script: string, args: Array<string | number>): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      PYTHON,
      [`${scriptDir}${script}`, ...args.map(String)],
      { cwd: scriptDir, timeout: 20000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          reject(
            new Error(`${script} failed: ${err.message}\nstdout:\n${stdout}\nstderr:\n${stderr}`),
          );
          return;
        }
        resolve(
          stdout
            .split('\n')
            .filter((l) => l.trim() !== '')
            .map((l) => JSON.parse(l) as unknown),
        );
      },
    );
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
  });
}

void test('pika publishes 500 persistent messages with confirms; amqplib consumes them all', async (t) => {
  if (!needPika(t)) return;
  const { url, port } = await startBroker(t);
  const [summary] = await runPy(t, 'pika_publish_confirms.py', [port, 'from_pika', 500]);
  assert.deepEqual(summary, { published: 500, confirmed: 500 });

  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  const q = await ch.checkQueue('from_pika');
  assert.equal(q.messageCount, 500);
  await ch.prefetch(50);
  const ids: string[] = [];
  await new Promise<void>((resolve) => {
    void ch.consume('from_pika', (m) => {
      if (!m) return;
      assert.equal(m.properties.deliveryMode, 2);
      assert.equal(m.properties.contentType, 'text/plain');
      assert.equal(m.properties.messageId, m.content.toString());
      assert.equal(m.fields.redelivered, false);
      ids.push(m.properties.messageId);
      ch.ack(m);
      if (ids.length === 500) resolve();
    });
  });
  assert.deepEqual(
    ids,
    Array.from({ length: 500 }, (_, i) => `pika-${i}`),
    'every message exactly once, in publish order',
  );
});

void test('amqplib publishes with headers and properties; pika basic_consume with manual ack sees them', async (t) => {
  if (!needPika(t)) return;
  const { url, port } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('to_pika', { durable: true });
  const N = 20;
  for (let i = 0; i < N; i++) {
    ch.sendToQueue('to_pika', Buffer.from(`héllo ${i}`), {
      persistent: i % 2 === 0,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      correlationId: `corr-${i}`,
      replyTo: 'replies-for-interop',
      messageId: `m-${i}`,
      timestamp: 1700000000 + i,
      type: 'greeting',
      appId: 'baton-interop',
      userId: 'guest',
      priority: 3,
      expiration: '600000',
      // pika 1.2.0 itself misreads two field-table types, so they are left out here: 'b'
      // (signed byte, what amqplib uses for -128..127) is read unsigned, and 'd'/'f' (double,
      // float) are truncated to int. Negative numbers below use 's' (short) instead.
      headers: {
        i,
        big: 2 ** 40,
        neg: -700,
        s: 'text ✓',
        yes: true,
        no: false,
        nested: { a: 1, b: 'two' },
        list: [1, 'x', false],
        nil: null,
        raw: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
      },
    });
  }
  await ch.waitForConfirms();

  const lines = (await runPy(t, 'pika_consume.py', [port, 'to_pika', N])) as Array<{
    body: string;
    delivery_tag: number;
    redelivered: boolean;
    exchange: string;
    routing_key: string;
    properties: Record<string, unknown>;
  }>;
  assert.equal(lines.length, N);
  lines.forEach((l, i) => {
    assert.equal(l.body, `héllo ${i}`);
    assert.equal(l.delivery_tag, i + 1);
    assert.equal(l.redelivered, false);
    assert.equal(l.exchange, '');
    assert.equal(l.routing_key, 'to_pika');
    assert.deepEqual(l.properties, {
      content_type: 'application/json',
      content_encoding: 'utf-8',
      // pika 1.2.0 itself misreads two field-table types, so they are left out here: 'b'
      // (signed byte, what amqplib uses for -128..127) is read unsigned, and 'd'/'f' (double,
      // float) are truncated to int. Negative numbers below use 's' (short) instead.
      headers: {
        i,
        big: 2 ** 40,
        neg: -700,
        s: 'text ✓',
        yes: true,
        no: false,
        nested: { a: 1, b: 'two' },
        list: [1, 'x', false],
        nil: null,
        raw: { bytes: 'deadbeef' },
      },
      delivery_mode: i % 2 === 0 ? 2 : 1,
      priority: 3,
      correlation_id: `corr-${i}`,
      reply_to: 'replies-for-interop',
      expiration: '600000',
      message_id: `m-${i}`,
      timestamp: 1700000000 + i,
      type: 'greeting',
      user_id: 'guest',
      app_id: 'baton-interop',
    });
  });
  // pika acked everything before it disconnected: nothing comes back.
  const q = await ch.checkQueue('to_pika');
  assert.equal(q.messageCount, 0);
  assert.equal(q.consumerCount, 0);
});

void test('pika basic_get: message_count counts down, a rejected message returns redelivered, then get-empty', async (t) => {
  if (!needPika(t)) return;
  const { url, port } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('get_me', { durable: false });
  for (const id of ['a', 'b', 'c'])
    ch.sendToQueue('get_me', Buffer.from(`body-${id}`), { messageId: id });
  await ch.waitForConfirms();

  const lines = await runPy(t, 'pika_basic_get.py', [port, 'get_me']);
  assert.deepEqual(lines, [
    // RabbitMQ's get-ok message-count is the number left in the queue after this one.
    {
      body: 'body-a',
      redelivered: false,
      message_count: 2,
      delivery_tag: 1,
      routing_key: 'get_me',
      message_id: 'a',
    },
    // basic.reject requeue=true puts 'a' back at the head of the queue.
    {
      body: 'body-a',
      redelivered: true,
      message_count: 2,
      delivery_tag: 2,
      routing_key: 'get_me',
      message_id: 'a',
    },
    {
      body: 'body-b',
      redelivered: false,
      message_count: 1,
      delivery_tag: 3,
      routing_key: 'get_me',
      message_id: 'b',
    },
    {
      body: 'body-c',
      redelivered: false,
      message_count: 0,
      delivery_tag: 4,
      routing_key: 'get_me',
      message_id: 'c',
    },
    { empty: true },
  ]);
  assert.equal((await ch.checkQueue('get_me')).messageCount, 0);
});

void test('pika exchange_declare + queue_bind topic routing; amqplib publishes through the same bindings', async (t) => {
  if (!needPika(t)) return;
  const { url, port } = await startBroker(t);
  const [out] = (await runPy(t, 'pika_topic.py', [port, 'pika_topic'])) as Array<{
    routes: Record<string, string[]>;
  }>;
  const keys = [
    'kern.critical',
    'kern.info',
    'auth.critical',
    'cron.warning',
    'kern.disk.full',
    'kern',
  ];
  assert.deepEqual(out!.routes, {
    'pika.critical': ['kern.critical', 'auth.critical'],
    'pika.kern': ['kern.critical', 'kern.info'],
    'pika.all': keys,
  });

  // The exchange and bindings pika made are visible to amqplib clients.
  const conn = await connect(t, url);
  const ch = await conn.createConfirmChannel();
  await ch.checkExchange('pika_topic');
  for (const key of ['x.critical', 'kern.panic', 'user.login'])
    ch.publish('pika_topic', key, Buffer.from(key));
  await ch.waitForConfirms();
  const drain = async (queue: string): Promise<string[]> => {
    const got: string[] = [];
    for (;;) {
      const m = await ch.get(queue, { noAck: true });
      if (m === false) return got;
      got.push(m.fields.routingKey);
    }
  };
  assert.deepEqual(await drain('pika.critical'), ['x.critical']);
  assert.deepEqual(await drain('pika.kern'), ['kern.panic']);
  assert.deepEqual(await drain('pika.all'), ['x.critical', 'kern.panic', 'user.login']);
});
