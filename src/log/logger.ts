import { pino, type Logger } from 'pino';
import type { Config } from '../config.js';
import { formatText } from './text-format.js';

/**
 * The broker's logger: ISO-8601 `time`, level names (`"level":"info"`), one line per record
 * on `fd` (stdout by default), as pino JSON or, with `text`, as a readable line.
 *
 * The destination is pino's synchronous SonicBoom: a line is out when the call returns, so a
 * crash or `process.exit` loses nothing, and the broker logs per event, never per message.
 * When the reader of a log pipe goes away (EPIPE), pino's destination stops writing for good
 * instead of throwing: the broker keeps serving and shuts down normally.
 */
export function createLogger(options: Pick<Config, 'logLevel' | 'logFormat'>, fd = 1): Logger {
  return pino(
    {
      level: options.logLevel,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      ...(options.logFormat === 'text' ? { hooks: { streamWrite: formatText } } : {}),
    },
    pino.destination({ fd, sync: true }),
  );
}
