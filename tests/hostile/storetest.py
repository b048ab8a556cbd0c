# SPDX-License-Identifier: Apache-2.0
"""Shared plumbing of the store-side hostile tests (test_store.py): central
storage of each backend with a way to plant objects behind dockd's back, the
real dockd in vdock's world pointed at it (optionally with a private
journald, to see alerts with their MESSAGE_ID), and the checks of the
write-once promise.

The conflict key (issue 12, item 1). A key that already holds other bytes is
never overwritten; dockd stores its own bytes beside it under

    <key>.conflict-<SHA-256 of dockd's bytes, 64 lowercase hex digits>

e.g. evidence/BWC-W0001/20261121T221500Z-0001/000000.mp4.conflict-3fa2...,
on every backend (for tus: the Upload-Metadata "key"). The hash makes the
name unique per content and a retry idempotent: the same bytes again find
their own conflict object and confirm it."""

import base64
import hashlib
import http.client
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "upload"))
from dockdtest import (PrivateJournal, Rig, TempDir, TestFailure, check, in_private_mount_ns, stop_all,  # noqa: E402
                       run_in_vdock, wait_for)
import uploadtest  # noqa: E402  (puts tests/servers on sys.path, records request heads)
from uploadtest import BUCKET, TUS_TOKEN, S3Store, TusStore  # noqa: E402

INTEGRITY_ALERT = "0e83f0e743c94d5bb2707a636bddc224"
STORAGE_FAILING = "8003c809aa304eb092dd775c5283fbef"
SCENARIOS = os.path.join(HERE, "scenarios")
EXTS = ("mp4", "man", "p7s")
MiB = 1 << 20


def scenario(name):
    return os.path.join(SCENARIOS, name)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def conflict_prefix(key):
    return key + ".conflict-"


# ---- central storage with planting and read-back ----

class FileCentral:
    """The file backend's directory."""
    name = "file"

    def __init__(self, tmp):
        self.root = os.path.join(tmp, "central")
        os.makedirs(self.root, exist_ok=True)

    def config(self, **kw):
        return {"storage": {"backend": "file"}, "file": dict({"path": self.root}, **kw)}

    def path(self, key):
        return os.path.join(self.root, key)

    def fetch(self, key):
        try:
            with open(self.path(key), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def keys(self):
        out = []
        for d, dirs, files in os.walk(self.root):
            dirs[:] = [x for x in dirs if not x.startswith(".")]
            out += [os.path.relpath(os.path.join(d, f), self.root) for f in files]
        return out

    def plant(self, key, data):
        os.makedirs(os.path.dirname(self.path(key)), exist_ok=True)
        with open(self.path(key), "wb") as f:
            f.write(data)

    def stop(self):
        pass


class S3Central(S3Store):
    def plant(self, key, data):
        self.s3.put_object(BUCKET, key, data)


class TusCentral(TusStore):
    """tus; name_by_key=True: a deployment naming uploads by their key
    (tests/servers/tus-server.mjs --name-by-key)."""

    def plant(self, key, data):
        """A complete upload of key holding data, made as another dock would."""
        md = "key " + base64.b64encode(key.encode()).decode()
        auth = {"Authorization": f"Bearer {TUS_TOKEN}", "Tus-Resumable": "1.0.0"}
        c = http.client.HTTPConnection(self.srv.host, self.srv.port, timeout=30)
        c.request("POST", self.srv.path + "/", headers=dict(auth, **{"Upload-Length": str(len(data)),
                                                                   "Upload-Metadata": md}))
        r = c.getresponse()
        r.read()
        check(r.status == 201, f"planting {key}: POST {r.status}")
        loc = r.getheader("Location")
        path = loc[loc.index(self.srv.path):] if "://" in loc else loc
        c.request("PATCH", path, body=data, headers=dict(auth, **{
            "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}))
        r = c.getresponse()
        r.read()
        c.close()
        check(r.status == 204, f"planting {key}: PATCH {r.status}")
        return loc


CENTRALS = {"file": FileCentral, "s3": S3Central, "tus": TusCentral}


# ---- dockd in vdock's world, with a store ----

class StoreRig:
    """vdock's world (scenario from tests/hostile/scenarios), central storage
    of one backend (store: keyword arguments of its class), and dockd.
    journal=True: a private journald (the test re-executes itself in a mount
    namespace first), and dockd logs there."""

    def __init__(self, backend, scen, config=None, store=None, store_config=None, journal=True,
                 name="hostile"):
        if journal:
            in_private_mount_ns()
        self.world = run_in_vdock(scenario(scen))
        self.journal = None
        self.stmp = TempDir(prefix=f"dockd-{name}-{backend}-store-")
        self.central = None
        self.rig = None
        try:
            if journal:
                self.journal = PrivateJournal()
            self.central = CENTRALS[backend](self.stmp.path, **(store or {}))
            sections = self.central.config(**(store_config or {}))
            sections.setdefault("storage", {}).update({"retry_initial": "200ms", "retry_max": "2s"})
            for sec, kv in (config or {}).items():
                sections.setdefault(sec, {}).update(kv)
            env = {"DOCKD_LOG_TARGET": "journal"} if journal else {}
            self.rig = Rig(self.world, config=sections, env=env, name=f"{name}-{backend}")
            if backend == "file":
                # Rig points [file] path at a directory of its own: ours it is.
                self.rig.central = self.central.root
        except BaseException:
            self.cleanup()
            raise

    # -- what a user sees --

    def messages(self, **match):
        """dockd's log lines: from the journal (MESSAGE), or its stderr."""
        if self.journal:
            return [e.get("MESSAGE", "") for e in self.journal.entries(**match)]
        return self.rig.dockd.log().splitlines() if self.rig.dockd else []

    def alerts(self, message_id=INTEGRITY_ALERT):
        return self.journal.entries(MESSAGE_ID=message_id) if self.journal else []

    def log_tail(self, n=40):
        return "\n".join(self.messages()[-n:])

    def bay_state(self, n=1):
        b = self.rig.bay(n)
        return b["state"] if b else None

    def truth(self):
        return self.world.truth()

    def segment(self, index, rec=0, camera=0):
        t = self.truth()
        cam = t["cameras"][camera]
        return cam, cam["recordings"][rec]["segments"][index]

    def key(self, cam, seg, ext, area="evidence"):
        return f"{area}/{cam['serial']}/{seg['recording_id']}/{seg['index']:06d}.{ext}"

    def cleanup(self):
        stop_all(self.rig and self.rig.cleanup, self.central and self.central.stop,
                 self.journal and self.journal.stop, self.stmp.cleanup)


def wait_settled(s, keys, timeout=120, bay=1):
    """Until the bay is ready or in fault, or an integrity alert names one of
    keys, or central storage failed on one of them three times (a loop that
    will not end by itself). After an integrity alert, also until each key
    has its conflict object (at most 60 s more). Returns what ended the wait."""
    names = [k.rsplit("/", 1)[1] for k in keys]
    why = _wait_settled(s, names, timeout, bay)
    if s.alerts():
        try:
            wait_for(lambda: all(any(c.startswith(conflict_prefix(k)) for c in s.central.keys()) for k in keys),
                     60, interval=0.5, what="conflict objects")
        except TestFailure:
            pass
    return why


def _wait_settled(s, names, timeout, bay):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if s.rig.dockd.proc.poll() is not None:
            return f"dockd exited ({s.rig.dockd.proc.returncode})"
        st = s.bay_state(bay)
        if st in ("ready", "fault"):
            time.sleep(1)   # what it logs on the way in the journal
            return f"bay {bay} is {st}"
        for a in s.alerts():
            text = a.get("MESSAGE", "") + " " + a.get("DOCKD_REASON", "")
            if any(n in text for n in names):
                return "integrity alert"
        failing = [m for m in s.messages() if any(n in m for n in names)
                   and ("does not hold exactly" in m or "failing" in m)]
        if len(failing) >= 3:
            return f"central storage keeps failing on it: {failing[-1]}"
        time.sleep(1)
    return f"nothing settled in {timeout}s (bay {s.bay_state(bay)})"


def check_write_once(s, cam, seg, originals, why, extra=()):
    """The promise for one segment whose keys held other bytes (originals:
    {ext: bytes}) before dockd came: the original of every key is kept, byte
    for byte; dockd's bytes are under exactly one conflict key each; an
    integrity alert names the segment; the segment stays on the camera."""
    problems = list(extra)
    keys = {}
    for ext, data in originals.items():
        key = s.key(cam, seg, ext)
        keys[ext] = key
        now = s.central.fetch(key)
        if now is None:
            problems.append(f"{key}: the original is gone")
        elif now != data:
            problems.append(f"{key}: the original ({len(data)} bytes, sha256 {sha256(data)[:16]}…) was replaced by "
                            f"{len(now)} bytes, sha256 {sha256(now)[:16]}… (the camera's: "
                            f"{seg['files'][ext]['sha256'][:16]}…)")
        conflicts = [k for k in s.central.keys() if k.startswith(conflict_prefix(key))]
        if len(conflicts) != 1:
            problems.append(f"{key}: {len(conflicts)} conflict objects ({conflicts}); expected one, "
                            f"{conflict_prefix(key)}<sha256>")
            continue
        body = s.central.fetch(conflicts[0])
        if body is None or sha256(body) != conflicts[0][len(conflict_prefix(key)):]:
            problems.append(f"{conflicts[0]}: its bytes do not hash to the name")
        elif sha256(body) != seg["files"][ext]["sha256"]:
            problems.append(f"{conflicts[0]}: holds other bytes than the camera's {ext}")
    name = f"{seg['recording_id']}/{seg['index']:06d}"
    alerts = [a for a in s.alerts()
              if name in " ".join(a.get(f, "") for f in ("MESSAGE", "DOCKD_REASON", "DOCKD_SEGMENT"))
              or any(k in a.get("MESSAGE", "") + a.get("DOCKD_REASON", "") for k in keys.values())]
    if not alerts:
        problems.append(f"no integrity alert (MESSAGE_ID={INTEGRITY_ALERT}) names the segment")
    fate = s.segment(seg["index"])[1]["fate"]
    if fate != "on-camera":
        problems.append(f"segment {seg['index']} is {fate}: a conflicting segment must stay on the camera")
    if problems:
        raise TestFailure(f"({why})\n" + "\n".join(problems) + "\n--- dockd's log, last lines:\n" + s.log_tail())


def plant_originals(s, cam, seg, sizes=None):
    """Other bytes under the segment's three keys, as another dock (or a
    camera that signed a doctored segment under the same name) left them."""
    originals = {}
    for ext in EXTS:
        n = (sizes or {}).get(ext, seg["files"][ext]["size"])
        prefix = f"original {ext} of {seg['recording_id']}/{seg['index']:06d}, kept by another dock\n".encode()
        data = (prefix + os.urandom(n))[:max(n, len(prefix))]
        s.central.plant(s.key(cam, seg, ext), data)
        originals[ext] = data
    return originals


def lock_requests(key=None):
    """S3 requests (seen by any fault proxy) that carried Object Lock headers:
    [(method, target, headers)]."""
    out = []
    for r in uploadtest.requests_seen():
        h = r["headers"]
        if "x-amz-object-lock-mode" in h or "x-amz-object-lock-retain-until-date" in h:
            if key is None or r["target"].split("?", 1)[0].endswith("/" + key):
                out.append(r)
    return out


def tus_metadata(headers):
    md = {}
    for pair in headers.get("upload-metadata", "").split(","):
        k, _, v = pair.strip().partition(" ")
        if k:
            md[k] = base64.b64decode(v).decode("utf-8", "replace") if v else ""
    return md


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


__all__ = ["StoreRig", "wait_settled", "check_write_once", "plant_originals", "lock_requests",
           "tus_metadata", "conflict_prefix", "sha256", "scenario", "INTEGRITY_ALERT",
           "STORAGE_FAILING", "EXTS", "MiB", "FileCentral", "S3Central", "TusCentral",
           "json", "run"]
