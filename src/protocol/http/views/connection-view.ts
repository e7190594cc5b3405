import type { ClientConnection, ConnectionDetails } from '../../../core/connection.js';
import type { Consumer } from '../../../core/consumer.js';
import type { Session } from '../../../core/session.js';
import type { Broker } from '../../../core/broker.js';
import { isInternal } from '../context.js';
import { jsonTable } from '../json-value.js';
import type { Item } from '../listing.js';
import { NODE_NAME } from '../node.js';
import type { Rates } from '../rates.js';

/** A protocol connection the listings show: one with details, not the API's own. */
export interface Listed {
  readonly connection: ClientConnection;
  readonly details: ConnectionDetails;
}

/** Every client connection the management API lists. */
export function listedConnections(broker: Broker): Listed[] {
  const out: Listed[] = [];
  for (const c of broker.connections)
    if (c.details !== undefined && !c.closed && !isInternal(c))
      out.push({ connection: c, details: c.details });
  return out;
}

/** RabbitMQ's connection name: "peer:port -> local:port". */
export function connectionName(d: ConnectionDetails): string {
  return d.name;
}

/** RabbitMQ's channel name: "<connection name> (<channel number>)". */
export function channelName(d: ConnectionDetails, s: Session): string {
  return `${connectionName(d)} (${s.number})`;
}

export function connectionView(l: Listed, rates: Rates): Item {
  const { connection: c, details: d } = l;
  return {
    name: connectionName(d),
    node: NODE_NAME,
    type: 'network',
    user: c.principal.user,
    user_who_performed_action: c.principal.user,
    vhost: c.principal.vhost,
    protocol: d.protocol,
    host: d.host,
    port: d.port,
    peer_host: d.peerHost,
    peer_port: d.peerPort,
    // RabbitMQ's words: 'flow' for publisher flow control, 'blocked' for a resource alarm.
    state: !d.blocked ? 'running' : c.throttledBy !== undefined ? 'flow' : 'blocked',
    channels: c.sessions.size,
    client_properties: jsonTable(d.clientProperties),
    connected_at: d.connectedAt,
    frame_max: d.frameMax,
    channel_max: d.channelMax,
    timeout: d.heartbeat,
    auth_mechanism: d.authMechanism,
    ssl: d.ssl,
    ssl_protocol: d.tls?.protocol ?? null,
    ssl_key_exchange: null,
    ssl_cipher: d.tls?.cipher ?? null,
    ssl_hash: null,
    peer_cert_subject: d.tls?.peerCertSubject ?? null,
    peer_cert_issuer: d.tls?.peerCertIssuer ?? null,
    peer_cert_validity: d.tls?.peerCertValidity ?? null,
    recv_oct: d.recvOct,
    recv_oct_details: rates.details(c, 'recv_oct'),
    send_oct: d.sendOct,
    send_oct_details: rates.details(c, 'send_oct'),
  };
}

/** What channels and consumers say about their connection. */
function connectionDetails(d: ConnectionDetails): Item {
  return { name: connectionName(d), peer_host: d.peerHost, peer_port: d.peerPort };
}

function channelDetails(l: Listed, s: Session): Item {
  return {
    name: channelName(l.details, s),
    number: s.number,
    user: l.connection.principal.user,
    connection_name: connectionName(l.details),
    peer_host: l.details.peerHost,
    peer_port: l.details.peerPort,
    node: NODE_NAME,
  };
}

export function channelView(l: Listed, s: Session): Item {
  return {
    name: channelName(l.details, s),
    number: s.number,
    node: NODE_NAME,
    connection_details: connectionDetails(l.details),
    user: l.connection.principal.user,
    user_who_performed_action: l.connection.principal.user,
    vhost: l.connection.principal.vhost,
    confirm: s.confirms,
    transactional: s.transactional,
    prefetch_count: s.consumerPrefetch,
    global_prefetch_count: s.prefetch,
    messages_unacknowledged: s.unackedCount,
    messages_unconfirmed: s.unconfirmedCount,
    messages_uncommitted: 0,
    acks_uncommitted: 0,
    consumer_count: s.consumers.size,
    state: s.flowActive ? 'running' : 'flow',
  };
}

export function consumerView(l: Listed, consumer: Consumer): Item {
  const q = consumer.queue;
  return {
    consumer_tag: consumer.tag,
    queue: { name: q.name, vhost: q.vhostName },
    channel_details: channelDetails(l, consumer.session),
    ack_required: !consumer.noAck,
    prefetch_count: consumer.prefetch,
    exclusive: consumer.exclusive,
    active: !q.singleActive || q.consumers[0] === consumer,
    activity_status: !q.singleActive || q.consumers[0] === consumer ? 'up' : 'waiting',
    arguments: jsonTable(consumer.arguments),
  };
}

/** The listed connection a name denotes, if any. */
export function findConnection(broker: Broker, name: string): Listed | undefined {
  return listedConnections(broker).find((l) => connectionName(l.details) === name);
}
