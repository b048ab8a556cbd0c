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
from dockdtest import (PrivateJournal, Rig, TempDir, TestFailure, check, check_offloaded, stop_all,  # noqa: E402
                       in_private_mount_ns, run_cases, run_in_vdock, wait_for)
from uploadtest import (STORES, attach_store, part_number, requests_seen, storage_alerts)  # noqa: E402
from liarproxy import LiarProxy  # noqa: E402  (after uploadtest: it puts tests/servers on sys.path)

SCENARIOS = os.path.join(HERE, "scenarios")


def scenario(name):
    return os.path.join(SCENARIOS, name)


def custody(rig, event):
    return [r for r in rig.custody_records() if r["event"] == event]


class Setup:
    """vdock's world, a store of the given backend, and dockd pointed at it.
    A context manager, like Rig: `with Setup(...) as s:` cleans up."""

    def __init__(self, backend, scen, config=None, store_config=None, name="upload", liar=None):
        self.world = run_in_vdock(scenario(scen))
        self.stmp = TempDir(prefix=f"dockd-{backend}-store-")
        self.store = None
        self.rig = None
        self.liar = None
        try:
            self.store = STORES[backend](self.stmp.path)
            sections = self.store.config(**(store_config or {}))
            if liar:
                # dockd -> liar -> fault proxy -> server
                self.liar = LiarProxy(self.store.fp.port, liar).start()
                sec = sections[backend]
                sec["endpoint"] = sec["endpoint"].replace(self.store.fp.url, self.liar.url)
            sections.setdefault("storage", {}).update({"retry_initial": "200ms", "retry_max": "2s"})
            for sec, kv in (config or {}).items():
                sections.setdefault(sec, {}).update(kv)
            self.rig = Rig(self.world, config=sections, name=f"{name}-{backend}")
            attach_store(self.rig, self.store)
        except BaseException:
            self.cleanup()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    def cleanup(self):
        stop_all(self.rig and self.rig.cleanup, self.liar and self.liar.stop, self.store and self.store.stop,
                 self.stmp.cleanup)

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
    with Setup(backend, "upload.ini", config={"category.arrest": {"legal_hold": "yes"}},
              store_config={"object_lock": "yes"} if backend == "s3" else None) as s:
        s.rig.start()
        s.offloaded(120)
        check_all_safe(s)
        alerts = storage_alerts(s.rig.dockd.log())
        check(not alerts, f"storage alerts in a clean run: {alerts}")
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


def storage_status(s):
    st = s.rig.status() or {}
    return st.get("storage", {})


def check_nothing_deleted_yet(s, what):
    t = s.truth()
    gone = [(x["recording_id"], x["index"]) for _, x in s.world.segments(t) if x["fate"] != "on-camera"]
    confirmed = {r["segment"] for r in custody(s.rig, "confirmed")}
    for rec, idx in gone:
        check(f"{rec}/{idx:06d}" in confirmed, f"{what}: {rec}/{idx} deleted without confirmation")


def wait_failing(s, needle=None, timeout=60):
    def failing():
        st = storage_status(s)
        if not st.get("failing"):
            return None
        if needle and needle not in (st.get("last_error") or ""):
            return None
        return st
    try:
        return wait_for(failing, timeout, interval=0.2, what=f"storage failing ({needle})")
    except TestFailure:
        raise TestFailure(f"storage never failing with {needle!r}: {storage_status(s)}\n{s.rig.dockd.log()[-3000:]}")


def check_recovered(s):
    log = s.rig.dockd.log()
    check(storage_alerts(log), "no storage-failing alert was logged")
    check("Central storage accepts uploads again" in log, "no recovery notice")


@upload_case
def server_killed(backend):
    """The server dies in the middle of a part and comes back: the upload resumes."""
    with Setup(backend, "big.ini") as s:
        s.store.fp.slow(4 << 20, "up")
        s.rig.start()
        wait_data_bytes(s, 12 << 20)
        s.store.kill()
        wait_failing(s)
        time.sleep(1)
        check_nothing_deleted_yet(s, "while the server was down")
        check(any(i == 0 for _, i in s.on_camera()), f"the segment being uploaded left the camera: {s.on_camera()}")
        s.store.revive()
        s.store.fp.slow(None)
        s.offloaded(120)
        check_all_safe(s)
        check_recovered(s)
        check(s.rig.stop() == 0, "dockd exit status")


@upload_case
def connection_reset(backend):
    """Connections reset mid-body, three times: resumed, nothing lost."""
    with Setup(backend, "big.ini") as s:
        s.store.fp.reset_after(3 << 20, "up", times=3)
        s.rig.start()
        s.offloaded(120)
        check(s.store.fp.stats()["resets"] >= 3, f"resets: {s.store.fp.stats()}")
        check_all_safe(s)
        check_recovered(s)
        check(s.rig.stop() == 0, "dockd exit status")


@upload_case
def server_errors(backend):
    """503 and 500 answers: retried with backoff until the server takes them."""
    with Setup(backend, "big.ini") as s:
        s.store.fp.fail_requests(3, status=503)
        s.rig.start()
        s.store.fp.wait_until(lambda st: st["injected"] >= 3, timeout=30)
        wait_for(lambda: s.store.fp.stats()["requests_forwarded"] >= 2, 30, what="traffic after the 503s")
        s.store.fp.fail_requests(3, status=500)
        s.store.fp.wait_until(lambda st: st["injected"] >= 6, timeout=30)
        s.offloaded(120)
        log = s.rig.dockd.log()
        check(any("503" in a for a in storage_alerts(log)) or "HTTP 503" in log, "503 not reported")
        check("HTTP 500" in log, "500 not reported")
        check_all_safe(s)
        check_recovered(s)
        check(s.rig.stop() == 0, "dockd exit status")


@upload_case
def slow_server(backend):
    """A server that takes 3 MB/s, both ways: slow is not broken; no request
    times out while bytes move ([s3]/[tus] timeout=5s)."""
    key = "s3" if backend == "s3" else "tus"
    with Setup(backend, "big.ini", store_config={"timeout": "5s"}) as s:
        s.store.fp.slow(3_000_000, "both")
        t0 = time.monotonic()
        s.rig.start()
        s.offloaded(180)
        took = time.monotonic() - t0
        check(took >= 10, f"took only {took:.1f}s: was it slow?")
        check_all_safe(s)
        log = s.rig.dockd.log()
        check(not storage_alerts(log), f"a slow server was reported failing: {storage_alerts(log)}")
        print(f"{key}: 41 MiB through a 3 MB/s link in {took:.1f}s")
        check(s.rig.stop() == 0, "dockd exit status")


@upload_case
def wrong_credentials(backend):
    """Refused credentials: a clear error and alert, status says so, nothing is
    deleted; once the file is fixed, the next retry uses it."""
    with Setup(backend, "upload.ini") as s:
        wrong = "not-the-secret-0815"
        s.store.set_credentials(wrong)
        s.rig.start()
        # S3: every write is preceded by a HEAD of its key (write-once, issue 12),
        # and a HEAD's 403 carries no error document to name SignatureDoesNotMatch.
        st = wait_failing(s, "refused the credentials" if backend == "s3" else "401")
        check("credentials" in s.rig.dockd.log() or "401" in st.get("last_error", "") or "403" in st["last_error"],
              st)
        # Every segment pulled, and the bay waiting for storage: however long
        # the pulls take on a loaded machine.
        b = wait_for(lambda: (lambda b: b if b and b["state"] == "offloading" and
                              b["progress"]["waiting_for_storage"] else None)(s.rig.bay(1)),
                     120, what="bay 1 waiting for storage")
        check(len(s.on_camera()) == 5, f"segments left the camera: {s.on_camera()}")
        check(not custody(s.rig, "confirmed"), "confirmed with wrong credentials")
        log = s.rig.dockd.log()
        check(storage_alerts(log), "no alert")
        check(wrong not in log and "testsecret" not in log, "a secret is in the log")
        s.store.set_credentials(s.store.sw.secret_key if backend == "s3" else "right-token-4711")
        s.offloaded(120)
        check_all_safe(s)
        check_recovered(s)
        check(s.rig.stop() == 0, "dockd exit status")


@upload_case
def upload_forgotten(backend):
    """The server no longer knows the upload (aborted, expired, lost): that
    object starts over cleanly under a new one."""
    with Setup(backend, "big.ini") as s:
        s.store.fp.slow(4 << 20, "up")
        s.rig.start()
        wait_data_bytes(s, 14 << 20)
        n = s.store.forget_uploads()
        check(n >= 1, "no upload in progress to forget")
        s.store.fp.slow(None)
        s.offloaded(120)
        log = s.rig.dockd.log()
        check("starting this object over" in log, "no start-over logged")
        check_all_safe(s)
        if backend == "s3":
            check(not s.store.uploads_in_progress(), "uploads left behind")
        check(s.rig.stop() == 0, "dockd exit status")


def part_log(s):
    """[(upload id, part number, status, complete)] of UploadPart requests."""
    out = []
    for r in s.store.fp.requests_log():
        n = part_number(r["target"])
        if r["method"] == "PUT" and n is not None:
            uid = r["target"].split("uploadId=", 1)[1].split("&", 1)[0]
            out.append((uid, n, r["status"], r["complete"]))
    return out


def resent_parts(before, after):
    """Parts the server had acknowledged before that were sent again after."""
    acked = {(u, n) for u, n, status, _ in before if status == 200}
    return [(u, n) for u, n, _, _ in after if (u, n) in acked]


def tus_held(s):
    """Bytes the tus server holds, over all its uploads."""
    time.sleep(1)   # what the proxy had in flight at a kill lands first
    return sum(i["stored_bytes"] or 0 for ups in s.store.uploads().values() for _, i in ups)


def check_tus_resent(s, held_at_kill, n_before):
    """What went out after the restart beyond what the server newly holds was
    sent twice: at most one chunk ([tus] chunk_size=2M)."""
    after = s.store.fp.requests_log()[n_before:]
    sent = sum(r["body_bytes"] for r in after if r["method"] == "PATCH")
    wasted = sent - (tus_held(s) - held_at_kill)
    print(f"tus: held at the kill {held_at_kill}, PATCH bytes after the restart {sent}, sent twice {wasted}")
    check(wasted <= 2 << 20, f"{wasted} bytes sent twice")


def kill9_case(backend, failpoint):
    with Setup(backend, "big.ini") as s:
        s.store.fp.slow(8 << 20, "up")
        # The kill may come before dockd is ready (its first uploads start with it).
        d = s.rig.start(extra_env={"DOCKD_FAILPOINTS": failpoint}, wait=False)
        d.proc.wait(120)
        check(d.proc.returncode == -signal.SIGKILL, f"dockd was not killed at {failpoint}: {d.proc.returncode}")
        check(f"Failpoint {failpoint.split(':')[0].split('@')[0]} reached" in d.log(), "failpoint not reached")
        d.notify.close()
        check_nothing_deleted_yet(s, "at the kill")
        before = part_log(s) if backend == "s3" else None
        held = tus_held(s) if backend == "tus" else 0
        n_before = len(s.store.fp.requests_log())
        s.store.fp.slow(None)
        s.rig.start()
        s.offloaded(120)
        check_all_safe(s)
        log = s.rig.dockd.log()
        if backend == "s3":
            after = part_log(s)[len(before):]
            again = resent_parts(before, after)
            print(f"parts acknowledged before the kill: {sum(1 for p in before if p[2] == 200)}; "
                  f"re-sent after the restart: {len(again)} {again}")
            check(len(again) <= 1, f"re-sent {again}")
            acked = sum(1 for p in before if p[2] == 200)
            pages = [r["target"] for r in s.store.fp.requests_log()[n_before:]
                     if "max-parts=" in r["target"] and r["method"] == "GET"]
            print(f"ListParts pages read on resume: {len(pages)}")
            if failpoint.startswith("s3-after-part") and acked > 2:
                check(len(pages) >= 2 and any(not re.search(r"part-number-marker=0(&|$)", t) for t in pages),
                      f"ListParts was not paged: {pages}")
        else:
            check_tus_resent(s, held, n_before)
            check("resuming tus upload" in log or failpoint.startswith("tus-after-create"), "did not resume")
        check(s.rig.stop() == 0, "dockd exit status")
        return s


@upload_case
def kill9_after_part(backend):
    """kill -9 right after the server acknowledged a part (before or after its
    state write, whichever the failpoint hits): at most one part is sent again."""
    # tus: a video's PATCH (the dock's key and custody files are tus uploads too).
    kill9_case(backend, "s3-after-part:3" if backend == "s3" else "tus-after-patch@.mp4:3")


@upload_case
def kill9_after_create(backend):
    kill9_case(backend, "s3-after-create:1" if backend == "s3" else "tus-after-create@.mp4:1")


def s3_kill9_after_complete():
    """kill -9 after CompleteMultipartUpload answered, before the HEAD and the
    state removal: the restart finds the upload gone and the object complete."""
    s = kill9_case("s3", "s3-after-complete:1")


dockdtest._cases["s3-kill9-after-complete"] = s3_kill9_after_complete


@upload_case
def kill9_random(backend):
    """kill -9 at a moment nobody chose (a byte count in the big segment):
    the restart sends at most one part (one chunk) again."""
    import random
    with Setup(backend, "big.ini") as s:
        s.store.fp.slow(8 << 20, "up")
        at = random.randint(6 << 20, 34 << 20)
        print(f"killing dockd after {at} bytes")
        s.rig.start()
        wait_data_bytes(s, at)
        s.rig.kill9()
        check_nothing_deleted_yet(s, "at the kill")
        before = part_log(s) if backend == "s3" else None
        held = tus_held(s) if backend == "tus" else 0
        n_before = len(s.store.fp.requests_log())
        s.store.fp.slow(None)
        s.rig.start()
        s.offloaded(120)
        check_all_safe(s)
        if backend == "s3":
            again = resent_parts(before, part_log(s)[len(before):])
            print(f"re-sent parts: {again}")
            check(len(again) <= 1, f"re-sent {again}")
        else:
            check_tus_resent(s, held, n_before)
        check(s.rig.stop() == 0, "dockd exit status")


@upload_case
def spool_full(backend):
    """Offline: the spool fills to its quota, pulls pause, nothing is deleted;
    when the network is back, uploads drain it and pulls resume."""
    with Setup(backend, "many.ini", config={"spool": {"quota": "16M", "min_free": "0"}}) as s:
        s.store.fp.refuse()
        s.rig.start()
        s.rig.wait_log("Spool full", 60)
        wait_for(lambda: (s.rig.status() or {}).get("spool", {}).get("full"), 30, what="status spool.full")
        time.sleep(2)
        st = s.rig.status()
        check(st["spool"]["bytes"] <= 16 << 20, f"spool over its quota: {st['spool']}")
        check(st["storage"]["failing"], st["storage"])
        check(len(s.on_camera()) == 8, f"deleted while offline: {s.on_camera()}")
        b = s.rig.bay(1)
        check(b["progress"]["spool_full"], b)
        pulled = len(custody(s.rig, "pulled"))
        check(0 < pulled < 8, f"{pulled} pulled while offline")
        s.store.fp.refuse(False)
        s.offloaded(180)
        check("Spool has room again; pulls resume" in s.rig.dockd.log(), "pulls did not resume")
        check_all_safe(s)
        check_recovered(s)
        check(s.rig.stop() == 0, "dockd exit status")


@upload_case
def integrity_mismatch(backend):
    """The store answers for other bytes than were sent (S3: ETags; tus: the
    read-back): no confirmation, an alert, retries, nothing leaves the camera.
    Once the store tells the truth, everything is confirmed."""
    with Setup(backend, "upload.ini", liar="etag" if backend == "s3" else "readback") as s:
        s.rig.start()
        s.rig.wait_log("does not hold exactly the bytes", 60)
        wait_for(lambda: s.rig.dockd.log().count("does not hold exactly the bytes") >= 4, 60,
                 what="retries after the mismatch")
        if backend == "s3":
            # A retry finds the object there under another ETag and reads it
            # back: the bytes the store serves are not ours either.
            s.rig.wait_log("under our SHA-256", 120)
        st = wait_failing(s)
        check(s.liar.lies >= 2, f"lies: {s.liar.lies}")
        check(len(s.on_camera()) == 5, f"left the camera on a mismatch: {s.on_camera()}")
        check(not custody(s.rig, "confirmed"), "confirmed on a mismatch")
        check(not [r for r in custody(s.rig, "uploaded") if r["key"].startswith("evidence/")],
              "an object recorded as uploaded on a mismatch")
        log = s.rig.dockd.log()
        check(("ETag" in log) if backend == "s3" else ("SHA-256" in log), f"mismatch not explained: {st}")
        s.liar.honest = True
        s.offloaded(120)
        check_all_safe(s)
        check_recovered(s)
        check(s.rig.stop() == 0, "dockd exit status")


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


@upload_case
def eight_bays(backend):
    """Eight cameras offloading at once (a shift change): all of it arrives,
    and dockd's peak resident memory stays at or under 64 MiB."""
    with Setup(backend, "eight-bays.ini", config={"storage": {"concurrency": "6"}}) as s:
        s.rig.start()
        for n in range(1, 9):
            s.offloaded(300, bay=n)
        hwm = vm_hwm_kib(s.rig.dockd.proc.pid)
        print(f"{backend}: dockd peak RSS with 8 bays offloading: {hwm} KiB")
        check_all_safe(s)
        if dockdtest.SANITIZED:
            print("sanitizer build: the 64 MiB bound is not checked")
        else:
            check(hwm <= 64 * 1024, f"peak RSS {hwm} KiB > 64 MiB")
        check(s.rig.stop() == 0, "dockd exit status")


@upload_case
def alert_in_journal(backend):
    """The storage-failing alert as an operator sees it: journald, with its
    MESSAGE_ID (explained by the catalog) and the reason; no secret in any field."""
    in_private_mount_ns()
    world = run_in_vdock(scenario("upload.ini"))
    journal = PrivateJournal()
    try:
        with Setup(backend, "upload.ini") as s:
            wrong = "wrong-secret-4242"
            s.store.set_credentials(wrong)
            s.rig.env["DOCKD_LOG_TARGET"] = "journal"
            s.rig.start()
            alerts = wait_for(lambda: journal.entries(MESSAGE_ID="8003c809aa304eb092dd775c5283fbef"), 60,
                              what="storage alert in the journal")
            a = alerts[0]
            check(a.get("PRIORITY") == "4", f"priority {a.get('PRIORITY')}")
            reason = a.get("DOCKD_REASON", "")
            check("refused the credentials" in reason and s.store.cred in reason, a)
            check(len(s.on_camera()) == 5, "deleted while failing")
            everything = str(journal.entries())
            check(wrong not in everything and "testsecret" not in everything, "a secret in the journal")
            s.rig.stop()
    finally:
        journal.stop()


if __name__ == "__main__":
    run_cases()
