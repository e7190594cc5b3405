import { loadConfig, usage } from '../config.js';
import { createLogger } from '../log/logger.js';
import { Server } from '../server.js';
import { applyGcFlags } from './gc-flags.js';
import { announceReady, READY_FD_HELP, takeReadyFd, type ReadyInfo } from './ready.js';

/** `baton serve --help`: every option with its environment variable and default. */
export function serveUsage(): string {
  return `${usage()}\n${READY_FD_HELP}`;
}

/**
 * `baton serve`: starts the broker and leaves the process running (undefined); SIGTERM or
 * SIGINT stop it cleanly and exit 0, a second one exits at once. Exit status 2 for bad usage.
 */
export async function serveCommand(argv: string[]): Promise<number | undefined> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${serveUsage()}\n`);
    return 0;
  }
  let config;
  let readyFd;
  try {
    const r = takeReadyFd(argv, process.env);
    readyFd = r.fd;
    config = loadConfig(r.rest);
  } catch (err) {
    process.stderr.write(`baton: ${(err as Error).message}\n`);
    return 2;
  }
  applyGcFlags(process.execArgv);
  const logger = createLogger(config);
  // After a failed fsync the kernel may have dropped the pages: only recovery knows what is on
  // disk, so exit (EX_IOERR) and let the supervisor restart us, as PostgreSQL does.
  let server;
  try {
    server = await Server.start(config, logger, () => process.exit(74));
  } catch (err) {
    process.stderr.write(`baton: cannot start: ${(err as Error).message}\n`);
    return 1;
  }
  if (readyFd !== undefined) {
    try {
      const info: ReadyInfo = { pid: process.pid, ports: Object.fromEntries(server.ports) };
      if (server.controlSocket !== undefined) info.controlSocket = server.controlSocket;
      announceReady(readyFd, info);
    } catch (err) {
      process.stderr.write(`baton: --ready-fd ${readyFd}: ${(err as Error).message}\n`);
      await server.stop();
      return 2;
    }
  }
  let signals = 0;
  const shutdown = (signal: string): void => {
    if (++signals > 1) {
      logger.warn(`second ${signal}: exiting now`);
      process.exit(1);
    }
    logger.info(`${signal}: shutting down`);
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  return undefined;
}
