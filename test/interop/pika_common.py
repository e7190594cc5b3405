"""Shared bits for the pika interop scripts: connect to Baton on 127.0.0.1:<port> as guest."""

import json
import sys

import pika
from pika.exceptions import ChannelClosedByBroker


def connect(port):
    params = pika.ConnectionParameters(
        host="127.0.0.1",
        port=int(port),
        credentials=pika.PlainCredentials("guest", "guest"),
        connection_attempts=1,
        socket_timeout=10,
        blocked_connection_timeout=10,
    )
    return pika.BlockingConnection(params)


def closed_by_broker(fn):
    """[reply code, reply text] of the channel close that fn() caused, or None."""
    try:
        fn()
    except ChannelClosedByBroker as e:
        return [e.reply_code, e.reply_text]
    return None


def _plain(value):
    """Make header values JSON-friendly while keeping their Python type visible."""
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return {"repr": repr(value), "type": type(value).__name__}


def properties_dict(p):
    return {
        "content_type": p.content_type,
        "content_encoding": p.content_encoding,
        "headers": _plain(p.headers),
        "delivery_mode": p.delivery_mode,
        "priority": p.priority,
        "correlation_id": p.correlation_id,
        "reply_to": p.reply_to,
        "expiration": p.expiration,
        "message_id": p.message_id,
        "timestamp": p.timestamp,
        "type": p.type,
        "user_id": p.user_id,
        "app_id": p.app_id,
    }


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()
