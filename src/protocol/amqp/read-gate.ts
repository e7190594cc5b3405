import type { Socket } from 'node:net';
import type { Alarms } from '../../core/alarms.js';
import type { MethodArgs, MethodKey } from './generated/methods.js';
import { MethodId } from './generated/methods.js';

/**
 * Longest a publisher's socket stays unread under flow control in one go, whatever the core
 * says (it ends a pause itself when consumers are far slower than their publishers, see
 * FLOW_PAUSE_MAX_MS): a client's own connection.close is read within seconds. The connection is then read freely until the queue
 * that held it has caught up once.
 */
const MAX_FLOW_PAUSE_MS = 5000;

/** What the gate needs from its connection. */
export interface ReadGateHost {
  readonly socket: Socket;
  /** The connection is open and the client asked for connection.blocked. */
  canNotifyBlocked(): boolean;
  /** The socket is closed: never resume it. */
  isClosed(): boolean;
  /** One of this connection's channels has a consumer. */
  consumes(): boolean;
  sendMethod<K extends MethodKey>(channel: number, id: K, args: MethodArgs[K]): void;
  /** Reading resumed: what waited in the socket is not the peer's silence. */
  resumed(): void;
}

/**
 * When a client socket is read: flow control (a queue this client feeds is catching up) and
 * resource alarms (memory or disk) both stop reading it; it is read again only when neither
 * holds it.
 */
export class ReadGate {
  private readonly host: ReadGateHost;
  private readonly alarms: Alarms;
  /** True while flow control has stopped reading this socket. */
  private flowPaused = false;
  private flowTimer: NodeJS.Timeout | undefined;
  /** This connection has published: an alarm blocks it at once (RabbitMQ: a publisher). */
  private publisher = false;
  /** True while a resource alarm has stopped reading this socket (it published during one). */
  private alarmBlocked = false;
  /** connection.blocked was sent and connection.unblocked is owed. */
  private blockedSent = false;

  constructor(host: ReadGateHost, alarms: Alarms) {
    this.host = host;
    this.alarms = alarms;
  }

  /** True while flow control or an alarm keeps the socket unread. */
  get held(): boolean {
    return this.flowPaused || this.alarmBlocked;
  }

  /** Flow control from the core: stop reading this client while a queue it feeds catches up. */
  readonly onFlow = (blocked: boolean): void => {
    this.flowPaused = blocked;
    clearTimeout(this.flowTimer);
    if (blocked) {
      this.host.socket.pause();
      // Bounded: see MAX_FLOW_PAUSE_MS.
      this.flowTimer = setTimeout(() => this.resumeFromFlow(), MAX_FLOW_PAUSE_MS).unref();
    } else this.resumeFromFlow();
  };

  /** This input chunk completed a publish. */
  published(): void {
    this.publisher = true;
    // As RabbitMQ: a connection is blocked once it publishes while an alarm is on.
    if (this.alarms.blocked && !this.alarmBlocked) this.blockForAlarm();
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
      if (this.host.consumes()) this.tellBlocked();
      else this.blockForAlarm();
      return;
    }
    if (this.blockedSent && this.host.canNotifyBlocked())
      this.host.sendMethod(0, MethodId.ConnectionUnblocked, {});
    this.blockedSent = false;
    if (!this.alarmBlocked) return;
    this.alarmBlocked = false;
    if (!this.flowPaused && !this.host.isClosed()) this.resume();
  }

  stop(): void {
    clearTimeout(this.flowTimer);
  }

  private resumeFromFlow(): void {
    this.flowPaused = false;
    // Read only when neither flow control nor an alarm holds the socket.
    if (this.alarmBlocked) return;
    this.resume();
  }

  private resume(): void {
    this.host.resumed();
    this.host.socket.resume();
  }

  private blockForAlarm(): void {
    this.alarmBlocked = true;
    this.host.socket.pause();
    this.tellBlocked();
  }

  private tellBlocked(): void {
    if (this.blockedSent || !this.host.canNotifyBlocked()) return;
    this.host.sendMethod(0, MethodId.ConnectionBlocked, { reason: this.alarms.reason });
    this.blockedSent = true;
  }
}
