/**
 * Every error Baton raises on purpose. Each carries a stable `code`, the AMQP reply code that
 * protocol adapters map it to, and whether it ends the channel (session) or the connection.
 * docs/errors.md lists the same catalog; test/unit/errors.test.ts keeps the two in step.
 */
export type ErrorScope = 'channel' | 'connection';

export class BatonError extends Error {
  readonly code: string;
  readonly replyCode: number;
  readonly scope: ErrorScope;
  constructor(
    code: string,
    replyCode: number,
    scope: ErrorScope,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.replyCode = replyCode;
    this.scope = scope;
  }
}

export class NotFoundError extends BatonError {
  constructor(message: string) {
    super('BATON_NOT_FOUND', 404, 'channel', message);
  }
}
export class AccessRefusedError extends BatonError {
  constructor(message: string, scope: ErrorScope = 'channel') {
    super('BATON_ACCESS_REFUSED', 403, scope, message);
  }
}
export class ResourceLockedError extends BatonError {
  constructor(message: string) {
    super('BATON_RESOURCE_LOCKED', 405, 'channel', message);
  }
}
export class PreconditionFailedError extends BatonError {
  constructor(message: string) {
    super('BATON_PRECONDITION_FAILED', 406, 'channel', message);
  }
}
export class ContentTooLargeError extends BatonError {
  constructor(message: string) {
    super('BATON_CONTENT_TOO_LARGE', 311, 'channel', message);
  }
}
export class NotAllowedError extends BatonError {
  constructor(message: string) {
    super('BATON_NOT_ALLOWED', 530, 'connection', message);
  }
}
export class FrameError extends BatonError {
  constructor(message: string) {
    super('BATON_FRAME_ERROR', 501, 'connection', message);
  }
}
export class SyntaxError_ extends BatonError {
  constructor(message: string) {
    super('BATON_SYNTAX_ERROR', 502, 'connection', message);
  }
}
export class CommandInvalidError extends BatonError {
  constructor(message: string, scope: ErrorScope = 'connection') {
    super('BATON_COMMAND_INVALID', 503, scope, message);
  }
}
export class ChannelError extends BatonError {
  constructor(message: string) {
    super('BATON_CHANNEL_ERROR', 504, 'connection', message);
  }
}
export class UnexpectedFrameError extends BatonError {
  constructor(message: string) {
    super('BATON_UNEXPECTED_FRAME', 505, 'connection', message);
  }
}
export class ResourceError extends BatonError {
  constructor(message: string, scope: ErrorScope = 'connection') {
    super('BATON_RESOURCE_ERROR', 506, scope, message);
  }
}
export class NotImplementedError extends BatonError {
  constructor(message: string, scope: ErrorScope = 'connection') {
    super('BATON_NOT_IMPLEMENTED', 540, scope, message);
  }
}
export class InternalError extends BatonError {
  constructor(message: string, cause?: unknown) {
    super('BATON_INTERNAL_ERROR', 541, 'connection', message, { cause });
  }
}
/** The store failed a write or fsync; it refuses all further writes (sticky). */
export class StoreFailedError extends BatonError {
  constructor(message: string, cause?: unknown) {
    super('BATON_STORE_FAILED', 541, 'connection', message, { cause });
  }
}
/** A configuration value is missing or malformed. Not a protocol error. */
export class ConfigError extends BatonError {
  constructor(message: string) {
    super('BATON_CONFIG_INVALID', 0, 'connection', message);
  }
}
