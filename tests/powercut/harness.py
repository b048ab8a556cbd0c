# SPDX-License-Identifier: Apache-2.0
"""dockd under power cuts: its state directory (spool, custody log, keys) and
the file backend's central directory live on powercutfs; dockd runs in vdock's
world with several cameras and faults. A cut is: SIGKILL dockd, drop every
change not made durable, remount. Cuts come at random instants (wall time, or
the N-th file system request), at every failpoint, and after a plain kill -9 at
a failpoint followed by a restart (state left by a crash, adopted by the next
run, then a power cut). After every cut and at the end the durable state is
checked (check_durable below says what); then dockd restarts and goes on.

Used by test_powercut.py (suite powercut) and scripts/bench powercut."""

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from dockdtest import DOCKD, Rig, TempDir, TestFailure, wait_for  # noqa: E402
from powercut import PowercutFS  # noqa: E402

SCENARIO = os.path.join(HERE, "scenarios", "cameras.ini")

# Every failpoint on the path of the file backend (the s3/tus ones are not).
FAILPOINTS = [
    "pull-chunk", "pull-before-sync", "pull-before-rename", "pull-after-rename", "pull-after-custody",
    "pull-after-state", "atomic-before-rename", "atomic-after-rename", "rename-before-sync", "mkdir-before-sync",
    "custody-append-before-sync", "custody-seal-link-before-sync", "custody-seal-after-link",
    "custody-seal-after-create", "custody-seal-rename-before-sync", "custody-seal-after-rename",
    "file-before-rename", "file-after-rename",
    "delete-before", "delete-object", "delete-after-custody",
]

EXTS = ("mp4", "man", "p7s")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


class Tally:
    def __init__(self):
        self.cuts = 0
        self.crashes = 0
        self.lost = 0
        self.early_delete = 0
        self.custody_failures = 0
        self.torn_tails = 0
        self.not_reached = 0
        self.problems = []

    def line(self):
        custody = "ok" if self.custody_failures == 0 else f"FAILED({self.custody_failures})"
        return f"powercut: cuts={self.cuts} lost={self.lost} early_delete={self.early_delete} custody={custody}"

    def details(self):
        return (f"powercut-details: crashes={self.crashes} torn_tails={self.torn_tails} "
                f"failpoints_not_reached={self.not_reached} problems={len(self.problems)}")

    def as_dict(self):
        return dict(self.__dict__)


# ---- reading the durable state ----

def custody_files(state):
    d = os.path.join(state, "custody")
    sealed_dir = os.path.join(d, "sealed")
    sealed = []
    if os.path.isdir(sealed_dir):
        def first_seq(name):
            return int(name.rsplit("-", 2)[1])
        sealed = [os.path.join(sealed_dir, f) for f in sorted(
            (f for f in os.listdir(sealed_dir) if f.endswith(".jsonl")), key=first_seq)]
    cur = os.path.join(d, "current.jsonl")
    if not os.path.exists(cur):
        return sealed
    # A seal cut after its commit point (the link into sealed/), before current.jsonl
    # was replaced, leaves the newest sealed file under both names (one inode):
    # dockd finishes the seal at open.
    st = os.stat(cur)
    if any((os.stat(f).st_dev, os.stat(f).st_ino) == (st.st_dev, st.st_ino) for f in sealed):
        return sealed
    return sealed + [cur]


def custody_lines(files):
    """[(seq, sha256 of the line, record or None if torn)] in file order."""
    out = []
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        for raw in data.split(b"\n")[:-1]:
            try:
                rec = json.loads(raw)
                out.append((rec["seq"], hashlib.sha256(raw).hexdigest(), rec))
            except (ValueError, KeyError):
                out.append((None, hashlib.sha256(raw).hexdigest(), None))
        if data and not data.endswith(b"\n"):
            out.append((None, None, None))   # an unterminated tail
    return out


def verify_custody(state):
    files = custody_files(state)
    if not files:
        return True, "no custody log yet"
    d = os.path.join(state, "custody")
    key = os.path.join(d, "dock-key.pub.pem")
    key_args = ["--custody-key", key] if os.path.exists(key) else []
    # The files as listed here, and the directory as dockd's verifier reads it
    # (it must agree on which files count, as after a seal cut at its commit point).
    runs = [files] + ([[d]] if os.path.exists(os.path.join(d, "current.jsonl")) else [])
    out = []
    for what in runs:
        p = subprocess.run([DOCKD, "--verify-custody"] + what + key_args, capture_output=True, text=True)
        out.append((p.stdout + p.stderr).strip())
        if p.returncode != 0:
            return False, "\n".join(out)
    return True, "\n".join(out)


def spool_states(state):
    out = {}
    spool = os.path.join(state, "spool")
    if not os.path.isdir(spool):
        return out
    for serial in os.listdir(spool):
        sd = os.path.join(spool, serial)
        if not os.path.isdir(sd):
            continue
        for rec in os.listdir(sd):
            rd = os.path.join(sd, rec)
            if not os.path.isdir(rd):
                continue
            for f in os.listdir(rd):
                if not f.endswith(".state") or len(f) != 12:
                    continue
                kv = {}
                with open(os.path.join(rd, f)) as fh:
                    for line in fh:
                        if "=" in line:
                            k, v = line.rstrip("\n").split("=", 1)
                            kv[k] = v
                out[(serial, rec, int(f[:6]))] = kv
    return out


class Expect:
    """What the scenario's faults make of each segment: its area in central
    storage and whether it may stay on the camera."""

    def __init__(self, truth):
        self.area = {}
        self.stays = set()
        held = set()
        for cam in truth["cameras"]:
            for rec in cam["recordings"]:
                for seg in rec["segments"]:
                    key = (cam["serial"], seg["recording_id"], seg["index"])
                    f = seg.get("faults") or {}
                    bad = f.get("corrupt_offset") is not None or f.get("manifest_altered")
                    self.area[key] = "quarantine" if bad else "evidence"
                    if bad:
                        held.add((cam["serial"], seg["recording_id"]))
                    if f.get("delete_refused"):
                        self.stays.add(key)
        for key in self.area:
            if key[:2] in held:
                self.stays.add(key)


def segments(truth):
    for cam in truth["cameras"]:
        for rec in cam["recordings"]:
            for seg in rec["segments"]:
                if seg["fate"] != "never-on-camera":
                    yield (cam["serial"], seg["recording_id"], seg["index"]), seg


def deleted_on_camera(seg):
    return any(seg["files"][e]["fate"] == "deleted" for e in EXTS if e in seg["files"])


# ---- the run ----

class PowerCutRun:
    def __init__(self, world, seed, journal=False, log=print, config=None):
        self.world = world
        self.rng = random.Random(seed)
        self.seed = seed
        self.log = log
        self.tally = Tally()
        self.tmp = TempDir(prefix="dockd-powercut-")
        self.fs = PowercutFS(self.tmp.path, journal=journal)
        self.state = self.fs.path("state")
        self.central = self.fs.path("central")
        cfg = {
            "dock": {"state_dir": self.state},
            "file": {"path": self.central},
            "usb": {"chunk_size": "1M", "transfer_size": "256K"},
            "spool": {"sync_interval": "1M"},
        }
        for sec, kv in (config or {}).items():
            cfg.setdefault(sec, {}).update(kv)
        self.rig = Rig(world, config=cfg, name="powercut")
        self.rig.state, self.rig.central = self.state, self.central
        self.seen_records = {}      # seq → line hash: every record ever found durable
        self.acknowledged = {}      # seq → line hash: every record an append returned for
        self.uploaded = {}          # object key → sha256 of every "uploaded" custody record
        self.ops_per_second = 200.0
        self.expect = None
        self.sessions = 0
        self.expect_in_next_log = None   # run_steps ("expect", text): the next session's log says it
        self.expect_after = 0
        self.ever_docked = set()         # cameras seen in a bay; the others wait in the pool
        self.retired = set()             # cameras done and taken out

    # -- dockd sessions --

    def start(self, failpoint=None):
        self.rotate_cameras()
        env = {"DOCKD_FAILPOINTS": failpoint} if failpoint else None
        self.sessions += 1
        self.t0 = time.monotonic()
        self.ops0 = self.fs.stats()["ops"]
        return self.rig.start(extra_env=env, wait=False)

    def _note_rate(self):
        dt = time.monotonic() - self.t0
        ops = self.fs.stats()["ops"] - self.ops0
        if dt > 0.5 and ops > 0:
            self.ops_per_second = 0.7 * self.ops_per_second + 0.3 * ops / dt

    def _session_log(self, d):
        d.notify.close()
        d.stderr.close()
        with open(d.stderr_path, "rb") as f:
            log = f.read().decode("utf-8", "replace")
        for needle in ("exists with other content", "holds other bytes than were written"):
            if needle in log:
                self.problem(f"session {self.sessions}: dockd says central storage {needle}")
        if self.expect_in_next_log and self.sessions > self.expect_after:
            if self.expect_in_next_log not in log:
                self.problem(f"session {self.sessions}: its log does not say {self.expect_in_next_log!r}")
            self.expect_in_next_log = None
        os.rename(d.stderr_path, f"{d.stderr_path}.{self.sessions}")
        return log

    def _exited_by_itself(self, d, how):
        """dockd must run until we kill it, or a failpoint does."""
        if d.proc.poll() is None or (d.proc.returncode == -signal.SIGKILL and "Failpoint" in d.log()[-2000:]):
            return
        if d.proc.returncode == 0 and how == "after a clean stop":
            return
        self.problem(f"session {self.sessions} ({how}): dockd exited with {d.proc.returncode}; "
                     f"log tail:\n{d.log()[-2500:]}")

    def note_acknowledged(self):
        """Custody records dockd was told are durable, read from the live tree
        (the backing directory: readable even while the mount is frozen). Each
        append is one write and an fdatasync, one at a time, so every complete
        line but the last of current.jsonl has been acknowledged."""
        live = custody_files(os.path.join(self.fs.backing, "tree", "state"))
        for path in live:
            lines = [x for x in custody_lines([path]) if x[2]]
            if path.endswith("current.jsonl"):
                lines = lines[:-1]
            for seq, h, _ in lines:
                self.acknowledged[seq] = h

    def power_cut(self, d, how):
        """SIGKILL dockd (if it still runs), drop the pending set, remount."""
        self._exited_by_itself(d, how)
        if d.proc.poll() is None:
            d.proc.send_signal(signal.SIGKILL)
        self.note_acknowledged()
        self.fs.cut()   # also releases requests held by a freeze: the process can die
        d.proc.wait(30)
        self.fs.remount()
        # The whole dock lost power: the hub comes back with every port powered
        # and the cameras enumerate afresh (a kill -9 alone leaves them as they are).
        for bay in range(1, self.world.bays + 1):
            self.world.control(f"port-power {bay} 0")
            self.world.control(f"port-power {bay} 1")
        self.tally.cuts += 1
        self._session_log(d)
        self.check_durable(f"cut {self.tally.cuts} ({how})")

    def crash(self, d, how):
        """kill -9 without a power cut: the page cache keeps what dockd wrote."""
        self._exited_by_itself(d, how)
        if d.proc.poll() is None:
            d.proc.kill()
        d.proc.wait(30)
        self.note_acknowledged()
        self.tally.crashes += 1
        self._session_log(d)

    def cut_at_random(self):
        d = self.start()
        if self.rng.random() < 0.5:
            delay = self.rng.uniform(0.05, 3.0)
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline and d.proc.poll() is None:
                time.sleep(0.01)
            self._note_rate()
            self.power_cut(d, f"after {delay:.2f}s")
            return
        n = max(1, int(self.rng.uniform(0.02, 3.0) * self.ops_per_second))
        self.fs.freeze_after(n)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and d.proc.poll() is None and not self.fs.frozen():
            time.sleep(0.01)
        # dockd may still act on what it already had (not on the file system).
        time.sleep(self.rng.uniform(0, 0.1))
        self._note_rate()
        self.power_cut(d, f"at request {n}")

    def crash_at_random(self):
        """kill -9 between two file system requests, chosen at random."""
        d = self.start()
        n = max(1, int(self.rng.uniform(0.02, 3.0) * self.ops_per_second))
        self.fs.freeze_after(n)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and d.proc.poll() is None and not self.fs.frozen():
            time.sleep(0.01)
        self._note_rate()
        self._exited_by_itself(d, f"crash at request {n}")
        if d.proc.poll() is None:
            d.proc.kill()
        self.note_acknowledged()
        self.fs.thaw()   # the held request fails; the process dies; nothing is dropped
        d.proc.wait(30)
        self.tally.crashes += 1
        self._session_log(d)

    def failpoint_session(self, point, cut):
        d = self.start(point)
        try:
            wait_for(lambda: d.proc.poll() is not None, 15, interval=0.02, what=point)
            reached = d.proc.returncode == -signal.SIGKILL
        except TestFailure:
            reached = False
        if not reached:
            self.tally.not_reached += 1
            self.log(f"{point} not reached")
        how = f"{'' if reached else 'not reached, instead: '}{point}"
        if cut:
            self.power_cut(d, how)
        else:
            self.crash(d, how)

    # -- checks --

    def problem(self, msg):
        self.tally.problems.append(msg)
        self.log(f"PROBLEM: {msg}")

    def check_durable(self, when):
        """What the cut left must keep the promise:
        - every segment deleted from a camera (even one of its files) is in central
          storage, all three objects, byte for byte as the camera held them (lost);
        - and the durable custody log has its "confirmed" record (early_delete);
        - the custody log verifies, and no record once found durable is gone;
        - spool state and camera agree: a "deleted" state means the camera no
          longer has it, "confirmed" means central storage holds it, "pulled"
          means the spool holds the bytes the verdict was given on, and a
          segment the camera deleted has a state of "confirmed" or "deleted";
        - no object was uploaded twice with different content: every object in
          central storage holds the camera's bytes, and all "uploaded" records
          of one key carry one SHA-256."""
        truth = self.world.truth()
        if self.expect is None:
            self.expect = Expect(truth)
        files = custody_files(self.state)
        lines = custody_lines(files)
        records = [r for _, _, r in lines if r]
        if os.environ.get("POWERCUT_VERBOSE"):
            self.log(f"{when}: custody {[os.path.basename(f) for f in files]} seqs "
                     f"{[r['seq'] for r in records][:3]}..{[r['seq'] for r in records][-3:]}; "
                     f"acknowledged up to {max(self.acknowledged, default=None)}")
        confirmed = {(r.get("camera"), r.get("segment")) for r in records if r["event"] == "confirmed"}
        states = spool_states(self.state)

        for key, seg in segments(truth):
            serial, rec, idx = key
            name = f"{serial}/{rec}/{idx:06d}"
            area = self.expect.area[key]
            if deleted_on_camera(seg):
                for ext in EXTS:
                    p = os.path.join(self.central, area, serial, rec, f"{idx:06d}.{ext}")
                    want = seg["files"][ext].get("served_sha256", seg["files"][ext]["sha256"])
                    if not os.path.exists(p):
                        self.tally.lost += 1
                        self.problem(f"{when}: LOST {name}.{ext}: deleted from the camera, not in central storage")
                        break
                    if sha256_file(p) != want:
                        self.tally.lost += 1
                        self.problem(f"{when}: LOST {name}.{ext}: central storage holds other bytes")
                        break
                if (serial, f"{rec}/{idx:06d}") not in confirmed:
                    self.tally.early_delete += 1
                    self.problem(f"{when}: EARLY DELETE {name}: deleted from the camera, "
                                 "no durable custody record of its confirmation")
                st = states.get(key, {}).get("stage")
                # 'deleting' is written before the first DeleteObject (deletion by
                # content, issue 11); a cut before 'deleted' leaves it so.
                if st not in ("confirmed", "deleting", "deleted"):
                    self.problem(f"{when}: {name} deleted from the camera, spool state {st!r}")
            st = states.get(key)
            if st:
                self.check_state(when, key, name, area, seg, st)

        self.check_custody(when, files, lines, records)
        self.check_central(when, truth)

    def check_state(self, when, key, name, area, seg, st):
        serial, rec, idx = key
        stage = st.get("stage")
        if stage == "deleted" and not all(seg["files"][e]["fate"] == "deleted" for e in EXTS):
            self.problem(f"{when}: {name}: spool state 'deleted', the camera still has it ({seg['fate']})")
        if stage in ("confirmed", "deleting", "deleted"):
            for ext in EXTS:
                p = os.path.join(self.central, area, serial, rec, f"{idx:06d}.{ext}")
                if not os.path.exists(p):
                    self.problem(f"{when}: {name}: spool state {stage!r}, central storage has no {ext}")
        if stage == "pulled":
            mp4 = os.path.join(self.state, "spool", serial, rec, f"{idx:06d}.mp4")
            if not os.path.exists(mp4):
                self.problem(f"{when}: {name}: spool state 'pulled' without its video in the spool")
            elif os.path.getsize(mp4) != int(st.get("size", -1)) or sha256_file(mp4) != st.get("sha256"):
                self.problem(f"{when}: {name}: spool state 'pulled', the spool's video is not what was verified")

    def check_custody(self, when, files, lines, records):
        ok, out = verify_custody(self.state)
        if not ok:
            tail = lines[-1] if lines else None
            if tail and tail[0] is None and "current.jsonl" in (files[-1] if files else ""):
                self.tally.torn_tails += 1   # a torn last record, never acknowledged: reported, fine
            else:
                self.tally.custody_failures += 1
                self.problem(f"{when}: custody log does not verify: {out}")
        present = {seq: h for seq, h, r in lines if r}
        for seq, h in sorted(self.acknowledged.items()):
            if present.get(seq) != h:
                self.tally.custody_failures += 1
                self.problem(f"{when}: acknowledged custody record seq {seq} is "
                             f"{'gone' if seq not in present else 'different'} after the cut")
                break
        for seq, h in self.seen_records.items():
            if present.get(seq) != h:
                self.tally.custody_failures += 1
                self.problem(f"{when}: custody record seq {seq} was durable before and is "
                             f"{'gone' if seq not in present else 'different'} now")
                break
        self.seen_records.update(present)
        for r in records:
            if r["event"] == "uploaded":
                self.uploaded.setdefault(r["key"], set()).add(r["sha256"])
        for k, shas in self.uploaded.items():
            if len(shas) > 1:
                self.problem(f"{when}: {k} uploaded twice with different content: {sorted(shas)}")
        # Sealed files in central storage are the dock's own, byte for byte.
        cdir = os.path.join(self.central, "custody", "test-dock")
        if os.path.isdir(cdir):
            for f in os.listdir(cdir):
                local = os.path.join(self.state, "custody", "sealed", f)
                if f.endswith(".jsonl") and (not os.path.exists(local) or
                                             sha256_file(local) != sha256_file(os.path.join(cdir, f))):
                    self.tally.custody_failures += 1
                    self.problem(f"{when}: central custody/{f} is not the dock's sealed file")

    def check_central(self, when, truth):
        by_key = {}
        for key, seg in segments(truth):
            by_key[key] = seg
        for area in ("evidence", "quarantine"):
            top = os.path.join(self.central, area)
            for dirpath, _, fnames in os.walk(top):
                for f in fnames:
                    rel = os.path.relpath(os.path.join(dirpath, f), top).split("/")
                    if len(rel) != 3:
                        self.problem(f"{when}: stray file {area}/{'/'.join(rel)}")
                        continue
                    serial, rec, fname = rel
                    idx, ext = int(fname[:6]), fname[7:]
                    seg = by_key.get((serial, rec, idx))
                    if not seg or ext not in EXTS:
                        self.problem(f"{when}: unknown object {area}/{'/'.join(rel)}")
                        continue
                    want = seg["files"][ext].get("served_sha256", seg["files"][ext]["sha256"])
                    if sha256_file(os.path.join(dirpath, f)) != want:
                        self.problem(f"{when}: {area}/{'/'.join(rel)} holds other bytes than the camera's")

    # -- cameras come and go --

    def camera_done(self, cam):
        """Everything of the camera is in central storage, and off the camera
        unless it has to stay."""
        for rec in cam["recordings"]:
            for seg in rec["segments"]:
                if seg["fate"] == "never-on-camera":
                    continue
                key = (cam["serial"], seg["recording_id"], seg["index"])
                for ext in EXTS:
                    path = os.path.join(self.central, self.expect.area[key], *key[:2], f"{key[2]:06d}.{ext}")
                    if not os.path.exists(path):
                        return False
                if key not in self.expect.stays and seg["fate"] != "deleted":
                    return False
        return True

    def rotate_cameras(self, truth=None):
        """A camera that is done leaves its bay and one from the pool takes it,
        as officers do: the dock never runs out of work."""
        truth = truth or self.world.truth()
        self.expect = self.expect or Expect(truth)
        self.ever_docked |= {c["serial"] for c in truth["cameras"] if c["docked_bay"]}
        pool = [c["serial"] for c in truth["cameras"] if c["serial"] not in self.ever_docked]
        for cam in truth["cameras"]:
            if not pool or not cam["docked_bay"] or not self.camera_done(cam):
                continue
            nxt = pool.pop(0)
            self.world.control(f"undock {cam['docked_bay']}")
            self.world.control(f"dock {nxt} {cam['docked_bay']}")
            self.retired.add(cam["serial"])
            self.ever_docked.add(nxt)
            self.log(f"camera {cam['serial']} done: {nxt} docks in bay {cam['docked_bay']}")

    # -- the end --

    def settled(self):
        """Every camera, the pool's too, is done."""
        truth = self.world.truth()
        self.rotate_cameras(truth)
        return all(self.camera_done(c) for c in truth["cameras"])

    def finish(self, timeout=300):
        if self.tally.lost:
            timeout = 30   # a lost segment never comes back: do not wait for it
        """Restart, let dockd finish, stop it cleanly, cut once more: nothing of
        it may be lost, and everything is where it belongs."""
        d = self.start()
        try:
            wait_for(lambda: d.proc.poll() is not None or self.settled(), timeout, interval=0.5,
                     what="every segment in central storage and off the camera")
            if d.proc.poll() is not None:
                raise TestFailure("dockd exited")
            d.wait_ready(60)
        except TestFailure as e:
            self.problem(f"end: not settled: {e}; dockd {'running' if d.proc.poll() is None else 'exited'}; "
                         f"log tail:\n{d.log()[-3000:]}")
        if d.proc.poll() is None:
            d.proc.send_signal(signal.SIGTERM)
            try:
                d.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.problem("end: dockd did not stop on SIGTERM")
        self.power_cut(d, "after a clean stop")
        if not self.settled():
            self.problem("end: a cut after a clean stop undid finished work")
        # A last start puts the spool in order; no segment that left the
        # camera may keep data in the spool.
        d = self.start()
        try:
            d.wait_ready(60)
            time.sleep(2)
        except TestFailure as e:
            self.problem(f"end: the last start failed: {e}")
        if d.proc.poll() is None:
            d.proc.send_signal(signal.SIGTERM)
        d.proc.wait(30)
        self._session_log(d)
        truth = self.world.truth()
        for key, seg in segments(truth):
            serial, rec, idx = key
            if seg["fate"] != "deleted":
                continue
            for ext in ("mp4", "mp4.part", "man", "p7s"):
                p = os.path.join(self.state, "spool", serial, rec, f"{idx:06d}.{ext}")
                if os.path.exists(p):
                    self.problem(f"end: spool keeps {serial}/{rec}/{idx:06d}.{ext} of a segment "
                                 "deleted from the camera")

    def close(self, failed=False):
        try:
            self.rig.bus.stop()
        except Exception:
            pass
        self.fs.stop()
        if self.tally.problems or failed:
            os.environ["DOCKD_TEST_KEEP"] = os.environ.get("DOCKD_TEST_KEEP", "1")
        self.rig.tmp.cleanup()
        self.tmp.cleanup()


# Where in a dock's work each failpoint is passed: the plan puts it there.
STAGE = {"pull": 0.0, "atomic": 0.3, "file": 0.8, "delete": 1.4, "custody": None, "rename": None, "mkdir": None}


def run_plan(run, random_cuts, failpoints=FAILPOINTS, crashes=True):
    """Failpoint cuts, crashes (at failpoints and at random requests) that a
    later cut follows, and random cuts, in about the order the dock's work
    passes the failpoints (pulls first, deletes last); then the end."""
    rng = run.rng

    def rank(point):
        stage = STAGE[point.split("-")[0]]
        return rng.uniform(0, 2.2) if stage is None else stage + rng.uniform(0, 0.8)

    plan = [(rank(p), "cut", p) for p in failpoints] + [(rng.uniform(0, 2.2), "random", None)
                                                        for _ in range(random_cuts)]
    if crashes:
        plan += [(rank(p), "crash", p) for p in failpoints]
        plan += [(rng.uniform(0, 2.2), "random-crash", None) for _ in range(random_cuts // 2)]
    plan.sort(key=lambda x: x[0])
    # A crash leaves state for the next session; a cut must follow it.
    if plan and plan[-1][1] in ("crash", "random-crash"):
        plan.append((3, "random", None))
    for _, kind, point in plan:
        if kind == "random":
            run.cut_at_random()
        elif kind == "random-crash":
            run.crash_at_random()
        else:
            n = rng.choice([1, 1, 2, 3])
            run.failpoint_session(f"{point}:{n}", cut=kind == "cut")
        run.log(f"[{time.strftime('%H:%M:%S')}] {run.tally.cuts} cuts, {run.tally.crashes} crashes: "
                f"{len(run.tally.problems)} problems")
    run.finish()
    return run.tally


def run_steps(run, steps):
    """A deterministic sequence: ("cut"|"crash", "failpoint:n"), ("cut-after", seconds),
    ("stop-after", seconds) (SIGTERM), ("expect", text) (the next session logs
    text), then the end."""
    for kind, arg in steps:
        if kind in ("cut", "crash"):
            run.failpoint_session(arg, cut=kind == "cut")
            if run.tally.not_reached:
                run.problem(f"{arg} was not reached: the case no longer tests what it names")
        elif kind == "cut-after":
            d = run.start()
            time.sleep(arg)
            run.power_cut(d, f"after {arg}s")
        elif kind == "expect":
            run.expect_in_next_log = arg
            run.expect_after = run.sessions
            continue
        elif kind == "stop-after":
            d = run.start()
            try:
                d.wait_ready(60)
            except TestFailure as e:
                run.problem(f"start failed: {e}")
            time.sleep(arg)
            d.proc.send_signal(signal.SIGTERM)
            d.proc.wait(30)
            run._session_log(d)
        run.log(f"[{time.strftime('%H:%M:%S')}] {kind} {arg}: {run.tally.cuts} cuts, "
                f"{len(run.tally.problems)} problems")
    run.finish()
    return run.tally
