/**
 * A bare AMQP 0-9-1 client for the saturation scenario: just enough of the protocol to log
 * in, declare, publish with confirms and consume with acks, from pre-encoded frames. amqplib
 * spends more CPU per message than the broker does, so on this 2-core machine no number of
 * amqplib processes can keep a broker busy; this one costs a fraction of a microsecond.
 */
import { connect, type Socket } from 'node:net';

const FRAME_END = 0xce;

export const BASIC = 60;

/** A method frame's payload, written by `build`. */
export class Args {
  private readonly parts: Buffer[] = [];
  u8(v: number): this {
    this.parts.push(Buffer.of(v));
    return this;
  }
  u16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v);
    this.parts.push(b);
    return this;
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    this.parts.push(b);
    return this;
  }
  u64(v: number): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(v));
    this.parts.push(b);
    return this;
  }
  short(s: string): this {
    const b = Buffer.from(s);
    return this.u8(b.length).bytes(b);
  }
  long(b: Buffer): this {
    return this.u32(b.length).bytes(b);
  }
  bytes(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  /** An empty field table. */
  table(): this {
    return this.u32(0);
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export function frame(type: number, channel: number, payload: Buffer): Buffer {
  const b = Buffer.allocUnsafe(8 + payload.length);
  b[0] = type;
  b.writeUInt16BE(channel, 1);
  b.writeUInt32BE(payload.length, 3);
  payload.copy(b, 7);
  b[7 + payload.length] = FRAME_END;
  return b;
}

export function method(channel: number, cls: number, id: number, args: Args): Buffer {
  return frame(1, channel, Buffer.concat([new Args().u16(cls).u16(id).build(), args.build()]));
}

/**
 * basic.publish + a content header with delivery mode 2 + one body frame of `size` bytes to
 * the default exchange; `bodyAt` is the body's offset in the returned template.
 */
export function publishTemplate(queue: string, size: number): { bytes: Buffer; bodyAt: number } {
  const pub = method(1, BASIC, 40, new Args().u16(0).short('').short(queue).u8(0));
  const header = frame(2, 1, new Args().u16(BASIC).u16(0).u64(size).u16(0x1000).u8(2).build());
  const body = frame(3, 1, Buffer.alloc(size));
  return { bytes: Buffer.concat([pub, header, body]), bodyAt: pub.length + header.length + 7 };
}

export interface Handlers {
  /** basic.ack from the broker (a publisher confirm). */
  onConfirm?: (tag: number, multiple: boolean) => void;
  onNack?: () => void;
  /** A whole delivery: its tag and its body (a view valid only during the call). */
  onDelivery?: (tag: number, body: Buffer) => void;
  /** After each chunk read from the socket has been handled. */
  onChunkEnd?: () => void;
}

/** One connection with channel 1 open. */
export class RawConnection {
  private pending: Buffer | undefined;
  private waiter: { cls: number; id: number; resolve: (p: Buffer) => void } | undefined;
  private failed: Error | undefined;
  private rejecter: ((e: Error) => void) | undefined;
  private deliveryTag = 0;
  private bodyParts: Buffer[] = [];
  private bodyLeft = 0;
  handlers: Handlers = {};

  readonly socket: Socket;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static async open(url: string): Promise<RawConnection> {
    const u = new URL(url);
    const socket = connect({ host: u.hostname, port: Number(u.port || 5672) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new RawConnection(socket);
    const vhost = decodeURIComponent(u.pathname.slice(1)) || '/';
    const started = c.expect(10, 10);
    socket.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    await started;
    const response = Buffer.from(
      `\0${decodeURIComponent(u.username)}\0${decodeURIComponent(u.password)}`,
    );
    const tune = await c.call(
      0,
      10,
      11,
      new Args().table().short('PLAIN').long(response).short('en_US'),
      10,
      30,
    );
    const frameMax = tune.readUInt32BE(2);
    c.send(method(0, 10, 31, new Args().u16(1).u32(frameMax).u16(0)));
    await c.call(0, 10, 40, new Args().short(vhost).short('').u8(0), 10, 41);
    await c.call(1, 20, 10, new Args().short(''), 20, 11);
    return c;
  }

  send(b: Buffer): boolean {
    return this.socket.write(b);
  }

  /** Sends a method and waits for the reply `rcls`.`rid`; resolves its arguments. */
  call(
    channel: number,
    cls: number,
    id: number,
    args: Args,
    rcls: number,
    rid: number,
  ): Promise<Buffer> {
    const reply = this.expect(rcls, rid);
    this.send(method(channel, cls, id, args));
    return reply;
  }

  async close(): Promise<void> {
    if (this.failed) return;
    const closed = this.expect(10, 51).catch(() => Buffer.alloc(0));
    this.send(method(0, 10, 50, new Args().u16(200).short('bye').u16(0).u16(0)));
    await closed;
    this.socket.destroy();
  }

  private expect(cls: number, id: number): Promise<Buffer> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiter = { cls, id, resolve };
      this.rejecter = reject;
    });
  }

  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    this.rejecter?.(e);
    this.rejecter = undefined;
    this.waiter = undefined;
  }

  private onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let at = 0;
    while (buf.length - at >= 8) {
      const size = buf.readUInt32BE(at + 3);
      const end = at + 7 + size;
      if (end >= buf.length) break;
      if (buf[end] !== FRAME_END) return this.fail(new Error('bad frame end'));
      this.onFrame(buf[at]!, buf.subarray(at + 7, end));
      at = end + 1;
    }
    if (at < buf.length) this.pending = Buffer.from(buf.subarray(at));
    this.handlers.onChunkEnd?.();
  }

  private onFrame(type: number, p: Buffer): void {
    if (type === 3) {
      if (this.bodyLeft <= 0) return;
      this.bodyLeft -= p.length;
      if (this.bodyLeft > 0) {
        this.bodyParts.push(Buffer.from(p));
        return;
      }
      const body = this.bodyParts.length ? Buffer.concat([...this.bodyParts, p]) : p;
      this.bodyParts = [];
      this.handlers.onDelivery?.(this.deliveryTag, body);
      return;
    }
    if (type === 2) {
      // High 32 bits of a body size are zero for every message here.
      this.bodyLeft = p.readUInt32BE(8);
      if (this.bodyLeft === 0) this.handlers.onDelivery?.(this.deliveryTag, Buffer.alloc(0));
      return;
    }
    if (type !== 1) return;
    const cls = p.readUInt16BE(0);
    const id = p.readUInt16BE(2);
    if (cls === BASIC && id === 80) {
      this.handlers.onConfirm?.(Number(p.readBigUInt64BE(4)), (p[12]! & 1) === 1);
    } else if (cls === BASIC && id === 60) {
      const tagAt = 5 + p[4]!;
      this.deliveryTag = Number(p.readBigUInt64BE(tagAt));
    } else if (cls === BASIC && id === 120) {
      this.handlers.onNack?.();
    } else if ((cls === 10 && id === 50) || (cls === 20 && id === 40)) {
      const code = p.readUInt16BE(4);
      const text = p.subarray(7, 7 + p[6]!).toString();
      this.fail(new Error(`closed by the broker: ${code} ${text}`));
      this.socket.destroy();
    } else if (this.waiter && this.waiter.cls === cls && this.waiter.id === id) {
      const w = this.waiter;
      this.waiter = undefined;
      this.rejecter = undefined;
      w.resolve(Buffer.from(p.subarray(4)));
    }
  }
}
