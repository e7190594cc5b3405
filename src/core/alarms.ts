/**
 * Resource alarms, as RabbitMQ raises them: while any is on, connections that publish are
 * blocked (AMQP connection.blocked, their sockets no longer read) and consumers keep draining.
 * Sources: 'memory' (RSS over the high watermark), 'disk' (free space under the limit),
 * 'journal' (a journal write hit ENOSPC and is retried until there is space). Each source
 * sets and clears its own flag.
 */
export type AlarmSource = 'memory' | 'disk' | 'journal';

export class Alarms {
  private readonly on = new Set<AlarmSource>();
  private readonly listeners: ((blocked: boolean, reason: string) => void)[] = [];

  /** True while any alarm is on. */
  get blocked(): boolean {
    return this.on.size !== 0;
  }

  /** The active sources, for connection.blocked's reason text and logs. */
  get reason(): string {
    const words = new Set([...this.on].map((s) => (s === 'memory' ? 'memory' : 'disk')));
    return [...words].map((w) => `low on ${w}`).join(', ');
  }

  active(source: AlarmSource): boolean {
    return this.on.has(source);
  }

  set(source: AlarmSource, active: boolean): void {
    if (this.on.has(source) === active) return;
    const before = this.blocked;
    if (active) this.on.add(source);
    else this.on.delete(source);
    const after = this.blocked;
    if (before !== after) for (const l of this.listeners) l(after, this.reason);
  }

  /** Called with (true, reason) when an alarm goes on and (false, '') when the last clears. */
  listen(l: (blocked: boolean, reason: string) => void): void {
    this.listeners.push(l);
  }
}
