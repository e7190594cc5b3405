import { createServer, type Server as NetServer } from 'node:net';
import type { Logger } from 'pino';
import type { Broker } from '../../core/broker.js';
import type { ProtocolAdapter } from '../adapter.js';
import { AmqpConnection, type AmqpOptions } from './connection.js';

/** The AMQP 0-9-1 listener as a protocol adapter for server.ts. */
export function amqpAdapter(options: AmqpOptions): ProtocolAdapter {
  let server: NetServer | undefined;
  const connections = new Set<AmqpConnection>();
  return {
    name: 'amqp',
    async start(broker: Broker, logger: Logger) {
      // Resource alarms block publishing connections; clearing the last one lets them go.
      broker.alarms.listen((blocked) => {
        for (const c of connections) c.onAlarm(blocked);
      });
      const srv = createServer((socket) => {
        const c = new AmqpConnection(socket, broker, options, logger, (x) => connections.delete(x));
        connections.add(c);
      });
      server = srv;
      let host = options.host;
      try {
        await listen(srv, options.port, host);
      } catch (err) {
        // '::' (every address, IPv4 and IPv6) fails on hosts without IPv6: fall back to IPv4.
        if (host !== '::' || (err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw err;
        host = '0.0.0.0';
        await listen(srv, options.port, host);
      }
      // Accept failures (EMFILE and the like) must not become uncaught exceptions.
      srv.on('error', (err) => logger.error({ err }, 'amqp listener error'));
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : options.port;
      return { host, port };
    },
    async stop() {
      const srv = server;
      if (srv === undefined) return;
      server = undefined;
      const closed = new Promise<void>((resolve) => srv.close(() => resolve()));
      for (const c of [...connections]) c.shutdown();
      // Give clients a moment to answer close-ok, then cut whatever is left.
      await new Promise((r) => setTimeout(r, connections.size > 0 ? 50 : 0));
      for (const c of [...connections]) c.socket.destroy();
      await closed;
    },
  };
}

function listen(srv: NetServer, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, host, () => {
      srv.off('error', reject);
      resolve();
    });
  });
}
