import { UsageError } from './errors.js';

/** One `--name [VALUE]` option of a command. */
export interface OptionSpec {
  name: string;
  /** The value's placeholder ('V'); absent for an on/off flag. */
  value?: string;
  /** May be given more than once (values are kept in order). */
  repeat?: boolean;
  help: string;
  /** Accepted but left out of --help (a retired option that explains what replaced it). */
  hidden?: boolean;
}

/** What a command takes, and the text its --help prints. */
export interface CommandSpec {
  /** The words that select it: 'queue delete'. */
  name: string;
  /** Positional arguments as shown in the usage line: '<queue>'. */
  args: string;
  /** How many positionals it takes: [min, max]. */
  positionals: readonly [number, number];
  /** One line for the command table. */
  summary: string;
  /** Paragraphs after the usage line. */
  description?: string;
  options: readonly OptionSpec[];
}

export interface ParsedArgs {
  positional: string[];
  /** Values by option name ('--vhost'); an on/off flag has one empty string when given. */
  options: Map<string, string[]>;
}

/** The result of parsing: the arguments, or a request for the command's help. */
export type Parse = { help: true } | ({ help: false } & ParsedArgs);

/** Parses argv against `spec`; unknown options, missing values and wrong counts throw UsageError. */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): Parse {
  const byName = new Map(spec.options.map((o) => [o.name, o]));
  const positional: string[] = [];
  const options = new Map<string, string[]>();
  let onlyPositional = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (onlyPositional || !a.startsWith('-') || a === '-') {
      positional.push(a);
      continue;
    }
    if (a === '--') {
      onlyPositional = true;
      continue;
    }
    if (a === '--help' || a === '-h') return { help: true };
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    const o = byName.get(name);
    if (o === undefined) throw new UsageError(`unknown option '${name}'`);
    let value = '';
    if (o.value !== undefined) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined) throw new UsageError(`option ${name} needs a value (${o.value})`);
      value = v;
    } else if (eq > 0) throw new UsageError(`option ${name} takes no value`);
    const seen = options.get(name);
    if (seen !== undefined && o.repeat !== true)
      throw new UsageError(`option ${name} given more than once`);
    if (seen === undefined) options.set(name, [value]);
    else seen.push(value);
  }
  const [min, max] = spec.positionals;
  if (positional.length < min)
    throw new UsageError(min === 1 ? `missing ${spec.args.split(' ')[0]}` : 'missing arguments');
  if (positional.length > max) throw new UsageError(`unexpected argument '${positional[max]}'`);
  return { help: false, positional, options };
}

/** The last value of an option, or undefined when it was not given. */
export function optionValue(args: ParsedArgs, name: string): string | undefined {
  return args.options.get(name)?.at(-1);
}

export function hasFlag(args: ParsedArgs, name: string): boolean {
  return args.options.has(name);
}

/** A positive whole number option, or undefined when absent. */
export function countOption(args: ParsedArgs, name: string): number | undefined {
  const raw = optionValue(args, name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1)
    throw new UsageError(`${name}: '${raw}' is not a positive whole number`);
  return Number(raw);
}

/** `baton <name> --help`. */
export function helpText(spec: CommandSpec): string {
  const lines = [`Usage: baton ${spec.name}${spec.args === '' ? '' : ` ${spec.args}`} [options]`];
  lines.push('', spec.summary);
  if (spec.description !== undefined) lines.push('', spec.description);
  lines.push('', 'Options:');
  const label = (o: OptionSpec): string =>
    o.value === undefined ? o.name : `${o.name} ${o.value}`;
  const shown = spec.options.filter((o) => o.hidden !== true);
  const w = Math.max(...shown.map((o) => label(o).length), '--help'.length);
  for (const o of shown) lines.push(`  ${label(o).padEnd(w)}  ${o.help}`);
  lines.push(`  ${'--help'.padEnd(w)}  Show this help`);
  return lines.join('\n');
}
