#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Suite operations: holds (preservation requests, issue 14 item 4;
docs/dbus-api.md "Holds") as the offload and the uploader honour them, with
the real dockd in vdock's world.

hold-keeps-recording-on-camera: a hold asked for before the camera docks,
and a dockd restart in between: the held recording is pulled, verified and
stored, and never deleted from the camera; the other recording is. Released,
it is deleted at the next docking.
hold-during-offload: a hold that arrives while the recording is being pulled
stops its deletion.
holds-file-corrupt: a holds file dockd cannot read deletes nothing from any
camera (and says which file).
legal-hold-s3: objects of a held recording go to S3 with the legal-hold
header; a store that does not report Object Lock (Swift) never gets a
PutObjectLegalHold (Swift would take it for an overwrite), and its objects
are left byte for byte.
legal-hold-tus: uploads of a held recording carry legal-hold in their
metadata, the others not.
legal-hold-ceph: on a store that enforces Object Lock (Ceph's RADOS Gateway),
a recording held after its objects were stored gets PutObjectLegalHold on
each of them, confirmed by dockd and by the store, with a legal-hold-applied
custody record per object; the objects' bytes do not change.
legal-hold-ceph-queued: a recording held while its uploads wait (the store
is down after the pull) gets the legal hold on each object once it is stored:
uploads queued before the hold, and one running when it came, carry no
header, so it is set after the confirmation, as for stored objects.

Authorisation: a real polkitd with test rules, as test_actions.py says;
dockd runs as root here (vdock's emulated devices belong to root), and the
holds are asked for by the test's operator user through dockctl."""

import hashlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "upload"))
sys.path.insert(0, HERE)
import uploadtest  # noqa: E402  (puts tests/servers on sys.path)
from dockdtest import (Rig, TempDir, case, check, in_private_mount_ns, run_cases, run_in_vdock, stop_all,  # noqa: E402
                       sha256_file, wait_for)
from busops import (OPERATOR, Authority, custody_records, dockctl_as, operator_records, scenario,  # noqa: E402
                     verify_custody)

A, B = "20261121T221500Z-0001", "20261122T010000Z-0002"


class Setup:
    """vdock's world, polkit and the system bus, optionally a store, dockd."""

    def __init__(self, scen, backend=None, store_config=None, config=None):
        in_private_mount_ns()
        self.world = run_in_vdock(scenario(scen))
        self.stmp = TempDir(prefix="dockd-holds-store-")
        self.store = self.rig = None
        try:
            sections = {}
            if backend:
                self.store = uploadtest.STORES[backend](self.stmp.path)
                sections = self.store.config(**(store_config or {}))
                sections.setdefault("storage", {}).update({"retry_initial": "200ms", "retry_max": "2s"})
            for sec, kv in (config or {}).items():
                sections.setdefault(sec, {}).update(kv)
            self.rig = Rig(self.world, config=sections, name="holds",
                           bus=lambda tmp: Authority(tmp, root_owns=True))
            if self.store:
                uploadtest.attach_store(self.rig, self.store)
        except BaseException:
            self.cleanup()
            raise

    def operator(self, *args):
        p = dockctl_as(OPERATOR[0], ["--no-ask-password"] + list(args), self.rig.env)
        check(p.returncode == 0, f"dockctl {' '.join(args)} as the operator: {p.stderr}")
        return p

    def fates(self, serial):
        """{(recording, index): fate} of a camera's segments."""
        t = self.world.truth()
        cam = next(c for c in t["cameras"] if c["serial"] == serial)
        return {(seg["recording_id"], seg["index"]): seg["fate"]
                for r in cam["recordings"] for seg in r["segments"]}

    def stored(self, serial, rec, index, ext, expect_sha):
        p = self.rig.object_file("evidence", serial, rec, index, ext)
        return os.path.exists(p) and sha256_file(p) == expect_sha

    def cleanup(self):
        stop_all(self.rig and self.rig.cleanup, self.store and self.store.stop, self.stmp.cleanup)


def segments(world, serial):
    t = world.truth()
    cam = next(c for c in t["cameras"] if c["serial"] == serial)
    return [(s["recording_id"], s) for r in cam["recordings"] for s in r["segments"]]


def check_stored_and_fates(s, serial, held):
    """Every segment in central storage byte for byte; a held recording's
    segments still on the camera, the others deleted."""
    problems = []
    for rec, seg in segments(s.world, serial):
        f = seg["files"]["mp4"]
        if not s.stored(serial, rec, seg["index"], "mp4", f["sha256"]):
            problems.append(f"{rec}/{seg['index']}: not in central storage byte for byte")
        want = "on-camera" if rec in held else "deleted"
        if seg["fate"] != want:
            problems.append(f"{rec}/{seg['index']}: {seg['fate']}, expected {want}")
    deleted = [r["segment"] for r in custody_records(s.rig.state) if r["event"] == "deleted-from-camera"]
    for d in deleted:
        if any(d.startswith(h + "/") for h in held):
            problems.append(f"custody: {d} deleted from the camera although held")
    return problems


@case
def hold_keeps_recording_on_camera():
    s = Setup("hold.ini")
    try:
        s.rig.start()
        s.operator("hold", "BWC-OP0201", A, "CASE-2026-0117")
        # Durable: a dockd restarted before the camera docks still holds it.
        check(s.rig.dockd.stop() == 0, "dockd did not exit 0")
        s.rig.start()
        s.world.control("dock BWC-OP0201 1")
        s.rig.wait_bay(1, "ready", 120)
        problems = check_stored_and_fates(s, "BWC-OP0201", {A})
        recs = [r for r in operator_records(s.rig.state) if r["event"] == "recording-held"]
        if len(recs) != 1 or recs[0]["camera"] != "BWC-OP0201" or recs[0]["recording"] != A \
                or recs[0]["user"] != OPERATOR[0]:
            problems.append(f"custody recording-held records: {recs}")
        b = s.rig.bay(1)
        if b["summary"].get("held_recordings", 0) < 1:
            problems.append(f"bay 1's summary does not count the held recording: {b['summary']}")
        check(not problems, "\n".join(problems))

        # Released: deleted at the next docking (everything is confirmed).
        s.operator("release", "BWC-OP0201", A, "CASE-2026-0117")
        s.world.control("undock 1")
        s.rig.wait_bay(1, "empty", 30)
        s.world.control("dock BWC-OP0201 1")
        wait_for(lambda: all(f == "deleted" for f in s.fates("BWC-OP0201").values()), 120,
                 what="the released recording deleted from the camera")
        ok, out = verify_custody(s.rig.state)
        check(ok, f"custody does not verify: {out}")
        s.rig.stop()
    finally:
        s.cleanup()


@case
def hold_during_offload():
    s = Setup("hold-slow.ini")
    try:
        s.rig.start()
        b = wait_for(lambda: (lambda b: b if b and b["state"] == "offloading" and b.get("progress", {})
                              .get("offset", 0) > 0 else None)(s.rig.bay(1)), 60, what="bay 1 pulling")
        early = [r["segment"] for r in custody_records(s.rig.state) if r["event"] == "deleted-from-camera"]
        check(not early, f"the harness was too slow: {early} already deleted when the offload was seen ({b})")
        s.operator("hold", "BWC-OP0202", A, "CASE-2026-0118")
        s.rig.wait_bay(1, "ready", 240)
        problems = check_stored_and_fates(s, "BWC-OP0202", {A})
        check(not problems, "\n".join(problems))
        s.rig.stop()
    finally:
        s.cleanup()


@case
def holds_file_corrupt():
    s = Setup("hold.ini")
    try:
        os.makedirs(s.rig.state, exist_ok=True)
        path = os.path.join(s.rig.state, "holds.json")
        with open(path, "w") as f:
            f.write('{"holds": [{"camera": "BWC-OP0201", "recording": ')
        s.rig.start()
        s.world.control("dock BWC-OP0201 1")
        s.rig.wait_bay(1, ("ready", "fault"), 120)
        problems = []
        fates = s.fates("BWC-OP0201")
        if any(f != "on-camera" for f in fates.values()):
            problems.append(f"deleted from the camera with an unreadable holds file: {fates}")
        for rec, seg in segments(s.world, "BWC-OP0201"):
            if not s.stored("BWC-OP0201", rec, seg["index"], "mp4", seg["files"]["mp4"]["sha256"]):
                problems.append(f"{rec}/{seg['index']} not uploaded (evidence still goes to central storage)")
        if path not in s.rig.dockd.log():
            problems.append("dockd's log does not name the holds file it cannot read")
        if open(path).read() != '{"holds": [{"camera": "BWC-OP0201", "recording": ':
            problems.append("dockd changed the unreadable holds file")
        check(not problems, "\n".join(problems))
        s.rig.stop()
    finally:
        s.cleanup()


def offload_holding_a(s):
    """Hold recording A of BWC-OP0201, dock it, wait for the offload: the
    problems check_stored_and_fates finds."""
    s.rig.start()
    s.operator("hold", "BWC-OP0201", A, "CASE-2026-0117")
    s.world.control("dock BWC-OP0201 1")
    s.rig.wait_bay(1, "ready", 120)
    return check_stored_and_fates(s, "BWC-OP0201", {A})


def legal_hold_headers(reqs, key):
    return [r["headers"].get("x-amz-object-lock-legal-hold") for r in reqs
            if r["method"] in ("PUT", "POST") and f"/{key}" in r["target"].split("?")[0]
            and ("uploads" in r["target"] or "partNumber" not in r["target"])]


@case
def legal_hold_s3():
    s = Setup("hold.ini", backend="s3", store_config={"object_lock": "yes"})
    try:
        problems = offload_holding_a(s)
        reqs = uploadtest.requests_seen()
        for rec, seg in segments(s.world, "BWC-OP0201"):
            for ext in ("mp4", "man", "p7s"):
                key = f"evidence/BWC-OP0201/{rec}/{seg['index']:06d}.{ext}"
                hdrs = legal_hold_headers(reqs, key)
                want = "ON" if rec == A else None
                if not hdrs or any(h != want for h in hdrs):
                    problems.append(f"{key}: legal hold headers {hdrs}, expected {want}")
        # B is stored already: hold it now. Swift does not report Object Lock,
        # so dockd must send it no PutObjectLegalHold (which Swift would store
        # as the object's new content), and say that the hold stays local.
        before = {k: hashlib.sha256(s.store.fetch(k)).hexdigest() for k in s.store.keys()}
        s.operator("hold", "BWC-OP0201", B, "CASE-2026-0119")
        wait_for(lambda: "legal hold" in s.rig.dockd.log().lower() and "object lock" in s.rig.dockd.log().lower(),
                 30, what="dockd's warning that this store cannot take a legal hold after the fact")
        reqs = uploadtest.requests_seen()
        if not any("object-lock" in r["target"].split("?", 1)[-1] for r in reqs if r["method"] == "GET"):
            problems.append("dockd never asked the store for its Object Lock configuration")
        sent = [r["target"] for r in reqs if "legal-hold" in r["target"].split("?", 1)[-1]]
        if sent:
            problems.append(f"PutObjectLegalHold sent to a store without Object Lock: {sent}")
        after = {k: hashlib.sha256(s.store.fetch(k)).hexdigest() for k in s.store.keys()}
        changed = [k for k in before if after.get(k) != before[k]]
        if changed:
            problems.append(f"objects changed in central storage: {changed}")
        check(not problems, "\n".join(problems))
        s.rig.stop()
    finally:
        s.cleanup()


@case
def legal_hold_tus():
    s = Setup("hold.ini", backend="tus")
    try:
        problems = offload_holding_a(s)
        uploads = s.store.uploads()
        for rec, seg in segments(s.world, "BWC-OP0201"):
            for ext in ("mp4", "man", "p7s"):
                key = f"evidence/BWC-OP0201/{rec}/{seg['index']:06d}.{ext}"
                metas = [(i.get("metadata") or {}).get("legal-hold") for _, i in uploads.get(key, [])]
                want = "1" if rec == A else None
                if not metas or any(m != want for m in metas):
                    problems.append(f"{key}: legal-hold metadata {metas}, expected {want}")
        check(not problems, "\n".join(problems))
        s.rig.stop()
    finally:
        s.cleanup()


def finish(s, problems):
    """The custody log verifies, no problem was found, dockd stops."""
    ok, out = verify_custody(s.rig.state)
    if not ok:
        problems.append(f"custody does not verify: {out}")
    check(not problems, "\n".join(problems))
    s.rig.stop()


def keys_of_b(s):
    return [f"evidence/BWC-OP0201/{rec}/{seg['index']:06d}.{ext}" for rec, seg in segments(s.world, "BWC-OP0201")
            if rec == B for ext in ("mp4", "man", "p7s")]


def legal_hold_applied(s, held_b, reference):
    """Wait for a legal-hold-applied custody record per object of held_b:
    the problems with those records and with what the store reports."""
    s3, bucket = s.store.s3, uploadtest.BUCKET
    applied = wait_for(lambda: (lambda a: a if len(a) >= len(held_b) else None)(
        [r for r in custody_records(s.rig.state) if r["event"] == "legal-hold-applied"]), 60,
        what="a legal-hold-applied custody record for each of recording B's objects")
    problems = []
    got = sorted(r["key"] for r in applied)
    if got != sorted(held_b):
        problems.append(f"legal-hold-applied records name {got}, expected {sorted(held_b)}")
    for r in applied:
        if r.get("camera") != "BWC-OP0201" or r.get("reference") != reference \
                or not r.get("segment", "").startswith(B + "/"):
            problems.append(f"legal-hold-applied record: {r}")
    for k in held_b:
        if s3.get_object_legal_hold(bucket, k) != "ON":
            problems.append(f"{k}: the store reports legal hold {s3.get_object_legal_hold(bucket, k)}")
    return problems


@case
def legal_hold_ceph():
    s = Setup("hold.ini", backend="ceph")
    try:
        problems = offload_holding_a(s)
        s3, bucket = s.store.s3, uploadtest.BUCKET
        held_b = keys_of_b(s)
        for k in held_b:
            if s3.get_object_legal_hold(bucket, k) == "ON":
                problems.append(f"{k}: legal hold ON before recording B was held")
        before = {k: hashlib.sha256(s.store.fetch(k)).hexdigest() for k in held_b}
        s.operator("hold", "BWC-OP0201", B, "CASE-2026-0119")
        problems += legal_hold_applied(s, held_b, "CASE-2026-0119")
        for k in held_b:
            if hashlib.sha256(s.store.fetch(k)).hexdigest() != before[k]:
                problems.append(f"{k}: its bytes changed")
        # A release keeps the legal hold in central storage (the store's administrators lift it).
        s.operator("release", "BWC-OP0201", B, "CASE-2026-0119")
        for k in held_b:
            if s3.get_object_legal_hold(bucket, k) != "ON":
                problems.append(f"{k}: legal hold lifted by a release")
        finish(s, problems)
    finally:
        s.cleanup()


@case
def legal_hold_ceph_queued():
    s = Setup("hold.ini", backend="ceph")
    try:
        s.rig.start()
        # The store goes away before the camera docks: every segment is
        # pulled and queued, and its uploads fail and wait to be retried.
        s.store.kill()
        s.world.control("dock BWC-OP0201 1")

        def all_waiting():
            b, st = s.rig.bay(1), s.rig.status()
            verified = [r for r in custody_records(s.rig.state) if r["event"] == "verified"]
            return (len(verified) >= 4 and b and b.get("progress", {}).get("waiting_for_storage")
                    and st["storage"].get("failing"))
        wait_for(all_waiting, 120, what="every segment pulled and its upload failing")
        s.operator("hold", "BWC-OP0201", B, "CASE-2026-0120")
        s.store.revive()
        s.rig.wait_bay(1, "ready", 180)
        s3, bucket = s.store.s3, uploadtest.BUCKET
        problems = check_stored_and_fates(s, "BWC-OP0201", {B})
        problems += legal_hold_applied(s, keys_of_b(s), "CASE-2026-0120")
        for rec, seg in segments(s.world, "BWC-OP0201"):
            if rec == A:
                k = f"evidence/BWC-OP0201/{rec}/{seg['index']:06d}.mp4"
                if s3.get_object_legal_hold(bucket, k) == "ON":
                    problems.append(f"{k}: legal hold on a recording nobody held")
        finish(s, problems)
    finally:
        s.cleanup()


if __name__ == "__main__":
    run_cases()
