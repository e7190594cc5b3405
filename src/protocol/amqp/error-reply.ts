import type { Logger } from 'pino';
import { BatonError, InternalError } from '../../core/errors.js';

/** How an error is answered on the wire: channel.close or connection.close with these fields. */
export interface ErrorReply {
  scope: 'channel' | 'connection';
  replyCode: number;
  replyText: string;
  classId: number;
  methodId: number;
}

/**
 * The one mapping from a thrown error to an AMQP close. A typed core error keeps its scope and
 * reply code; anything else is a bug and becomes INTERNAL_ERROR (a connection close), logged
 * with its stack. The failing method is the error's own class/method when it names one, else
 * the method being handled (`methodKey`, `classId << 16 | methodId`).
 */
export function errorReply(err: unknown, methodKey: number, logger: Logger): ErrorReply {
  let e: BatonError;
  if (err instanceof BatonError) e = err;
  else {
    logger.error({ err }, 'unexpected error in amqp connection');
    e = new InternalError('internal error; see the broker log', err);
  }
  return {
    scope: e.scope,
    replyCode: e.replyCode,
    replyText: replyText(e),
    classId: (err as { classId?: number }).classId ?? methodKey >>> 16,
    methodId: (err as { methodId?: number }).methodId ?? methodKey & 0xffff,
  };
}

/** RabbitMQ puts the symbolic code name in front of the text; clients show it. */
export function replyText(e: BatonError): string {
  const name = e.code.replace(/^BATON_/, '');
  let text = `${name} - ${e.message}`;
  while (Buffer.byteLength(text) > 255) text = text.slice(0, -4) + '...';
  return text;
}
