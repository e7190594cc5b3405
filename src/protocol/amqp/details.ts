import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { plainHost } from '../../util/host-port.js';
import type { ConnectionDetails, TlsFacts } from '../../core/connection.js';
import type { Tuning } from './handshake.js';
import type { FieldTable } from './field-table.js';

/** What the details read from their connection, each on access. */
export interface DetailsSource {
  readonly name: string;
  readonly connectedAt: number;
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
  readonly name: string;
  readonly connectedAt: number;
  readonly ssl: boolean;
  readonly tls: TlsFacts | undefined;
  readonly peerHost: string;
  readonly peerPort: number;
  readonly host: string;
  readonly port: number;
  private readonly source: DetailsSource;

  constructor(source: DetailsSource) {
    this.source = source;
    this.name = source.name;
    this.connectedAt = source.connectedAt;
    const s = source.socket;
    this.ssl = s instanceof TLSSocket;
    this.tls = s instanceof TLSSocket ? tlsFacts(s) : undefined;
    // Read once: a closed socket forgets its addresses.
    this.peerHost = plainHost(s.remoteAddress ?? '');
    this.peerPort = s.remotePort ?? 0;
    this.host = plainHost(s.localAddress ?? '');
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

/** Read once at open: the session is settled by then and a closed socket forgets it. */
function tlsFacts(s: TLSSocket): TlsFacts {
  const cert = s.getPeerCertificate();
  const has = Object.keys(cert).length > 0;
  return {
    protocol: (s.getProtocol() ?? '').toLowerCase(),
    cipher: s.getCipher()?.name ?? '',
    peerCertSubject: has ? distinguishedName(cert.subject) : null,
    peerCertIssuer: has ? distinguishedName(cert.issuer) : null,
    peerCertValidity: has ? `${isoTime(cert.valid_from)} - ${isoTime(cert.valid_to)}` : null,
  };
}

/** RabbitMQ's '2026-12-02T18:00:00Z' from OpenSSL's 'Dec  2 18:00:00 2026 GMT'. */
function isoTime(openssl: string): string {
  const d = new Date(openssl);
  return Number.isNaN(d.getTime()) ? openssl : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** 'CN=app,O=Example' from Node's parsed subject (a field may repeat: an array). */
function distinguishedName(name: Record<string, string | string[] | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(name))
    for (const one of Array.isArray(v) ? v : [v]) if (one !== undefined) parts.push(`${k}=${one}`);
  return parts.join(',');
}
