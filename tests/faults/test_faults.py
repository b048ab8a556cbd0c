#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Every vdock fault has its expected outcome (quarantine, alert, retry, resume),
and never a lost segment nor an early delete. The real dockd in vdock's world."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dockdtest import (PrivateJournal, Rig, case, check, check_offloaded,
                       in_private_mount_ns, run_cases, run_in_vdock, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))
SERIAL = "BWC-F0001"


def own(name):
    return os.path.join(HERE, "scenarios", name)


def custody(rig, event):
    return [r for r in rig.custody_records() if r["event"] == event]


def recording(truth, serial=SERIAL, n=0):
    cam = [c for c in truth["cameras"] if c["serial"] == serial][0]
    return cam["recordings"][n]["id"]


def nothing_taken(rig, truth):
    """Untrusted camera: nothing pulled, nothing deleted, nothing in central storage."""
    for cam, seg in rig.world.segments(truth):
        check(seg["fate"] == "on-camera", f"{seg['index']} not on camera: {seg['fate']}")
        check(seg["files"]["mp4"]["bytes_served"] == 0, "video bytes were read from an untrusted camera")
    check(not os.path.isdir(os.path.join(rig.central, "evidence")), "evidence from an untrusted camera")
    check(not custody(rig, "pulled"), "custody says something was pulled")


def quarantine_case(scenario, expect_indexes, reason_part):
    world = run_in_vdock(scenario)
    with Rig(world) as rig:
        rig.start()
        b = rig.wait_bay(1, "fault", 60)
        check("integrity" in b.get("fault", ""), b)
        t = world.truth()
        # Wait until central storage confirmed everything (the bay says so in its summary).
        rec = recording(t)
        check_offloaded(rig, t, quarantined={(SERIAL, rec, i) for i in expect_indexes})
        q = custody(rig, "quarantined")
        check(sorted(int(r["segment"].rsplit("/", 1)[1]) for r in q) == sorted(expect_indexes),
              f"quarantined in custody: {[r['segment'] for r in q]}")
        check(all(reason_part in r["reason"] for r in q[:1]), f"reason: {[r['reason'] for r in q]}")
        check("Integrity alert" in rig.dockd.log(), "no integrity alert logged")
        check(not custody(rig, "deleted-from-camera"), "something of a held recording was deleted")
        ok, out = rig.verify_custody()
        check(ok, out)
        rig.stop()


@case
def corrupt_segment():
    """One byte of segment 1 differs: quarantined, alert in the journal with its
    MESSAGE_ID, the recording stays on the camera."""
    in_private_mount_ns()
    world = run_in_vdock("fault-corrupt.ini")
    journal = PrivateJournal()
    with Rig(world, env={"DOCKD_LOG_TARGET": "journal"}) as rig:
        try:
            rig.start()
            rig.wait_bay(1, "fault", 60)
            t = world.truth()
            rec = recording(t)
            check_offloaded(rig, t, quarantined={(SERIAL, rec, 1)})
            try:
                alerts = wait_for(lambda: journal.entries(MESSAGE_ID="0e83f0e743c94d5bb2707a636bddc224"), 10,
                                  what="integrity alert in the journal")
            except Exception:
                print(f"journal has {len(journal.entries())} dockd entries")
                raise
            a = alerts[0]
            check(a.get("PRIORITY") == "2", f"priority {a.get('PRIORITY')}")
            check(a.get("DOCKD_BAY") == "1" and a.get("DOCKD_CAMERA_SERIAL") == SERIAL, a)
            check(a.get("DOCKD_SEGMENT") == f"{rec}/000001", a)
            check("does not match the manifest" in a.get("DOCKD_REASON", ""), a)
            check(not custody(rig, "deleted-from-camera"), "held recording partly deleted")
            rig.stop()
        finally:
            journal.stop()


@case
def manifest_altered():
    # Segment 2 cannot be chained to the altered (untrusted) manifest 1 either.
    quarantine_case("fault-manifest-altered.ini", [1, 2], "signature")


@case
def chain_gap():
    quarantine_case("fault-chain-gap.ini", [2], "hash chain")


def untrusted_case(scenario, reason_part):
    world = run_in_vdock(scenario)
    with Rig(world) as rig:
        rig.start()
        b = rig.wait_bay(1, "fault", 30)
        check(reason_part in b.get("fault", ""), b)
        rig.wait_log("could not be authenticated", 5)
        nothing_taken(rig, world.truth())
        u = custody(rig, "untrusted")
        check(u and reason_part in u[0]["reason"], u)
        rig.stop()


@case
def unknown_ca():
    untrusted_case("fault-unknown-ca.ini", "not trusted")


@case
def expired_certificate():
    untrusted_case("fault-expired-cert.ini", "expired")


@case
def serial_mismatch():
    untrusted_case("fault-serial-mismatch.ini", "serial")


def recovers_case(scenario, *, expect_log=None):
    # dockd's own USB timeouts (10 s command, 5 s stall): a test's shorter ones
    # held every healthy command to them and failed on a busy machine. vdock's
    # stall never answers, so it is found whatever the timeout's size; the
    # wait ends when the bay is ready or faulted, the meson timeout bounds it.
    world = run_in_vdock(scenario)
    with Rig(world) as rig:
        rig.start()
        b = rig.wait_bay(1, ["ready", "fault"], None)
        check(b["state"] == "ready", f"bay 1 faulted: {b}\n{rig.dockd.log()[-4000:]}")
        check_offloaded(rig, world.truth())
        if expect_log:
            check(expect_log in rig.dockd.log(), f"log lacks {expect_log!r}")
        ok, out = rig.verify_custody()
        check(ok, out)
        rig.stop()


@case
def malformed_bad_length():
    recovers_case("fault-malformed-bad-length.ini", expect_log="Recovering it")


@case
def malformed_oversize():
    recovers_case("fault-malformed-oversize.ini", expect_log="Recovering it")


@case
def malformed_truncated():
    recovers_case("fault-malformed-truncated.ini", expect_log="Recovering it")


@case
def malformed_wrong_tid():
    recovers_case("fault-malformed-wrong-tid.ini", expect_log="Recovering it")


@case
def urb_error():
    recovers_case("fault-urb-error.ini", expect_log="Recovering it")


@case
def stall_until_reset():
    recovers_case("fault-stall-reset.ini", expect_log="Recovering it")


@case
def stall_until_power_cycle():
    recovers_case("fault-stall.ini", expect_log="power-cycling port 1-1.1")


@case
def stall_op_until_power_cycle():
    recovers_case("fault-stall-op.ini", expect_log="power-cycling port 1-1.1")


@case
def stalled_bay_does_not_stall_others():
    world = run_in_vdock(own("two-bays-one-stalls.ini"))
    with Rig(world) as rig:
        rig.start()
        rig.wait_bay(2, "ready", None)
        b1 = rig.bay(1)
        check(b1["state"] != "ready", f"bay 1 finished first: {b1}")
        rig.wait_bay(1, "ready", None)
        check_offloaded(rig, world.truth())
        check("power-cycling port 1-1.1" in rig.dockd.log(), "no power cycle")
        rig.stop()


@case
def broken_camera_faults_its_bay_only():
    """A camera that always sends malformed data: reset twice, power-cycled once,
    then its bay is in fault with a clear message; nothing of it is deleted; the
    other bay and the daemon carry on."""
    world = run_in_vdock(own("always-malformed.ini"))
    # dockd's own USB timeouts: this camera answers at once (malformed).
    with Rig(world) as rig:
        rig.start()
        rig.wait_bay(2, "ready", 60)
        b1 = rig.wait_bay(1, "fault", 120)
        check([f["code"] for f in b1["findings"]] == ["camera-not-responding"], b1)
        check(b1.get("report"), "no malfunction report filed")
        log = rig.dockd.log()
        check("Bay fault: camera keeps failing while" in log, "no clear fault line")
        check("power-cycling port 1-1.1" in log, "no power cycle before the fault")
        t = world.truth()
        for cam, seg in world.segments(t):
            if cam["serial"] == "BWC-M0001":
                check(seg["fate"] == "on-camera", f"broken camera lost segment {seg['index']}")
        check_offloaded(rig, {"cameras": [c for c in t["cameras"] if c["serial"] == "BWC-M0002"]})
        check(rig.dockd.proc.poll() is None, "dockd died")
        rig.stop()


def refused_case(scenario, refused_indexes, code):
    world = run_in_vdock(scenario)
    with Rig(world) as rig:
        rig.start()
        b = rig.wait_bay(1, "ready", 60)
        check(b["summary"]["delete_refused"] == len(refused_indexes), b["summary"])
        t = world.truth()
        for cam, seg in world.segments(t):
            want = "on-camera" if seg["index"] in refused_indexes else "deleted"
            check(seg["fate"] == want, f"segment {seg['index']}: {seg['fate']}, expected {want}")
            # Uploaded and confirmed anyway.
            p = rig.object_path("evidence", SERIAL, seg["recording_id"], seg["index"], "mp4")
            check(os.path.exists(p), f"{p} missing")
        refusals = custody(rig, "delete-refused")
        check(len(refusals) == len(refused_indexes), refusals)
        check(code in rig.dockd.log(), f"log lacks {code}")
        rig.stop()


@case
def delete_refused():
    refused_case("fault-delete-refused.ini", [0], "0x200d")


@case
def delete_denied():
    refused_case("fault-delete-denied.ini", [0, 1, 2], "0x200f")


@case
def unplug_and_redock():
    recovers_case("fault-unplug.ini", expect_log="continuing where it left off")


@case
def unplug_resumes_at_durable_offset():
    """Unplugged 40 MB into a 64 MiB segment: the pull resumes where the bytes
    reached the spool; at most one transfer chunk is pulled twice."""
    world = run_in_vdock(own("unplug-resume.ini"))
    with Rig(world) as rig:
        rig.start()
        rig.wait_bay(1, "ready", 120)
        t = world.truth()
        check_offloaded(rig, t)
        cam = t["cameras"][0]
        seg0 = cam["recordings"][0]["segments"][0]["files"]["mp4"]
        twice = seg0["bytes_served"] - seg0["size"]
        chunk = 1 << 20   # [usb] transfer_size
        print(f"bytes pulled twice after the unplug: {twice} (one transfer: {chunk})")
        check(0 <= twice <= chunk, f"{twice} bytes pulled twice")
        check("Resuming at byte" in rig.dockd.log(), "no resume")
        rig.stop()


@case
def redock_while_identifying_slowly():
    """The camera comes back within the debounce, but identifying it takes
    longer than the rest of the debounce (its first GetDeviceInfo is never
    answered until dockd recovers it): the debounce must not end the docking,
    and release the returning camera, while it is identified. Before, the bay
    went empty with the camera on its port, never seen again. The only time
    here is the debounce the test has to dock the camera again in; dockd's
    command timeout, which ends the stall, is twice as long."""
    world = run_in_vdock("fault-unplug-stay.ini")
    config = {"dock": {"removal_debounce": "15s"}, "usb": {"command_timeout": "30s"}}
    with Rig(world, config=config) as rig:
        rig.start()
        rig.wait_log("Camera disconnected", 60)
        world.control(f"fault {SERIAL} stall op 0x1001 until reset")   # GetDeviceInfo
        world.control(f"dock {SERIAL} 1")
        back, left = "Camera came back; continuing where it left off.", "Camera left the bay."
        wait_for(lambda: back in rig.dockd.log() or left in rig.dockd.log(), None,
                 what="the returning camera identified, or the docking ended")
        check(left not in rig.dockd.log(), "the debounce ended the docking while the camera was identified:\n"
              + rig.dockd.log()[-4000:])
        b = rig.wait_bay(1, ["ready", "fault"], None)
        check(b["state"] == "ready", b)
        check(len(custody(rig, "docked")) == 1 and not custody(rig, "undocked"), "not one docking")
        check_offloaded(rig, world.truth())
        rig.stop()


@case
def unplug_and_stay_away():
    """The camera leaves mid-segment and does not come back: the docking ends,
    nothing of the unfinished segment is deleted; docked again later, it finishes."""
    world = run_in_vdock("fault-unplug-stay.ini")
    with Rig(world, config={"dock": {"removal_debounce": "1s"}}) as rig:
        rig.start()
        rig.wait_log("Camera disconnected", 60)
        rig.wait_bay(1, "empty", 20)
        check(custody(rig, "undocked"), "no undocked record")
        t = world.truth()
        for cam, seg in world.segments(t):
            if seg["index"] >= 1:
                check(seg["fate"] == "on-camera", f"segment {seg['index']} deleted before it was pulled")
        world.control(f"dock {SERIAL} 1")
        rig.wait_bay(1, "ready", 60)
        check_offloaded(rig, world.truth())
        rig.stop()


@case
def self_test_during_inventory():
    """The self-test's completion event arrives while the inventory of a camera
    with 1200 objects is in progress: its query and the inventory's requests
    queue behind each other on the camera, and everything is offloaded."""
    world = run_in_vdock(own("busy-inventory.ini"))
    with Rig(world) as rig:
        rig.start()
        # No deadline of its own: 400 segments take minutes when the disk is
        # busy, a guessed 600 s ran out at a load of 30-45 while the bay was
        # still offloading. It ends ready or faulted; meson's timeout bounds a hang.
        b = rig.wait_bay(1, ["ready", "fault"], None)
        check(b["state"] == "ready", f"bay 1 faulted: {b}")
        check(not b.get("findings"), f"findings: {b.get('findings')}")
        check_offloaded(rig, world.truth())
        check(rig.stop() == 0, "dockd exit status")


@case
def clock_drift(config=None):
    world = run_in_vdock("fault-clock-drift.ini")
    with Rig(world, config=config) as rig:
        rig.start()
        rig.wait_bay(1, "ready", 60)
        rec = custody(rig, "clock-drift")
        check(rec and abs(int(rec[0]["drift_seconds"]) + 300) <= 2, rec)
        sets = world.truth()["cameras"][0]["clock_sets"]
        check(sets and sets[0]["accepted"], sets)
        check("Camera clock was off by" in rig.dockd.log(), "no clock message")
        rig.stop()


@case
def clock_drift_four_in_flight():
    """The clock set with four bulk IN transfers queued. Two queued before
    GetDevicePropValue's command take its data and response, which are reaped
    before that command's own OUT completion; that late completion used to be
    taken for SetDevicePropValue's command, so its data phase went to the camera
    ahead of its command, and the camera stalled (Broken pipe) every time."""
    clock_drift(config={"usb": {"transfers_in_flight": "4"}})


# State files as dockd never writes them: cut after the first line, a key twice,
# bytes that are no text. A cut-short "stage=confirmed" used to read as confirmed,
# and the segment was deleted from the camera without ever being uploaded.
DAMAGED_STATES = [
    b"stage=confirmed\n",
    b"stage=pulling\nquarantined=0\nstage=confirmed\n",
    b"\x00\xffstage=confirmed\n\x89PNG\r\n",
]


@case
def damaged_state_files():
    """Damaged state files at start-up: each refused with its file's name, the
    segment pulled, uploaded and confirmed again before anything is deleted."""
    world = run_in_vdock(own("damaged-state.ini"))
    with Rig(world) as rig:
        truth = world.truth()
        planted = []
        for (cam, seg), text in zip(world.segments(truth), DAMAGED_STATES):
            d = os.path.join(rig.state, "spool", cam["serial"], seg["recording_id"])
            os.makedirs(d, exist_ok=True)
            path = os.path.join(d, f"{seg['index']:06d}.state")
            with open(path, "wb") as f:
                f.write(text)
            planted.append(path)
        serial = truth["cameras"][0]["serial"]
        others = {
            os.path.join(rig.state, "bays", "bay-1.json"): b'{"serial": "BWC-F0009", "reported": [1',
            os.path.join(rig.state, "cameras", serial + ".json"): b'{"last_docked": "yesterday"}',
            os.path.join(rig.state, "reports", "20261201T000000Z-" + serial + ".status"):
                b"id=x\r\nEvil: header\nserial=" + serial.encode() + b"\n",
        }
        for path, text in others.items():
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(text)
        rig.start()
        rig.wait_bay(1, "ready", 90)
        t = world.truth()
        recs = rig.custody_records()
        for cam, seg in world.segments(t):
            name = f"{seg['recording_id']}/{seg['index']:06d}"
            events = [r["event"] for r in recs if r.get("segment") == name]
            check("confirmed" in events or seg["fate"] == "on-camera",
                  f"{name} deleted from the camera ({seg['fate']}) but never confirmed: {events}")
            check("confirmed" in events and events.index("confirmed") < events.index("deleted-from-camera"),
                  f"{name}: not confirmed, then deleted: {events}")
        check_offloaded(rig, t)
        log = rig.dockd.log()
        for path in planted:
            check(f"{path}:" in log and "not a segment state dockd wrote" in log, f"{path} not named in the log")
        for path in others:
            check(f"{path}:" in log, f"{path} not named in the log")
        check(rig.stop() == 0, "dockd exit status")


if __name__ == "__main__":
    run_cases()
