"""pika_blocked.py PORT QUEUE

Publish to QUEUE until the broker blocks the connection (connection.blocked, seen through
add_on_connection_blocked_callback), then publish 20 more that the broker holds back, and wait
for connection.unblocked (add_on_connection_unblocked_callback). Prints one JSON line per
event and a final one with every body published, in order.
"""

import sys
import time

import pika

from pika_common import emit


def main():
    port, queue = sys.argv[1], sys.argv[2]
    params = pika.ConnectionParameters(
        host="127.0.0.1",
        port=int(port),
        credentials=pika.PlainCredentials("guest", "guest"),
        connection_attempts=1,
        socket_timeout=10,
        # Long enough for the test to drain and clear the alarm; pika drops the connection
        # if it stays blocked past this.
        blocked_connection_timeout=60,
    )
    conn = pika.BlockingConnection(params)
    state = {"blocked": None, "unblocked": False}

    def on_blocked(_conn, method):
        state["blocked"] = method.method.reason
        emit({"event": "blocked", "reason": method.method.reason})

    def on_unblocked(_conn, _method):
        state["unblocked"] = True
        emit({"event": "unblocked"})

    conn.add_on_connection_blocked_callback(on_blocked)
    conn.add_on_connection_unblocked_callback(on_unblocked)
    ch = conn.channel()
    sent = []

    def publish(body):
        sent.append(body)
        ch.basic_publish(exchange="", routing_key=queue, body=body.encode())

    emit({"event": "ready"})
    k = 0
    deadline = time.time() + 30
    while state["blocked"] is None:
        if time.time() > deadline:
            raise SystemExit("never blocked")
        publish("t%d" % k)
        k += 1
        conn.process_data_events(time_limit=0.2)
    for i in range(20):
        publish("b%d" % i)
    while not state["unblocked"]:
        if time.time() > deadline + 30:
            raise SystemExit("never unblocked")
        conn.process_data_events(time_limit=0.2)
    conn.close()
    emit({"sent": sent})


if __name__ == "__main__":
    main()
