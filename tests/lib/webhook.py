# SPDX-License-Identifier: Apache-2.0
"""A webhook receiver for report tests: records every POST (body, headers), and
can be down (not listening), failing (503) or up (200)."""

import http.server
import json
import socket
import threading
import time


class Webhook:
    def __init__(self, port=None):
        self.port = port or self._free_port()
        self.url = f"http://127.0.0.1:{self.port}/reports"
        self.received = []       # (time, headers, body dict) of accepted POSTs
        self.attempts = 0
        self.mode = "up"
        self._server = None
        self._thread = None

    @staticmethod
    def _free_port():
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        s.close()
        return p

    def _handler(self):
        hook = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                hook.attempts += 1
                if hook.mode == "failing":
                    self.send_response(503)
                    self.end_headers()
                    return
                hook.received.append((time.monotonic(), dict(self.headers), json.loads(body)))
                self.send_response(204)
                self.end_headers()
        return H

    def start(self):
        self.mode = "up"
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def ids(self):
        return [b["id"] for _, _, b in self.received]
