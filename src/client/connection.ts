import amqp from 'amqplib';
import { backoffDelay, type Backoff } from './reconnect/backoff.js';
import { ClientClosedError, ConnectionClosedError, replyCode } from './errors.js';

/** Something that lives on the connection and must be rebuilt on each new one. */
export interface Attachable {
  /** A (new) connection is up and the topology re-declared; must handle its own errors. */
  attach(model: amqp.ChannelModel): void;
}

export interface ConnectionEvents {
  connected(): void;
  disconnected(err: Error): void;
  reconnecting(info: { attempt: number; delayMs: number; error: Error }): void;
  blocked(reason: string): void;
  unblocked(): void;
  error(err: Error): void;
  /** Reconnecting gave up (maxAttempts): the client closes itself. */
  gaveUp(err: Error): void;
}

/** Turns whatever amqplib closed with into a ConnectionClosedError carrying the broker's code. */
export function connectionError(err: unknown, fallback = 'connection lost'): ConnectionClosedError {
  if (err instanceof ConnectionClosedError) return err;
  const message = err instanceof Error ? err.message : fallback;
  return new ConnectionClosedError(message, replyCode(err), { cause: err });
}

const gone = new WeakSet<amqp.ChannelModel>();
/** True once `model`'s connection has closed (its channels with it). */
export function isConnectionGone(model: amqp.ChannelModel): boolean {
  return gone.has(model);
}

/**
 * Keeps one AMQP connection open: connects, and when it is lost waits (full-jitter backoff)
 * and connects again, then runs `setup` (re-declarations) and re-attaches every resource.
 * It never lets an amqplib 'error' event or rejection escape: they become events.
 */
export class ConnectionManager {
  private model: amqp.ChannelModel | undefined;
  private closed = false;
  private readonly resources = new Set<Attachable>();
  private waiters: { resolve: (m: amqp.ChannelModel) => void; reject: (e: Error) => void }[] = [];

  private readonly url: string;
  private readonly socketOptions: Record<string, unknown>;
  private readonly backoff: Backoff;
  private readonly setup: (model: amqp.ChannelModel) => Promise<void>;
  private readonly events: ConnectionEvents;

  constructor(
    url: string,
    socketOptions: Record<string, unknown>,
    backoff: Backoff,
    setup: (model: amqp.ChannelModel) => Promise<void>,
    events: ConnectionEvents,
  ) {
    this.url = url;
    this.socketOptions = socketOptions;
    this.backoff = backoff;
    this.setup = setup;
    this.events = events;
  }

  /** The first connection: fails at once (no retry) so a wrong URL is reported, not hidden. */
  async start(): Promise<void> {
    await this.open();
  }

  /** The open connection, or undefined while there is none. */
  get current(): amqp.ChannelModel | undefined {
    return this.model;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The open connection, waiting for a reconnect if need be; ClientClosedError once closed. */
  ready(): Promise<amqp.ChannelModel> {
    if (this.closed) return Promise.reject(new ClientClosedError());
    if (this.model) return Promise.resolve(this.model);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  add(r: Attachable): void {
    this.resources.add(r);
    if (this.model) r.attach(this.model);
  }

  remove(r: Attachable): void {
    this.resources.delete(r);
  }

  /** Waits `ms` unless the client closes first; resolves false when it did. */
  sleep(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.sleepers.delete(done);
        resolve(!this.closed);
      }, ms);
      const done = () => {
        clearTimeout(t);
        resolve(false);
      };
      this.sleepers.add(done);
    });
  }
  private readonly sleepers = new Set<() => void>();

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.sleepers) s();
    this.sleepers.clear();
    const err = new ClientClosedError();
    for (const w of this.waiters.splice(0)) w.reject(err);
    const m = this.model;
    this.model = undefined;
    if (m) await m.close().catch(() => {});
  }

  private async open(): Promise<void> {
    const model = await amqp.connect(this.url, this.socketOptions);
    let lost: Error | undefined;
    // amqplib emits 'error' and then 'close' for the same failure; 'close' does the work.
    model.on('error', () => {});
    model.on('close', (err?: Error) => {
      gone.add(model);
      lost = connectionError(err, 'connection closed');
      if (this.model === model) this.lost(lost);
    });
    model.on('blocked', (reason: string) => this.events.blocked(reason));
    model.on('unblocked', () => this.events.unblocked());
    if (this.closed) {
      await model.close().catch(() => {});
      throw new ClientClosedError();
    }
    await this.setup(model);
    if (lost) throw lost;
    if (this.closed) {
      await model.close().catch(() => {});
      throw new ClientClosedError();
    }
    this.model = model;
    this.events.connected();
    for (const w of this.waiters.splice(0)) w.resolve(model);
    for (const r of this.resources) r.attach(model);
  }

  private lost(err: Error): void {
    this.model = undefined;
    if (this.closed) return;
    this.events.disconnected(err);
    void this.reconnect(err);
  }

  private async reconnect(cause: Error): Promise<void> {
    for (let attempt = 1; !this.closed; attempt++) {
      if (attempt > this.backoff.maxAttempts) {
        const e = new ConnectionClosedError(
          `gave up reconnecting after ${attempt - 1} attempts: ${cause.message}`,
          cause instanceof ConnectionClosedError ? cause.code : undefined,
          { cause },
        );
        this.events.gaveUp(e);
        return;
      }
      const delayMs = backoffDelay(this.backoff, attempt);
      this.events.reconnecting({ attempt, delayMs, error: cause });
      if (!(await this.sleep(delayMs))) return;
      try {
        await this.open();
        return;
      } catch (err) {
        if (this.closed) return;
        cause = connectionError(err);
      }
    }
  }
}
