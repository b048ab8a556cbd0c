#!/usr/bin/python3
"""A fault-injecting TCP proxy for HTTP/1.1 test traffic.

It listens on a free 127.0.0.1 port and forwards to a target (the Swift proxy,
the tus server, ...).  Faults are switched at run time, from the Python API
or, for a test in another process, over a small HTTP control channel.

"up" is client -> target, "down" is target -> client.

Faults (any combination; passthrough() clears them all):
  reset_after(n, direction="up", times=1)
      After n more bytes have been forwarded in that direction (counted over
      all connections from the moment of the call), the connection that
      carries the n-th byte is reset (RST to both the client and the
      target), after exactly n bytes went through.  Re-arms `times` times
      (None: forever), then passes through again.
  slow(rate, direction="both", burst=0.02)
      Cap the throughput at rate bytes/second per direction, shared by all
      connections: a link of that rate.  Never more than rate x t bytes
      go in any t seconds after the call (plus 20 ms worth).  The link
      banks the time it could not send while bytes were waiting, up to
      burst seconds: a proxy thread that the machine kept from running
      catches up, as a network card would have gone on sending.  An idle
      link banks 20 ms at most.  slow(None) lifts it.
  fail_requests(n, status=503, ...)
      Answer the next n HTTP requests with a canned response (S3-style XML
      error body) instead of forwarding them.  The request body is drained
      first (Content-Length or chunked); with "Expect: 100-continue" the
      answer goes out at once and the connection is closed.  The connection
      stays open otherwise (unless close=True), and the target never sees
      the request.
  blackhole(on=True)
      Accept connections but never answer: nothing is forwarded in either
      direction, on new or open connections, while on (data waits in the
      kernel buffers; the client's writes block once they are full).
      Lifting it lets everything continue where it stood.
  refuse(on=True)
      Close the listening socket: new connections get ECONNREFUSED.  Open
      connections keep working.  refuse(False) listens again, same port.
  reset_all()
      Reset every open connection now (one-shot, not a mode).

Rules: answers a store or webhook should never give, for the requests a rule
matches (by method, a regular expression searched in the request target, a
header present, a regular expression on its value, or a date in it that is
not in the future).  Each rule has a count (None: for ever); the first rule
that matches a request takes it.  add_rule() returns the rule's id;
remove_rule(id), clear_rules(); passthrough() clears them too.
  answer(status, headers=None, body=b"", **match)
      A canned answer (any status, 2xx too) instead of forwarding; the
      request body is drained first, as for fail_requests.
  trickle(rate, status=200, headers=None, **match)
      A complete head announcing a huge body, then that body at rate
      bytes/s (a few bytes per second: above a client's low-speed limit)
      until the client goes away.  Never forwarded.
  endless_body(rate, status=200, headers=None, **match)
      A head and a chunked body that never ends, at rate bytes/s, until the
      client goes away.  Never forwarded.
  strip_headers(names, secret_key=None, **match)
      Forward the request without these headers, signed again with
      secret_key (SigV4) when given: a store that ignores them.
  refuse_past_retention(status=400)
      S3 Object Lock: a request whose x-amz-object-lock-retain-until-date is
      not in the future gets 400 InvalidArgument, as AWS and MinIO answer.
  honour_if_none_match(access_key, secret_key, region="us-east-1")
      A store that honours "If-None-Match: *" on PutObject and
      CompleteMultipartUpload (Swift answers 501 to the one and ignores it
      on the other): the proxy asks the target (HEAD, path-style) whether
      the key exists, answers 412 PreconditionFailed if it does, and else
      forwards the request without the header, signed again.  Not atomic:
      a test store, not a lock.
Streamed answers (trickle, endless_body) note in the request's log record
answer_bytes (written so far) and client_gone_after (seconds from the first
byte of the answer until the client closed or reset the connection; None
while it still reads).

Counters (stats()): connections, active, bytes_up / bytes_down (forwarded
to the target / delivered to clients, canned answers included),
dropped_up (client bytes not forwarded: drained bodies, bytes after a
reset cut), requests (HTTP requests seen), requests_forwarded, responses
(final responses from the target, counted as their head passes), injected,
resets, upstream_connect_errors, status (dict of forwarded response status
counts), ruled (requests a rule took), throttled_up / throttled_down
(chunks slow() held back at least once).  timeline(direction): the bytes
forwarded in each 10 ms since the proxy started (or reset_stats()),
{"start": CLOCK_MONOTONIC seconds, "bin": 0.01, "bytes": [...]};
bytes_between(t0, t1, direction) sums it (CLOCK_MONOTONIC, as
time.monotonic(); bins cut by t0/t1 count in part).  Counters move before
the bytes they count are written, so a test that has read an answer sees it
counted.  requests_log(): one dict per request: conn, method, target,
body_bytes, injected, status, complete, rule (the id of the rule that took
it, or None), time (time.monotonic() when its head arrived), and with
log_headers=True headers (dict, lower-case names, as the client sent them).

Python, in-process:
    from faultproxy import FaultProxy
    with FaultProxy(("127.0.0.1", sw.ports["proxy"])) as fp:
        endpoint = fp.url                 # give this to the daemon
        fp.fail_requests(2, status=503)
        fp.reset_after(3 << 20, "up")
        print(fp.stats()["bytes_up"])

Another process (CLI, control channel):
    python3 tests/servers/faultproxy.py --target 127.0.0.1:PORT
        [--port P] [--control-port C] [--raw]
    -> one JSON line: url, port, control_url, control_port, pid, target
    curl -s 'http://127.0.0.1:C/fail?count=2&status=500'
    curl -s  http://127.0.0.1:C/stats
  Paths: /pass  /reset?after=N&direction=up|down&times=1  /slow?rate=N&
  direction=both&burst=0.02  /timeline?direction=up  /fail?count=N&status=503&close=0&retry_after=S
  /blackhole?on=1  /refuse?on=1  /reset-all  /stats  /requests
  /reset-stats  /faults  /rule (POST, a JSON object: add_rule's arguments)
  /remove-rule?id=N  /clear-rules.  Every answer is JSON.  From Python:
    FaultProxyClient("http://127.0.0.1:C").fail_requests(2)
"""

import argparse
import asyncio
import collections
import datetime
import email.utils
import fcntl
import http.server
import json
import os
import re
import signal
import socket
import struct
import sys
import termios
import threading
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import serverutil as su  # noqa: E402
from s3client import S3Client, resign  # noqa: E402

__all__ = ["FaultProxy", "FaultProxyClient", "FaultProxyProcess"]

CHUNK = 65536
TIMELINE_BIN = 0.01
IDLE_CREDIT = 0.02   # seconds of sending an idle capped link may bank
HEAD_LIMIT = 256 * 1024
LOG_MAX = 100000
DIRECTIONS = ("up", "down")

REASONS = {500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Timeout",
           429: "Too Many Requests", 408: "Request Timeout",
           200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request",
           404: "Not Found", 412: "Precondition Failed"}
RULE_ACTIONS = ("answer", "trickle", "endless", "strip", "conditional")
RETAIN_HEADER = "x-amz-object-lock-retain-until-date"
PRECONDITION_FAILED = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>'
                       'PreconditionFailed</Code><Message>At least one of the '
                       'pre-conditions you specified did not hold</Message>'
                       '<Condition>If-None-Match</Condition><RequestId>'
                       'faultproxy</RequestId></Error>')
S3_CODES = {500: "InternalError", 503: "SlowDown", 502: "BadGateway",
            504: "GatewayTimeout", 429: "SlowDown", 408: "RequestTimeout"}


class _Reset(Exception):
    """This connection was reset on purpose."""


class _NotHTTP(Exception):
    pass


def _parse_target(target):
    if isinstance(target, (tuple, list)):
        return target[0], int(target[1])
    s = str(target)
    if "://" in s:
        u = urllib.parse.urlsplit(s)
        return u.hostname, u.port or 80
    host, _, port = s.rpartition(":")
    return host or "127.0.0.1", int(port)


def _parse_head(head):
    """(start-line fields, {lower-name: value}) of an HTTP head."""
    lines = head.lstrip(b"\r\n").split(b"\r\n")
    start = lines[0].decode("latin-1")
    fields = start.split(" ", 2)
    if len(fields) < 2:
        raise _NotHTTP(start)
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise _NotHTTP(line)
        k = name.strip().decode("latin-1").lower()
        v = value.strip().decode("latin-1")
        headers[k] = f"{headers[k]}, {v}" if k in headers else v
    return fields, headers


def _body_kind(headers):
    """('chunked', None) | ('length', n) | ('none', 0)."""
    te = headers.get("transfer-encoding", "").lower()
    if te and te.split(",")[-1].strip() == "chunked":
        return "chunked", None
    if "content-length" in headers:
        n = int(headers["content-length"].split(",")[0].strip())
        if n < 0:
            raise _NotHTTP("negative Content-Length")
        return "length", n
    return "none", 0


def _head_lines(head):
    """(start line, [(name, value)]) of an HTTP head, names as sent."""
    lines = head.lstrip(b"\r\n").split(b"\r\n")
    out = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(b":")
            out.append((name.strip().decode("latin-1"),
                        value.strip().decode("latin-1")))
    return lines[0].decode("latin-1"), out


def _make_head(start, headers):
    return (start + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
            + "\r\n").encode("latin-1")


def _not_future(value):
    """Is this date (ISO 8601 or HTTP) now or earlier?  Unparseable: yes."""
    try:
        t = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            t = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return True
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    return t <= datetime.datetime.now(datetime.timezone.utc)


def _rule_matches(rule, method, target, headers):
    m = rule["match"]
    if m.get("method") and m["method"].upper() != method.upper():
        return False
    if m.get("path") and not re.search(m["path"], target):
        return False
    if m.get("header"):
        v = headers.get(m["header"].lower())
        if v is None:
            return False
        if m.get("header_value") and not re.search(m["header_value"], v):
            return False
        if m.get("past_date") and not _not_future(v):
            return False
    return True


class _Conn:
    _ids = 0

    def __init__(self, cr, cw):
        _Conn._ids += 1
        self.id = _Conn._ids
        self.cr, self.cw = cr, cw
        self.ur = self.uw = None
        self.pending = collections.deque()  # request records awaiting answer
        self.idle = asyncio.Event()          # set when pending is empty
        self.idle.set()
        self.tasks = []
        self.dead = False
        self.streaming = False   # a rule's streamed answer owns the client side

    def writer(self, direction):
        return self.uw if direction == "up" else self.cw

    def abort(self):
        """RST both sides."""
        if self.dead:
            return
        self.dead = True
        for w in (self.cw, self.uw):
            if w is None:
                continue
            sock = w.get_extra_info("socket")
            try:
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    struct.pack("ii", 1, 0))
            except OSError:
                pass
            w.transport.abort()

    def close(self):
        if self.dead:
            return
        self.dead = True
        for w in (self.cw, self.uw):
            if w is not None:
                w.close()


class _Bucket:
    def __init__(self):
        self.rate = None
        self.burst = IDLE_CREDIT
        self.tokens = 0.0
        self.last = 0.0
        self.waiting = 0        # senders with bytes held back
        self.backlog = False    # there were some at the last look


class _Timeline:
    """Bytes per TIMELINE_BIN seconds since start."""

    def __init__(self):
        self.start = time.monotonic()
        self.bins = [[] for _ in DIRECTIONS]

    def add(self, direction, n):
        b = self.bins[DIRECTIONS.index(direction)]
        i = int((time.monotonic() - self.start) / TIMELINE_BIN)
        if i >= len(b):
            b.extend([0] * (i + 1 - len(b)))
        b[i] += n

    def bytes_between(self, t0, t1, direction):
        b = self.bins[DIRECTIONS.index(direction)]
        # In bins since start: bin i is [i, i + 1) exactly, so a bin inside
        # the window counts whole; absolute times would give it a width a
        # rounding error off TIMELINE_BIN, and more bytes than it holds.
        lo, hi = (t0 - self.start) / TIMELINE_BIN, (t1 - self.start) / TIMELINE_BIN
        total = 0
        for i, n in enumerate(b):
            overlap = min(i + 1, hi) - max(i, lo)
            if overlap >= 1:
                total += n
            elif overlap > 0:
                total += n * overlap
        return total


class FaultProxy:
    """The proxy, running an asyncio loop in a background thread.

    target: (host, port), "host:port" or "http://host:port".
    port: listening port (default: a free unusual one, locked for the
        proxy's lifetime so that refuse() can give it back and take it
        again).
    control: also serve the HTTP control channel (control_url).
    http: parse HTTP/1.1 (needed for fail_requests and request counts);
        with http=False, or when a connection does not speak HTTP, bytes are
        forwarded blindly.
    """

    def __init__(self, target, port=None, *, host=su.HOST, control=False,
                 control_port=None, http=True, log_headers=False):
        self.target = _parse_target(target)
        self.log_headers = log_headers
        self.host = host
        self.port = port
        self._fixed_port = port is not None
        self.control = control or control_port is not None
        self.control_port = control_port
        self.http = http
        self._mu = threading.Lock()
        self._loop = None
        self._thread = None
        self._server = None
        self._conns = set()
        self._tasks = set()
        self._reservations = []
        self._ctl = None
        self._ctl_thread = None
        self._buckets = {d: _Bucket() for d in DIRECTIONS}
        self._reset = {d: None for d in DIRECTIONS}  # [remaining, times]
        self._fail = None  # dict(count, status, body, close, headers)
        self._rules = []   # dicts: id, action, match, count, params
        self._rule_ids = 0
        self._blackholed = False
        self._refused = False
        self._gate = None
        self._log = collections.deque(maxlen=LOG_MAX)
        self._zero_stats()
        self._timeline = _Timeline()

    # -- lifecycle ------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    @property
    def address(self):
        return (self.host, self.port)

    @property
    def control_url(self):
        return (f"http://{self.host}:{self.control_port}"
                if self._ctl is not None else None)

    def start(self):
        if self._thread is not None:
            return self
        # Held with SO_REUSEPORT, as _listen() binds: no other program can
        # take the port, before the first bind or while refuse() has it
        # closed.
        if self._fixed_port:
            r = su.reserve_specific_port(self.port, self.host,
                                         hold="reuseport")
        else:
            r = su.reserve_port(self.host, hold="reuseport")
            self.port = r.port
        self._reservations.append(r)
        try:
            self._start_loop()
        except BaseException:
            self._release()
            raise
        if self.control:
            try:
                self._start_control()
            except BaseException:
                self.stop()
                raise
        return self

    def _start_loop(self):
        started = threading.Event()
        failure = []

        def run():
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                self._gate = asyncio.Event()
                self._gate.set()
                loop.run_until_complete(self._listen())
            except BaseException as e:  # noqa: BLE001 - reported to start()
                failure.append(e)
                started.set()
                loop.close()
                return
            started.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name="faultproxy",
                                        daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise su.HarnessError(f"faultproxy: cannot listen on "
                                  f"{self.host}:{self.port}: {failure[0]}")

    def stop(self):
        """Close everything (open connections are reset).  Idempotent."""
        if self._ctl is not None:
            self._ctl.shutdown()
            self._ctl.server_close()
            self._ctl_thread.join()
            self._ctl = None
        if self._thread is not None:
            fut = asyncio.run_coroutine_threadsafe(self._shutdown(),
                                                   self._loop)
            fut.result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None
        self._release()

    def _release(self):
        for r in self._reservations:
            r.release()
        self._reservations = []

    async def _listen(self):
        """Listen and accept from a reader callback of our own (not
        asyncio.start_server: closing that for refuse() can strand a
        connection the kernel had already accepted)."""
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            lsock.bind((self.host, self.port))
            lsock.listen(128)
            lsock.setblocking(False)
        except OSError:
            lsock.close()
            raise
        self._server = lsock
        self._loop.add_reader(lsock.fileno(), self._accept_ready)

    def _accept_ready(self):
        while self._server is not None:
            try:
                conn, _addr = self._server.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = self._loop.create_task(self._handle_sock(conn))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _handle_sock(self, conn):
        try:
            cr, cw = await asyncio.open_connection(sock=conn,
                                                   limit=HEAD_LIMIT)
        except OSError:
            conn.close()
            return
        await self._handle(cr, cw)

    def _close_listener(self):
        lsock, self._server = self._server, None
        if lsock is None:
            return
        self._loop.remove_reader(lsock.fileno())
        # Connections the kernel completed are ours: take them before the
        # close would reset them.
        while True:
            try:
                conn, _addr = lsock.accept()
            except OSError:
                break
            conn.setblocking(False)
            task = self._loop.create_task(self._handle_sock(conn))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        lsock.close()

    async def _shutdown(self):
        self._close_listener()
        for c in list(self._conns):
            c.abort()
            for t in c.tasks:
                t.cancel()
        self._gate.set()
        deadline = time.monotonic() + 5
        while (self._conns or self._tasks) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)

    def _call(self, coro_fn, *args):
        """Run a coroutine function on the loop and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro_fn(*args),
                                                self._loop).result(10)

    # -- faults (thread-safe) -------------------------------------------

    def passthrough(self):
        """Clear every fault."""
        with self._mu:
            self._reset = {d: None for d in DIRECTIONS}
            self._fail = None
            self._rules = []
            for b in self._buckets.values():
                b.rate = None
        self.blackhole(False)
        self.refuse(False)
        return self.faults()

    def reset_after(self, nbytes, direction="up", times=1):
        """Reset the connection carrying the nbytes-th next byte in
        direction ("up", "down"); re-arm times times (None: forever)."""
        nbytes = int(nbytes)
        if direction not in DIRECTIONS or nbytes < 0:
            raise ValueError("reset_after(nbytes >= 0, 'up'|'down')")
        with self._mu:
            self._reset[direction] = None if times == 0 else \
                [nbytes, nbytes, None if times is None else int(times)]
        return self.faults()

    def slow(self, rate, direction="both", burst=IDLE_CREDIT):
        """Cap throughput to rate bytes/s (None or 0: no cap); a late proxy
        catches up on at most burst seconds of sending."""
        dirs = DIRECTIONS if direction == "both" else (direction,)
        if any(d not in DIRECTIONS for d in dirs):
            raise ValueError("direction: up, down or both")
        if not 0 < float(burst) <= 10:
            raise ValueError("burst: seconds, 0 < burst <= 10")
        with self._mu:
            for d in dirs:
                b = self._buckets[d]
                b.rate = float(rate) if rate else None
                b.burst = max(float(burst), IDLE_CREDIT)
                b.tokens = 0.0
                b.last = time.monotonic()
        return self.faults()

    def fail_requests(self, count=1, status=503, body=None, close=False,
                      retry_after=None, headers=None):
        """Answer the next count HTTP requests with status (body: bytes or
        str; default an S3-style XML error)."""
        if not 100 <= int(status) <= 599:
            raise ValueError("status")
        with self._mu:
            self._fail = None if int(count) <= 0 else {
                "count": int(count), "status": int(status), "body": body,
                "close": bool(close), "retry_after": retry_after,
                "headers": dict(headers or {})}
        return self.faults()

    def add_rule(self, action, *, count=None, method=None, path=None,
                 header=None, header_value=None, past_date=False, **params):
        """Take the requests that match (see "Rules" above) with action;
        returns the rule's id."""
        if action not in RULE_ACTIONS:
            raise ValueError(f"action: one of {RULE_ACTIONS}")
        if path:
            re.compile(path)
        if header_value:
            re.compile(header_value)
        if (header_value or past_date) and not header:
            raise ValueError("header_value and past_date need header")
        if count is not None and int(count) <= 0:
            raise ValueError("count: None or > 0")
        if action in ("trickle", "endless") and not float(params.get("rate") or 0) > 0:
            raise ValueError("rate > 0")
        if action == "strip" and not params.get("names"):
            raise ValueError("names: the headers to strip")
        with self._mu:
            self._rule_ids += 1
            self._rules.append({
                "id": self._rule_ids, "action": action,
                "count": None if count is None else int(count),
                "match": {"method": method, "path": path, "header": header,
                          "header_value": header_value,
                          "past_date": bool(past_date)},
                "params": params})
            return self._rule_ids

    def remove_rule(self, rule_id):
        with self._mu:
            self._rules = [r for r in self._rules if r["id"] != int(rule_id)]
        return self.faults()

    def clear_rules(self):
        with self._mu:
            self._rules = []
        return self.faults()

    def answer(self, status, headers=None, body="", **match):
        if not 100 <= int(status) <= 599:
            raise ValueError("status")
        return self.add_rule("answer", status=int(status),
                             headers=dict(headers or {}), body=body, **match)

    def trickle(self, rate, status=200, headers=None, **match):
        return self.add_rule("trickle", rate=float(rate), status=int(status),
                             headers=dict(headers or {}), **match)

    def endless_body(self, rate, status=200, headers=None, **match):
        return self.add_rule("endless", rate=float(rate), status=int(status),
                             headers=dict(headers or {}), **match)

    def strip_headers(self, names, secret_key=None, **match):
        return self.add_rule("strip", names=[n.lower() for n in names],
                             secret_key=secret_key, **match)

    def honour_if_none_match(self, access_key, secret_key, region="us-east-1"):
        return self.add_rule("conditional", access_key=access_key,
                             secret_key=secret_key, region=region,
                             header="if-none-match", header_value=r"^\s*\*\s*$")

    def refuse_past_retention(self, status=400):
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>'
                'InvalidArgument</Code><Message>The retain until date must be '
                'in the future!</Message><ArgumentName>'
                f'{RETAIN_HEADER}</ArgumentName><RequestId>faultproxy'
                '</RequestId></Error>')
        return self.answer(status, {"Content-Type": "application/xml"}, body,
                           header=RETAIN_HEADER, past_date=True)

    def _take_rule(self, method, target, headers):
        """The rule that takes this request (its count spent), or None."""
        with self._mu:
            for r in self._rules:
                if _rule_matches(r, method, target, headers):
                    if r["count"] is not None:
                        r["count"] -= 1
                        if r["count"] <= 0:
                            self._rules.remove(r)
                    self._stats["ruled"] += 1
                    return r
        return None

    def blackhole(self, on=True):
        with self._mu:
            self._blackholed = bool(on)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(
                self._gate.clear if on else self._gate.set)
        return self.faults()

    def refuse(self, on=True):
        on = bool(on)
        with self._mu:
            changed = on != self._refused
            self._refused = on
        if changed and self._loop is not None:
            self._call(self._set_listening, not on)
        return self.faults()

    def reset_all(self):
        """Reset every open connection now."""
        def go():
            for c in list(self._conns):
                c.abort()
                with self._mu:
                    self._stats["resets"] += 1
        self._loop.call_soon_threadsafe(go)
        return self.faults()

    async def _set_listening(self, on):
        if on and self._server is None:
            deadline = time.monotonic() + 10
            while True:
                try:
                    await self._listen()
                    return
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.05)
        elif not on:
            self._close_listener()

    def faults(self):
        """The current faults, as a dict."""
        with self._mu:
            return {
                "reset": {d: (None if r is None else
                              {"after": r[1], "remaining": r[0],
                               "times": r[2]})
                          for d, r in self._reset.items()},
                "slow": {d: b.rate for d, b in self._buckets.items()},
                "burst": {d: b.burst for d, b in self._buckets.items()},
                "fail": None if self._fail is None else {
                    k: (v if k != "body" or v is None or isinstance(v, str)
                        else v.decode("latin-1"))
                    for k, v in self._fail.items()},
                "blackhole": self._blackholed,
                "refuse": self._refused,
                "rules": [{"id": r["id"], "action": r["action"],
                           "count": r["count"],
                           "match": {k: v for k, v in r["match"].items() if v},
                           "params": {k: (v.decode("latin-1") if isinstance(v, bytes) else v)
                                      for k, v in r["params"].items()
                                      if k != "secret_key"}}
                          for r in self._rules],
            }

    # -- counters ---------------------------------------------------------

    def _zero_stats(self):
        self._stats = {
            "connections": 0, "bytes_up": 0, "bytes_down": 0,
            "dropped_up": 0, "requests": 0, "requests_forwarded": 0,
            "responses": 0, "injected": 0, "resets": 0,
            "upstream_connect_errors": 0, "status": {}, "ruled": 0,
            "throttled_up": 0, "throttled_down": 0,
        }

    def stats(self):
        with self._mu:
            s = dict(self._stats)
            s["status"] = dict(s["status"])
            s["active"] = len(self._conns)
        return s

    def reset_stats(self):
        with self._mu:
            self._zero_stats()
            self._log.clear()
            self._timeline = _Timeline()
        return self.stats()

    def timeline(self, direction="up"):
        """Bytes forwarded per 10 ms: {"start", "bin", "bytes"}."""
        if direction not in DIRECTIONS:
            raise ValueError("direction: up or down")
        with self._mu:
            t = self._timeline
            return {"start": t.start, "bin": TIMELINE_BIN,
                    "bytes": list(t.bins[DIRECTIONS.index(direction)])}

    def bytes_between(self, t0, t1, direction="up"):
        """Bytes forwarded between CLOCK_MONOTONIC times t0 and t1."""
        with self._mu:
            return self._timeline.bytes_between(t0, t1, direction)

    def requests_log(self):
        with self._mu:
            return [dict(r) for r in self._log]

    def wait_until(self, predicate, timeout=30.0, interval=0.02):
        """Poll stats() until predicate(stats) is true; returns the stats.
        Raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.stats()
            if predicate(s):
                return s
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met; stats {s}")
            time.sleep(interval)

    def _count(self, key, n=1):
        with self._mu:
            self._stats[key] += n

    # -- data path ------------------------------------------------------

    async def _handle(self, cr, cw):
        c = _Conn(cr, cw)
        self._conns.add(c)
        self._count("connections")
        try:
            await self._gate.wait()
            if c.dead:
                return
            try:
                c.ur, c.uw = await asyncio.open_connection(
                    *self.target, limit=HEAD_LIMIT)
            except OSError:
                self._count("upstream_connect_errors")
                c.abort()
                return
            if self.http:
                up = self._pump_requests(c)
                down = self._pump_responses(c)
            else:
                up = self._pump_raw(c, "up")
                down = self._pump_raw(c, "down")
            c.tasks = [asyncio.ensure_future(up), asyncio.ensure_future(down)]
            done, pending = await asyncio.wait(
                c.tasks, return_when=asyncio.FIRST_EXCEPTION)
            failed = any(t.exception() is not None for t in done
                         if not t.cancelled())
            if failed:
                c.abort()
                for t in pending:
                    t.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
            c.close()
        except asyncio.CancelledError:
            c.abort()
        finally:
            self._conns.discard(c)
            for t in c.tasks:
                if t.done() and not t.cancelled():
                    t.exception()  # mark retrieved

    async def _take(self, direction, want):
        """Throttle: how many of want bytes may go now (waits if needed)."""
        b = self._buckets[direction]
        held = False
        with self._mu:
            b.waiting += 1
        try:
            while True:
                with self._mu:
                    rate = b.rate
                    if not rate:
                        return want
                    step = max(1.0, rate * IDLE_CREDIT)
                    # Time the link had bytes waiting is time it was sending
                    # them, however late this thread runs; idle time is not.
                    cap = max(step, rate * b.burst) if b.backlog else step
                    now = time.monotonic()
                    b.tokens = min(cap, b.tokens + (now - b.last) * rate)
                    b.last = now
                    b.backlog = True
                    need = min(want, step)
                    if b.tokens >= need:
                        n = int(min(want, b.tokens))
                        b.tokens -= n
                        return max(1, n)
                    wait = (need - b.tokens) / rate
                    if not held:   # counted once per chunk the cap held back
                        held = True
                        self._stats["throttled_" + direction] += 1
                await asyncio.sleep(min(wait, 0.05))
        finally:
            with self._mu:
                b.waiting -= 1
                b.backlog = b.waiting > 0

    async def _send(self, c, direction, data):
        """Forward data in direction, applying blackhole, slow and reset."""
        view = memoryview(data)
        while view:
            if not self._gate.is_set():
                await self._gate.wait()
            if c.dead:
                raise _Reset()
            n = await self._take(direction, len(view))
            piece = view[:n]
            cut = False
            with self._mu:
                r = self._reset[direction]
                if r is not None:
                    if r[0] <= len(piece):
                        piece = piece[:r[0]]
                        cut = True
                        if r[2] is not None:
                            r[2] -= 1
                        if r[2] is not None and r[2] <= 0:
                            self._reset[direction] = None
                        else:
                            r[0] = r[1]
                    else:
                        r[0] -= len(piece)
            w = c.writer(direction)
            if len(piece):
                # Count first: the peer may act on the bytes (and read the
                # stats) before this thread runs again.
                with self._mu:
                    self._stats["bytes_" + direction] += len(piece)
                    self._timeline.add(direction, len(piece))
                w.write(piece)
            if cut:
                with self._mu:
                    self._stats["resets"] += 1
                    if direction == "up":
                        self._stats["dropped_up"] += len(view) - len(piece)
                await w.drain()
                await self._flush_kernel(w)
                c.abort()
                raise _Reset()
            view = view[len(piece):]
            await w.drain()

    @staticmethod
    async def _flush_kernel(w, timeout=2.0):
        """Wait until the socket's send queue is empty (so that a reset
        right after does not throw away bytes we said we forwarded)."""
        sock = w.get_extra_info("socket")
        if sock is None:
            return
        buf = bytearray(4)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, buf)
            except OSError:
                return
            if struct.unpack("i", buf)[0] == 0:
                return
            await asyncio.sleep(0.002)

    async def _pump_raw(self, c, direction, reader=None):
        reader = reader or (c.cr if direction == "up" else c.ur)
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            await self._send(c, direction, data)
        self._eof(c, direction)

    def _eof(self, c, direction):
        w = c.writer(direction)
        if not c.dead and w.can_write_eof():
            try:
                w.write_eof()
            except OSError:
                pass

    async def _read_head(self, reader):
        """One HTTP head (start line + headers + blank line), or None at a
        clean EOF.  Leading blank lines are skipped (RFC 9112 2.2)."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as e:
            if e.partial.strip(b"\r\n"):
                raise _NotHTTP(e.partial) from None
            return None
        except asyncio.LimitOverrunError:
            raise _NotHTTP(b"head too long") from None
        return head

    async def _copy_body(self, c, reader, kind, length, sink):
        """Copy one message body; sink(bytes) is awaited per piece.  Returns
        the number of bytes copied; raises IncompleteReadError at EOF."""
        total = 0
        if kind == "length":
            left = length
            while left:
                data = await reader.read(min(left, CHUNK))
                if not data:
                    raise asyncio.IncompleteReadError(b"", left)
                left -= len(data)
                total += len(data)
                await sink(data)
        elif kind == "chunked":
            while True:
                line = await reader.readuntil(b"\r\n")
                await sink(line)
                total += len(line)
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise _NotHTTP(line) from None
                if size == 0:
                    while True:  # trailers
                        t = await reader.readuntil(b"\r\n")
                        await sink(t)
                        total += len(t)
                        if t == b"\r\n":
                            return total
                total += await self._copy_body(c, reader, "length",
                                               size + 2, sink)
        elif kind == "eof":
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    return total
                total += len(data)
                await sink(data)
        return total

    async def _pump_requests(self, c):
        reader = c.cr
        while True:
            try:
                head = await self._read_head(reader)
            except _NotHTTP as e:
                await self._go_raw(c, "up", e.args[0])
                return
            if head is None:
                self._eof(c, "up")
                return
            try:
                (method, target, *_), headers = _parse_head(head)
                kind, length = _body_kind(headers)
            except (_NotHTTP, ValueError):
                await self._go_raw(c, "up", head)
                return
            rec = {"conn": c.id, "method": method, "target": target,
                   "body_bytes": 0, "injected": False, "status": None,
                   "complete": False, "rule": None, "time": time.monotonic()}
            if self.log_headers:
                rec["headers"] = dict(headers)
            rule = self._take_rule(method, target, headers)
            if rule is not None:
                rec["rule"] = rule["id"]
            with self._mu:
                self._stats["requests"] += 1
                self._log.append(rec)
                fail = self._fail if rule is None else None
                if fail is not None:
                    fail["count"] -= 1
                    if fail["count"] <= 0:
                        self._fail = None
                    fail = dict(fail)
            if rule is not None and rule["action"] == "answer":
                fail = dict(rule["params"], close=False, retry_after=None)
            elif rule is not None and rule["action"] in ("trickle", "endless"):
                await self._stream_answer(c, rec, headers, kind, length, rule)
                return
            elif rule is not None and rule["action"] == "conditional":
                if await self._key_exists(target, rule["params"]):
                    fail = {"status": 412, "body": PRECONDITION_FAILED,
                            "headers": {"Content-Type": "application/xml"},
                            "close": False, "retry_after": None}
                else:
                    start, lines = _head_lines(head)
                    head = _make_head(start, resign(method, target, lines,
                                                    rule["params"]["secret_key"],
                                                    ("if-none-match",)))
            elif rule is not None and rule["action"] == "strip":
                start, lines = _head_lines(head)
                drop = set(rule["params"]["names"])
                key = rule["params"].get("secret_key")
                lines = (resign(method, target, lines, key, drop) if key else
                         [(k, v) for k, v in lines if k.lower() not in drop])
                head = _make_head(start, lines)
            if fail is not None:
                if not await self._inject(c, rec, headers, kind, length,
                                          fail):
                    return
                continue
            c.pending.append(rec)
            c.idle.clear()
            self._count("requests_forwarded")
            await self._send(c, "up", head)

            async def sink(data):
                rec["body_bytes"] += len(data)
                await self._send(c, "up", data)
            await self._copy_body(c, reader, kind, length, sink)
            rec["complete"] = True

    async def _inject(self, c, rec, headers, kind, length, fail):
        """Answer rec with the canned response.  Returns False if the
        connection is done."""
        rec["injected"] = True
        rec["status"] = fail["status"]
        expect = "100-continue" in headers.get("expect", "").lower()
        has_body = kind == "chunked" or length
        close = (fail["close"] or (expect and has_body)
                 or "close" in headers.get("connection", "").lower())

        async def drop(data):
            rec["body_bytes"] += len(data)
            self._count("dropped_up", len(data))
        if has_body and not expect:
            await self._copy_body(c, c.cr, kind, length, drop)
            rec["complete"] = True
        await c.idle.wait()  # earlier answers from the target go first
        self._count("injected")
        await self._send(c, "down", self._canned(fail, rec["method"], close))
        if not close:
            return True
        # Closing: half-close our side, then read what the client still
        # sends (so the kernel does not answer it with a RST that could
        # destroy the response), until it closes or goes quiet.
        self._eof(c, "down")
        try:
            while True:
                data = await asyncio.wait_for(c.cr.read(CHUNK), 2.0)
                if not data:
                    break
                await drop(data)
        except (asyncio.TimeoutError, OSError):
            pass
        c.close()
        return False

    async def _key_exists(self, target, prm):
        """HEAD of target's object (path-style /bucket/key) on the target."""
        path = urllib.parse.unquote(target.split("?", 1)[0]).lstrip("/")
        bucket, _, key = path.partition("/")
        s3 = S3Client("http://%s:%d" % self.target, prm["access_key"],
                      prm["secret_key"], prm.get("region") or "us-east-1")

        def head():
            try:
                return s3.request("HEAD", bucket, key, check=False).status
            finally:
                s3.close()
        return await asyncio.get_running_loop().run_in_executor(None, head) == 200

    async def _stream_answer(self, c, rec, headers, kind, length, rule):
        """trickle / endless: drain the request, then write the answer at
        the rule's rate until the client goes away; the connection is then
        closed.  rec gets answer_bytes and client_gone_after."""
        prm = rule["params"]
        c.streaming = True
        rec["injected"] = True
        rec["status"] = prm["status"]
        rec["answer_bytes"] = 0
        rec["client_gone_after"] = None
        expect = "100-continue" in headers.get("expect", "").lower()
        if (kind == "chunked" or length) and not expect:
            async def drop(data):
                rec["body_bytes"] += len(data)
                self._count("dropped_up", len(data))
            try:
                await self._copy_body(c, c.cr, kind, length, drop)
            except (asyncio.IncompleteReadError, OSError):
                c.close()
                return
            rec["complete"] = True
        await c.idle.wait()
        self._count("injected")
        status = prm["status"]
        hdrs = {"Date": email.utils.formatdate(usegmt=True),
                "Content-Type": "application/octet-stream",
                "X-Faultproxy": rule["action"]}
        if rule["action"] == "trickle":
            hdrs["Content-Length"] = str(1 << 40)
        else:
            hdrs["Transfer-Encoding"] = "chunked"
        hdrs.update(prm.get("headers") or {})
        head = (f"HTTP/1.1 {status} {REASONS.get(status, 'Injected')}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n").encode("latin-1")
        rate = float(prm["rate"])
        # Pieces of a twentieth of a second's worth, at least a byte.
        piece = max(1, int(rate / 20))
        if rule["action"] == "endless":
            data = f"{piece:x}\r\n".encode() + b"a" * piece + b"\r\n"
        else:
            data = b"a" * piece

        async def client_gone():
            try:
                while await c.cr.read(CHUNK):
                    pass
            except OSError:
                pass
        gone = asyncio.ensure_future(client_gone())
        t0 = time.monotonic()
        w = c.cw
        try:
            w.write(head)
            await w.drain()
            sent = 0
            while not gone.done():
                due = t0 + sent / rate
                now = time.monotonic()
                if due > now:
                    await asyncio.wait([gone], timeout=due - now)
                    continue
                w.write(data)
                sent += piece
                rec["answer_bytes"] += len(data)
                self._count("bytes_down", len(data))
                await w.drain()
        except (OSError, RuntimeError):
            pass
        rec["client_gone_after"] = round(time.monotonic() - t0, 3)
        gone.cancel()
        c.close()

    @staticmethod
    def _canned(fail, method, close):
        status = fail["status"]
        body = fail["body"]
        if body is None:
            code = S3_CODES.get(status, "InternalError")
            body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>'
                    f'{code}</Code><Message>injected by faultproxy</Message>'
                    '<RequestId>faultproxy</RequestId></Error>')
            ctype = "application/xml"
        else:
            ctype = "text/plain"
        if isinstance(body, str):
            body = body.encode()
        hdrs = {"Date": email.utils.formatdate(usegmt=True),
                "Content-Type": ctype, "Content-Length": str(len(body)),
                "X-Faultproxy": "injected"}
        if fail.get("retry_after") is not None:
            hdrs["Retry-After"] = str(fail["retry_after"])
        hdrs["Connection"] = "close" if close else "keep-alive"
        hdrs.update(fail.get("headers") or {})
        reason = REASONS.get(status, "Injected")
        out = f"HTTP/1.1 {status} {reason}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
        out = out.encode("latin-1")
        if method != "HEAD" and status not in (204, 304):
            out += body
        return out

    async def _pump_responses(self, c):
        reader = c.ur
        while True:
            try:
                head = await self._read_head(reader)
            except _NotHTTP as e:
                await self._go_raw(c, "down", e.args[0])
                return
            if head is None:
                # An idle target hangs up (Swift after 60 s): not the
                # client's business while a streamed answer goes on.
                if not c.streaming:
                    self._eof(c, "down")
                return
            try:
                (_version, status, *_), headers = _parse_head(head)
                status = int(status)
                kind, length = _body_kind(headers)
            except (_NotHTTP, ValueError):
                await self._go_raw(c, "down", head)
                return
            rec = c.pending[0] if c.pending else None
            if status >= 200:
                # Counted before the client can see it (tests read the
                # stats as soon as they have the answer).
                with self._mu:
                    self._stats["responses"] += 1
                    st = self._stats["status"]
                    st[str(status)] = st.get(str(status), 0) + 1
                if rec is not None:
                    rec["status"] = status
            await self._send(c, "down", head)
            if 100 <= status < 200:
                if status == 101:  # protocol switch: bytes from here on
                    await self._pump_raw(c, "down")
                    return
                continue
            method = rec["method"] if rec else ""
            if method == "HEAD" or status in (204, 304):
                kind, length = "none", 0
            elif kind == "none":
                kind = "eof"

            async def sink(data):
                await self._send(c, "down", data)
            await self._copy_body(c, reader, kind, length, sink)
            if rec is not None:
                c.pending.popleft()
            if not c.pending:
                c.idle.set()
            if kind == "eof":
                self._eof(c, "down")
                return

    async def _go_raw(self, c, direction, already):
        """The stream is not HTTP (or not any more): forward blindly."""
        if already:
            await self._send(c, direction, already)
        await self._pump_raw(c, direction)

    # -- control channel ------------------------------------------------

    def _start_control(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _do(self):
                u = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(u.query))
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                try:
                    body = json.loads(raw) if raw.strip() else {}
                    result = proxy._control(u.path.strip("/"), q, body)
                    code = 200
                except (KeyError, ValueError, TypeError) as e:
                    result, code = {"ok": False, "error": str(e)}, 400
                body = (json.dumps(result) + "\n").encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _do

        # Listening from the pick on: nothing can take the port before the
        # control server serves it.
        if self.control_port is None:
            r = su.reserve_port(self.host, hold="listen")
            self.control_port = r.port
        else:
            r = su.reserve_specific_port(self.control_port, self.host,
                                         hold="listen")
        self._reservations.append(r)
        self._ctl = http.server.ThreadingHTTPServer(
            (self.host, self.control_port), Handler, bind_and_activate=False)
        self._ctl.socket.close()
        self._ctl.socket = r.socket
        self._ctl.daemon_threads = True
        self._ctl_thread = threading.Thread(
            target=self._ctl.serve_forever, name="faultproxy-control",
            daemon=True)
        self._ctl_thread.start()

    def _control(self, op, q, body=None):
        def flag(name, default="1"):
            return q.get(name, default).lower() in ("1", "true", "yes", "on")

        def opt_int(name):
            v = q.get(name)
            return None if v in (None, "", "none") else int(v)
        if op == "pass":
            faults = self.passthrough()
        elif op == "reset":
            times = q.get("times", "1")
            faults = self.reset_after(
                int(q["after"]), q.get("direction", "up"),
                None if times in ("none", "forever", "") else int(times))
        elif op == "slow":
            faults = self.slow(opt_int("rate"), q.get("direction", "both"),
                               float(q.get("burst", IDLE_CREDIT)))
        elif op == "fail":
            faults = self.fail_requests(
                int(q.get("count", "1")), int(q.get("status", "503")),
                body=q.get("body"), close=flag("close", "0"),
                retry_after=q.get("retry_after"))
        elif op == "blackhole":
            faults = self.blackhole(flag("on"))
        elif op == "refuse":
            faults = self.refuse(flag("on"))
        elif op == "rule":
            rid = self.add_rule(**body)
            return {"ok": True, "id": rid, "faults": self.faults()}
        elif op == "remove-rule":
            faults = self.remove_rule(int(q["id"]))
        elif op == "clear-rules":
            faults = self.clear_rules()
        elif op == "reset-all":
            faults = self.reset_all()
        elif op == "faults":
            faults = self.faults()
        elif op == "stats":
            return self.stats()
        elif op == "timeline":
            return self.timeline(q.get("direction", "up"))
        elif op == "requests":
            return self.requests_log()
        elif op == "reset-stats":
            return self.reset_stats()
        else:
            raise KeyError(f"unknown control path /{op}")
        return {"ok": True, "faults": faults}


class FaultProxyClient:
    """The same fault and counter methods as FaultProxy, over the control
    channel of a proxy running in another process."""

    def __init__(self, control_url, timeout=15):
        self.control_url = control_url.rstrip("/")
        self.timeout = timeout
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}))

    def _get(self, op, **params):
        q = urllib.parse.urlencode({k: ("none" if v is None else
                                        (int(v) if isinstance(v, bool) else v))
                                    for k, v in params.items()})
        url = f"{self.control_url}/{op}" + (f"?{q}" if q else "")
        req = urllib.request.Request(url, data=b"", method="POST")
        with self._opener.open(req, timeout=self.timeout) as r:
            return json.loads(r.read())

    def passthrough(self):
        return self._get("pass")["faults"]

    def reset_after(self, nbytes, direction="up", times=1):
        return self._get("reset", after=int(nbytes), direction=direction,
                         times=times)["faults"]

    def slow(self, rate, direction="both", burst=IDLE_CREDIT):
        return self._get("slow", rate=rate or 0, direction=direction,
                         burst=burst)["faults"]

    def timeline(self, direction="up"):
        return self._get("timeline", direction=direction)

    def fail_requests(self, count=1, status=503, body=None, close=False,
                      retry_after=None):
        params = {"count": count, "status": status, "close": bool(close)}
        if body is not None:
            params["body"] = body
        if retry_after is not None:
            params["retry_after"] = retry_after
        return self._get("fail", **params)["faults"]

    def add_rule(self, action, **kw):
        url = f"{self.control_url}/rule"
        req = urllib.request.Request(url, data=json.dumps(dict(kw, action=action)).encode(),
                                     method="POST",
                                     headers={"Content-Type": "application/json"})
        with self._opener.open(req, timeout=self.timeout) as r:
            return json.loads(r.read())["id"]

    def remove_rule(self, rule_id):
        return self._get("remove-rule", id=int(rule_id))["faults"]

    def clear_rules(self):
        return self._get("clear-rules")["faults"]

    answer = FaultProxy.answer
    trickle = FaultProxy.trickle
    endless_body = FaultProxy.endless_body
    strip_headers = FaultProxy.strip_headers
    refuse_past_retention = FaultProxy.refuse_past_retention
    honour_if_none_match = FaultProxy.honour_if_none_match

    def blackhole(self, on=True):
        return self._get("blackhole", on=bool(on))["faults"]

    def refuse(self, on=True):
        return self._get("refuse", on=bool(on))["faults"]

    def reset_all(self):
        return self._get("reset-all")["faults"]

    def faults(self):
        return self._get("faults")["faults"]

    def stats(self):
        return self._get("stats")

    def requests_log(self):
        return self._get("requests")

    def reset_stats(self):
        return self._get("reset-stats")

    wait_until = FaultProxy.wait_until


class FaultProxyProcess(FaultProxyClient):
    """Run `faultproxy.py` as a child process (for tests that want the proxy
    outside their own process); the client methods drive it."""

    def __init__(self, target, port=None, control_port=None, http=True,
                 log_path=None):
        self.target = "%s:%d" % _parse_target(target)
        self._args = []
        if port:
            self._args += ["--port", str(port)]
        if control_port:
            self._args += ["--control-port", str(control_port)]
        if not http:
            self._args.append("--raw")
        self.log_path = log_path
        self.proc = None
        self.info = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=15):
        import subprocess
        self.proc = su.spawn([sys.executable, os.path.abspath(__file__),
                              "--target", self.target] + self._args,
                             self.log_path, stdout=subprocess.PIPE)
        line = self.proc.stdout.readline()
        self.proc.stdout.close()
        if not line:
            self.proc.wait(timeout)
            raise su.HarnessError("faultproxy.py exited with status "
                                  f"{self.proc.returncode}")
        self.info = json.loads(line)
        self.url = self.info["url"]
        self.port = self.info["port"]
        super().__init__(self.info["control_url"])
        return self

    def stop(self):
        if self.proc is not None:
            su.kill_tree(self.proc, signal.SIGTERM, timeout=5)
            self.proc = None


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="fault-injecting TCP/HTTP proxy (see module docstring)")
    ap.add_argument("--target", required=True, help="HOST:PORT to forward to")
    ap.add_argument("--port", type=int, help="listening port (default: free)")
    ap.add_argument("--control-port", type=int,
                    help="control channel port (default: free)")
    ap.add_argument("--raw", action="store_true",
                    help="do not parse HTTP (no fail/requests counts)")
    args = ap.parse_args(argv)
    fp = FaultProxy(args.target, args.port, control=True,
                    control_port=args.control_port, http=not args.raw)
    stop = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, lambda *a: stop.set())
    try:
        fp.start()
    except su.HarnessError as e:
        print(f"faultproxy.py: {e}", file=sys.stderr)
        return 1
    try:
        print(json.dumps({"url": fp.url, "port": fp.port,
                          "control_url": fp.control_url,
                          "control_port": fp.control_port,
                          "pid": os.getpid(),
                          "target": "%s:%d" % fp.target}), flush=True)
        while not stop.wait(1):
            pass
    finally:
        fp.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
