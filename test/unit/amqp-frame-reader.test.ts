import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AmqpDecodeError, PROTOCOL_HEADER } from '../../src/protocol/amqp/constants.js';
import { decodeContentHeader, FrameReader } from '../../src/protocol/amqp/frame-reader.js';
import type { FrameHandler } from '../../src/protocol/amqp/frame-reader.js';
import { encodeDelivery, encodeFrame, HEARTBEAT_FRAME } from '../../src/protocol/amqp/frame-writer.js'; // prettier-ignore
import { decodeMethod, encodeMethodFrame, MethodId } from '../../src/protocol/amqp/generated/methods.js'; // prettier-ignore
import {
  decodeProperties,
  encodeProperties,
  peekProperties,
} from '../../src/protocol/amqp/generated/properties.js';

interface Frame {
  type: number;
  channel: number;
  payload: Buffer;
}

/** Records frames, keeping the payload views themselves (they must stay valid). */
class Recorder implements FrameHandler {
  frames: Frame[] = [];
  headers: { ok: boolean; header: Buffer }[] = [];
  onProtocolHeader(ok: boolean, header: Buffer): void {
    this.headers.push({ ok, header: Buffer.from(header) });
  }
  onFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void {
    this.frames.push({ type, channel, payload: buf.subarray(start, end) });
  }
}

const isDecodeError = (code: number) => (e: unknown) =>
  e instanceof AmqpDecodeError && e.replyCode === code;

/** Splits `bytes` at the given cut points (any order, duplicates allowed). */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

/** Pushes each chunk as its own buffer, as a socket delivers them. */
function feed(reader: FrameReader, chunks: Buffer[]): void {
  for (const c of chunks) reader.push(Buffer.from(c));
}

const frameArb = fc.record({
  type: fc.constantFrom(1, 2, 3, 8),
  channel: fc.integer({ min: 0, max: 0xffff }),
  payload: fc.oneof(
    { weight: 4, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1000, maxLength: 8000 }) },
  ),
});

void test('random chunking of a frame stream yields the same frames, and views stay valid', () => {
  fc.assert(
    fc.property(
      fc.array(frameArb, { minLength: 1, maxLength: 30 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      fc.boolean(),
      (frames, cuts, withHeader) => {
        const stream = Buffer.concat([
          withHeader ? PROTOCOL_HEADER : Buffer.alloc(0),
          ...frames.map((f) => encodeFrame(f.type, f.channel, f.payload)),
        ]);
        const rec = new Recorder();
        const reader = new FrameReader(rec, { frameMax: 8192, protocolHeader: withHeader });
        feed(reader, chunked(stream, cuts));
        assert.deepEqual(rec.headers, withHeader ? [{ ok: true, header: PROTOCOL_HEADER }] : []);
        assert.deepEqual(
          rec.frames.map((f) => ({ ...f, payload: Buffer.from(f.payload) })),
          frames.map((f) => ({ ...f, payload: Buffer.from(f.payload) })),
        );
      },
    ),
    { numRuns: 1000 },
  );
});

void test('a stream split at every byte boundary (and byte by byte) parses the same', () => {
  const frames = [
    encodeMethodFrame(1, MethodId.BasicPublish, {
      ...{ ticket: 0, exchange: 'ex', routingKey: 'rk', mandatory: false, immediate: false },
    }),
    encodeDelivery(1, 'ctag', 42, false, 'ex', 'rk', encodeProperties({ deliveryMode: 2 }), Buffer.alloc(300, 7), 4096), // prettier-ignore
    HEARTBEAT_FRAME,
    encodeFrame(3, 2, Buffer.alloc(5000, 1)),
  ];
  const stream = Buffer.concat([PROTOCOL_HEADER, ...frames]);
  const expected = new Recorder();
  new FrameReader(expected, { frameMax: 8192 }).push(stream);
  assert.equal(expected.frames.length, 6);
  const check = (chunks: Buffer[]): void => {
    const rec = new Recorder();
    feed(new FrameReader(rec, { frameMax: 8192 }), chunks);
    assert.deepEqual(rec.frames, expected.frames);
    assert.deepEqual(rec.headers, expected.headers);
  };
  for (let k = 1; k < stream.length; k++) check([stream.subarray(0, k), stream.subarray(k)]);
  check([...stream].map((byte) => Buffer.from([byte])));
});

void test('payload views handed out stay valid while later frames are reassembled', () => {
  const rec = new Recorder();
  const reader = new FrameReader(rec, { protocolHeader: false, frameMax: 0 });
  const payloads = Array.from({ length: 200 }, (_, i) => Buffer.alloc(10 + (i % 50) * 97, i));
  const stream = Buffer.concat(payloads.map((p) => encodeFrame(3, 1, p)));
  for (let o = 0; o < stream.length; o += 333)
    reader.push(Buffer.from(stream.subarray(o, o + 333)));
  assert.deepEqual(
    rec.frames.map((f) => f.payload),
    payloads,
  );
});

void test('protocol header: accepted, or rejected at the first wrong byte and input ignored after', () => {
  const good = new Recorder();
  const r1 = new FrameReader(good);
  r1.push(PROTOCOL_HEADER.subarray(0, 3));
  r1.push(Buffer.concat([PROTOCOL_HEADER.subarray(3), HEARTBEAT_FRAME]));
  assert.deepEqual(good.headers, [{ ok: true, header: PROTOCOL_HEADER }]);
  assert.equal(good.frames.length, 1);

  const http = new Recorder();
  const r2 = new FrameReader(http);
  r2.push(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
  r2.push(HEARTBEAT_FRAME);
  assert.deepEqual(http.headers, [{ ok: false, header: Buffer.from('G') }]);
  assert.equal(http.frames.length, 0);
  assert.equal(r2.stopped, true);

  const old = new Recorder();
  new FrameReader(old).push(Buffer.from([0x41, 0x4d, 0x51, 0x50, 1, 1, 0, 9]));
  assert.deepEqual(old.headers, [{ ok: false, header: Buffer.from('AMQP\x01') }]);
});

void test('framing errors are 501 and stop the reader', () => {
  const cases: [string, Buffer, number][] = [
    ['unknown frame type', encodeFrame(4, 0, Buffer.alloc(0)), 4096],
    ['payload larger than frame-max', encodeFrame(3, 1, Buffer.alloc(4097)), 4096],
    ['missing frame-end', Buffer.concat([encodeFrame(3, 1, Buffer.alloc(3)).subarray(0, 10), Buffer.from([0])]), 4096], // prettier-ignore
  ];
  for (const [name, bytes, frameMax] of cases) {
    for (const chunks of [[bytes], chunked(bytes, [3]), [...bytes].map((b) => Buffer.from([b]))]) {
      const rec = new Recorder();
      const reader = new FrameReader(rec, { protocolHeader: false, frameMax });
      assert.throws(() => feed(reader, chunks), isDecodeError(501), name);
      assert.equal(reader.stopped, true);
      reader.push(HEARTBEAT_FRAME);
      assert.equal(rec.frames.length, 0, name);
    }
  }
  // A payload of exactly frame-max is tolerated (RabbitMQ's slack); frame-max is settable.
  const rec = new Recorder();
  const reader = new FrameReader(rec, { protocolHeader: false });
  reader.push(encodeFrame(3, 1, Buffer.alloc(4096)));
  reader.frameMax = 131072;
  reader.push(encodeFrame(3, 1, Buffer.alloc(131072)));
  assert.equal(rec.frames.length, 2);
});

void test('a throwing handler does not desynchronise the stream', () => {
  const seen: number[] = [];
  const handler: FrameHandler = {
    onProtocolHeader: () => undefined,
    onFrame(_type, channel) {
      seen.push(channel);
      if (channel === 2) throw new Error('boom');
    },
  };
  const reader = new FrameReader(handler, { protocolHeader: false });
  const stream = Buffer.concat([1, 2, 3, 4].map((ch) => encodeFrame(3, ch, Buffer.alloc(10))));
  assert.throws(() => reader.push(stream.subarray(0, 40)), /boom/);
  reader.push(stream.subarray(40));
  assert.deepEqual(seen, [1, 2, 3, 4]);
});

void test('decodeContentHeader reads class, body size and the raw property bytes', () => {
  const props = encodeProperties({ contentType: 'application/json', deliveryMode: 2 });
  const rec = new Recorder();
  new FrameReader(rec, { protocolHeader: false }).push(
    encodeDelivery(5, 'c', 1, false, '', 'q', props, Buffer.alloc(10), 4096),
  );
  const h = decodeContentHeader(rec.frames[1]!.payload);
  assert.deepEqual({ ...h }, { classId: 60, bodySize: 10, properties: props });
  assert.throws(() => decodeContentHeader(Buffer.alloc(13)), isDecodeError(501));
});

/** A connection's decode path: everything it would call on each frame. */
const decodingHandler: FrameHandler = {
  onProtocolHeader: () => undefined,
  onFrame(type, _channel, buf, start, end) {
    const payload = buf.subarray(start, end);
    if (type === 1) decodeMethod(payload, 0, payload.length);
    else if (type === 2) {
      const h = decodeContentHeader(payload);
      peekProperties(h.properties, 0, h.properties.length);
      decodeProperties(h.properties, 0, h.properties.length);
    }
  },
};

function onlyDecodeErrors(chunks: Buffer[], header: boolean): void {
  const reader = new FrameReader(decodingHandler, { frameMax: 4096, protocolHeader: header });
  try {
    for (const c of chunks) reader.push(c);
  } catch (e) {
    assert.ok(e instanceof AmqpDecodeError, `not an AmqpDecodeError: ${String(e)}`);
  }
}

void test('fuzz: random bytes only ever raise AmqpDecodeError', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 2000 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      fc.boolean(),
      (bytes, cuts, header) => onlyDecodeErrors(chunked(Buffer.from(bytes), cuts), header),
    ),
    { numRuns: 5000 },
  );
});

void test('fuzz: mutated valid streams only ever raise AmqpDecodeError', () => {
  const valid = Buffer.concat([
    encodeMethodFrame(1, MethodId.QueueDeclare, {
      ...{ ticket: 0, queue: 'q', passive: false, durable: true, exclusive: false },
      ...{ autoDelete: false, nowait: false, arguments: { 'x-max-length': 10, a: [1, 'x', { b: null }] } }, // prettier-ignore
    }),
    encodeDelivery(1, 'ctag', 1, false, 'ex', 'rk', encodeProperties({ headers: { h: 'v' }, priority: 1, expiration: '60000' }), Buffer.alloc(20), 4096), // prettier-ignore
  ]);
  const mutation = fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) });
  fc.assert(
    fc.property(
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      fc.array(fc.nat(), { maxLength: 4 }),
      (muts, cuts) => {
        // prettier-ignore
        const bytes = Buffer.from(valid);
        for (const m of muts) bytes[m.at % bytes.length] = m.value;
        onlyDecodeErrors(chunked(bytes, cuts), false);
      },
    ),
    { numRuns: 5000 },
  );
});
