/** Per-process CPU and memory from /proc, for whichever broker is being measured. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const TICKS = 100; // USER_HZ on Linux

export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples RSS every 50 ms until stopped; returns the peak. */
export function rssSampler(pid: number): { stop: () => number } {
  let peak = rssBytes(pid);
  const t = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 50);
  return {
    stop: () => {
      clearInterval(t);
      return Math.max(peak, rssBytes(pid));
    },
  };
}

/** The pid of a local RabbitMQ (beam.smp), if one runs. */
export function findRabbitPid(): number | undefined {
  if (process.env.PEER_PID) return Number(process.env.PEER_PID);
  try {
    const out = execFileSync('pgrep', ['-f', 'beam.smp.*rabbit'], { encoding: 'utf8' }).trim();
    const pid = Number(out.split('\n')[0]);
    return Number.isFinite(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
