"""Local AWS emulator: moto's server app with DynamoDB requests serialised.

Also patched: moto's ReceiveMessage rebuilt every queue attribute per message received (see
_valid_based_on_retention_period), which made deep queues crawl.

moto's DynamoDB backend is not safe under concurrent writes (cancelled transactions can leave
their Puts behind; big tables raise "dictionary changed size during iteration"). We run moto's
WSGI app threaded, so SQS long polls stay concurrent, and hold one lock for the whole of every
DynamoDB request, including consuming its response body.

Usage: python infra/emulator.py [--host 127.0.0.1] [--port 4566]
"""

import argparse
import os
import signal
import sys
import threading

from moto.core.utils import unix_time
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.sqs import models as sqs_models
from werkzeug.serving import WSGIRequestHandler, run_simple

_DYNAMO_LOCK = threading.Lock()


def _valid_based_on_retention_period(self, queue_name, message):
    """Same answer as moto's, without building every queue attribute (three scans of the whole
    queue) for each message received: on a deep queue that made ReceiveMessage O(n^2)."""
    queue = self.get_queue(queue_name)
    retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000
    return retain_until > unix_time()


sqs_models.SQSBackend.is_message_valid_based_on_retention_period = _valid_based_on_retention_period


class SerialisedDynamo:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if os.environ.get("EMULATOR_TRACE"):
            print(f"target {target or environ.get('PATH_INFO', '')}", flush=True)
        if not target.startswith("DynamoDB"):
            return self.app(environ, start_response)
        with _DYNAMO_LOCK:
            # Consume the response inside the lock: moto may build it lazily.
            return [b"".join(self.app(environ, start_response))]


class QuietHandler(WSGIRequestHandler):
    # Keep-alive: without it every request pays a new connection and a new server thread.
    protocol_version = "HTTP/1.1"

    def log_request(self, *args, **kwargs):
        if os.environ.get("EMULATOR_LOG"):
            super().log_request(*args, **kwargs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        SerialisedDynamo(app),
        threaded=True,
        use_reloader=False,
        request_handler=QuietHandler,
    )


if __name__ == "__main__":
    main()
