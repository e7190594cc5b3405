/**
 * Splits an AMQP byte stream into frames without copying: frames are parsed straight out of
 * each socket chunk and handed out as `subarray` views. Only a frame that straddles chunks is
 * copied, into a slab that is never rewritten under a view already handed out.
 */
import { AmqpDecodeError, FRAME_END, FRAME_HEADER_SIZE, FRAME_MIN_SIZE } from './constants.js';
import { PROTOCOL_HEADER } from './constants.js';

/** Receives what a {@link FrameReader} parses. An object, not closures, so no per-frame allocation. */
export interface FrameHandler {
  /**
   * The protocol header arrived (`ok`), or bytes that cannot be one did (`!ok`, reported at the
   * first wrong byte with the bytes so far). On `!ok` the connection should send
   * `PROTOCOL_HEADER` and close; the reader ignores all further input.
   */
  onProtocolHeader(ok: boolean, header: Buffer): void;
  /**
   * One complete frame: its payload is `buf[start, end)`, in the socket chunk (or the reader's
   * slab), and stays valid after the call returns: the reader never writes over bytes it
   * handed out. Offsets rather than a view, so a frame costs no object; a retained view pins
   * its whole chunk, so copy small slices meant to live long.
   */
  onFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void;
}

export interface FrameReaderOptions {
  /** Initial frame-max (see {@link FrameReader.frameMax}); default FRAME_MIN_SIZE (4096). */
  frameMax?: number;
  /** Expect the 8-byte protocol header first (a server does); default true. */
  protocolHeader?: boolean;
}

/** Slab size for frames that straddle chunks (bigger frames get a slab of their own). */
const SLAB_SIZE = 64 * 1024;
const EMPTY = Buffer.alloc(0);

/**
 * Feed it socket chunks with {@link push}; it calls the handler once per frame, in order.
 *
 * Errors: `push` throws {@link AmqpDecodeError} 501 for an unknown frame type, a payload larger
 * than frame-max, or a missing frame-end octet; after that the reader ignores all input (the
 * connection answers with connection.close and stops reading). If a handler throws, the
 * exception propagates out of `push` and the unparsed rest of the chunk is kept, so the next
 * `push` continues with the next frame.
 */
export class FrameReader {
  private readonly handler: FrameHandler;
  private limit = 0;
  private max = 0;
  /** Protocol-header bytes still expected; 0 once it has been seen. */
  private headerPending: number;
  private readonly headerBytes = Buffer.alloc(8);
  private failed = false;
  /** A frame straddling chunks sits at slab[slabUsed, slabUsed + held). */
  private slab: Buffer = EMPTY;
  private slabUsed = 0;
  private held = 0;
  /** Total size of that frame once its 7-byte header is complete, else 0. */
  private need = 0;
  /** Where parsing resumes in the current chunk if a handler throws. */
  private cursor = 0;

  constructor(handler: FrameHandler, options: FrameReaderOptions = {}) {
    this.handler = handler;
    this.frameMax = options.frameMax ?? FRAME_MIN_SIZE;
    this.headerPending = options.protocolHeader === false ? 0 : 8;
  }

  /**
   * The negotiated frame-max (whole frame, header and frame-end included); 0 means no limit.
   * Like RabbitMQ, a payload of up to frame-max octets is accepted: 8 octets of slack for
   * clients that forget the frame overhead. Set it after connection.tune-ok.
   */
  get frameMax(): number {
    return this.max;
  }
  set frameMax(value: number) {
    this.max = value;
    this.limit = value === 0 ? 0xffffffff : value;
  }

  /** True once a decode error or a bad protocol header stopped the reader. */
  get stopped(): boolean {
    return this.failed;
  }

  push(chunk: Buffer): void {
    if (this.failed) return;
    this.cursor = 0;
    try {
      let off = 0;
      if (this.headerPending > 0) {
        off = this.readProtocolHeader(chunk);
        if (this.headerPending > 0 || this.failed) return;
      }
      if (this.held > 0) {
        off = this.fill(chunk, off);
        if (this.held > 0) return;
      }
      this.parse(chunk, off);
    } catch (err) {
      // A handler threw: keep the unparsed rest so the stream stays in sync.
      if (!this.failed && this.held === 0 && this.cursor < chunk.length) {
        try {
          this.stash(chunk, this.cursor);
        } catch {
          // The rest starts with a bad frame header: the reader is stopped now, and the
          // handler's error is the one to report.
        }
      }
      throw err;
    }
  }

  /** The hot loop: whole frames straight out of the chunk. */
  private parse(chunk: Buffer, off: number): void {
    const len = chunk.length;
    const handler = this.handler;
    while (len - off >= FRAME_HEADER_SIZE) {
      const type = chunk[off]!;
      const size = chunk.readUInt32BE(off + 3);
      this.check(type, size);
      const end = off + FRAME_HEADER_SIZE + size; // the frame-end octet
      if (end >= len) break;
      const channel = chunk.readUInt16BE(off + 1);
      if (chunk[end] !== FRAME_END) throw this.noFrameEnd(channel, chunk[end]!);
      const start = off + FRAME_HEADER_SIZE;
      off = end + 1;
      this.cursor = off;
      handler.onFrame(type, channel, chunk, start, end);
    }
    if (off < len) this.stash(chunk, off);
  }

  /** Copies an incomplete frame (header already checked if complete) into the slab. */
  private stash(chunk: Buffer, off: number): void {
    const n = chunk.length - off;
    let need = 0;
    if (n >= FRAME_HEADER_SIZE) {
      // Checked here too: after a handler threw, this header has not been (and an unchecked
      // size would size the slab, up to 4 GiB).
      const size = chunk.readUInt32BE(off + 3);
      this.check(chunk[off]!, size);
      need = 8 + size;
    }
    const room = need > 0 ? need : FRAME_HEADER_SIZE;
    if (this.slab.length - this.slabUsed < room) {
      this.slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, room));
      this.slabUsed = 0;
    }
    chunk.copy(this.slab, this.slabUsed, off);
    this.held = n;
    this.need = need;
  }

  /** Continues the frame in the slab with bytes from `chunk`; emits it when complete. */
  private fill(chunk: Buffer, off: number): number {
    const len = chunk.length;
    let slab = this.slab;
    let at = this.slabUsed;
    if (this.need === 0) {
      const take = Math.min(FRAME_HEADER_SIZE - this.held, len - off);
      chunk.copy(slab, at + this.held, off, off + take);
      this.held += take;
      off += take;
      if (this.held < FRAME_HEADER_SIZE) return off;
      const size = slab.readUInt32BE(at + 3);
      this.check(slab[at]!, size);
      this.need = 8 + size;
      if (slab.length - at < this.need) {
        const bigger = Buffer.allocUnsafe(Math.max(SLAB_SIZE, this.need));
        slab.copy(bigger, 0, at, at + FRAME_HEADER_SIZE);
        this.slab = slab = bigger;
        this.slabUsed = at = 0;
      }
    }
    const take = Math.min(this.need - this.held, len - off);
    chunk.copy(slab, at + this.held, off, off + take);
    this.held += take;
    off += take;
    if (this.held < this.need) return off;
    const end = at + this.need - 1;
    const channel = slab.readUInt16BE(at + 1);
    if (slab[end] !== FRAME_END) throw this.noFrameEnd(channel, slab[end]!);
    this.held = 0;
    this.need = 0;
    this.slabUsed = end + 1; // the next partial frame goes after the view handed out below
    this.cursor = off;
    this.handler.onFrame(slab[at]!, channel, slab, at + FRAME_HEADER_SIZE, end);
    return off;
  }

  private check(type: number, size: number): void {
    if (type !== 3 && type !== 1 && type !== 2 && type !== 8) {
      this.failed = true;
      throw new AmqpDecodeError(
        501,
        `unknown frame type ${type}: AMQP 0-9-1 frames are method (1), header (2), body (3) or heartbeat (8)`,
      );
    }
    if (size > this.limit) {
      this.failed = true;
      throw new AmqpDecodeError(
        501,
        `frame payload of ${size} bytes exceeds frame-max ${this.max}: split content into body frames of at most frame-max - 8 bytes`,
      );
    }
  }

  private noFrameEnd(channel: number, got: number): AmqpDecodeError {
    this.failed = true;
    return new AmqpDecodeError(
      501,
      `frame on channel ${channel} ends with 0x${got.toString(16)} instead of 0xce: the stream is out of sync (wrong size field?)`,
    );
  }

  private readProtocolHeader(chunk: Buffer): number {
    const hb = this.headerBytes;
    let got = 8 - this.headerPending;
    let off = 0;
    while (off < chunk.length && got < 8) {
      const c = chunk[off++]!;
      hb[got++] = c;
      if (c !== PROTOCOL_HEADER[got - 1]) {
        this.failed = true;
        this.handler.onProtocolHeader(false, Buffer.from(hb.subarray(0, got)));
        return off;
      }
    }
    this.headerPending = 8 - got;
    this.cursor = off;
    if (got === 8) this.handler.onProtocolHeader(true, hb);
    return off;
  }
}

/** The fixed part of a content header frame; `properties` is what the broker stores and resends. */
export class ContentHeader {
  classId = 0;
  bodySize = 0;
  /** Property flags + property list, a view into the frame payload. */
  properties: Buffer = EMPTY;
}

/**
 * Reads a content header payload: class-id u16, weight u16, body-size u64, then the property
 * flags and list (left encoded; see `peekProperties`). Reuses `into` when given.
 */
export function decodeContentHeader(payload: Buffer, into = new ContentHeader()): ContentHeader {
  decodeContentHeaderAt(payload, 0, payload.length, into);
  into.properties = payload.subarray(12);
  return into;
}

/**
 * The same for the payload at `buf[start, end)`, without making the properties view: they are
 * at `buf[start + 12, end)`. Fills `into.classId` and `into.bodySize` only.
 */
export function decodeContentHeaderAt(
  buf: Buffer,
  start: number,
  end: number,
  into: ContentHeader,
): ContentHeader {
  if (end - start < 14) {
    throw new AmqpDecodeError(501, `content header payload of ${end - start} bytes is shorter than its 14-byte minimum`); // prettier-ignore
  }
  into.classId = buf.readUInt16BE(start);
  into.bodySize = buf.readUInt32BE(start + 4) * 4294967296 + buf.readUInt32BE(start + 8);
  return into;
}
