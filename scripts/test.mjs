// `npm test`: lint, build (which typechecks), then every test file under dist/test with node's runner.
import { execSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const run = (cmd) => execSync(cmd, { stdio: 'inherit' });
if (!process.argv.includes('--no-lint')) run('npx eslint . && npx prettier --check .');
run('npx tsc -p tsconfig.json');

function collect(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    // Long variants (test/**/long/) run from `npm run reliability`, not here.
    if (e.isDirectory()) {
      if (e.name !== 'long') out.push(...collect(p));
    } else if (e.name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const filter = process.argv.slice(2).filter((a) => !a.startsWith('--'));
let files = collect('dist/test').sort();
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
// With no files node's runner would discover every test itself, the long ones included.
if (files.length === 0) {
  console.error(`no test file under dist/test matches ${filter.join(', ')}`);
  process.exit(1);
}
const r = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=300000', ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
