import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { controlSocketPath, defaultUserOf, type Config } from './config.js';
import { Broker } from './core/broker.js';
import { loadBootDefinitions, readBootDefinitions } from './boot-definitions.js';
import { createLogger } from './log/logger.js';
import { openStores } from './store/open-stores.js';
import { hostPort } from './util/host-port.js';
import type { ProtocolAdapter } from './protocol/adapter.js';
import { amqpAdapter } from './protocol/amqp/listener.js';
import { amqpPropertiesCodec } from './protocol/amqp/properties-codec.js';
import { controlAdapter } from './protocol/control/listener.js';
import { prometheusAdapter } from './protocol/http/prometheus.js';
import {
  ManagementApp,
  managementAdapter,
  managementTlsAdapter,
} from './protocol/http/management.js';
import { tlsSettings } from './tls.js';

/** Wires configuration → broker → protocol listeners, and takes them down in reverse. */
export class Server {
  readonly broker: Broker;
  readonly logger: Logger;
  readonly adapters: ProtocolAdapter[];
  /** Bound ports by adapter name, useful when a port was given as 0. */
  readonly ports: Map<string, number>;
  /** The control socket's path (`baton redrive` talks to it); undefined when there is none. */
  controlSocket: string | undefined = undefined;
  private stopping: Promise<void> | undefined;

  private constructor(
    broker: Broker,
    logger: Logger,
    adapters: ProtocolAdapter[],
    ports: Map<string, number>,
  ) {
    this.ports = ports;
    this.broker = broker;
    this.logger = logger;
    this.adapters = adapters;
  }

  /**
   * `onFatal` runs after the store failed for good and the server stopped; the CLI exits
   * non-zero there so a supervisor restarts it into recovery.
   */
  static async start(
    config: Config,
    logger: Logger = createLogger(config),
    onFatal: (err: Error) => void = () => {},
  ): Promise<Server> {
    const dataDir = resolve(config.dataDir);
    // Before anything opens: a bad PEM file stops the start with its name.
    const tls = tlsSettings(config);
    const defaultUser = defaultUserOf(config);
    const definitions =
      config.definitions === '' ? undefined : readBootDefinitions(config.definitions);
    const stores = await openStores({
      store: config.store,
      dataDir,
      segmentSize: config.segmentSize,
      bodyBudget: config.bodyBudget,
      recoverSkipCorrupt: config.recoverSkipCorrupt,
    });
    const broker = await Broker.open({
      ...stores,
      codec: amqpPropertiesCodec,
      bodyBudget: config.bodyBudget,
      consumerTimeout: config.consumerTimeout,
      memoryHighWatermark: config.memoryHighWatermark,
      diskFreeLimit: config.diskFreeLimit,
      diskPath: config.store === 'journal' ? dataDir : tmpdir(),
      // A file with users replaces the default one (RabbitMQ skips it when definitions load).
      ...(definitions?.hasUsers === true
        ? { defaultUser: null }
        : defaultUser === undefined
          ? {}
          : { defaultUser }),
    });
    // Only the name: the password is never logged.
    if (defaultUser !== undefined && !broker.firstBoot)
      logger.warn(
        { user: defaultUser.name },
        `BATON_DEFAULT_USER '${defaultUser.name}' not created: the data dir was set up on an earlier boot, and the default user is made on the first boot only (as RabbitMQ)`,
      );
    else if (defaultUser !== undefined)
      logger.info(
        { user: defaultUser.name },
        `first boot: created the default user '${defaultUser.name}'`,
      );
    broker.logins.onThrottled = (peer, failures, delayMs) =>
      logger.warn(
        { peer, failures, delayMs },
        `login throttling: ${failures} failed logins from ${peer}; its further attempts wait up to ${broker.logins.maxDelayMs} ms before an answer (refusals are logged at debug until it has been quiet)`,
      );
    broker.onError = (err, context) => logger.error({ err }, context);
    if (definitions !== undefined) {
      try {
        await loadBootDefinitions(broker, definitions);
      } catch (err) {
        await broker.close();
        throw err;
      }
      logger.info({ file: definitions.file }, `definitions loaded from ${definitions.file}`);
    }
    // Raised at error: publishers are stopped until it clears (an outage for them).
    const alarmChanged = (blocked: boolean, reason: string): void => {
      if (blocked)
        logger.error({ alarm: reason }, `resource alarm (${reason}): publishers blocked`);
      else logger.info('resource alarms cleared: publishers unblocked');
    };
    broker.alarms.listen(alarmChanged);
    // The first check ran in Broker.open, before anyone listened.
    if (broker.alarms.blocked) alarmChanged(true, broker.alarms.reason);
    const r = broker.recovery;
    if (config.store === 'journal') {
      for (const d of r?.damage ?? []) {
        if (d.kind === 'torn')
          logger.warn(
            { file: d.file, offset: d.offset, bytes: d.bytes, sideFile: d.sideFile },
            `journal: cut a torn tail of ${d.bytes} bytes at ${d.file}:${d.offset} (${d.reason}); ` +
              'it was written but never confirmed (a crash or power cut)',
          );
        else if (d.known === true)
          logger.warn(
            { file: d.file, offset: d.offset, bytes: d.bytes, sideFile: d.sideFile },
            `journal: skipping ${d.bytes} corrupt bytes at ${d.file}:${d.offset}, as an earlier ` +
              '--recover-skip-corrupt start did (its side file holds them)',
          );
        else
          logger.error(
            { file: d.file, offset: d.offset, bytes: d.bytes, sideFile: d.sideFile },
            `journal: SKIPPED ${d.bytes} corrupt bytes at ${d.file}:${d.offset} ` +
              '(--recover-skip-corrupt); messages in them are lost; their bytes are in the side file',
          );
      }
      logger.info(
        {
          dataDir,
          messages: r?.messages,
          segments: r?.segments,
          ms: r?.ms,
          truncatedBytes: r?.truncatedBytes,
          skippedBytes: r?.skippedBytes,
          clean: r?.clean,
        },
        `data in ${dataDir}`,
      );
    } else logger.info('memory store: nothing survives a restart');
    const amqpOptions = {
      host: config.host,
      port: config.amqpPort,
      heartbeat: config.heartbeat,
      frameMax: config.frameMax,
      channelMax: config.channelMax,
      maxMessageSize: config.maxMessageSize,
    };
    const adapters: ProtocolAdapter[] = [amqpAdapter(amqpOptions)];
    if (tls !== undefined && config.amqpsPort !== 'off')
      adapters.push(amqpAdapter({ ...amqpOptions, port: config.amqpsPort }, tls));
    const ports = new Map<string, number>();
    const app = new ManagementApp(ports, config.host);
    if (config.httpPort !== 'off')
      adapters.push(managementAdapter({ host: config.host, port: config.httpPort, ports, app }));
    if (tls !== undefined && config.httpsPort !== 'off')
      adapters.push(
        managementTlsAdapter({ host: config.host, port: config.httpsPort, ports, app, tls }),
      );
    if (config.prometheusPort !== 'off')
      adapters.push(prometheusAdapter({ host: config.host, port: config.prometheusPort, dataDir }));
    const control = controlSocketPath(config);
    if (control !== undefined) adapters.push(controlAdapter({ path: control }));
    else if (config.controlSocket !== 'off')
      logger.info(
        'no control socket with the memory store: pass --control-socket PATH to have one',
      );
    const server = new Server(broker, logger, adapters, ports);
    broker.onStoreStall = (err) => {
      if (err !== undefined)
        logger.error(
          { err },
          'journal: disk full; publishers are blocked, consumers go on, and the write is retried',
        );
      else logger.info('journal: disk space is back; writes and confirms resume');
    };
    broker.onStoreFailure = (err) => {
      logger.error(
        { err, cause: (err.cause as Error | undefined)?.message },
        `journal failed: ${err.message}. Nothing more is confirmed; stopping, restart to recover`,
      );
      let told = false;
      const fatal = (): void => {
        if (!told) onFatal(err);
        told = true;
      };
      // Clients that never answer connection.close must not keep us from restarting.
      setTimeout(fatal, 5000).unref();
      server.stop().then(fatal, fatal);
    };
    try {
      for (const a of adapters) {
        const addr = await a.start(broker, logger);
        if (a.name === 'control') {
          server.controlSocket = addr.host;
          logger.info({ path: addr.host }, `control socket at ${addr.host}`);
          continue;
        }
        server.ports.set(a.name, addr.port);
        logger.info(
          { protocol: a.name, host: addr.host, port: addr.port },
          `${a.name} listening on ${hostPort(addr.host, addr.port)}`,
        );
      }
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  /** Stop accepting, close connections, flush and close the journal. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const a of [...this.adapters].reverse()) await a.stop();
      await this.broker.close();
      this.logger.info('stopped');
    })();
    return this.stopping;
  }
}
