import type { DelayedMessages } from './delayed.js';
import type { DedupCache } from './dedup.js';
import { headersMatch } from './headers-match.js';
import type { Message } from './message.js';
import type { Queue } from './queue.js';
import { compileTopic, splitTopic, topicMatches } from './topic.js';

export const EXCHANGE_TYPES = ['direct', 'fanout', 'topic', 'headers'] as const;
export type ExchangeType = (typeof EXCHANGE_TYPES)[number];

export interface ExchangeOptions {
  durable?: boolean;
  autoDelete?: boolean;
  internal?: boolean;
  arguments?: Record<string, unknown>;
  /** Restoring a durable exchange: the store scope its deduplication ids were kept under. */
  dedupScope?: number;
}

export class Binding {
  readonly source: Exchange;
  readonly destination: Queue | Exchange;
  readonly routingKey: string;
  readonly arguments: Record<string, unknown>;
  readonly topic: string[] | undefined;

  constructor(
    source: Exchange,
    destination: Queue | Exchange,
    routingKey: string,
    args: Record<string, unknown>,
  ) {
    this.source = source;
    this.destination = destination;
    this.routingKey = routingKey;
    this.arguments = args;
    this.topic = source.type === 'topic' ? compileTopic(routingKey) : undefined;
  }
}

const TOPIC_CACHE_LIMIT = 1024;

/** An exchange only routes: it picks the bindings a message matches. */
export class Exchange {
  readonly name: string;
  /** How it routes (for x-delayed-message: its x-delayed-type). */
  readonly type: ExchangeType;
  /** Set for an x-delayed-message exchange: the messages it holds until due. */
  delayed: DelayedMessages | undefined = undefined;
  /** Delayed by LavinMQ's argument `x-delayed-exchange: true` on an ordinary type. */
  delayedByArgument = false;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly arguments: Record<string, unknown>;
  readonly bindings: Binding[] = [];
  private readonly byKey = new Map<string, Binding[]>();
  private readonly topicCache = new Map<string, Binding[]>();
  /** x-message-deduplication: the ids it holds (set by the vhost). */
  dedup: DedupCache | undefined = undefined;
  /** Routing walk marker: the publish generation that last visited this exchange. */
  routeMark = 0;

  constructor(name: string, type: ExchangeType, options: ExchangeOptions) {
    this.name = name;
    this.type = type;
    this.durable = options.durable ?? false;
    this.autoDelete = options.autoDelete ?? false;
    this.internal = options.internal ?? false;
    this.arguments = options.arguments ?? {};
  }

  /** The type it was declared with: x-delayed-message for a delayed one. */
  get declaredType(): string {
    return this.delayed !== undefined && !this.delayedByArgument ? 'x-delayed-message' : this.type;
  }

  get alternateExchange(): string | undefined {
    const ae = this.arguments['alternate-exchange'];
    if (Buffer.isBuffer(ae)) return ae.toString();
    return typeof ae === 'string' ? ae : undefined;
  }

  addBinding(b: Binding): void {
    this.bindings.push(b);
    let list = this.byKey.get(b.routingKey);
    if (list === undefined) this.byKey.set(b.routingKey, (list = []));
    list.push(b);
    this.topicCache.clear();
  }

  removeBinding(b: Binding): void {
    const i = this.bindings.indexOf(b);
    if (i >= 0) this.bindings.splice(i, 1);
    const list = this.byKey.get(b.routingKey);
    if (list !== undefined) {
      const j = list.indexOf(b);
      if (j >= 0) list.splice(j, 1);
      if (list.length === 0) this.byKey.delete(b.routingKey);
    }
    this.topicCache.clear();
  }

  findBinding(
    destination: Queue | Exchange,
    routingKey: string,
    args: Record<string, unknown>,
    equal: (a: Record<string, unknown>, b: Record<string, unknown>) => boolean,
  ): Binding | undefined {
    return this.byKey
      .get(routingKey)
      ?.find((b) => b.destination === destination && equal(b.arguments, args));
  }

  /** The bindings a message matches. The returned array must not be modified. */
  match(
    routingKey: string,
    message: Message,
    headersOf: (m: Message) => Readonly<Record<string, unknown>> | undefined,
  ): readonly Binding[] {
    switch (this.type) {
      case 'direct':
        return this.byKey.get(routingKey) ?? NONE;
      case 'fanout':
        return this.bindings;
      case 'topic':
        return this.matchTopic(routingKey);
      case 'headers': {
        const headers = headersOf(message);
        return this.bindings.filter((b) => headersMatch(b.arguments, headers));
      }
    }
  }

  private matchTopic(routingKey: string): readonly Binding[] {
    const cached = this.topicCache.get(routingKey);
    if (cached !== undefined) return cached;
    const words = splitTopic(routingKey);
    const out = this.bindings.filter((b) => topicMatches(b.topic!, words));
    if (this.topicCache.size >= TOPIC_CACHE_LIMIT) this.topicCache.clear();
    this.topicCache.set(routingKey, out);
    return out;
  }
}

const NONE: readonly Binding[] = [];
