"""pika (BlockingConnection) reading Baton's firehose: tracing switched on over the management
API (PUT /api/vhosts/%2F, as against RabbitMQ), a publish and a basic.get of a message with a
traceparent, then the trace copies. Usage: pika_firehose.py <amqp port> <http port>; prints
JSON lines for the test to compare."""

import base64
import sys
import urllib.request

import pika

from pika_common import connect, emit

port, http_port = sys.argv[1], sys.argv[2]


def set_tracing(on):
    req = urllib.request.Request(
        f"http://127.0.0.1:{http_port}/api/vhosts/%2F",
        data=(b'{"tracing": true}' if on else b'{"tracing": false}'),
        method="PUT",
        headers={
            "content-type": "application/json",
            "authorization": "Basic " + base64.b64encode(b"guest:guest").decode(),
        },
    )
    with urllib.request.urlopen(req) as res:
        return res.status


def text(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, dict):
        return {k: text(x) for k, x in v.items()}
    if isinstance(v, list):
        return [text(x) for x in v]
    return v


conn = connect(port)
ch = conn.channel()
ch.queue_declare("pika-firehose", exclusive=True)
ch.queue_bind("pika-firehose", "amq.rabbitmq.trace", "#")
ch.queue_declare("pika-work", exclusive=True)
emit({"put": set_tracing(True)})
traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
ch.basic_publish(
    "",
    "pika-work",
    b"payload",
    pika.BasicProperties(message_id="p-1", headers={"traceparent": traceparent}),
)
method, props, body = ch.basic_get("pika-work", auto_ack=True)
emit({"traceparent": text(props.headers["traceparent"]), "body": body.decode()})
emit({"put": set_tracing(False)})
while True:
    method, props, body = ch.basic_get("pika-firehose", auto_ack=True)
    if method is None:
        break
    h = text(props.headers)
    emit(
        {
            "key": method.routing_key,
            "body": body.decode(),
            "exchange_name": h["exchange_name"],
            "routing_keys": h["routing_keys"],
            "properties": h["properties"],
            "routed_queues": h.get("routed_queues"),
            "redelivered": h.get("redelivered"),
            "user": h["user"],
            "vhost": h["vhost"],
        }
    )
conn.close()
