#!/usr/bin/env python3
"""Tests of the test-server harness itself (meson suite "servers").

    python3 tests/servers/test_servers.py CASE      # run one case
    python3 tests/servers/test_servers.py --list    # list the cases

Exit status: 0 pass, 77 skip (a tool is missing), 1 fail.  CURL, NODE and
RCLONE in the environment name the programs (meson passes find_program's).
"""

import asyncio
import contextlib
import errno
import hashlib
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import serverutil as su  # noqa: E402
from faultproxy import FaultProxy, FaultProxyClient, FaultProxyProcess  # noqa: E402
import faultproxy  # noqa: E402
from s3client import S3Client, S3Error, multipart_etag  # noqa: E402
from swift import SwiftServer, rclone_env  # noqa: E402
from tus import TusServer  # noqa: E402

CASES = {}
MiB = 1024 * 1024


class Skip(Exception):
    pass


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


def eq(a, b, what=""):
    if a != b:
        raise AssertionError(f"{what}: {a!r} != {b!r}" if what else
                             f"{a!r} != {b!r}")


def tool(name):
    path = os.environ.get(name.upper()) or shutil.which(name)
    if not path:
        raise Skip(f"{name} not found")
    return path


def log(*a):
    print(*a, flush=True)


@contextlib.contextmanager
def workdir():
    """A scratch directory, kept (and named) if the test fails."""
    d = tempfile.mkdtemp(prefix="dockd-servers-test-")
    try:
        yield d
    except BaseException:
        log(f"(scratch directory kept: {d})")
        raise
    else:
        shutil.rmtree(d, ignore_errors=True)


def pattern(n, seed=0):
    """n deterministic, incompressible-looking bytes."""
    out = bytearray()
    block = 0
    while len(out) < n:
        out += hashlib.sha256(b"%d:%d" % (seed, block)).digest()
        block += 1
    return bytes(out[:n])


def procs_mentioning(text):
    """pids whose command line contains text (strays check)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ")
        except OSError:
            continue
        if text.encode() in cmd and su.pids_alive([int(d)]):
            found.append((int(d), cmd.decode(errors="replace")))
    return found


def assert_stopped(pids, ports, marker):
    alive = su.pids_alive(pids)
    check(not alive, f"processes still alive after stop: {alive}")
    for p in ports:
        # Not port_is_free(): TIME_WAIT entries may linger legitimately.
        check(not su.port_listening(p), f"port {p} still listened on")
    strays = procs_mentioning(marker)
    check(not strays, f"stray processes: {strays}")


# -- S3 with curl ----------------------------------------------------------

def curl_s3(curl, url, method="GET", body=b"", user="test%3Atester",
            secret="testsecret", extra=()):
    """One SigV4 request with curl's --aws-sigv4.  The access key
    "test:tester" has a colon, and curl splits --user at the first colon,
    so the credentials go in the URL's userinfo (percent-encoded).
    Returns (status, headers dict, body bytes)."""
    with tempfile.NamedTemporaryFile(prefix="curl-body-") as f:
        f.write(body)
        f.flush()
        auth_url = url.replace("http://", f"http://{user}:{secret}@", 1)
        cmd = [curl, "-sS", "-D", "-", "-o", f.name + ".out",
               "--aws-sigv4", "aws:amz:us-east-1:s3",
               "-H", "x-amz-content-sha256: " + hashlib.sha256(body).hexdigest(),
               "-X", method, *extra]
        if body or method in ("PUT", "POST"):
            cmd += ["--data-binary", "@" + f.name,
                    "-H", "Content-Type: application/octet-stream"]
        cmd.append(auth_url)
        r = subprocess.run(cmd, capture_output=True, timeout=120)
        if r.returncode != 0:
            raise AssertionError(f"curl failed ({r.returncode}): "
                                 f"{r.stderr.decode()}")
        try:
            with open(f.name + ".out", "rb") as o:
                out = o.read()
            os.unlink(f.name + ".out")
        except FileNotFoundError:
            out = b""
    # The header dump may hold a "100 Continue" block first: take the last.
    blocks = [b for b in r.stdout.split(b"\r\n\r\n") if b.startswith(b"HTTP/")]
    head = blocks[-1].decode("latin-1").split("\r\n")
    status = int(head[0].split()[1])
    headers = {}
    for line in head[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, out


def xml_of(body):
    root = ET.fromstring(body)
    for el in root.iter():
        if "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]
    return root


# -- Swift cases --------------------------------------------------------------

@case
def swift_start_stop():
    with workdir() as wd:
        d = os.path.join(wd, "swift")
        sw = SwiftServer(d)
        t0 = time.monotonic()
        sw.start()
        try:
            info = sw.info()
            log(f"startup {info['startup_s']} s, rss {info['rss_kib']} KiB, "
                f"pss {info['pss_kib']} KiB, ports {info['ports']}")
            # Measured, not bounded: how fast Swift starts depends on the
            # machine's load; a hang is bounded by the test's own timeout.
            check(info["startup_s"] > 0, "startup time measured")
            eq(set(sw.pids), {"memcached", "account", "container", "object",
                              "proxy"}, "processes")
            for name, pid in sw.pids.items():
                su.check_port_owner(sw.ports[name], pid)
                eq(os.getpgid(pid), pid, f"{name} is its own group leader")
            s3 = sw.client()
            eq(s3.list_buckets(), [], "no buckets left from the ready check")
            s3.create_bucket("keep")
            s3.put_object("keep", "obj", b"persist me")
            s3.close()
            pids, ports = list(sw.pids.values()), list(sw.ports.values())
        finally:
            t1 = time.monotonic()
            sw.stop()
            log(f"stop took {time.monotonic() - t1:.2f} s "
                f"(start+run {t1 - t0:.2f} s)")
        assert_stopped(pids, ports, d)
        for p in ports:  # the port locks are released
            fd = su._try_lock(p)
            check(fd is not None, f"port {p} still locked")
            os.close(fd)
        check(os.path.isdir(d), "a given dir is kept")
        # Same directory again: same hash prefix/suffix, data still there.
        with SwiftServer(d) as sw2:
            eq(sw2.client().get_object("keep", "obj"), b"persist me",
               "data after restart on the same dir")
            pids = list(sw2.pids.values())
        assert_stopped(pids, [], d)
        # A temporary directory is removed by stop().
        sw3 = SwiftServer()
        sw3.start()
        tmp = sw3.dir
        pids = list(sw3.pids.values())
        sw3.stop()
        check(not os.path.exists(tmp), "temporary dir removed")
        assert_stopped(pids, [], tmp)


def bind_error(port, *options, listen=True):
    """None if a socket with options can bind (and listen on) the port,
    else the errno name."""
    s = socket.socket()
    try:
        for o in options:
            s.setsockopt(socket.SOL_SOCKET, o, 1)
        s.bind((su.HOST, port))
        if listen:
            s.listen()
        return None
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
    finally:
        s.close()


@case
def ports_held():
    """A held reservation keeps every other program off the port, and the
    server binds beside it with the same option and gets the connections."""
    ra, rp = socket.SO_REUSEADDR, socket.SO_REUSEPORT
    for hold, server in (("reuseport", (ra, rp)), ("reuseaddr", (ra,))):
        r = su.reserve_port(hold=hold)
        try:
            eq(bind_error(r.port), "EADDRINUSE", f"{hold}: a plain stranger")
            if hold == "reuseport":
                eq(bind_error(r.port, ra), "EADDRINUSE",
                   "reuseport: a stranger with SO_REUSEADDR")
            srv = socket.socket()
            for o in server:
                srv.setsockopt(socket.SOL_SOCKET, o, 1)
            srv.bind((su.HOST, r.port))
            srv.listen()
            for _ in range(3):  # the held socket takes none of them
                c = socket.create_connection((su.HOST, r.port), timeout=5)
                srv.settimeout(5)
                a, _ = srv.accept()
                c.close()  # the client closes first: no TIME_WAIT on r.port
                a.close()
            srv.close()
        finally:
            r.release()
        eq(bind_error(r.port), None, f"{hold}: free after release()")


@case
def swift_ports_held():
    """No other program can take a Swift port: not before the servers bind
    (the harness used to pick ports, then retry with new ones when a stranger
    got there first) and not while the proxy is down between a kill and a
    restart."""
    with SwiftServer(buckets=["held"]) as sw:
        for name, port in sw.ports.items():
            eq(bind_error(port, socket.SO_REUSEADDR), "EADDRINUSE",
               f"a stranger on {name}'s port")
        sw.kill_proxy()
        eq(bind_error(sw.ports["proxy"], socket.SO_REUSEADDR), "EADDRINUSE",
           "a stranger on the port of the killed proxy")
        sw.start_proxy()
        sw.client().put_object("held", "k", b"v")


@case
def swift_multipart_curl():
    curl = tool("curl")
    with SwiftServer(buckets=["mpu"]) as sw:
        base = f"{sw.endpoint}/mpu/video.mp4"
        st, _, out = curl_s3(curl, base + "?uploads=", "POST")
        eq(st, 200, "create multipart upload")
        upload_id = xml_of(out).findtext("UploadId")
        check(upload_id, "an UploadId")
        p1, p2 = pattern(5 * MiB, 1), pattern(1 * MiB + 123, 2)
        etags = []
        for n, data in ((1, p1), (2, p2)):
            st, h, _ = curl_s3(curl, f"{base}?partNumber={n}&uploadId={upload_id}",
                               "PUT", data)
            eq(st, 200, f"upload part {n}")
            eq(h["etag"].strip('"'), hashlib.md5(data).hexdigest(),
               f"part {n} etag")
            etags.append(h["etag"].strip('"'))
        st, _, out = curl_s3(curl, f"{base}?uploadId={upload_id}")
        eq(st, 200, "list parts")
        parts = [(int(p.findtext("PartNumber")), int(p.findtext("Size")),
                  p.findtext("ETag").strip('"'))
                 for p in xml_of(out).iter("Part")]
        eq(parts, [(1, len(p1), etags[0]), (2, len(p2), etags[1])], "parts")
        complete = ("<CompleteMultipartUpload>" + "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>\"{e}\"</ETag></Part>"
            for n, e in enumerate(etags, 1)) + "</CompleteMultipartUpload>")
        st, _, out = curl_s3(curl, f"{base}?uploadId={upload_id}", "POST",
                             complete.encode())
        eq(st, 200, "complete")
        etag = xml_of(out).findtext("ETag").strip('"')
        eq(etag, multipart_etag([p1, p2]), "multipart ETag (md5 of md5s -2)")
        check(etag.endswith("-2"))
        st, h, out = curl_s3(curl, base)
        eq(st, 200, "GET")
        eq(h["etag"].strip('"'), etag, "GET etag")
        check(out == p1 + p2, "object bytes differ")
        st, _, out = curl_s3(curl, f"{sw.endpoint}/mpu?uploads=")
        eq(list(xml_of(out).iter("Upload")), [], "no upload left")


@case
def swift_wrong_secret():
    curl = tool("curl")
    with SwiftServer(buckets=["auth"]) as sw:
        st, _, out = curl_s3(curl, f"{sw.endpoint}/auth", secret="wrong")
        eq(st, 403, "curl with a wrong secret")
        eq(xml_of(out).findtext("Code"), "SignatureDoesNotMatch")
        st, _, out = curl_s3(curl, f"{sw.endpoint}/auth")
        eq(st, 200, "curl with the right secret")
        bad = S3Client(sw.endpoint, sw.access_key, "wrong")
        try:
            bad.list_objects("auth")
            raise AssertionError("wrong secret accepted")
        except S3Error as e:
            eq((e.status, e.code), (403, "SignatureDoesNotMatch"))
        unknown = S3Client(sw.endpoint, "nobody:none", sw.secret_key)
        try:
            unknown.list_buckets()
            raise AssertionError("unknown access key accepted")
        except S3Error as e:
            eq(e.status, 403, "unknown access key")


@case
def swift_s3client():
    with SwiftServer(buckets=["readback"]) as sw:
        s3 = sw.client()
        check(s3.bucket_exists("readback") and not s3.bucket_exists("nope"))
        s3.create_bucket("readback")  # exist_ok
        objs = {"a.txt": b"alpha", "dir/with space+plus.bin": pattern(1000),
                "dir/ümlaut=x&y.txt": b"unicode", "dir/z": b"",
                "e~tilde*star": pattern(70000, 3)}
        for k, v in objs.items():
            eq(s3.put_object("readback", k, v), hashlib.md5(v).hexdigest(), k)
        for v2 in (True, False):
            got = s3.list_objects("readback", page_size=2, v2=v2)
            eq([o["key"] for o in got], sorted(objs), "listed keys")
            for o in got:
                eq(o["size"], len(objs[o["key"]]))
                eq(o["etag"], hashlib.md5(objs[o["key"]]).hexdigest())
        eq([o["key"] for o in s3.list_objects("readback", prefix="dir/")],
           sorted(k for k in objs if k.startswith("dir/")), "prefix")
        big = objs["e~tilde*star"]
        eq(s3.get_object("readback", "e~tilde*star"), big, "GET")
        eq(s3.get_object("readback", "e~tilde*star", range=(10, 19)), big[10:20])
        eq(s3.get_object("readback", "e~tilde*star", range=(69990, None)),
           big[69990:])
        eq(s3.get_object("readback", "e~tilde*star", range="bytes=-7"), big[-7:])
        h = s3.head_object("readback", "dir/with space+plus.bin")
        eq(int(h["content-length"]), 1000)
        eq(h["etag"].strip('"'), hashlib.md5(objs["dir/with space+plus.bin"])
           .hexdigest())
        eq(s3.head_object("readback", "missing"), None, "HEAD of a missing key")
        # Unsigned payload, and a lying x-amz-content-sha256.
        s3.request("PUT", "readback", "unsigned", body=b"u", unsigned_payload=True)
        eq(s3.get_object("readback", "unsigned"), b"u")
        try:
            s3.request("PUT", "readback", "liar", body=b"abc",
                       payload_hash=hashlib.sha256(b"abd").hexdigest())
            raise AssertionError("wrong x-amz-content-sha256 accepted")
        except S3Error as e:
            check(e.status == 400, f"bad payload hash: {e}")
            log(f"wrong payload hash -> {e.status} {e.code}")
        # Multipart, paged ListParts and ListMultipartUploads.
        key = "evidence/SN1/rec/000001.mp4"
        uid = s3.create_multipart_upload("readback", key)
        parts = [pattern(5 * MiB, 10), pattern(5 * MiB, 11), b"tail"]
        etags = [s3.upload_part("readback", key, uid, n, p)
                 for n, p in enumerate(parts, 1)]
        lp = s3.list_parts("readback", key, uid, page_size=1)
        eq([(p["part_number"], p["size"], p["etag"]) for p in lp],
           [(n, len(p), hashlib.md5(p).hexdigest())
            for n, p in enumerate(parts, 1)], "paged list_parts")
        uid2 = s3.create_multipart_upload("readback", "other/x")
        s3.upload_part("readback", "other/x", uid2, 1, b"x" * 10)
        ups = s3.list_multipart_uploads("readback", page_size=1)
        eq(sorted((u["key"], u["upload_id"]) for u in ups),
           sorted([(key, uid), ("other/x", uid2)]), "paged uploads")
        eq([u["key"] for u in s3.list_multipart_uploads("readback", "other/")],
           ["other/x"], "uploads by prefix")
        etag = s3.complete_multipart_upload("readback", key, uid,
                                            list(enumerate(etags, 1)))
        eq(etag, multipart_etag(parts), "multipart etag")
        check(s3.get_object("readback", key) == b"".join(parts), "mpu bytes")
        eq(s3.get_object("readback", key, range=(5 * MiB - 2, 5 * MiB + 1)),
           parts[0][-2:] + parts[1][:2], "range across parts")
        eq(s3.abort_all_uploads("readback"), 1, "aborted uploads")
        eq(s3.list_multipart_uploads("readback"), [], "uploads after abort")
        try:
            s3.list_parts("readback", "other/x", uid2)
            raise AssertionError("parts of an aborted upload")
        except S3Error as e:
            eq((e.status, e.code), (404, "NoSuchUpload"))
        try:
            s3.complete_multipart_upload("readback", "small", s3.create_multipart_upload(
                "readback", "small"), [])
        except S3Error as e:
            log(f"empty complete -> {e.status} {e.code}")
        s3.abort_all_uploads("readback")
        for o in s3.list_objects("readback"):
            s3.delete_object("readback", o["key"])
        s3.delete_bucket("readback")
        check("readback" not in s3.list_buckets(), "bucket deleted")


@case
def swift_proxy_restart():
    with SwiftServer(buckets=["restart"]) as sw:
        s3 = sw.client()
        s3.put_object("restart", "before", b"kept")
        key = "mid/part.bin"
        uid = s3.create_multipart_upload("restart", key)
        p1 = pattern(5 * MiB, 20)
        e1 = s3.upload_part("restart", key, uid, 1, p1)
        # Kill the proxy in the middle of part 2: send the head and half
        # of the body by hand, then SIGKILL.
        p2 = pattern(6 * MiB, 21)
        q = [("partNumber", "2"), ("uploadId", uid)]
        headers = {"Content-Length": str(len(p2))}
        target = s3.sign("PUT", f"/restart/{key}", q, headers,
                         hashlib.sha256(p2).hexdigest())
        sock = socket.create_connection((sw.host, sw.ports["proxy"]))
        sock.sendall((f"PUT {target} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode())
        sock.sendall(p2[:3 * MiB])
        time.sleep(0.3)
        old_pid = sw.pids["proxy"]
        sw.kill_proxy()
        check(not sw.proxy_running() and not su.pids_alive([old_pid]),
              "proxy killed")
        try:
            sock.sendall(p2[3 * MiB:])
            sock.recv(1)
        except OSError:
            pass
        sock.close()
        try:
            socket.create_connection((sw.host, sw.ports["proxy"]), 1).close()
            raise AssertionError("proxy port still answers")
        except ConnectionRefusedError:
            pass
        t = time.monotonic()
        sw.start_proxy()
        log(f"proxy restart took {time.monotonic() - t:.2f} s")
        s3 = sw.client()
        lp = s3.list_parts("restart", key, uid)
        eq([(p["part_number"], p["size"]) for p in lp], [(1, len(p1))],
           "a part cut off by the kill is not listed")
        e2 = s3.upload_part("restart", key, uid, 2, p2)
        etag = s3.complete_multipart_upload("restart", key, uid, [(1, e1), (2, e2)])
        eq(etag, multipart_etag([p1, p2]))
        check(s3.get_object("restart", key) == p1 + p2, "bytes after restart")
        eq(s3.get_object("restart", "before"), b"kept")
        # restart_proxy() in one call, and a restart of everything.
        sw.restart_proxy()
        eq(s3.get_object("restart", "before"), b"kept", "after restart_proxy")
        t = time.monotonic()
        sw.restart()
        log(f"full restart took {time.monotonic() - t:.2f} s")
        eq(s3.get_object("restart", "before"), b"kept", "after restart")


@case
def swift_cli():
    with workdir() as wd:
        d = os.path.join(wd, "sw")
        rc = os.path.join(wd, "rclone.conf")
        p = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "swift.py"), "start",
             "--dir", d, "--bucket", "cli", "--rclone-config", rc],
            stdout=subprocess.PIPE, start_new_session=True)
        try:
            line = p.stdout.readline()
            check(line, "no JSON line from swift.py start")
            info = json.loads(line)
            log(f"CLI: {line.decode().strip()}")
            for k in ("endpoint", "access_key", "secret_key", "region",
                      "ports", "pids"):
                check(k in info, f"{k} in the JSON line")
            s3 = S3Client(info["endpoint"], info["access_key"],
                          info["secret_key"], info["region"])
            eq(s3.list_buckets(), ["cli"])
            check(os.path.exists(rc), "rclone config written")
            p.send_signal(signal.SIGTERM)
            eq(p.wait(30), 0, "exit status after SIGTERM")
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        assert_stopped(list(info["pids"].values()),
                       list(info["ports"].values()), d)


@case
def swift_rclone():
    rclone = tool("rclone")
    with workdir() as wd, SwiftServer(buckets=["bench"]) as sw:
        conf = sw.write_rclone_config(os.path.join(wd, "rclone.conf"),
                                      chunk_size="8Mi", concurrency=4)
        src = os.path.join(wd, "segment.mp4")
        data = pattern(50 * 1000 * 1000, 7)
        with open(src, "wb") as f:
            f.write(data)
        t = time.monotonic()
        r = subprocess.run([rclone, "copy", src, "swift:bench/rc/"],
                           env=rclone_env(conf), capture_output=True,
                           timeout=300)
        took = time.monotonic() - t
        if r.returncode != 0:
            raise AssertionError(f"rclone failed: {r.stderr.decode()}")
        log(f"rclone copy of 50 MB: {took:.2f} s "
            f"({50 / took:.1f} MB/s), chunk 8 MiB, concurrency 4")
        s3 = sw.client()
        h = s3.head_object("bench", "rc/segment.mp4")
        eq(int(h["content-length"]), len(data))
        check(h["etag"].strip('"').endswith("-6"), f"6 parts: {h['etag']}")
        got = s3.get_object("bench", "rc/segment.mp4")
        check(hashlib.sha256(got).digest() == hashlib.sha256(data).digest(),
              "rclone upload differs")
        eq(s3.list_multipart_uploads("bench"), [], "no leftover upload")


# -- tus --------------------------------------------------------------------

def tus_req(srv, method, path, headers=None, body=None):
    c = http.client.HTTPConnection(srv.host, srv.port, timeout=30)
    h = {"Tus-Resumable": "1.0.0"}
    h.update(headers or {})
    h = {k: v for k, v in h.items() if v is not None}
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


@case
def tus_protocol():
    tool("node")
    with TusServer(max_size=1000000) as srv:
        log(f"tus startup {srv.startup_s} s, rss {srv.rss_kib()} KiB")
        col = srv.path + "/"
        st, h, _ = tus_req(srv, "OPTIONS", col)
        check(st in (200, 204), f"OPTIONS {st}")
        check("1.0.0" in h["tus-version"], "Tus-Version")
        for ext in ("creation", "termination"):
            check(ext in h["tus-extension"], f"extension {ext}")
        eq(h.get("tus-max-size"), "1000000", "Tus-Max-Size")
        st, _, _ = tus_req(srv, "POST", col, {"Tus-Resumable": None,
                                              "Upload-Length": "10"})
        eq(st, 412, "POST without Tus-Resumable")
        st, _, _ = tus_req(srv, "POST", col, {"Upload-Length": "1000001"})
        eq(st, 413, "over max size")
        data = pattern(100000, 30)
        st, h, _ = tus_req(srv, "POST", col, {
            "Upload-Length": str(len(data)),
            "Upload-Metadata": "filename MDAwMDAxLm1wNA=="})
        eq(st, 201, "create")
        loc = h["location"]
        check(loc.startswith(srv.url), f"absolute Location {loc}")
        path = loc[len(f"http://{srv.host}:{srv.port}"):]
        pt = {"Content-Type": "application/offset+octet-stream"}
        st, h, _ = tus_req(srv, "PATCH", path, {**pt, "Upload-Offset": "0"},
                           data[:40000])
        eq((st, h.get("upload-offset")), (204, "40000"), "first PATCH")
        st, h, _ = tus_req(srv, "HEAD", path)
        eq((st, h.get("upload-offset"), h.get("upload-length")),
           (200, "40000", str(len(data))), "HEAD")
        check("no-store" in h.get("cache-control", ""), "HEAD no-store")
        st, _, _ = tus_req(srv, "PATCH", path, {**pt, "Upload-Offset": "10"},
                           data[10:50])
        eq(st, 409, "PATCH at a wrong offset")
        st, _, _ = tus_req(srv, "PATCH", path, {"Upload-Offset": "40000",
                                                "Content-Type": "text/plain"},
                           data[40000:])
        # The spec says 415; @tus/server 2.4 answers 400 (header check).
        check(st in (400, 415), f"PATCH with the wrong Content-Type: {st}")
        eq(srv.read_upload(loc), data[:40000], "stored bytes so far")
        st, h, _ = tus_req(srv, "PATCH", path, {**pt, "Upload-Offset": "40000"},
                           data[40000:])
        eq((st, h.get("upload-offset")), (204, str(len(data))), "last PATCH")
        uid = srv.upload_id(loc)
        eq(srv.read_upload(uid), data, "read back by id")
        eq(srv.read_upload(path), data, "read back by path")
        info = srv.upload_info(loc)
        eq((info["size"], info["stored_bytes"]), (len(data), len(data)))
        eq(info["metadata"].get("filename"), "000001.mp4", "metadata")
        eq(srv.list_uploads(), [uid])
        st, _, _ = tus_req(srv, "DELETE", path)
        eq(st, 204, "DELETE")
        st, _, _ = tus_req(srv, "HEAD", path)
        check(st in (404, 410), f"HEAD after DELETE: {st}")
        eq(srv.upload_info(loc), None, "info after DELETE")
        eq(srv.list_uploads(), [], "no upload after DELETE")


@case
def tus_restart():
    tool("node")
    with workdir() as wd:
        d = os.path.join(wd, "store")
        srv = TusServer(d)
        srv.start()
        try:
            port = srv.port
            data = pattern(300000, 31)
            st, h, _ = tus_req(srv, "POST", srv.path + "/",
                               {"Upload-Length": str(len(data))})
            eq(st, 201)
            loc = h["location"]
            pt = {"Content-Type": "application/offset+octet-stream"}
            tus_req(srv, "PATCH", loc, {**pt, "Upload-Offset": "0"},
                    data[:100000])
            old = srv.pid
            t = time.monotonic()
            srv.restart()
            log(f"tus restart took {time.monotonic() - t:.2f} s")
            check(not su.pids_alive([old]), "old server gone")
            eq(srv.port, port, "same port after restart")
            st, h, _ = tus_req(srv, "HEAD", loc)
            eq(h.get("upload-offset"), "100000", "offset after restart")
            tus_req(srv, "PATCH", loc, {**pt, "Upload-Offset": "100000"},
                    data[100000:])
            eq(srv.read_upload(loc), data, "bytes after restart")
            srv.kill()
            check(not srv.running())
            srv.start()
            eq(srv.read_upload(loc), data, "bytes after kill + start")
            pid = srv.pid
        finally:
            srv.stop()
        assert_stopped([pid], [port], d)
        check(os.path.isdir(d), "a given dir is kept")
        # The CLI.
        p = subprocess.Popen([sys.executable, os.path.join(HERE, "tus.py"),
                              "start", "--dir", d], stdout=subprocess.PIPE,
                             start_new_session=True)
        try:
            info = json.loads(p.stdout.readline())
            log(f"CLI: {json.dumps(info)}")
            c = http.client.HTTPConnection(info["host"], info["port"])
            c.request("OPTIONS", "/files/")
            check(c.getresponse().status in (200, 204), "CLI server answers")
            c.close()
            p.send_signal(signal.SIGTERM)
            eq(p.wait(15), 0, "tus.py exit status")
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
        assert_stopped([info["pid"]], [info["port"]], d)


# -- fault proxy --------------------------------------------------------------

class Target:
    """A small HTTP/1.1 origin on 127.0.0.1 for the proxy tests.

    GET/HEAD /bytes/N: N pattern bytes.  PUT/POST: reads the body
    (Content-Length or chunked) and answers {"len": n, "sha256": hex}.
    seen: the request lines it received."""

    def __init__(self):
        outer = self
        self.seen = []

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _reply(self, code, body, head_only=False):
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head_only:
                    self.wfile.write(body)

            def do_GET(self, head_only=False):
                outer.seen.append(self.requestline)
                m = re.match(r"/bytes/(\d+)", self.path)
                n = int(m.group(1)) if m else 2
                self._reply(200, pattern(n, 99) if m else b"ok", head_only)

            def do_HEAD(self):
                self.do_GET(head_only=True)

            def do_PUT(self):
                outer.seen.append(self.requestline)
                if "chunked" in self.headers.get("Transfer-Encoding", ""):
                    body = b""
                    while True:
                        size = int(self.rfile.readline().split(b";")[0], 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b""):
                                pass
                            break
                        body += self.rfile.read(size)
                        self.rfile.readline()
                else:
                    body = self.rfile.read(int(self.headers["Content-Length"]))
                self._reply(200, json.dumps({
                    "len": len(body),
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                }).encode())

            do_POST = do_PUT

        class S(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # resets are what the tests are about

        self.srv = S(("127.0.0.1", 0), H)
        self.port = self.srv.server_port
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


@contextlib.contextmanager
def proxied(**kw):
    t = Target()
    try:
        with FaultProxy(("127.0.0.1", t.port), **kw) as fp:
            yield fp, t
    finally:
        t.close()


def raw_exchange(port, request, sock=None, timeout=10):
    """Send request bytes, read one response (Content-Length framed).
    Returns (status, headers, body, sock)."""
    s = sock or socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(request)
    return read_response(s) + (s,)


def read_response(s, head_request=False):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise ConnectionError(f"EOF before response head: {buf!r}")
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip()
               for l in lines[1:]}
    n = 0 if head_request else int(headers.get("content-length", 0))
    while len(rest) < n:
        d = s.recv(65536)
        if not d:
            raise ConnectionError("EOF in body")
        rest += d
    return status, headers, rest[:n]


def put_req(path, body, extra=""):
    return (f"PUT {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}"
            f"\r\n{extra}\r\n").encode() + body


@case
def faultproxy_passthrough():
    with proxied() as (fp, t):
        reqs = [b"GET /bytes/1000 HTTP/1.1\r\nHost: t\r\n\r\n",
                put_req("/up", pattern(300000, 1)),
                b"HEAD /bytes/5000 HTTP/1.1\r\nHost: t\r\n\r\n",
                b"POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                b"\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n",
                b"GET /bytes/3 HTTP/1.1\r\nHost: t\r\n\r\n"]
        s = socket.create_connection(("127.0.0.1", fp.port), timeout=10)
        received = 0
        for r in reqs:
            s.sendall(r)
            head_req = r.startswith(b"HEAD")
            st, h, body = read_response(s, head_request=head_req)
            eq(st, 200, r[:20])
            received += len(body)
            if r.startswith(b"POST"):
                eq(json.loads(body)["len"], 11, "chunked body forwarded")
            if r.startswith(b"PUT"):
                eq(json.loads(body)["sha256"],
                   hashlib.sha256(pattern(300000, 1)).hexdigest())
        s.close()
        stats = fp.wait_until(lambda x: x["active"] == 0, 5)
        eq(stats["bytes_up"], sum(len(r) for r in reqs), "bytes_up exact")
        check(stats["bytes_down"] > received, "bytes_down counts heads too")
        eq((stats["requests"], stats["requests_forwarded"],
            stats["responses"], stats["connections"]), (5, 5, 5, 1))
        eq(stats["status"], {"200": 5})
        eq([r["method"] for r in fp.requests_log()],
           ["GET", "PUT", "HEAD", "POST", "GET"])
        eq(fp.requests_log()[1]["body_bytes"], 300000)
        # With curl (Expect: 100-continue for a > 1 MiB upload).
        curl = tool("curl")
        with tempfile.NamedTemporaryFile() as f:
            f.write(pattern(3 * MiB, 2))
            f.flush()
            r = subprocess.run([curl, "-sS", "-T", f.name,
                                f"{fp.url}/curl-up"], capture_output=True,
                               timeout=60)
        eq(json.loads(r.stdout)["len"], 3 * MiB, "curl upload via proxy")
        fp.reset_stats()
        eq(fp.stats()["requests"], 0, "reset_stats")


@case
def faultproxy_reset():
    with proxied() as (fp, t):
        body = pattern(1000000, 4)
        req = put_req("/r", body)
        fp.reset_after(100000, "up")
        s = socket.create_connection(("127.0.0.1", fp.port), timeout=10)
        try:
            s.sendall(req)
            read_response(s)
            raise AssertionError("no reset upstream")
        except (ConnectionResetError, BrokenPipeError, ConnectionError):
            pass
        s.close()
        st = fp.wait_until(lambda x: x["active"] == 0, 5)
        eq(st["bytes_up"], 100000, "exactly N bytes went upstream")
        eq(st["resets"], 1)
        eq(fp.faults()["reset"]["up"], None, "disarmed after times=1")
        # Passes through again.
        st_, _, b, s = raw_exchange(fp.port, req)
        s.close()
        eq(json.loads(b)["len"], len(body), "after the reset")
        # Downstream: the client gets exactly N bytes, then a reset.
        fp.reset_stats()
        fp.reset_after(50000, "down")
        s = socket.create_connection(("127.0.0.1", fp.port), timeout=10)
        s.sendall(b"GET /bytes/1000000 HTTP/1.1\r\nHost: t\r\n\r\n")
        got = b""
        err = None
        try:
            while True:
                d = s.recv(65536)
                if not d:
                    break
                got += d
        except OSError as e:
            err = e
        s.close()
        check(isinstance(err, ConnectionResetError), f"reset seen: {err!r}")
        eq(len(got), 50000, "exactly N bytes reached the client")
        eq(fp.stats()["bytes_down"], 50000)
        # times=2: two connections reset, the third passes.
        fp.reset_after(1000, "up", times=2)
        outcomes = []
        for _ in range(3):
            try:
                _, _, b, s = raw_exchange(fp.port, put_req("/t", pattern(5000)))
                s.close()
                outcomes.append(json.loads(b)["len"])
            except OSError:
                outcomes.append("reset")
        eq(outcomes, ["reset", "reset", 5000], "times=2")
        # reset_all: open connections die now.
        s = socket.create_connection(("127.0.0.1", fp.port), timeout=10)
        s.sendall(b"GET /bytes/1 HTTP/1.1\r\nHost: t\r\n\r\n")
        read_response(s)
        fp.wait_until(lambda x: x["active"] >= 1, 5)
        fp.reset_all()
        try:
            d = s.recv(10)
            check(d == b"", "connection survived reset_all")
        except ConnectionResetError:
            pass
        s.close()


@case
def faultproxy_slow():
    with proxied() as (fp, t):
        body = pattern(400000, 5)
        fp.slow(200000, "up")
        tm = time.monotonic()
        _, _, b, s = raw_exchange(fp.port, put_req("/s", body), timeout=30)
        s.close()
        up = time.monotonic() - tm
        eq(json.loads(b)["len"], len(body))
        fp.slow(None, "up")
        fp.slow(200000, "down")
        tm = time.monotonic()
        _, _, b, s = raw_exchange(
            fp.port, b"GET /bytes/400000 HTTP/1.1\r\nHost: t\r\n\r\n",
            timeout=30)
        s.close()
        down = time.monotonic() - tm
        eq(len(b), 400000)
        fp.slow(None)
        held = fp.stats()
        _, _, b, s = raw_exchange(fp.port, put_req("/s", body))
        s.close()
        after = fp.stats()
        log(f"400 kB at 200 kB/s: up {up:.2f} s, down {down:.2f} s")
        # A cap can only make a transfer slower: the lower bounds hold however
        # loaded the machine is. Whether a transfer was held back at all is
        # the proxy's own count, not the wall clock's.
        check(up > 1.7, f"upload throttled to ~2 s, took {up:.2f}")
        check(down > 1.7, f"download throttled to ~2 s, took {down:.2f}")
        check(held["throttled_up"] > 0 and held["throttled_down"] > 0, f"the cap held nothing back: {held}")
        eq(json.loads(b)["len"], len(body))
        eq((after["throttled_up"], after["throttled_down"]), (held["throttled_up"], held["throttled_down"]),
           "no throttle after slow(None)")
        # Shared by connections: two parallel 200 kB uploads at 200 kB/s.
        fp.slow(200000, "both")
        res = []

        def one():
            _, _, b, s = raw_exchange(fp.port, put_req("/p", pattern(200000)),
                                      timeout=30)
            s.close()
            res.append(json.loads(b)["len"])
        tm = time.monotonic()
        ths = [threading.Thread(target=one) for _ in range(2)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        both = time.monotonic() - tm
        log(f"2 x 200 kB in parallel at 200 kB/s: {both:.2f} s")
        eq(res, [200000, 200000])
        check(both > 1.7, f"shared cap, took {both:.2f}")


@case
def faultproxy_link():
    """slow() as a network link (the shift-change benchmark's uplink): never
    more than rate x t bytes in t seconds, measured on the proxy's own
    timeline; the timeline adds up to what was forwarded; a proxy that ran
    late with bytes waiting catches up on the time it lost (up to burst), an
    idle one does not."""
    rate, burst = 1_000_000, 0.5
    with proxied(control=True) as (fp, t):
        fp.slow(rate, "up", burst=burst)
        eq(fp.faults()["burst"], {"up": burst, "down": 0.02})
        body = pattern(1_500_000, 7)
        t0 = time.monotonic()
        _, _, b, s = raw_exchange(fp.port, put_req("/link", body), timeout=60)
        s.close()
        t1 = time.monotonic()
        eq(json.loads(b)["len"], len(body))
        st = fp.stats()
        tl = fp.timeline("up")
        eq(tl["bin"], 0.01)
        eq(sum(tl["bytes"]), st["bytes_up"], "timeline sums to bytes_up")
        check(st["bytes_up"] > len(body), "head and body counted")
        eq(fp.bytes_between(tl["start"], t1 + 1), st["bytes_up"], "bytes_between over everything")
        check(fp.bytes_between(t0 - 10, t0 - 5) == 0, "nothing before")
        # Never faster than the link: any window of k bins holds at most
        # rate x (k + 1) bins' time, plus the credit an idle link banks
        # (20 ms) and one bin of rounding.
        bins = tl["bytes"]
        for k in (1, 10, 50, 100):
            for i in range(0, max(1, len(bins) - k)):
                n = sum(bins[i:i + k])
                check(n <= rate * (k + 1) * 0.01 + rate * 0.02 + 65536,
                      f"{n} bytes in {k} bins from bin {i}")
        eq(fp.bytes_between(t0, t1, "down") <= st["bytes_down"], True)
        # Whole bins count exactly whatever the start's rounding (this start
        # gave a bin 1.0000000007 times its bytes).
        tl_exact = faultproxy._Timeline()
        tl_exact.start, tl_exact.bins = 5555.5551, [[0] * 5 + [300] for _ in faultproxy.DIRECTIONS]
        eq(tl_exact.bytes_between(5554.5, 5566, "down"), 300, "a whole bin")
        # Over the control channel too.
        ctl = FaultProxyClient(fp.control_url)
        eq(sum(ctl.timeline("up")["bytes"]), st["bytes_up"])
        eq(ctl.slow(rate, "up", burst=0.25)["burst"]["up"], 0.25)

        # The bucket itself, without the network: 0.3 s since the last look.
        b = fp._buckets["up"]
        with fp._mu:
            b.tokens, b.last, b.backlog = 0.0, time.monotonic() - 0.3, True
        n = asyncio.run(fp._take("up", 10 * rate))
        check(n >= 0.25 * rate, f"late with a backlog: caught up {n} bytes")
        check(n <= burst * rate + 1, f"but at most burst's worth: {n}")
        with fp._mu:
            b.tokens, b.last, b.backlog = 0.0, time.monotonic() - 0.3, False
        n = asyncio.run(fp._take("up", 10 * rate))
        check(n <= 0.02 * rate + 1, f"idle: banked {n} bytes, 20 ms at most")
        fp.reset_stats()
        eq(sum(fp.timeline("up")["bytes"]), 0, "reset_stats clears it")


@case
def faultproxy_fail():
    with proxied() as (fp, t):
        # 500 for a PUT with a body: body drained, keep-alive, target never
        # sees the request.
        fp.fail_requests(1, 500)
        body = pattern(200000, 6)
        st, h, b, s = raw_exchange(fp.port, put_req("/f", body))
        eq(st, 500, "canned 500")
        eq(xml_of(b).findtext("Code"), "InternalError")
        eq(h.get("x-faultproxy"), "injected")
        st, _, b, s = raw_exchange(fp.port, b"GET /bytes/10 HTTP/1.1\r\n"
                                   b"Host: t\r\n\r\n", sock=s)
        eq((st, len(b)), (200, 10), "same connection after the 500")
        s.close()
        eq(t.seen, ["GET /bytes/10 HTTP/1.1"], "target never saw the PUT")
        stats = fp.stats()
        eq((stats["injected"], stats["dropped_up"]), (1, len(body)))
        # 503 twice: a chunked POST and a HEAD, then a pass.
        fp.fail_requests(2, 503, retry_after=1)
        s = socket.create_connection(("127.0.0.1", fp.port), timeout=10)
        s.sendall(b"POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: "
                  b"chunked\r\n\r\n4\r\nabcd\r\n0\r\nX-T: 1\r\n\r\n")
        st, h, b = read_response(s)
        eq((st, xml_of(b).findtext("Code"), h.get("retry-after")),
           (503, "SlowDown", "1"))
        s.sendall(b"HEAD /bytes/77 HTTP/1.1\r\nHost: t\r\n\r\n")
        st, h, b = read_response(s, head_request=True)
        eq((st, b), (503, b""), "HEAD answered without a body")
        s.sendall(b"GET /bytes/5 HTTP/1.1\r\nHost: t\r\n\r\n")
        st, _, b = read_response(s)
        eq((st, len(b)), (200, 5), "third request passes")
        s.close()
        # Expect: 100-continue: answered at once, connection closed, body
        # never needed.
        fp.fail_requests(1, 503)
        s = socket.create_connection(("127.0.0.1", fp.port), timeout=10)
        s.sendall(b"PUT /e HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        st, h, _ = read_response(s)
        eq((st, h.get("connection")), (503, "close"), "Expect: 100-continue")
        s.shutdown(socket.SHUT_WR)
        eq(s.recv(10), b"", "closed after the answer")
        s.close()
        # close=True.
        fp.fail_requests(1, 500, close=True, body="nope")
        st, h, b, s = raw_exchange(fp.port, b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        eq((st, b, h.get("connection")), (500, b"nope", "close"))
        eq(s.recv(10), b"", "closed")
        s.close()
        # curl with a 3 MiB upload (curl sends Expect: 100-continue).
        curl = tool("curl")
        fp.fail_requests(1, 503)
        with tempfile.NamedTemporaryFile() as f:
            f.write(pattern(3 * MiB, 8))
            f.flush()
            r = subprocess.run([curl, "-sS", "-o", "/dev/null", "-w",
                                "%{http_code}", "-T", f.name,
                                f"{fp.url}/cu"], capture_output=True,
                               timeout=60)
            eq(r.stdout, b"503", "curl sees the 503")
            r = subprocess.run([curl, "-sS", "-T", f.name, f"{fp.url}/cu"],
                               capture_output=True, timeout=60)
            eq(json.loads(r.stdout)["len"], 3 * MiB, "then passes")
        log(f"stats: {fp.stats()}")


@case
def faultproxy_blackhole():
    with proxied() as (fp, t):
        # An open connection freezes mid-download.
        s1 = socket.create_connection(("127.0.0.1", fp.port), timeout=10)
        s1.sendall(b"GET /bytes/1 HTTP/1.1\r\nHost: t\r\n\r\n")
        read_response(s1)
        fp.blackhole()
        s2 = socket.create_connection(("127.0.0.1", fp.port), timeout=10)
        s2.sendall(b"GET /bytes/10 HTTP/1.1\r\nHost: t\r\n\r\n")
        s1.sendall(b"GET /bytes/20 HTTP/1.1\r\nHost: t\r\n\r\n")
        for s in (s1, s2):
            s.settimeout(1.0)
            try:
                d = s.recv(100)
                raise AssertionError(f"answer while blackholed: {d!r}")
            except socket.timeout:
                pass
        eq(len(t.seen), 1, "the target saw nothing while blackholed")
        eq(fp.stats()["connections"], 2, "connection accepted")
        fp.blackhole(False)
        for s, n in ((s1, 20), (s2, 10)):
            s.settimeout(10)
            st, _, b = read_response(s)
            eq((st, len(b)), (200, n), "answer once lifted")
            s.close()


@case
def faultproxy_refuse():
    with proxied() as (fp, t):
        # Connected just before: the kernel accepted it, so it must work.
        s1 = socket.create_connection(("127.0.0.1", fp.port), timeout=10)
        fp.refuse()
        try:
            socket.create_connection(("127.0.0.1", fp.port), 2).close()
            raise AssertionError("connection accepted while refusing")
        except ConnectionRefusedError:
            pass
        st, _, b, _ = raw_exchange(fp.port, b"GET /bytes/3 HTTP/1.1\r\n"
                                   b"Host: t\r\n\r\n", sock=s1)
        eq((st, len(b)), (200, 3), "an open connection still works")
        s1.close()
        fp.refuse(False)
        st, _, b, s = raw_exchange(fp.port, b"GET /bytes/4 HTTP/1.1\r\n"
                                   b"Host: t\r\n\r\n")
        s.close()
        eq((st, len(b)), (200, 4), "accepting again on the same port")
    # Target down: the proxy accepts, cannot connect upstream, resets.
    dead = su.reserve_port()
    with FaultProxy(("127.0.0.1", dead.port)) as fp:
        try:  # the reset can even beat connect() back to the client
            s = socket.create_connection(("127.0.0.1", fp.port), timeout=10)
            s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            eq(s.recv(10), b"", "EOF or reset when the target is down")
            s.close()
        except (ConnectionResetError, BrokenPipeError):
            pass
        fp.wait_until(lambda x: x["upstream_connect_errors"] == 1, 5)
    dead.release()


@case
def faultproxy_control():
    curl = tool("curl")
    t = Target()
    try:
        with FaultProxyProcess(("127.0.0.1", t.port)) as fp:
            log(f"CLI: {json.dumps(fp.info)}")
            fp.fail_requests(1, 500)
            st, _, _, s = raw_exchange(fp.port, b"GET / HTTP/1.1\r\nHost: t"
                                       b"\r\n\r\n")
            s.close()
            eq(st, 500, "fault set over the control channel")
            r = subprocess.run([curl, "-sS", f"{fp.control_url}/stats"],
                               capture_output=True, timeout=10)
            eq(json.loads(r.stdout)["injected"], 1, "stats with curl")
            r = subprocess.run([curl, "-sS",
                                f"{fp.control_url}/fail?count=1&status=503"],
                               capture_output=True, timeout=10)
            eq(json.loads(r.stdout)["faults"]["fail"]["status"], 503)
            st, _, _, s = raw_exchange(fp.port, b"GET / HTTP/1.1\r\nHost: t"
                                       b"\r\n\r\n")
            s.close()
            eq(st, 503, "fault set with curl")
            fp.reset_after(10, "down")
            eq(fp.faults()["reset"]["down"]["after"], 10)
            fp.slow(1000)
            eq(fp.faults()["slow"], {"up": 1000.0, "down": 1000.0})
            fp.blackhole()
            fp.refuse()
            f = fp.faults()
            check(f["blackhole"] and f["refuse"])
            fp.passthrough()
            eq(fp.faults(), {"reset": {"up": None, "down": None},
                             "slow": {"up": None, "down": None},
                             "burst": {"up": 0.02, "down": 0.02},
                             "fail": None, "blackhole": False,
                             "refuse": False, "rules": []})
            st, _, _, s = raw_exchange(fp.port, b"GET / HTTP/1.1\r\nHost: t"
                                       b"\r\n\r\n")
            s.close()
            eq(st, 200)
            eq(len(fp.requests_log()), 3)
            r = subprocess.run([curl, "-sS", f"{fp.control_url}/bogus"],
                               capture_output=True, timeout=10)
            eq(json.loads(r.stdout)["ok"], False, "unknown control path")
            pid = fp.info["pid"]
            ports = [fp.port, fp.info["control_port"]]
        # This proxy's own command line (its target is this case's port):
        # another run's proxies on the same machine are not strays of this one.
        assert_stopped([pid], ports, f"faultproxy.py --target 127.0.0.1:{t.port} ")
    finally:
        t.close()


@case
def faultproxy_swift():
    """The proxy in front of Swift: SigV4 survives it, faults reach the S3
    client as they would from a real server, requests can be counted."""
    with SwiftServer(buckets=["viaproxy"]) as sw, \
            FaultProxy(("127.0.0.1", sw.ports["proxy"])) as fp:
        s3 = S3Client(fp.url, sw.access_key, sw.secret_key)
        key = "seg.mp4"
        parts = [pattern(5 * MiB, 40), pattern(2 * MiB, 41)]
        uid = s3.create_multipart_upload("viaproxy", key)
        fp.fail_requests(1, 503)
        try:
            s3.upload_part("viaproxy", key, uid, 1, parts[0])
            raise AssertionError("503 not seen")
        except S3Error as e:
            eq((e.status, e.code), (503, "SlowDown"))
        fp.reset_after(3 * MiB, "up")
        try:
            s3.upload_part("viaproxy", key, uid, 1, parts[0])
            raise AssertionError("reset not seen")
        except (ConnectionError, OSError):
            s3.close()
        etags = [s3.upload_part("viaproxy", key, uid, n, p)
                 for n, p in enumerate(parts, 1)]
        s3.complete_multipart_upload("viaproxy", key, uid, list(enumerate(etags, 1)))
        check(s3.get_object("viaproxy", key) == b"".join(parts), "bytes via proxy")
        part_puts = [r for r in fp.requests_log()
                     if r["method"] == "PUT" and "partNumber=1" in r["target"]]
        eq(len(part_puts), 3, "part 1 sent three times")
        eq([r["status"] for r in part_puts], [503, None, 200])
        eq([r["injected"] for r in part_puts], [True, False, False])
        log(f"stats: {fp.stats()}")


@case
def faultproxy_tus():
    """A PATCH cut by a reset: the tus server keeps a prefix of what it
    received, HEAD says how much, and the upload resumes from there."""
    tool("node")
    with TusServer() as srv, \
            FaultProxy(("127.0.0.1", srv.port)) as fp:
        data = pattern(2 * MiB, 50)
        c = http.client.HTTPConnection("127.0.0.1", fp.port, timeout=30)
        c.request("POST", "/files/", headers={"Tus-Resumable": "1.0.0",
                                              "Upload-Length": str(len(data))})
        r = c.getresponse()
        r.read()
        loc = r.getheader("Location")
        check(loc.startswith(fp.url), f"Location via the proxy: {loc}")
        fp.reset_stats()
        fp.reset_after(MiB, "up")
        head = ("PATCH {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nTus-Resumable: "
                "1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/"
                "offset+octet-stream\r\nContent-Length: {}\r\n\r\n").format(
                    loc[len(fp.url):], fp.port, len(data)).encode()
        s = socket.create_connection(("127.0.0.1", fp.port), timeout=10)
        try:
            s.sendall(head + data)
            read_response(s)
            raise AssertionError("no reset")
        except OSError:
            pass
        s.close()
        body_through = MiB - len(head)
        eq(fp.stats()["bytes_up"], MiB, "bytes through before the reset")
        # The server keeps what it wrote before it saw the reset: usually
        # every byte that reached it, sometimes less (node aborts the
        # request stream while a file write is pending).  HEAD tells.
        last, stable_since = None, time.monotonic()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            st, h, _ = tus_req(srv, "HEAD", loc[len(fp.url):])
            off = int(h["upload-offset"])
            if off != last:
                last, stable_since = off, time.monotonic()
            elif time.monotonic() - stable_since > 0.3:
                break
            time.sleep(0.05)
        offset = last
        log(f"reset after {body_through} body bytes; server kept {offset}")
        check(0 <= offset <= body_through, f"offset {offset}")
        eq(srv.read_upload(loc), data[:offset], "stored prefix")
        body_through = offset
        c = http.client.HTTPConnection("127.0.0.1", fp.port, timeout=30)
        c.request("PATCH", loc, body=data[body_through:], headers={
            "Tus-Resumable": "1.0.0", "Upload-Offset": str(body_through),
            "Content-Type": "application/offset+octet-stream"})
        r = c.getresponse()
        r.read()
        eq(r.status, 204, "resumed PATCH")
        eq(srv.read_upload(loc), data, "complete upload")


def future_date(days):
    t = time.time() + days * 86400
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@case
def faultproxy_rules():
    """Rules: canned answers for the requests they match (method, target,
    header, its value, a past date), with a count; header stripping; the
    request log with headers; the same over the control channel."""
    with proxied(log_headers=True) as (fp, t):
        rid = fp.answer(404, {"X-Why": "rule"}, "gone", method="GET",
                        path=r"^/bytes/7$", count=2)
        for _ in range(2):
            st, h, b, s = raw_exchange(fp.port, b"GET /bytes/7 HTTP/1.1\r\n"
                                       b"Host: t\r\n\r\n")
            s.close()
            eq((st, h.get("x-why"), b), (404, "rule", b"gone"), "answered")
        st, _, b, s = raw_exchange(fp.port, b"GET /bytes/7 HTTP/1.1\r\n"
                                   b"Host: t\r\n\r\n")
        s.close()
        eq((st, len(b)), (200, 7), "count spent: forwarded")
        eq(fp.faults()["rules"], [], "a spent rule is gone")
        st, _, b, s = raw_exchange(fp.port, put_req("/bytes/7", b"x"))
        s.close()
        eq(st, 200, "other method: forwarded")
        recs = fp.requests_log()
        eq([r["rule"] for r in recs], [rid, rid, None, None])
        eq(recs[0]["headers"].get("host"), "t", "headers logged")
        eq(fp.stats()["ruled"], 2)
        # Header present and its value; for ever (count None); removed.
        rid = fp.answer(201, {"Location": "/x"}, header="x-mode",
                        header_value="^lie$")
        for mode, want in (("lie", 201), ("truth", 200), ("lie", 201)):
            st, _, _, s = raw_exchange(fp.port, put_req("/h", b"abc",
                                                        f"X-Mode: {mode}\r\n"))
            s.close()
            eq(st, want, f"X-Mode {mode}")
        fp.remove_rule(rid)
        st, _, _, s = raw_exchange(fp.port, put_req("/h", b"abc",
                                                    "X-Mode: lie\r\n"))
        s.close()
        eq(st, 200, "removed")
        # Retention dates: past refused (S3's answer), future forwarded.
        fp.refuse_past_retention()
        for date, want in (("2020-01-01T00:00:00Z", 400),
                           (future_date(30), 200),
                           ("Wed, 01 Jan 2020 00:00:00 GMT", 400)):
            st, _, b, s = raw_exchange(fp.port, put_req(
                "/r", b"abc", f"x-amz-object-lock-retain-until-date: {date}\r\n"))
            s.close()
            eq(st, want, f"retain-until {date}")
            if want == 400:
                eq(xml_of(b).findtext("Code"), "InvalidArgument")
        st, _, _, s = raw_exchange(fp.port, put_req("/r", b"abc"))
        s.close()
        eq(st, 200, "no retention header: forwarded")
        fp.clear_rules()
        # Stripped headers never reach the target.
        fp.strip_headers(["If-None-Match"], method="PUT")
        st, _, b, s = raw_exchange(fp.port, put_req(
            "/s", b"abc", "If-None-Match: *\r\nX-Keep: 1\r\n"))
        s.close()
        seen = json.loads(b)["headers"]
        check("if-none-match" not in seen and seen.get("x-keep") == "1", seen)
        eq(fp.requests_log()[-1]["headers"].get("if-none-match"), "*",
           "the log shows what the client sent")
        fp.passthrough()
        eq(fp.faults()["rules"], [], "passthrough clears rules")
    t = Target()
    try:
        with FaultProxyProcess(("127.0.0.1", t.port)) as fp:
            rid = fp.answer(503, body="over the control channel", method="GET")
            st, _, b, s = raw_exchange(fp.port, b"GET / HTTP/1.1\r\nHost: t"
                                       b"\r\n\r\n")
            s.close()
            eq((st, b), (503, b"over the control channel"))
            eq([r["id"] for r in fp.faults()["rules"]], [rid])
            fp.clear_rules()
            eq(fp.faults()["rules"], [])
    finally:
        t.close()


def stream_for(port, request, seconds):
    """Send request, read what comes for seconds, close.  (head, body)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(request)
    s.settimeout(0.2)
    buf = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        if not d:
            break
        buf += d
    s.close()
    head, _, body = buf.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


@case
def faultproxy_streams():
    """trickle: a head announcing a huge body, then a few bytes per second;
    endless_body: a chunked body without end.  Both never faster than their
    rate, both stop when the client goes away, and the log says when."""
    with proxied() as (fp, t):
        fp.trickle(10, method="POST", count=1)
        t0 = time.monotonic()
        head, body = stream_for(fp.port, b"POST /t HTTP/1.1\r\nHost: t\r\n"
                                b"Content-Length: 3\r\n\r\nabc", 1.5)
        took = time.monotonic() - t0
        check(head.startswith("HTTP/1.1 200") and "Content-Length: 1099511627776" in head, head)
        check(0 < len(body) <= 10 * took + 1, f"{len(body)} bytes in {took:.2f} s at 10 B/s")
        rec = fp.requests_log()[-1]
        fp.wait_until(lambda _: fp.requests_log()[-1]["client_gone_after"] is not None, 10)
        rec = fp.requests_log()[-1]
        check(rec["client_gone_after"] >= 1.0 and rec["body_bytes"] == 3, rec)
        eq(t.seen, [], "never forwarded")
        rate = 200_000
        fp.endless_body(rate, status=201, headers={"Location": "/e"}, path="^/e$")
        t0 = time.monotonic()
        head, body = stream_for(fp.port, b"GET /e HTTP/1.1\r\nHost: t\r\n\r\n", 1.0)
        took = time.monotonic() - t0
        check(head.startswith("HTTP/1.1 201") and "Transfer-Encoding: chunked" in head
              and "Location: /e" in head, head)
        # Valid chunks, all of them full ones.
        n, rest = 0, body
        while b"\r\n" in rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line, 16)
            if len(rest) < size + 2:
                break
            check(size > 0 and rest[size:size + 2] == b"\r\n", "chunk framing")
            n += size
            rest = rest[size + 2:]
        check(n > 0 and len(body) <= rate * took * 1.1 + 65536,
              f"{len(body)} bytes in {took:.2f} s at {rate} B/s")
        fp.wait_until(lambda _: fp.requests_log()[-1]["client_gone_after"] is not None, 10)
        rec = fp.requests_log()[-1]
        check(rec["answer_bytes"] >= n, rec)
        st, _, b, s = raw_exchange(fp.port, b"GET /bytes/3 HTTP/1.1\r\nHost: t\r\n\r\n")
        s.close()
        eq((st, len(b)), (200, 3), "other requests pass")


@case
def faultproxy_swift_rules():
    """In front of Swift: a store that ignores If-None-Match (Swift itself
    refuses conditional PUTs with 501): the proxy strips the header and signs
    the request again; one that honours it (emulated); and an Object Lock
    store's 400 for a past date."""
    with SwiftServer(buckets=["rules"]) as sw, \
            FaultProxy(("127.0.0.1", sw.ports["proxy"])) as fp:
        direct = sw.client()
        try:
            direct.put_object("rules", "k", b"one", headers={"If-None-Match": "*"})
            raise AssertionError("Swift took a conditional PUT")
        except S3Error as e:
            eq((e.status, e.code), (501, "NotImplemented"), "Swift and If-None-Match")
        s3 = S3Client(fp.url, sw.access_key, sw.secret_key)
        fp.strip_headers(["If-None-Match"], count=1)
        try:
            s3.put_object("rules", "k", b"one", headers={"If-None-Match": "*"})
            raise AssertionError("stripped without signing again, yet accepted")
        except S3Error as e:
            eq((e.status, e.code), (403, "SignatureDoesNotMatch"), "unsigned strip")
        fp.strip_headers(["If-None-Match"], secret_key=sw.secret_key)
        for body in (b"one", b"two"):
            s3.put_object("rules", "k", body, headers={"If-None-Match": "*"})
        eq(direct.get_object("rules", "k"), b"two", "the store ignored If-None-Match")
        uid = s3.create_multipart_upload("rules", "m")
        etag = s3.upload_part("rules", "m", uid, 1, b"part")
        r = s3.request("POST", "rules", "m", query=[("uploadId", uid)],
                       headers={"If-None-Match": "*"},
                       body=("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
                             f"<ETag>\"{etag}\"</ETag></Part></CompleteMultipartUpload>").encode())
        eq(r.status, 200, "Complete re-signed")
        fp.clear_rules()
        # A store that honours it (emulated).
        fp.honour_if_none_match(sw.access_key, sw.secret_key)
        s3.put_object("rules", "c", b"first", headers={"If-None-Match": "*"})
        for headers in ({"If-None-Match": "*"}, {"If-None-Match": " * "}):
            try:
                s3.put_object("rules", "c", b"second", headers=headers)
                raise AssertionError("an existing key overwritten despite If-None-Match")
            except S3Error as e:
                eq((e.status, e.code), (412, "PreconditionFailed"), "conditional PUT")
        eq(direct.get_object("rules", "c"), b"first", "the first is kept")
        uid = s3.create_multipart_upload("rules", "c")
        etag = s3.upload_part("rules", "c", uid, 1, b"part")
        xml = ("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
               f"<ETag>\"{etag}\"</ETag></Part></CompleteMultipartUpload>").encode()
        r = s3.request("POST", "rules", "c", query=[("uploadId", uid)],
                       headers={"If-None-Match": "*"}, body=xml, check=False)
        eq(r.status, 412, "conditional Complete onto an existing key")
        eq(direct.get_object("rules", "c"), b"first", "still the first")
        s3.put_object("rules", "c", b"unconditional")
        eq(direct.get_object("rules", "c"), b"unconditional", "no header, no condition")
        fp.clear_rules()
        fp.refuse_past_retention()
        hdr = "x-amz-object-lock-retain-until-date"
        try:
            s3.put_object("rules", "old", b"x", headers={hdr: "2021-01-01T00:00:00Z",
                                                         "x-amz-object-lock-mode": "COMPLIANCE"})
            raise AssertionError("past retain-until accepted")
        except S3Error as e:
            eq((e.status, e.code), (400, "InvalidArgument"), "past date")
        s3.put_object("rules", "new", b"x", headers={hdr: future_date(90),
                                                     "x-amz-object-lock-mode": "COMPLIANCE"})
        check(direct.head_object("rules", "old") is None, "refused object stored")
        check(direct.head_object("rules", "new") is not None, "future date not forwarded")


@case
def tus_name_by_key():
    """--name-by-key: the upload id is the metadata key ('/' as '~'); a
    second creation for that key answers with the first upload, untouched."""
    tool("node")
    import base64
    with TusServer(name_by_key=True) as srv:
        col = srv.path + "/"
        key = "evidence/BWC-1/REC/000000.mp4"
        md = "key " + base64.b64encode(key.encode()).decode()
        data = pattern(1000, 61)
        st, h, _ = tus_req(srv, "POST", col, {"Upload-Length": str(len(data)), "Upload-Metadata": md})
        eq(st, 201, "create")
        loc = h["location"]
        check(loc.endswith("/evidence~BWC-1~REC~000000.mp4"), loc)
        path = loc[len(f"http://{srv.host}:{srv.port}"):]
        st, h, _ = tus_req(srv, "PATCH", path, {"Content-Type": "application/offset+octet-stream",
                                               "Upload-Offset": "0"}, data)
        eq(st, 204, "PATCH")
        st, h, _ = tus_req(srv, "POST", col, {"Upload-Length": "5", "Upload-Metadata": md})
        eq((st, h["location"]), (201, loc), "same key, same upload")
        eq(srv.read_upload(loc), data, "the existing upload is untouched")
        eq(srv.upload_info(loc)["size"], len(data), "its length is kept")
        st, h, _ = tus_req(srv, "HEAD", path)
        eq((h["upload-offset"], h["upload-length"]), (str(len(data)), str(len(data))))
        st, h, _ = tus_req(srv, "POST", col, {"Upload-Length": "5"})
        eq(st, 201, "no key: a random id")
        check("~" not in h["location"], h["location"])


def main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 2
    if argv[1] == "--list":
        print("\n".join(CASES))
        return 0
    fn = CASES.get(argv[1])
    if fn is None:
        print(f"unknown case {argv[1]!r}; --list lists them")
        return 2
    t = time.monotonic()
    try:
        fn()
    except Skip as e:
        print(f"SKIP {argv[1]}: {e}")
        return 77
    except Exception:
        traceback.print_exc()
        print(f"FAIL {argv[1]} ({time.monotonic() - t:.1f} s)")
        return 1
    print(f"PASS {argv[1]} ({time.monotonic() - t:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
