#!/usr/bin/python3
"""The tus 1.0 test server (tus-server.mjs: @tus/server + @tus/file-store),
started, stopped and restarted from Python tests.

    from tus import TusServer
    with TusServer(max_size=1 << 30) as tus:
        print(tus.url)                      # http://127.0.0.1:P/files/
        ...                                 # daemon uploads to tus.url
        data = tus.read_upload(location)    # stored bytes, by id or URL
        tus.restart()                       # same port, same uploads

The file store keeps, in dir, one data file per upload (named by its id)
and <id>.json with size, offset, metadata and creation date.

CLI (foreground until SIGTERM/SIGINT):
    python3 tests/servers/tus.py start --dir D [--port P] [--max-size N]
    -> one JSON line: url, port, pid, dir.
"""

import argparse
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import serverutil as su  # noqa: E402

__all__ = ["TusServer", "HarnessError"]

HarnessError = su.HarnessError
HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "tus-server.mjs")


class TusServer(su.Lifecycle):
    """tus server on 127.0.0.1.

    dir: upload store (created if missing; kept if given, else a temporary
        directory removed by stop()).
    port: fixed port (default: a free unusual one, kept across restarts).
    max_size: Tus-Max-Size in bytes (None: unlimited).
    path: URL path of the upload collection.
    node: the node binary (default: $NODE or "node" on PATH).
    log: log each request (method, URL, status, time) to log_path.
    name_by_key: uploads are named by their Upload-Metadata "key" ('/' as
        '~'); creating one whose key exists answers with the existing upload,
        untouched (tus-server.mjs --name-by-key).
    bearer_token: if set, every request but OPTIONS must carry
        "Authorization: Bearer TOKEN" or gets 401.
    survive_uncaught: the server logs an uncaught exception and serves on
        (tus-server.mjs --survive-uncaught says why).
    """

    def __init__(self, dir=None, *, port=None, max_size=None, path="/files",
                 node=None, startup_timeout=None, log=True,
                 relative_location=False, bearer_token=None,
                 survive_uncaught=False, die_with_parent=True,
                 name_by_key=False):
        self._own_dir = dir is None
        self.dir = os.path.abspath(dir) if dir else None
        self.host = su.HOST
        self.port = port
        self._fixed_port = port is not None
        self.max_size = max_size
        self.path = "/" + path.strip("/")
        self.node = node or os.environ.get("NODE") or shutil.which("node")
        self.startup_timeout = su.timeout_or_forever(startup_timeout)
        self.log = log
        self.relative_location = relative_location
        self.name_by_key = name_by_key
        self.bearer_token = bearer_token
        self.survive_uncaught = survive_uncaught
        self.die_with_parent = die_with_parent
        self.proc = None
        self.startup_s = None
        self._reservation = None
        self._workdir = None
        self._lock = threading.RLock()

    # -- properties -----------------------------------------------------

    @property
    def url(self):
        """The upload collection URL (POST here to create), ends with '/'."""
        return f"http://{self.host}:{self.port}{self.path}/"

    endpoint = url

    @property
    def pid(self):
        return self.proc.pid if self.running() else None

    @property
    def log_path(self):
        """Server output (and requests, with log=True): a dotfile in the
        store directory (upload ids are hex, so it never collides)."""
        return os.path.join(self.dir, ".tus-server.log")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def rss_kib(self):
        return su.rss_kib([self.pid] if self.pid else [])

    def info(self):
        return {"url": self.url, "host": self.host, "port": self.port,
                "pid": self.pid, "dir": self.dir, "max_size": self.max_size,
                "startup_s": self.startup_s, "rss_kib": self.rss_kib(),
                "pss_kib": su.pss_kib([self.pid] if self.pid else [])}

    # -- lifecycle ------------------------------------------------------

    def start(self):
        with self._lock:
            if self.running():
                return self
            if not self.node:
                raise HarnessError("node not found (set $NODE or PATH)")
            if not os.path.isdir(os.path.join(HERE, "node_modules", "@tus",
                                              "server")):
                raise HarnessError(f"@tus/server is not installed: run "
                                   f"'npm ci' in {HERE}")
            if self.dir is None:
                self._workdir = tempfile.mkdtemp(prefix="dockd-tus-")
                self.dir = os.path.join(self._workdir, "uploads")
            os.makedirs(self.dir, exist_ok=True)
            t0 = time.monotonic()
            if self._reservation is None:
                # Held until stop() with SO_REUSEADDR, which node binds
                # with: only a program that sets it too, and listens first,
                # could still take the port (node then exits 2).
                self._reservation = (
                    su.reserve_specific_port(self.port, self.host,
                                             hold="reuseaddr")
                    if self._fixed_port else
                    su.reserve_port(self.host, hold="reuseaddr"))
                self.port = self._reservation.port
            if not self._spawn():
                raise HarnessError(f"port {self.port} is in use")
            self.startup_s = round(time.monotonic() - t0, 3)
            return self

    def _spawn(self):
        argv = [self.node, SCRIPT, "--host", self.host, "--port",
                str(self.port), "--dir", self.dir, "--path", self.path]
        if self.max_size is not None:
            argv += ["--max-size", str(int(self.max_size))]
        if self.relative_location:
            argv.append("--relative-location")
        if self.name_by_key:
            argv.append("--name-by-key")
        if self.log:
            argv.append("--log")
        if self.survive_uncaught:
            argv.append("--survive-uncaught")
        env = None
        if self.bearer_token:
            # In the environment, not argv: ps shows argv to every user.
            argv.append("--require-bearer")
            env = su.clean_env({"DOCKD_TUS_TOKEN": self.bearer_token})
        self.proc = su.spawn(argv, self.log_path, cwd=HERE, env=env,
                             stdout=subprocess.PIPE,
                             die_with_parent=self.die_with_parent)
        deadline = time.monotonic() + self.startup_timeout
        line = b""
        fd = self.proc.stdout.fileno()
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                self._kill()
                raise HarnessError("tus-server did not get ready:\n" +
                                   su.log_tail(self.log_path))
            r, _, _ = select.select([fd], [], [], min(left, 0.5))
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                line += chunk
        self.proc.stdout.close()
        if not line.endswith(b"\n"):
            status = self.proc.wait(5)
            if status == 2:
                return False
            raise HarnessError(f"tus-server exited with status {status}:\n"
                               + su.log_tail(self.log_path))
        ready = json.loads(line)
        if not ready.get("ready") or ready.get("port") != self.port:
            self._kill()
            raise HarnessError(f"unexpected ready line {line!r}")
        su.check_port_owner(self.port, self.proc.pid)
        return True

    def _kill(self, sig=signal.SIGKILL):
        p, self.proc = self.proc, None
        if p is not None:
            su.kill_tree(p, sig, timeout=5)

    def kill(self, sig=signal.SIGKILL):
        """Kill the server (SIGKILL: a crash); the port stays reserved and
        the uploads stay in dir."""
        with self._lock:
            self._kill(sig)

    def restart(self, sig=signal.SIGKILL):
        """kill(sig), then start on the same port with the same uploads."""
        with self._lock:
            self._kill(sig)
            self.start()

    def stop(self):
        """Stop the server, release the port, remove dir if we made it."""
        with self._lock:
            self._kill(signal.SIGTERM)
            if self._reservation is not None:
                self._reservation.release()
                self._reservation = None
            if self._own_dir and self._workdir:
                shutil.rmtree(self._workdir, ignore_errors=True)
                self._workdir = None
                self.dir = None

    # -- read-back ------------------------------------------------------

    @staticmethod
    def upload_id(id_or_url):
        """The upload id from an id, an absolute or a relative upload URL."""
        s = str(id_or_url)
        if "/" in s:
            s = urllib.parse.urlsplit(s).path.rstrip("/").rsplit("/", 1)[-1]
            s = urllib.parse.unquote(s)
        if not s or "/" in s or s.startswith("."):
            raise ValueError(f"not an upload id or URL: {id_or_url!r}")
        return s

    def data_path(self, id_or_url):
        return os.path.join(self.dir, self.upload_id(id_or_url))

    def read_upload(self, id_or_url):
        """The bytes the server stored for an upload (so far)."""
        with open(self.data_path(id_or_url), "rb") as f:
            return f.read()

    def upload_info(self, id_or_url):
        """The store's metadata (id, size, offset, metadata, creation_date)
        plus stored_bytes (the data file's length), or None if unknown or
        still being created.
        Note: offset in the .json is not updated by PATCH; stored_bytes is
        what a HEAD reports as Upload-Offset."""
        uid = self.upload_id(id_or_url)
        try:
            with open(os.path.join(self.dir, uid + ".json")) as f:
                info = json.load(f)
        except FileNotFoundError:
            return None
        except json.JSONDecodeError:
            # @tus/server's file store writes the .json in place (truncate, then
            # write): read while an upload is being created, it is empty or cut.
            # Such an upload holds nothing yet.
            return None
        if not isinstance(info, dict) or info.get("id") != uid:
            # Not the store's record of upload uid: with uploads named by key
            # (--name-by-key), the data file of a key ending in ".json" (a
            # report) also ends in ".json".
            return None
        try:
            info["stored_bytes"] = os.path.getsize(os.path.join(self.dir,
                                                                uid))
        except FileNotFoundError:
            info["stored_bytes"] = None
        return info

    def list_uploads(self):
        """Ids of the uploads in the store."""
        return sorted(n[:-5] for n in os.listdir(self.dir)
                      if n.endswith(".json"))


def main(argv=None):
    ap = argparse.ArgumentParser(description="tus test server")
    sub = ap.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("start", help="start and stay in the foreground")
    st.add_argument("--dir", required=True)
    st.add_argument("--port", type=int)
    st.add_argument("--max-size", type=int)
    args = ap.parse_args(argv)
    srv = TusServer(args.dir, port=args.port, max_size=args.max_size)
    stop = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, lambda *a: stop.set())
    try:
        srv.start()
        print(json.dumps(srv.info()), flush=True)
        while not stop.wait(1):
            if not srv.running():
                print("tus.py: tus-server died", file=sys.stderr)
                return 1
        return 0
    except HarnessError as e:
        print(f"tus.py: {e}", file=sys.stderr)
        return 1
    finally:
        srv.stop()


if __name__ == "__main__":
    sys.exit(main())
