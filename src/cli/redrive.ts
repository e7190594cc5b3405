import { join, resolve } from 'node:path';
import { CONTROL_SOCKET_NAME } from '../config.js';
import { controlRequest } from '../protocol/control/client.js';

export const REDRIVE_HELP = `Usage: baton redrive <queue> [--to QUEUE] [--limit N] [--vhost V] [--data-dir D | --control-socket PATH]

Moves ready messages from a dead-letter queue, oldest first, back to the queue each one last
died in (its newest x-death entry) or, with --to, to that queue. Each move is one atomic journal
write: after a crash a message is in exactly one of the two queues. Messages without x-death,
or whose queue is gone, stay where they are (counted as skipped). Talks to a running
'baton serve' through its control socket.

  --to QUEUE              Move every message to this queue instead
  --limit N               Move at most N messages
  --vhost V               Virtual host (default /)
  --data-dir D            The broker's data dir; its socket is D/${CONTROL_SOCKET_NAME} (BATON_DATA_DIR, default ./data)
  --control-socket PATH   The broker's control socket (BATON_CONTROL_SOCKET)

Exit status: 0 done, 1 the broker refused or could not be reached, 2 bad usage.`;

const FLAGS = new Set(['--to', '--limit', '--vhost', '--data-dir', '--control-socket']);

/** `baton redrive …`: prints the outcome and resolves with the exit status. */
export async function redriveCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  out: (s: string) => void = (s) => process.stdout.write(s),
  err: (s: string) => void = (s) => process.stderr.write(s),
): Promise<number> {
  const flags = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') {
      out(`${REDRIVE_HELP}\n`);
      return 0;
    }
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (!FLAGS.has(name)) return usage(err, `unknown option '${name}'`);
    if (value === undefined) return usage(err, `option ${name} needs a value`);
    flags.set(name, value);
  }
  if (positional.length !== 1)
    return usage(err, positional.length === 0 ? 'name the queue to redrive' : 'one queue only');
  const queue = positional[0]!;
  const request: Record<string, unknown> = {
    op: 'redrive',
    queue,
    vhost: flags.get('--vhost') ?? '/',
  };
  const to = flags.get('--to');
  if (to !== undefined) request.to = to;
  const limitRaw = flags.get('--limit');
  if (limitRaw !== undefined) {
    if (!/^\d+$/.test(limitRaw) || Number(limitRaw) < 1)
      return usage(err, `--limit: '${limitRaw}' is not a positive whole number`);
    request.limit = Number(limitRaw);
  }
  if (flags.has('--data-dir') && flags.has('--control-socket'))
    return usage(err, 'give --data-dir or --control-socket, not both');
  const path = socketPath(flags, env);
  let reply;
  try {
    reply = await controlRequest(path, request);
  } catch (e) {
    err(`baton redrive: ${unreachable(path, e as NodeJS.ErrnoException)}\n`);
    return 1;
  }
  if (reply.ok !== true) {
    err(`baton redrive: ${String(reply.error)} (${String(reply.code)})\n`);
    return 1;
  }
  out(`${describe(queue, reply)}\n`);
  return 0;
}

function socketPath(flags: Map<string, string>, env: NodeJS.ProcessEnv): string {
  const explicit = flags.get('--control-socket');
  if (explicit !== undefined) return resolve(explicit);
  const dataDir = flags.get('--data-dir');
  if (dataDir === undefined && env.BATON_CONTROL_SOCKET) return resolve(env.BATON_CONTROL_SOCKET);
  return join(resolve(dataDir ?? (env.BATON_DATA_DIR || './data')), CONTROL_SOCKET_NAME);
}

function unreachable(path: string, e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return `no control socket at ${path}: is 'baton serve' running on that data dir? (or pass --control-socket)`;
    case 'ECONNREFUSED':
      return `nothing answers on ${path}: the broker that made it is not running`;
    case 'EACCES':
      return `${path}: permission denied (the socket is its owner's only; run as the broker's user)`;
    default:
      return `${path}: ${e.message}`;
  }
}

const SKIP_TEXT: Record<string, string> = {
  'no-x-death': 'no x-death',
  'queue-missing': 'target queue missing',
  'queue-full': 'target queue full',
};

/** "moved 12 messages from 'dlq' to 'work' (2 skipped: no x-death)". */
export function describe(queue: string, reply: Record<string, unknown>): string {
  const moved = Number(reply.moved);
  const skipped = Number(reply.skipped);
  const to = Object.entries((reply.movedTo ?? {}) as Record<string, number>);
  let s = `moved ${moved} message${moved === 1 ? '' : 's'} from '${queue}'`;
  if (to.length === 1) s += ` to '${to[0]![0]}'`;
  else if (to.length > 1) s += ` to ${to.map(([q, n]) => `'${q}' (${n})`).join(', ')}`;
  if (skipped > 0) {
    const by = Object.entries((reply.skippedBy ?? {}) as Record<string, number>);
    const why =
      by.length === 1
        ? (SKIP_TEXT[by[0]![0]] ?? by[0]![0])
        : by.map(([k, n]) => `${n} ${SKIP_TEXT[k] ?? k}`).join(', ');
    s += ` (${skipped} skipped: ${why})`;
  }
  return s;
}

function usage(err: (s: string) => void, why: string): number {
  err(`baton redrive: ${why}\n\n${REDRIVE_HELP}\n`);
  return 2;
}
