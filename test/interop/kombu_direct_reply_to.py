"""kombu_direct_reply_to.py PORT

Direct reply-to through kombu (Debian python3-kombu 5.2, py-amqp transport), unchanged: the
requester declares and consumes kombu.Queue('amq.rabbitmq.reply-to', no_ack=True) (kombu sends a
plain, non-passive queue.declare for it) and publishes with reply_to on that same channel; a
responder on another connection answers with a kombu.Producer to message.properties['reply_to'].
kombu's own RPC paths (celery's rpc:// backend, pidbox) use real reply queues instead, so this
is the pattern kombu users write by hand. Prints one JSON line {"case": name, ...}; RabbitMQ
3.10 prints the same.
"""

import json
import socket
import sys
import time

import kombu

REPLY_TO = "amq.rabbitmq.reply-to"
URL = f"pyamqp://guest:guest@127.0.0.1:{sys.argv[1]}//"


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def pump(conns, done, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        for c in conns:
            try:
                c.drain_events(timeout=0.05)
            except socket.timeout:
                pass


with kombu.Connection(URL) as req_conn, kombu.Connection(URL) as srv_conn:
    work = kombu.Queue("kombu-rpc", kombu.Exchange(""), routing_key="kombu-rpc", durable=False)
    reply_queue = kombu.Queue(REPLY_TO, no_ack=True)

    srv_ch = srv_conn.channel()
    srv_producer = kombu.Producer(srv_ch)
    addresses = set()

    def on_request(body, message):
        addresses.add(message.properties["reply_to"])
        srv_producer.publish(
            {"n": body["n"], "square": body["n"] ** 2},
            exchange="",
            routing_key=message.properties["reply_to"],
            correlation_id=message.properties["correlation_id"],
            serializer="json",
        )
        message.ack()

    replies = {}

    def on_reply(body, message):
        replies[message.properties["correlation_id"]] = [body, message.delivery_info["routing_key"]]

    req_ch = req_conn.channel()
    with kombu.Consumer(srv_ch, [work], callbacks=[on_request], accept=["json"]), kombu.Consumer(
        req_ch, [reply_queue], callbacks=[on_reply], no_ack=True, accept=["json"]
    ):
        producer = kombu.Producer(req_ch)
        for n in range(10):
            producer.publish(
                {"n": n},
                exchange="",
                routing_key="kombu-rpc",
                reply_to=REPLY_TO,
                correlation_id="k%d" % n,
                serializer="json",
                declare=[work],
            )
        pump([srv_conn, req_conn], lambda: len(replies) >= 10)

    [address] = list(addresses) if len(addresses) == 1 else [None]
    emit(
        {
            "case": "kombu rpc",
            "replies": len(replies),
            "each its own reply": all(
                replies.get("k%d" % n, [None])[0] == {"n": n, "square": n * n} for n in range(10)
            ),
            "address": address is not None and address.startswith(REPLY_TO + "."),
            "delivered with the address as routing key": all(r[1] == address for r in replies.values()),
        }
    )
    work(srv_ch).delete()
