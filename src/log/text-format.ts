/**
 * `--log-format text`: turns one pino JSON line into one readable line,
 *
 *   2026-12-02T14:03:11.512Z INFO  amqp listening on 127.0.0.1:5672 protocol=amqp port=5672
 *
 * the record's fields after the message as key=value (JSON-quoted when they hold a space, a
 * quote, an '=' or a control character; objects as compact JSON; a string the message already
 * shows is not repeated), and an error's stack on the lines below, indented. It runs once per
 * log record, never per message.
 */

/** Fields the line shows in its own places (or, pid and hostname, not at all). */
const SKIPPED = new Set(['time', 'level', 'msg', 'pid', 'hostname', 'err']);
const INDENT = '    ';

export function formatText(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = typeof rec.level === 'string' ? rec.level.toUpperCase() : String(rec.level);
  let out = `${String(rec.time)} ${level.padEnd(5)}`;
  if (rec.msg !== undefined)
    out += ` ${indentLines(typeof rec.msg === 'string' ? rec.msg : JSON.stringify(rec.msg))}`;
  const msg = typeof rec.msg === 'string' ? rec.msg : '';
  for (const [k, v] of Object.entries(rec))
    if (!SKIPPED.has(k) && !shown(v, msg)) out += ` ${k}=${value(v)}`;
  const err = rec.err;
  if (err !== null && typeof err === 'object') {
    const e = err as Record<string, unknown>;
    for (const [k, v] of Object.entries(e))
      if (k !== 'type' && k !== 'message' && k !== 'stack' && v !== undefined)
        out += ` err.${k}=${value(v)}`;
    const stack = typeof e.stack === 'string' ? e.stack : `${String(e.type)}: ${String(e.message)}`;
    out += `\n${INDENT}${indentLines(stack)}`;
  } else if (err !== undefined) out += ` err=${value(err)}`;
  return `${out}\n`;
}

/**
 * A string field the message already shows word for word (a peer, a reply text) is left out
 * of the text line; JSON keeps every field. Short values ('/', 'x') could match by chance.
 */
function shown(v: unknown, msg: string): boolean {
  return typeof v === 'string' && v.length >= 3 && msg.includes(v);
}

function indentLines(s: string): string {
  return s.includes('\n') ? s.replace(/\r?\n/g, `\n${INDENT}`) : s;
}

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=\\\p{Cc}]+$/u.test(v) ? v : JSON.stringify(v);
  if (v !== null && typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
