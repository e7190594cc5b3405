import { serveCommand, serveUsage } from './serve.js';
import { versionCommand } from './version.js';
import { OPERATOR_ENTRIES } from './operator-commands.js';

/**
 * One `baton <name>` command. To add one: a line here; `baton help` lists it and main.ts
 * dispatches to it.
 */
export interface Command {
  name: string;
  /** What follows the name in `baton help`, e.g. `<queue> [--to QUEUE]`. */
  args: string;
  /** One line for `baton help`. */
  summary: string;
  /**
   * Runs with the arguments after the name; resolves with the exit status, or undefined when
   * the command keeps the process running (serve exits on its own, from its signal handlers).
   */
  run(argv: string[]): Promise<number | undefined>;
}

export const COMMANDS: readonly Command[] = [
  {
    name: 'serve',
    args: '[options]',
    summary: "Run the broker ('baton serve --help' lists its options)",
    run: serveCommand,
  },
  // Operator commands: through a running broker's management API (operator-commands.ts).
  ...OPERATOR_ENTRIES,
  {
    name: 'version',
    args: '',
    summary: "Print Baton's version (also 'baton --version', 'baton -v')",
    run: versionCommand,
  },
  {
    name: 'help',
    args: '',
    summary: "This list, then serve's options (also 'baton --help', 'baton -h')",
    run: () => {
      process.stdout.write(`${helpText()}\n`);
      return Promise.resolve(0);
    },
  },
];

/** Spellings that stand for a command. */
export const ALIASES: Readonly<Record<string, string>> = {
  '--version': 'version',
  '-v': 'version',
  '--help': 'help',
  '-h': 'help',
};

export function findCommand(name: string): Command | undefined {
  const real = ALIASES[name] ?? name;
  return COMMANDS.find((c) => c.name === real);
}

/** `baton help`: the command table, then serve's options (the command most runs use). */
export function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => `${c.name} ${c.args}`.trimEnd().length));
  const lines = ['Usage: baton <command> [arguments]', '', 'Commands:'];
  for (const c of COMMANDS)
    lines.push(`  baton ${`${c.name} ${c.args}`.trimEnd().padEnd(width)}  ${c.summary}`);
  lines.push('', "Run 'baton <command> --help' for a command's own usage.", '');
  return `${lines.join('\n')}\n${serveUsage()}`;
}
