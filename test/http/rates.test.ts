/**
 * message_stats counts and `*_details.rate` over real traffic: counts come from the core's
 * counters at once; rates from the sampler (here with a short interval so the test needs no
 * 5 s wait), per second between its last two samples.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rates } from '../../src/protocol/http/rates.js';
import { eventually } from '../helpers/core.js';
import { connect, startBroker } from '../helpers/server.js';

const AUTH = 'Basic ' + Buffer.from('guest:guest').toString('base64');

type Json = Record<string, unknown>;

void test('queue and vhost message_stats count publishes, deliveries and acks', async (t) => {
  const b = await startBroker(t, { httpPort: 0 });
  const port = b.server.ports.get('http')!;
  const get = async (path: string) =>
    (await (
      await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: AUTH } })
    ).json()) as Json;
  const conn = await connect(t, b.url);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('work');
  for (let i = 0; i < 3; i++) ch.sendToQueue('work', Buffer.from(`m${i}`));
  await ch.waitForConfirms();
  const got = await ch.get('work', { noAck: false });
  assert.ok(got !== false);
  ch.ack(got);
  await ch.get('work', { noAck: true });
  await eventually(async () => {
    const q = (await get('/api/queues/%2F/work')).message_stats as Json;
    assert.equal(q.publish, 3);
    assert.equal(q.get, 1);
    assert.equal(q.get_no_ack, 1);
    assert.equal(q.deliver_get, 2);
    assert.equal(q.ack, 1);
    assert.deepEqual(q.publish_details, { rate: 0 });
  });
  const o = (await get('/api/overview')).message_stats as Json;
  assert.equal(o.publish, 3);
  assert.equal(o.confirm, 3);
  assert.equal(o.get, 1);
  assert.equal(o.get_no_ack, 1);
  assert.equal(o.ack, 1);
  const v = (await get('/api/vhosts/%2F')).message_stats as Json;
  assert.equal(v.publish, 3);
});

void test('the sampler turns counter changes into per-second rates and stops when asked', async (t) => {
  const b = await startBroker(t);
  const broker = b.server.broker;
  const rates = new Rates(broker, 50);
  t.after(() => rates.stop());
  const conn = await connect(t, b.url);
  const ch = await conn.createChannel();
  await ch.assertQueue('flow');
  const vhost = broker.vhost('/');
  const queue = vhost.queues.get('flow')!;
  assert.equal(rates.rate(vhost, 'publish'), 0, 'nothing is known before two samples');
  // Keep publishing until a sample interval has seen some of it.
  await eventually(async () => {
    for (let i = 0; i < 20; i++) ch.sendToQueue('flow', Buffer.from('x'));
    await new Promise((r) => setImmediate(r));
    assert.ok(rates.rate(vhost, 'publish') > 0);
    assert.ok(rates.rate(queue, 'publish') > 0);
    assert.ok(rates.rate(queue, 'messages') > 0);
  });
  const c = [...broker.connections][0]!;
  await eventually(() => assert.ok(rates.rate(c, 'recv_oct') > 0));
  rates.stop();
  assert.equal(rates.rate(vhost, 'publish'), 0, 'a restarted sampler starts over');
});
