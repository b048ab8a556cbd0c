#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Suite generic (issue 17): cameras that do not sign, docked as an unmodified
Debian umtprd through vdock's emulated FunctionFS (responder = umtprd,
tests/vdock/README.md "umtprd cameras"), with the real dockd; the clock cases
(plain-clock-*) dock vdock's own camera without the extension instead, as
umtprd has no DateTime.

Each case runs twice: outside vdock it makes the folder umtprd serves and the
scenario, and runs vdock with this file and the case again inside its world;
inside, it starts dockd and checks what a user would notice."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from dockdtest import VDOCK, Rig, World, case, check, dockctl, run_cases, wait_for  # noqa: E402

HERE = os.path.abspath(__file__)
FILES = {
    "DCIM/100CAM/VID_0001.MP4": (1 << 20) + 7,
    "DCIM/100CAM/VID_0002.MP4": 4096,
    "DCIM/101CAM/NIGHT/VID_0003.MP4": 3000,
    "DCIM/100CAM/VID_0001.JPG": 512,     # in DCIM, but not a recording
    "notes.txt": 10,
}
RECORDINGS = "DCIM/**/*.MP4"
# What the survey must find: every .MP4 under DCIM, however deep.
WANTED = sorted(p for p in FILES if p.startswith("DCIM/") and p.endswith(".MP4"))
USB_ID = "1d6b:0100"


def tree(root):
    """{relative path: sha256} of every file under root."""
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


def in_vdock(camera_keys, inner_timeout=200, links=None):
    """Outside vdock: the folder and scenario, then this case again inside vdock;
    returns None. Inside: (World, the folder umtprd serves)."""
    if "VDOCK_CONTROL" in os.environ:
        return World(), os.environ["GENERIC_UMTPRD_DIR"]
    with tempfile.TemporaryDirectory(prefix="dockd-generic-") as tmp:
        folder = os.path.join(tmp, "share")
        for rel, size in FILES.items():
            path = os.path.join(folder, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(os.urandom(size))
        for rel, target in (links or {}).items():
            os.symlink(target, os.path.join(folder, rel))
        scen = os.path.join(tmp, "s.ini")
        keys = "".join(f"{k} = {v}\n" for k, v in camera_keys.items())
        with open(scen, "w") as f:
            f.write(f"[dock]\nbays = 2\n[camera AND-G0001]\nresponder = umtprd\numtprd_dir = {folder}\n"
                    f"manufacturer = Acme\nmodel = Android Cam\nusb_id = {USB_ID}\nbay = 1\n{keys}")
        env = dict(os.environ, GENERIC_UMTPRD_DIR=folder)
        p = subprocess.run([VDOCK, "--scenario", scen, "--world-dir", os.path.join(tmp, "world"), "--",
                            sys.executable, HERE, sys.argv[1]], env=env, timeout=inner_timeout)
        if p.returncode != 0:
            log = os.path.join(tmp, "world", "umtprd-AND-G0001", "umtprd.log")
            if os.path.exists(log):
                print(f"--- {log}\n" + open(log).read()[-3000:])
            raise SystemExit(f"inner run failed: {p.returncode}")
    return None


def start_and_wait(rig, folder, meanwhile, wait, start=None):
    """Start dockd (start(rig), if given, else rig.start()) and wait();
    meanwhile(folder, done), if given, runs in a thread from dockd's start
    until wait() returned or failed."""
    stop = threading.Event()
    thread = None
    if meanwhile:
        thread = threading.Thread(target=meanwhile, args=(folder, stop.is_set))
        thread.start()
    try:
        (start or Rig.start)(rig)
        try:
            wait()
        except Exception:
            print(rig.dockd.log()[-6000:])   # what dockd did instead
            raise
    finally:
        stop.set()
        if thread:
            thread.join()


def left_alone(generic, line, also=None, state="fault", meanwhile=None, changing=(), links=None):
    """dockd with the [generic.NAME] sections given docks the umtprd camera, says
    so in exactly one line containing `line`, the bay ends in `state`, and the
    camera's files are as they were (but those in `changing`, which the test
    itself changes). meanwhile(folder, done), if given, runs in a thread from
    dockd's start until done() is true; also(rig), if given, runs while dockd
    still runs."""
    inside = in_vdock({}, links=links)
    if not inside:
        return
    world, folder = inside
    before = tree(folder)
    check(set(before) == set(FILES), f"umtprd's folder: {sorted(before)}")
    with Rig(world, config=generic, name="generic") as rig:
        start_and_wait(rig, folder, meanwhile, lambda: rig.wait_log(line, timeout=120))
        rig.wait_bay(1, state)
        if also:
            also(rig)
        rig.stop()
        log = rig.dockd.log()
        lines = [ln for ln in log.splitlines() if line in ln]
        check(len(lines) == 1, f"{len(lines)} lines about the device:\n" + "\n".join(lines))
        # umtprd answers GetDeviceInfo only inside a session: dockd opens one
        # and asks again, as libmtp and gphoto2 do, rather than fail and reset.
        failed = [ln for ln in log.splitlines() if "Camera failed" in ln]
        check(not failed, "dockd took the camera for a failing one:\n" + "\n".join(failed))
        check(not any(r["event"] == "docked" for r in rig.custody_records()),
              "custody has a docking of a device that was not taken")
        check(not os.path.exists(os.path.join(rig.central, "evidence")), "central storage holds evidence")
    after = tree(folder)
    for p in changing:
        before.pop(p, None)
        after.pop(p, None)
    check(after == before, "the camera's files changed")


@case
def not_allow_listed_left_untouched():
    """An officer's personal phone (no extension, no section): one line, nothing read or deleted."""
    left_alone({}, "no [generic.NAME] section allow-lists it; left untouched")


@case
def other_serial_left_untouched():
    """A section for this model that lists other serials does not take this one."""
    left_alone({"generic.android": {"usb_id": USB_ID, "serials": "AND-G0002 AND-G0003",
                                    "recordings": "DCIM/**/*.MP4", "delete_after_confirm": "yes"}},
               "no [generic.NAME] section allow-lists it; left untouched")


@case
def other_usb_id_left_untouched():
    left_alone({"generic.android": {"usb_id": "18d1:4ee1", "recordings": "DCIM/**/*.MP4",
                                    "delete_after_confirm": "yes"}},
               "no [generic.NAME] section allow-lists it; left untouched")


ANDROID = {"generic.android": {"usb_id": USB_ID, "serials": "AND-G0001",
                                "recordings": RECORDINGS, "delete_after_confirm": "yes"}}


def generic_status(rig):
    b = rig.bay(1)
    check(b is not None and "generic" in b, f"bay 1 has no generic survey in its status: {b}")
    return b["generic"]


@case
def allow_listed_listed_in_nested_folders():
    """Umtprd lists a folder's children only when asked for that folder: dockd
    walks DCIM/100CAM, DCIM/101CAM/NIGHT, and finds every .MP4 (and only
    those) that recordings= matches; untouched files are complete at the
    second listing. Status and log say it, and that the dock seals them."""
    def survey(rig, folder, before):
        g = generic_status(rig)
        files = {f["path"]: f for f in g["files"]}
        check(sorted(files) == WANTED, f"the survey found {sorted(files)}, not {WANTED}")
        for p in WANTED:
            check(files[p].get("size") == FILES[p], f"{p}: size {files[p].get('size')}, not {FILES[p]}")
            check(files[p]["complete"] is True, f"{p} is not complete: {files[p]}")
        check(g["recordings"] == len(WANTED) and g["complete"] == len(WANTED) and g["still_growing"] == 0,
              f"counts: {g}")
        check(g["not_recordings"] == len(FILES) - len(WANTED), f"not_recordings: {g}")
        check(g["path_unknown"] == 0, f"path_unknown: {g}")
        # umtprd's BatteryLevel is always 0x8000 and it has no DateTime: not
        # offered, and so nothing set; it has no self-test: never passed.
        check("battery_percent" not in g and "clock_drift_seconds" not in g, f"health: {g}")
        check(g["battery"] == "not-offered" and g["clock"] == "not-offered", f"health: {g}")
        b = rig.bay(1)
        check(b["self_test"] == "not-supported", f"self_test: {b.get('self_test')}")
        check("clock_drift_seconds" not in b, f"bay 1 has a clock drift: {b}")
        check(not any(r["event"] in ("clock-drift", "clock-not-set") for r in rig.custody_records()),
              "custody has a clock record for a camera without DateTime")
        check("set from the dock's clock" not in rig.dockd.log(), "dockd set a clock umtprd does not offer")
        check(g["note"] == f"generic camera: listed {len(WANTED)} recording(s); sealed by the dock",
              f"note: {g['note']}")
        log = rig.dockd.log()
        check(f"listed {len(WANTED)} recording(s), {len(WANTED)} complete, 0 still growing" in log,
              "the log does not say what the survey found")
        for p in WANTED:
            check(f"Generic camera recording {p}: {FILES[p]} bytes, complete." in log, f"the log does not list {p}")
        text = dockctl("bay", "1", env=rig.env).stdout
        check(g["note"] in text, f"dockctl bay 1 does not say it:\n{text}")
        for line in ("Self-test: not supported", "Battery:   not offered by the camera",
                     "Clock:     not offered by the camera"):
            check(line in text, f"dockctl bay 1 does not say {line!r}:\n{text}")
        check("passed" not in text, f"dockctl bay 1 says passed:\n{text}")
    offloaded(KEEP, also=survey)


GROWING = "DCIM/100CAM/VID_0002.MP4"


def grow(folder, done):
    """A camera still writing: the file grows until dockd has listed twice,
    its date (umtprd's ModificationDate is its mtime) kept days old, as a
    camera whose clock is wrong would date it."""
    path = os.path.join(folder, GROWING)
    with open(path, "ab") as f:
        while not done():
            f.write(os.urandom(4096))
            f.flush()
            old = time.time() - 3 * 86400
            os.utime(path, (old, old))
            time.sleep(0.1)


@case
def allow_listed_growing_file_not_complete():
    """A file whose size changes between the two listings is reported as still
    growing and neither pulled nor deleted, even though min_age is set and its
    date says it is days old; the others are sealed, and (the section allows
    it) deleted from the camera once central storage confirmed them."""
    def survey(rig, folder, before):
        g = generic_status(rig)
        files = {f["path"]: f for f in g["files"]}
        check(sorted(files) == WANTED, f"the survey found {sorted(files)}")
        check(files[GROWING]["complete"] is False, f"{GROWING} growing, but reported {files[GROWING]}")
        for p in WANTED:
            if p != GROWING:
                check(files[p]["complete"] is True, f"{p} is not complete: {files[p]}")
        check(g["still_growing"] == 1 and g["complete"] == len(WANTED) - 1, f"counts: {g}")
        check(f"Generic camera recording {GROWING}: " in rig.dockd.log() and "bytes, still growing." in rig.dockd.log(),
              "the log does not say the file is still growing")
        found = sealed_in_central(rig, before)
        check(sorted(found) == sorted(p for p in WANTED if p != GROWING), f"central storage holds {sorted(found)}")
        after = tree(folder)
        check(GROWING in after, "the growing file was deleted")
        gone = sorted(p for p in WANTED if p != GROWING and p not in after)
        check(gone == sorted(found), f"deleted from the camera: {gone}")
        check(all(after[p] == before[p] for p in after if p != GROWING), "a file the dock kept changed")
    offloaded({"generic.android": dict(ANDROID["generic.android"], min_age="1h")}, also=survey, meanwhile=grow)


def dock_certificate_in_central_storage(rig):
    """The trust anchor of what the dock seals (protocol §12.6) reaches central
    storage beside its custody key, and certifies that key."""
    local = os.path.join(rig.state, "custody", "dock-cert.pem")
    central = os.path.join(rig.central, "custody", "test-dock", "dock-cert.pem")
    wait_for(lambda: os.path.exists(central), 30, what="the dock's certificate in central storage")
    with open(local, "rb") as a, open(central, "rb") as b:
        check(a.read() == b.read(), "central storage holds another certificate than the dock's")
    pub = subprocess.run(["openssl", "x509", "-in", central, "-noout", "-pubkey"], capture_output=True, check=True)
    with open(os.path.join(rig.state, "custody", "dock-key.pub.pem"), "rb") as f:
        check(pub.stdout == f.read(), "the certificate is not for the dock's custody key")


SERIAL = "AND-G0001"
KEEP = {"generic.android": dict(ANDROID["generic.android"], delete_after_confirm="no")}


def sealed_in_central(rig, folder_before, serial=SERIAL):
    """Every complete recording of camera serial is in central storage as
    .mp4, .man and .p7s (protocol §12.6): the .p7s verifies with stock
    openssl against the dock's certificate, the .mp4's sha256sum is the
    manifest's and the camera's file's (folder_before: {path: sha256}), and
    the manifests chain in the order the dock sealed them. Returns
    {source_path: manifest fields}."""
    cert = os.path.join(rig.state, "custody", "dock-cert.pem")
    top = os.path.join(rig.central, "evidence", serial)
    found = {}
    for rec in sorted(os.listdir(top)):
        base = os.path.join(top, rec, "000000")
        for ext in ("mp4", "man", "p7s"):
            check(os.path.exists(f"{base}.{ext}"), f"central storage lacks {rec}/000000.{ext}")
        v = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", f"{base}.p7s",
                            "-content", f"{base}.man", "-CAfile", cert, "-purpose", "any", "-out", os.devnull],
                           capture_output=True, text=True)
        check(v.returncode == 0, f"{rec}: openssl cms -verify failed: {v.stderr}")
        with open(f"{base}.man", "rb") as f:
            raw = f.read()
        m = dict(line.split("=", 1) for line in raw.decode().splitlines())
        got = subprocess.run(["sha256sum", f"{base}.mp4"], capture_output=True, text=True, check=True)
        check(got.stdout.split()[0] == m["sha256"], f"{rec}: sha256sum of the .mp4 is not the manifest's")
        check(m["sealed_by"] == "test-dock" and m["recording_id"] == rec and m["device_serial"] == serial,
              f"{rec}: manifest {m}")
        check(folder_before.get(m["source_path"]) == m["sha256"], f"{rec}: not the camera's {m['source_path']}")
        m["_sha"] = hashlib.sha256(raw).hexdigest()
        found[m["source_path"]] = m
    # One chain per camera: the first prev is zeros, each next one names one before.
    by_sha = {m["_sha"]: m for m in found.values()}
    firsts = [m for m in found.values() if m["prev"] == "0" * 64]
    check(len(firsts) == 1, f"{len(firsts)} manifests start the camera's chain")
    check(all(m["prev"] in by_sha for m in found.values() if m["prev"] != "0" * 64), "a manifest's prev is unknown")
    check(len({m["prev"] for m in found.values()}) == len(found), "two manifests have the same prev (a fork)")
    return found


def offloaded(generic, also=None, meanwhile=None, links=None, state=("charging", "ready"), camera=None,
              started=None, start=None, failed_ok=False):
    """dockd docks the umtprd camera (scenario keys camera) allow-listed by
    generic, offloads it and the bay ends in state; start(rig), if given,
    starts dockd; started(rig, folder, before), if given, runs as soon as
    dockd is started; also(rig, folder, before) once the bay is in state
    (and judges any "Camera failed" line itself if failed_ok). Returns
    nothing."""
    inside = in_vdock(camera or {}, links=links)
    if not inside:
        return
    world, folder = inside
    before = tree(folder)
    with Rig(world, config=generic, name="generic") as rig:
        def wait():
            if started:
                started(rig, folder, before)
            # A fault is final: told at once, not after the whole wait.
            states = (state,) if isinstance(state, str) else state
            b = rig.wait_bay(1, tuple(states) + ("fault",), timeout=150)
            check(b["state"] in states, f"bay 1 ends {b}")
        start_and_wait(rig, folder, meanwhile, wait, start)
        if also:
            also(rig, folder, before)
        rig.stop()
        failed = [ln for ln in rig.dockd.log().splitlines() if "Camera failed" in ln]
        check(not failed or state == "fault" or failed_ok, "dockd took the camera for a failing one:\n" + "\n".join(failed))


def check_sealed_and_uploaded(rig, folder, before, sealed_earlier=0):
    """What allow_listed_sealed_and_uploaded promises: every complete
    recording sealed once and in central storage, verifiable; custody says
    "sealed by dock"; nothing on the camera changed; the bay green, its
    summary counting what this dockd sealed (all but the sealed_earlier ones
    a dockd before it sealed)."""
    found = sealed_in_central(rig, {p: h for p, h in before.items()})
    check(sorted(found) == WANTED, f"central storage holds {sorted(found)}, not {WANTED}")
    recs = rig.custody_records()
    sealed = [r for r in recs if r["event"] == "sealed-by-dock"]
    check(len(sealed) == len(WANTED), f"{len(sealed)} custody records say sealed by dock")
    check(not any(r["event"] == "verified" for r in recs), "custody says a sealed file was verified")
    check(not any(r["event"] == "deleted-from-camera" for r in recs), "custody has a deletion")
    check(tree(folder) == before, "the camera's files changed without delete_after_confirm")
    b = rig.bay(1)
    check(b["state"] in ("charging", "ready") and not b["findings"], f"bay 1: {b}")
    check(b["summary"]["sealed"] == len(WANTED) - sealed_earlier and b["summary"]["verified"] == 0,
          f"summary: {b['summary']}")
    dock_certificate_in_central_storage(rig)


@case
def allow_listed_sealed_and_uploaded():
    """The camera's complete recordings are pulled, sealed by the dock, and
    central storage holds them verifiable with openssl and sha256sum; custody
    says "sealed by dock", never "verified"; the bay goes green; without
    delete_after_confirm nothing on the camera changes."""
    offloaded(KEEP, also=check_sealed_and_uploaded)


def dockd_restarted(how, failpoint=None, usb=None, stale=False):
    """dockd stopped (how: "stop", SIGTERM as systemd stops it for an update)
    or killed ("kill-9", a crash that systemd restarts) while the umtprd
    camera stays docked, idle (offloaded) or offloading (killed at
    failpoint, if given), and started again: umtprd still has
    the session the first dockd opened, and the second one must take the
    camera over and end as allow_listed_sealed_and_uploaded does, nothing
    sealed twice; stale: the first dockd left a data phase unread.
    (Stopped while offloading, dockd cancels the transfer in
    flight, as the kill inside a data phase leaves it: a case of its own
    would pass or fail by where the SIGTERM lands.)"""
    earlier = {}

    def start(rig):
        if not failpoint:
            return rig.start()
        return rig.start(extra_env={"DOCKD_FAILPOINTS": failpoint}, wait=False)

    def restart(rig, folder, before):
        if failpoint:
            d = rig.dockd
            wait_for(lambda: d.proc.poll() is not None, 120, what=f"the crash at {failpoint}")
            check(d.proc.returncode == -signal.SIGKILL and f"Failpoint {failpoint.split(':')[0]} reached" in d.log(),
                  f"dockd exited {d.proc.returncode}, not at {failpoint}")
        else:
            rig.wait_bay(1, ("charging", "ready"), timeout=150)
        if how == "stop":
            check(rig.dockd.stop() == 0, "dockd's exit status on SIGTERM")
        else:
            rig.kill9()
            rig.dockd.notify.close()
            rig.dockd.stderr.close()
        check(tree(folder) == before, "the camera's files changed")
        earlier["sealed"] = sum(r["event"] == "sealed-by-dock" for r in rig.custody_records())
        earlier["log"] = len(rig.dockd.log())
        earlier["umtprd"] = umtprd_pid()
        rig.start(extra_env={"DOCKD_FAILPOINTS": ""})

    def after(rig, folder, before):
        check_sealed_and_uploaded(rig, folder, before, earlier["sealed"])
        # Taken over with CloseSession and OpenSession: a second OpenSession
        # umtprd answers in 13 bytes, and the Cancel after it stops umtprd.
        log = rig.dockd.log()[earlier["log"]:]
        check("had a session open from an earlier host; closed it." in log,
              "the second dockd did not close the session the first one left open:\n" + log[-3000:])
        resets = [ln for ln in log.splitlines() if "Recovering it" in ln or "resetting it" in ln]
        if stale:
            # The rest of the killed dockd's data phase is the first thing the
            # new one reads: a camera not known yet failing, recovered as PTP
            # prescribes (Cancel ends that data phase; Device Reset, umtprd acks).
            check(len(resets) == 1 and "while identifying itself" in resets[0], "recoveries:\n" + "\n".join(resets))
        else:
            check(not resets, "dockd reset the camera:\n" + "\n".join(resets))
        check(umtprd_pid() == earlier["umtprd"] and alive(earlier["umtprd"]), "umtprd did not live on")
    config = dict(KEEP, usb=usb) if usb else KEEP
    offloaded(config, start=start, started=restart, also=after, failed_ok=stale)


@case
def allow_listed_dockd_stopped_while_idle():
    dockd_restarted("stop")


@case
def allow_listed_dockd_killed_while_idle():
    dockd_restarted("kill-9")


@case
def allow_listed_dockd_killed_between_transactions():
    """Killed once the first file's GetPartialObject has ended."""
    dockd_restarted("kill-9", failpoint="pull-chunk:1")


@case
def allow_listed_dockd_killed_inside_a_data_phase():
    """Killed while umtprd is still sending a file (16 KiB a transfer: its
    third one): the new dockd finds the rest of that data phase, and its
    response, still waiting on the bulk IN pipe."""
    dockd_restarted("kill-9", failpoint="pull-data:3", usb={"transfer_size": "16K"}, stale=True)


@case
def allow_listed_endless_folders_bounded():
    """A camera whose folders never end (umtprd follows a symlink back to
    DCIM, so DCIM/100CAM/AGAIN/100CAM/AGAIN/... has no bottom): the walk
    stops at the depth a path can have, the survey ends, the real recordings
    are among those found, and nothing on the camera changed."""
    def survey(rig, folder, before):
        g = generic_status(rig)
        paths = [f["path"] for f in g["files"]]
        for p in WANTED:
            check(p in paths, f"{p} not found among {paths[:10]}")
        deepest = max(p.count("/") + 1 for p in paths)
        check(deepest <= 33, f"a path {deepest} deep was listed")
        check(g["recordings"] > len(WANTED), f"the loop was not walked at all: {g['recordings']}")
        check(tree(folder) == before, "the camera's files changed")
    offloaded(KEEP, also=survey, links={"DCIM/100CAM/AGAIN": ".."})


def hold_central_storage(rig):
    """Central storage away: its directory replaced by a file, so that every
    upload fails; returns what brings it back."""
    held = rig.central + ".held"
    os.rename(rig.central, held)
    with open(rig.central, "w") as f:
        f.write("not a directory\n")

    def back():
        os.unlink(rig.central)
        os.rename(held, rig.central)
    return back


@case
def allow_listed_deleted_only_after_confirmation():
    """With delete_after_confirm, nothing leaves the camera while central
    storage cannot confirm (all pulled and sealed, the bay waiting for
    storage); once it is back, every file it confirmed is deleted, and only
    those."""
    def held(rig, folder, before):
        back = hold_central_storage(rig)
        for p in WANTED:
            rig.wait_log(f"Pulled {p} (", timeout=90)
        wait_for(lambda: (rig.bay(1) or {}).get("progress", {}).get("waiting_for_storage"), 60,
                 what="bay 1 waiting for storage")
        recs = rig.custody_records()
        check(not any(r["event"] in ("confirmed", "deleted-from-camera") for r in recs),
              "custody has a confirmation or deletion while central storage was away")
        check(tree(folder) == before, "the camera's files changed before central storage confirmed them")
        check(rig.bay(1)["state"] == "offloading", f"bay 1: {rig.bay(1)}")
        back()

    def after(rig, folder, before):
        found = sealed_in_central(rig, before)
        check(sorted(found) == WANTED, f"central storage holds {sorted(found)}")
        left = tree(folder)
        check(not any(p in left for p in WANTED), f"recordings left on the camera: {sorted(left)}")
        check(all(left[p] == before[p] for p in left), "a file that is no recording changed")
        deleted = [r for r in rig.custody_records() if r["event"] == "deleted-from-camera"]
        check(len(deleted) == len(WANTED), f"{len(deleted)} deletions in custody")
    offloaded(ANDROID, started=held, also=after)


def rewritten_file_kept(rewrite, why):
    """dockd pulls and seals every recording while central storage is away;
    rewrite(folder) then changes GROWING on the camera (the same object); once
    central storage confirms the first one, that file is not deleted: the
    camera keeps it, the docking's finding "camera storage not cleared" says
    why (its summary contains why); the files that did not change are deleted."""
    def held(rig, folder, before):
        back = hold_central_storage(rig)
        for p in WANTED:
            rig.wait_log(f"Pulled {p} (", timeout=90)
        rewrite(folder)
        back()

    def after(rig, folder, before):
        found = sealed_in_central(rig, before)
        check(sorted(found) == WANTED, f"central storage holds {sorted(found)}")
        left = tree(folder)
        check(GROWING in left and left[GROWING] != before[GROWING], f"the rewritten file is gone: {sorted(left)}")
        check(not any(p in left for p in WANTED if p != GROWING), f"recordings left on the camera: {sorted(left)}")
        b = rig.bay(1)
        check(any(f["code"] == "camera-storage-not-cleared" and why in f["summary"]
                  for f in b["findings"]), f"findings: {b['findings']}")
    offloaded(ANDROID, started=held, also=after)


def rewrite_same_size(folder, rel):
    """The camera rewrites a file in place: other bytes, the same size, the
    same modification time to the second (os.utime), the same object."""
    path = os.path.join(folder, rel)
    st = os.stat(path)
    with open(path, "r+b") as f:
        f.write(os.urandom(st.st_size))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@case
def allow_listed_swapped_file_kept():
    """A file the camera rewrote after it was pulled and sealed (another size
    at the same path, the same object) is not deleted."""
    def swap(folder):
        with open(os.path.join(folder, GROWING), "wb") as f:
            f.write(os.urandom(5000))
    rewritten_file_kept(swap, "has another size")


@case
def allow_listed_same_size_rewrite_kept():
    """A file the camera rewrote after it was pulled and sealed with the same
    size, name and second (the same object, so GetObjectInfo says what it said)
    is not deleted: the dock reads its bytes again before DeleteObject, and
    their SHA-256 is not the one confirmed."""
    rewritten_file_kept(lambda folder: rewrite_same_size(folder, GROWING), "content changed")


NEW = "DCIM/100CAM/VID_0004.MP4"   # a recording made between two dockings


def central_variants(rig, rec):
    """The names (000000, 000000~HEX) of the segments central storage holds
    for recording rec of the camera."""
    top = os.path.join(rig.central, "evidence", SERIAL, rec)
    return sorted(n[:-4] for n in os.listdir(top) if n.endswith(".mp4"))


@case
def allow_listed_kept_file_rewritten_sealed_again():
    """A camera that keeps its files (delete_after_confirm = no) rewrites one
    between two dockings with the same size, path and second, so that it has
    the recording id of one already sealed. At the next docking the dock reads
    every kept file again, once the file recorded meanwhile was pulled: the
    unchanged ones are already offloaded (nothing new), the rewritten one is new content, sealed and uploaded as a new
    segment beside the first, which stays as it was (write-once), chained
    after the last manifest the dock sealed."""
    def again(rig, folder, before):
        first = sealed_in_central(rig, before)
        check(sorted(first) == WANTED, f"central storage holds {sorted(first)}")
        rec = first[GROWING]["recording_id"]
        with open(os.path.join(rig.central, "evidence", SERIAL, rec, "000000.mp4"), "rb") as f:
            sealed_before = f.read()
        rewrite_same_size(folder, GROWING)
        with open(os.path.join(folder, NEW), "wb") as f:
            f.write(os.urandom(2048))
        now = tree(folder)
        dockings = lambda: rig.dockd.log().count("Camera holds ")   # noqa: E731 (each docking's inventory)
        seen = dockings()
        rig.world.control("undock 1")
        rig.wait_bay(1, "empty", 30)
        rig.world.control(f"dock {SERIAL} 1")
        wait_for(lambda: dockings() > seen, 90, what="the second docking's inventory")
        rig.wait_bay(1, ("charging", "ready"), timeout=150)
        wait_for(lambda: len(central_variants(rig, rec)) == 2, 30, interval=0.5,
                 what=f"the rewritten {GROWING} in central storage beside the first")
        names = central_variants(rig, rec)
        base = os.path.join(rig.central, "evidence", SERIAL, rec)
        with open(os.path.join(base, "000000.mp4"), "rb") as f:
            check(f.read() == sealed_before, "what was sealed first changed in central storage")
        new = os.path.join(base, names[1])
        with open(new + ".mp4", "rb") as f:
            check(hashlib.sha256(f.read()).hexdigest() == now[GROWING], "the new segment is not the camera's file")
        with open(new + ".man", "rb") as f:
            m = dict(line.split("=", 1) for line in f.read().decode().splitlines())
        check(m["sha256"] == now[GROWING] and m["source_path"] == GROWING, f"manifest {m}")
        v = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", new + ".p7s",
                            "-content", new + ".man", "-CAfile", os.path.join(rig.state, "custody", "dock-cert.pem"),
                            "-purpose", "any", "-out", os.devnull], capture_output=True, text=True)
        check(v.returncode == 0, f"openssl cms -verify failed: {v.stderr}")
        mans = {}
        for d, _, files in os.walk(os.path.join(rig.central, "evidence", SERIAL)):
            for n in files:
                if n.endswith(".man"):
                    with open(os.path.join(d, n), "rb") as f:
                        mans[os.path.join(d, n)] = hashlib.sha256(f.read()).hexdigest()
        check(m["prev"] in {h for p, h in mans.items() if p != new + ".man"},
              "the new manifest does not chain to one the dock sealed before")
        prevs = []
        for p in mans:
            with open(p, "rb") as f:
                prevs.append(dict(ln.split("=", 1) for ln in f.read().decode().splitlines())["prev"])
        check(len(set(prevs)) == len(prevs) == len(WANTED) + 2, f"the camera's chain forks: {prevs}")
        sealed = [r for r in rig.custody_records() if r["event"] == "sealed-by-dock"]
        check(len(sealed) == len(WANTED) + 2, f"{len(sealed)} custody records say sealed by dock")
        check(tree(folder) == now, "the camera's files changed without delete_after_confirm")
        # A file never seen is pulled before any kept file is read again.
        second = rig.dockd.log().split("Camera holds ")[-1]
        check(f"Pulled {NEW} (" in second and second.index(f"Pulled {NEW} (") < second.index("Reading "),
              "a kept file was read again before the new one was pulled")
        # The cost, counted: every kept file crossed USB again at this docking.
        summary = rig.bay(1)["summary"]
        check(summary["bytes_reread"] == sum(FILES[p] for p in WANTED), f"summary: {summary}")
    offloaded(KEEP, also=again)


@case
def allow_listed_confirmed_later_deleted_at_next_docking():
    """With delete_after_confirm, files pulled and sealed while central storage
    was away, and confirmed only after the camera left, are read again at the
    next docking: the same bytes are already offloaded (not sealed twice) and,
    their bytes read again once more just before DeleteObject, deleted."""
    def held(rig, folder, before):
        back = hold_central_storage(rig)
        for p in WANTED:
            rig.wait_log(f"Pulled {p} (", timeout=90)
        rig.world.control("undock 1")
        rig.wait_bay(1, "empty", 30)
        check(tree(folder) == before, "the camera's files changed before central storage confirmed them")
        back()
        wait_for(lambda: sum(r["event"] == "confirmed" for r in rig.custody_records()) == len(WANTED), 60,
                 what="central storage confirming every file")
        rig.world.control(f"dock {SERIAL} 1")

    def after(rig, folder, before):
        wait_for(lambda: not any(p in tree(folder) for p in WANTED), 60, what="the recordings deleted")
        recs = rig.custody_records()
        check(sum(r["event"] == "sealed-by-dock" for r in recs) == len(WANTED), "a file was sealed twice")
        check(sum(r["event"] == "deleted-from-camera" for r in recs) == len(WANTED), "deletions in custody")
        found = sealed_in_central(rig, before)
        check(sorted(found) == WANTED, f"central storage holds {sorted(found)}")
        summary = rig.bay(1)["summary"]
        check(summary["bytes_reread"] == 2 * sum(FILES[p] for p in WANTED), f"summary: {summary}")
    offloaded(ANDROID, started=held, also=after)


def umtprd_pid():
    """The pid of this case's umtprd (vdock started it with WORLD/umtprd-SERIAL/umtprd.conf)."""
    conf = os.path.join(os.environ["VDOCK_WORLD"], f"umtprd-{SERIAL}", "umtprd.conf")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
        except OSError:
            continue
        if conf.encode() in args:
            return int(pid)
    raise AssertionError(f"no umtprd with {conf}")


def alive(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")


@case
def allow_listed_failing_camera_not_reset():
    """A camera that does not sign and stops answering is not recovered with
    Cancel and Device Reset (a Cancel outside a transfer stops umtprd 1.3.10
    for good, and its Device Reset keeps the session): the
    bay faults and says to dock it again, nothing unconfirmed is deleted, what
    was sealed reaches central storage, and umtprd lives on."""
    state = {}

    def held(rig, folder, before):
        back = hold_central_storage(rig)
        for p in WANTED:
            rig.wait_log(f"Pulled {p} (", timeout=90)
        state["pid"] = umtprd_pid()
        os.kill(state["pid"], signal.SIGSTOP)   # from the next command on, the camera answers nothing
        back()

    def after(rig, folder, before):
        os.kill(state["pid"], signal.SIGCONT)
        b = rig.bay(1)
        check(b["fault"] == "generic camera: failed while offloading; dock it again", f"bay 1: {b}")
        found = sealed_in_central(rig, before)
        check(sorted(found) == WANTED, f"central storage holds {sorted(found)}")
        check(tree(folder) == before, "the camera's files changed")
        log = rig.dockd.log()
        check("Recovering it" not in log, "dockd reset the camera that does not sign")
        check("not reset (a reset stops such cameras)" in log, "the log does not say why the bay faulted")
        time.sleep(1)   # umtprd's cancel path kills its link 750 ms after a Cancel: it would be gone by now
        check(alive(state["pid"]), "umtprd died")
    offloaded(dict(ANDROID, usb={"command_timeout": "2s", "stall_timeout": "2s"}), started=held, also=after,
              state="fault")


@case
def allow_listed_read_only_storage_not_cleared():
    """A camera whose storage is read-only refuses DeleteObject: every file is
    still sealed and in central storage, stays on the camera, and the docking
    has the finding "camera storage not cleared"; nothing is lost."""
    def after(rig, folder, before):
        found = sealed_in_central(rig, before)
        check(sorted(found) == WANTED, f"central storage holds {sorted(found)}")
        check(tree(folder) == before, "the read-only camera's files changed")
        b = rig.bay(1)
        codes = [f["code"] for f in b["findings"]]
        check("camera-storage-not-cleared" in codes, f"findings: {b['findings']}")
        check(any("Camera storage not cleared" in f["summary"] for f in b["findings"]), f"findings: {b['findings']}")
        # Never passed, never failed (the report says the same: tests/unit/test-report.c).
        check(b["self_test"] == "not-supported", f"self_test: {b.get('self_test')}")
        check(not any(c.startswith("self-test") for c in codes), f"findings: {b['findings']}")
    offloaded(ANDROID, camera={"umtprd_storage": "ro"}, also=after)


# ---- the clock of a camera that does not sign: vdock's plain MTP camera ----
# umtprd has no DateTime (tests/vdock/README.md): vdock's camera with
# extension = no is a plain MTP camera that has one, and BatteryLevel, and
# holds its videos only (RECORDING/NNNNNN.mp4).

PLAIN = "GEN-V0001"
PLAIN_USB_ID = "1209:0d0c"     # vdock's cameras
DRIFT = 300


def plain_in_vdock():
    """Outside vdock: a scenario with the plain camera, its clock DRIFT s
    ahead, docked in bay 1, then this case again inside vdock; returns None.
    Inside: the World."""
    if "VDOCK_CONTROL" in os.environ:
        return World()
    with tempfile.TemporaryDirectory(prefix="dockd-generic-") as tmp:
        scen = os.path.join(tmp, "s.ini")
        with open(scen, "w") as f:
            f.write(f"[dock]\nbays = 2\n[camera {PLAIN}]\nextension = no\nmanufacturer = Acme\n"
                    f"model = Plain Cam\nsegments = 3x64K\nclock_drift = {DRIFT}\nbattery_soc = 60\nbay = 1\n")
        p = subprocess.run([VDOCK, "--scenario", scen, "--time-scale", "3600", "--world-dir",
                            os.path.join(tmp, "world"), "--", sys.executable, HERE, sys.argv[1]], timeout=200)
        if p.returncode != 0:
            raise SystemExit(f"inner run failed: {p.returncode}")
    return None


def plain_camera(truth):
    cams = [c for c in truth["cameras"] if c["serial"] == PLAIN]
    check(len(cams) == 1 and cams[0]["extension"] is False, f"vdock's truth: {cams}")
    return cams[0]


def plain_clock_case(clock_set, ntp, clock, finding, severity, states):
    """dockd docks the plain camera allow-listed with clock_set (None: the
    default) while the dock's clock is ntp; the drift is recorded (custody,
    status, the clock-drift finding of severity with finding in its summary,
    and the docking's report); generic.clock is clock; the camera's clock is
    set exactly when clock is "set" (vdock's truth); and its videos are
    sealed and uploaded all the same, left on the camera. Returns nothing."""
    world = plain_in_vdock()
    if not world:
        return
    section = {"usb_id": PLAIN_USB_ID, "serials": PLAIN, "recordings": "*/*.mp4", "delete_after_confirm": "no"}
    if clock_set is not None:
        section["clock_set"] = clock_set
    cam = plain_camera(world.truth())
    videos = {f"{r['id']}/{s['files']['mp4']['name']}": s["files"]["mp4"]["sha256"]
              for r in cam["recordings"] for s in r["segments"]}
    check(len(videos) == 3 and all(s["files"][x]["fate"] == "never-on-camera" for r in cam["recordings"]
                                    for s in r["segments"] for x in ("man", "p7s")),
          f"the plain camera holds {cam['recordings']}")
    with Rig(world, config={"generic.plain": section}, name="generic", ntp=ntp) as rig:
        rig.start()
        try:
            b = rig.wait_bay(1, tuple(states) + ("fault",), timeout=150)
            check(b["state"] in states, f"bay 1 ends {b}")
            # a fault for the clock only, once the docking is done (not a failed camera)
            check(b["state"] != "fault" or finding in b.get("fault", ""), f"bay 1 ends {b}")
        except Exception:
            print(rig.dockd.log()[-6000:])
            raise
        g = generic_status(rig)
        check(g["section"] == "plain" and g["clock"] == clock, f"generic status: {g}")
        check(abs(g["clock_drift_seconds"] - DRIFT) <= 2, f"generic status: {g}")
        check(g["battery"] == "offered" and g["battery_percent"] > 0, f"generic status: {g}")
        check(abs(b["clock_drift_seconds"] - DRIFT) <= 2, f"bay 1: {b}")
        recs = rig.custody_records()
        drifts = [r for r in recs if r["event"] == "clock-drift"]
        check(len(drifts) == 1 and abs(int(drifts[0]["drift_seconds"]) - DRIFT) <= 2, f"custody: {drifts}")
        not_set = [r for r in recs if r["event"] == "clock-not-set"]
        check(len(not_set) == (clock == "not-set-dock-unsynchronised"), f"custody: {not_set}")
        found = [f for f in b["findings"] if f["code"] == "clock-drift"]
        check(len(found) == 1 and found[0]["severity"] == severity and finding in found[0]["summary"],
              f"findings: {b['findings']}")
        rep = wait_for(lambda: [r for r in report_files(rig) if r.get("id") == b.get("report")], 30,
                       what="the docking's report in central storage")[0]
        check(rep["camera"]["serial"] == PLAIN and [f["code"] for f in rep["findings"]] == ["clock-drift"],
              f"report: {rep}")
        m = rep["findings"][0]["measured"]
        check(abs(m["drift_seconds"] - DRIFT) <= 2 and m["corrected"] is (clock == "set"), f"measured: {m}")
        check(m.get("set_configured", True) is (clock_set == "yes"), f"measured: {m}")
        sealed = sealed_in_central(rig, videos, serial=PLAIN)
        check(sorted(sealed) == sorted(videos), f"central storage holds {sorted(sealed)}, not {sorted(videos)}")
        check(sum(r["event"] == "sealed-by-dock" for r in rig.custody_records()) == len(videos),
              "custody does not say every video was sealed by the dock")
        cam = plain_camera(world.truth())
        sets, off = cam["clock_sets"], cam["clock_offset_now_s"]
        if clock == "set":
            check(len(sets) == 1 and sets[0]["accepted"] and abs(sets[0]["drift_before_s"] - DRIFT) <= 2,
                  f"vdock's clock sets: {sets}")
            check(abs(off) <= 2, f"the camera's clock is {off} s off")
        else:
            check(not sets, f"dockd set the camera's clock: {sets}")
            check(abs(off - DRIFT) <= 2, f"the camera's clock is {off} s off")
        check(not cam["deletes"], f"dockd deleted without delete_after_confirm: {cam['deletes']}")
        rig.stop()


def report_files(rig):
    """The malfunction reports in central storage (JSON), uploaded with their text."""
    top = os.path.join(rig.central, "reports", "test-dock")
    out = []
    for name in sorted(os.listdir(top)) if os.path.isdir(top) else ():
        if name.endswith(".json") and os.path.exists(os.path.join(top, name[:-5] + ".txt")):
            with open(os.path.join(top, name)) as f:
                out.append(json.load(f))
    return out


@case
def plain_clock_set_when_configured():
    """clock_set = yes: a camera 300 s ahead is set from the dock's
    (synchronised) clock, the drift recorded and corrected (a warning)."""
    plain_clock_case("yes", "synchronised", "set", "(corrected)", "warning", ("charging", "ready"))


@case
def plain_clock_left_by_default():
    """Without clock_set (default no): the drift is recorded, the camera's
    clock left as it is, a warning that says why, not a fault."""
    plain_clock_case(None, "synchronised", "drift-recorded", "(not set: clock_set = no)", "warning",
                     ("charging", "ready"))


@case
def plain_clock_not_set_from_unsynchronised_dock():
    """clock_set = yes, but the dock's clock is not synchronised: a wrong dock
    clock must not become the camera's; the drift is recorded, the clock
    not set, custody says why, and the finding is an error."""
    plain_clock_case("yes", "unsynchronised", "not-set-dock-unsynchronised", "could not be corrected", "error",
                     ("fault",))


run_cases()
