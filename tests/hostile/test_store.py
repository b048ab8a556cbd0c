#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The one promise against a faulty or hostile store and webhook (issue 12,
items 1-5): the real dockd, in vdock's world or as tests/upload/dockd-upload,
against the file backend, Swift's s3api and a tus server, with
tests/servers/faultproxy.py making them lie. Each case is one meson test:
`test_store.py CASE`; every one of them fails on the code they were written
against, and says why.

What the fixes must implement (the interfaces these cases pin down):

Item 1, write-once at the key level, on every backend. A key that holds other
bytes is never overwritten and its object never deleted; dockd raises an
integrity alert (MESSAGE_ID=0e83f0e743c94d5bb2707a636bddc224, naming the
segment in DOCKD_SEGMENT or the key in the message) and stores its own bytes
under the conflict key `<key>.conflict-<sha256 of its bytes, hex>`
(tests/hostile/storetest.py); the segment stays on the camera.
- S3: `If-None-Match: *` on PutObject and CompleteMultipartUpload; whether
  the store honours it is found out at start-up (not per object): Swift 2.30
  answers a conditional PUT with 501 and ignores the header on Complete, and
  the fault proxy can make a store that ignores it on PUT too, or one that
  honours it (412 PreconditionFailed, emulated). Where it is not
  honoured, a HEAD (or GET) of the key precedes every PutObject and Complete,
  and the README states that such a store needs versioning or Object Lock
  for the remaining race.
- file: the object is created without replacing (renameat2 RENAME_NOREPLACE
  or link), never check-then-rename. The race case holds dockd (fanotify) as
  it creates its temporary file in <path>/.incoming/<dock>/, while its spool
  copy of the object is open, and writes the key as another dock would.
- tus: an upload that is not fresh (the creation answered with an upload
  that already holds bytes, as a server naming uploads by key does) is never
  terminated or written into.

Item 2, retention: retain-until >= max(start_time, time of pull) + the
category's retention, whatever the camera's clock says; a 4xx that will
never succeed (here: 400 to every Object-Lock-bearing request, a bucket
without Object Lock) is permanent: an alert, the segment stays on the
camera, at most two attempts per object in the 12 s after the first refusal
(retry_initial=200ms, retry_max=2s would make about eight).

Item 3, webhook: the answer's body never reaches dockd's stdout or journal
beyond a bounded excerpt with control characters escaped; at most 1 MiB of
it is read (2 MiB allowed for buffers); the request goes through dockd's
HTTP layer (http.c), which names itself `User-Agent: dockd/VERSION`.

Item 4, tus and HTTP edges: an upload URL (Location) on another origin than
[tus] endpoint gets neither the credentials nor any evidence; a 404 on the
read-back plus OPTIONS announcing the checksum extension with sha256 is no
confirmation; every request has a deadline ([s3]/[tus] timeout=2s here: an
answer trickling a few bytes a second is given up within 60 s and the
object then uploaded); a body that is not kept is read to at most 1 MiB.

Item 5: two reports for one camera within one second (here dockd's clock
is frozen with libfaketime) get two names and both reach central storage;
custody files and reports over 1 MiB are uploaded like any other."""

import ctypes
import datetime
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from storetest import (EXTS, INTEGRITY_ALERT, STORAGE_FAILING, MiB, S3Central, StoreRig, TusCentral,  # noqa: E402
                       check_write_once, lock_requests, plant_originals, scenario, tus_metadata,
                       wait_settled)
import dockdtest  # noqa: E402
from dockdtest import (Dockd, PrivateBus, Rig, TempDir, TestFailure, check, in_private_mount_ns,  # noqa: E402
                       make_ca, run_cases, run_in_vdock, wait_for, write_config)
import uploadtest  # noqa: E402
from uploadtest import BUCKET, run_upload  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402
from tus import TusServer  # noqa: E402
from webhook import Webhook  # noqa: E402

SOURCE_DIR = dockdtest.SOURCE_DIR
DAY = 86400


def case(name):
    def reg(fn):
        dockdtest._cases[name] = fn
        return fn
    return reg


# ======================================================================
# Item 1: write-once at the key level
# ======================================================================

def write_once_case(backend, scen, why, store=None, config=None, before_start=None, extra_checks=None):
    """The first segment's three keys hold other bytes before dockd comes."""
    s = StoreRig(backend, scen, store=store, config=config, name="write-once")
    try:
        cam, seg = s.segment(0)
        originals = plant_originals(s, cam, seg)
        state = before_start(s, cam, seg) if before_start else None
        s.rig.start()
        keys = [s.key(cam, seg, e) for e in EXTS]
        ended = wait_settled(s, keys)
        print(f"waited until: {ended}")
        extra = extra_checks(s, cam, seg, state) if extra_checks else []
        check_write_once(s, cam, seg, originals, f"{why}; waited until {ended}", extra)
        s.rig.stop()
    finally:
        s.cleanup()


@case("s3-put-existing")
def s3_put_existing():
    """Swift: PutObject of a small segment onto keys that hold other bytes."""
    write_once_case("s3", "store-small.ini", "S3 PutObject onto existing keys")


@case("s3-complete-existing")
def s3_complete_existing():
    """Swift: a 12 MiB segment (multipart, Complete) onto keys that hold other
    bytes. Swift ignores If-None-Match on CompleteMultipartUpload."""
    write_once_case("s3", "store-big.ini", "S3 CompleteMultipartUpload onto existing keys")


def evidence_request(r):
    """(key, "write" | "look" | None) of a request the fault proxies saw:
    PutObject or CompleteMultipartUpload of an evidence key, or a HEAD/GET of
    one."""
    path, _, query = r["target"].partition("?")
    key = path[len(f"/{BUCKET}/"):] if path.startswith(f"/{BUCKET}/evidence/") else None
    if key is None:
        return None, None
    if (r["method"] == "PUT" and "partNumber=" not in query) or (r["method"] == "POST" and "uploadId=" in query):
        return key, "write"
    if r["method"] in ("HEAD", "GET") and "uploadId=" not in query:
        return key, "look"
    return key, None


def evidence_writes_checked_first(s):
    """Problems: PutObject/Complete of an evidence key not preceded by a HEAD
    or GET of that key since the previous write of it."""
    problems = []
    looked = set()
    for r in uploadtest.requests_seen():
        key, kind = evidence_request(r)
        if kind == "look":
            looked.add(key)
        elif kind == "write":
            if key not in looked:
                problems.append(f"{r['method']} {r['target']} without a HEAD of the key before it "
                                f"(the store ignores If-None-Match)")
            looked.discard(key)
    return problems


@case("s3-store-ignores-if-none-match")
def s3_store_ignores_if_none_match():
    """A store that ignores If-None-Match (the fault proxy strips it and signs
    the request again): found out once at start-up, then a HEAD before every
    write of an evidence key; the original is kept."""
    def before(s, cam, seg):
        s.central.fp.strip_headers(["If-None-Match"], secret_key=s.central.sw.secret_key)

    def extra(s, cam, seg, state):
        problems = evidence_writes_checked_first(s)
        said = [m for m in s.messages() if "If-None-Match" in m]
        if not said:
            problems.append("dockd never said that the store ignores If-None-Match")
        elif len(said) > 2:
            problems.append(f"If-None-Match discussed {len(said)} times: found out per object, not at start-up")
        return problems
    write_once_case("s3", "store-small.ini", "a store that ignores If-None-Match", before_start=before,
                    extra_checks=extra)


def evidence_writes(s):
    """PutObject and CompleteMultipartUpload requests of evidence keys."""
    return [r for r in uploadtest.requests_seen() if evidence_request(r)[1] == "write"]


@case("s3-store-honours-if-none-match")
def s3_store_honours_if_none_match():
    """A store that honours If-None-Match (the fault proxy emulates one in
    front of Swift): every evidence write carries it, and the 412 is the
    conflict."""
    def before(s, cam, seg):
        s.central.fp.honour_if_none_match(s.central.sw.access_key, s.central.sw.secret_key)

    def extra(s, cam, seg, state):
        return [f"{r['method']} {r['target']} without If-None-Match: *" for r in evidence_writes(s)
                if r["headers"].get("if-none-match", "").strip() != "*"]
    write_once_case("s3", "store-small.ini", "a store that honours If-None-Match", before_start=before,
                    extra_checks=extra)


@case("file-existing")
def file_existing():
    """The file backend: the keys exist with other bytes."""
    write_once_case("file", "store-small.ini", "file backend, existing keys")


@case("file-dock-key-existing")
def file_dock_key_existing():
    """Another dock's (or a forger's) key and certificate already sit under
    this dock's custody keys: they stay as they are, ours go under the
    conflict keys, and the log names each object (it said "Custody log n/a")."""
    s = StoreRig("file", "store-small.ini", name="dock-key")
    try:
        planted = {}
        for name in ("dock-key.pub.pem", "dock-cert.pem"):
            planted[name] = f"not this dock's {name}\n".encode()
            s.central.plant(f"custody/test-dock/{name}", planted[name])
        s.rig.start()
        ours = {"dock-key.pub.pem": os.path.join(s.rig.state, "custody", "dock-key.pub.pem"),
                "dock-cert.pem": os.path.join(s.rig.state, "custody", "dock-cert.pem")}

        def conflicts_named():
            msgs = s.messages()
            return all(any(f"custody/{n} cannot be uploaded" in m and "other bytes" in m for m in msgs)
                       for n in planted)
        try:
            wait_for(conflicts_named, 60, what="dockd to name both refused custody objects")
        except TestFailure:
            print("\n".join(m for m in s.messages() if "custody" in m.lower()))
            raise
        for name, data in planted.items():
            check(s.central.fetch(f"custody/test-dock/{name}") == data, f"the planted {name} was changed")
            with open(ours[name], "rb") as f:
                mine = f.read()
            key = f"custody/test-dock/{name}.conflict-{hashlib.sha256(mine).hexdigest()}"
            check(s.central.fetch(key) == mine, f"the dock's own {name} is not under {key}")
        check(not any("n/a cannot be uploaded" in m for m in s.messages()), "a refused upload is not named")
        # Stored under the conflict key counts as stored: later custody rounds
        # do not raise the same alert again. Two later rounds, for certain: the
        # camera leaves, that record reaches central storage, it comes back,
        # and that record does too (each in a file sealed after the last).
        s.rig.wait_bay(1, "ready", 90)

        def uploaded(event, n):
            recs = []
            for k in s.central.keys():
                if k.startswith("custody/test-dock/") and ".pem" not in k:
                    recs += [json.loads(ln) for ln in s.central.fetch(k).splitlines() if ln.strip()]
            return sum(1 for r in recs if r.get("event") == event) >= n
        docked = sum(1 for r in s.rig.custody_records() if r["event"] == "docked")
        s.world.control("undock 1")
        wait_for(lambda: uploaded("undocked", 1), 60, what="the undocking in central storage")
        s.world.control("dock BWC-W0001 1")
        wait_for(lambda: uploaded("docked", docked + 1), 60, what="the second docking in central storage")
        for name in planted:
            n = sum(1 for m in s.messages() if f"other bytes under custody/test-dock/{name} " in m)
            check(n == 1, f"{n} integrity alerts for {name}, not one")
        s.rig.stop()
    finally:
        s.cleanup()


FAN_CLASS_CONTENT = 0x4
FAN_CLOEXEC = 0x1
FAN_NONBLOCK = 0x2
FAN_OPEN_PERM = 0x10000
FAN_EVENT_ON_CHILD = 0x08000000
FAN_MARK_ADD = 0x1
FAN_ALLOW = 0x1
AT_FDCWD = -100


class IncomingRace:
    """Another dock writes a key in the instant between dockd's check and its
    rename: fanotify holds dockd's creation of a temporary file in
    incoming_dir while its spool copy `spool_suffix` is open (the object that
    temporary file is for), creates dst with data (O_EXCL, as the other dock),
    then lets dockd go on."""

    def __init__(self, incoming_dir, spool_suffix, dst, data):
        self.spool_suffix, self.dst, self.data = spool_suffix, dst, data
        self.raced = False
        self.held = 0
        self.error = None
        libc = ctypes.CDLL(None, use_errno=True)
        self.fd = libc.fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK, os.O_RDONLY)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "fanotify_init")
        if libc.fanotify_mark(self.fd, FAN_MARK_ADD, ctypes.c_uint64(FAN_OPEN_PERM | FAN_EVENT_ON_CHILD),
                              AT_FDCWD, incoming_dir.encode()) < 0:
            raise OSError(ctypes.get_errno(), f"fanotify_mark {incoming_dir}")
        self.stop_r, self.stop_w = os.pipe()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _holds_spool_copy(self, pid):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}").endswith(self.spool_suffix):
                        return True
                except OSError:
                    pass
        except OSError:
            pass
        return False

    def _run(self):
        import select
        while True:
            r, _, _ = select.select([self.fd, self.stop_r], [], [])
            if self.stop_r in r:
                return
            try:
                buf = os.read(self.fd, 4096)
            except BlockingIOError:
                continue
            off = 0
            while off + 24 <= len(buf):
                ev_len, _ver, _res, _mlen, mask, efd, pid = struct.unpack_from("IBBHQii", buf, off)
                off += ev_len
                try:
                    if mask & FAN_OPEN_PERM and not self.raced and self._holds_spool_copy(pid):
                        self.held += 1
                        os.makedirs(os.path.dirname(self.dst), exist_ok=True)
                        fd = os.open(self.dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                        os.write(fd, self.data)
                        os.fsync(fd)
                        os.close(fd)
                        self.raced = True
                except OSError as e:
                    self.error = e
                finally:
                    os.write(self.fd, struct.pack("iI", efd, FAN_ALLOW))
                    os.close(efd)

    def stop(self):
        if self.fd < 0:
            return
        os.write(self.stop_w, b"x")
        self.thread.join(10)
        for fd in (self.fd, self.stop_r, self.stop_w):   # anything still held is allowed
            os.close(fd)
        self.fd = -1


@case("file-race")
def file_race():
    """The file backend checks that the key is free, then renames its copy
    over it: another dock that writes the key in between loses its object.
    Only the first segment's .mp4 races; storage concurrency 1, so that the
    spool copy dockd holds open names the object."""
    s = StoreRig("file", "store-small.ini", config={"storage": {"concurrency": "1"}}, name="file-race")
    race = None
    try:
        cam, seg = s.segment(0)
        key = s.key(cam, seg, "mp4")
        incoming = os.path.join(s.central.root, ".incoming", "test-dock")
        os.makedirs(incoming)
        original = b"written by another dock at that instant\n" + os.urandom(300 * 1024)
        race = IncomingRace(incoming, f"/{seg['recording_id']}/000000.mp4", s.central.path(key), original)
        s.rig.start()
        ended = wait_settled(s, [key])
        print(f"waited until: {ended}; the other dock wrote the key: {race.raced}")
        race.stop()
        if race.error:
            raise TestFailure(f"the other dock could not write {key}: {race.error} (dockd had created it first?)")
        check(race.raced, f"dockd never created a temporary file in {incoming} while it had the spool copy "
                          f"open: the race was not exercised ({ended})\n{s.log_tail()}")
        check_write_once(s, cam, seg, {"mp4": original}, f"file backend, key written during the copy; {ended}")
        s.rig.stop()
    finally:
        if race:
            race.stop()
        s.cleanup()


@case("tus-existing")
def tus_existing():
    """A tus server that names uploads by key: creating the upload of a key
    that holds other bytes answers with that existing upload. dockd must not
    terminate it (today: it reads it back, finds other bytes and DELETEs it)."""
    write_once_case("tus", "store-small.ini", "tus, uploads named by key", store={"name_by_key": True})


# ======================================================================
# Item 2: retention
# ======================================================================

def parse_date(v):
    return datetime.datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()


def retention_case(backend, scen, days, what):
    """Object Lock retention of a recording whose start_time + retention is
    past; the fault proxy refuses a past retain-until with 400, as a store
    that enforces Object Lock does. Expected: every retain-until >= pull time
    + retention, and the camera offloaded."""
    s = StoreRig(backend, scen, store_config={"object_lock": "yes"} if backend == "s3" else None,
                 journal=False, name="retention")
    try:
        if backend == "s3":
            s.central.fp.refuse_past_retention()
        t0 = time.time()
        s.rig.start()

        # The segments' objects: custody files are kept as long as the longest
        # category (README), not by this recording's policy.
        def dated():
            if backend == "s3":
                return [(r["method"], r["target"], r["headers"]["x-amz-object-lock-retain-until-date"])
                        for r in lock_requests() if "x-amz-object-lock-retain-until-date" in r["headers"]
                        and "/evidence/" in r["target"]]
            return [(r["method"], r["target"], tus_metadata(r["headers"]).get("retain-until"))
                    for r in uploadtest.requests_seen() if r["method"] == "POST"
                    and "retain-until" in tus_metadata(r["headers"])
                    and tus_metadata(r["headers"]).get("key", "").startswith("evidence/")]
        first = wait_for(dated, 90, what="an upload that carries a retain-until date")
        want = t0 + days * DAY
        early = [(m, t, v) for m, t, v in first if parse_date(v) < want - 120]
        check(not early, f"{what}: retain-until before pull time + {days} days "
                         f"({datetime.datetime.fromtimestamp(want, datetime.timezone.utc):%Y-%m-%dT%H:%M:%SZ}): {early[:3]}")
        late = [(m, t, v) for m, t, v in dated() if parse_date(v) > time.time() + (days + 1) * DAY]
        check(not late, f"retain-until far beyond the policy: {late[:3]}")
        try:
            s.rig.wait_bay(1, "ready", 120)
        except TestFailure as e:
            refused = sum(1 for r in s.central.fp.requests_log() if r["rule"]) if backend == "s3" else 0
            raise TestFailure(f"not offloaded ({refused} requests refused for a past date): {e}")
        check(not [d for d in dated() if parse_date(d[2]) < want - 120], "a later attempt with a past date")
        s.rig.stop()
    finally:
        s.cleanup()


@case("s3-retention-old-recording")
def s3_retention_old_recording():
    retention_case("s3", "old-recording.ini", 90, "a recording from 2026-06-01, 90 days")


@case("s3-retention-clock-behind")
def s3_retention_clock_behind():
    retention_case("s3", "clock-behind.ini", 4 * 365, "a camera ten years behind, arrest (4 years)")


@case("tus-retention-old-recording")
def tus_retention_old_recording():
    retention_case("tus", "old-recording.ini", 90, "tus retain-until metadata, recording from 2026-06-01")


NO_LOCK_CONFIG = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidRequest</Code><Message>'
                  'Bucket is missing Object Lock Configuration</Message><RequestId>faultproxy</RequestId></Error>')


@case("s3-retention-refused-permanent")
def s3_retention_refused_permanent():
    """Every Object-Lock-bearing request answered 400 InvalidRequest (a bucket
    without Object Lock): no retry storm, an alert, nothing leaves the camera."""
    s = StoreRig("s3", "store-small.ini", store_config={"object_lock": "yes"}, name="permanent")
    try:
        rid = s.central.fp.answer(400, {"Content-Type": "application/xml"}, NO_LOCK_CONFIG,
                                  header="x-amz-object-lock-mode")
        s.rig.start()
        refused = lambda: [r for r in s.central.fp.requests_log() if r["rule"] == rid]  # noqa: E731
        first = wait_for(refused, 90, what="the first refused request")[0]
        time.sleep(max(0, first["time"] + 12 - time.monotonic()))
        per_key = {}
        for r in refused():
            if r["time"] <= first["time"] + 12:
                per_key[r["target"].split("?")[0]] = per_key.get(r["target"].split("?")[0], 0) + 1
        problems = [f"{k}: {n} attempts in the 12 s after the first 400 (a retry storm)"
                    for k, n in per_key.items() if n > 2]
        alerts = [e.get("MESSAGE", "") for mid in (STORAGE_FAILING, INTEGRITY_ALERT)
                  for e in s.journal.entries(MESSAGE_ID=mid)
                  if "400" in e.get("MESSAGE", "") + e.get("DOCKD_REASON", "")
                  or "InvalidRequest" in e.get("MESSAGE", "") + e.get("DOCKD_REASON", "")]
        if not alerts:
            problems.append("no alert names the refusal (HTTP 400 InvalidRequest)")
        gone = [seg["index"] for _, seg in s.world.segments() if seg["fate"] != "on-camera"]
        if gone:
            problems.append(f"segments {gone} left the camera")
        if problems:
            raise TestFailure("\n".join(problems) + "\n--- log:\n" + s.log_tail(20))
        s.rig.stop()
    finally:
        s.cleanup()


# ======================================================================
# Item 3: the webhook's answer
# ======================================================================

MARKER = "FORGED-7f3a9c"
FORGED_LINE = f"<2>bay 1 [BWC-M0001]: Integrity alert: {MARKER} segment deleted by supervisor order"


def forged_body(size=2 * MiB):
    line = (FORGED_LINE + " \x1b[31mred\x1b[0m \x07\r\n").encode()
    return (line * (size // len(line) + 1))[:size]


class HookRig:
    """report.ini in vdock's world; the webhook behind a fault proxy that
    records request headers."""

    def __init__(self):
        self.world = run_in_vdock(scenario("report.ini"))
        self.hook = Webhook()
        self.hook.start()
        self.fp = FaultProxy(("127.0.0.1", self.hook.port), log_headers=True).start()
        self.rig = Rig(self.world, name="webhook",
                       config={"report": {"webhook": self.fp.url + "/reports", "retry_max": "1s"}})

    def posts(self):
        return [r for r in self.fp.requests_log() if r["method"] == "POST"]

    def cleanup(self):
        try:
            self.rig.cleanup()
        finally:
            self.fp.stop()
            self.hook.stop()


@case("webhook-forged-log-lines")
def webhook_forged_log_lines():
    """The webhook answers three times 503 with 2 MiB of forged dockd log
    lines (escape sequences included), then takes the report."""
    h = HookRig()
    try:
        h.fp.answer(503, {"Content-Type": "text/plain"}, forged_body().decode("latin-1"), method="POST", count=3)
        h.rig.start()
        wait_for(lambda: h.hook.received, 90, what="the report delivered after three refusals")
        attempts = len(h.posts())
        h.rig.stop()
        out = h.rig.dockd.log()
        problems = []
        raw = [ln for ln in out.splitlines() if ln.startswith(FORGED_LINE) or ln.startswith(FORGED_LINE[3:])]
        if raw:
            problems.append(f"{len(raw)} forged lines reached dockd's output as lines of their own, e.g. {raw[0]!r}")
        if "\x1b" in out or "\x07" in out:
            problems.append("escape sequences from the webhook reached dockd's output")
        n = out.count(MARKER)
        if n > 4 * attempts:
            problems.append(f"the webhook's text appears {n} times in dockd's output ({attempts} attempts): "
                            f"not a bounded excerpt")
        agents = {r["headers"].get("user-agent") for r in h.posts()}
        if not all(a and a.startswith("dockd/") for a in agents):
            problems.append(f"the webhook request does not go through dockd's HTTP layer (User-Agent {agents})")
        check(not problems, "\n".join(problems) + f"\n(dockd's output: {len(out)} bytes)")
    finally:
        h.cleanup()


@case("webhook-endless-body")
def webhook_endless_body():
    """The webhook answers 200 and a body without end (2 MB/s): dockd reads
    at most 1 MiB of it, and none of it reaches its output."""
    h = HookRig()
    try:
        rid = h.fp.endless_body(2_000_000, method="POST", count=1)
        h.rig.start()
        streamed = lambda: [r for r in h.fp.requests_log() if r["rule"] == rid]  # noqa: E731
        wait_for(streamed, 90, what="the report posted to the webhook")
        try:
            wait_for(lambda: streamed()[0]["client_gone_after"] is not None, 25, what="dockd to hang up")
        except TestFailure:
            pass
        rec = streamed()[0]
        h.rig.stop()
        out = h.rig.dockd.log()
        problems = []
        if rec["client_gone_after"] is None:
            problems.append(f"still reading the endless body after 25 s ({rec['answer_bytes']} bytes)")
        elif rec["answer_bytes"] > 2 * MiB:
            problems.append(f"read {rec['answer_bytes']} bytes of the body before hanging up (at most 1 MiB)")
        if out.count("a" * 200) > 0:
            problems.append(f"the body reached dockd's output ({len(out)} bytes of output)")
        check(not problems, "\n".join(problems))
    finally:
        h.cleanup()


# ======================================================================
# Item 4: tus and HTTP edges (dockd's uploader and backend, tests/upload/dockd-upload)
# ======================================================================

def data_file(tmp, name, size):
    p = os.path.join(tmp.path, name)
    with open(p, "wb") as f:
        f.write(os.urandom(size))
    return p


def upload_conf(tmp, store, name="c.conf", **backend):
    sections = store.config(**backend)
    sections["storage"].update({"retry_initial": "200ms", "retry_max": "1s"})
    sections["log"] = {"level": "debug"}
    return write_config(os.path.join(tmp.path, name), sections)


def with_store(cls, fn, **kw):
    tmp = TempDir(prefix="dockd-hostile-edge-")
    store = None
    try:
        store = cls(tmp.path, **kw)
        fn(tmp, store)
    finally:
        if store:
            store.stop()
        tmp.cleanup()


@case("tus-foreign-location")
def tus_foreign_location():
    """The tus server answers the creation with an absolute Location on
    another origin (a second tus server, which takes uploads without
    credentials): it must get neither the Authorization header nor a byte."""
    def body(tmp, store):
        other = TusServer(os.path.join(tmp.path, "other-uploads")).start()
        ofp = FaultProxy(("127.0.0.1", other.port), log_headers=True).start()
        try:
            f = data_file(tmp, "seg.mp4", 1 * MiB)
            c = __import__("http.client").client.HTTPConnection("127.0.0.1", other.port, timeout=30)
            c.request("POST", "/files/", headers={"Tus-Resumable": "1.0.0", "Upload-Length": str(1 * MiB)})
            r = c.getresponse()
            r.read()
            c.close()
            foreign = ofp.url + "/files/" + r.getheader("Location").rsplit("/", 1)[1]
            store.fp.answer(201, {"Location": foreign, "Tus-Resumable": "1.0.0"}, method="POST")
            rc, out, err = run_upload(upload_conf(tmp, store, timeout="2s"), [f], prefix="x", give_up_after=6,
                                      timeout=120)
            seen = ofp.requests_log()
            problems = []
            leaked = [f"{r['method']} {r['target']}" for r in seen if "authorization" in r["headers"]]
            if leaked:
                problems.append(f"the credentials went to another origin: {leaked}")
            sent = sum(r["body_bytes"] for r in seen if r["method"] == "PATCH")
            if sent:
                problems.append(f"{sent} bytes of evidence went to another origin ({foreign})")
            if "confirmed" in out:
                problems.append("confirmed by a server on another origin")
            check(not problems, "\n".join(problems) + f"\n(dockd-upload rc {rc})\n{err[-1500:]}")
        finally:
            ofp.stop()
            other.stop()
    with_store(TusCentral, body)


@case("tus-readback-404-checksum-claim")
def tus_readback_404_checksum_claim():
    """A tus server that swallows the data (PATCH and HEAD answered as if it
    held every byte), refuses the read-back GET with 404 and announces the
    checksum extension with sha256: it holds nothing, and must not be taken
    for a confirmation."""
    def body(tmp, store):
        size = 1536 * 1024
        f = data_file(tmp, "seg.mp4", size)
        tus = {"Tus-Resumable": "1.0.0"}
        store.fp.answer(204, dict(tus, **{"Upload-Offset": str(size)}), method="PATCH")
        store.fp.answer(200, dict(tus, **{"Upload-Offset": str(size), "Upload-Length": str(size),
                                          "Cache-Control": "no-store"}), method="HEAD")
        store.fp.answer(404, body="not found", method="GET")
        store.fp.answer(204, dict(tus, **{"Tus-Version": "1.0.0",
                                          "Tus-Extension": "creation,termination,checksum",
                                          "Tus-Checksum-Algorithm": "md5,sha1,sha256"}), method="OPTIONS")
        rc, out, err = run_upload(upload_conf(tmp, store), [f], prefix="x", give_up_after=6, timeout=120)
        held = [i["stored_bytes"] for ups in store.uploads().values() for _, i in ups]
        check(held and max(held) == 0, f"the server was to hold nothing, it holds {held}")
        check("confirmed" not in out and rc != 0,
              f"confirmed an upload the server holds none of (404 on GET, OPTIONS says sha256); rc {rc}\n"
              f"{err[-1500:]}")
    with_store(TusCentral, body)


# ======================================================================
# Item 1, leftovers: what a conflict leaves behind, and which object is ours
# ======================================================================

def upload_key(prefix, path):
    return f"{prefix}/{os.path.basename(path)}"


@case("s3-conflict-aborts-upload")
def s3_conflict_aborts_upload():
    """dockd-upload is killed after the first part of a 12 MiB multipart
    upload (its resume state keeps the upload id); another writer then puts
    other bytes under the key. The restart resumes, finds the key taken, and
    stores its bytes under the conflict key. Its own multipart upload of the
    original key will never be completed: it must be aborted
    (AbortMultipartUpload), not left in the bucket, where
    ListMultipartUploads still shows it and its parts take space until a
    lifecycle rule (if any) removes them."""
    def body(tmp, store):
        f = data_file(tmp, "seg.mp4", 12 * MiB)
        state = os.path.join(tmp.path, "state")
        os.makedirs(state)
        conf = upload_conf(tmp, store)
        rc, out, err = run_upload(conf, [f], state_dir=state, prefix="x", timeout=120,
                                  env={"DOCKD_FAILPOINTS": "s3-after-part:1"})
        check(rc == -9, f"dockd-upload was to be killed at its failpoint after the first part (rc {rc})\n{err[-1500:]}")
        key = upload_key("x", f)
        pending = [u for u in store.uploads_in_progress() if u["key"] == key]
        check(len(pending) == 1, f"after the kill, the store lists {pending} as uploads of {key}; expected one")
        original = b"the original, written by another dock\n" + os.urandom(1 * MiB)
        store.s3.put_object(BUCKET, key, original)
        rc, out, err = run_upload(conf, [f], state_dir=state, prefix="x", give_up_after=20, timeout=120)
        problems = []
        if "resuming upload" not in err and "ListParts" not in err:
            problems.append("the restart did not resume the upload of the first run (the case tests nothing)")
        if store.fetch(key) != original:
            problems.append(f"{key}: the original was replaced")
        conflicts = [k for k in store.keys() if k.startswith(key + ".conflict-")]
        if len(conflicts) != 1:
            problems.append(f"conflict objects: {conflicts}; expected one")
        left = [u for u in store.uploads_in_progress() if u["key"] == key]
        if left:
            problems.append(f"ListMultipartUploads still shows {len(left)} upload(s) of {key} "
                            f"({', '.join(u['upload_id'] for u in left)}): never aborted")
        check(not problems, "\n".join(problems) + f"\n(dockd-upload rc {rc})\n{err[-2500:]}")
    with_store(S3Central, body)


def plant_in_parts(store, key, data, part_size, headers=None):
    """data under key as a multipart upload in parts of part_size, as a writer
    with another part size (another dock, rclone, an operator's copy) makes
    it: the same bytes get another ETag ("<md5 of the parts' md5s>-N")."""
    uid = store.s3.create_multipart_upload(BUCKET, key, headers=headers)
    parts = []
    for i in range(0, len(data), part_size):
        n = i // part_size + 1
        parts.append((n, store.s3.upload_part(BUCKET, key, uid, n, data[i:i + part_size])))
    return store.s3.complete_multipart_upload(BUCKET, key, uid, parts)


@case("s3-same-bytes-other-parts")
def s3_same_bytes_other_parts():
    """Central storage already holds our bytes under our keys, uploaded in 6
    MiB parts where dockd uses 5 MiB ones: the ETags differ, the bytes do not.
    Once without metadata, once with x-amz-meta-sha256 naming our SHA-256 (as
    dockd's own uploads carry it, e.g. from a dock configured with another
    part size). Both are the same object: confirmed under the key as it is,
    no conflict key, no integrity alert, no "lying store", nothing
    rewritten."""
    def body(tmp, store):
        files = [data_file(tmp, "plain.mp4", 12 * MiB), data_file(tmp, "meta.mp4", 12 * MiB)]
        etags = {}
        for f in files:
            data = open(f, "rb").read()
            headers = {"x-amz-meta-sha256": hashlib.sha256(data).hexdigest()} if f.endswith("meta.mp4") else None
            etags[f] = plant_in_parts(store, upload_key("x", f), data, 6 * MiB, headers)
        rc, out, err = run_upload(upload_conf(tmp, store), files, prefix="x", give_up_after=20, timeout=180)
        problems = []
        for f in files:
            key = upload_key("x", f)
            if f"confirmed {key}\n" not in out:
                problems.append(f"{key}: not confirmed under its key")
            conflicts = [k for k in store.keys() if k.startswith(key + ".conflict-")]
            if conflicts:
                problems.append(f"{key}: stored again under {conflicts}: the same bytes taken for other ones")
            etag = (store.s3.head_object(BUCKET, key) or {}).get("etag", "").strip('"')
            if etag != etags[f]:
                problems.append(f"{key}: rewritten (ETag {etag}, planted {etags[f]})")
        writes = [f"{r['method']} {r['target']}" for r in uploadtest.requests_seen()
                  if r["method"] in ("PUT", "POST") and "/x/" in r["target"]]
        if writes:
            problems.append(f"writes to the keys: {writes}")
        check(not problems, "\n".join(problems) + f"\n(dockd-upload rc {rc})\n{out}\n{err[-2500:]}")
    with_store(S3Central, body)


def probe_keys(store):
    """The probe objects in the bucket: <prefix>probe/<dock>/if-none-match."""
    return [k for k in store.keys() if k.startswith("probe/")]


@case("s3-probe-object-removed")
def s3_probe_object_removed():
    """The start-up probe (does the store honour If-None-Match?) writes a
    probe object; it must not stay in the bucket after the probe. Against a
    store that honours the header (the fault proxy emulates one in front of
    Swift: the second PUT gets 412) and one that ignores it (both PUTs
    succeed), each start of dockd-upload leaves no probe object. Where the
    bucket refuses the DELETE (403 AccessDenied, as Object Lock does), dockd
    says so in a log line, and the one probe object stays under its fixed
    key: another start adds none."""
    def body(tmp, store):
        f = data_file(tmp, "seg.mp4", 64 * 1024)
        conf = upload_conf(tmp, store)
        sw = store.sw
        problems = []

        def start(what):
            rc, out, err = run_upload(conf, [f], prefix="x", give_up_after=20, timeout=120)
            if rc != 0:
                problems.append(f"{what}: dockd-upload rc {rc}\n{err[-1500:]}")
            return err

        for what, rule in (("a store that honours If-None-Match", lambda: store.fp.honour_if_none_match(
                                sw.access_key, sw.secret_key)),
                           ("a store that ignores If-None-Match", lambda: store.fp.strip_headers(
                                ["If-None-Match"], secret_key=sw.secret_key))):
            rid = rule()
            start(what)
            store.fp.remove_rule(rid)
            left = probe_keys(store)
            if left:
                problems.append(f"{what}: the probe object stays after the probe: {left}")
                for k in left:
                    store.s3.delete_object(BUCKET, k)

        store.fp.honour_if_none_match(sw.access_key, sw.secret_key)
        denied = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>'
                  'forbidden by object lock</Message></Error>')
        store.fp.answer(403, {"Content-Type": "application/xml"}, denied, method="DELETE", path=r"/probe/")
        err = start("DELETE refused") + start("DELETE refused, the next start")
        said = [ln for ln in err.splitlines() if "probe object" in ln and "Object Lock" in ln]
        if not said:
            problems.append("the bucket refused to delete the probe object, and no log line says so (Object Lock)")
        left = probe_keys(store)
        if len(left) != 1 or not left[0].endswith("/if-none-match"):
            problems.append(f"after two starts whose DELETE was refused: probe objects {left}; expected the one, "
                            f"probe/<dock>/if-none-match")
        check(not problems, "\n".join(problems))
    with_store(S3Central, body)


def stream_case(cls, method, rule, what):
    """The first request of the upload gets a streamed answer (rule: trickle
    or endless_body); then the store answers normally. Expected: dockd gives
    that request up and the object is confirmed, all within 90 s."""
    def body(tmp, store):
        f = data_file(tmp, "seg.mp4", 300 * 1024)
        if rule == "trickle":
            rid = store.fp.trickle(4, method=method, count=1)
        else:
            rid = store.fp.endless_body(2_000_000, method=method, count=1)
        t0 = time.monotonic()
        try:
            rc, out, err = run_upload(upload_conf(tmp, store, timeout="2s"), [f], prefix="x", timeout=90)
        except subprocess.TimeoutExpired:
            rec = [r for r in store.fp.requests_log() if r["rule"] == rid]
            raise TestFailure(f"{what}: dockd-upload still waiting after 90 s, when it was killed "
                              f"({rec[0]['answer_bytes'] if rec else '?'} bytes of the answer sent to it)")
        rec = [r for r in store.fp.requests_log() if r["rule"] == rid]
        check(rec, f"the {method} was never made")
        rec = rec[0]
        print(f"{what}: hung up after {rec['client_gone_after']} s and {rec['answer_bytes']} bytes; "
              f"confirmed after {time.monotonic() - t0:.1f} s")
        check(rc == 0 and "confirmed" in out, f"rc {rc}: {err[-1500:]}")
        check(rec["client_gone_after"] is not None and rec["client_gone_after"] <= 60,
              f"the streamed answer kept dockd for {rec['client_gone_after']} s")
        if rule == "endless":
            check(rec["answer_bytes"] <= 2 * MiB, f"read {rec['answer_bytes']} bytes of a body it does not keep")
    with_store(cls, body)


for _name, _args in {
        "s3-trickle-forever": (S3Central, "PUT", "trickle", "PutObject answered at 4 bytes/s"),
        "tus-trickle-forever": (TusCentral, "POST", "trickle", "tus creation answered at 4 bytes/s"),
        "s3-endless-body": (S3Central, "PUT", "endless", "PutObject answered with an endless body"),
        "tus-endless-body": (TusCentral, "POST", "endless", "tus creation answered with an endless body"),
}.items():
    dockdtest._cases[_name] = (lambda a: lambda: stream_case(*a))(_args)


# ======================================================================
# Item 5: reports and custody files
# ======================================================================

FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


@case("reports-same-second")
def reports_same_second():
    """Two reports for one camera within one second (dockd's clock frozen by
    libfaketime; the camera docks, is reported, leaves and docks again):
    both kept locally, both in central storage."""
    world = run_in_vdock(scenario("two-reports.ini"))
    check(os.path.exists(FAKETIME_LIB), f"{FAKETIME_LIB} missing (Debian package faketime; scripts/setup)")
    rig = Rig(world, name="reports")
    try:
        frozen = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 2))
        rig.start(extra_env={"LD_PRELOAD": FAKETIME_LIB + ":" + os.environ.get("LD_PRELOAD", ""),
                             "FAKETIME": frozen, "FAKETIME_DONT_FAKE_MONOTONIC": "1", "TZ": "UTC"})
        filed = lambda: [ln for ln in rig.dockd.log().splitlines() if "Malfunction report" in ln]  # noqa: E731
        try:
            wait_for(lambda: len(filed()) >= 1, 60, what="the first malfunction report")
            world.control("undock 1")
            rig.wait_bay(1, "empty", 30)
            world.control("dock BWC-M0002 1")
            wait_for(lambda: len(filed()) >= 2, 60, what="the second malfunction report")
        except TestFailure as e:
            raise TestFailure(f"{e}; dockd's log:\n{rig.dockd.log()[-3000:]}")
        time.sleep(5)   # their uploads
        local = os.path.join(rig.state, "reports")
        jsons = sorted(f for f in os.listdir(local) if f.endswith(".json"))
        ids = {json.load(open(os.path.join(local, f)))["id"] for f in jsons}
        central = os.path.join(rig.central, "reports", "test-dock")
        up = sorted(f for f in os.listdir(central) if f.endswith(".json")) if os.path.isdir(central) else []
        problems = []
        if len(jsons) != 2 or len(ids) != 2:
            problems.append(f"two reports filed in one second, {len(jsons)} kept in {local}: {jsons} (ids {ids})")
        if len(up) != 2:
            problems.append(f"{len(up)} reports in central storage: {up}")
        check(not problems, "\n".join(problems) + "\n" + "\n".join(filed()))
        rig.stop()
    finally:
        rig.cleanup()


@case("custody-over-1mib")
def custody_over_1mib():
    """Four cameras of a hundred segments each, custody sealed once an hour:
    the current file grows past 1 MiB; at the next start it is sealed, and
    must reach central storage like any other."""
    in_private_mount_ns()
    world = run_in_vdock(scenario("custody-many.ini"))
    # fsync-bound work on a tmpfs of our own (/dev/shm is umockdev's /dev).
    tdir = tempfile.mkdtemp(prefix="dockd-custody-tmpfs-")
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", tdir], check=True)
    tempfile.tempdir = tdir
    rig = Rig(world, name="custody", config={"storage": {"custody_interval": "1h"}})
    try:
        rig.start()
        for n in range(1, 5):
            rig.wait_bay(n, "ready", 300)
        cur = os.path.join(rig.state, "custody", "current.jsonl")
        size = os.path.getsize(cur)
        check(size > MiB, f"the custody file is only {size} bytes")
        check(rig.stop() == 0, "dockd exit status")
        rig.config_sections["storage"]["custody_interval"] = "2s"
        write_config(rig.config, rig.config_sections)
        rig.start()
        sealed = wait_for(lambda: [p for p in rig.custody_files() if "/sealed/" in p and os.path.getsize(p) > MiB],
                          30, what="the big custody file sealed")[0]
        dst = os.path.join(rig.central, "custody", "test-dock", os.path.basename(sealed))
        try:
            wait_for(lambda: os.path.exists(dst) and os.path.getsize(dst) == os.path.getsize(sealed), 30,
                     what="the sealed custody file in central storage")
        except TestFailure:
            said = [ln for ln in rig.dockd.log().splitlines() if os.path.basename(sealed) in ln]
            raise TestFailure(f"{sealed} ({os.path.getsize(sealed)} bytes) never reached central storage: "
                              f"{said[-3:]}")
        check(open(dst, "rb").read() == open(sealed, "rb").read(), "the uploaded custody file differs")
        rig.stop()
    finally:
        rig.cleanup()
        subprocess.run(["umount", "--lazy", tdir])
        os.rmdir(tdir)


@case("report-over-1mib")
def report_over_1mib():
    """A report over 1 MiB in dockd's outbox (not yet uploaded nor delivered;
    it stands for one that grew with a long history: no camera scenario makes
    one that large, so it is written the way dockd writes its reports): at
    start it goes to central storage and to the webhook like any other."""
    tmp = TempDir()
    hook = Webhook()
    hook.start()
    bus = PrivateBus(tmp)
    try:
        state = tmp.join("state")
        outbox = os.path.join(state, "reports")
        os.makedirs(outbox)
        rid = str(uuid.uuid4())
        name = "20261201T080000Z-BWC-P0001"
        findings = [{"code": "battery-health", "severity": "error", "summary": f"finding {i} " + "x" * 200,
                     "policy": None, "measured": {"n": i}} for i in range(6000)]
        report = {"schema": "dockd.malfunction-report", "schema_version": 1, "id": rid,
                  "time": "2026-12-01T08:00:00Z", "dock": "test-dock", "bay": 1,
                  "camera": {"serial": "BWC-P0001", "model": None, "firmware": None, "officer_id": None},
                  "docked_at": "2026-12-01T07:59:00Z", "severity": "error", "summary": "finding 0",
                  "findings": findings, "battery_history": [], "follows": None}
        data = json.dumps(report, indent=2).encode()
        check(len(data) > MiB, "the planted report is not over 1 MiB")
        for ext, content in (("json", data), ("txt", b"Malfunction report\n" + b"finding\n" * 20)):
            with open(os.path.join(outbox, f"{name}.{ext}"), "wb") as f:
                f.write(content)
        with open(os.path.join(outbox, f"{name}.status"), "w") as f:
            f.write(f"id={rid}\nserial=BWC-P0001\nbay=1\nseverity=error\ntime=2026-12-01T08:00:00Z\n"
                    f"uploaded=0\ndelivered=0\nsummary=finding 0\n")
        conf = write_config(tmp.join("dockd.conf"), {
            "dock": {"name": "test-dock", "state_dir": state, "bays": "1", "trust_anchors": make_ca(tmp)},
            "file": {"path": tmp.join("central")},
            "storage": {"retry_initial": "200ms", "retry_max": "1s"},
            "report": {"webhook": hook.url, "retry_max": "1s"}})
        d = Dockd(tmp, conf, env=bus.env())
        d.wait_ready()
        dst = tmp.join("central", "reports", "test-dock", f"{name}.json")
        problems = []
        try:
            wait_for(lambda: os.path.exists(dst), 20, what="the report in central storage")
        except TestFailure as e:
            problems.append(f"{name}.json ({len(data)} bytes) never reached central storage: {e}")
        try:
            wait_for(lambda: hook.ids(), 20, what="the report at the webhook")
        except TestFailure as e:
            problems.append(f"never delivered to the webhook: {e}")
        if os.path.exists(dst) and open(dst, "rb").read() != data:
            problems.append("the report in central storage differs")
        if hook.ids() and hook.ids() != [rid]:
            problems.append(f"the webhook got {hook.ids()}")
        d.stop()
        check(not problems, "\n".join(problems) + "\n" +
              "\n".join(ln for ln in d.log().splitlines() if name in ln or "eport" in ln))
    finally:
        hook.stop()
        bus.stop()
        tmp.cleanup()


# ======================================================================
# The README states the guarantee
# ======================================================================

@case("docs-write-once")
def docs_write_once():
    """README's central-storage section states the write-once guarantee per
    backend and what a store must support for it."""
    readme = open(os.path.join(SOURCE_DIR, "README.md")).read()
    sec = readme[readme.index("## Central storage"):]
    sec = sec[:sec.index("\n## ", 3)]
    problems = []
    for backend in ("file", "s3", "tus"):
        part = sec[sec.index(f"**{backend}**"):] if f"**{backend}**" in sec else ""
        nxt = re.search(r"\n\*\*\w+\*\*", part[3:])
        part = part[:nxt.start() + 3] if nxt else part
        if not re.search(r"write-once|never overwrit|never replace", part, re.I):
            problems.append(f"the {backend} backend's paragraph does not state that evidence is write-once")
    for needle, why in (("If-None-Match", "how S3 writes are made conditional"),
                        (".conflict-", "the conflict key"),
                        ("versioning", "what a store that ignores If-None-Match needs")):
        if needle not in sec:
            problems.append(f"no mention of {needle!r} ({why})")
    check(not problems, "\n".join(problems))


if __name__ == "__main__":
    run_cases()
