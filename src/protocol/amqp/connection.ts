import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Broker } from '../../core/broker.js';
import type { ClientConnection } from '../../core/connection.js';
import {
  type BatonError,
  ChannelError,
  CommandInvalidError,
  NotAllowedError,
  NotImplementedError,
  UnexpectedFrameError,
} from '../../core/errors.js';
import { AmqpChannel } from './channel.js';
import { connectionLog, connectionName, type CloseReason } from './connection-log.js';
import { errorReply } from './error-reply.js';
import { FrameReader } from './frame-reader.js';
import { encodeBasicAck, encodeBasicNack, HEARTBEAT_FRAME } from './frame-writer.js';
import {
  decodeMethod,
  encodeMethodFrame,
  MethodId,
  methodName,
  type AmqpMethod,
  type MethodArgs,
  type MethodKey,
} from './generated/methods.js';
import { Handshake, type ClientCapabilities, type Tuning } from './handshake.js';
import { AmqpConnectionDetails } from './details.js';
import { Heartbeat } from './heartbeat.js';
import { FrameOutput } from './output.js';
import { ReadGate } from './read-gate.js';

export interface AmqpOptions {
  host: string;
  port: number;
  heartbeat: number;
  frameMax: number;
  channelMax: number;
  maxMessageSize: number;
  /** Milliseconds a client has to finish the handshake (RabbitMQ: 10 s). */
  handshakeTimeout?: number;
}

type State = 'handshake' | 'opened' | 'closing' | 'closed';

/** Set BATON_NO_ACK_NUDGE=1 to measure without the heartbeat nudge (bench comparisons). */
const ACK_NUDGE = process.env.BATON_NO_ACK_NUDGE !== '1';
const FRAME_METHOD = 1;
const FRAME_HEADER = 2;
const FRAME_BODY = 3;
const FRAME_HEARTBEAT = 8;

/**
 * One client socket. It owns the channels and wires the parts: the handshake (handshake.ts),
 * output and heartbeats (output.ts, heartbeat.ts), the error mapping (error-reply.ts) and when
 * the socket is read (read-gate.ts); here are input dispatch, the connection-class methods
 * after the handshake, and teardown.
 */
export class AmqpConnection {
  readonly socket: Socket;
  readonly broker: Broker;
  readonly options: AmqpOptions;
  readonly logger: Logger;
  private state: State = 'handshake';
  private readonly reader: FrameReader;
  /** The socket's write side; channels encode deliveries straight into it. */
  readonly output: FrameOutput;
  private readonly handshake: Handshake;
  private readonly heartbeat: Heartbeat;
  private readonly gate: ReadGate;
  private readonly channels = new Map<number, AmqpChannel>();
  private coreConnection: ClientConnection | undefined;
  frameMax: number;
  private channelMax: number;
  /** Negotiated heartbeat in seconds (0: none). */
  private heartbeatSeconds = 0;
  /** Set by channels when this input chunk completed a publish. */
  published = false;
  /** Set by channels when this input chunk completed a publish that is no direct reply-to request. */
  publishedPlain = false;
  /** Set by channels when this input chunk carried a basic.ack, nack or reject. */
  settled = false;
  /** Some chunk on this connection completed a publish (a producer, or an RPC responder). */
  private producer = false;
  /** Frames read while an answer is owed (holdChannel); undefined when none is. */
  private held: HeldFrame[] | undefined = undefined;
  /** The socket closed while frames were held: tear down once they are carried out. */
  private socketGone = false;
  readonly capabilities: ClientCapabilities;
  /** RabbitMQ's name for it, "peer -> local"; the socket forgets its addresses once closed. */
  readonly name: string;
  /** When the socket was accepted (Date.now()). */
  readonly connectedAt = Date.now();
  /** Why it is closing, for the close line; unset while nobody has said. */
  private closeReason: CloseReason | undefined = undefined;
  /** The opened line went out and the closed line has not. */
  private logOpen = false;
  private onClosed: ((c: AmqpConnection) => void) | undefined;

  constructor(
    socket: Socket,
    broker: Broker,
    options: AmqpOptions,
    logger: Logger,
    onClosed?: (c: AmqpConnection) => void,
  ) {
    this.socket = socket;
    this.broker = broker;
    this.options = options;
    this.logger = logger;
    this.onClosed = onClosed;
    this.name = connectionName(socket);
    this.frameMax = options.frameMax;
    this.channelMax = options.channelMax;
    this.output = new FrameOutput(socket);
    this.output.onDrain = () => this.onDrain();
    const sendMethod = <K extends MethodKey>(channel: number, id: K, args: MethodArgs[K]) =>
      this.sendMethod(channel, id, args);
    this.gate = new ReadGate(
      {
        socket,
        sendMethod,
        canNotifyBlocked: () => this.capabilities.connectionBlocked && this.state === 'opened',
        isClosed: () => this.state === 'closed',
        consumes: () => this.consumes(),
        resumed: () => (this.heartbeat.readSinceTick = true),
      },
      broker.alarms,
    );
    this.heartbeat = new Heartbeat(this.output, {
      // Not reading (flow, alarm, a held answer): the peer's heartbeats wait in the socket.
      readHeld: () => this.gate.held || this.held !== undefined,
      beat: () => this.output.write(HEARTBEAT_FRAME),
      missed: () => {
        connectionLog.heartbeatTimeout(logger, this.logFacts(), this.heartbeatSeconds);
        this.closeReason ??= {
          by: 'broker',
          reason: `missed heartbeats from client, timeout: ${this.heartbeatSeconds}s`,
        };
        socket.destroy();
      },
    });
    this.handshake = new Handshake({
      socket,
      broker,
      options,
      logger,
      sendMethod,
      hold: (answer, methodKey) =>
        this.holdInput(answer, (err) => {
          if (this.state === 'handshake') this.fail(err, 0, methodKey);
        }),
      tuned: (t: Tuning) => {
        this.frameMax = t.frameMax;
        this.reader.frameMax = t.frameMax;
        this.channelMax = t.channelMax;
        this.heartbeatSeconds = t.heartbeat;
        this.heartbeat.start(t.heartbeat);
      },
      opened: (core: ClientConnection) => {
        this.coreConnection = core;
        core.onFlow = this.gate.onFlow;
        core.details = new AmqpConnectionDetails({
          name: this.name,
          connectedAt: this.connectedAt,
          socket,
          handshake: this.handshake,
          tuning: () => ({
            frameMax: this.frameMax,
            channelMax: this.channelMax,
            heartbeat: this.heartbeatSeconds,
          }),
          blocked: () => this.gate.held,
        });
        // The broker (an operator, later the management API) may close us.
        core.onCloseRequest = (code, reason) =>
          this.closeWith(code, `CONNECTION_FORCED - ${reason}`);
        this.state = 'opened';
        this.logOpen = true;
        connectionLog.opened(
          logger,
          this.logFacts(),
          this.handshake.clientProperties,
          this.heartbeatSeconds,
        );
      },
    });
    this.capabilities = this.handshake.capabilities;
    this.reader = new FrameReader({
      onProtocolHeader: (ok) => {
        if (!this.handshake.onProtocolHeader(ok)) this.markClosed();
      },
      onFrame: (type, channel, buf, start, end) => this.onFrame(type, channel, buf, start, end),
    });
    // Before tune-ok the client may send frames up to the spec minimum only.
    this.reader.frameMax = 4096;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (err) => this.logger.debug({ err }, 'amqp socket error'));
    socket.on('close', () => {
      // Frames read before the peer went are still carried out (as RabbitMQ does): a held
      // batch finishes first.
      if (this.held !== undefined) this.socketGone = true;
      else this.teardown();
    });
  }

  get core(): ClientConnection {
    return this.coreConnection!;
  }

  /** The authenticated user name. */
  get user(): string {
    return this.handshake.user;
  }

  /** False while the socket's buffer is over its high-water mark. */
  get writable(): boolean {
    return this.output.writable;
  }

  // ---- input ----------------------------------------------------------------------------

  /**
   * When the socket chunk being handled arrived (Date.now()): the arrival time of the
   * messages in it (x-message-ttl counts from it), read once per chunk, not per message.
   */
  arrivedAt = 0;

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.arrivedAt = Date.now();
    this.heartbeat.readSinceTick = true;
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.fail(err, 0, 0);
    }
    this.afterInput();
  }

  /** After a batch of input: publisher bookkeeping once per batch. */
  private afterInput(): void {
    const settled = this.settled;
    const plain = this.publishedPlain;
    this.settled = this.publishedPlain = false;
    if (this.published) {
      this.published = false;
      this.producer = true;
      this.gate.published();
    }
    // Most clients (amqplib by default) leave Nagle on, so their next publish sits in their
    // kernel until our TCP ACK, which our kernel delays until we send something (a confirm
    // only goes out after the fsync). A heartbeat frame may be sent at any time and is the
    // smallest thing that carries the ACK now. The same for an ack from a client that also
    // publishes (an RPC responder: reply, then ack): its next reply waits behind that ack
    // otherwise. Not for a pure consumer's ack (nothing waits behind it), nor for direct
    // reply-to requests: their replies come back on this connection and carry the ACK.
    if (ACK_NUDGE && (plain || (settled && this.producer))) this.output.nudge();
  }

  private onFrame(type: number, channel: number, buf: Buffer, start: number, end: number): void {
    if (this.state === 'closed') return;
    // While an answer is owed (basic.get reading from disk), every later frame waits, on
    // every channel, so the client's frames take effect in the order it sent them.
    const held = this.held;
    if (held !== undefined) {
      held.push({ type, channel, payload: Buffer.from(buf.subarray(start, end)) });
      return;
    }
    try {
      if (type === FRAME_METHOD) {
        if (channel !== 0 && this.state === 'opened' && end - start >= 4) {
          const id = buf.readUInt32BE(start);
          if (id === MethodId.BasicPublish || id === MethodId.BasicAck) {
            const ch = this.channels.get(channel);
            if (ch !== undefined && !ch.closing) {
              try {
                if (ch.onHotMethod(id, buf, start + 4, end)) return;
              } catch (err) {
                this.fail(err, channel, id);
                return;
              }
            }
          }
        }
        const m = decodeMethod(buf, start, end - start);
        try {
          if (channel === 0) this.onConnectionMethod(m);
          else this.onChannelMethod(channel, m);
        } catch (err) {
          this.fail(err, channel, m.id);
        }
        return;
      }
      if (type === FRAME_HEARTBEAT) {
        if (channel !== 0)
          throw new UnexpectedFrameError(
            `heartbeat frame on channel ${channel}; heartbeats use channel 0`,
          );
        // Heartbeats are negotiated by tune-ok: before it a client has none to send.
        if (this.state === 'handshake' && this.handshake.step !== 'open')
          throw new UnexpectedFrameError('heartbeat frame before connection.tune-ok');
        return;
      }
      if (this.state !== 'opened')
        throw new UnexpectedFrameError(`content frame before the connection was opened`);
      const ch = this.channelFor(channel);
      if (ch.closing) return;
      try {
        if (type === FRAME_HEADER) ch.onHeader(buf, start, end);
        else if (type === FRAME_BODY) ch.onBody(buf, start, end);
        else throw new UnexpectedFrameError(`unknown frame type ${type}`);
      } catch (err) {
        this.fail(err, channel, MethodId.BasicPublish);
      }
    } catch (err) {
      this.fail(err, channel, 0);
    }
  }

  /**
   * Hold this connection's input until `answer` settles (it sends the owed reply on `ch`),
   * then replay what came meanwhile, in order. The socket is not read meanwhile, so what is
   * held is at most what was already read. A failed answer is that channel's error, mapped as
   * any other.
   */
  holdChannel(ch: AmqpChannel, answer: Promise<void>, methodKey: number): void {
    this.holdInput(answer, (err) => {
      if (this.channels.get(ch.id) === ch && !ch.closing) this.fail(err, ch.id, methodKey);
    });
  }

  /** Hold all input until `answer` settles (see holdChannel); `failed` maps its rejection. */
  private holdInput(answer: Promise<void>, failed: (err: unknown) => void): void {
    if (this.held === undefined) {
      this.held = [];
      this.socket.pause();
    }
    answer.then(
      () => this.replayHeld(),
      (err: unknown) => {
        failed(err);
        this.replayHeld();
      },
    );
  }

  private replayHeld(): void {
    const frames = this.held ?? [];
    this.held = undefined;
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      // A replayed frame may start a new wait: the rest queue behind it, in order.
      const again = this.heldFrames();
      if (again !== undefined) {
        for (let j = i; j < frames.length; j++) again.push(frames[j]!);
        return;
      }
      this.onFrame(f.type, f.channel, f.payload, 0, f.payload.length);
    }
    this.afterInput();
    if (this.socketGone) this.teardown();
    else if (!this.gate.held && this.state !== 'closed') this.socket.resume();
  }

  /** Read through a call: a replayed frame may set it again (TS narrows the field otherwise). */
  private heldFrames(): HeldFrame[] | undefined {
    return this.held;
  }

  private channelFor(id: number): AmqpChannel {
    const ch = this.channels.get(id);
    if (ch === undefined) throw new ChannelError(`channel ${id} is not open`);
    return ch;
  }

  private onChannelMethod(channel: number, m: AmqpMethod): void {
    if (this.state !== 'opened') {
      if (this.state === 'closing') return;
      throw new UnexpectedFrameError(
        `${methodName(m.id)} on channel ${channel} before connection.open`,
      );
    }
    if (m.id === MethodId.ChannelOpen) {
      if (this.channels.has(channel)) throw new ChannelError(`channel ${channel} is already open`);
      if (channel > this.channelMax)
        throw new NotAllowedError(
          `channel ${channel} is above the negotiated channel-max of ${this.channelMax}`,
        );
      this.channels.set(channel, new AmqpChannel(this, channel));
      this.sendMethod(channel, MethodId.ChannelOpenOk, { channelId: Buffer.alloc(0) });
      return;
    }
    const ch = this.channelFor(channel);
    if (m.id === MethodId.ChannelCloseOk) {
      if (ch.closing) this.dropChannel(ch);
      return;
    }
    if (m.id === MethodId.ChannelClose) {
      this.dropChannel(ch);
      this.sendMethod(channel, MethodId.ChannelCloseOk, {});
      return;
    }
    if (ch.closing) return; // Everything else is dropped until close-ok (spec 2.2.3).
    ch.onMethod(m);
  }

  private dropChannel(ch: AmqpChannel): void {
    this.channels.delete(ch.id);
    ch.destroy();
  }

  private onConnectionMethod(m: AmqpMethod): void {
    if (this.state === 'handshake' && this.handshake.onMethod(m)) return;
    switch (m.id) {
      case MethodId.ConnectionStartOk:
      case MethodId.ConnectionTuneOk:
      case MethodId.ConnectionOpen:
        break; // Out of order: answered below.
      case MethodId.ConnectionClose:
        this.closeReason ??= { by: 'client', code: m.replyCode, reason: m.replyText };
        this.sendMethod(0, MethodId.ConnectionCloseOk, {});
        this.markClosed();
        this.socket.end();
        this.teardown();
        return;
      case MethodId.ConnectionCloseOk:
        if (this.state === 'closing') {
          this.markClosed();
          this.socket.end();
          this.teardown();
        }
        return;
      case MethodId.ConnectionUpdateSecret:
        // Before open-ok a client may only authenticate, tune, open or close.
        if (this.state !== 'opened') break;
        // Baton has no expiring credentials (no OAuth yet); accept as a no-op.
        this.sendMethod(0, MethodId.ConnectionUpdateSecretOk, {});
        return;
      case MethodId.ConnectionBlocked:
      case MethodId.ConnectionUnblocked:
        throw new NotImplementedError(
          `${methodName(m.id)} is sent by the broker to clients; clients cannot block the broker (use channel.flow to pause deliveries)`,
        );
      default:
        if (this.state === 'closing') return;
        throw new NotImplementedError(
          `${methodName(m.id)} is not a connection method a client sends (or is not implemented on channel 0)`,
        );
    }
    if (this.state === 'closing') return;
    const where = this.state === 'handshake' ? this.handshake.step : this.state;
    throw new CommandInvalidError(
      `${methodName(m.id)} is not valid while the connection is in state '${where}'`,
    );
  }

  // ---- errors ---------------------------------------------------------------------------

  /** Close one channel with a channel-scoped error raised outside any frame (a timeout). */
  failChannel(channel: number, err: BatonError): void {
    this.fail(err, channel, 0);
    this.output.uncork();
  }

  /** Answer an error with channel.close (channel scope, channel open) or connection.close. */
  private fail(err: unknown, channel: number, methodKey: number): void {
    const r = errorReply(err, methodKey, this.logger);
    const ch = channel === 0 ? undefined : this.channels.get(channel);
    const channelScope = r.scope === 'channel' && ch !== undefined && this.state === 'opened';
    // A refused login (403 while start-ok is handled) has its own line from the handshake.
    if (!(this.handshake.step === 'start-ok' && r.replyCode === 403))
      connectionLog.protocolError(
        this.logger,
        this.logFacts(),
        channelScope ? 'channel' : 'connection',
        channel,
        r.replyCode,
        r.replyText,
        (r.classId << 16) | r.methodId,
      );
    if (channelScope) {
      ch.closing = true;
      ch.destroy();
      this.sendMethod(channel, MethodId.ChannelClose, {
        replyCode: r.replyCode,
        replyText: r.replyText,
        classId: r.classId,
        methodId: r.methodId,
      });
      return;
    }
    this.closeWith(r.replyCode, r.replyText, r.classId, r.methodId);
  }

  /** Hard error or shutdown: send connection.close and drop everything but close-ok. */
  closeWith(replyCode: number, text: string, classId = 0, methodId = 0): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    const handshaking = this.state !== 'opened';
    this.state = 'closing';
    this.closeReason ??= { by: 'broker', code: replyCode, reason: text };
    for (const ch of this.channels.values()) ch.destroy();
    this.channels.clear();
    this.coreConnection?.close();
    this.sendMethod(0, MethodId.ConnectionClose, { replyCode, replyText: text, classId, methodId });
    this.output.uncork();
    // Do not wait forever for close-ok; a client mid-handshake often never sends it.
    const t = setTimeout(() => this.socket.destroy(), handshaking ? 100 : 1000);
    t.unref();
  }

  // ---- output ---------------------------------------------------------------------------

  /** Queue bytes for the socket; corked for the rest of this turn. Returns false when full. */
  write(buf: Buffer): boolean {
    return this.output.write(buf);
  }

  sendMethod<K extends MethodKey>(channel: number, id: K, args: MethodArgs[K]): void {
    this.output.write(encodeMethodFrame(channel, id, args));
  }

  /** A publisher confirm: ack everything up to `tag`, or nack exactly `tag`. */
  sendConfirm(channel: number, tag: number, nack: boolean): void {
    if (!this.channels.has(channel)) return;
    this.output.write(
      nack ? encodeBasicNack(channel, tag, false, false) : encodeBasicAck(channel, tag, true),
    );
  }

  private onDrain(): void {
    this.output.writable = true;
    for (const ch of this.channels.values())
      for (const c of ch.session.consumers.values()) c.resume();
  }

  // ---- alarms and teardown --------------------------------------------------------------

  /** A resource alarm went on or off (relayed by the listener). */
  onAlarm(blocked: boolean): void {
    this.gate.onAlarm(blocked);
  }

  private consumes(): boolean {
    if (this.coreConnection === undefined) return false;
    for (const session of this.coreConnection.sessions)
      if (session.consumers.size !== 0) return true;
    return false;
  }

  /** Socket gone: requeue everything this connection held and drop exclusive queues. */
  private teardown(): void {
    this.heartbeat.stop();
    this.gate.stop();
    this.handshake.stop();
    for (const ch of this.channels.values()) ch.destroy();
    this.channels.clear();
    this.coreConnection?.close();
    this.markClosed();
    if (this.logOpen) {
      this.logOpen = false;
      const why = this.closeReason ?? {
        by: 'client',
        reason: 'client closed the TCP connection without connection.close',
      };
      connectionLog.closed(this.logger, this.logFacts(), why, this.socket, this.connectedAt);
    }
    const cb = this.onClosed;
    this.onClosed = undefined;
    cb?.(this);
  }

  /** What every line about this connection names: who, where, on which vhost. */
  private logFacts(): { connection: string; user: string; vhost: string } {
    return {
      connection: this.name,
      user: this.handshake.user,
      vhost: this.coreConnection?.vhost.name ?? '',
    };
  }

  private markClosed(): void {
    this.state = 'closed';
    // What this turn encoded (close-ok) goes before the socket is ended.
    this.output.uncork();
    this.output.closed = true;
  }

  /** Broker shutdown: tell the client why, then close. */
  shutdown(): void {
    if (this.state === 'opened' || this.handshake.step === 'open')
      this.closeWith(320, 'CONNECTION_FORCED - broker shutting down');
    else this.socket.destroy();
  }
}

interface HeldFrame {
  type: number;
  channel: number;
  payload: Buffer;
}
