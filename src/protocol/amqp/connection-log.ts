import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { FieldTable } from './field-table.js';
import { hostPort } from '../../util/host-port.js';
import { methodName } from './generated/methods.js';

/** RabbitMQ's connection name: "peer -> local", e.g. "127.0.0.1:50312 -> 127.0.0.1:5672". */
export function connectionName(socket: Socket): string {
  return `${hostPort(socket.remoteAddress, socket.remotePort)} -> ${hostPort(socket.localAddress, socket.localPort)}`;
}

/** Longest client-supplied string put in a log line (the client chooses these). */
const MAX_CLIENT_TEXT = 200;

function text(v: unknown): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  return v.length > MAX_CLIENT_TEXT ? `${v.slice(0, MAX_CLIENT_TEXT)}...` : v;
}

/** Who closed a connection, with the code and text of its connection.close when there was one. */
export interface CloseReason {
  by: 'client' | 'broker';
  code?: number;
  reason: string;
}

/** What a connection's log lines say about it, fixed once it is open. */
export interface ConnectionFacts {
  connection: string;
  user: string;
  vhost: string;
}

/**
 * The AMQP connection's lines: opened and closed at info, refused logins and protocol errors
 * at warn. Never a password: credentials stay in auth.ts.
 */
export const connectionLog = {
  opened(logger: Logger, facts: ConnectionFacts, client: FieldTable, heartbeat: number): void {
    const product = text(client.product);
    const version = text(client.version);
    const fields: Record<string, unknown> = { ...facts, heartbeat };
    if (product !== undefined)
      fields.client = version === undefined ? product : `${product} ${version}`;
    const name = text(client.connection_name);
    if (name !== undefined) fields.clientName = name;
    logger.info(
      fields,
      `amqp connection opened: ${facts.connection}, user '${facts.user}', vhost '${facts.vhost}'`,
    );
  },

  closed(
    logger: Logger,
    facts: ConnectionFacts,
    why: CloseReason,
    socket: Socket,
    openedAt: number,
  ): void {
    const durationMs = Date.now() - openedAt;
    const code = why.code === undefined ? '' : `${why.code} `;
    logger.info(
      {
        ...facts,
        closedBy: why.by,
        code: why.code,
        reason: why.reason,
        durationMs,
        bytesIn: socket.bytesRead,
        bytesOut: socket.bytesWritten,
      },
      `amqp connection closed by ${why.by}: ${facts.connection} (${code}${why.reason}) after ${seconds(durationMs)}`,
    );
  },

  loginRefused(
    logger: Logger,
    peer: string,
    user: string,
    mechanism: string,
    reason: string,
    level: 'warn' | 'debug' = 'warn',
  ): void {
    // The user name comes from the client, unchecked: cap it as the other client strings.
    const u = text(user) ?? '';
    logger[level](
      { peer, user: u, mechanism: text(mechanism) ?? '', reason, protocol: 'amqp' },
      `amqp login refused for user '${u}' from ${peer} (${text(mechanism) ?? ''}): ${reason}`,
    );
  },

  /** An error that closed a channel (channel > 0 and scope channel) or the connection. */
  protocolError(
    logger: Logger,
    facts: ConnectionFacts | { connection: string },
    scope: 'channel' | 'connection',
    channel: number,
    code: number,
    replyText: string,
    methodKey: number,
  ): void {
    const method = methodKey === 0 ? undefined : methodName(methodKey);
    const what = scope === 'channel' ? `channel ${channel}` : 'connection';
    logger.warn(
      { ...facts, channel, code, text: replyText, method },
      `amqp ${what} closed on error: ${code} ${replyText}${method === undefined ? '' : ` (${method})`}`,
    );
  },

  heartbeatTimeout(logger: Logger, facts: ConnectionFacts, seconds: number): void {
    logger.warn(
      { ...facts, heartbeat: seconds },
      `amqp connection ${facts.connection}: missed heartbeats from client, timeout: ${seconds}s`,
    );
  },
};

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
