import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Broker } from '../../core/broker.js';
import type { ClientConnection } from '../../core/connection.js';
import {
  BatonError,
  ChannelError,
  CommandInvalidError,
  InternalError,
  NotAllowedError,
  NotImplementedError,
  UnexpectedFrameError,
} from '../../core/errors.js';
import { AmqpChannel } from './channel.js';
import { PROTOCOL_HEADER } from './constants.js';
import { authenticate } from './auth.js';
import type { FieldTable } from './field-table.js';
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
import { serverProperties } from './server-properties.js';

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

type State = 'header' | 'start-ok' | 'tune-ok' | 'open' | 'opened' | 'closing' | 'closed';

/** Set BATON_NO_ACK_NUDGE=1 to measure without the heartbeat nudge (bench comparisons). */
const ACK_NUDGE = process.env.BATON_NO_ACK_NUDGE !== '1';
/** Longest a publisher's socket stays unread under flow control in one go. */
const MAX_FLOW_PAUSE_MS = 5000;
const FRAME_METHOD = 1;
const FRAME_HEADER = 2;
const FRAME_BODY = 3;
const FRAME_HEARTBEAT = 8;

/**
 * One client socket: the handshake, heartbeats, channel multiplexing and the mapping of core
 * errors to channel.close (soft) or connection.close (hard).
 */
export class AmqpConnection {
  readonly socket: Socket;
  readonly broker: Broker;
  readonly options: AmqpOptions;
  readonly logger: Logger;
  private state: State = 'header';
  private readonly reader: FrameReader;
  private readonly channels = new Map<number, AmqpChannel>();
  private coreConnection: ClientConnection | undefined;
  frameMax: number;
  private channelMax: number;
  private heartbeat = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  /**
   * Heartbeat bookkeeping counts timer ticks (every half interval), never clock readings: a
   * jumping clock (faketime, a suspended VM) or a stall of this process then cannot make every
   * peer look silent at once. Set on each read / write, cleared by the tick.
   */
  private readSinceTick = true;
  private wroteSinceTick = true;
  private silentTicks = 0;
  private corked = false;
  /** False while the socket's buffer is over its high-water mark. */
  writable = true;
  /** True while flow control has stopped reading this socket. */
  private readPaused = false;
  private flowTimer: NodeJS.Timeout | undefined;
  /** This connection has published: an alarm blocks it at once (RabbitMQ: a publisher). */
  private publisher = false;
  /** True while a resource alarm has stopped reading this socket (it published during one). */
  private alarmBlocked = false;
  /** connection.blocked was sent and connection.unblocked is owed. */
  private blockedSent = false;
  /** Set by channels when this input chunk completed a publish. */
  published = false;
  readonly capabilities = { consumerCancelNotify: false, connectionBlocked: false };
  /** The authenticated user name. */
  user = '';
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
    this.frameMax = options.frameMax;
    this.channelMax = options.channelMax;
    this.reader = new FrameReader({
      onProtocolHeader: (ok) => this.onProtocolHeader(ok),
      onFrame: (type, channel, payload) => this.onFrame(type, channel, payload),
    });
    // Before tune-ok the client may send frames up to the spec minimum only.
    this.reader.frameMax = 4096;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (err) => this.logger.debug({ err }, 'amqp socket error'));
    socket.on('close', () => this.teardown());
    this.handshakeTimer = setTimeout(() => {
      this.logger.info({ remote: socket.remoteAddress }, 'amqp handshake timed out');
      socket.destroy();
    }, options.handshakeTimeout ?? 10_000);
  }

  get core(): ClientConnection {
    return this.coreConnection!;
  }

  // ---- input ----------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.readSinceTick = true;
    try {
      this.reader.push(chunk);
    } catch (err) {
      this.fail(err, 0, 0);
    }
    if (this.published) {
      this.published = false;
      this.publisher = true;
      // As RabbitMQ: a connection is blocked once it publishes while an alarm is on.
      if (this.broker.alarms.blocked && !this.alarmBlocked) this.blockForAlarm();
      // Most clients (amqplib by default) leave Nagle on, so their next publish sits in their
      // kernel until our TCP ACK, which our kernel delays until we send something (a confirm
      // only goes out after the fsync). A heartbeat frame may be sent at any time and is the
      // smallest thing that carries the ACK now.
      if (!this.corked && ACK_NUDGE) this.write(HEARTBEAT_FRAME);
    }
  }

  private onProtocolHeader(ok: boolean): void {
    if (!ok) {
      // Spec: answer a header we do not speak with the one we do, then close.
      this.socket.end(PROTOCOL_HEADER);
      this.state = 'closed';
      return;
    }
    this.state = 'start-ok';
    this.sendMethod(0, MethodId.ConnectionStart, {
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: serverProperties(),
      mechanisms: Buffer.from('PLAIN AMQPLAIN'),
      locales: Buffer.from('en_US'),
    });
  }

  private onFrame(type: number, channel: number, payload: Buffer): void {
    if (this.state === 'closed') return;
    try {
      if (type === FRAME_METHOD) {
        const m = decodeMethod(payload, 0, payload.length);
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
        return;
      }
      if (this.state !== 'opened')
        throw new UnexpectedFrameError(`content frame before the connection was opened`);
      const ch = this.channelFor(channel);
      if (ch.closing) return;
      try {
        if (type === FRAME_HEADER) ch.onHeader(payload);
        else if (type === FRAME_BODY) ch.onBody(payload);
        else throw new UnexpectedFrameError(`unknown frame type ${type}`);
      } catch (err) {
        this.fail(err, channel, MethodId.BasicPublish);
      }
    } catch (err) {
      this.fail(err, channel, 0);
    }
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
    switch (m.id) {
      case MethodId.ConnectionStartOk: {
        if (this.state !== 'start-ok') break;
        const caps = m.clientProperties.capabilities;
        if (
          caps !== null &&
          typeof caps === 'object' &&
          !Buffer.isBuffer(caps) &&
          !Array.isArray(caps)
        ) {
          const c = caps as FieldTable;
          this.capabilities.consumerCancelNotify = c.consumer_cancel_notify === true;
          this.capabilities.connectionBlocked = c['connection.blocked'] === true;
        }
        this.user = authenticate(m.mechanism, m.response, this.socket.remoteAddress);
        this.state = 'tune-ok';
        this.sendMethod(0, MethodId.ConnectionTune, {
          channelMax: this.options.channelMax,
          frameMax: this.options.frameMax,
          heartbeat: this.options.heartbeat,
        });
        return;
      }
      case MethodId.ConnectionTuneOk: {
        if (this.state !== 'tune-ok') break;
        // As RabbitMQ: the client may lower the server's limits, never lift or remove them.
        const fm = m.frameMax;
        if (fm === 0 || fm > this.options.frameMax)
          throw new NotAllowedError(
            `negotiated frame_max = ${fm} is higher than the maximum allowed value (${this.options.frameMax})`,
          );
        if (fm < 4096)
          throw new NotAllowedError(
            `negotiated frame_max = ${fm} is lower than the minimum allowed value (4096)`,
          );
        if (m.channelMax === 0 || m.channelMax > this.options.channelMax)
          throw new NotAllowedError(
            `negotiated channel_max = ${m.channelMax} is higher than the maximum allowed value (${this.options.channelMax})`,
          );
        this.frameMax = fm;
        this.reader.frameMax = fm;
        this.channelMax = m.channelMax;
        this.startHeartbeat(m.heartbeat);
        this.state = 'open';
        return;
      }
      case MethodId.ConnectionOpen: {
        if (this.state !== 'open') break;
        let vhost;
        try {
          vhost = this.broker.vhost(m.virtualHost);
        } catch {
          throw new NotAllowedError(`vhost '${m.virtualHost}' not found`);
        }
        this.coreConnection = this.broker.connect(
          {
            user: this.user,
            remoteAddress: this.socket.remoteAddress ?? '',
            protocol: 'amqp-0-9-1',
          },
          vhost.name,
        );
        this.coreConnection.onFlow = (blocked) => {
          // Flow control: stop reading this client while a queue it feeds catches up.
          this.readPaused = blocked;
          clearTimeout(this.flowTimer);
          if (blocked) {
            this.socket.pause();
            // Bound each pause, so a client's own connection.close is read within seconds.
            this.flowTimer = setTimeout(() => this.resumeReading(), MAX_FLOW_PAUSE_MS).unref();
          } else this.resumeReading();
        };
        // The broker (an operator, later the management API) may close us.
        this.coreConnection.onCloseRequest = (code, reason) =>
          this.closeWith(code, `CONNECTION_FORCED - ${reason}`);
        clearTimeout(this.handshakeTimer);
        this.state = 'opened';
        this.sendMethod(0, MethodId.ConnectionOpenOk, { knownHosts: '' });
        return;
      }
      case MethodId.ConnectionClose:
        this.sendMethod(0, MethodId.ConnectionCloseOk, {});
        this.state = 'closed';
        this.socket.end();
        this.teardown();
        return;
      case MethodId.ConnectionCloseOk:
        if (this.state === 'closing') {
          this.state = 'closed';
          this.socket.end();
          this.teardown();
        }
        return;
      case MethodId.ConnectionUpdateSecret:
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
    throw new CommandInvalidError(
      `${methodName(m.id)} is not valid while the connection is in state '${this.state}'`,
    );
  }

  // ---- errors ---------------------------------------------------------------------------

  /** Map an error to channel.close or connection.close. */
  private fail(err: unknown, channel: number, methodKey: number): void {
    const e =
      err instanceof BatonError
        ? err
        : new InternalError('internal error; see the broker log', err);
    if (!(err instanceof BatonError))
      this.logger.error({ err }, 'unexpected error in amqp connection');
    const classId = (err as { classId?: number }).classId ?? methodKey >>> 16;
    const methodId = (err as { methodId?: number }).methodId ?? methodKey & 0xffff;
    const ch = channel === 0 ? undefined : this.channels.get(channel);
    if (e.scope === 'channel' && ch !== undefined && this.state === 'opened') {
      ch.closing = true;
      ch.destroy();
      this.sendMethod(channel, MethodId.ChannelClose, {
        replyCode: e.replyCode,
        replyText: replyText(e),
        classId,
        methodId,
      });
      return;
    }
    this.closeWith(e.replyCode, replyText(e), classId, methodId);
  }

  /** Hard error or shutdown: send connection.close and drop everything but close-ok. */
  closeWith(replyCode: number, text: string, classId = 0, methodId = 0): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    const handshaking = this.state !== 'opened';
    this.state = 'closing';
    for (const ch of this.channels.values()) ch.destroy();
    this.channels.clear();
    this.coreConnection?.close();
    this.sendMethod(0, MethodId.ConnectionClose, { replyCode, replyText: text, classId, methodId });
    this.uncork();
    // Do not wait forever for close-ok; a client mid-handshake often never sends it.
    const t = setTimeout(() => this.socket.destroy(), handshaking ? 100 : 1000);
    t.unref();
  }

  // ---- output ---------------------------------------------------------------------------

  /** Queue bytes for the socket; corked for the rest of this turn. Returns false when full. */
  write(buf: Buffer): boolean {
    if (this.state === 'closed') return false;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncorkTick);
    }
    this.wroteSinceTick = true;
    if (!this.socket.write(buf)) this.writable = false;
    return this.writable;
  }

  private readonly uncorkTick = (): void => this.uncork();

  private uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  private onDrain(): void {
    this.writable = true;
    for (const ch of this.channels.values())
      for (const c of ch.session.consumers.values()) c.resume();
  }

  sendMethod<K extends MethodKey>(channel: number, id: K, args: MethodArgs[K]): void {
    this.write(encodeMethodFrame(channel, id, args));
  }

  sendConfirm(channel: number, tag: number, nack: boolean): void {
    if (!this.channels.has(channel)) return;
    this.write(
      nack ? encodeBasicNack(channel, tag, true, false) : encodeBasicAck(channel, tag, true),
    );
  }

  private resumeReading(): void {
    this.readPaused = false;
    // Read only when neither flow control nor an alarm holds the socket.
    if (this.alarmBlocked) return;
    this.readSinceTick = true;
    this.socket.resume();
  }

  private blockForAlarm(): void {
    this.alarmBlocked = true;
    this.socket.pause();
    this.tellBlocked();
  }

  private consumes(): boolean {
    if (this.coreConnection === undefined) return false;
    for (const session of this.coreConnection.sessions)
      if (session.consumers.size !== 0) return true;
    return false;
  }

  private tellBlocked(): void {
    if (this.blockedSent || !this.capabilities.connectionBlocked || this.state !== 'opened') return;
    this.sendMethod(0, MethodId.ConnectionBlocked, { reason: this.broker.alarms.reason });
    this.blockedSent = true;
  }

  /**
   * The listener relays alarm changes. As RabbitMQ: when one goes on, every connection that
   * has published is told at once (a publisher waiting for confirms may not publish again for
   * a long time). A publishing-only connection stops being read now; one that also consumes
   * keeps being read (its acks may be what frees the resource) until its next publish. When
   * the last alarm clears, blocked connections are told and read again.
   */
  onAlarm(blocked: boolean): void {
    if (blocked) {
      if (!this.publisher || this.alarmBlocked) return;
      if (this.consumes()) this.tellBlocked();
      else this.blockForAlarm();
      return;
    }
    if (this.blockedSent && this.state === 'opened')
      this.sendMethod(0, MethodId.ConnectionUnblocked, {});
    this.blockedSent = false;
    if (!this.alarmBlocked) return;
    this.alarmBlocked = false;
    if (!this.readPaused && this.state !== 'closed') {
      this.readSinceTick = true;
      this.socket.resume();
    }
  }

  // ---- heartbeats and teardown ----------------------------------------------------------

  private startHeartbeat(clientHeartbeat: number): void {
    const hb = clientHeartbeat;
    this.heartbeat = hb;
    if (hb === 0) return;
    const ms = hb * 1000;
    this.heartbeatTimer = setInterval(() => {
      // While we are not reading, the client's heartbeats wait in the socket: not its fault.
      if (this.readSinceTick || this.readPaused || this.alarmBlocked) this.silentTicks = 0;
      else this.silentTicks++;
      this.readSinceTick = false;
      // Four silent half-intervals: two heartbeats missed (spec 4.2.7).
      if (this.silentTicks >= 4) {
        this.logger.info(
          { remote: this.socket.remoteAddress },
          'missed heartbeats: closing connection',
        );
        this.socket.destroy();
        return;
      }
      if (!this.wroteSinceTick) this.write(HEARTBEAT_FRAME);
      this.wroteSinceTick = false;
    }, ms / 2);
    this.heartbeatTimer.unref();
  }

  /** Socket gone: requeue everything this connection held and drop exclusive queues. */
  private teardown(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    clearTimeout(this.flowTimer);
    clearTimeout(this.handshakeTimer);
    for (const ch of this.channels.values()) ch.destroy();
    this.channels.clear();
    this.coreConnection?.close();
    if (this.state !== 'closed') this.state = 'closed';
    const cb = this.onClosed;
    this.onClosed = undefined;
    cb?.(this);
  }

  /** Broker shutdown: tell the client why, then close. */
  shutdown(): void {
    if (this.state === 'opened' || this.state === 'open')
      this.closeWith(320, 'CONNECTION_FORCED - broker shutting down');
    else this.socket.destroy();
  }
}

/** RabbitMQ puts the symbolic code name in front of the text; clients show it. */
function replyText(e: BatonError): string {
  const name = e.code.replace(/^BATON_/, '');
  let text = `${name} - ${e.message}`;
  while (Buffer.byteLength(text) > 255) text = text.slice(0, -4) + '...';
  return text;
}
