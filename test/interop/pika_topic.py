"""pika_topic.py PORT EXCHANGE

exchange_declare a durable topic exchange, declare three durable queues and bind them with
topic patterns, publish a set of routing keys from pika (with confirms), then read every queue
back with basic_get. Prints {"routes": {queue: [routing keys...]}}. The queues and bindings stay
so the test can publish to them with amqplib as well.
"""

import sys

import pika

from pika_common import connect, emit

BINDINGS = {
    "pika.critical": ["*.critical"],
    "pika.kern": ["kern.*"],
    "pika.all": ["#"],
}
KEYS = ["kern.critical", "kern.info", "auth.critical", "cron.warning", "kern.disk.full", "kern"]


def main():
    port, exchange = sys.argv[1], sys.argv[2]
    conn = connect(port)
    ch = conn.channel()
    ch.exchange_declare(exchange=exchange, exchange_type="topic", durable=True)
    for queue, patterns in BINDINGS.items():
        ch.queue_declare(queue=queue, durable=True)
        for pattern in patterns:
            ch.queue_bind(queue=queue, exchange=exchange, routing_key=pattern)
    ch.confirm_delivery()
    for key in KEYS:
        ch.basic_publish(
            exchange=exchange,
            routing_key=key,
            body=key.encode(),
            properties=pika.BasicProperties(delivery_mode=2),
        )
    routes = {}
    for queue in BINDINGS:
        got = []
        while True:
            method, _props, body = ch.basic_get(queue=queue, auto_ack=True)
            if method is None:
                break
            got.append(method.routing_key)
        routes[queue] = got
    conn.close()
    emit({"routes": routes})


if __name__ == "__main__":
    main()
