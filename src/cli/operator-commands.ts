import { runCommand, type Command, type Process } from './command.js';
import { CONNECTION_COMMANDS } from './connection-commands.js';
import { DEFINITIONS_COMMANDS } from './definitions.js';
import { GET } from './get.js';
import { LIST_COMMANDS } from './list-commands.js';
import { PUBLISH } from './publish.js';
import { QUEUE_COMMANDS } from './queue-commands.js';
import { REDRIVE } from './redrive.js';
import { STATUS } from './status.js';
import { USER_COMMANDS } from './user-commands.js';

/** Every command that works on a running broker through the management API. */
export const OPERATOR_COMMANDS: readonly Command[] = [
  STATUS,
  ...LIST_COMMANDS,
  ...QUEUE_COMMANDS,
  ...CONNECTION_COMMANDS,
  PUBLISH,
  GET,
  REDRIVE,
  ...DEFINITIONS_COMMANDS,
  ...USER_COMMANDS,
];

const thisProcess = (): Process => ({
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});

const groupOf = (c: Command): string => c.spec.name.split(' ')[0]!;

/** `baton queue`: the group's sub-commands. */
function groupHelp(group: string): string {
  const cmds = OPERATOR_COMMANDS.filter((c) => groupOf(c) === group);
  const w = Math.max(...cmds.map((c) => `${c.spec.name} ${c.spec.args}`.trimEnd().length));
  return [
    `Usage: baton ${group} <${cmds.map((c) => c.spec.name.split(' ')[1]).join('|')}> [options]`,
    '',
    ...cmds.map(
      (c) => `  baton ${`${c.spec.name} ${c.spec.args}`.trimEnd().padEnd(w)}  ${c.spec.summary}`,
    ),
    '',
    `Run 'baton ${group} <command> --help' for its options.`,
  ].join('\n');
}

/**
 * Runs `baton <group> …`: a one-word command (status, publish, get, redrive) directly, else
 * the sub-command named by the next argument. Resolves with the exit status.
 */
export function runOperator(
  group: string,
  argv: readonly string[],
  proc: Process = thisProcess(),
): Promise<number> {
  const direct = OPERATOR_COMMANDS.find((c) => c.spec.name === group);
  if (direct !== undefined) return runCommand(direct, argv, proc);
  const sub = argv[0];
  if (sub === '--help' || sub === '-h') {
    proc.stdout.write(`${groupHelp(group)}\n`);
    return Promise.resolve(0);
  }
  const cmd = OPERATOR_COMMANDS.find((c) => c.spec.name === `${group} ${sub}`);
  if (cmd === undefined) {
    const why =
      sub === undefined ? `baton ${group}: which one?` : `baton ${group}: unknown command '${sub}'`;
    proc.stderr.write(`${why}\n\n${groupHelp(group)}\n`);
    return Promise.resolve(2);
  }
  return runCommand(cmd, argv.slice(1), proc);
}

/** The lines `baton help` shows for these commands, and how main.ts reaches them. */
export interface OperatorEntry {
  name: string;
  args: string;
  summary: string;
  run(argv: string[]): Promise<number>;
}

export const OPERATOR_ENTRIES: readonly OperatorEntry[] = OPERATOR_COMMANDS.map((c) => {
  const [group, ...rest] = c.spec.name.split(' ');
  return {
    name: group!,
    args: [...rest, c.spec.args].filter((s) => s !== '').join(' '),
    summary: c.spec.summary,
    run: (argv: string[]) => runOperator(group!, argv),
  };
});

/** True when `name` is the first word of an operator command. */
export function isOperatorCommand(name: string): boolean {
  return OPERATOR_COMMANDS.some((c) => groupOf(c) === name);
}
