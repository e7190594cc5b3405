/** Inputs the fuzzers found, kept as plain regression tests. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AmqpDecodeError } from '../../src/protocol/amqp/constants.js';
import { FrameReader } from '../../src/protocol/amqp/frame-reader.js';

void test('a handler error followed by a frame header claiming ~4 GiB: push rethrows the handler error, allocates nothing, and the reader stops (long fuzz, seed -662475392)', () => {
  const frames: number[] = [];
  const reader = new FrameReader(
    {
      onProtocolHeader: () => {},
      onFrame: (type) => {
        frames.push(type);
        throw new AmqpDecodeError(540, 'handler refused the frame');
      },
    },
    { frameMax: 4096, protocolHeader: false },
  );
  // A heartbeat frame, then a header frame of 0xfffffffe bytes (with a few bytes of it).
  const bytes = Buffer.from([8, 0, 0, 0, 0, 0, 0, 0xce, 2, 0, 1, 0xff, 0xff, 0xff, 0xfe, 0, 1]);
  assert.throws(
    () => reader.push(bytes),
    (e: unknown) => e instanceof AmqpDecodeError && e.replyCode === 540,
  );
  assert.deepEqual(frames, [8]);
  assert.equal(reader.stopped, true, 'the oversized header stopped the reader');
  reader.push(Buffer.from([8, 0, 0, 0, 0, 0, 0, 0xce]));
  assert.deepEqual(frames, [8], 'input after the bad header is ignored');
});
