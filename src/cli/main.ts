#!/usr/bin/env node
import { BatonError } from '../core/errors.js';
import { findCommand, helpText } from './commands.js';

const [name = 'help', ...rest] = process.argv.slice(2);
const command = findCommand(name);
if (command === undefined) {
  process.stderr.write(`baton: unknown command '${name}'\n\n${helpText()}\n`);
  process.exit(2);
}
command.run(rest).then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (err: unknown) => {
    const msg = err instanceof BatonError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`baton ${command.name}: ${msg}\n`);
    process.exit(1);
  },
);
