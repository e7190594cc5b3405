import { apiPath } from './api-client.js';
import { hasFlag } from './args.js';
import { defineCommand, VHOST_OPTION, vhostOf, type Command, type CommandIo } from './command.js';
import { keyValues } from './key-values.js';
import { ProgressBar, withProgress } from './progress.js';

interface QueueInfo {
  messages?: number;
  messages_ready?: number;
}

/** The queue's ready count, for progress while a bulk operation drains it. */
export async function readyCount(
  io: CommandIo,
  vhost: string,
  queue: string,
): Promise<number | undefined> {
  const q = await io.api.get<QueueInfo>(apiPath('queues', vhost, queue));
  return q.messages_ready;
}

const where = (queue: string, vhost: string): string =>
  `'${queue}'${vhost === '/' ? '' : ` in vhost '${vhost}'`}`;

const purge = defineCommand(
  {
    name: 'queue purge',
    args: '<queue>',
    positionals: [1, 1],
    summary: 'Remove every ready message from a queue (unacked ones stay)',
    description:
      'DELETE /api/queues/{vhost}/{queue}/contents. On a terminal, a bar shows the queue draining.',
    options: [VHOST_OPTION],
  },
  async (io, args) => {
    const queue = args.positional[0]!;
    const vhost = vhostOf(args);
    const before = (await readyCount(io, vhost, queue)) ?? 0;
    const bar = new ProgressBar(io.progress, `purging '${queue}'`, before, 'messages');
    await withProgress(
      bar,
      io.api.request('DELETE', apiPath('queues', vhost, queue, 'contents')),
      async () => {
        const left = await readyCount(io, vhost, queue);
        return left === undefined ? undefined : before - left;
      },
    );
    io.out(
      `purged queue ${where(queue, vhost)} (${before} ready message${before === 1 ? '' : 's'} before)\n`,
    );
  },
);

const remove = defineCommand(
  {
    name: 'queue delete',
    args: '<queue>',
    positionals: [1, 1],
    summary: 'Delete a queue and its messages',
    description:
      'DELETE /api/queues/{vhost}/{queue}; --if-empty and --if-unused make the broker refuse otherwise.',
    options: [
      VHOST_OPTION,
      { name: '--if-empty', help: 'Only if it holds no messages' },
      { name: '--if-unused', help: 'Only if it has no consumers' },
    ],
  },
  async (io, args) => {
    const queue = args.positional[0]!;
    const vhost = vhostOf(args);
    const query = new URLSearchParams();
    if (hasFlag(args, '--if-empty')) query.set('if-empty', 'true');
    if (hasFlag(args, '--if-unused')) query.set('if-unused', 'true');
    const q = query.size > 0 ? `?${query.toString()}` : '';
    await io.api.request('DELETE', `${apiPath('queues', vhost, queue)}${q}`);
    io.out(`deleted queue ${where(queue, vhost)}\n`);
  },
);

const declare = defineCommand(
  {
    name: 'queue declare',
    args: '<queue>',
    positionals: [1, 1],
    summary: 'Declare a queue (succeeds when an identical one exists)',
    description:
      'PUT /api/queues/{vhost}/{queue}. Argument values that look like numbers or true/false are sent as such;\nkey:=JSON sends any JSON value (--arg x-dead-letter-routing-key:=\'"dlq"\').',
    options: [
      VHOST_OPTION,
      { name: '--durable', help: 'Survives a broker restart' },
      { name: '--auto-delete', help: 'Deleted when its last consumer goes' },
      {
        name: '--arg',
        value: 'KEY=VALUE',
        repeat: true,
        help: 'A queue argument (x-max-length=1000, x-queue-type=quorum, …)',
      },
    ],
  },
  async (io, args) => {
    const queue = args.positional[0]!;
    const vhost = vhostOf(args);
    await io.api.request('PUT', apiPath('queues', vhost, queue), {
      body: {
        durable: hasFlag(args, '--durable'),
        auto_delete: hasFlag(args, '--auto-delete'),
        arguments: keyValues('--arg', args.options.get('--arg'), true),
      },
    });
    io.out(`declared queue ${where(queue, vhost)}\n`);
  },
);

export const QUEUE_COMMANDS: Command[] = [purge, remove, declare];
