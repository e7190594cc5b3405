import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's version, read from its package.json at run time (never copied into the
 * build): walks up from this file (src/cli or dist/src/cli) to the package root.
 */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'baton' && typeof pkg.version === 'string') return pkg.version;
    }
    const up = dirname(dir);
    if (up === dir)
      throw new Error("cannot find baton's package.json above " + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** `baton --version`, `baton -v`, `baton version`: "baton 0.1.0". */
export function versionCommand(argv: readonly string[]): Promise<number> {
  if (argv.length > 0) {
    process.stderr.write(`baton version: takes no arguments (got '${argv[0]}')\n`);
    return Promise.resolve(2);
  }
  process.stdout.write(`baton ${packageVersion()}\n`);
  return Promise.resolve(0);
}
