import assert from 'node:assert/strict';
import { test } from 'node:test';
import amqp from 'amqplib';
import { FRAME_HEARTBEAT, openConfirmChannel, RawClient, within } from '../helpers/amqp-raw.js';
import { expectNothingFor } from '../helpers/core.js';
import { startBroker } from '../helpers/server.js';

void test('a client that negotiates heartbeat=1 and then stays silent is disconnected after missed heartbeats (AMQP 0-9-1 §4.2.7)', async (t) => {
  const { port } = await startBroker(t);
  const c = await RawClient.open(t, port);
  await c.handshake({ heartbeat: 1 });
  await c.openChannel(1);
  // Say nothing more. The broker sends heartbeats and then, hearing none back, hangs up.
  await c.waitClosed(10_000);
  assert.ok(
    c.frames.some((f) => f.type === FRAME_HEARTBEAT && f.channel === 0),
    `the broker sent heartbeats before giving up; got ${c.describe()}`,
  );
});

void test('the broker sends heartbeats on channel 0 at the negotiated interval to an idle client (AMQP 0-9-1 §4.2.7)', async (t) => {
  const { port } = await startBroker(t);
  const c = await RawClient.open(t, port);
  await c.handshake({ heartbeat: 1 });
  // The first one arrives well before the broker would give up on us.
  const beats = await c.expectFrame((f) => f.type === FRAME_HEARTBEAT, 'a heartbeat frame', 5000);
  assert.equal(beats.channel, 0);
  assert.equal(beats.payload.length, 0);
});

void test('a client sending heartbeat=0 in tune-ok is not disconnected for silence (AMQP 0-9-1 §4.2.7)', async (t) => {
  const { port } = await startBroker(t, { heartbeat: 1 });
  const c = await RawClient.open(t, port);
  const tune = await c.handshake({ heartbeat: 0 });
  assert.equal(tune.heartbeat, 1, 'the broker proposed its configured heartbeat');
  await expectNothingFor(3000, () => {
    assert.equal(c.closed, false, 'heartbeats were turned off by the client, so silence is fine');
    assert.equal(
      c.frames.filter((f) => f.type === FRAME_HEARTBEAT).length,
      0,
      'and the broker sends none',
    );
  });
});

void test('amqplib with heartbeat=1 stays connected through 4 s of idleness and still works (AMQP 0-9-1 §4.2.7)', async (t) => {
  const { url } = await startBroker(t);
  const conn = await amqp.connect(`${url}?heartbeat=1`);
  const events: string[] = [];
  conn.on('error', (e: Error) => events.push(`error: ${e.message}`));
  conn.on('close', (e?: Error) => events.push(`close: ${String(e)}`));
  t.after(() => conn.close().catch(() => {}));
  const ch = await openConfirmChannel(conn);
  const { queue } = await ch.assertQueue('', { exclusive: true, durable: false });
  await expectNothingFor(4000, () =>
    assert.deepEqual(events, [], 'neither side timed the connection out'),
  );
  ch.sendToQueue(queue, Buffer.from('after the wait'));
  await within(ch.waitForConfirms(), 'confirm after idling');
  const m = await ch.get(queue, { noAck: true });
  assert.ok(m !== false);
  assert.equal(m.content.toString(), 'after the wait');
});
