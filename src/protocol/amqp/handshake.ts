import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Broker } from '../../core/broker.js';
import type { ClientConnection } from '../../core/connection.js';
import { NotAllowedError } from '../../core/errors.js';
import { authenticate, mechanismsFor, peerIdentity, type PeerIdentity } from './auth.js';
import type { AmqpOptions } from './connection.js';
import { hostPort } from '../../util/host-port.js';
import { connectionLog } from './connection-log.js';
import { PROTOCOL_HEADER } from './constants.js';
import type { FieldTable } from './field-table.js';
import { MethodId, type AmqpMethod, type MethodArgs, type MethodKey } from './generated/methods.js';
import { serverProperties } from './server-properties.js';

/** Where the handshake stands: the next thing the client must send, or done. */
export type HandshakeStep = 'header' | 'start-ok' | 'tune-ok' | 'open' | 'done';

/** What tune / tune-ok settled. */
export interface Tuning {
  frameMax: number;
  channelMax: number;
  /** Seconds; 0 is off. */
  heartbeat: number;
}

/** The client features Baton acts on, from start-ok's `capabilities` table. */
export interface ClientCapabilities {
  consumerCancelNotify: boolean;
  connectionBlocked: boolean;
}

/** What the handshake needs from its connection. */
export interface HandshakeHost {
  readonly socket: Socket;
  readonly broker: Broker;
  readonly options: AmqpOptions;
  readonly logger: Logger;
  sendMethod<K extends MethodKey>(channel: number, id: K, args: MethodArgs[K]): void;
  /** tune-ok was accepted. */
  tuned(t: Tuning): void;
  /** Read no further input until `answer` settles; a rejection is the connection's error. */
  hold(answer: Promise<void>, methodKey: number): void;
  /** connection.open was accepted; open-ok follows. */
  opened(core: ClientConnection): void;
}

/**
 * The opening of a connection (AMQP 0-9-1 §2.2.4): protocol header, start / start-ok
 * (authentication, client capabilities), tune / tune-ok (limits, heartbeat), open / open-ok
 * (the vhost). A client that does not finish within `handshakeTimeout` is cut off.
 */
export class Handshake {
  step: HandshakeStep = 'header';
  /** The authenticated user name. */
  user = '';
  /** What start-ok said: the client's properties and its SASL mechanism (listings, logs). */
  clientProperties: FieldTable = {};
  mechanism = '';
  readonly capabilities: ClientCapabilities = {
    consumerCancelNotify: false,
    connectionBlocked: false,
  };
  private readonly host: HandshakeHost;
  /** Read once the protocol header is in, after the TLS handshake (AMQPS). */
  private peer: PeerIdentity = { refused: 'not a TLS connection' };
  private timer: NodeJS.Timeout | undefined;

  constructor(host: HandshakeHost) {
    this.host = host;
    this.timer = setTimeout(() => {
      const peer = hostPort(host.socket.remoteAddress, host.socket.remotePort);
      host.logger.warn({ peer }, `amqp handshake from ${peer} timed out: closing the socket`);
      host.socket.destroy();
    }, host.options.handshakeTimeout ?? 10_000);
  }

  /** The protocol header arrived; false when it names a protocol Baton does not speak. */
  onProtocolHeader(ok: boolean): boolean {
    if (!ok) {
      const peer = hostPort(this.host.socket.remoteAddress, this.host.socket.remotePort);
      this.host.logger.warn({ peer }, `amqp: ${peer} sent a protocol header other than AMQP 0-9-1`);
      // Spec: answer a header we do not speak with the one we do, then close.
      this.host.socket.end(PROTOCOL_HEADER);
      return false;
    }
    this.step = 'start-ok';
    this.peer = peerIdentity(this.host.socket);
    this.host.sendMethod(0, MethodId.ConnectionStart, {
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: serverProperties(),
      mechanisms: Buffer.from(mechanismsFor(this.peer)),
      locales: Buffer.from('en_US'),
    });
    return true;
  }

  /**
   * Handles start-ok, tune-ok and open when each is the one expected. Returns false for any
   * other method or one out of order (the connection answers those).
   */
  onMethod(m: AmqpMethod): boolean {
    switch (m.id) {
      case MethodId.ConnectionStartOk:
        if (this.step !== 'start-ok') return false;
        this.startOk(m.clientProperties, m.mechanism, m.response);
        return true;
      case MethodId.ConnectionTuneOk:
        if (this.step !== 'tune-ok') return false;
        this.tuneOk(m);
        return true;
      case MethodId.ConnectionOpen:
        if (this.step !== 'open') return false;
        this.open(m.virtualHost);
        return true;
      default:
        return false;
    }
  }

  /** The connection is going away: stop the handshake clock. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private startOk(clientProperties: FieldTable, mechanism: string, response: Buffer): void {
    const caps = clientProperties.capabilities;
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
    this.clientProperties = clientProperties;
    this.mechanism = mechanism;
    const socket = this.host.socket;
    const throttle = this.host.broker.logins;
    const user = authenticate(
      this.host.broker.access,
      throttle,
      mechanism,
      response,
      socket.remoteAddress,
      (user, reason) =>
        connectionLog.loginRefused(
          this.host.logger,
          hostPort(socket.remoteAddress, socket.remotePort),
          user,
          mechanism,
          reason,
          // While the address is throttled its one warning says so; each refusal is debug.
          throttle.throttled(socket.remoteAddress) ? 'debug' : 'warn',
        ),
      this.peer,
    );
    // A throttled login waits; no later frame is read meanwhile (a pre-auth client can only
    // authenticate), and the refusal, connection.close 403, goes out after the wait.
    if (typeof user === 'string') this.accepted(user);
    else
      this.host.hold(
        user.then((u) => this.accepted(u)),
        MethodId.ConnectionStartOk,
      );
  }

  private accepted(user: string): void {
    if (this.host.socket.destroyed) return;
    this.user = user;
    this.step = 'tune-ok';
    const o = this.host.options;
    this.host.sendMethod(0, MethodId.ConnectionTune, {
      channelMax: o.channelMax,
      frameMax: o.frameMax,
      heartbeat: o.heartbeat,
    });
  }

  private tuneOk(m: Tuning): void {
    const o = this.host.options;
    // As RabbitMQ: the client may lower the server's limits, never lift or remove them.
    const fm = m.frameMax;
    if (fm === 0 || fm > o.frameMax)
      throw new NotAllowedError(
        `negotiated frame_max = ${fm} is higher than the maximum allowed value (${o.frameMax})`,
      );
    if (fm < 4096)
      throw new NotAllowedError(
        `negotiated frame_max = ${fm} is lower than the minimum allowed value (4096)`,
      );
    if (m.channelMax === 0 || m.channelMax > o.channelMax)
      throw new NotAllowedError(
        `negotiated channel_max = ${m.channelMax} is higher than the maximum allowed value (${o.channelMax})`,
      );
    this.host.tuned({ frameMax: fm, channelMax: m.channelMax, heartbeat: m.heartbeat });
    this.step = 'open';
  }

  private open(virtualHost: string): void {
    const broker = this.host.broker;
    let vhost;
    try {
      vhost = broker.vhost(virtualHost);
    } catch {
      throw new NotAllowedError(`vhost ${virtualHost} not found`);
    }
    const core = broker.connect(
      {
        user: this.user,
        remoteAddress: this.host.socket.remoteAddress ?? '',
        protocol: 'amqp-0-9-1',
      },
      vhost.name,
    );
    this.stop();
    this.step = 'done';
    this.host.opened(core);
    this.host.sendMethod(0, MethodId.ConnectionOpenOk, { knownHosts: '' });
  }
}
