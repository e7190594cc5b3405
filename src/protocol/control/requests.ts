import type { Broker } from '../../core/broker.js';
import {
  BatonError,
  CommandInvalidError,
  InternalError,
  NotFoundError,
  PreconditionFailedError,
  SyntaxError_,
} from '../../core/errors.js';
import type { SessionHandler } from '../../core/session.js';

/** The control protocol's operations (one JSON object per line, answered by one). */
export const CONTROL_OPS = ['redrive', 'ping'] as const;

/** A reply line: `{"ok":true, …}` or `{"ok":false,"error","code","type"}`. */
export type ControlReply = { ok: true; id?: unknown } & Record<string, unknown>;
export interface ControlError {
  ok: false;
  id?: unknown;
  error: string;
  /** The AMQP reply code of the error (404 not found, 406 precondition failed, …). */
  code: number;
  /** The stable error code (docs/errors.md). */
  type: string;
}

/** The control session's handler: redrive delivers nothing and confirms nothing. */
const QUIET: SessionHandler = {
  deliver: () => true,
  consumerCancelled: () => {},
};

/** Answer one request line. Never throws: every failure is an error reply. */
export async function answer(
  broker: Broker,
  line: string,
  onInternal: (err: unknown) => void,
): Promise<ControlReply | ControlError> {
  let id: unknown;
  try {
    let req: unknown;
    try {
      req = JSON.parse(line);
    } catch (err) {
      throw new SyntaxError_(`request is not JSON: ${(err as Error).message}`);
    }
    if (typeof req !== 'object' || req === null || Array.isArray(req))
      throw new SyntaxError_('a request is one JSON object per line, e.g. {"op":"ping"}');
    const r = req as Record<string, unknown>;
    id = r.id;
    const reply = await dispatch(broker, r);
    return id === undefined ? reply : { ...reply, id };
  } catch (err) {
    const e =
      err instanceof BatonError
        ? err
        : new InternalError(`control request failed: ${(err as Error).message}`, err);
    if (!(err instanceof BatonError)) onInternal(err);
    const reply: ControlError = { ok: false, error: e.message, code: e.replyCode, type: e.code };
    if (id !== undefined) reply.id = id;
    return reply;
  }
}

async function dispatch(broker: Broker, r: Record<string, unknown>): Promise<ControlReply> {
  switch (r.op) {
    case 'ping':
      return { ok: true, pid: process.pid };
    case 'redrive': {
      const vhostName = optionalString(r, 'vhost') ?? '/';
      const queue = optionalString(r, 'queue');
      if (queue === undefined) throw new PreconditionFailedError("redrive needs 'queue'");
      const to = optionalString(r, 'to');
      const limit = r.limit;
      if (limit !== undefined && limit !== null && typeof limit !== 'number')
        throw new PreconditionFailedError("'limit' must be a number");
      if (!broker.vhosts.has(vhostName)) throw new NotFoundError(`no vhost '${vhostName}'`);
      const connection = broker.connect(
        { user: 'control', protocol: 'control', trusted: true },
        vhostName,
      );
      try {
        const session = connection.openSession(QUIET);
        const options: { to?: string; limit?: number } = {};
        if (to !== undefined) options.to = to;
        if (typeof limit === 'number') options.limit = limit;
        const res = await session.redrive(queue, options);
        return {
          ok: true,
          moved: res.moved,
          skipped: res.skipped,
          skippedBy: res.skippedBy,
          movedTo: res.movedTo,
        };
      } finally {
        connection.close();
      }
    }
    default:
      throw new CommandInvalidError(
        `unknown op ${JSON.stringify(r.op) ?? 'undefined'}; known: ${CONTROL_OPS.join(', ')}`,
        'channel',
      );
  }
}

function optionalString(r: Record<string, unknown>, key: string): string | undefined {
  const v = r[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new PreconditionFailedError(`'${key}' must be a string`);
  return v;
}
