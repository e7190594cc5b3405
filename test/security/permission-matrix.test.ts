import assert from 'node:assert/strict';
import { test } from 'node:test';
import amqp from 'amqplib';
import type { Server } from '../../src/server.js';
import { connect, startBroker } from '../helpers/server.js';
import {
  FIXTURE,
  matrixCases,
  OPERATIONS,
  refusal,
  seedFixture,
  type MatrixCase,
} from './matrix.js';

// The permission matrix (test/security/matrix.ts) over AMQP 0-9-1 with amqplib and over the
// management API with fetch: each case in a vhost of its own, seeded with the fixture.

const USER = 'u';
const PASSWORD = 'matrix-pw';

type AmqpRunner = (ch: amqp.ConfirmChannel) => Promise<unknown>;

const AMQP: Record<string, AmqpRunner> = {
  'queue.declare': (ch) => ch.assertQueue('newq', { durable: false }),
  'queue.declare passive': (ch) => ch.checkQueue(FIXTURE.queue),
  'queue.declare server-named': async (ch) => {
    const ok = await ch.assertQueue('', { exclusive: true });
    assert.match(ok.queue, /^amq\.gen-/);
  },
  'queue.declare x-dead-letter-exchange': (ch) =>
    ch.assertQueue('dlq', { durable: false, deadLetterExchange: FIXTURE.dlx }),
  'queue.delete': (ch) => ch.deleteQueue(FIXTURE.queue),
  'queue.purge': (ch) => ch.purgeQueue(FIXTURE.queue),
  'queue.bind': (ch) => ch.bindQueue(FIXTURE.queue, FIXTURE.exchange, 'k2'),
  'queue.unbind': (ch) => ch.unbindQueue(FIXTURE.queue, FIXTURE.exchange, FIXTURE.key),
  'exchange.declare': (ch) => ch.assertExchange('newx', 'fanout', { durable: false }),
  'exchange.declare passive': (ch) => ch.checkExchange(FIXTURE.exchange),
  'exchange.declare alternate-exchange': (ch) =>
    ch.assertExchange('aex', 'direct', { durable: false, alternateExchange: FIXTURE.ae }),
  'exchange.delete': (ch) => ch.deleteExchange(FIXTURE.exchange),
  'exchange.bind': (ch) => ch.bindExchange(FIXTURE.exchange2, FIXTURE.exchange, 'k2'),
  'exchange.unbind': (ch) => ch.unbindExchange(FIXTURE.exchange2, FIXTURE.exchange, FIXTURE.key),
  'basic.publish': async (ch) => {
    ch.publish(FIXTURE.exchange, FIXTURE.key, Buffer.from('m'));
    await ch.waitForConfirms();
  },
  'basic.publish default exchange': async (ch) => {
    ch.publish('', FIXTURE.queue, Buffer.from('m'));
    await ch.waitForConfirms();
  },
  'basic.get': async (ch) => {
    const m = await ch.get(FIXTURE.queue, { noAck: true });
    assert.ok(m !== false, 'the fixture message');
  },
  'basic.consume': (ch) => ch.consume(FIXTURE.queue, () => {}),
};

/**
 * Runs `run` on a fresh confirm channel: undefined when it succeeded, else the error the
 * channel was closed with (amqplib rejects the pending call and emits the close's error).
 */
async function onChannel(
  conn: amqp.ChannelModel,
  run: AmqpRunner,
): Promise<(Error & { code?: number }) | undefined> {
  const ch = await conn.createConfirmChannel();
  let closeError: Error | undefined;
  ch.on('error', (e: Error) => (closeError = e));
  const closed = new Promise<void>((resolve) => ch.once('close', () => resolve()));
  try {
    await Promise.race([
      run(ch),
      closed.then(() => {
        throw closeError ?? new Error('channel closed');
      }),
    ]);
  } catch (err) {
    await closed;
    return closeError ?? (err as Error);
  }
  await ch.close();
  return undefined;
}

let vhostCounter = 0;

/** A vhost of its own with the fixture, and the case's permissions for USER there. */
function prepare(server: Server, c: MatrixCase): string {
  const vhost = `matrix-${++vhostCounter}`;
  seedFixture(server.broker, vhost);
  server.broker.access.setPermissions(USER, vhost, c.permissions);
  return vhost;
}

void test('permission matrix over AMQP: every operation allowed, and denied 403 with RabbitMQ’s text, the connection surviving', async (t) => {
  const { server, port } = await startBroker(t);
  server.broker.access.putUser(USER, { password: PASSWORD, tags: ['management'] });
  for (const name of OPERATIONS.map((o) => o.name))
    assert.ok(AMQP[name] !== undefined, `an AMQP runner for ${name}`);
  for (const c of matrixCases()) {
    await t.test(c.title, async (t) => {
      const vhost = prepare(server, c);
      const conn = await connect(
        t,
        `amqp://${USER}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(vhost)}`,
      );
      const err = await onChannel(conn, AMQP[c.operation.name]!);
      if (c.denied === undefined) {
        assert.equal(err, undefined, `allowed: ${err?.message}`);
        return;
      }
      assert.ok(err !== undefined, 'refused');
      assert.equal(err.code, 403, err.message);
      const text = /with message "ACCESS_REFUSED - (.*)"$/.exec(err.message)?.[1];
      assert.match(text ?? err.message, refusal(c.denied, vhost, USER));
      // Only the channel was closed: the connection takes a new one.
      const ch = await conn.createChannel();
      await ch.checkExchange('amq.direct');
      await ch.close();
    });
  }
});

type HttpRunner = (api: Api, vhost: string) => Promise<Response>;

interface Api {
  request(method: string, path: string, body?: unknown): Promise<Response>;
}

const enc = encodeURIComponent;

const HTTP: Record<string, HttpRunner> = {
  'queue.declare': (api, v) => api.request('PUT', `/api/queues/${enc(v)}/newq`, {}),
  'queue.declare x-dead-letter-exchange': (api, v) =>
    api.request('PUT', `/api/queues/${enc(v)}/dlq`, {
      arguments: { 'x-dead-letter-exchange': FIXTURE.dlx },
    }),
  'queue.delete': (api, v) => api.request('DELETE', `/api/queues/${enc(v)}/${FIXTURE.queue}`),
  'queue.purge': (api, v) =>
    api.request('DELETE', `/api/queues/${enc(v)}/${FIXTURE.queue}/contents`),
  'queue.bind': (api, v) =>
    api.request('POST', `/api/bindings/${enc(v)}/e/${FIXTURE.exchange}/q/${FIXTURE.queue}`, {
      routing_key: 'k2',
    }),
  'queue.unbind': (api, v) =>
    api.request(
      'DELETE',
      `/api/bindings/${enc(v)}/e/${FIXTURE.exchange}/q/${FIXTURE.queue}/${FIXTURE.key}`,
    ),
  'exchange.declare': (api, v) =>
    api.request('PUT', `/api/exchanges/${enc(v)}/newx`, { type: 'fanout' }),
  'exchange.declare alternate-exchange': (api, v) =>
    api.request('PUT', `/api/exchanges/${enc(v)}/aex`, {
      type: 'direct',
      arguments: { 'alternate-exchange': FIXTURE.ae },
    }),
  'exchange.delete': (api, v) =>
    api.request('DELETE', `/api/exchanges/${enc(v)}/${FIXTURE.exchange}`),
  'exchange.bind': (api, v) =>
    api.request('POST', `/api/bindings/${enc(v)}/e/${FIXTURE.exchange}/e/${FIXTURE.exchange2}`, {
      routing_key: 'k2',
    }),
  'exchange.unbind': (api, v) =>
    api.request(
      'DELETE',
      `/api/bindings/${enc(v)}/e/${FIXTURE.exchange}/e/${FIXTURE.exchange2}/${FIXTURE.key}`,
    ),
  'basic.publish': (api, v) =>
    api.request('POST', `/api/exchanges/${enc(v)}/${FIXTURE.exchange}/publish`, {
      routing_key: FIXTURE.key,
      payload: 'm',
      payload_encoding: 'string',
      properties: {},
    }),
  'basic.publish default exchange': (api, v) =>
    api.request('POST', `/api/exchanges/${enc(v)}/amq.default/publish`, {
      routing_key: FIXTURE.queue,
      payload: 'm',
      payload_encoding: 'string',
      properties: {},
    }),
  'basic.get': (api, v) =>
    api.request('POST', `/api/queues/${enc(v)}/${FIXTURE.queue}/get`, {
      count: 1,
      ackmode: 'ack_requeue_true',
      encoding: 'auto',
    }),
};

void test('permission matrix over the HTTP API: the operations it has, allowed, and denied 403 with RabbitMQ’s text in reason', async (t) => {
  const { server } = await startBroker(t, { httpPort: 0 });
  server.broker.access.putUser(USER, { password: PASSWORD, tags: ['management'] });
  const base = `http://127.0.0.1:${server.ports.get('http')!}`;
  const auth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  const api: Api = {
    request: (method, path, body) =>
      fetch(base + path, {
        method,
        headers: {
          authorization: auth,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
  };
  const cases = matrixCases(OPERATIONS.filter((o) => HTTP[o.name] !== undefined));
  assert.ok(cases.length >= 25, `HTTP cases: ${cases.length}`);
  for (const c of cases) {
    await t.test(c.title, async () => {
      const vhost = prepare(server, c);
      const res = await HTTP[c.operation.name]!(api, vhost);
      const text = await res.text();
      if (c.denied === undefined) {
        assert.ok(res.status >= 200 && res.status < 300, `allowed: ${res.status} ${text}`);
        return;
      }
      assert.equal(res.status, 403, text);
      const reason = (JSON.parse(text) as { reason: string }).reason;
      assert.match(reason, refusal(c.denied, vhost, USER));
    });
  }
});
