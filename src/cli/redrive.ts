import { apiPath } from './api-client.js';
import { countOption, hasFlag, optionValue } from './args.js';
import { defineCommand, JSON_OPTION, printJson, VHOST_OPTION, vhostOf } from './command.js';
import { UsageError } from './errors.js';
import { ProgressBar, withProgress } from './progress.js';
import { readyCount } from './queue-commands.js';

/** The reply of POST /api/queues/{vhost}/{queue}/redrive (the core's RedriveResult). */
export interface RedriveReply {
  moved: number;
  skipped: number;
  skippedBy?: Record<string, number>;
  movedTo?: Record<string, number>;
}

const SKIP_TEXT: Record<string, string> = {
  'no-x-death': 'no x-death',
  'queue-missing': 'target queue missing',
  'queue-full': 'target queue full',
  'access-refused': 'no write permission on the target queue',
};

/** "moved 12 messages from 'dlq' to 'work' (2 skipped: no x-death)". */
export function describe(queue: string, reply: RedriveReply): string {
  const moved = Number(reply.moved);
  const skipped = Number(reply.skipped);
  const to = Object.entries(reply.movedTo ?? {});
  let s = `moved ${moved} message${moved === 1 ? '' : 's'} from '${queue}'`;
  if (to.length === 1) s += ` to '${to[0]![0]}'`;
  else if (to.length > 1) s += ` to ${to.map(([q, n]) => `'${q}' (${n})`).join(', ')}`;
  if (skipped > 0) {
    const by = Object.entries(reply.skippedBy ?? {});
    const why =
      by.length === 1
        ? (SKIP_TEXT[by[0]![0]] ?? by[0]![0])
        : by.map(([k, n]) => `${n} ${SKIP_TEXT[k] ?? k}`).join(', ');
    s += ` (${skipped} skipped: ${why})`;
  }
  return s;
}

export const REDRIVE = defineCommand(
  {
    name: 'redrive',
    args: '<queue>',
    positionals: [1, 1],
    summary: 'Move dead-lettered messages back to the queue they died in (or --to another)',
    description: `Moves ready messages from a dead-letter queue, oldest first, back to the queue each one last
died in (its newest x-death entry) or, with --to, to that queue. Each move is one atomic journal
write: after a crash a message is in exactly one of the two queues. Messages without x-death,
or whose queue is gone, stay where they are (counted as skipped).
POST /api/queues/{vhost}/{queue}/redrive; on a terminal, a bar shows the queue draining.`,
    options: [
      { name: '--to', value: 'QUEUE', help: 'Move every message to this queue instead' },
      { name: '--limit', value: 'N', help: 'Move at most N messages' },
      VHOST_OPTION,
      JSON_OPTION,
      // The CLI spoke to a control socket before the management API: say what replaced them.
      { name: '--data-dir', value: 'D', help: 'retired', hidden: true },
      { name: '--control-socket', value: 'PATH', help: 'retired', hidden: true },
    ],
  },
  async (io, args) => {
    for (const gone of ['--data-dir', '--control-socket'])
      if (hasFlag(args, gone))
        throw new UsageError(
          `${gone}: baton redrive now goes through the management API; give --url (or BATON_URL)`,
        );
    const queue = args.positional[0]!;
    const vhost = vhostOf(args);
    const body: { to?: string; limit?: number } = {};
    const to = optionValue(args, '--to');
    if (to !== undefined) body.to = to;
    const limit = countOption(args, '--limit');
    if (limit !== undefined) body.limit = limit;
    const before = io.progress === undefined ? 0 : ((await readyCount(io, vhost, queue)) ?? 0);
    const bar = new ProgressBar(
      io.progress,
      `redriving '${queue}'`,
      Math.min(before, limit ?? before),
      'messages',
    );
    const request = io.api.request<RedriveReply>(
      'POST',
      apiPath('queues', vhost, queue, 'redrive'),
      { body },
    );
    const reply = await withProgress(bar, request, async () => {
      const left = await readyCount(io, vhost, queue);
      return left === undefined ? undefined : before - left;
    });
    if (hasFlag(args, '--json')) return printJson(io, reply);
    io.out(`${describe(queue, reply)}\n`);
  },
);
