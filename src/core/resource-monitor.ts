import { readFileSync, statfs } from 'node:fs';
import { totalmem } from 'node:os';
import type { Alarms } from './alarms.js';

export interface ResourceMonitorOptions {
  /**
   * Memory alarm threshold: a fraction of the machine's (or cgroup's) memory when <= 1, else
   * an absolute byte count (RabbitMQ's vm_memory_high_watermark and its .absolute form).
   * 0 disables the memory alarm.
   */
  memoryHighWatermark: number;
  /** Disk alarm when fewer bytes than this are free on `diskPath`'s filesystem; 0 disables. */
  diskFreeLimit: number;
  diskPath: string;
  /** How often to look (ms). */
  intervalMs?: number;
  onError?: (err: unknown, context: string) => void;
}

/**
 * Polls RSS and free disk space and sets the 'memory' and 'disk' alarms, as RabbitMQ's memory
 * and disk monitors do. Other alarm sources (the journal's ENOSPC wait) set their own flags.
 */
export class ResourceMonitor {
  private readonly alarms: Alarms;
  private readonly options: ResourceMonitorOptions;
  private timer: NodeJS.Timeout | undefined;
  private statfsBusy = false;
  private diskErrorReported = false;
  /** The memory limit in bytes (0: no memory alarm). */
  memoryLimit: number;
  diskFreeLimit: number;
  /** Last readings, for logs and tests. */
  rss = 0;
  diskFree = -1;

  constructor(alarms: Alarms, options: ResourceMonitorOptions) {
    this.alarms = alarms;
    this.options = options;
    this.memoryLimit = memoryLimit(options.memoryHighWatermark);
    this.diskFreeLimit = options.diskFreeLimit;
  }

  /** Check now, then every interval (the timer does not keep the process alive). */
  start(): void {
    this.check();
    this.timer ??= setInterval(() => this.check(), this.options.intervalMs ?? 1000).unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Change the thresholds at run time (RabbitMQ: set_vm_memory_high_watermark); rechecks. */
  setLimits(limits: { memoryHighWatermark?: number; diskFreeLimit?: number }): void {
    if (limits.memoryHighWatermark !== undefined)
      this.memoryLimit = memoryLimit(limits.memoryHighWatermark);
    if (limits.diskFreeLimit !== undefined) this.diskFreeLimit = limits.diskFreeLimit;
    this.check();
  }

  check(): void {
    this.rss = process.memoryUsage.rss();
    this.setMemory(this.memoryLimit > 0 && this.rss > this.memoryLimit);
    if (this.diskFreeLimit <= 0) {
      this.setDisk(false);
      return;
    }
    if (this.statfsBusy) return;
    this.statfsBusy = true;
    statfs(this.options.diskPath, (err, s) => {
      this.statfsBusy = false;
      if (err) {
        // An unknown free space raises nothing; say so once.
        if (!this.diskErrorReported)
          this.options.onError?.(err, `disk monitor: cannot statfs ${this.options.diskPath}`);
        this.diskErrorReported = true;
        return;
      }
      this.diskFree = s.bavail * s.bsize;
      this.setDisk(this.diskFreeLimit > 0 && this.diskFree < this.diskFreeLimit);
    });
  }

  // Only on a change of this monitor's own reading, so a flag another source raised under the
  // same name is not cleared every interval.
  private memoryOn = false;
  private diskOn = false;

  private setMemory(on: boolean): void {
    if (on === this.memoryOn) return;
    this.memoryOn = on;
    this.alarms.set('memory', on);
  }

  private setDisk(on: boolean): void {
    if (on === this.diskOn) return;
    this.diskOn = on;
    this.alarms.set('disk', on);
  }
}

/** The watermark as bytes: a fraction of total memory (capped by a cgroup limit) or bytes. */
export function memoryLimit(watermark: number): number {
  if (watermark <= 0) return 0;
  if (watermark > 1) return Math.floor(watermark);
  return Math.floor(watermark * availableMemory());
}

function availableMemory(): number {
  let total = totalmem();
  // In a container the cgroup limit, not the host's RAM, is what the kernel enforces.
  for (const f of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const n = Number(readFileSync(f, 'utf8').trim());
      if (Number.isFinite(n) && n > 0 && n < total) total = n;
    } catch {
      // No such controller here.
    }
  }
  return total;
}
