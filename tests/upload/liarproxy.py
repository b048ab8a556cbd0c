# SPDX-License-Identifier: Apache-2.0
"""An HTTP/1.1 proxy that makes central storage lie about what it holds, until
told to stop (liar.honest = True):

  "etag"      S3: the ETag of PutObject, CompleteMultipartUpload and HEAD
              answers is replaced by another one, and the body of an
              object's GET has one byte changed: a store that holds other
              bytes says so in every answer, so a read-back (which settles an
              ETag that merely differs) cannot find ours;
  "readback"  tus: the body of a GET (the read-back of an upload) has one byte
              changed.

Requests are forwarded as they came (Host included: SigV4 signs it)."""

import http.client
import http.server
import re
import threading

import serverutil as su

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "expect"}
WRONG_ETAG = "0123456789abcdef0123456789abcdef"


class LiarProxy:
    def __init__(self, target_port, mode):
        self.target = ("127.0.0.1", int(target_port))
        self.mode = mode
        self.honest = False
        self.lies = 0
        # Listening from here on: nothing can take the port before the proxy
        # serves it.
        self.reservation = su.reserve_port(hold="listen")
        self.port = self.reservation.port
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _forward(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                conn = http.client.HTTPConnection(*proxy.target, timeout=60)
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in self.headers.items():
                    if k.lower() not in HOP:
                        conn.putheader(k, v)
                conn.endheaders(body)
                resp = conn.getresponse()
                data = resp.read()
                headers = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP | {"content-length"}]
                conn.close()
                data, headers = proxy._lie(self.command, self.path, resp.status, data, headers)
                self.send_response(resp.status, resp.reason)
                for k, v in headers:
                    self.send_header(k, v)
                if self.command != "HEAD" or not any(k.lower() == "content-length" for k, _ in resp.getheaders()):
                    self.send_header("Content-Length", str(len(data)))
                else:
                    self.send_header("Content-Length", resp.getheader("Content-Length"))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler, bind_and_activate=False)
        self.server.socket.close()
        self.server.socket = self.reservation.socket
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.reservation.release()

    def _lie(self, method, path, status, data, headers):
        if self.honest or status >= 300:
            return data, headers
        if self.mode == "etag":
            lied = False
            out = []
            for k, v in headers:
                if k.lower() == "etag" and "partNumber=" not in path:
                    suffix = re.search(r"-\d+\"?$", v)
                    v = f"\"{WRONG_ETAG}{suffix.group(0).rstrip(chr(34)) if suffix else ''}\""
                    lied = True
                out.append((k, v))
            headers = out
            if method == "POST" and b"<ETag>" in data:
                data = re.sub(rb"<ETag>&quot;[0-9a-f]+|<ETag>\"?[0-9a-f]+", b"<ETag>\"" + WRONG_ETAG.encode(), data)
                lied = True
            if method == "GET" and "?" not in path and data:
                data = bytes([data[0] ^ 0x5A]) + data[1:]
                lied = True
            self.lies += lied
        elif self.mode == "readback" and method == "GET" and data:
            data = bytes([data[0] ^ 0x5A]) + data[1:]
            self.lies += 1
        return data, headers
