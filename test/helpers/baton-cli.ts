/**
 * The operator CLI as people run it: `node dist/src/cli/main.js …` in a child process, against
 * a real broker whose management API listens on a free port.
 */
import { execFile } from 'node:child_process';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../src/config.js';
import { startBroker } from './server.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Environment with none of the caller's BATON_* or COLUMNS settings leaking in. */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('BATON_') && k !== 'COLUMNS') env[k] = v;
  return { ...env, ...extra };
}

/** Runs `baton …` asynchronously (the test's own clients keep running); stdin gets `input`. */
export function baton(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string | Buffer } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [cli, ...args],
      { env: cleanEnv(options.env), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(options.input);
  });
}

/** An in-process broker with the management API on a free port; BATON_URL points at it. */
export async function brokerWithHttp(
  t: TestContext,
  overrides: Partial<Config> = {},
): Promise<{ amqpUrl: string; httpUrl: string; env: NodeJS.ProcessEnv; dataDir: string }> {
  const b = await startBroker(t, { httpPort: 0, ...overrides });
  const httpUrl = `http://127.0.0.1:${b.server.ports.get('http')}`;
  return { amqpUrl: b.url, httpUrl, env: { BATON_URL: httpUrl }, dataDir: b.dataDir };
}

/** `baton` against that broker; fails the test with the CLI's stderr when it does not exit 0. */
export async function batonOk(
  env: NodeJS.ProcessEnv,
  args: readonly string[],
  input?: string | Buffer,
): Promise<string> {
  const r = await baton(args, input === undefined ? { env } : { env, input });
  if (r.code !== 0)
    throw new Error(`baton ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** A local port nothing listens on (bound once, then released). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}
