import { resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import type { Config } from './config.js';
import { Broker } from './core/broker.js';
import type { ProtocolAdapter } from './protocol/adapter.js';
import { amqpAdapter } from './protocol/amqp/listener.js';

/** Wires configuration → broker → protocol listeners, and takes them down in reverse. */
export class Server {
  readonly broker: Broker;
  readonly logger: Logger;
  readonly adapters: ProtocolAdapter[];
  /** Bound ports by adapter name, useful when a port was given as 0. */
  readonly ports = new Map<string, number>();
  private stopping: Promise<void> | undefined;

  private constructor(broker: Broker, logger: Logger, adapters: ProtocolAdapter[]) {
    this.broker = broker;
    this.logger = logger;
    this.adapters = adapters;
  }

  static async start(
    config: Config,
    logger: Logger = pino({ level: config.logLevel }),
  ): Promise<Server> {
    const dataDir = resolve(config.dataDir);
    const broker = await Broker.open({
      store: config.store,
      dataDir,
      segmentSize: config.segmentSize,
      bodyBudget: config.bodyBudget,
      memoryHighWatermark: config.memoryHighWatermark,
      diskFreeLimit: config.diskFreeLimit,
    });
    broker.onError = (err, context) => logger.error({ err }, context);
    broker.alarms.listen((blocked, reason) => {
      if (blocked) logger.warn({ reason }, `resource alarm (${reason}): publishers blocked`);
      else logger.info('resource alarms cleared: publishers unblocked');
    });
    const r = broker.recovery;
    if (config.store === 'journal')
      logger.info(
        {
          dataDir,
          messages: r?.messages,
          segments: r?.segments,
          ms: r?.ms,
          truncatedBytes: r?.truncatedBytes,
        },
        `data in ${dataDir}`,
      );
    else logger.info('memory store: nothing survives a restart');
    const adapters: ProtocolAdapter[] = [
      amqpAdapter({
        host: config.host,
        port: config.amqpPort,
        heartbeat: config.heartbeat,
        frameMax: config.frameMax,
        channelMax: config.channelMax,
        maxMessageSize: config.maxMessageSize,
      }),
    ];
    const server = new Server(broker, logger, adapters);
    try {
      for (const a of adapters) {
        const addr = await a.start(broker, logger);
        server.ports.set(a.name, addr.port);
        logger.info(
          { protocol: a.name, host: addr.host, port: addr.port },
          `${a.name} listening on ${addr.host}:${addr.port}`,
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
