import assert from 'node:assert/strict';
import { test } from 'node:test';
import { amqpPropertiesCodec as codec } from '../../src/protocol/amqp/properties-codec.js';

void test('mayHaveSenderKeys: false without a CC or BCC header name, true with one', () => {
  const has = (p: Record<string, unknown>): boolean => codec.mayHaveSenderKeys!(codec.encode(p));
  assert.equal(has({}), false);
  assert.equal(has({ deliveryMode: 2, messageId: 'CC' }), false, 'no headers at all');
  assert.equal(has({ headers: { a: 'xCC', ACC: 1 } }), false);
  // A value that looks like the name is a false positive: senderKeys decodes to be sure.
  assert.equal(has({ headers: { a: 'CC' } }), true);
  assert.equal(has({ headers: { CC: ['k'] } }), true);
  assert.equal(has({ headers: { x: 1, BCC: ['k'] } }), true);
});
