import { apiPath } from './api-client.js';
import { optionValue, type ParsedArgs } from './args.js';
import {
  defineCommand,
  JSON_OPTION,
  printJson,
  VHOST_OPTION,
  vhostOf,
  type Command,
  type CommandIo,
} from './command.js';
import { CliError, UsageError } from './errors.js';
import { renderTable, type Column } from './table.js';

type Row = Record<string, unknown>;

const text = (v: unknown): string | undefined =>
  v === undefined || v === null ? undefined : typeof v === 'string' ? v : JSON.stringify(v);
const limitsText = (v: unknown): string =>
  Object.entries((v ?? {}) as Record<string, unknown>)
    .map(([k, n]) => `${k}=${String(n)}`)
    .join(' ');
const tagsText = (v: unknown): string => (Array.isArray(v) ? v.join(',') : (text(v) ?? ''));

/** `-` reads the password from stdin's first line, so it stays out of `ps` and shell history. */
async function passwordArg(io: CommandIo, given: string): Promise<string> {
  if (given !== '-') return given;
  let data = '';
  for await (const chunk of io.stdin) data += String(chunk);
  const line = data.split(/\r?\n/)[0] ?? '';
  if (line === '') throw new UsageError('no password on stdin');
  return line;
}

const PASSWORD_NOTE =
  "Give the password as '-' to read it from stdin's first line (it then stays out of ps and\nshell history). Passwords are never printed.";

async function userOf(io: CommandIo, name: string): Promise<Row> {
  const u = await io.api.get<Row | undefined>(apiPath('users', name), { allowNotFound: true });
  if (u === undefined) throw new CliError(`no user '${name}'`);
  return u;
}

const usersList = defineCommand(
  {
    name: 'users list',
    args: '',
    positionals: [0, 0],
    summary: 'List users with their tags and limits',
    description: 'GET /api/users (never password hashes). Administrators only.',
    options: [JSON_OPTION],
  },
  async (io, args) => {
    const rows = await io.api.get<Row[]>(apiPath('users'));
    if (args.options.has('--json')) return printJson(io, rows);
    const columns: Column<Row>[] = [
      { title: 'name', cell: (r) => text(r.name) },
      { title: 'tags', cell: (r) => tagsText(r.tags) },
      { title: 'limits', cell: (r) => limitsText(r.limits) },
    ];
    io.out(`${renderTable(columns, rows, io.width)}\n`);
  },
);

const TAGS_OPTION = {
  name: '--tags',
  value: 'a,b',
  help: 'Tags: administrator, monitoring, policymaker, management (default: none)',
};

const usersAdd = defineCommand(
  {
    name: 'users add',
    args: '<name> <password>',
    positionals: [2, 2],
    summary: 'Create a user (it needs permissions on a vhost to connect)',
    description: `PUT /api/users/{name}; refused when the user exists (use 'users passwd' or 'users tags').\n${PASSWORD_NOTE}`,
    options: [TAGS_OPTION],
  },
  async (io, args) => {
    const [name, given] = args.positional as [string, string];
    const existing = await io.api.get<Row | undefined>(apiPath('users', name), {
      allowNotFound: true,
    });
    if (existing !== undefined) throw new CliError(`user '${name}' already exists`);
    const password = await passwordArg(io, given);
    await io.api.request('PUT', apiPath('users', name), {
      body: { password, tags: optionValue(args, '--tags') ?? '' },
    });
    io.out(`added user '${name}'\n`);
  },
);

const usersDelete = defineCommand(
  {
    name: 'users delete',
    args: '<name>',
    positionals: [1, 1],
    summary: 'Delete a user and its permissions (its connections are closed)',
    description: 'DELETE /api/users/{name}.',
    options: [],
  },
  async (io, args) => {
    const name = args.positional[0]!;
    await io.api.request('DELETE', apiPath('users', name));
    io.out(`deleted user '${name}'\n`);
  },
);

const usersPasswd = defineCommand(
  {
    name: 'users passwd',
    args: '<name> <password>',
    positionals: [2, 2],
    summary: "Change a user's password (tags stay)",
    description: `PUT /api/users/{name} with the user's tags as they are.\n${PASSWORD_NOTE}`,
    options: [],
  },
  async (io, args) => {
    const [name, given] = args.positional as [string, string];
    const u = await userOf(io, name);
    const password = await passwordArg(io, given);
    await io.api.request('PUT', apiPath('users', name), { body: { password, tags: u.tags } });
    io.out(`changed the password of user '${name}'\n`);
  },
);

const usersTags = defineCommand(
  {
    name: 'users tags',
    args: '<name> [tag…]',
    positionals: [1, Infinity],
    summary: "Set a user's tags (none given: clear them); the password stays",
    description:
      'PUT /api/users/{name} with only tags: Baton keeps the password (RabbitMQ would clear it).',
    options: [],
  },
  async (io, args) => {
    const [name, ...tags] = args.positional as [string, ...string[]];
    await userOf(io, name);
    const list = tags.flatMap((t) => t.split(',')).filter((t) => t !== '');
    await io.api.request('PUT', apiPath('users', name), { body: { tags: list } });
    io.out(`user '${name}' has tags: ${list.join(', ') || '(none)'}\n`);
  },
);

const vhostsAdd = defineCommand(
  {
    name: 'vhosts add',
    args: '<name>',
    positionals: [1, 1],
    summary: 'Create a virtual host (or set its description when it exists)',
    description:
      "PUT /api/vhosts/{name}. Users need permissions on it to connect ('baton permissions set').",
    options: [{ name: '--description', value: 'D', help: 'What it is for' }],
  },
  async (io, args) => {
    const name = args.positional[0]!;
    const existing = await io.api.get<Row | undefined>(apiPath('vhosts', name), {
      allowNotFound: true,
    });
    const description = optionValue(args, '--description');
    await io.api.request('PUT', apiPath('vhosts', name), {
      body: description === undefined ? {} : { description },
    });
    io.out(existing === undefined ? `added vhost '${name}'\n` : `updated vhost '${name}'\n`);
  },
);

const vhostsDelete = defineCommand(
  {
    name: 'vhosts delete',
    args: '<name>',
    positionals: [1, 1],
    summary: 'Delete a virtual host with its queues, messages and permissions',
    description: 'DELETE /api/vhosts/{name}; its connections are closed.',
    options: [],
  },
  async (io, args) => {
    const name = args.positional[0]!;
    await io.api.request('DELETE', apiPath('vhosts', name));
    io.out(`deleted vhost '${name}'\n`);
  },
);

const permissionsList = defineCommand(
  {
    name: 'permissions list',
    args: '',
    positionals: [0, 0],
    summary: 'List permissions: user, vhost, configure, write, read',
    description: 'GET /api/permissions, or /api/vhosts/{vhost}/permissions with --vhost.',
    options: [{ ...VHOST_OPTION, help: 'Only this virtual host (default: all)' }, JSON_OPTION],
  },
  async (io, args) => {
    const vhost = optionValue(args, '--vhost');
    const rows = await io.api.get<Row[]>(
      vhost === undefined ? apiPath('permissions') : apiPath('vhosts', vhost, 'permissions'),
    );
    if (args.options.has('--json')) return printJson(io, rows);
    const columns: Column<Row>[] = ['user', 'vhost', 'configure', 'write', 'read'].map((k) => ({
      title: k,
      cell: (r: Row) => text(r[k]),
    }));
    io.out(`${renderTable(columns, rows, io.width)}\n`);
  },
);

const permissionsSet = defineCommand(
  {
    name: 'permissions set',
    args: '<user> <configure> <write> <read>',
    positionals: [4, 4],
    summary: "Set a user's permissions on a vhost (regular expressions over names)",
    description:
      "PUT /api/permissions/{vhost}/{user}. '.*' allows everything, '' nothing; quote them for the shell.",
    options: [VHOST_OPTION],
  },
  async (io, args) => {
    const [user, configure, write, read] = args.positional as [string, string, string, string];
    const vhost = vhostOf(args);
    await io.api.request('PUT', apiPath('permissions', vhost, user), {
      body: { configure, write, read },
    });
    io.out(
      `set permissions of user '${user}' in vhost '${vhost}': configure '${configure}' write '${write}' read '${read}'\n`,
    );
  },
);

const permissionsClear = defineCommand(
  {
    name: 'permissions clear',
    args: '<user>',
    positionals: [1, 1],
    summary: "Remove a user's permissions on a vhost",
    description: 'DELETE /api/permissions/{vhost}/{user}.',
    options: [VHOST_OPTION],
  },
  async (io, args) => {
    const user = args.positional[0]!;
    const vhost = vhostOf(args);
    await io.api.request('DELETE', apiPath('permissions', vhost, user));
    io.out(`cleared permissions of user '${user}' in vhost '${vhost}'\n`);
  },
);

/** `--vhost V` or `--user U`: whose limit (one of them). */
function limitTarget(args: ParsedArgs): ['vhost-limits' | 'user-limits', string] {
  const vhost = optionValue(args, '--vhost');
  const user = optionValue(args, '--for-user');
  if ((vhost === undefined) === (user === undefined))
    throw new UsageError('give --vhost V or --for-user U (one of them)');
  return vhost !== undefined ? ['vhost-limits', vhost] : ['user-limits', user!];
}

const LIMIT_OPTIONS = [
  { name: '--vhost', value: 'V', help: "This virtual host's limit" },
  { name: '--for-user', value: 'U', help: "This user's limit" },
];

const limitsList = defineCommand(
  {
    name: 'limits list',
    args: '',
    positionals: [0, 0],
    summary: 'List vhost and user limits',
    description: 'GET /api/vhost-limits and /api/user-limits.',
    options: [JSON_OPTION],
  },
  async (io, args) => {
    const vhosts = await io.api.get<Row[]>(apiPath('vhost-limits'));
    const users = await io.api.get<Row[]>(apiPath('user-limits'));
    if (args.options.has('--json')) return printJson(io, { vhosts, users });
    const rows = [
      ...vhosts.map((r) => ({ kind: 'vhost', name: r.vhost, value: r.value })),
      ...users.map((r) => ({ kind: 'user', name: r.user, value: r.value })),
    ];
    const columns: Column<Row>[] = [
      { title: 'of', cell: (r) => text(r.kind) },
      { title: 'name', cell: (r) => text(r.name) },
      { title: 'limits', cell: (r) => limitsText(r.value) },
    ];
    io.out(`${renderTable(columns, rows, io.width)}\n`);
  },
);

const limitsSet = defineCommand(
  {
    name: 'limits set',
    args: '<limit> <value>',
    positionals: [2, 2],
    summary: 'Set a limit: vhost max-connections|max-queues, user max-connections|max-channels',
    description:
      'PUT /api/vhost-limits/{vhost}/{limit} or /api/user-limits/{user}/{limit}; a negative value removes it.',
    options: LIMIT_OPTIONS,
  },
  async (io, args) => {
    const [limit, raw] = args.positional as [string, string];
    if (!/^-?\d+$/.test(raw)) throw new UsageError(`'${raw}' is not a whole number`);
    const [path, name] = limitTarget(args);
    await io.api.request('PUT', apiPath(path, name, limit), { body: { value: Number(raw) } });
    io.out(`set ${limit} of ${path === 'vhost-limits' ? 'vhost' : 'user'} '${name}' to ${raw}\n`);
  },
);

const limitsClear = defineCommand(
  {
    name: 'limits clear',
    args: '<limit>',
    positionals: [1, 1],
    summary: 'Remove a vhost or user limit',
    description: 'DELETE /api/vhost-limits/{vhost}/{limit} or /api/user-limits/{user}/{limit}.',
    options: LIMIT_OPTIONS,
  },
  async (io, args) => {
    const limit = args.positional[0]!;
    const [path, name] = limitTarget(args);
    await io.api.request('DELETE', apiPath(path, name, limit));
    io.out(`cleared ${limit} of ${path === 'vhost-limits' ? 'vhost' : 'user'} '${name}'\n`);
  },
);

/** Managing users, vhosts, permissions and limits (administrators only, as in RabbitMQ). */
export const USER_COMMANDS: Command[] = [
  usersList,
  usersAdd,
  usersDelete,
  usersPasswd,
  usersTags,
  vhostsAdd,
  vhostsDelete,
  permissionsList,
  permissionsSet,
  permissionsClear,
  limitsList,
  limitsSet,
  limitsClear,
];
