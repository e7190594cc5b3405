import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import amqp from 'amqplib';
import { pino } from 'pino';
import { defaultConfig, type Config } from '../../src/config.js';
import { Server } from '../../src/server.js';
import { startBrokerProcess } from './broker-process.js';

/** An in-process broker on a free port with a temp data dir, stopped after the test. */
export async function startBroker(
  t: TestContext,
  overrides: Partial<Config> = {},
): Promise<{
  server: Server;
  url: string;
  port: number;
  dataDir: string;
  restart: () => Promise<Server>;
}> {
  const owned = overrides.dataDir === undefined;
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'baton-'));
  const config: Config = {
    ...defaultConfig(),
    host: '127.0.0.1',
    amqpPort: 0,
    // Tests that want the management API or metrics pass 0 for a free port.
    httpPort: 'off',
    prometheusPort: 'off',
    // TLS listeners start only with a certificate; a test that sets one passes 0 for these.
    amqpsPort: 'off',
    httpsPort: 'off',
    segmentSize: 1024 * 1024,
    logLevel: 'silent',
    ...overrides,
    dataDir,
  };
  let server: Server | undefined;
  // Stop before deleting the data dir: a closing journal may still touch files. Registered
  // first, so a server that fails to start leaves no directory behind either.
  t.after(async () => {
    await server?.stop();
    if (owned) rmSync(dataDir, { recursive: true, force: true });
  });
  const first = await Server.start(config, pino({ level: 'silent' }));
  server = first;
  const port = first.ports.get('amqp')!;
  const result = {
    server: first,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    port,
    dataDir,
    restart: async () => {
      await server?.stop();
      server = undefined;
      server = await Server.start({ ...config, amqpPort: port }, pino({ level: 'silent' }));
      result.server = server;
      return server;
    },
  };
  return result;
}

/** An amqplib connection closed after the test (errors on close are ignored). */
export async function connect(t: TestContext, url: string): Promise<amqp.ChannelModel> {
  const c = await amqp.connect(url);
  c.on('error', () => {});
  t.after(() => c.close().catch(() => {}));
  return c;
}

/**
 * `baton serve` as a child process (SIGKILL-able) on `dataDir`. Resolves once it is ready
 * (its --ready-fd line); killed, awaited and checked for leaks after the test
 * (test/helpers/broker-process.ts).
 */
export async function spawnBroker(
  t: TestContext,
  dataDir: string,
  extra: string[] = [],
): Promise<{ child: ChildProcess; port: number; url: string }> {
  const b = await startBrokerProcess(t, { dataDir, args: extra });
  return { child: b.child, port: b.port, url: b.url };
}

export async function killBroker(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}
