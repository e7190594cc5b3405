import type { Delivery } from '../../core/delivery.js';
import { NotImplementedError } from '../../core/errors.js';
import type { AmqpChannel } from './channel.js';
import { MethodId, methodName, type AmqpMethod } from './generated/methods.js';
import type { FieldTable } from './field-table.js';

/**
 * Everything a channel does besides the publish/ack hot path: declarations, bindings,
 * consumers, qos, get, recover, confirms. Core errors thrown here close the channel or the
 * connection according to their scope (the connection does the mapping).
 */
export function handleChannelMethod(ch: AmqpChannel, m: AmqpMethod): void {
  const conn = ch.conn;
  const session = ch.session;
  const id = ch.id;
  switch (m.id) {
    case MethodId.QueueDeclare: {
      const q = session.declareQueue(
        m.queue,
        {
          durable: m.durable,
          exclusive: m.exclusive,
          autoDelete: m.autoDelete,
          arguments: args(m.arguments),
        },
        m.passive,
      );
      ch.lastQueue = q.name;
      if (!m.nowait)
        conn.sendMethod(id, MethodId.QueueDeclareOk, {
          queue: q.name,
          messageCount: q.messageCount,
          consumerCount: q.consumerCount,
        });
      return;
    }
    case MethodId.QueueBind:
      session.bind(m.exchange, queueName(ch, m.queue), 'queue', m.routingKey, args(m.arguments));
      if (!m.nowait) conn.sendMethod(id, MethodId.QueueBindOk, {});
      return;
    case MethodId.QueueUnbind:
      session.unbind(m.exchange, queueName(ch, m.queue), 'queue', m.routingKey, args(m.arguments));
      conn.sendMethod(id, MethodId.QueueUnbindOk, {});
      return;
    case MethodId.QueuePurge: {
      const n = session.purgeQueue(queueName(ch, m.queue));
      if (!m.nowait) conn.sendMethod(id, MethodId.QueuePurgeOk, { messageCount: n });
      return;
    }
    case MethodId.QueueDelete: {
      const n = session.deleteQueue(queueName(ch, m.queue), {
        ifUnused: m.ifUnused,
        ifEmpty: m.ifEmpty,
      });
      if (!m.nowait) conn.sendMethod(id, MethodId.QueueDeleteOk, { messageCount: n });
      return;
    }
    case MethodId.ExchangeDeclare:
      session.declareExchange(
        m.exchange,
        m.type,
        {
          durable: m.durable,
          autoDelete: m.autoDelete,
          internal: m.internal,
          arguments: args(m.arguments),
        },
        m.passive,
      );
      if (!m.nowait) conn.sendMethod(id, MethodId.ExchangeDeclareOk, {});
      return;
    case MethodId.ExchangeDelete:
      session.deleteExchange(m.exchange, m.ifUnused);
      if (!m.nowait) conn.sendMethod(id, MethodId.ExchangeDeleteOk, {});
      return;
    case MethodId.ExchangeBind:
      session.bind(m.source, m.destination, 'exchange', m.routingKey, args(m.arguments));
      if (!m.nowait) conn.sendMethod(id, MethodId.ExchangeBindOk, {});
      return;
    case MethodId.ExchangeUnbind:
      session.unbind(m.source, m.destination, 'exchange', m.routingKey, args(m.arguments));
      if (!m.nowait) conn.sendMethod(id, MethodId.ExchangeUnbindOk, {});
      return;
    case MethodId.BasicQos:
      if (m.prefetchSize !== 0)
        throw new NotImplementedError(
          'basic.qos with a prefetch-size is not implemented; limit by prefetch-count instead',
        );
      session.qos(m.prefetchCount, m.global);
      conn.sendMethod(id, MethodId.BasicQosOk, {});
      return;
    case MethodId.BasicConsume: {
      const consumer = session.consume(queueName(ch, m.queue), {
        tag: m.consumerTag,
        noAck: m.noAck,
        exclusive: m.exclusive,
        arguments: args(m.arguments),
      });
      if (!m.nowait) conn.sendMethod(id, MethodId.BasicConsumeOk, { consumerTag: consumer.tag });
      return;
    }
    case MethodId.BasicCancel:
      session.cancel(m.consumerTag);
      if (!m.nowait) conn.sendMethod(id, MethodId.BasicCancelOk, { consumerTag: m.consumerTag });
      return;
    case MethodId.BasicGet: {
      const got = session.getOrWait(queueName(ch, m.queue), m.noAck);
      if (!(got instanceof Promise)) return answerGet(ch, got);
      // The next message is being read back from disk: answer once it is here.
      conn.holdChannel(
        ch,
        got.then((d) => answerGet(ch, d)),
        MethodId.BasicGet,
      );
      return;
    }
    case MethodId.BasicRecover:
    case MethodId.BasicRecoverAsync:
      if (!m.requeue)
        throw new NotImplementedError(
          'basic.recover with requeue=false is not implemented; use requeue=true, which returns unacked messages to their queues',
        );
      session.recover();
      if (m.id === MethodId.BasicRecover) conn.sendMethod(id, MethodId.BasicRecoverOk, {});
      return;
    case MethodId.ConfirmSelect:
      ch.enableConfirms();
      if (!m.nowait) conn.sendMethod(id, MethodId.ConfirmSelectOk, {});
      return;
    case MethodId.ChannelFlow:
      session.setFlow(m.active);
      conn.sendMethod(id, MethodId.ChannelFlowOk, { active: m.active });
      return;
    case MethodId.AccessRequest:
      conn.sendMethod(id, MethodId.AccessRequestOk, { ticket: 1 });
      return;
    case MethodId.TxSelect:
      session.selectTx();
      conn.sendMethod(id, MethodId.TxSelectOk, {});
      return;
    case MethodId.TxCommit:
      ch.commitTx();
      return;
    case MethodId.TxRollback:
      session.rollbackTx();
      conn.sendMethod(id, MethodId.TxRollbackOk, {});
      return;
    default:
      throw new NotImplementedError(
        `${methodName(m.id)} is not a method a client sends on a channel (or is not implemented); see docs/amqp.md for the supported methods`,
      );
  }
}

function answerGet(ch: AmqpChannel, d: Delivery | undefined): void {
  if (ch.closing) return;
  if (d === undefined) ch.conn.sendMethod(ch.id, MethodId.BasicGetEmpty, { clusterId: '' });
  else ch.sendGetOk(d, d.queue.messageCount);
}

/** An empty queue name means the channel's most recently declared queue (AMQP rule). */
function queueName(ch: AmqpChannel, name: string): string {
  return name === '' ? ch.lastQueue : name;
}

function args(t: FieldTable): Record<string, unknown> {
  return t;
}
