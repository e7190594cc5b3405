import type { Consumer } from '../../core/consumer.js';
import type { Delivery } from '../../core/delivery.js';
import {
  BatonError,
  FrameError,
  InternalError,
  NotImplementedError,
  PreconditionFailedError,
  UnexpectedFrameError,
} from '../../core/errors.js';
import { REPLY_TO } from '../../core/direct-reply.js';
import { Message } from '../../core/message.js';
import type { Session, SessionHandler } from '../../core/session.js';
import type { AmqpConnection } from './connection.js';
import { MethodId, type AmqpMethod } from './generated/methods.js';
import {
  decodeProperties,
  encodeProperties,
  PeekedProperties,
  peekProperties,
} from './generated/properties.js';
import {
  deliverySize,
  encodeGetOk,
  encodeReturn,
  ShortStrCache,
  writeDelivery,
} from './frame-writer.js';
import { INLINE_MAX } from './output.js';
import { readUtf8 } from './constants.js';
import { handleChannelMethod } from './channel-methods.js';
import { ContentHeader, decodeContentHeaderAt } from './frame-reader.js';

const NO_ROUTE = 312;

/** A basic.publish waiting for its header and body frames. */
interface PendingPublish {
  exchange: string;
  routingKey: string;
  mandatory: boolean;
  properties: Buffer | undefined;
  body: Buffer | undefined;
  bodySize: number;
  received: number;
}

/**
 * One AMQP channel: a core Session plus the channel's own state — content assembly,
 * publisher confirms and the consumer tags it answers to.
 */
export class AmqpChannel implements SessionHandler {
  readonly id: number;
  readonly conn: AmqpConnection;
  readonly session: Session;
  /** Sent channel.close and waiting for close-ok: every other frame is dropped. */
  closing = false;
  private publish: PendingPublish | undefined;
  private readonly pending: PendingPublish = {
    exchange: '',
    routingKey: '',
    mandatory: false,
    properties: undefined,
    body: undefined,
    bodySize: 0,
    received: 0,
  };
  private readonly peeked = new PeekedProperties();
  private readonly header = new ContentHeader();
  private readonly lastProperties = new BytesCache();
  private readonly exchangeName = new ShortStrReader();
  private readonly routingKeyName = new ShortStrReader();
  private readonly tagBytes = new ShortStrCache('basic.deliver consumerTag');
  private readonly exchangeBytes = new ShortStrCache('basic.deliver exchange');
  private readonly routingKeyBytes = new ShortStrCache('basic.deliver routingKey');
  /** The queue named by an empty queue argument (the channel's last declared queue). */
  lastQueue = '';

  constructor(conn: AmqpConnection, id: number) {
    this.conn = conn;
    this.id = id;
    this.session = conn.core.openSession(this);
    this.session.number = id;
  }

  // ---- frames in ----------------------------------------------------------------------

  onMethod(m: AmqpMethod): void {
    if (this.publish !== undefined)
      throw new UnexpectedFrameError(
        `expected a content header for basic.publish on channel ${this.id}, got a method frame`,
      );
    switch (m.id) {
      case MethodId.BasicPublish:
        if (m.immediate)
          // Clients compare RabbitMQ's text byte for byte: NOT_IMPLEMENTED - immediate=true.
          throw new NotImplementedError('immediate=true');
        {
          // One pending-publish object per channel, reused: no allocation per message.
          const p = this.pending;
          p.exchange = m.exchange;
          p.routingKey = m.routingKey;
          p.mandatory = m.mandatory;
          p.properties = undefined;
          p.body = undefined;
          p.bodySize = 0;
          p.received = 0;
          this.publish = p;
        }
        return;
      case MethodId.BasicAck:
        this.conn.settled = true;
        this.session.ack(m.deliveryTag, m.multiple);
        return;
      case MethodId.BasicNack:
        this.conn.settled = true;
        this.session.nack(m.deliveryTag, m.multiple, m.requeue);
        return;
      case MethodId.BasicReject:
        this.conn.settled = true;
        this.session.nack(m.deliveryTag, false, m.requeue);
        return;
      default:
        handleChannelMethod(this, m);
    }
  }

  /**
   * basic.publish and basic.ack read straight from the frame at `b[o, e)` (after the method
   * id): no method object, and the exchange and routing key strings reused while they repeat.
   * False sends the frame down the generic path, which also judges anything malformed.
   */
  onHotMethod(id: number, b: Buffer, o: number, e: number): boolean {
    if (this.publish !== undefined) return false;
    if (id === MethodId.BasicAck) {
      if (o + 9 !== e) return false;
      this.conn.settled = true;
      this.session.ack(b.readUInt32BE(o) * 4294967296 + b.readUInt32BE(o + 4), (b[o + 8]! & 1) !== 0); // prettier-ignore
      return true;
    }
    if (o + 3 > e) return false;
    const exLength = b[o + 2]!;
    o += 3;
    if (o + exLength + 1 > e) return false;
    const exchange = this.exchangeName.read(b, o, exLength);
    o += exLength;
    const rkLength = b[o++]!;
    if (o + rkLength + 1 !== e) return false;
    const routingKey = this.routingKeyName.read(b, o, rkLength);
    const bits = b[o + rkLength]!;
    if ((bits & 2) !== 0) return false; // immediate: refused on the generic path
    const p = this.pending;
    p.exchange = exchange;
    p.routingKey = routingKey;
    p.mandatory = (bits & 1) !== 0;
    p.properties = undefined;
    p.body = undefined;
    p.bodySize = 0;
    p.received = 0;
    this.publish = p;
    return true;
  }

  onHeader(buf: Buffer, start: number, end: number): void {
    const p = this.publish;
    if (p === undefined || p.properties !== undefined)
      throw new UnexpectedFrameError(`unexpected content header on channel ${this.id}`);
    const h = decodeContentHeaderAt(buf, start, end, this.header);
    if (h.classId !== 60)
      throw new UnexpectedFrameError(
        `content header for class ${h.classId}; only basic (60) carries content`,
      );
    const size = h.bodySize;
    if (size > this.conn.options.maxMessageSize) {
      this.publish = undefined;
      // Past 2^53 the number is rounded: read the field again exactly for the text.
      const exact = size > Number.MAX_SAFE_INTEGER ? buf.readBigUInt64BE(start + 4) : size;
      throw new PreconditionFailedError(
        `message size ${exact} is larger than configured max size ${this.conn.options.maxMessageSize}`,
      );
    }
    p.bodySize = size;
    p.properties = this.lastProperties.get(buf, start + 12, end);
    if (size === 0) {
      p.body = EMPTY;
      this.completePublish(p);
    } else {
      p.body = Buffer.allocUnsafe(size);
    }
  }

  onBody(buf: Buffer, start: number, end: number): void {
    const p = this.publish;
    if (p === undefined || p.body === undefined)
      throw new UnexpectedFrameError(`unexpected content body frame on channel ${this.id}`);
    const n = end - start;
    if (p.received + n > p.bodySize)
      throw new FrameError(
        `content body frames carry more than the ${p.bodySize} bytes the header announced`,
      );
    buf.copy(p.body, p.received, start, end);
    p.received += n;
    if (p.received === p.bodySize) this.completePublish(p);
  }

  private completePublish(p: PendingPublish): void {
    this.publish = undefined;
    this.conn.published = true;
    let props = p.properties!;
    const peek = peekProperties(props, 0, props.length, this.peeked);
    // Direct reply-to: the request names this channel's reply endpoint.
    if (peek.replyToLength === REPLY_TO.length && isReplyTo(props, peek.replyToOffset))
      props = withReplyTo(props, this.session.replyAddress());
    else this.conn.publishedPlain = true;
    if (peek.userId !== undefined && peek.userId !== this.conn.user)
      throw new PreconditionFailedError(
        `user_id property set to '${peek.userId}' but authenticated user was '${this.conn.user}'`,
      );
    const expiration = peek.expiration;
    const message = new Message(
      p.exchange,
      p.routingKey,
      props,
      p.body!,
      peek.deliveryMode === 2,
      peek.priority ?? 0,
      expiration === undefined ? 0 : expiresAt(expiration),
      this.conn.arrivedAt,
    );
    // The session numbers and confirms it (confirm mode); a failed store is its outcome.
    const r = this.session.publish(p.exchange, p.routingKey, message, p.mandatory);
    // A full queue's refusal (x-overflow reject-publish) is a nack, not "unroutable"; a
    // duplicate (x-message-deduplication) arrived before, so it is not returned either; a
    // delayed exchange holding it returns it when due if it is unroutable then. In a
    // transaction the return comes at commit (`returned`).
    if (
      r.queues.length === 0 &&
      r.delays.length === 0 &&
      !this.session.transactional &&
      r.failed === undefined &&
      r.rejected === undefined &&
      !r.duplicate &&
      p.mandatory
    ) {
      this.conn.write(
        encodeReturn(
          this.id,
          NO_ROUTE,
          'NO_ROUTE',
          p.exchange,
          p.routingKey,
          props,
          p.body!,
          this.conn.frameMax,
        ),
      );
    }
  }

  /** A mandatory publish unroutable when due (delayed) or at commit (tx): basic.return. */
  returned(m: Message): void {
    if (this.closing || m.body === undefined) return;
    this.conn.write(
      encodeReturn(
        this.id,
        NO_ROUTE,
        'NO_ROUTE',
        m.exchange,
        m.routingKey,
        m.properties,
        m.body,
        this.conn.frameMax,
      ),
    );
  }

  // ---- confirms -----------------------------------------------------------------------

  enableConfirms(): void {
    this.session.enableConfirms();
  }

  get confirming(): boolean {
    return this.session.confirms;
  }

  /** Everything published up to `upto` is durable: one multiple ack. */
  confirmed(upto: number): void {
    this.conn.sendConfirm(this.id, upto, false);
  }

  /**
   * The store failed: these publishes may or may not be on disk, so they are neither
   * confirmed nor nacked (a nack must mean "not enqueued"); the server closes the connection.
   */
  confirmsFailed(): void {}

  /** Not enqueued (the store refused this one message): basic.nack for exactly it. */
  refused(seq: number): void {
    this.conn.sendConfirm(this.id, seq, true);
  }

  // ---- transactions -------------------------------------------------------------------

  /** tx.commit: commit-ok once the commit is durable; a refused commit closes the channel. */
  commitTx(): void {
    this.session.commitTx((err) => {
      if (this.closing || this.session.closed) return;
      if (err === undefined) this.conn.sendMethod(this.id, MethodId.TxCommitOk, {});
      else
        this.conn.failChannel(
          this.id,
          err instanceof BatonError
            ? err
            : new InternalError(
                `tx.commit failed: ${err.message}; the transaction was not stored`,
                err,
              ),
        );
    });
  }

  // ---- core → wire --------------------------------------------------------------------

  deliver(consumer: Consumer, entry: Delivery, tag: number): boolean {
    const m = entry.message;
    const conn = this.conn;
    const ct = this.tagBytes.get(consumer.tag);
    const ex = this.exchangeBytes.get(m.exchange);
    const rk = this.routingKeyBytes.get(m.routingKey);
    const props = entry.properties;
    const body = m.body!;
    const frameMax = conn.frameMax;
    const n = deliverySize(ct, ex, rk, props, body, frameMax);
    if (n > INLINE_MAX) {
      const b = Buffer.allocUnsafe(n);
      writeDelivery(b, 0, this.id, ct, tag, entry.redelivered, ex, rk, props, body, frameMax);
      return conn.write(b);
    }
    // Encoded straight into the connection's output slab: no buffer per delivery.
    const out = conn.output;
    if (out.closed) return false;
    const o = out.reserve(n);
    return out.commit(
      writeDelivery(out.buf, o, this.id, ct, tag, entry.redelivered, ex, rk, props, body, frameMax),
    );
  }

  sendGetOk(entry: Delivery, messageCount: number): void {
    const m = entry.message;
    this.conn.write(
      encodeGetOk(
        this.id,
        entry.tag,
        entry.redelivered,
        m.exchange,
        m.routingKey,
        messageCount,
        entry.properties,
        m.body!,
        this.conn.frameMax,
      ),
    );
  }

  /** RabbitMQ's consumer_timeout: the channel is closed with 406, which requeues its deliveries. */
  deliveryTimedOut(_delivery: Delivery, timeoutMs: number): void {
    if (this.closing) return;
    this.conn.failChannel(
      this.id,
      new PreconditionFailedError(
        `delivery acknowledgement on channel ${this.id} timed out. Timeout value used: ${timeoutMs} ms. This timeout value can be configured, see consumers doc guide to learn more`,
      ),
    );
  }

  consumerCancelled(consumer: Consumer): void {
    if (this.conn.capabilities.consumerCancelNotify)
      this.conn.sendMethod(this.id, MethodId.BasicCancel, {
        consumerTag: consumer.tag,
        nowait: true,
      });
  }

  /** The channel is gone (close, close-ok, connection end): requeue what it holds. */
  destroy(): void {
    this.publish = undefined;
    this.session.close();
  }
}

/** RabbitMQ's `expiration` property: milliseconds as a decimal string. */
function expiresAt(expiration: string): number {
  if (!/^\d+$/.test(expiration))
    throw new PreconditionFailedError(
      `invalid expiration '${expiration}': it must be a whole number of milliseconds`,
    );
  return Date.now() + Number(expiration);
}

const EMPTY = Buffer.alloc(0);

/**
 * A copy of the last property bytes seen, handed out again while they repeat: most
 * publishers send the same properties every time, so most messages share one buffer instead
 * of a copy each. Property buffers are never written to once made.
 */
class BytesCache {
  private last: Buffer = EMPTY;

  get(buf: Buffer, start: number, end: number): Buffer {
    const n = end - start;
    const last = this.last;
    if (n === last.length) {
      let i = 0;
      while (i < n && buf[start + i] === last[i]) i++;
      if (i === n) return last;
    }
    const copy = Buffer.allocUnsafe(n);
    buf.copy(copy, 0, start, end);
    // Big ones (headers tables) rarely repeat and are not worth keeping.
    if (n <= 256) this.last = copy;
    return copy;
  }
}

/** The last shortstr read and its bytes: a repeat costs a byte compare, not a new string. */
class ShortStrReader {
  private readonly bytes = Buffer.alloc(255);
  private length = 0;
  private last = '';

  read(b: Buffer, o: number, n: number): string {
    if (n === this.length) {
      const bytes = this.bytes;
      let i = 0;
      while (i < n && b[o + i] === bytes[i]) i++;
      if (i === n) return this.last;
    }
    const s = readUtf8(b, o, o + n);
    b.copy(this.bytes, 0, o, o + n);
    this.length = n;
    this.last = s;
    return s;
  }
}

const REPLY_TO_BYTES = Buffer.from(REPLY_TO);

function isReplyTo(props: Buffer, offset: number): boolean {
  return (
    props.compare(
      REPLY_TO_BYTES,
      0,
      REPLY_TO_BYTES.length,
      offset,
      offset + REPLY_TO_BYTES.length,
    ) === 0
  );
}

/** The same properties with another reply-to (a rare path: one decode and encode). */
function withReplyTo(props: Buffer, replyTo: string): Buffer {
  return encodeProperties({ ...decodeProperties(props, 0, props.length), replyTo });
}
