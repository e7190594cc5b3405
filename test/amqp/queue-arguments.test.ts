import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasCode, nextChannelError } from '../helpers/amqp-raw.js';
import { connect, startBroker } from '../helpers/server.js';

const REFUSED: Record<string, unknown> = {
  'x-max-age': '1D',
  'x-queue-type': 'stream',
};

void test('queue arguments Baton does not act on yet are refused with 540 NOT_IMPLEMENTED, naming them', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  for (const [name, value] of Object.entries(REFUSED)) {
    const ch = await conn.createChannel();
    const err = nextChannelError(ch);
    ch.assertQueue(`q-${name}`, { durable: true, arguments: { [name]: value } }).catch(() => {});
    const e = await err;
    assert.ok(hasCode(540)(e), `${name}: ${e.message}`);
    assert.ok(e.message.includes('NOT_IMPLEMENTED'), e.message);
    assert.ok(e.message.includes(name === 'x-queue-type' ? 'stream' : name), e.message);
  }
  // The connection and the broker are fine; nothing was declared.
  const ch = await conn.createChannel();
  const check = nextChannelError(ch);
  ch.checkQueue('q-x-max-age').catch(() => {});
  assert.ok(hasCode(404)(await check));
});

void test('queue arguments RabbitMQ ignores on classic queues are accepted (documented in docs/semantics.md)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertQueue('lazy', { arguments: { 'x-queue-mode': 'lazy', 'x-custom': 'anything' } });
  await ch.assertQueue('located', { arguments: { 'x-queue-master-locator': 'min-masters' } });
});

void test('bad values of the implemented arguments are 406 with RabbitMQ-style texts', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ 'x-message-ttl': -1 }, /invalid arg 'x-message-ttl'/],
    [{ 'x-overflow': 'explode' }, /unknown overflow behaviour 'explode'/],
    [{ 'x-delivery-limit': -2 }, /invalid arg 'x-delivery-limit'/],
    [{ 'x-delayed-retry-max': 10 }, /x-delayed-retry-min must be set/],
    [{ 'x-expires': 0 }, /invalid arg 'x-expires'/],
  ];
  for (const [args, re] of cases) {
    const ch = await conn.createChannel();
    const err = nextChannelError(ch);
    ch.assertQueue('bad', { arguments: args }).catch(() => {});
    const e = await err;
    assert.ok(hasCode(406)(e), e.message);
    assert.match(e.message, re);
  }
});

void test('consumer arguments Baton does not act on (x-priority) are refused with 540; x-priority 0 is fine', async (t) => {
  const { url } = await startBroker(t);
  const conn = await connect(t, url);
  const ch = await conn.createChannel();
  await ch.assertQueue('q');
  await ch.consume('q', () => {}, { arguments: { 'x-priority': 0 } });
  const bad = await conn.createChannel();
  const err = nextChannelError(bad);
  bad.consume('q', () => {}, { priority: 5 }).catch(() => {});
  const e = await err;
  assert.ok(hasCode(540)(e), e.message);
  assert.match(e.message, /x-priority/);
});
