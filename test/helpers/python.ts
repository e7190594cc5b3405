// Running the interop scripts of test/interop/*.py (Debian's /usr/bin/python3 with python3-pika,
// python3-kombu…) against a broker: one place for the "is the module there" check and for
// collecting a script's JSON lines.
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { requireCapability } from './broker-child.js';

export const PYTHON = '/usr/bin/python3';
const scriptDir = fileURLToPath(new URL('../../../test/interop/', import.meta.url));

const missing = new Map<string, string | undefined>();

/** Why `import module` fails under PYTHON, or undefined when it works (cached). */
export function pythonModuleMissing(module: string): string | undefined {
  if (!missing.has(module)) {
    const r = spawnSync(PYTHON, ['-c', `import ${module}`], { encoding: 'utf8' });
    const why = r.error
      ? `${PYTHON}: ${r.error.message}`
      : r.status !== 0
        ? (r.stderr.trim().split('\n').at(-1) ?? `exit ${r.status}`)
        : undefined;
    missing.set(module, why);
  }
  return missing.get(module);
}

/** Skips (or under BATON_REQUIRE_ALL=1 fails) the test without python3-<module>; true: return. */
export function lacksPythonModule(t: TestContext, module: string): boolean {
  const why = pythonModuleMissing(module);
  return requireCapability(
    t,
    why === undefined,
    `python3-${module} not installed: ${why} (apt-get install python3-${module})`,
  );
}

/** Runs test/interop/<script> with `args`; resolves with its stdout's JSON lines. */
export function runPythonScript(
  t: TestContext,
  script: string,
  args: Array<string | number>,
  timeoutMs = 60_000,
): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      PYTHON,
      [`${scriptDir}${script}`, ...args.map(String)],
      { cwd: scriptDir, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`${script}: ${err.message}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
          return;
        }
        resolve(
          stdout
            .split('\n')
            .filter((l) => l.trim() !== '')
            .map((l) => JSON.parse(l) as unknown),
        );
      },
    );
    t.after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
  });
}
