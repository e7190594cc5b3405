"""pika (BlockingConnection, publisher confirms) with message deduplication: a queue with
x-message-deduplication (the plugin's pika users pass x-cache-size as a string) and an
exchange with it. Usage: pika_dedup.py <port>; prints JSON lines for the test to compare."""

import sys

import pika

from pika_common import connect, emit

port = sys.argv[1]
conn = connect(port)
ch = conn.channel()
ch.confirm_delivery()
ch.queue_declare(
    "pika-dq",
    durable=True,
    arguments={"x-message-deduplication": True, "x-cache-size": "100"},
)


def props(dedup_id):
    return pika.BasicProperties(delivery_mode=2, headers={"x-deduplication-header": dedup_id})


# Every publish is confirmed (basic_publish raises on a nack or a return with mandatory).
for body, dedup_id in [("a1", "a"), ("a2", "a"), ("b1", "b"), ("a3", "a")]:
    ch.basic_publish("", "pika-dq", body.encode(), props(dedup_id), mandatory=True)
emit({"queue": ch.queue_declare("pika-dq", passive=True).method.message_count})

ch.exchange_declare(
    "pika-dx", "fanout", durable=True, arguments={"x-message-deduplication": True}
)
ch.queue_declare("pika-behind", durable=True)
ch.queue_bind("pika-behind", "pika-dx")
for body in ["x1", "x2"]:
    ch.basic_publish("pika-dx", "", body.encode(), props("x"), mandatory=True)
got = []
while True:
    method, _, body = ch.basic_get("pika-behind", auto_ack=True)
    if method is None:
        break
    got.append(body.decode())
emit({"exchange": got})
conn.close()
