/**
 * Helpers for the AMQP spec tests in test/amqp:
 *
 * - {@link RawClient}: a scripted AMQP 0-9-1 client over a raw `net.Socket` (amqplib's
 *   `runServer`, in reverse). It sends whatever bytes a test builds, frames or not, and
 *   records every frame the broker sends back, decoded with the project's own codec.
 * - Small amqplib conveniences: channels with an error listener attached (amqplib throws
 *   from its frame handler when a channel error has no listener), and a bystander that
 *   keeps publishing and consuming while a test attacks the broker on another socket.
 */
import assert from 'node:assert/strict';
import { connect as netConnect, type Socket } from 'node:net';
import type { TestContext } from 'node:test';
import amqp from 'amqplib';
import { FrameReader } from '../../src/protocol/amqp/frame-reader.js';
import {
  decodeMethod,
  encodeMethodFrame,
  MethodId,
  methodName,
  type AmqpMethod,
  type Decoded,
  type MethodArgs,
  type MethodKey,
} from '../../src/protocol/amqp/generated/methods.js';
import {
  encodeProperties,
  type BasicPropertiesInput,
} from '../../src/protocol/amqp/generated/properties.js';
import { connect } from './server.js';
import { eventually, until } from './core.js';

/** `AMQP` 0 0 9 1: what a client sends first and what a server answers a bad header with. */
export const AMQP_0_9_1 = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;

export interface RawFrame {
  type: number;
  channel: number;
  payload: Buffer;
  /** Set for method frames the codec could decode. */
  method?: AmqpMethod;
}

export interface HandshakeOptions {
  user?: string;
  password?: string;
  /** Heartbeat to send in tune-ok (default 0: off). */
  heartbeat?: number;
  /** frame-max to send in tune-ok (default: the server's). */
  frameMax?: number;
  /** channel-max to send in tune-ok (default: the server's). */
  channelMax?: number;
  vhost?: string;
}

/** Any frame: type, channel, 32-bit size, payload, frame-end 0xCE. */
export function frame(type: number, channel: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b[0] = type;
  b.writeUInt16BE(channel, 1);
  b.writeUInt32BE(payload.length, 3);
  payload.copy(b, 7);
  b[7 + payload.length] = 0xce;
  return b;
}

/** A basic content header frame announcing `bodySize` bytes. */
export function contentHeader(
  channel: number,
  bodySize: number,
  properties: BasicPropertiesInput = {},
): Buffer {
  const props = encodeProperties(properties);
  const p = Buffer.alloc(12 + props.length);
  p.writeUInt16BE(60, 0); // class basic
  p.writeUInt16BE(0, 2); // weight
  p.writeBigUInt64BE(BigInt(bodySize), 4);
  props.copy(p, 12);
  return frame(FRAME_HEADER, channel, p);
}

export function contentBody(channel: number, body: Buffer): Buffer {
  return frame(FRAME_BODY, channel, body);
}

/** A method frame with a hand-built argument list (for arguments the codec would refuse). */
export function rawMethodFrame(channel: number, methodKey: number, args: Buffer): Buffer {
  const p = Buffer.alloc(4 + args.length);
  p.writeUInt32BE(methodKey >>> 0, 0);
  args.copy(p, 4);
  return frame(FRAME_METHOD, channel, p);
}

export function shortstr(s: string): Buffer {
  const b = Buffer.from(s);
  assert.ok(b.length < 256);
  return Buffer.concat([Buffer.from([b.length]), b]);
}

export function longstr(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/**
 * A scripted client. Frames from the broker accumulate in `frames`; `expectMethod` takes the
 * oldest one not yet taken that matches.
 */
export class RawClient {
  readonly socket: Socket;
  readonly frames: RawFrame[] = [];
  /** Every byte the broker sent, in order. */
  readonly received: Buffer[] = [];
  /** Set when the broker's bytes stopped parsing as frames (e.g. a protocol header reply). */
  parseError: unknown;
  closed = false;
  private readonly taken = new Set<RawFrame>();
  private readonly reader: FrameReader;
  private readonly closedPromise: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    this.reader = new FrameReader(
      {
        onProtocolHeader: () => {},
        onFrame: (type, channel, buf, start, end) => {
          const f: RawFrame = { type, channel, payload: Buffer.from(buf.subarray(start, end)) };
          if (type === FRAME_METHOD) {
            try {
              f.method = decodeMethod(f.payload, 0, f.payload.length);
            } catch {
              // Left undecoded; tests look at `payload`.
            }
          }
          this.frames.push(f);
        },
      },
      { protocolHeader: false, frameMax: 0 },
    );
    socket.on('data', (chunk: Buffer) => {
      this.received.push(chunk);
      if (this.parseError !== undefined) return;
      try {
        this.reader.push(chunk);
      } catch (err) {
        this.parseError = err;
      }
    });
    socket.on('error', () => {});
    this.closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        resolve();
      }),
    );
  }

  /** Connects to 127.0.0.1:`port`; the socket is destroyed after the test. */
  static async open(t: TestContext, port: number): Promise<RawClient> {
    const socket = netConnect({ host: '127.0.0.1', port });
    const c = new RawClient(socket);
    t.after(() => {
      socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.setNoDelay(true);
    return c;
  }

  /** All bytes received so far as one buffer. */
  get bytes(): Buffer {
    return Buffer.concat(this.received);
  }

  write(b: Buffer | string): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  sendMethod<K extends MethodKey>(channel: number, id: K, args: MethodArgs[K]): void {
    this.write(encodeMethodFrame(channel, id, args));
  }

  /** Waits for the oldest untaken frame matching `pred` and takes it. */
  async expectFrame(pred: (f: RawFrame) => boolean, what: string, ms = 5000): Promise<RawFrame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const f = this.frames.find((x) => !this.taken.has(x) && pred(x));
      if (f !== undefined) {
        this.taken.add(f);
        return f;
      }
      if (this.closed || Date.now() > deadline) {
        throw new assert.AssertionError({
          message: `expected ${what}; ${this.closed ? 'socket closed' : 'timed out'}; got: ${this.describe()}`,
        });
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async expectMethod<K extends MethodKey>(channel: number, id: K, ms = 5000): Promise<Decoded<K>> {
    const f = await this.expectFrame(
      (x) => x.channel === channel && x.method?.id === id,
      `${methodName(id)} on channel ${channel}`,
      ms,
    );
    return f.method as Decoded<K>;
  }

  /** Waits for connection.close from the broker and answers it with close-ok. */
  async expectConnectionClose(ms = 5000): Promise<Decoded<typeof MethodId.ConnectionClose>> {
    const m = await this.expectMethod(0, MethodId.ConnectionClose, ms);
    this.sendMethod(0, MethodId.ConnectionCloseOk, {});
    return m;
  }

  /** Waits for channel.close from the broker and answers it with close-ok. */
  async expectChannelClose(
    channel: number,
    ms = 5000,
  ): Promise<Decoded<typeof MethodId.ChannelClose>> {
    const m = await this.expectMethod(channel, MethodId.ChannelClose, ms);
    this.sendMethod(channel, MethodId.ChannelCloseOk, {});
    return m;
  }

  /** Resolves once the socket has closed; rejects after `ms`. */
  async waitClosed(ms = 10000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.closedPromise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`socket still open after ${ms} ms; got: ${this.describe()}`)),
            ms,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Protocol header, start-ok (PLAIN), tune-ok, open; returns the broker's tune. */
  async handshake(o: HandshakeOptions = {}): Promise<Decoded<typeof MethodId.ConnectionTune>> {
    this.write(AMQP_0_9_1);
    await this.expectMethod(0, MethodId.ConnectionStart);
    this.startOk(o.user ?? 'guest', o.password ?? 'guest');
    const tune = await this.expectMethod(0, MethodId.ConnectionTune);
    this.sendMethod(0, MethodId.ConnectionTuneOk, {
      channelMax: o.channelMax ?? tune.channelMax,
      frameMax: o.frameMax ?? tune.frameMax,
      heartbeat: o.heartbeat ?? 0,
    });
    this.sendMethod(0, MethodId.ConnectionOpen, {
      virtualHost: o.vhost ?? '/',
      capabilities: '',
      insist: false,
    });
    await this.expectMethod(0, MethodId.ConnectionOpenOk);
    return tune;
  }

  startOk(user: string, password: string): void {
    this.sendMethod(0, MethodId.ConnectionStartOk, {
      clientProperties: {
        product: 'baton-raw-test',
        capabilities: { consumer_cancel_notify: true, authentication_failure_close: true },
      },
      mechanism: 'PLAIN',
      response: Buffer.from(`\0${user}\0${password}`),
      locale: 'en_US',
    });
  }

  /** Sends a plain (transient, non-exclusive) queue.declare for `queue` on `channel`. */
  sendQueueDeclare(channel: number, queue: string): void {
    this.sendMethod(channel, MethodId.QueueDeclare, {
      ticket: 0,
      queue,
      passive: false,
      durable: false,
      exclusive: false,
      autoDelete: false,
      nowait: false,
      arguments: {},
    });
  }

  async openChannel(channel: number): Promise<void> {
    this.sendMethod(channel, MethodId.ChannelOpen, { outOfBand: '' });
    await this.expectMethod(channel, MethodId.ChannelOpenOk);
  }

  /** A short summary of what arrived, for assertion messages. */
  describe(): string {
    const parts = this.frames.map((f) =>
      f.method !== undefined
        ? `${methodName(f.method.id)}@${f.channel}${'replyCode' in f.method ? `(${f.method.replyCode} ${String((f.method as { replyText?: string }).replyText)})` : ''}`
        : `type${f.type}@${f.channel}`,
    );
    return `[${parts.join(', ')}]${this.parseError !== undefined ? ` + unparsed bytes ${this.bytes.subarray(0, 16).toString('hex')}` : ''}`;
  }
}

// ---- amqplib -------------------------------------------------------------------------------

export type AmqpError = Error & { code?: number; classId?: number; methodId?: number };

/** An amqplib channel with an error listener, so a channel error cannot throw from amqplib. */
export async function openChannel(conn: amqp.ChannelModel): Promise<amqp.Channel> {
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  return ch;
}

export async function openConfirmChannel(conn: amqp.ChannelModel): Promise<amqp.ConfirmChannel> {
  const ch = await conn.createConfirmChannel();
  ch.on('error', () => {});
  return ch;
}

/** amqplib has no tx API in its channel model: tx.* go through its generic `rpc`. */
type Rpc = { rpc(method: number, fields: object, expect: number): Promise<unknown> };

export const txSelect = (ch: amqp.Channel): Promise<unknown> =>
  (ch as unknown as Rpc).rpc(MethodId.TxSelect, {}, MethodId.TxSelectOk);
export const txCommit = (ch: amqp.Channel): Promise<unknown> =>
  (ch as unknown as Rpc).rpc(MethodId.TxCommit, {}, MethodId.TxCommitOk);
export const txRollback = (ch: amqp.Channel): Promise<unknown> =>
  (ch as unknown as Rpc).rpc(MethodId.TxRollback, {}, MethodId.TxRollbackOk);
/** confirm.select the raw way (amqplib's confirm channels send it only at creation). */
export const confirmSelect = (ch: amqp.Channel): Promise<unknown> =>
  (ch as unknown as Rpc).rpc(MethodId.ConfirmSelect, { nowait: false }, MethodId.ConfirmSelectOk);

/** Resolves with the error of the next server-initiated channel close. */
export function nextChannelError(ch: amqp.Channel): Promise<AmqpError> {
  return new Promise((resolve) => ch.once('error', resolve));
}

/** Resolves once the channel has closed (for any reason). */
export function channelClosed(ch: amqp.Channel): Promise<void> {
  return new Promise((resolve) => ch.once('close', () => resolve()));
}

/** `p`, or a rejection naming `what` after `ms` (so a missing reply fails instead of hanging). */
export async function within<T>(p: Promise<T>, what: string, ms = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * An amqplib connection whose TCP stream a test can cut (`drop`) without a connection.close.
 * amqplib does not notice its own stream being destroyed (its timers keep the process alive and
 * `close()` never settles), so `drop` also tells amqplib the socket died.
 */
export async function connectDroppable(
  t: TestContext,
  url: string,
): Promise<{ conn: amqp.ChannelModel; drop: () => void }> {
  const conn = await amqp.connect(url);
  conn.on('error', () => {});
  let dropped = false;
  t.after(async () => {
    if (!dropped) await conn.close().catch(() => {});
  });
  return {
    conn,
    drop: () => {
      dropped = true;
      const c = (
        conn as unknown as {
          connection: { stream: { destroy(): void }; onSocketError(err: Error): void };
        }
      ).connection;
      c.stream.destroy();
      // Let amqplib tear itself down (heartbeat timers) as if it had seen the socket die.
      c.onSocketError(new Error('connection dropped by the test'));
    },
  };
}

/** Resolves with the error the connection closed with (undefined for a clean close). */
export function connectionClosed(conn: amqp.ChannelModel): Promise<Error | undefined> {
  return new Promise((resolve) => conn.once('close', resolve));
}

/** Checks an rpc rejection / channel error carries `code`. */
export function hasCode(code: number): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.equal((err as AmqpError).code, code, `expected reply code ${code}, got ${String(err)}`);
    return true;
  };
}

/** A fresh amqplib connection can declare, publish, get and ack: the broker still serves. */
export async function assertServing(t: TestContext, url: string): Promise<void> {
  const conn = await connect(t, url);
  const ch = await openConfirmChannel(conn);
  const { queue } = await ch.assertQueue('', { exclusive: true, durable: false });
  ch.sendToQueue(queue, Buffer.from('still-serving'));
  await ch.waitForConfirms();
  const m = await ch.get(queue);
  assert.ok(m !== false, 'the broker did not return the message just published');
  assert.equal(m.content.toString(), 'still-serving');
  ch.ack(m);
  await conn.close();
}

/**
 * An amqplib connection that publishes (with confirms) and consumes on its own queue in a loop
 * until stopped. `progress()` is the number of messages that made the full round trip.
 */
export async function startBystander(
  t: TestContext,
  url: string,
): Promise<{ progress: () => number; stop: () => Promise<{ sent: number; received: number }> }> {
  const conn = await connect(t, url);
  const pub = await openConfirmChannel(conn);
  const sub = await openChannel(conn);
  const { queue } = await pub.assertQueue('', { exclusive: true, durable: false });
  let received = 0;
  let sent = 0;
  let expected = 0;
  let outOfOrder = 0;
  await sub.consume(
    queue,
    (m) => {
      if (m === null) return;
      if (Number(m.content.toString()) !== expected) outOfOrder++;
      expected++;
      received++;
      sub.ack(m);
    },
    { noAck: false },
  );
  let running = true;
  const loop = (async () => {
    while (running) {
      for (let i = 0; i < 20; i++) pub.sendToQueue(queue, Buffer.from(String(sent++)));
      await pub.waitForConfirms();
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  return {
    progress: () => received,
    stop: async () => {
      running = false;
      await loop;
      await eventually(() => assert.equal(received, sent));
      assert.equal(outOfOrder, 0, 'bystander saw messages out of order');
      await conn.close();
      return { sent, received };
    },
  };
}

/** Waits until the bystander has completed `n` more round trips. */
export async function bystanderAdvances(b: { progress: () => number }, n = 50): Promise<void> {
  const start = b.progress();
  await eventually(() => assert.ok(b.progress() >= start + n, 'bystander stalled'));
}

export { MethodId };

/** The next message of `queue` by basic.get, polled (dead letters and retries arrive later). */
export async function nextMessage(
  ch: amqp.Channel,
  queue: string,
  ms = 15000,
): Promise<amqp.GetMessage> {
  let got: amqp.GetMessage | false = false;
  await until(async () => (got = await ch.get(queue)) !== false, `a message in '${queue}'`, ms);
  return got as unknown as amqp.GetMessage;
}

/** The x-death entries of a message, newest first. */
export function deathsOf(m: amqp.Message): Record<string, unknown>[] {
  return (m.properties.headers?.['x-death'] ?? []) as unknown as Record<string, unknown>[];
}

/** A dead-letter exchange `dlx` (fanout) with the queue `dlq` bound to it. */
export async function withDlq(ch: amqp.Channel): Promise<void> {
  await ch.assertExchange('dlx', 'fanout', { durable: true });
  await ch.assertQueue('dlq', { durable: true });
  await ch.bindQueue('dlq', 'dlx', '');
}
