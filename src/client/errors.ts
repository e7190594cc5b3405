/**
 * Every error the client raises is a BatonClientError; `code` is the AMQP reply code when the
 * broker gave one (312 NO_ROUTE, 404 NOT_FOUND, 406 PRECONDITION_FAILED, 320 CONNECTION_FORCED…).
 */
export class BatonClientError extends Error {
  readonly code: number | undefined;

  constructor(message: string, code?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The broker returned a mandatory publish: no queue of that name (312 NO_ROUTE). */
export class UnroutableError extends BatonClientError {
  readonly queue: string;
  readonly messageId: string | undefined;

  constructor(queue: string, messageId: string | undefined, code = 312, text = 'NO_ROUTE') {
    super(`no queue '${queue}' took the message (${code} ${text})`, code);
    this.queue = queue;
    this.messageId = messageId;
  }
}

/** The broker answered a publish with basic.nack: it did not take responsibility for it. */
export class NackedError extends BatonClientError {
  readonly messageId: string;

  constructor(queue: string, messageId: string) {
    super(`the broker nacked message '${messageId}' to '${queue}'`);
    this.messageId = messageId;
  }
}

/** No reply came within the request's timeoutMs; a reply arriving later is ignored. */
export class RequestTimeoutError extends BatonClientError {
  readonly queue: string;
  readonly correlationId: string;
  readonly timeoutMs: number;

  constructor(queue: string, correlationId: string, timeoutMs: number) {
    super(`no reply from '${queue}' within ${timeoutMs} ms (correlation id ${correlationId})`);
    this.queue = queue;
    this.correlationId = correlationId;
    this.timeoutMs = timeoutMs;
  }
}

/** The responder's handler threw; `message` and `remoteName` are what it threw. */
export class RemoteError extends BatonClientError {
  readonly remoteName: string;

  constructor(message: string, remoteName: string) {
    super(message);
    this.remoteName = remoteName;
  }
}

/** The connection was closed by the broker (code from connection.close) or was lost. */
export class ConnectionClosedError extends BatonClientError {}

/** A channel was closed by the broker (code from channel.close, e.g. 404 or 406). */
export class ChannelClosedError extends BatonClientError {}

/** The client was closed (close() or reconnect gave up): the operation will never complete. */
export class ClientClosedError extends BatonClientError {
  constructor(message = 'the client is closed') {
    super(message);
  }
}

/** An option the client does not know or a value it cannot act on (never silently ignored). */
export class InvalidOptionError extends BatonClientError {}

/** The AMQP reply code an amqplib error carries, if any. */
export function replyCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}
