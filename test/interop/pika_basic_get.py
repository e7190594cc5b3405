"""pika_basic_get.py PORT QUEUE

basic_get until the queue is empty: one JSON line per message (body, redelivered,
message_count, delivery_tag), acking each, then a last line {"empty": true}.
The first message is rejected with requeue=True once, so it comes back redelivered.
"""

import sys

from pika_common import connect, emit


def main():
    port, queue = sys.argv[1], sys.argv[2]
    conn = connect(port)
    ch = conn.channel()
    rejected = False
    while True:
        method, properties, body = ch.basic_get(queue=queue, auto_ack=False)
        if method is None:
            emit({"empty": True})
            break
        emit(
            {
                "body": body.decode(),
                "redelivered": method.redelivered,
                "message_count": method.message_count,
                "delivery_tag": method.delivery_tag,
                "routing_key": method.routing_key,
                "message_id": properties.message_id,
            }
        )
        if not rejected:
            rejected = True
            ch.basic_reject(delivery_tag=method.delivery_tag, requeue=True)
        else:
            ch.basic_ack(delivery_tag=method.delivery_tag)
    conn.close()


if __name__ == "__main__":
    main()
