import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Message } from '../../src/core/message.js';
import { TRACE_LIMITS } from '../../src/core/trace.js';
import { collectingSession, openBroker } from '../helpers/core.js';

void test('trace log: bounded by message ids (least recently seen go) and by events per id (publish kept)', async (t) => {
  const { broker } = await openBroker(t);
  const vhost = broker.vhost('/');
  const { session } = collectingSession(broker);
  session.declareQueue('q', {});
  const withId = (id: string): Message =>
    new Message('', 'q', broker.properties.encode({ messageId: id }), Buffer.from(id), false);

  // Off: nothing is recorded, and switching on starts from nothing.
  session.publish('', 'q', withId('before'));
  vhost.tracing = true;
  assert.equal(vhost.tracer.life('before'), undefined);

  const n = TRACE_LIMITS.ids + 1;
  for (let i = 0; i < n; i++) session.publish('', 'q', withId(`id-${i}`));
  assert.equal(vhost.tracer.life('id-0'), undefined, 'the oldest id went first');
  assert.deepEqual(
    vhost.tracer.life(`id-${n - 1}`)!.events.map((e) => e.event),
    ['published', 'routed'],
  );
  const recent = vhost.tracer.recent();
  assert.equal(recent.length, TRACE_LIMITS.ids);
  assert.equal(recent[0]!.messageId, `id-${n - 1}`);
  session.purgeQueue('q');

  // One id delivered and requeued over and over: its oldest events after the publish go.
  session.publish('', 'q', withId('busy'));
  const rounds = TRACE_LIMITS.eventsPerId;
  for (let i = 0; i < rounds; i++) {
    const d = session.get('q', false)!;
    session.nack(d.tag, false, true);
  }
  const life = vhost.tracer.life('busy')!;
  assert.equal(life.events.length, TRACE_LIMITS.eventsPerId);
  assert.equal(life.events[0]!.event, 'published');
  assert.equal(life.dropped, 2 + 2 * rounds - TRACE_LIMITS.eventsPerId);
  assert.deepEqual(
    life.events.slice(-2).map((e) => [e.event, e.requeue, e.redelivered]),
    [
      ['delivered', undefined, true],
      ['nacked', true, undefined],
    ],
  );
  // The id seen last is the most recent one.
  assert.equal(vhost.tracer.recent(1)[0]!.messageId, 'busy');

  // Off forgets the log.
  vhost.tracing = false;
  vhost.tracing = true;
  assert.equal(vhost.tracer.life('busy'), undefined);
  assert.deepEqual(vhost.tracer.recent(), []);
});
