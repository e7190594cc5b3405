import type { Binding, Exchange, ExchangeType } from './exchange.js';
import type { Queue } from './queue.js';
import type { StoreGuard } from './store-guard.js';
import type { AccessDefinition } from './access/access-control.js';
import type { VhostLimits } from './access/limits.js';

/** What the store keeps of a durable queue, exchange or binding. */
export interface QueueDefinition {
  type: 'queue';
  vhost: string;
  name: string;
  id: number;
  autoDelete: boolean;
  arguments: Record<string, unknown>;
}
export interface ExchangeDefinition {
  type: 'exchange';
  vhost: string;
  name: string;
  exchangeType: ExchangeType | 'x-delayed-message';
  autoDelete: boolean;
  internal: boolean;
  arguments: Record<string, unknown>;
  /** x-delayed-message: the store id its pending messages are journaled under. */
  delayStore?: number;
  /** x-delayed-message: the store id its transient messages are paged out under. */
  delayPageStore?: number;
  /** x-message-deduplication: the store scope of its ids (absent before Baton kept them). */
  dedupScope?: number;
}
export interface BindingDefinition {
  type: 'binding';
  vhost: string;
  source: string;
  destination: string;
  destinationType: 'queue' | 'exchange';
  routingKey: string;
  arguments: Record<string, unknown>;
}
/** A vhost made at runtime (or at first boot): exists even with nothing in it. */
export interface VhostDefinition {
  type: 'vhost';
  name: string;
  description: string;
  tags: string[];
  limits: VhostLimits;
}
export type Definition =
  QueueDefinition | ExchangeDefinition | BindingDefinition | VhostDefinition | AccessDefinition;

/** Writes a vhost's durable definitions to the store under stable keys. */
export class Definitions {
  private readonly journal: StoreGuard;
  private readonly vhost: string;
  /** Set while recovery rebuilds what the store already holds, so nothing is written twice. */
  muted = false;

  constructor(journal: StoreGuard, vhost: string) {
    this.journal = journal;
    this.vhost = vhost;
  }

  putVhost(meta: { description: string; tags: readonly string[]; limits: VhostLimits }): void {
    if (this.muted) return;
    const def: VhostDefinition = {
      type: 'vhost',
      name: this.vhost,
      description: meta.description,
      tags: [...meta.tags],
      limits: meta.limits,
    };
    this.journal.putDefinition(JSON.stringify(['vhost', this.vhost]), def);
  }

  deleteVhost(): void {
    this.journal.deleteDefinition(JSON.stringify(['vhost', this.vhost]));
  }

  putQueue(q: Queue): void {
    if (this.muted) return;
    const def: QueueDefinition = {
      type: 'queue',
      vhost: this.vhost,
      name: q.name,
      id: q.id,
      autoDelete: q.autoDelete,
      arguments: q.arguments,
    };
    this.journal.putDefinition(JSON.stringify(['queue', this.vhost, q.name]), def);
  }

  deleteQueue(q: Queue): void {
    if (this.muted) return;
    this.journal.deleteDefinition(JSON.stringify(['queue', this.vhost, q.name]));
  }

  putExchange(ex: Exchange): void {
    if (this.muted) return;
    const def: ExchangeDefinition = {
      type: 'exchange',
      vhost: this.vhost,
      name: ex.name,
      exchangeType: ex.declaredType as ExchangeDefinition['exchangeType'],
      autoDelete: ex.autoDelete,
      internal: ex.internal,
      arguments: ex.arguments,
      ...(ex.dedup !== undefined && { dedupScope: ex.dedup.scope }),
    };
    if (ex.delayed !== undefined) {
      def.delayStore = ex.delayed.storeId;
      if (ex.delayed.pageId !== 0) def.delayPageStore = ex.delayed.pageId;
    }
    this.journal.putDefinition(JSON.stringify(['exchange', this.vhost, ex.name]), def);
  }

  deleteExchange(ex: Exchange): void {
    if (this.muted) return;
    this.journal.deleteDefinition(JSON.stringify(['exchange', this.vhost, ex.name]));
  }

  putBinding(b: Binding): void {
    if (this.muted) return;
    const def = this.bindingDefinition(b);
    this.journal.putDefinition(bindingKey(def), def);
  }

  /** Safe for bindings that were never journaled: deleting a missing key is a no-op on replay. */
  deleteBinding(b: Binding): void {
    if (this.muted || !b.source.durable || !b.destination.durable) return;
    this.journal.deleteDefinition(bindingKey(this.bindingDefinition(b)));
  }

  private bindingDefinition(b: Binding): BindingDefinition {
    return {
      type: 'binding',
      vhost: this.vhost,
      source: b.source.name,
      destination: b.destination.name,
      destinationType: 'bindings' in b.destination ? 'exchange' : 'queue',
      routingKey: b.routingKey,
      arguments: b.arguments,
    };
  }
}

export function bindingKey(d: BindingDefinition): string {
  return JSON.stringify([
    'binding',
    d.vhost,
    d.source,
    d.destinationType,
    d.destination,
    d.routingKey,
    d.arguments,
  ]);
}
