"""Local AWS emulator: moto's server app with DynamoDB requests serialised.

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

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, run_simple

_DYNAMO_LOCK = threading.Lock()


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
