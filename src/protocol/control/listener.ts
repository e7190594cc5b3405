import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Broker } from '../../core/broker.js';
import { ConfigError, FrameError } from '../../core/errors.js';
import type { ProtocolAdapter } from '../adapter.js';
import { answer } from './requests.js';

/** Longest request line; past it the connection gets an error and is closed. */
export const MAX_CONTROL_LINE = 64 * 1024;
/** sockaddr_un's sun_path holds 108 bytes, the terminating NUL included. */
const MAX_SOCKET_PATH = 107;

export interface ControlOptions {
  /** The unix domain socket's path; made with mode 0600, removed on stop. */
  path: string;
}

/**
 * The local control socket: newline-delimited JSON requests and replies (requests.ts) for the
 * operator's CLI (`baton redrive`). Local and owner-only (mode 0600), so it needs no login; the
 * management API (issue 12) will expose the same core operations over HTTP with permissions.
 */
export function controlAdapter(options: ControlOptions): ProtocolAdapter {
  const path = options.path;
  let server: NetServer | undefined;
  let ino = -1;
  const sockets = new Set<Socket>();
  return {
    name: 'control',
    async start(broker: Broker, logger: Logger) {
      if (Buffer.byteLength(path) > MAX_SOCKET_PATH)
        throw new ConfigError(
          `control socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes; choose a shorter --control-socket`,
        );
      await clearStale(path);
      let open = false;
      // Half-open: a client may send its requests and end; the replies still go out.
      const srv = createServer({ allowHalfOpen: true }, (socket) => {
        // Accepted before the mode was narrowed: not served.
        if (!open) {
          socket.destroy();
          return;
        }
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        serve(socket, broker, logger);
      });
      server = srv;
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(path, () => {
          srv.off('error', reject);
          resolve();
        });
      });
      try {
        chmodSync(path, 0o600);
        ino = lstatSync(path).ino;
      } catch (err) {
        srv.close();
        throw err;
      }
      open = true;
      srv.on('error', (err) => logger.error({ err }, 'control socket error'));
      return { host: path, port: 0 };
    },
    async stop() {
      const srv = server;
      if (srv === undefined) return;
      server = undefined;
      const closed = new Promise<void>((resolve) => srv.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
      // Only our own socket: a later broker may have replaced it meanwhile.
      try {
        if (lstatSync(path).ino === ino) unlinkSync(path);
      } catch {
        // Already gone.
      }
    },
  };
}

/**
 * A socket file left by a broker that was killed is removed; a live one (another broker
 * answers) or a file that is not a socket is refused rather than taken over.
 */
async function clearStale(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket)
    throw new ConfigError(
      `${path} exists and is not a socket; remove it or choose another --control-socket`,
    );
  const live = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (live)
    throw new ConfigError(
      `another process answers on control socket ${path}; is a broker already running?`,
    );
  unlinkSync(path);
}

/** One client: lines in, one reply line per request, in order; one request at a time. */
function serve(socket: Socket, broker: Broker, logger: Logger): void {
  const lines: string[] = [];
  let pending = '';
  let busy = false;
  let ended = false;
  socket.setEncoding('utf8');
  socket.on('error', () => {}); // A client that goes away is no concern of the broker's.
  const reply = (obj: unknown): void => {
    if (socket.writable) socket.write(`${JSON.stringify(obj)}\n`);
  };
  const next = (): void => {
    if (busy) return;
    const line = lines.shift();
    if (line === undefined) {
      if (ended) socket.end();
      else socket.resume();
      return;
    }
    busy = true;
    void answer(broker, line, (err) => logger.error({ err }, 'control request failed')).then(
      (r) => {
        busy = false;
        reply(r);
        next();
      },
    );
  };
  const refuse = (): void => {
    const e = new FrameError(`request line longer than ${MAX_CONTROL_LINE} bytes`);
    lines.length = 0;
    pending = '';
    ended = true;
    socket.removeAllListeners('data');
    socket.end(
      `${JSON.stringify({ ok: false, error: e.message, code: e.replyCode, type: e.code })}\n`,
    );
  };
  socket.on('data', (chunk: string) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\n')) >= 0) {
      if (Buffer.byteLength(pending.slice(0, nl)) > MAX_CONTROL_LINE) return refuse();
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line !== '') lines.push(line);
    }
    if (Buffer.byteLength(pending) > MAX_CONTROL_LINE) return refuse();
    // Requests are answered one at a time: stop reading while some wait.
    if (lines.length !== 0) {
      socket.pause();
      next();
    }
  });
  socket.on('end', () => {
    if (ended) return;
    ended = true;
    // A last request without its newline is still a request.
    if (pending.trim() !== '') lines.push(pending.trim());
    pending = '';
    next();
  });
}
