export { connect, BatonClient } from './client.js';
export type { ConnectOptions, ClientEvents, Handler } from './client.js';
export { jsonCodec } from './codec.js';
export type { Codec } from './codec.js';
export type { Consumer, ConsumeOptions } from './consumer.js';
export {
  BatonClientError,
  ChannelClosedError,
  ClientClosedError,
  ConnectionClosedError,
  InvalidOptionError,
  NackedError,
  RemoteError,
  RequestTimeoutError,
  UnroutableError,
} from './errors.js';
export type { Message } from './message.js';
export type { ReconnectOptions } from './reconnect/backoff.js';
export { REPLY_TO, ERROR_HEADER } from './rpc.js';
export type { RequestOptions, SendOptions } from './send-options.js';
export { DELAY_EXCHANGE } from './topology.js';
export type { DeclareQueueOptions } from './topology.js';
export { TypedQueue } from './typed-queue.js';
