import { ApiClient, CONNECTION_OPTIONS, connectionFrom } from './api-client.js';
import { helpText, parseArgs, type CommandSpec, type OptionSpec, type ParsedArgs } from './args.js';
import { CliError, UsageError } from './errors.js';
import type { ProgressTarget } from './progress.js';
import { outputWidth } from './table.js';

/** What a command gets besides its arguments. */
export interface CommandIo {
  api: ApiClient;
  out: (s: string) => void;
  err: (s: string) => void;
  stdin: NodeJS.ReadableStream;
  /** stderr when it is a terminal (progress bars); undefined otherwise. */
  progress: ProgressTarget | undefined;
  /** The width tables fit (Infinity when piped). */
  width: number;
  env: NodeJS.ProcessEnv;
}

/** An operator command that talks to a running broker through the management API. */
export interface Command {
  spec: CommandSpec;
  run(io: CommandIo, args: ParsedArgs): Promise<void>;
}

export const JSON_OPTION: OptionSpec = {
  name: '--json',
  help: "Print the API's JSON instead of a table (for scripts)",
};
export const VHOST_OPTION: OptionSpec = {
  name: '--vhost',
  value: 'V',
  help: "Virtual host (default '/')",
};

/** Builds a command's spec with the connection options every command takes. */
export function defineCommand(spec: CommandSpec, run: Command['run']): Command {
  return { spec: { ...spec, options: [...spec.options, ...CONNECTION_OPTIONS] }, run };
}

/** The streams and environment of this process (tests run the real binary instead). */
export interface Process {
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream;
  stdout: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  stderr: ProgressTarget;
}

/** Parses, runs and reports one command; resolves with the exit status. */
export async function runCommand(
  cmd: Command,
  argv: readonly string[],
  proc: Process,
): Promise<number> {
  const out = (s: string): void => void proc.stdout.write(s);
  const err = (s: string): void => void proc.stderr.write(s);
  try {
    const parsed = parseArgs(cmd.spec, argv);
    if (parsed.help) {
      out(`${helpText(cmd.spec)}\n`);
      return 0;
    }
    const json = parsed.options.has('--json');
    const io: CommandIo = {
      api: new ApiClient(connectionFrom(parsed, proc.env)),
      out,
      err,
      stdin: proc.stdin,
      progress: json || proc.stderr.isTTY !== true ? undefined : proc.stderr,
      width: outputWidth(proc.env, proc.stdout),
      env: proc.env,
    };
    await cmd.run(io, parsed);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`baton ${cmd.spec.name}: ${e.message}\n\n${helpText(cmd.spec)}\n`);
      return 2;
    }
    if (e instanceof CliError) {
      err(`baton: ${e.message}\n`);
      return e.exitCode;
    }
    err(`baton: ${(e as Error).message ?? String(e)}\n`);
    return 1;
  }
}

/** `vhost` from --vhost, or '/'. */
export function vhostOf(args: ParsedArgs): string {
  return args.options.get('--vhost')?.at(-1) ?? '/';
}

/** Pretty JSON with a newline, what --json prints. */
export function printJson(io: CommandIo, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}
