import { randomUUID } from 'node:crypto';
import type amqp from 'amqplib';
import { isConnectionGone, type Attachable, type ConnectionManager } from './connection.js';
import { channelError } from './topology.js';
import type { Codec } from './codec.js';
import { returnInfo } from './message.js';
import { ClientClosedError, RemoteError, RequestTimeoutError, UnroutableError } from './errors.js';

/** RabbitMQ's direct reply-to pseudo-queue: replies come straight to this channel. */
export const REPLY_TO = 'amq.rabbitmq.reply-to';
/** Header a responder sets on a reply saying its handler threw (body: { error }). */
export const ERROR_HEADER = 'x-baton-error';

interface PendingRequest {
  queue: string;
  correlationId: string;
  content: Buffer;
  options: amqp.Options.Publish;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  /** Times published; a republish may meet a queue its owner has not re-declared yet. */
  publishes: number;
  /** The channel it was last published on: a flush after 'drain' skips it there. */
  sentOn: amqp.Channel | undefined;
}

/**
 * The requesting side: one channel consuming `amq.rabbitmq.reply-to` (no-ack), publishing
 * each request with reply-to set and its own correlation id. Pending requests survive a
 * reconnect: they are published again on the new channel (the old reply address died with
 * the old channel) until their timeout; so a responder may see a request twice.
 */
export class Requester implements Attachable {
  private ch: amqp.Channel | undefined;
  private opening: amqp.ChannelModel | undefined;
  private started = false;
  private readonly pending = new Map<string, PendingRequest>();
  private waitingDrain = false;
  private attempt = 0;

  private readonly conn: ConnectionManager;
  private readonly codec: Codec;
  private readonly onError: (err: Error) => void;

  constructor(conn: ConnectionManager, codec: Codec, onError: (err: Error) => void) {
    this.conn = conn;
    this.codec = codec;
    this.onError = onError;
  }

  request(
    queue: string,
    content: Buffer,
    options: amqp.Options.Publish,
    timeoutMs: number,
  ): Promise<unknown> {
    if (this.conn.isClosed) return Promise.reject(new ClientClosedError());
    if (!this.started) {
      this.started = true;
      this.conn.add(this);
    }
    const correlationId = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new RequestTimeoutError(queue, correlationId, timeoutMs));
      }, timeoutMs);
      const r: PendingRequest = {
        queue,
        correlationId,
        content,
        options: { ...options, correlationId, replyTo: REPLY_TO, mandatory: true },
        resolve,
        reject,
        timer,
        publishes: 0,
        sentOn: undefined,
      };
      this.pending.set(correlationId, r);
      if (this.ch && !this.waitingDrain) this.publish(this.ch, r);
    });
  }

  attach(model: amqp.ChannelModel): void {
    if (!this.ch) void this.open(model);
  }

  close(reason = 'the client closed before the reply came'): void {
    const err = new ClientClosedError(reason);
    for (const r of this.pending.values()) {
      clearTimeout(r.timer);
      r.reject(err);
    }
    this.pending.clear();
    const ch = this.ch;
    this.ch = undefined;
    if (ch) void ch.close().catch(() => {});
  }

  private async open(model: amqp.ChannelModel): Promise<void> {
    if (this.opening === model || this.conn.isClosed) return;
    this.opening = model;
    let ch: amqp.Channel | undefined;
    try {
      ch = await model.createChannel();
      let failure: Error | undefined;
      const opened = ch;
      ch.on('error', (err: Error) => (failure = channelError(err)));
      ch.on('close', () => this.closed(opened, model, failure));
      ch.on('return', (m: amqp.Message) => this.returned(m));
      ch.on('drain', () => {
        if (this.ch !== opened) return;
        this.waitingDrain = false;
        this.flush(opened);
      });
      await ch.consume(REPLY_TO, (m) => m && this.replied(m), { noAck: true });
      if (this.conn.isClosed || isConnectionGone(model)) return;
      this.ch = ch;
      this.waitingDrain = false;
      this.attempt = 0;
      this.flush(ch);
    } catch (err) {
      if (ch) void ch.close().catch(() => {});
      if (!isConnectionGone(model) && !this.conn.isClosed) this.retry(model, channelError(err));
    } finally {
      this.opening = undefined;
    }
  }

  private retry(model: amqp.ChannelModel, err: Error): void {
    this.onError(err);
    const delay = Math.min(10_000, 100 * 2 ** this.attempt++);
    void this.conn.sleep(delay).then((ok) => {
      if (ok && this.conn.current === model && !this.ch) void this.open(model);
    });
  }

  /** (Re)publishes every pending request, oldest first. */
  private flush(ch: amqp.Channel): void {
    for (const r of this.pending.values()) {
      if (this.ch !== ch || this.waitingDrain) return;
      if (r.sentOn !== ch) this.publish(ch, r);
    }
  }

  private publish(ch: amqp.Channel, r: PendingRequest): void {
    r.publishes++;
    r.sentOn = ch;
    try {
      if (!ch.publish('', r.queue, r.content, r.options)) this.waitingDrain = true;
    } catch (err) {
      this.settle(r.correlationId)?.reject(channelError(err));
    }
  }

  private settle(correlationId: string): PendingRequest | undefined {
    const r = this.pending.get(correlationId);
    if (!r) return undefined;
    this.pending.delete(correlationId);
    clearTimeout(r.timer);
    return r;
  }

  private replied(m: amqp.ConsumeMessage): void {
    // No pending request: it timed out already (a late reply), or is not ours.
    const r = this.settle(String(m.properties.correlationId));
    if (!r) return;
    try {
      const body = this.codec.decode(m.content, m.properties.contentType as string | undefined);
      const headers = (m.properties.headers ?? {}) as Record<string, unknown>;
      if (headers[ERROR_HEADER] === true) {
        const e = (body as { error?: { message?: unknown; name?: unknown } } | null)?.error;
        const text = (v: unknown, d: string) => (typeof v === 'string' ? v : d);
        r.reject(
          new RemoteError(text(e?.message, 'remote handler failed'), text(e?.name, 'Error')),
        );
      } else r.resolve(body);
    } catch (err) {
      r.reject(err as Error);
    }
  }

  private returned(m: amqp.Message): void {
    const id = String(m.properties.correlationId);
    const pending = this.pending.get(id);
    if (pending && pending.publishes > 1) {
      // A republish after a reconnect: the responder's (non-durable) queue may be back soon.
      void this.conn.sleep(Math.min(1000, 50 * 2 ** pending.publishes)).then(() => {
        if (this.ch && this.pending.get(id) === pending) this.publish(this.ch, pending);
      });
      return;
    }
    const r = this.settle(id);
    if (!r) return;
    const { code, text } = returnInfo(m);
    r.reject(new UnroutableError(r.queue, r.options.messageId, code, text));
  }

  private closed(ch: amqp.Channel, model: amqp.ChannelModel, failure: Error | undefined): void {
    if (this.ch !== ch) return;
    this.ch = undefined;
    // Connection lost: the next connection's attach republishes. Channel refused: retry here.
    if (failure && !this.conn.isClosed) this.retry(model, failure);
  }
}

/** What a responder publishes for a handler's result or failure. */
export function replyFor(
  codec: Codec,
  result: { ok: true; value: unknown } | { ok: false; error: unknown },
): { content: Buffer; contentType: string; headers: Record<string, unknown> } {
  if (result.ok) {
    const { content, contentType } = codec.encode(result.value === undefined ? null : result.value);
    return { content, contentType, headers: {} };
  }
  const e = result.error;
  const error = {
    message: e instanceof Error ? e.message : String(e),
    name: e instanceof Error ? e.name : 'Error',
  };
  const content = Buffer.from(JSON.stringify({ error }));
  return { content, contentType: 'application/json', headers: { [ERROR_HEADER]: true } };
}
