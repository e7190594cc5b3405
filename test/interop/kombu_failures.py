"""kombu (Debian python3-kombu 5.2, py-amqp transport) using its own names for queue
arguments against Baton: Queue(message_ttl=, expires=, max_length=, max_length_bytes=,
queue_arguments={'x-dead-letter-exchange': ...}) and Producer.publish(expiration=).
Usage: kombu_failures.py <port> [prefix]; prints one JSON line per check."""

import json
import socket
import sys
import time
from contextlib import closing

import kombu
from amqp.exceptions import MessageNacked, NotFound

port = sys.argv[1]
p = sys.argv[2] if len(sys.argv) > 2 else ""
URL = f"pyamqp://guest:guest@127.0.0.1:{port}//"


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def drain(conn, queue, want, timeout=10.0):
    """Consume with kombu.Consumer until `want` messages came (dead letters come later)."""
    got = []

    def on_message(body, message):
        deaths = message.headers.get("x-death", [])
        got.append({"body": body, "deaths": [[d["queue"], d["reason"], d["count"]] for d in deaths],
                    "routing_key": message.delivery_info["routing_key"]})
        message.ack()

    with kombu.Consumer(conn, [queue], callbacks=[on_message], accept=["json"]):
        deadline = time.monotonic() + timeout
        while len(got) < want and time.monotonic() < deadline:
            try:
                conn.drain_events(timeout=0.1)
            except socket.timeout:
                pass
    return got


with kombu.Connection(URL, transport_options={"confirm_publish": True}) as conn:
    ch = conn.channel()
    dlx = kombu.Exchange(p + "k.dlx", type="direct", durable=True)
    dlq = kombu.Queue(p + "k.dlq", dlx, routing_key="dead")
    dlq(ch).declare()
    work_x = kombu.Exchange(p + "k.work", type="direct", durable=True)

    # Queue TTL (seconds in kombu, x-message-ttl in ms on the wire) into a dead-letter exchange.
    ttl = kombu.Queue(p + "k.ttl", work_x, routing_key="ttl", message_ttl=0.1,
                      queue_arguments={"x-dead-letter-exchange": p + "k.dlx",
                                       "x-dead-letter-routing-key": "dead"})
    ttl(ch).declare()
    producer = kombu.Producer(ch, exchange=work_x, serializer="json")
    for i in range(3):
        producer.publish({"n": i}, routing_key="ttl", delivery_mode=2)
    emit({"check": "message_ttl", "dead": drain(conn, dlq, 3)})

    # Per-message expiration (seconds): kombu's own TTL integration tests do this.
    with closing(conn.SimpleQueue(p + "k.simple")) as sq:
        sq.put({"gone": True}, expiration=0.1)
        sq.put({"kept": True})
        time.sleep(0.3)
        first = sq.get(timeout=1)
        first.ack()
        try:
            sq.get(timeout=0.2)
            more = True
        except sq.Empty:
            more = False
        emit({"check": "expiration", "first": first.payload, "more": more})

    # Length limits: drop-head (kombu's max_length) dead-letters the oldest; reject-publish
    # makes a confirmed publish fail with MessageNacked.
    capped = kombu.Queue(p + "k.capped", work_x, routing_key="capped", max_length=2,
                         queue_arguments={"x-dead-letter-exchange": p + "k.dlx",
                                          "x-dead-letter-routing-key": "dead"})
    capped(ch).declare()
    for i in range(4):
        producer.publish({"c": i}, routing_key="capped")
    left = []
    while True:
        m = capped(ch).get(no_ack=True)
        if m is None:
            break
        left.append(m.payload)
    emit({"check": "max_length", "left": left, "dead": drain(conn, dlq, 2)})

    full = kombu.Queue(p + "k.full", work_x, routing_key="full", max_length=1,
                       queue_arguments={"x-overflow": "reject-publish"})
    full(ch).declare()
    outcomes = []
    for i in range(3):
        try:
            producer.publish({"f": i}, routing_key="full")
            outcomes.append("ack")
        except MessageNacked:
            outcomes.append("nack")
    emit({"check": "reject_publish", "outcomes": outcomes})

    nbytes = kombu.Queue(p + "k.bytes", work_x, routing_key="bytes", max_length_bytes=20)
    nbytes(ch).declare()
    for i in range(3):
        producer.publish("0123456789", routing_key="bytes", serializer="raw")
    emit({"check": "max_length_bytes",
          "count": nbytes(ch).queue_declare(passive=True).message_count})

    # Queue expiry (kombu's expires, seconds): an unused queue is deleted. Probes are further
    # apart than the lease: a passive declare renews it (RabbitMQ).
    kombu.Queue(p + "k.expires", work_x, routing_key="exp", expires=0.2)(ch).declare()
    gone = False
    deadline = time.monotonic() + 10
    while not gone and time.monotonic() < deadline:
        time.sleep(0.5)
        probe = conn.channel()
        try:
            kombu.Queue(p + "k.expires", channel=probe).queue_declare(passive=True)
            probe.close()
        except NotFound:
            gone = True
    emit({"check": "expires", "deleted": gone})

    if p:
        ch = conn.channel()
        for q in ("k.dlq", "k.ttl", "k.simple", "k.capped", "k.full", "k.bytes"):
            ch.queue_delete(p + q)
        ch.exchange_delete(p + "k.dlx")
        ch.exchange_delete(p + "k.work")
