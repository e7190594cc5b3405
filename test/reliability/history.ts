// The history of one fault run (reliability.md §7.1): written by the test process only, never by
// the broker. One JSONL line per event, kept in memory for the checker as well.
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';

export interface HistoryEvent {
  t: number;
  proc: string;
  /** invoke before publish(); ok on basic.ack; fail on basic.nack; info = indeterminate. */
  type: 'invoke' | 'ok' | 'fail' | 'info';
  /** kill/start/fault are nemesis markers (proc 'nemesis'); the checker ignores them. */
  f: 'publish' | 'deliver' | 'kill' | 'start' | 'fault';
  id: string;
  seq: number;
  redelivered?: boolean;
  tag?: number;
  queue?: string;
}

export class History {
  readonly events: HistoryEvent[] = [];
  private readonly out: WriteStream | undefined;
  readonly file: string | undefined;
  private lastDeliveryAt = 0;
  /** Called on every delivery event (e.g. to wake a drain). */
  onDeliver: (() => void) | undefined;
  constructor(file?: string) {
    this.file = file;
    this.out = file === undefined ? undefined : createWriteStream(file);
  }
  add(e: Omit<HistoryEvent, 't'>): void {
    const ev = { t: Date.now(), ...e };
    this.events.push(ev);
    this.out?.write(`${JSON.stringify(ev)}\n`);
    if (e.f === 'deliver') {
      this.lastDeliveryAt = ev.t;
      this.onDeliver?.();
    }
  }
  nemesis(f: 'kill' | 'start' | 'fault', seq = 0, id = ''): void {
    this.add({ proc: 'nemesis', type: 'info', f, id, seq });
  }
  /** Milliseconds since the last delivery (Infinity before the first). */
  sinceLastDelivery(): number {
    return this.lastDeliveryAt === 0 ? Infinity : Date.now() - this.lastDeliveryAt;
  }
  ids(f: 'publish' | 'deliver', type?: HistoryEvent['type']): string[] {
    return this.events
      .filter((e) => e.f === f && (type === undefined || e.type === type))
      .map((e) => e.id);
  }
  /** The highest seq any `proc` has invoked (0 if none), so a new producer continues after it. */
  maxInvoked(proc: string): number {
    let max = 0;
    for (const e of this.events)
      if (e.f === 'publish' && e.type === 'invoke' && e.proc === proc && e.seq > max) max = e.seq;
    return max;
  }
  async close(): Promise<void> {
    if (this.out === undefined || this.out.closed) return;
    this.out.end();
    await once(this.out, 'close');
  }
}
