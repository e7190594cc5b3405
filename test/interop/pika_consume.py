"""pika_consume.py PORT QUEUE COUNT

basic_consume with manual acks (prefetch 10): print one JSON line per delivery with the body,
the delivery fields and all basic properties, ack it, and stop after COUNT deliveries.
"""

import sys

from pika_common import connect, emit, properties_dict


def main():
    port, queue, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    conn = connect(port)
    ch = conn.channel()
    ch.basic_qos(prefetch_count=10)
    seen = [0]

    def on_message(channel, method, properties, body):
        emit(
            {
                "body": body.decode("utf-8", "replace"),
                "delivery_tag": method.delivery_tag,
                "redelivered": method.redelivered,
                "exchange": method.exchange,
                "routing_key": method.routing_key,
                "consumer_tag": method.consumer_tag,
                "properties": properties_dict(properties),
            }
        )
        channel.basic_ack(delivery_tag=method.delivery_tag)
        seen[0] += 1
        if seen[0] >= count:
            channel.stop_consuming()

    ch.basic_consume(queue=queue, on_message_callback=on_message, auto_ack=False)
    ch.start_consuming()
    conn.close()


if __name__ == "__main__":
    main()
