#!/usr/bin/env node
import { pino } from 'pino';
import { loadConfig, usage } from '../config.js';
import { BatonError } from '../core/errors.js';
import { Server } from '../server.js';
import { announceReady, READY_FD_HELP, takeReadyFd, type ReadyInfo } from './ready.js';
import { isOperatorCommand, OPERATOR_ENTRIES, runOperator } from './operator-commands.js';

const [command = 'help', ...rest] = process.argv.slice(2);

async function serve(): Promise<void> {
  let config;
  let readyFd;
  try {
    const r = takeReadyFd(rest, process.env);
    readyFd = r.fd;
    config = loadConfig(r.rest);
  } catch (err) {
    process.stderr.write(`baton: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const logger = pino({ level: config.logLevel });
  // After a failed fsync the kernel may have dropped the pages: only recovery knows what is on
  // disk, so exit (EX_IOERR) and let the supervisor restart us, as PostgreSQL does.
  const server = await Server.start(config, logger, () => process.exit(74));
  if (readyFd !== undefined) {
    try {
      const info: ReadyInfo = { pid: process.pid, ports: Object.fromEntries(server.ports) };
      if (server.controlSocket !== undefined) info.controlSocket = server.controlSocket;
      announceReady(readyFd, info);
    } catch (err) {
      process.stderr.write(`baton: --ready-fd ${readyFd}: ${(err as Error).message}\n`);
      await server.stop();
      process.exit(2);
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
}

switch (command) {
  case 'serve':
    serve().catch((err: unknown) => {
      const msg = err instanceof BatonError || err instanceof Error ? err.message : String(err);
      process.stderr.write(`baton: cannot start: ${msg}\n`);
      process.exit(1);
    });
    break;
  case 'help':
  case '--help':
  case '-h':
    process.stdout.write(
      `${usage()}\n${READY_FD_HELP}\n\nOperator commands (through the management API):\n${OPERATOR_ENTRIES.map((e) => `  baton ${e.name} ${e.args}`.padEnd(48) + ` ${e.summary}`).join('\n')}\n`,
    );
    break;
  default:
    if (isOperatorCommand(command)) {
      void runOperator(command, rest).then((code) => (process.exitCode = code));
      break;
    }
    process.stderr.write(`baton: unknown command '${command}'\n${usage()}\n`);
    process.exit(2);
}
