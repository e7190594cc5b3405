// The part of rascal's API (npm rascal 21, plain JavaScript, no bundled types) that
// rascal.test.ts uses.
declare module 'rascal' {
  import type { EventEmitter } from 'node:events';
  import type { Message } from 'amqplib';

  export type AckOrNack = (err?: Error, recovery?: object | object[]) => void;

  export interface Subscription extends EventEmitter {
    cancel(): Promise<void>;
  }

  export interface Broker extends EventEmitter {
    publish(name: string, message: unknown, overrides?: object | string): Promise<EventEmitter>;
    forward(name: string, message: Message, overrides?: object | string): Promise<EventEmitter>;
    subscribe(name: string, overrides?: object): Promise<Subscription>;
    shutdown(): Promise<void>;
    nuke(): Promise<void>;
  }

  const rascal: {
    BrokerAsPromised: { create(config: object): Promise<Broker> };
    withDefaultConfig(config: object): object;
  };
  export default rascal;
}
