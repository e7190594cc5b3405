/**
 * Child process for access-crash.test.ts: a broker on the data dir in argv[2] that, after its
 * first boot seeded guest, deletes guest and then creates vhost v<i>, user u<i> (password
 * p<i>), u<i>'s permissions on v<i> and a durable queue q<i> there, one i per turn, until it is
 * SIGKILLed. stdout protocol, one line each:
 *   seeded <yes|no>   guest existed after boot (first boot only)
 *   G                 guest's deletion is durable
 *   C <i>             everything of i is durable (afterSync fired)
 */
import { pino } from 'pino';
import { defaultConfig, type Config } from '../../src/config.js';
import { Server } from '../../src/server.js';

function out(line: string): void {
  // Pipes are synchronous on Linux: a printed line is in the parent's pipe before a SIGKILL.
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<void> {
  const config: Config = {
    ...defaultConfig(),
    host: '127.0.0.1',
    amqpPort: 0,
    httpPort: 'off',
    prometheusPort: 'off',
    segmentSize: 64 * 1024,
    logLevel: 'silent',
    dataDir: process.argv[2]!,
  };
  const server = await Server.start(config, pino({ level: 'silent' }));
  const broker = server.broker;
  out(`seeded ${broker.access.users.get('guest') !== undefined ? 'yes' : 'no'}`);
  broker.deleteUser('guest');
  broker.afterSync((err) => {
    if (err === undefined) out('G');
  });
  let i = 0;
  const step = (): void => {
    const n = i++;
    const vhost = `v${n}`;
    broker.putVhost(vhost, { description: `vhost ${n}` });
    broker.access.putUser(`u${n}`, { password: `p${n}`, tags: ['management'] });
    broker.access.setPermissions(`u${n}`, vhost, {
      configure: `^q${n}$`,
      write: '.*',
      read: '.*',
    });
    const c = broker.connect({ user: 'crash-child', trusted: true }, vhost);
    c.openSession({ deliver: () => true, consumerCancelled: () => {} }).declareQueue(`q${n}`, {
      durable: true,
    });
    c.close();
    broker.afterSync((err) => {
      if (err === undefined) out(`C ${n}`);
    });
    setImmediate(step);
  };
  step();
}

void main();
