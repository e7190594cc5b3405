import { readFile, writeFile } from 'node:fs/promises';
import { apiPath } from './api-client.js';
import { optionValue } from './args.js';
import { defineCommand, type Command, type CommandIo } from './command.js';
import { CliError } from './errors.js';
import { ProgressBar } from './progress.js';

type Definitions = Record<string, unknown>;

const VHOST: { name: string; value: string; help: string } = {
  name: '--vhost',
  value: 'V',
  help: 'Only this virtual host (/api/definitions/{vhost}); default: the whole broker',
};

function path(vhost: string | undefined): string {
  return vhost === undefined ? apiPath('definitions') : apiPath('definitions', vhost);
}

/** "3 queues, 2 exchanges, 4 bindings". */
export function summarize(defs: Definitions): string {
  const n = (k: string): number => (Array.isArray(defs[k]) ? defs[k].length : 0);
  const parts = ['vhosts', 'queues', 'exchanges', 'bindings', 'policies', 'users'].filter(
    (k) => n(k) > 0,
  );
  if (parts.length === 0) return 'nothing';
  return parts
    .map((k) => `${n(k)} ${n(k) === 1 ? k.slice(0, -1).replace(/ie$/, 'y') : k}`)
    .join(', ');
}

async function readSource(io: CommandIo, file: string): Promise<Buffer> {
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const c of io.stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(file);
  } catch (e) {
    throw new CliError(`${file}: ${(e as Error).message}`);
  }
}

/** The bytes as a request body that moves `bar` as fetch pulls them. */
function uploading(bytes: Buffer, bar: ProgressBar): ReadableStream<Uint8Array> {
  const CHUNK = 256 * 1024;
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) {
        bar.update(bytes.length);
        controller.close();
        return;
      }
      const end = Math.min(at + CHUNK, bytes.length);
      controller.enqueue(bytes.subarray(at, end));
      at = end;
      bar.update(at);
    },
  });
}

const exportCommand = defineCommand(
  {
    name: 'definitions export',
    args: '[FILE|-]',
    positionals: [0, 1],
    summary: "Save the broker's definitions (vhosts, queues, exchanges, bindings, …) as JSON",
    description: "GET /api/definitions, RabbitMQ's format. To stdout without FILE or with -.",
    options: [VHOST],
  },
  async (io, args) => {
    const file = args.positional[0] ?? '-';
    const defs = await io.api.get<Definitions>(path(optionValue(args, '--vhost')));
    const text = `${JSON.stringify(defs, null, 2)}\n`;
    if (file === '-') return io.out(text);
    try {
      await writeFile(file, text);
    } catch (e) {
      throw new CliError(`${file}: ${(e as Error).message}`);
    }
    io.out(`exported ${summarize(defs)} to ${file}\n`);
  },
);

const importCommand = defineCommand(
  {
    name: 'definitions import',
    args: 'FILE|-',
    positionals: [1, 1],
    summary: 'Load definitions from a JSON file (RabbitMQ or Baton export)',
    description:
      'POST /api/definitions. Existing objects stay; identical ones are left as they are. On a terminal,\na bar shows the upload of big files.',
    options: [VHOST],
  },
  async (io, args) => {
    const file = args.positional[0]!;
    const bytes = await readSource(io, file);
    let defs: Definitions;
    try {
      defs = JSON.parse(bytes.toString('utf8')) as Definitions;
    } catch (e) {
      throw new CliError(`${file}: not JSON (${(e as Error).message})`);
    }
    if (defs === null || typeof defs !== 'object' || Array.isArray(defs))
      throw new CliError(`${file}: not a definitions object`);
    const bar = new ProgressBar(io.progress, `importing ${file}`, bytes.length, 'bytes');
    try {
      await io.api.request('POST', path(optionValue(args, '--vhost')), {
        body: uploading(bytes, bar),
      });
    } finally {
      bar.finish();
    }
    io.out(`imported ${summarize(defs)} from ${file}\n`);
  },
);

export const DEFINITIONS_COMMANDS: Command[] = [exportCommand, importCommand];
