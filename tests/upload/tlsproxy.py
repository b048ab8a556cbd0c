# SPDX-License-Identifier: Apache-2.0
"""A TLS front for a test server: accepts HTTPS on a free 127.0.0.1 port with a
certificate from a throwaway CA and forwards the bytes to a plain-HTTP target.
make_pki() writes the CA and the server certificate (SAN IP:127.0.0.1)."""

import asyncio
import os
import ssl
import subprocess
import threading

import serverutil as su


def make_pki(d, name="Test Storage CA"):
    """(ca.pem, cert.pem, key.pem) in d: a CA and a server certificate for 127.0.0.1."""
    os.makedirs(d, exist_ok=True)
    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    key, csr, cert = os.path.join(d, "server.key"), os.path.join(d, "server.csr"), os.path.join(d, "server.pem")
    ext = os.path.join(d, "ext.cnf")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", f"/CN={name}")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "2", "-extfile", ext)
    return ca, cert, key


class TlsProxy:
    def __init__(self, target_port, cert, key):
        self.target = ("127.0.0.1", int(target_port))
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        # Listening from here on: nothing can take the port before the proxy
        # serves it, and connections made before it runs wait in the backlog.
        self.reservation = su.reserve_port(hold="listen")
        self.port = self.reservation.port
        self.handshake_failures = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def start(self):
        self._thread.start()
        self._ready.wait()  # set however start_server() ends: no guessed bound
        if self._server is None:
            raise RuntimeError("the TLS proxy did not start")
        return self

    def _run(self):
        asyncio.set_event_loop(self._loop)

        async def main():
            try:
                self._server = await asyncio.start_server(self._handle, sock=self.reservation.socket, ssl=self.ctx)
            finally:
                self._ready.set()
        self._loop.run_until_complete(main())
        self._loop.run_forever()

    async def _handle(self, cr, cw):
        try:
            ur, uw = await asyncio.open_connection(*self.target)
        except OSError:
            cw.close()
            return

        async def pump(r, w):
            try:
                while True:
                    data = await r.read(65536)
                    if not data:
                        break
                    w.write(data)
                    await w.drain()
            except (OSError, ssl.SSLError):
                pass
            finally:
                try:
                    w.close()
                except Exception:
                    pass
        await asyncio.gather(pump(cr, uw), pump(ur, cw))

    def stop(self):
        def close():
            self._server.close()
            self._loop.stop()
        self._loop.call_soon_threadsafe(close)
        self._thread.join(5)
        self.reservation.release()
