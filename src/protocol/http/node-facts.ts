import { readFileSync } from 'node:fs';
import { readdir, readFile, statfs } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Broker } from '../../core/broker.js';
import { memoryLimit } from '../../core/resource-monitor.js';
import type { NodeFacts } from './prometheus-metrics.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/** RabbitMQ's node name form (name@host), as the rest of Baton names this node. */
export const NODE_NAME = `baton@${hostname()}`;

/**
 * Reads what a scrape reports about the process: memory, the filesystem of the data dir,
 * file descriptors. Without a memory alarm the limit is all the memory there is (what the
 * kernel or cgroup allows), and without a disk alarm the disk limit is 0.
 */
export async function nodeFacts(broker: Broker, dataDir: string): Promise<NodeFacts> {
  const monitor = broker.monitor;
  const [diskFree, openFds, maxFds] = await Promise.all([
    statfs(dataDir).then(
      (s) => s.bavail * s.bsize,
      () => NaN,
    ),
    readdir('/proc/self/fd').then(
      (fds) => fds.length,
      () => NaN,
    ),
    readFile('/proc/self/limits', 'utf8').then(maxOpenFiles, () => NaN),
  ]);
  return {
    node: NODE_NAME,
    version: VERSION,
    rss: process.memoryUsage.rss(),
    memoryLimit:
      monitor !== undefined && monitor.memoryLimit > 0 ? monitor.memoryLimit : memoryLimit(1),
    diskFree,
    diskFreeLimit: monitor?.diskFreeLimit ?? 0,
    openFds,
    maxFds,
  };
}

function maxOpenFiles(limits: string): number {
  const line = limits.split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.split(/\s+/)[3];
  return soft === undefined || soft === 'unlimited' ? Infinity : Number(soft);
}
