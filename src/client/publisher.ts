import type amqp from 'amqplib';
import { isConnectionGone, type Attachable, type ConnectionManager } from './connection.js';
import { channelError } from './topology.js';
import { returnInfo } from './message.js';
import { ClientClosedError, NackedError, UnroutableError } from './errors.js';

/** One send until the broker confirms it (or refuses it, or the client closes). */
export interface PendingSend {
  queue: string;
  exchange: string;
  routingKey: string;
  content: Buffer;
  options: amqp.Options.Publish & { messageId: string };
  resolve: (r: { messageId: string }) => void;
  reject: (e: Error) => void;
  /** A basic.return for it came (before its ack): the ack then means "dropped". */
  returned?: { code: number; text: string };
}

/**
 * Confirmed publishing on one confirm channel. Sends wait in `queue` (in send order) until
 * published; published ones wait in `inflight` (by delivery tag) for their ack. When the
 * connection goes, what was in flight goes back to the front of the queue and is published
 * again, in the original order, with the same message-id, on the next connection.
 */
export class Publisher implements Attachable {
  private ch: amqp.ConfirmChannel | undefined;
  private opening: amqp.ChannelModel | undefined;
  private queue: PendingSend[] = [];
  private inflight = new Map<number, PendingSend>();
  private nextTag = 1;
  private waitingDrain = false;
  private attempt = 0;

  private readonly conn: ConnectionManager;
  private readonly onError: (err: Error) => void;

  constructor(
    conn: ConnectionManager,
    onError: (err: Error) => void,
  ) {
    this.conn = conn;
    this.onError = onError;
  }

  /** Sends still waiting for a confirm (queued or in flight). */
  get pending(): number {
    return this.queue.length + this.inflight.size;
  }

  publish(p: Omit<PendingSend, 'resolve' | 'reject'>): Promise<{ messageId: string }> {
    if (this.conn.isClosed) return Promise.reject(new ClientClosedError());
    return new Promise((resolve, reject) => {
      this.queue.push({ ...p, resolve, reject });
      this.pump();
    });
  }

  attach(model: amqp.ChannelModel): void {
    void this.open(model);
  }

  /** Rejects everything not yet confirmed and closes the channel. */
  async close(): Promise<void> {
    const err = new ClientClosedError('the client closed before the broker confirmed the send');
    const all = [...this.inflight.values(), ...this.queue];
    this.inflight.clear();
    this.queue = [];
    for (const p of all) p.reject(err);
    const ch = this.ch;
    this.ch = undefined;
    if (ch) await ch.close().catch(() => {});
  }

  private async open(model: amqp.ChannelModel): Promise<void> {
    if (this.opening === model || this.conn.isClosed) return;
    this.opening = model;
    let ch: amqp.ConfirmChannel;
    try {
      ch = await model.createConfirmChannel();
    } catch (err) {
      this.opening = undefined;
      if (!isConnectionGone(model)) this.retry(model, channelError(err));
      return;
    }
    this.opening = undefined;
    if (this.conn.isClosed || isConnectionGone(model)) return;
    let failure: Error | undefined;
    ch.on('error', (err: Error) => (failure = channelError(err)));
    ch.on('close', () => this.closed(ch, model, failure));
    ch.on('ack', (f: { deliveryTag: number; multiple: boolean }) => this.confirm(ch, f, true));
    ch.on('nack', (f: { deliveryTag: number; multiple: boolean }) => this.confirm(ch, f, false));
    ch.on('return', (m: amqp.Message) => this.returned(ch, m));
    ch.on('drain', () => {
      if (this.ch !== ch) return;
      this.waitingDrain = false;
      this.pump();
    });
    this.ch = ch;
    this.nextTag = 1;
    this.waitingDrain = false;
    this.attempt = 0;
    this.pump();
  }

  /** A channel-level failure with the connection still up: a new channel after a backoff. */
  private retry(model: amqp.ChannelModel, err: Error): void {
    this.onError(err);
    const delay = Math.min(10_000, 100 * 2 ** this.attempt++);
    void this.conn.sleep(delay).then((ok) => {
      if (ok && this.conn.current === model && !this.ch) void this.open(model);
    });
  }

  private pump(): void {
    const ch = this.ch;
    while (ch && this.ch === ch && !this.waitingDrain && this.queue.length > 0) {
      const p = this.queue.shift()!;
      let ok: boolean;
      try {
        ok = ch.publish(p.exchange, p.routingKey, p.content, { ...p.options, mandatory: true });
      } catch (err) {
        // amqplib refused it before it took a delivery tag (e.g. a headers table too large).
        p.reject(channelError(err));
        continue;
      }
      this.inflight.set(this.nextTag++, p);
      if (!ok) this.waitingDrain = true;
    }
  }

  private confirm(
    ch: amqp.ConfirmChannel,
    f: { deliveryTag: number; multiple: boolean },
    ack: boolean,
  ): void {
    if (this.ch !== ch) return;
    const settle = (tag: number, p: PendingSend) => {
      this.inflight.delete(tag);
      if (!ack) p.reject(new NackedError(p.queue, p.options.messageId));
      else if (p.returned)
        p.reject(
          new UnroutableError(p.queue, p.options.messageId, p.returned.code, p.returned.text),
        );
      else p.resolve({ messageId: p.options.messageId });
    };
    if (!f.multiple) {
      const p = this.inflight.get(f.deliveryTag);
      if (p) settle(f.deliveryTag, p);
      return;
    }
    // Tags are inserted in increasing order, so the map iterates oldest first.
    for (const [tag, p] of this.inflight) {
      if (tag > f.deliveryTag) break;
      settle(tag, p);
    }
  }

  /** basic.return precedes the ack of the same publish: mark the oldest unmarked match. */
  private returned(ch: amqp.ConfirmChannel, m: amqp.Message): void {
    if (this.ch !== ch) return;
    const id = m.properties.messageId as unknown;
    const { code, text, routingKey } = returnInfo(m);
    for (const p of this.inflight.values()) {
      if (p.returned === undefined && p.options.messageId === id && p.routingKey === routingKey) {
        p.returned = { code, text };
        return;
      }
    }
    // A delayed send comes back only when due, long after its confirm: nothing to fail.
  }

  private closed(ch: amqp.ConfirmChannel, model: amqp.ChannelModel, failure: Error | undefined): void {
    if (this.ch !== ch) return;
    this.ch = undefined;
    const unconfirmed = [...this.inflight.values()];
    this.inflight.clear();
    if (failure) {
      // The broker closed this channel (e.g. 404 on a vanished exchange): which publish caused
      // it is unknown, so each unconfirmed one fails with the broker's reason, never silently.
      for (const p of unconfirmed) p.reject(failure);
      if (!this.conn.isClosed) this.retry(model, failure);
    } else {
      // The connection went: publish them again, first, once reconnected.
      this.queue = [...unconfirmed, ...this.queue];
    }
  }
}
