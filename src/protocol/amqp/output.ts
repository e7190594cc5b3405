import type { Socket } from 'node:net';

/**
 * The write side of one client socket. Writes are corked for the rest of the event-loop turn
 * (many small frames leave as one segment) and uncorked on the next tick. `writable` turns
 * false when the socket's buffer passes its high-water mark; the drain handler turns it back.
 */
export class FrameOutput {
  private readonly socket: Socket;
  private corked = false;
  /** False while the socket's buffer is over its high-water mark. */
  writable = true;
  /** Set by every write, cleared by the heartbeat tick (see heartbeat.ts). */
  wroteSinceTick = true;
  /** Set once the connection is closed: writes are dropped. */
  closed = false;

  constructor(socket: Socket) {
    this.socket = socket;
  }

  /** Queue bytes for the socket; corked for the rest of this turn. Returns false when full. */
  write(buf: Buffer): boolean {
    if (this.closed) return false;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncorkTick);
    }
    this.wroteSinceTick = true;
    if (!this.socket.write(buf)) this.writable = false;
    return this.writable;
  }

  /** True while this turn's writes are still held back. */
  get isCorked(): boolean {
    return this.corked;
  }

  /** Flush now (before a close, so the close frame is not held behind a timer). */
  uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  private readonly uncorkTick = (): void => this.uncork();
}
