import { spawn, type ChildProcess } from 'node:child_process';

/** `baton serve` on a free port with `dataDir`, telling readiness on fd 3 (see waitReady). */
export function spawnServe(cli: string, dataDir: string, extra: string[] = []): ChildProcess {
  return spawn(
    process.execPath,
    [
      cli,
      'serve',
      '--amqp-port',
      '0',
      '--host',
      '127.0.0.1',
      '--data-dir',
      dataDir,
      '--ready-fd',
      '3',
      // Metrics and the management API on, as in production; free ports so runs never collide.
      '--http-port',
      '0',
      '--prometheus-port',
      '0',
      // recovery.ts reads its timing from the journal line's JSON fields.
      '--log-format',
      'json',
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'inherit', 'pipe'] },
  );
}
