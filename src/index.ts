/**
 * Baton's embedded API: start a broker inside this process (tests, tools, an app that wants
 * its own queue) and reach it over AMQP at `url`.
 *
 * ```ts
 * import { startBroker } from 'baton';
 * const broker = await startBroker();
 * const conn = await amqp.connect(broker.url);
 * // ...
 * await broker.stop();
 * ```
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, type Config } from './config.js';
import { createLogger } from './log/logger.js';
import { Server } from './server.js';

export { Server } from './server.js';
export { defaultConfig, type Config } from './config.js';
export { BatonError } from './core/errors.js';

/** A running in-process broker. */
export interface EmbeddedBroker {
  /** The bound AMQP port (the one picked when `amqpPort` was 0). */
  readonly port: number;
  /** `amqp://guest:guest@<host>:<port>`, ready for amqplib or pika. */
  readonly url: string;
  /** Where the journal lives (a temp dir unless `dataDir` was given). */
  readonly dataDir: string;
  readonly server: Server;
  /**
   * Closes connections, flushes and closes the store, and removes the data dir when it was a
   * temp one made by `startBroker`. Safe to call twice.
   */
  stop(): Promise<void>;
}

/**
 * Starts a broker in this process. Defaults differ from `baton serve` where an embedded
 * broker wants them to: it listens on 127.0.0.1, on a free AMQP port (`amqpPort` 0) and no
 * HTTP or Prometheus port (`httpPort`/`prometheusPort` 'off'; pass 0 for free ones), logs nothing
 * (`logLevel` 'silent'), and keeps its journal in a fresh temp dir unless `dataDir` is given.
 * Every other option is `baton serve`'s (see the README's table).
 */
export async function startBroker(options: Partial<Config> = {}): Promise<EmbeddedBroker> {
  const temp = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'baton-embedded-'));
  const config: Config = {
    ...defaultConfig(),
    host: '127.0.0.1',
    amqpPort: 0,
    httpPort: 'off',
    prometheusPort: 'off',
    logLevel: 'silent',
    ...options,
    dataDir,
  };
  let server: Server;
  try {
    server = await Server.start(config, createLogger(config));
  } catch (err) {
    if (temp) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const port = server.ports.get('amqp')!;
  // A wildcard bind is reached through loopback.
  const wildcard = config.host === '::' || config.host === '0.0.0.0';
  const host = wildcard
    ? '127.0.0.1'
    : config.host.includes(':')
      ? `[${config.host}]`
      : config.host;
  let stopping: Promise<void> | undefined;
  return {
    port,
    url: `amqp://guest:guest@${host}:${port}`,
    dataDir,
    server,
    stop() {
      stopping ??= server.stop().then(() => {
        // Stop first: a closing journal may still touch its files.
        if (temp) rmSync(dataDir, { recursive: true, force: true });
      });
      return stopping;
    },
  };
}
