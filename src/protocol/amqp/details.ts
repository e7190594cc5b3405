import type { Socket } from 'node:net';
import type { ConnectionDetails } from '../../core/connection.js';
import type { Tuning } from './handshake.js';
import type { FieldTable } from './field-table.js';

/** What the details read from their connection, each on access. */
export interface DetailsSource {
  readonly socket: Socket;
  readonly handshake: { readonly clientProperties: FieldTable; readonly mechanism: string };
  tuning(): Tuning;
  blocked(): boolean;
}

/**
 * One AMQP connection as listings show it. Everything is read on access (byte counts from the
 * socket's own counters), so nothing is counted on the hot path.
 */
export class AmqpConnectionDetails implements ConnectionDetails {
  readonly protocol = 'AMQP 0-9-1';
  readonly connectedAt = Date.now();
  readonly ssl = false;
  readonly peerHost: string;
  readonly peerPort: number;
  readonly host: string;
  readonly port: number;
  private readonly source: DetailsSource;

  constructor(source: DetailsSource) {
    this.source = source;
    const s = source.socket;
    // Read once: a closed socket forgets its addresses.
    this.peerHost = plainAddress(s.remoteAddress);
    this.peerPort = s.remotePort ?? 0;
    this.host = plainAddress(s.localAddress);
    this.port = s.localPort ?? 0;
  }

  get clientProperties(): FieldTable {
    return this.source.handshake.clientProperties;
  }
  get authMechanism(): string {
    return this.source.handshake.mechanism;
  }
  get frameMax(): number {
    return this.source.tuning().frameMax;
  }
  get channelMax(): number {
    return this.source.tuning().channelMax;
  }
  get heartbeat(): number {
    return this.source.tuning().heartbeat;
  }
  get recvOct(): number {
    return this.source.socket.bytesRead;
  }
  get sendOct(): number {
    return this.source.socket.bytesWritten;
  }
  get blocked(): boolean {
    return this.source.blocked();
  }
}

/** IPv4 peers on a dual-stack listener show as ::ffff:a.b.c.d; RabbitMQ shows a.b.c.d. */
function plainAddress(a: string | undefined): string {
  if (a === undefined) return '';
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}
