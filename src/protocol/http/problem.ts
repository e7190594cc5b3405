import type { FastifyError, FastifyReply } from 'fastify';
import { BatonError } from '../../core/errors.js';

/**
 * An HTTP failure with its status. The body carries RabbitMQ's `error`/`reason` (what
 * rabbitmqadmin and scripts read) and RFC 9457 problem fields (`title`, `status`, `detail`).
 */
export class HttpError extends Error {
  readonly status: number;
  /** RabbitMQ's short error name ('Object Not Found', 'bad_request', 'not_authorized'). */
  readonly error: string;

  constructor(status: number, message: string, error = defaultName(status)) {
    super(message);
    this.status = status;
    this.error = error;
  }
}

export const notFound = (what = 'Not Found'): HttpError =>
  new HttpError(404, what, 'Object Not Found');
export const badRequest = (why: string): HttpError => new HttpError(400, why, 'bad_request');

function defaultName(status: number): string {
  switch (status) {
    case 400:
      return 'bad_request';
    case 401:
      return 'not_authorized';
    case 403:
      return 'access_refused';
    case 404:
      return 'Object Not Found';
    case 405:
      return 'method_not_allowed';
    case 409:
      return 'conflict';
    case 413:
      return 'payload_too_large';
    case 501:
      return 'not_implemented';
    case 503:
      return 'service_unavailable';
    default:
      return status >= 500 ? 'internal_server_error' : 'bad_request';
  }
}

/** The HTTP status for a core error, by its AMQP reply code. */
export function statusOf(err: BatonError): number {
  switch (err.replyCode) {
    case 404:
      return 404;
    case 403:
      return 403;
    case 405: // resource locked (exclusive queue of another connection)
      return 409;
    case 311: // content too large
      return 413;
    case 540:
      return 501;
    case 506: // resource error (store failed, limits)
      return 503;
    case 406: // precondition failed (inequivalent redeclare, not empty, in use)
    case 530: // not allowed
    case 502: // syntax error
    case 503: // command invalid
      return 400;
    default:
      return 500;
  }
}

export function sendProblem(
  reply: FastifyReply,
  status: number,
  detail: string,
  error = defaultName(status),
): FastifyReply {
  return reply.code(status).type('application/problem+json; charset=utf-8').send({
    error,
    reason: detail,
    type: 'about:blank',
    title: error,
    status,
    detail,
  });
}

/** Fastify's error handler: every failure becomes problem JSON, never an HTML page or a stack. */
export function toProblem(err: unknown, reply: FastifyReply): FastifyReply {
  if (err instanceof HttpError) return sendProblem(reply, err.status, err.message, err.error);
  if (err instanceof BatonError) return sendProblem(reply, statusOf(err), err.message);
  const f = err as Partial<FastifyError>;
  if (typeof f.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500)
    return sendProblem(reply, f.statusCode, f.message ?? 'bad request');
  return sendProblem(reply, 500, 'internal error; the broker log has the details');
}
