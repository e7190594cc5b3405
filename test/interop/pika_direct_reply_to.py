"""pika_direct_reply_to.py PORT

RabbitMQ's direct reply-to (the amq.rabbitmq.reply-to pseudo-queue) through pika's
BlockingConnection, unchanged: first pika's own examples/direct_reply_to.py flow (server and
client on one channel), then a requester and a responder on two connections, the pseudo-queue's
declare rules and its channel errors. Each case prints one JSON line {"case": name, ...};
RabbitMQ 3.10 prints the same lines.
"""

import sys
import time

import pika
from pika.exceptions import UnroutableError

from pika_common import closed_by_broker, connect, emit

REPLY_TO = "amq.rabbitmq.reply-to"


def wait_for(conn, done, seconds=10):
    """Pump conn's I/O until done() holds; False if it still does not after `seconds`."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            return False
        conn.process_data_events(time_limit=0.05)
    return True


def example(port):
    """pika's examples/direct_reply_to.py: one channel is both RPC server and client."""
    conn = connect(port)
    ch = conn.channel()
    seen = {}

    def on_request(c, method, props, body):
        seen["request"] = body.decode()
        seen["reply_to"] = props.reply_to
        c.basic_publish("", routing_key=props.reply_to, body="Polo")
        c.basic_ack(delivery_tag=method.delivery_tag)

    def on_reply(c, method, props, body):
        seen["reply"] = body.decode()
        seen["exchange"] = method.exchange
        seen["routing_key"] = method.routing_key
        c.close()

    ch.queue_declare(queue="rpc.server.queue", exclusive=True, auto_delete=True)
    ch.basic_consume("rpc.server.queue", on_request)
    ch.basic_consume(REPLY_TO, on_reply, auto_ack=True)
    ch.basic_publish(
        exchange="",
        routing_key="rpc.server.queue",
        body="Marco",
        properties=pika.BasicProperties(reply_to=REPLY_TO),
    )
    ch.start_consuming()  # returns once on_reply closed the channel
    emit(
        {
            "case": "pika example",
            "request": seen.get("request"),
            "reply": seen.get("reply"),
            "address": seen.get("reply_to", "").startswith(REPLY_TO + ".")
            and len(seen["reply_to"]) > len(REPLY_TO) + 1,
            "delivered from": [seen.get("exchange"), seen.get("routing_key") == seen.get("reply_to")],
        }
    )
    conn.close()


def two_connections(port):
    """A requester and a responder on separate connections, 20 requests with correlation ids."""
    req_conn, srv_conn = connect(port), connect(port)
    req, srv = req_conn.channel(), srv_conn.channel()
    srv.queue_declare(queue="pika-rpc", durable=False, auto_delete=False)
    srv.queue_purge("pika-rpc")

    replies = {}

    def on_reply(_c, method, props, body):
        replies[props.correlation_id] = {
            "body": body.decode(),
            "exchange": method.exchange,
            "routing_key": method.routing_key,
            "redelivered": method.redelivered,
            "content_type": props.content_type,
            "headers": props.headers,
        }

    req.basic_consume(REPLY_TO, on_reply, auto_ack=True)
    for i in range(20):
        req.basic_publish(
            "",
            "pika-rpc",
            body="n%d" % i,
            properties=pika.BasicProperties(reply_to=REPLY_TO, correlation_id="c%d" % i),
        )

    addresses = set()
    served = 0
    deadline = time.monotonic() + 10
    while served < 20 and time.monotonic() < deadline:
        method, props, body = srv.basic_get("pika-rpc")
        if method is None:
            srv_conn.process_data_events(time_limit=0.05)
            continue
        addresses.add(props.reply_to)
        srv.basic_publish(
            "",
            props.reply_to,
            body=body.decode().upper(),
            properties=pika.BasicProperties(
                correlation_id=props.correlation_id,
                content_type="text/plain",
                headers={"served-by": "srv"},
            ),
        )
        srv.basic_ack(method.delivery_tag)
        served += 1

    wait_for(req_conn, lambda: len(replies) >= 20)
    [address] = list(addresses) if len(addresses) == 1 else [None]
    emit(
        {
            "case": "two connections",
            "served": served,
            "replies": len(replies),
            "one address per channel": len(addresses) == 1,
            "each its own reply": all(replies.get("c%d" % i, {}).get("body") == "N%d" % i for i in range(20)),
            "delivered from": sorted({(r["exchange"], r["routing_key"] == address) for r in replies.values()}),
            "redelivered": any(r["redelivered"] for r in replies.values()),
            "properties kept": all(
                r["content_type"] == "text/plain" and r["headers"] == {"served-by": "srv"} for r in replies.values()
            ),
        }
    )

    # The address answers a passive declare while its channel consumes it (0 messages, 1
    # consumer), and so does the pseudo-queue's own name; once the channel is gone it is 404.
    probe = srv_conn.channel()
    live = probe.queue_declare(queue=address, passive=True).method
    base = probe.queue_declare(queue=REPLY_TO, passive=True).method
    req.close()
    gone = closed_by_broker(lambda: probe.queue_declare(queue=address, passive=True))
    emit(
        {
            "case": "declare the address",
            "live": [live.queue == address, live.message_count, live.consumer_count],
            "pseudo-queue": [base.queue, base.message_count, base.consumer_count],
            "gone": gone is not None and gone[0],
        }
    )

    # A reply to the gone address is dropped without closing the responder's channel; a
    # mandatory one on a confirm channel comes back as basic.return (pika: UnroutableError).
    srv.basic_publish("", address, body="late")
    still_open = srv.queue_declare(queue="pika-rpc", passive=True).method.message_count == 0
    srv.confirm_delivery()
    returned = None
    try:
        srv.basic_publish("", address, body="late", mandatory=True)
    except UnroutableError as e:
        returned = [[m.method.reply_code, m.method.reply_text, m.method.routing_key == address] for m in e.messages]
    emit({"case": "reply to a gone requester", "dropped, channel open": still_open, "mandatory": returned})
    srv.queue_delete("pika-rpc")
    req_conn.close()
    srv_conn.close()


def errors(port):
    """The channel errors of the pseudo-queue, each a 406 that closes only that channel."""
    conn = connect(port)
    noop = lambda *a: None  # noqa: E731

    ch = conn.channel()
    ack_mode = closed_by_broker(lambda: ch.basic_consume(REPLY_TO, noop, auto_ack=False))

    ch = conn.channel()
    ch.basic_consume(REPLY_TO, noop, auto_ack=True)
    twice = closed_by_broker(lambda: ch.basic_consume(REPLY_TO, noop, auto_ack=True))

    ch = conn.channel()
    ch.queue_declare(queue="pika-rpc-errors", auto_delete=True)

    def publish_without_consumer():
        ch.basic_publish("", "pika-rpc-errors", b"x", pika.BasicProperties(reply_to=REPLY_TO))
        ch.queue_declare(queue="pika-rpc-errors", passive=True)  # a round trip to see the close

    no_consumer = closed_by_broker(publish_without_consumer)

    # After basic.cancel the channel has no reply consumer any more.
    ch = conn.channel()
    tag = ch.basic_consume(REPLY_TO, noop, auto_ack=True)
    ch.basic_cancel(tag)

    def publish_after_cancel():
        ch.basic_publish("", "pika-rpc-errors", b"x", pika.BasicProperties(reply_to=REPLY_TO))
        ch.queue_declare(queue="pika-rpc-errors", passive=True)

    after_cancel = closed_by_broker(publish_after_cancel)

    # The connection survived all of them.
    ch = conn.channel()
    ch.queue_declare(queue="pika-rpc-errors", passive=True)
    emit(
        {
            "case": "errors",
            "ack mode": ack_mode,
            "second consumer": twice,
            "publish without consumer": no_consumer,
            "publish after cancel": after_cancel,
            "connection open": conn.is_open,
        }
    )
    ch.queue_delete("pika-rpc-errors")
    conn.close()


def main():
    port = sys.argv[1]
    example(port)
    two_connections(port)
    errors(port)


if __name__ == "__main__":
    main()
