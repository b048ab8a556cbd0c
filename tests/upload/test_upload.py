#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The s3 and tus backends end to end: the real dockd in vdock's world uploads to
a real server (Swift s3api, or @tus/server) through the fault proxy, and every
network fault of the issue is thrown at it. Each case checks what a user would
notice: the bytes central storage holds (read back), what is left on the camera
(vdock's ground truth), the custody records, and the log and status.

Cases are "<backend>-<fault>"; meson runs each as its own test."""

import datetime
import os
import re
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import dockdtest  # noqa: E402
from dockdtest import (Rig, TempDir, TestFailure, check, check_offloaded, run_cases,  # noqa: E402
                       run_in_vdock, wait_for)
from uploadtest import (STORES, attach_store, part_number, requests_seen, storage_alerts)  # noqa: E402

SCENARIOS = os.path.join(HERE, "scenarios")


def scenario(name):
    return os.path.join(SCENARIOS, name)


def custody(rig, event):
    return [r for r in rig.custody_records() if r["event"] == event]


class Setup:
    """vdock's world, a store of the given backend, and dockd pointed at it."""

    def __init__(self, backend, scen, config=None, store_config=None, name="upload"):
        self.world = run_in_vdock(scenario(scen))
        self.stmp = TempDir(prefix=f"dockd-{backend}-store-")
        self.store = None
        self.rig = None
        try:
            self.store = STORES[backend](self.stmp.path)
            sections = self.store.config(**(store_config or {}))
            sections.setdefault("storage", {}).update({"retry_initial": "200ms", "retry_max": "2s"})
            for sec, kv in (config or {}).items():
                sections.setdefault(sec, {}).update(kv)
            self.rig = Rig(self.world, config=sections, name=f"{name}-{backend}")
            attach_store(self.rig, self.store)
        except BaseException:
            self.cleanup()
            raise

    def cleanup(self):
        try:
            if self.rig:
                self.rig.cleanup()
        finally:
            try:
                if self.store:
                    self.store.stop()
            finally:
                self.stmp.cleanup()

    def offloaded(self, timeout=120, bay=1):
        return self.rig.wait_bay(bay, "ready", timeout)

    def truth(self):
        return self.world.truth()

    def on_camera(self):
        """Segments (recording, index) still on the camera."""
        return [(s["recording_id"], s["index"]) for _, s in self.world.segments() if s["fate"] == "on-camera"]


def check_all_safe(s, confirmed=None):
    """Every segment in central storage, byte for byte, and deleted from the
    camera; custody complete; the daemon exits cleanly."""
    t = s.truth()
    check_offloaded(s.rig, t)
    n = sum(1 for _ in s.world.segments(t))
    check(len(custody(s.rig, "confirmed")) == n, f"{len(custody(s.rig, 'confirmed'))} confirmed records for {n}")
    up = custody(s.rig, "uploaded")
    check(len(up) >= 3 * n and all(r.get("backend") == s.store.name for r in up),
          f"uploaded records: {[(r.get('key'), r.get('backend')) for r in up]}")
    deleted = [r["segment"] for r in custody(s.rig, "deleted-from-camera")]
    confirmed = [r["segment"] for r in custody(s.rig, "confirmed")]
    check(set(deleted) <= set(confirmed), f"deleted without confirmation: {set(deleted) - set(confirmed)}")
    ok, out = s.rig.verify_custody()
    check(ok, f"custody does not verify: {out}")


def deleted_before_confirmed(s):
    """Custody order: no segment deleted before its confirmation."""
    seen = set()
    for r in s.rig.custody_records():
        if r["event"] == "confirmed":
            seen.add(r["segment"])
        if r["event"] == "deleted-from-camera" and r["segment"] not in seen:
            return r["segment"]
    return None


def wait_data_bytes(s, n, timeout=60):
    """Until the proxy forwarded n bytes of upload data."""
    return s.store.fp.wait_until(lambda st: st["bytes_up"] >= n, timeout=timeout)


CASES = {}


def upload_case(fn):
    for backend in ("s3", "tus"):
        name = f"{backend}-{fn.__name__.replace('_', '-')}"
        dockdtest._cases[name] = (lambda b: lambda: fn(b))(backend)
    return fn


# ---- cases ----

@upload_case
def full_upload(backend):
    """Everything arrives byte for byte, with its retention, and only then leaves
    the camera."""
    s = Setup(backend, "upload.ini", config={"category.arrest": {"legal_hold": "yes"}},
              store_config={"object_lock": "yes"} if backend == "s3" else None)
    try:
        s.rig.start()
        s.offloaded(120)
        check_all_safe(s)
        check(not storage_alerts(s.rig.dockd.log()), "storage alerts in a clean run")
        check(deleted_before_confirmed(s) is None, "deleted before confirmed")
        reqs = requests_seen()
        year = datetime.datetime.now(datetime.timezone.utc).year
        if backend == "s3":
            check(not [r for r in reqs if re.search(r"[?&](retention|legal-hold)", r["target"])],
                  "PutObjectRetention/PutObjectLegalHold sent")
            segment = re.compile(r"^/dockd/(evidence|quarantine)/")
            creates = [r for r in reqs if r["method"] == "POST" and "uploads=" in r["target"]]
            puts = [r for r in reqs if r["method"] == "PUT" and part_number(r["target"]) is None
                    and segment.match(r["target"])]
            parts = [r for r in reqs if r["method"] == "PUT" and part_number(r["target"]) is not None]
            check(len(creates) == 2, f"{len(creates)} CreateMultipartUpload (12M and 7M segments)")
            for r in creates + puts:
                h = r["headers"]
                check(h.get("x-amz-object-lock-mode") == "COMPLIANCE", f"lock mode on {r['target']}: {h}")
                until = h.get("x-amz-object-lock-retain-until-date", "")
                evid = "/20261122T010000Z-0002/" not in r["target"]
                check(until[:4].isdigit(), f"no retain-until on {r['target']}")
                if evid:
                    check(int(until[:4]) >= year + 3, f"evidentiary retention {until}")
                    check(h.get("x-amz-object-lock-legal-hold") == "ON", f"legal hold on {r['target']}")
                else:
                    check(int(until[:4]) <= year + 1, f"ordinary retention {until}")
                    check("x-amz-object-lock-legal-hold" not in h, f"legal hold on {r['target']}")
            for r in parts + puts:
                h = r["headers"]
                check(re.fullmatch(r"[0-9a-f]{64}", h.get("x-amz-content-sha256", "")), f"payload hash {h}")
                check(h.get("x-amz-checksum-sha256") and h.get("content-md5"), f"checksums {h}")
            for r in parts:
                check("x-amz-object-lock-mode" not in r["headers"], "lock headers on UploadPart")
            check(not s.store.uploads_in_progress(), "multipart uploads left behind")
        else:
            patches = [r for r in reqs if r["method"] == "PATCH"]
            check(len(patches) >= 6 + 4 + 5, f"{len(patches)} PATCHes (2M chunks)")
            check(all(r["headers"].get("upload-checksum", "").startswith("sha256 ") for r in patches),
                  "PATCH without Upload-Checksum")
            ups = s.store.uploads()
            for key, lst in ups.items():
                meta = lst[0][1]["metadata"]
                check(re.fullmatch(r"[0-9a-f]{64}", meta.get("sha256", "")), f"metadata {meta}")
                if key.startswith("evidence/") and "/20261122T010000Z-0002/" not in key:
                    check(meta.get("legal-hold") == "1" and int(meta["retain-until"][:4]) >= year + 3, meta)
        check(s.rig.stop() == 0, "dockd exit status")
    finally:
        s.cleanup()


if __name__ == "__main__":
    run_cases()
