import type { BatonClient, Handler } from './client.js';
import type { Consumer, ConsumeOptions } from './consumer.js';
import type { Message } from './message.js';
import type { RequestOptions, SendOptions } from './send-options.js';
import type { DeclareQueueOptions } from './topology.js';

/** One queue whose messages are all `T`: `client.queue<Order>('orders')`. */
export class TypedQueue<T> {
  private declared: Promise<void> | undefined;

  private readonly client: BatonClient;
  readonly name: string;
  private readonly declareOptions?: DeclareQueueOptions | undefined;

  constructor(
    client: BatonClient,
    name: string,
    declareOptions?: DeclareQueueOptions,
  ) {
    this.client = client;
    this.name = name;
    this.declareOptions = declareOptions;
  }

  /** Declares the queue (with the options given to client.queue), once. */
  declare(): Promise<void> {
    this.declared ??= this.client.declareQueue(this.name, this.declareOptions ?? {});
    return this.declared;
  }

  async send(body: T, options?: SendOptions): Promise<{ messageId: string }> {
    await this.ready();
    return this.client.send(this.name, body, options);
  }

  async consume(handler: Handler<T>, options?: ConsumeOptions): Promise<Consumer> {
    await this.ready();
    return this.client.consume<T>(this.name, handler, options);
  }

  async request<R = unknown>(body: T, options?: RequestOptions): Promise<R> {
    await this.ready();
    return this.client.request<R>(this.name, body, options);
  }

  async respond<R>(
    handler: (msg: Message<T>) => R | Promise<R>,
    options?: ConsumeOptions,
  ): Promise<Consumer> {
    await this.ready();
    return this.client.respond<T, R>(this.name, handler, options);
  }

  private ready(): Promise<void> {
    return this.declareOptions ? this.declare() : Promise.resolve();
  }
}
