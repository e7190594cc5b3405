"""pika_publish_confirms.py PORT QUEUE COUNT

Declare a durable queue and publish COUNT persistent messages with publisher confirms
(BlockingChannel.confirm_delivery). Each basic_publish returns only once the broker acked it;
a nack raises pika.exceptions.NackError. Prints one JSON line with the totals.
"""

import sys

import pika

from pika_common import connect, emit


def main():
    port, queue, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    conn = connect(port)
    ch = conn.channel()
    ch.queue_declare(queue=queue, durable=True)
    ch.confirm_delivery()
    confirmed = 0
    for i in range(count):
        ch.basic_publish(
            exchange="",
            routing_key=queue,
            body=("pika-%d" % i).encode(),
            properties=pika.BasicProperties(
                delivery_mode=2, message_id="pika-%d" % i, content_type="text/plain"
            ),
            mandatory=True,
        )
        confirmed += 1
    conn.close()
    emit({"published": count, "confirmed": confirmed})


if __name__ == "__main__":
    main()
