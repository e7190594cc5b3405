// `prestart`: builds dist/ from src/ when it is missing or older than a source file, so
// `npm start` works on a fresh clone, after `npm install --omit=dev` too: the build needs only
// TypeScript and the type packages src/ uses, which are dependencies for that reason
// (tsconfig.build.json compiles src/ alone; tests, bench and examples need the dev tools).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const marker = 'dist/src/cli/main.js';
// A build rewrites its build-info file even when an output's bytes did not change.
const builtAt = () =>
  Math.max(
    ...[marker, 'dist/.tsbuildinfo', 'dist/.tsbuildinfo-build'].map((f) =>
      existsSync(f) ? statSync(f).mtimeMs : 0,
    ),
  );
function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}
if (!existsSync(marker) || newest('src') > builtAt()) {
  let tsc;
  try {
    // Never `npx tsc`: without TypeScript installed, npx fetches an unrelated package named tsc.
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    process.stderr.write(
      `baton: ${existsSync(marker) ? 'dist/ is older than src/' : 'dist/ is not built'} and ` +
        "TypeScript is not installed; run 'npm install' (it is a dependency) and try again\n",
    );
    process.exit(1);
  }
  process.stderr.write('baton: building dist/ from src/ (tsc -p tsconfig.build.json)\n');
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
