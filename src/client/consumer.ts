import type amqp from 'amqplib';
import { isConnectionGone, type Attachable, type ConnectionManager } from './connection.js';
import { channelError } from './topology.js';
import { ChannelClosedError, InvalidOptionError } from './errors.js';

export interface ConsumeOptions {
  /** Handlers running at once (default 1). */
  concurrency?: number;
  /** Unacknowledged deliveries the broker may send ahead (default: concurrency). */
  prefetch?: number;
}

const KEYS = new Set(['concurrency', 'prefetch']);

export function consumeSettings(
  o: ConsumeOptions,
  defaultPrefetch: number | undefined,
): { concurrency: number; prefetch: number } {
  for (const k of Object.keys(o))
    if (!KEYS.has(k)) throw new InvalidOptionError(`unknown consume option '${k}'`);
  const concurrency = o.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new InvalidOptionError(`concurrency must be an integer >= 1, got ${concurrency}`);
  const prefetch = o.prefetch ?? defaultPrefetch ?? concurrency;
  if (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > 65535)
    throw new InvalidOptionError(`prefetch must be an integer in 1..65535, got ${prefetch}`);
  return { concurrency, prefetch };
}

/** Handles one delivery on the channel it came from; throwing means "nack, requeue". */
export type DeliveryHandler = (m: amqp.ConsumeMessage, ch: amqp.Channel) => Promise<void>;

export interface Consumer {
  readonly queue: string;
  /** Takes no new messages, waits for the running handlers (and settles them), then closes. */
  stop(): Promise<void>;
}

/**
 * A consumer on its own channel: prefetch caps what the broker sends ahead, `concurrency`
 * caps the handlers running; extra deliveries wait in `backlog`. A settle is sent only on the
 * channel the delivery came from while it is open: after a reconnect the broker redelivers
 * what was unsettled, and a stale tag must never be acked on a new channel.
 */
export class QueueConsumer implements Attachable, Consumer {
  private ch: amqp.Channel | undefined;
  private tag: string | undefined;
  private opening: amqp.ChannelModel | undefined;
  private running = 0;
  private backlog: { m: amqp.ConsumeMessage; ch: amqp.Channel }[] = [];
  private stopping: Promise<void> | undefined;
  private idle: (() => void)[] = [];
  private attempt = 0;

  readonly queue: string;
  private readonly settings: { concurrency: number; prefetch: number };
  private readonly handle: DeliveryHandler;
  private readonly conn: ConnectionManager;
  private readonly onError: (err: Error) => void;
  private readonly onStopped: (c: QueueConsumer) => void;

  constructor(
    queue: string,
    settings: { concurrency: number; prefetch: number },
    handle: DeliveryHandler,
    conn: ConnectionManager,
    onError: (err: Error) => void,
    onStopped: (c: QueueConsumer) => void,
  ) {
    this.queue = queue;
    this.settings = settings;
    this.handle = handle;
    this.conn = conn;
    this.onError = onError;
    this.onStopped = onStopped;
  }

  /** Opens the first channel; rejects when the broker refuses (e.g. 404 no queue). */
  async start(): Promise<void> {
    for (;;) {
      const model = await this.conn.ready();
      try {
        await this.open(model, true);
        break;
      } catch (err) {
        // Lost the connection meanwhile: try on the next one; a refusal goes to the caller.
        if (!isConnectionGone(model)) throw err;
      }
    }
    this.conn.add(this);
  }

  attach(model: amqp.ChannelModel): void {
    if (this.ch === undefined) void this.open(model, false);
  }

  stop(): Promise<void> {
    this.stopping ??= this.drain();
    return this.stopping;
  }

  private async drain(): Promise<void> {
    this.conn.remove(this);
    const ch = this.ch;
    const tag = this.tag;
    // Cancel first, so the broker sends nothing more while the running handlers finish.
    if (ch && tag) await ch.cancel(tag).catch(() => {});
    // Fetched but not started: back to the queue now, for other consumers, in their order.
    this.requeueBacklog();
    while (this.running > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    this.ch = undefined;
    if (ch) await ch.close().catch(() => {});
    this.onStopped(this);
  }

  private async open(model: amqp.ChannelModel, first: boolean): Promise<void> {
    if (this.opening === model || this.stopping) return;
    this.opening = model;
    let ch: amqp.Channel | undefined;
    try {
      ch = await model.createChannel();
      let failure: Error | undefined;
      ch.on('error', (err: Error) => (failure = channelError(err)));
      const opened = ch;
      ch.on('close', () => this.closed(opened, model, failure));
      await ch.prefetch(this.settings.prefetch);
      const { consumerTag } = await ch.consume(this.queue, (m) => {
        if (m) this.delivered(m, opened);
        else this.cancelled(opened, model);
      });
      if (this.stopping || isConnectionGone(model)) {
        await ch.close().catch(() => {});
        return;
      }
      this.ch = ch;
      this.tag = consumerTag;
      this.attempt = 0;
    } catch (err) {
      const e = channelError(err);
      if (ch) void ch.close().catch(() => {});
      if (first) throw e;
      if (!isConnectionGone(model)) this.retry(model, e);
    } finally {
      this.opening = undefined;
    }
  }

  private retry(model: amqp.ChannelModel, err: Error): void {
    this.onError(err);
    const delay = Math.min(10_000, 100 * 2 ** this.attempt++);
    void this.conn.sleep(delay).then((ok) => {
      if (ok && !this.stopping && this.conn.current === model && !this.ch)
        void this.open(model, false);
    });
  }

  private delivered(m: amqp.ConsumeMessage, ch: amqp.Channel): void {
    // Sent before the broker saw our cancel: stopping starts no new handler.
    if (this.stopping) {
      this.backlog.push({ m, ch });
      this.requeueBacklog();
    } else if (this.running < this.settings.concurrency) void this.run(m, ch);
    else this.backlog.push({ m, ch });
  }

  private async run(m: amqp.ConsumeMessage, ch: amqp.Channel): Promise<void> {
    this.running++;
    let ok = true;
    try {
      await this.handle(m, ch);
    } catch {
      ok = false;
    }
    this.running--;
    // A delivery of a closed channel is the broker's again (redelivered): drop its settle.
    if (ch === this.ch) {
      try {
        if (ok) ch.ack(m);
        else ch.nack(m, false, true);
      } catch {
        // The channel closed under us; same as above.
      }
    }
    const next = this.stopping ? undefined : this.backlog.shift();
    if (next) void this.run(next.m, next.ch);
    else if (this.running === 0) for (const w of this.idle.splice(0)) w();
  }

  private requeueBacklog(): void {
    for (const { m, ch } of this.backlog.splice(0)) {
      if (ch !== this.ch) continue;
      try {
        ch.nack(m, false, true);
      } catch {
        // The channel closed: the broker has them back already.
      }
    }
  }

  /** The broker cancelled the consumer (queue deleted): report it and consume again later. */
  private cancelled(ch: amqp.Channel, model: amqp.ChannelModel): void {
    if (this.ch !== ch) return;
    this.ch = undefined;
    this.backlog = [];
    void ch.close().catch(() => {});
    if (this.stopping) return;
    this.retry(
      model,
      new ChannelClosedError(
        `the broker cancelled the consumer of '${this.queue}' (queue deleted?)`,
      ),
    );
  }

  private closed(ch: amqp.Channel, model: amqp.ChannelModel, failure: Error | undefined): void {
    if (this.ch !== ch) return;
    this.ch = undefined;
    // Unstarted deliveries of this channel go back to the queue with it.
    this.backlog = [];
    if (this.running === 0) for (const w of this.idle.splice(0)) w();
    if (failure && !this.stopping && !this.conn.isClosed) this.retry(model, failure);
  }
}
