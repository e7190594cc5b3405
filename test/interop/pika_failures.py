"""pika (BlockingConnection) driving Baton's failure handling: TTL with a dead-letter exchange,
length limits with each overflow mode, and a delivery limit. Usage:
pika_failures.py <port> <scenario> [prefix]; prints JSON lines for the test to compare."""

import sys
import time

import pika
from pika.exceptions import NackError

from pika_common import connect, emit

port, scenario = sys.argv[1], sys.argv[2]
p = sys.argv[3] if len(sys.argv) > 3 else ""
PERSISTENT = pika.BasicProperties(delivery_mode=2)


def deaths(props):
    return [
        {
            "queue": d["queue"],
            "reason": d["reason"],
            "count": d["count"],
            "exchange": d["exchange"],
            "routing-keys": d["routing-keys"],
            "original-expiration": d.get("original-expiration"),
        }
        for d in (props.headers or {}).get("x-death", [])
    ]


def drain(ch, queue, want, timeout=10.0):
    """basic_get until `want` messages came (dead letters arrive asynchronously)."""
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < want and time.monotonic() < deadline:
        method, props, body = ch.basic_get(queue, auto_ack=True)
        if method is None:
            time.sleep(0.01)
            continue
        out.append((props, body.decode()))
    return out


def with_dlq(ch, dlx, dlq, key):
    ch.exchange_declare(dlx, "direct", durable=True)
    ch.queue_declare(dlq, durable=True)
    ch.queue_bind(dlq, dlx, key)


conn = connect(port)
ch = conn.channel()
ch.confirm_delivery()

if scenario == "ttl_dlx":
    with_dlq(ch, p + "dlx", p + "dlq", "expired")
    args = {"x-message-ttl": 100, "x-dead-letter-exchange": p + "dlx",
            "x-dead-letter-routing-key": "expired"}
    ch.queue_declare(p + "ttl", durable=True, arguments=args)
    for i in range(3):
        ch.basic_publish("", p + "ttl", f"q{i}".encode(), PERSISTENT)
    # Per-message expiration on a queue with no TTL of its own.
    ch.queue_declare(p + "plain", durable=True, arguments={
        "x-dead-letter-exchange": p + "dlx", "x-dead-letter-routing-key": "expired"})
    ch.basic_publish("", p + "plain", b"e0",
                     pika.BasicProperties(delivery_mode=2, expiration="150"))
    ch.basic_publish("", p + "plain", b"kept", PERSISTENT)
    for props, body in drain(ch, p + "dlq", 4):
        emit({"body": body, "expiration": props.expiration, "deaths": deaths(props),
              "first": (props.headers or {}).get("x-first-death-reason")})
    emit({"ttl_left": ch.queue_declare(p + "ttl", passive=True).method.message_count,
          "plain_left": ch.queue_declare(p + "plain", passive=True).method.message_count})

elif scenario == "max_length":
    with_dlq(ch, p + "dlx", p + "dlq", "full")
    dl = {"x-dead-letter-exchange": p + "dlx", "x-dead-letter-routing-key": "full"}
    results = {}
    for mode in ("drop-head", "reject-publish", "reject-publish-dlx"):
        q = p + mode
        ch.queue_declare(q, arguments={"x-max-length": 2, "x-overflow": mode, **dl})
        acks = []
        for i in range(4):
            try:
                ch.basic_publish("", q, f"{mode}:{i}".encode())
                acks.append(True)
            except NackError:
                acks.append(False)
        left = []
        while True:
            method, _props, body = ch.basic_get(q, auto_ack=True)
            if method is None:
                break
            left.append(body.decode())
        results[mode] = {"acks": acks, "left": left}
    emit(results)
    want = 4  # drop-head drops 2, reject-publish-dlx dead-letters 2
    emit({"dead": sorted((b, deaths(pr)[0]["reason"]) for pr, b in drain(ch, p + "dlq", want))})

elif scenario == "delivery_limit":
    with_dlq(ch, p + "dlx", p + "dlq", "poison")
    # A quorum queue: where RabbitMQ has delivery limits and x-delivery-count.
    ch.queue_declare(p + "work", durable=True, arguments={
        "x-queue-type": "quorum", "x-delivery-limit": 2,
        "x-dead-letter-exchange": p + "dlx", "x-dead-letter-routing-key": "poison"})
    ch.basic_publish("", p + "work", b"poison",
                     pika.BasicProperties(delivery_mode=2, headers={"app": "x"}))
    seen = []
    c = conn.channel()

    def on_message(chan, method, props, body):
        seen.append({"redelivered": method.redelivered,
                     "count": (props.headers or {}).get("x-delivery-count"),
                     "app": (props.headers or {}).get("app")})
        chan.basic_nack(method.delivery_tag, requeue=True)

    c.basic_consume(p + "work", on_message)
    dead = []
    deadline = time.monotonic() + 10
    while not dead and time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.05)
        method, props, body = ch.basic_get(p + "dlq", auto_ack=True)
        if method is not None:
            dead.append({"body": body.decode(), "reasons": [d["reason"] for d in deaths(props)],
                         "app": props.headers.get("app")})
    conn.process_data_events(time_limit=0.2)
    emit({"seen": seen, "dead": dead,
          "left": ch.queue_declare(p + "work", passive=True).method.message_count})

else:
    raise SystemExit(f"unknown scenario {scenario}")

if p:
    for q in ("dlq", "ttl", "plain", "drop-head", "reject-publish", "reject-publish-dlx", "work"):
        ch.queue_delete(p + q)
    ch.exchange_delete(p + "dlx")
conn.close()
