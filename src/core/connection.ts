import type { Access } from './access/permissions.js';
import type { Broker } from './broker.js';
import { NotAllowedError } from './errors.js';
import type { Queue } from './queue.js';
import { Session, type SessionHandler, type SessionOptions } from './session.js';
import type { VirtualHost } from './vhost.js';

export interface ConnectionInfo {
  user: string;
  remoteAddress?: string;
  protocol?: string;
  /**
   * Opened by the broker's own tools (the management API's sessions): left out of the
   * connection and channel counts and listings.
   */
  internal?: boolean;
  /**
   * An in-process caller the broker trusts (the control socket, tests, benchmarks): no
   * permission checks. Every protocol door leaves it unset, so its user's permissions apply.
   */
  trusted?: boolean;
}

/** Who is on the other end: what permission checks, listings and logs need. */
export interface Principal {
  readonly user: string;
  readonly vhost: string;
  /** Peer address as the transport saw it ('' when there is none, e.g. in-process). */
  readonly remoteAddress: string;
  readonly protocol: string;
}

/**
 * What a protocol tells listings (the management API) about one of its connections. Read only
 * when asked: implementations compute each field on access, so keeping it costs nothing.
 */
export interface ConnectionDetails {
  /** RabbitMQ's name for it, "peer -> local" (what logs and the management API show). */
  readonly name: string;
  /** The wire protocol as RabbitMQ names it ('AMQP 0-9-1'). */
  readonly protocol: string;
  readonly peerHost: string;
  readonly peerPort: number;
  /** The local end (the listener's address and port). */
  readonly host: string;
  readonly port: number;
  /** When the connection opened (ms since the epoch). */
  readonly connectedAt: number;
  /** What the client said about itself (AMQP start-ok client-properties). */
  readonly clientProperties: Readonly<Record<string, unknown>>;
  readonly frameMax: number;
  readonly channelMax: number;
  /** Negotiated heartbeat in seconds, 0 for none. */
  readonly heartbeat: number;
  readonly authMechanism: string;
  readonly ssl: boolean;
  /** What the TLS layer settled, for ssl connections (listings). */
  readonly tls?: TlsFacts | undefined;
  /** Bytes received from and sent to the client so far. */
  readonly recvOct: number;
  readonly sendOct: number;
  /** Not read from right now: a resource alarm or publisher flow control holds it. */
  readonly blocked: boolean;
}

/** A TLS connection's protocol, cipher and client certificate, as listings show them. */
export interface TlsFacts {
  /** RabbitMQ's spelling: 'tlsv1.3'. */
  readonly protocol: string;
  /** OpenSSL's name of the cipher suite. */
  readonly cipher: string;
  /** The client certificate's subject, issuer ('CN=app,O=Example') and validity, null without. */
  readonly peerCertSubject: string | null;
  readonly peerCertIssuer: string | null;
  readonly peerCertValidity: string | null;
}

/**
 * A client connection as the core sees it: the owner of sessions and exclusive queues.
 * Closing it closes every session (requeueing their unacked deliveries) and deletes its
 * exclusive queues.
 */
export class ClientConnection {
  readonly id: number;
  readonly broker: Broker;
  readonly vhost: VirtualHost;
  readonly info: ConnectionInfo;
  readonly principal: Principal;
  readonly sessions = new Set<Session>();
  readonly exclusiveQueues = new Set<Queue>();
  closed = false;
  /** Counted in its vhost's connection and channel figures (not internal). */
  readonly counted: boolean;
  /** The queue whose backlog is holding this connection's publishers back, if any. */
  throttledBy: Queue | undefined = undefined;
  /** Installed by the protocol: stop (true) or resume (false) reading from the client. */
  onFlow: (blocked: boolean) => void = () => {};
  /**
   * Installed by the protocol: the broker (an operator, the management API, shutdown) wants
   * this connection closed; tell the client why and close. Without one, it is closed at once.
   */
  onCloseRequest: ((code: number, reason: string) => void) | undefined = undefined;
  /** Installed by the protocol: what listings show about this connection. */
  details: ConnectionDetails | undefined = undefined;
  /** What this connection's user may do in its vhost: the session door asks before each op. */
  readonly access: Access;

  constructor(
    broker: Broker,
    id: number,
    vhost: VirtualHost,
    info: ConnectionInfo,
    access: Access,
  ) {
    this.broker = broker;
    this.access = access;
    this.id = id;
    this.vhost = vhost;
    this.info = info;
    this.principal = {
      user: info.user,
      vhost: vhost.name,
      remoteAddress: info.remoteAddress ?? '',
      protocol: info.protocol ?? '',
    };
    this.counted = info.internal !== true;
    if (this.counted) vhost.stats.connectionsOpened++;
  }

  openSession(handler: SessionHandler, options?: SessionOptions): Session {
    if (this.counted && this.info.trusted !== true) this.checkChannelLimit();
    const s = new Session(this, this.vhost, handler, options);
    this.sessions.add(s);
    if (this.counted) this.vhost.stats.channelsOpened++;
    return s;
  }

  /** RabbitMQ's per-user max-channels, over all of the user's connections. */
  private checkChannelLimit(): void {
    const max = this.broker.access.users.get(this.principal.user)?.limits['max-channels'];
    if (max === undefined) return;
    let open = 0;
    for (const c of this.broker.connections)
      if (c.counted && c.principal.user === this.principal.user) open += c.sessions.size;
    if (open >= max)
      throw new NotAllowedError(
        `number of channels opened for user '${this.principal.user}' has reached the maximum allowed user limit of (${max})`,
      );
  }

  /**
   * A queue this connection publishes to is congested: pause reading. Not when this
   * connection also consumes from that queue, since its own acks would then be stuck too.
   */
  throttle(queue: Queue): void {
    if (this.throttledBy !== undefined || this.closed) return;
    for (const c of queue.consumers) if (c.session.connection === this) return;
    // Held for a TTL queue's dead-letter target (flow.ts): the same goes for its consumers.
    const target = queue.flow.deadLetterTarget;
    if (target !== undefined)
      for (const c of target.consumers) if (c.session.connection === this) return;
    this.throttledBy = queue;
    queue.flow.add(this);
    this.onFlow(true);
  }

  unthrottle(queue: Queue): void {
    if (this.throttledBy !== queue) return;
    this.throttledBy = undefined;
    this.onFlow(false);
  }

  /** Ask the protocol to close this connection with a reason (CONNECTION_FORCED, 320). */
  requestClose(reason: string, code = 320): void {
    if (this.closed) return;
    const hook = this.onCloseRequest;
    if (hook !== undefined) hook(code, reason);
    else this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.throttledBy?.flow.remove(this);
    this.throttledBy = undefined;
    for (const s of [...this.sessions]) s.close();
    for (const q of [...this.exclusiveQueues]) {
      if (!q.deleted) this.vhost.deleteQueueNow(q);
    }
    this.broker.connections.delete(this);
    if (this.counted) this.vhost.stats.connectionsClosed++;
  }
}
