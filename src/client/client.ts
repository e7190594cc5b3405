import { EventEmitter } from 'node:events';
import type amqp from 'amqplib';
import { jsonCodec, type Codec } from './codec.js';
import { ConnectionManager, connectionError } from './connection.js';
import { consumeSettings, QueueConsumer, type ConsumeOptions, type Consumer } from './consumer.js';
import { BatonClientError, ClientClosedError, InvalidOptionError } from './errors.js';
import { toMessage, type Message } from './message.js';
import { Publisher } from './publisher.js';
import { backoffPolicy, type ReconnectOptions } from './reconnect/backoff.js';
import { replyFor, Requester } from './rpc.js';
import {
  requestProperties,
  sendProperties,
  type RequestOptions,
  type SendOptions,
} from './send-options.js';
import { DELAY_EXCHANGE, Topology, type DeclareQueueOptions } from './topology.js';
import { TypedQueue } from './typed-queue.js';

export interface ConnectOptions {
  reconnect?: ReconnectOptions;
  /** Default jsonCodec. */
  codec?: Codec;
  /** AMQP heartbeat to ask for (default: the broker's proposal). */
  heartbeatSeconds?: number;
  /** Default prefetch of consumers that set none (else their concurrency). */
  prefetch?: number;
  /** connection_name, shown by the broker's management tools. */
  name?: string;
}

const CONNECT_KEYS = new Set(['reconnect', 'codec', 'heartbeatSeconds', 'prefetch', 'name']);

export type Handler<T> = (msg: Message<T>) => unknown;

export interface ClientEvents {
  connected: [];
  disconnected: [err: Error];
  reconnecting: [info: { attempt: number; delayMs: number; error: Error }];
  blocked: [reason: string];
  unblocked: [];
  error: [err: Error];
}

/**
 * A Baton (or RabbitMQ) client that keeps its connection: see docs/client.md. Events:
 * connected, disconnected, reconnecting, blocked, unblocked, error ('error' is emitted only
 * when someone listens, so an unobserved failure never crashes the process).
 */
export class BatonClient extends EventEmitter<ClientEvents> {
  readonly codec: Codec;
  private readonly conn: ConnectionManager;
  private readonly topology: Topology;
  private readonly publisher: Publisher;
  private readonly requester: Requester;
  private readonly consumers = new Set<QueueConsumer>();
  private readonly defaultPrefetch: number | undefined;
  private closing: Promise<void> | undefined;

  constructor(url: string, options: ConnectOptions = {}) {
    super();
    for (const k of Object.keys(options))
      if (!CONNECT_KEYS.has(k)) throw new InvalidOptionError(`unknown connect option '${k}'`);
    const backoff = backoffPolicy(options.reconnect);
    this.codec = options.codec ?? jsonCodec;
    if (options.prefetch !== undefined) consumeSettings({ prefetch: options.prefetch }, undefined);
    this.defaultPrefetch = options.prefetch;
    const u = new URL(url);
    if (options.heartbeatSeconds !== undefined) {
      if (!Number.isInteger(options.heartbeatSeconds) || options.heartbeatSeconds < 0)
        throw new InvalidOptionError('heartbeatSeconds must be an integer >= 0');
      u.searchParams.set('heartbeat', String(options.heartbeatSeconds));
    }
    const socketOptions: Record<string, unknown> = {};
    if (options.name !== undefined)
      socketOptions.clientProperties = { connection_name: options.name };
    this.conn = new ConnectionManager(
      u.toString(),
      socketOptions,
      backoff,
      (model) => this.topology.redeclare(model),
      {
        connected: () => this.emit('connected'),
        disconnected: (err) => this.emit('disconnected', err),
        reconnecting: (info) => this.emit('reconnecting', info),
        blocked: (reason) => this.emit('blocked', reason),
        unblocked: () => this.emit('unblocked'),
        error: (err) => this.reportError(err),
        gaveUp: (err) => {
          this.reportError(err);
          void this.close(err.message);
        },
      },
    );
    const onError = (err: Error) => this.reportError(err);
    this.topology = new Topology(this.conn, onError);
    this.publisher = new Publisher(this.conn, onError);
    this.requester = new Requester(this.conn, this.codec, onError);
    this.conn.add(this.publisher);
  }

  /** @internal connect() calls it: the first connection, failing fast. */
  async start(): Promise<void> {
    try {
      await this.conn.start();
    } catch (err) {
      await this.conn.close();
      if (err instanceof BatonClientError) throw err;
      throw connectionError(err, 'cannot connect');
    }
  }

  /** True while connected (false while reconnecting and once closed). */
  get connected(): boolean {
    return this.conn.current !== undefined;
  }

  /** Declares a queue (durable by default) and re-declares it after every reconnect. */
  async declareQueue(name: string, options: DeclareQueueOptions = {}): Promise<void> {
    await this.topology.declareQueue(name, options);
  }

  /**
   * Publishes `body` to `queue` and resolves once the broker confirms it (on disk for a
   * persistent message on a durable queue). NackedError, UnroutableError (no such queue),
   * ClientClosedError; a connection lost meanwhile only delays it (resent, same message-id).
   */
  async send(queue: string, body: unknown, options: SendOptions = {}): Promise<{ messageId: string }> {
    if (this.conn.isClosed) throw new ClientClosedError();
    const { content, contentType } = this.codec.encode(body);
    const props = sendProperties(options, contentType);
    const delayed = options.delayMs !== undefined && options.delayMs > 0;
    if (delayed) await this.topology.ensureDelay(queue, props.messageId);
    return this.publisher.publish({
      queue,
      exchange: delayed ? DELAY_EXCHANGE : '',
      routingKey: queue,
      content,
      options: props,
    });
  }

  /**
   * Calls `handler` for each message of `queue`, at most `concurrency` at once; ack when it
   * resolves, nack (requeue) when it throws. Resolves once consuming (404 if no queue).
   */
  async consume<T = unknown>(
    queue: string,
    handler: Handler<T>,
    options: ConsumeOptions = {},
  ): Promise<Consumer> {
    const settings = consumeSettings(options, this.defaultPrefetch);
    return this.startConsumer(queue, settings, async (m) => {
      await handler(toMessage<T>(m, queue, this.codec));
    });
  }

  /** Sends a request over direct reply-to and resolves with the decoded reply. */
  async request<R = unknown>(queue: string, body: unknown, options: RequestOptions = {}): Promise<R> {
    if (this.conn.isClosed) throw new ClientClosedError();
    const { content, contentType } = this.codec.encode(body);
    const { options: props, timeoutMs } = requestProperties(options, contentType);
    return (await this.requester.request(queue, content, props, timeoutMs)) as R;
  }

  /**
   * Serves requests on `queue`: the handler's result is published to the request's reply-to
   * with its correlation-id (or message-id), then the request is acked. A throwing handler
   * sends an error reply (header x-baton-error) and the request is acked too.
   */
  async respond<Req = unknown, Res = unknown>(
    queue: string,
    handler: (msg: Message<Req>) => Res | Promise<Res>,
    options: ConsumeOptions = {},
  ): Promise<Consumer> {
    const settings = consumeSettings(options, this.defaultPrefetch);
    return this.startConsumer(queue, settings, async (m, ch) => {
      let result: { ok: true; value: unknown } | { ok: false; error: unknown };
      try {
        result = { ok: true, value: await handler(toMessage<Req>(m, queue, this.codec)) };
      } catch (error) {
        result = { ok: false, error };
      }
      const replyTo = m.properties.replyTo as string | undefined;
      // Nobody to answer (a plain send to an RPC queue): ack and drop the result.
      if (!replyTo) return;
      const reply = replyFor(this.codec, result);
      const correlationId = (m.properties.correlationId ?? m.properties.messageId) as
        | string
        | undefined;
      const props: amqp.Options.Publish = {
        contentType: reply.contentType,
        headers: reply.headers,
        persistent: false,
      };
      if (correlationId !== undefined) props.correlationId = correlationId;
      ch.publish('', replyTo, reply.content, props);
    });
  }

  /** A typed view of one queue; with `declare` options it is declared before first use. */
  queue<T>(name: string, declare?: DeclareQueueOptions): TypedQueue<T> {
    return new TypedQueue<T>(this, name, declare);
  }

  /**
   * Stops consumers and responders (running handlers finish and are settled), rejects sends
   * and requests still waiting with ClientClosedError, stops reconnecting, closes.
   */
  close(reason?: string): Promise<void> {
    this.closing ??= this.shutdown(reason);
    return this.closing;
  }

  private async shutdown(reason?: string): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.stop()));
    await this.publisher.close();
    this.requester.close();
    await this.conn.close();
    void reason;
  }

  private async startConsumer(
    queue: string,
    settings: { concurrency: number; prefetch: number },
    handle: (m: amqp.ConsumeMessage, ch: amqp.Channel) => Promise<void>,
  ): Promise<Consumer> {
    if (this.conn.isClosed) throw new ClientClosedError();
    const c = new QueueConsumer(
      queue,
      settings,
      handle,
      this.conn,
      (err) => this.reportError(err),
      (stopped) => this.consumers.delete(stopped),
    );
    this.consumers.add(c);
    try {
      await c.start();
    } catch (err) {
      this.consumers.delete(c);
      throw err;
    }
    return c;
  }

  private reportError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

/** Connects (failing fast if the broker is not there) and returns a self-healing client. */
export async function connect(url: string, options: ConnectOptions = {}): Promise<BatonClient> {
  const client = new BatonClient(url, options);
  await client.start();
  return client;
}
