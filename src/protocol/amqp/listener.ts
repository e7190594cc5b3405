import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { Broker } from '../../core/broker.js';
import type { TlsSettings } from '../../tls.js';
import { hostPort } from '../../util/host-port.js';
import type { ProtocolAdapter } from '../adapter.js';
import { AmqpConnection, type AmqpOptions } from './connection.js';

/**
 * The AMQP 0-9-1 listener as a protocol adapter for server.ts; with `tls` it is AMQPS
 * ('amqps'), whose connections start once the TLS handshake is done.
 */
export function amqpAdapter(options: AmqpOptions, tls?: TlsSettings): ProtocolAdapter {
  let server: NetServer | undefined;
  const connections = new Set<AmqpConnection>();
  const name = tls === undefined ? 'amqp' : 'amqps';
  return {
    name,
    async start(broker: Broker, logger: Logger) {
      // Resource alarms block publishing connections; clearing the last one lets them go.
      broker.alarms.listen((blocked) => {
        for (const c of connections) c.onAlarm(blocked);
      });
      const accept = (socket: Socket): void => {
        const c = new AmqpConnection(socket, broker, options, logger, (x) => connections.delete(x));
        connections.add(c);
      };
      const srv =
        tls === undefined ? createServer(accept) : tlsServer(tls, options, accept, logger);
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
      srv.on('error', (err) => logger.error({ err }, `${name} listener error`));
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

/** The AMQPS server: AMQP starts on a socket once its TLS handshake is done. */
function tlsServer(
  tls: TlsSettings,
  options: AmqpOptions,
  accept: (socket: Socket) => void,
  logger: Logger,
): NetServer {
  const srv = createTlsServer(
    { ...tls.options, handshakeTimeout: options.handshakeTimeout ?? 10_000 },
    (socket) => {
      if (tls.optionalPeerCert && !peerCertAcceptable(socket, logger)) return;
      accept(socket);
    },
  );
  srv.on('tlsClientError', (err, socket) => {
    const peer = hostPort(socket.remoteAddress, socket.remotePort);
    logger.warn(
      { peer, err: err.message },
      `amqps: TLS handshake with ${peer} failed: ${err.message}`,
    );
  });
  return srv;
}

/**
 * verify_peer without fail_if_no_peer_cert: Node let the handshake through (it cannot refuse
 * only a bad certificate), so a certificate that did not verify is cut here.
 */
function peerCertAcceptable(socket: TLSSocket, logger: Logger): boolean {
  if (socket.authorized || Object.keys(socket.getPeerCertificate()).length === 0) return true;
  const peer = hostPort(socket.remoteAddress, socket.remotePort);
  const why = String(socket.authorizationError);
  logger.warn({ peer, err: why }, `amqps: client certificate of ${peer} refused: ${why}`);
  socket.destroy();
  return false;
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
