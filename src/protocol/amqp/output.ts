import type { Socket } from 'node:net';
import { HEARTBEAT_FRAME } from './frame-writer.js';

/** Output slab size; frames bigger than `INLINE_MAX` are written as buffers of their own. */
const SLAB = 64 * 1024;
/** Largest frame run copied into the slab; bigger ones (large bodies) keep their own buffer. */
export const INLINE_MAX = 16 * 1024;
/** Bytes held for the socket (this turn's and the kernel's backlog) before writers pause. */
const HIGH_WATER = 64 * 1024;
/** Spare slabs kept for the next turn's writers, so a busy broker allocates none. */
const POOL_MAX = 64;
const pool: Buffer[] = [];

/**
 * The write side of one client socket. Frames are encoded straight into a slab during an
 * event-loop turn and leave as one socket write on the next tick, so a turn's deliveries cost
 * one syscall and no buffer each. A slab whose writes have all completed goes back to a shared
 * pool; one still referenced by a pending write is never written over (writing goes on after
 * those bytes, or in a new slab).
 * `writable` turns false when this turn's bytes plus the socket's backlog pass the high-water
 * mark; `onDrain` runs when there is room again.
 */
export class FrameOutput {
  private readonly socket: Socket;
  /** The slab being filled; EMPTY between turns once it went back to the pool. */
  buf: Buffer = EMPTY;
  /** Write position in `buf`: encoders reserve at it and `commit` their end. */
  pos = 0;
  /** Start of this turn's bytes in `buf`. */
  private start = 0;
  private scheduled = false;
  private corked = false;
  /** Socket writes so far: a nudge is owed only if none happened since it was asked for. */
  private sent = 0;
  /** `sent` when a nudge was asked for; -1 when none is pending (see `nudge`). */
  private nudgeMark = -1;
  /** False while the socket's buffer is over its high-water mark. */
  writable = true;
  /** Set by every write, cleared by the heartbeat tick (see heartbeat.ts). */
  wroteSinceTick = true;
  /** Set once the connection is closed: writes are dropped. */
  closed = false;
  /** Called when writers paused by `writable = false` may go on. */
  onDrain: () => void = () => {};

  constructor(socket: Socket) {
    this.socket = socket;
  }

  /**
   * Room for `n` bytes (at most INLINE_MAX) at `this.pos` in `this.buf`; the caller encodes
   * there and calls `commit(end)`. Returns the offset.
   */
  reserve(n: number): number {
    if (this.buf.length - this.pos < n) this.newSlab();
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushTick);
    }
    return this.pos;
  }

  /** The bytes up to `end` are encoded. Returns false once writers should pause. */
  commit(end: number): boolean {
    this.pos = end;
    this.wroteSinceTick = true;
    if (this.writable && end - this.start + this.socket.writableLength > HIGH_WATER)
      this.writable = false;
    return this.writable;
  }

  /** Queue bytes for the socket (sent on the next tick). Returns false when writers should pause. */
  write(buf: Buffer): boolean {
    if (this.closed) return false;
    const n = buf.length;
    if (n <= INLINE_MAX) {
      const o = this.reserve(n);
      this.buf.set(buf, o);
      return this.commit(o + n);
    }
    // A big one goes by reference, after this turn's bytes so far.
    this.reserve(0);
    this.push();
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
    }
    this.wroteSinceTick = true;
    this.sent++;
    if (!this.socket.write(buf)) this.writable = false;
    return this.writable;
  }

  /**
   * Make sure something leaves on this socket soon, so the kernel's delayed TCP ACK goes out
   * with it: a heartbeat frame after the event loop's poll phase, unless other bytes were
   * written by then. Written that late, it follows the deliveries to other clients that the
   * same input caused (they are what someone waits for), which leave on the next tick.
   */
  nudge(): void {
    if (this.scheduled || this.nudgeMark !== -1 || this.closed) return;
    this.nudgeMark = this.sent;
    setImmediate(this.nudgeTick);
  }

  private readonly nudgeTick = (): void => {
    const due = this.nudgeMark === this.sent;
    this.nudgeMark = -1;
    if (!due || this.closed) return;
    this.wroteSinceTick = true;
    this.sent++;
    this.socket.write(HEARTBEAT_FRAME);
  };

  /** Flush now (before a close, so the close frame is not held behind a timer). */
  uncork(): void {
    if (!this.scheduled) return;
    this.scheduled = false;
    this.push();
    if (this.corked) {
      this.corked = false;
      this.socket.uncork();
    }
    const socket = this.socket;
    if (socket.writableLength === 0 && this.buf !== EMPTY) {
      // Every write has completed (for TLS: been encrypted), so no one holds the slab's bytes:
      // it is free again. An idle connection keeps none.
      if (pool.length < POOL_MAX) pool.push(this.buf);
      this.buf = EMPTY;
      this.pos = this.start = 0;
    }
    if (!this.writable && !socket.writableNeedDrain && socket.writableLength < HIGH_WATER) {
      this.writable = true;
      this.onDrain();
    }
  }

  /** Hands this turn's slab bytes to the socket. */
  private push(): void {
    if (this.pos === this.start || this.closed) {
      this.start = this.pos;
      return;
    }
    const chunk = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    this.sent++;
    if (!this.socket.write(chunk)) this.writable = false;
  }

  /** The slab is full: its bytes so far go to the socket, and writing goes on in another. */
  private newSlab(): void {
    this.push();
    if (!this.corked && this.buf !== EMPTY) {
      this.corked = true;
      this.socket.cork();
    }
    this.buf = pool.pop() ?? Buffer.allocUnsafeSlow(SLAB);
    this.pos = this.start = 0;
  }

  private readonly flushTick = (): void => this.uncork();
}

const EMPTY = Buffer.alloc(0);
