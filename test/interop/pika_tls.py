"""pika over TLS: connect to Baton's AMQPS port on 127.0.0.1 (the certificate names localhost),
checking the server certificate against the CA; log in with PLAIN (guest) or, given a client
certificate, EXTERNAL; publish with user_id = the expected user (Baton checks it against the
login) and get the message back.

Usage: pika_tls.py <port> <ca.pem> <user> plain|external [<cert.pem> <key.pem>]
"""

import json
import ssl
import sys

import pika

port, ca, user, mode = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
context = ssl.create_default_context(cafile=ca)
if len(sys.argv) > 6:
    context.load_cert_chain(sys.argv[5], sys.argv[6])
credentials = (
    pika.credentials.ExternalCredentials()
    if mode == "external"
    else pika.PlainCredentials("guest", "guest")
)
params = pika.ConnectionParameters(
    host="127.0.0.1",
    port=int(port),
    ssl_options=pika.SSLOptions(context, server_hostname="localhost"),
    credentials=credentials,
    connection_attempts=1,
    socket_timeout=10,
)
conn = pika.BlockingConnection(params)
ch = conn.channel()
ch.queue_declare("pika_tls", durable=False)
ch.confirm_delivery()
ch.basic_publish(
    "", "pika_tls", b"over tls", pika.BasicProperties(user_id=user)
)
_, props, body = ch.basic_get("pika_tls", auto_ack=True)
print(json.dumps({"user_id": props.user_id, "body": body.decode()}))
conn.close()
