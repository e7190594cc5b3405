"""pika_tx.py PORT

AMQP transactions through pika's BlockingChannel (tx_select / tx_commit / tx_rollback), in
the spirit of pika's own acceptance tests. Each case prints one JSON line {"case": name, ...}
with what it saw; RabbitMQ prints the same lines.
"""

import sys

import pika

from pika_common import closed_by_broker, connect, emit


def count(conn, queue):
    ch = conn.channel()
    n = ch.queue_declare(queue=queue, passive=True).method.message_count
    ch.close()
    return n


def main():
    conn = connect(sys.argv[1])
    ch = conn.channel()
    ok = ch.tx_select()
    emit({"case": "select", "reply": ok.method.NAME})

    # Publishes are invisible to others until commit; commit-ok is Tx.CommitOk.
    ch.queue_declare(queue="pika-tx", durable=True)
    for i in range(3):
        ch.basic_publish("", "pika-tx", b"m%d" % i, pika.BasicProperties(delivery_mode=2))
    before = count(conn, "pika-tx")
    ok = ch.tx_commit()
    emit({"case": "commit", "before": before, "after": count(conn, "pika-tx"), "reply": ok.method.NAME})

    # Rollback drops publishes.
    ch.basic_publish("", "pika-tx", b"dropped")
    ok = ch.tx_rollback()
    emit({"case": "rollback", "after": count(conn, "pika-tx"), "reply": ok.method.NAME})

    # A rolled-back ack: the message stays unacked, and comes back redelivered on close.
    method, _props, body = ch.basic_get("pika-tx")
    ch.basic_ack(method.delivery_tag)
    ch.tx_rollback()
    held = count(conn, "pika-tx")
    ch.close()
    ch = conn.channel()
    method, _props, body2 = ch.basic_get("pika-tx", auto_ack=True)
    emit(
        {
            "case": "ack rolled back",
            "ready while held": held,
            "same message": body == body2,
            "redelivered": method.redelivered,
        }
    )

    # Consume, ack in the transaction, commit: gone.
    ch.tx_select()
    got = []
    for method, _props, body in ch.consume("pika-tx", inactivity_timeout=1):
        if method is None:
            break
        got.append(body.decode())
        ch.basic_ack(method.delivery_tag)
        if len(got) == 2:
            break
    ch.cancel()
    before = count(conn, "pika-tx")
    ch.tx_commit()
    emit({"case": "consume and commit", "got": got, "left": count(conn, "pika-tx")})

    # Exactly once: get one, publish its result, ack, commit.
    ch.queue_declare(queue="pika-tx-in", durable=True)
    ch.queue_declare(queue="pika-tx-out", durable=True)
    ch.basic_publish("", "pika-tx-in", b"job", pika.BasicProperties(delivery_mode=2))
    ch.tx_commit()
    method, _props, body = ch.basic_get("pika-tx-in")
    ch.basic_publish("", "pika-tx-out", body + b" done", pika.BasicProperties(delivery_mode=2))
    ch.basic_ack(method.delivery_tag)
    mid = [count(conn, "pika-tx-in"), count(conn, "pika-tx-out")]
    ch.tx_commit()
    emit(
        {
            "case": "consume-process-produce",
            "before commit": mid,
            "after commit": [count(conn, "pika-tx-in"), count(conn, "pika-tx-out")],
        }
    )

    # A reject with a dead-letter exchange dead-letters at commit.
    ch.exchange_declare("pika-tx-dlx", "fanout", durable=True)
    ch.queue_declare(queue="pika-tx-dlq", durable=True)
    ch.queue_bind("pika-tx-dlq", "pika-tx-dlx")
    ch.queue_declare(
        queue="pika-tx-work", durable=True, arguments={"x-dead-letter-exchange": "pika-tx-dlx"}
    )
    ch.basic_publish("", "pika-tx-work", b"poison")
    ch.tx_commit()
    method, _props, _body = ch.basic_get("pika-tx-work")
    ch.basic_reject(method.delivery_tag, requeue=False)
    before = count(conn, "pika-tx-dlq")
    ch.tx_commit()
    emit({"case": "reject to dlx", "before": before, "after": count(conn, "pika-tx-dlq")})

    # A mandatory publish nobody takes is returned at commit.
    returned = []
    ch.add_on_return_callback(lambda _ch, _m, _p, body: returned.append(body.decode()))
    ch.basic_publish("", "no-such-queue", b"bounced", mandatory=True)
    ch.tx_commit()
    conn.process_data_events(time_limit=0)
    emit({"case": "mandatory returned at commit", "returned": returned})
    ch.close()

    # Errors: commit/rollback without select, and tx vs confirm modes.
    emit({"case": "commit without select", "error": closed_by_broker(lambda: conn.channel().tx_commit())})
    emit({"case": "rollback without select", "error": closed_by_broker(lambda: conn.channel().tx_rollback())})

    def confirm_then_tx():
        c = conn.channel()
        c.confirm_delivery()
        c.tx_select()

    def tx_then_confirm():
        c = conn.channel()
        c.tx_select()
        c.confirm_delivery()

    emit({"case": "tx on a confirm channel", "error": closed_by_broker(confirm_then_tx)})
    emit({"case": "confirm on a tx channel", "error": closed_by_broker(tx_then_confirm)})

    # A closed channel rolls back its publishes.
    c = conn.channel()
    c.tx_select()
    c.basic_publish("", "pika-tx", b"lost")
    c.close()
    emit({"case": "close rolls back", "left": count(conn, "pika-tx")})
    conn.close()


if __name__ == "__main__":
    main()
