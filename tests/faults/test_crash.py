#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""kill -9 of dockd at named crash points (during a pull; before and after fsync;
before and after rename; around every DeleteObject; inside custody writes),
then a restart: nothing lost, nothing duplicated, nothing deleted early, and
every segment the camera no longer holds has its deleted-from-camera record.

The crash points are compiled in with -Dfailpoints=true: DOCKD_FAILPOINTS=name:n
makes the n-th pass through `name` raise SIGKILL."""

import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dockdtest import Rig, TestFailure, case, check, check_offloaded, run_cases, run_in_vdock, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))

POINTS = [
    "pull-chunk:1", "pull-chunk:4", "pull-before-sync:1", "pull-before-sync:3",
    "pull-before-rename:1", "pull-before-rename:3", "pull-after-rename:2",
    "pull-after-custody:2", "pull-after-state:1", "pull-after-state:3",
    "atomic-before-rename:2", "atomic-after-rename:4",
    "file-before-rename:1", "file-before-rename:5", "file-after-rename:3",
    "custody-append-before-sync:10", "custody-append-before-sync@confirmed:1",
    "custody-append-before-sync@confirmed:3", "custody-seal-after-link:1", "custody-seal-after-create:1",
    "custody-seal-after-rename:1",
    "delete-after-custody:1", "delete-after-custody:3",
]
# Every DeleteObject of crash.ini's three segments (.mp4, .man, .p7s each, so
# 3, 6 and 9 are a segment's last): before it is sent (delete-before), after
# its command went out and before its response was read (delete-sent), after
# its OK arrived and before anything was recorded (delete-object).
POINTS += [f"{p}:{n}" for p in ("delete-before", "delete-sent", "delete-object") for n in range(1, 10)]


def crash_and_recover(point):
    world = run_in_vdock(os.path.join(HERE, "scenarios", "crash.ini"))
    with Rig(world, config={
        "usb": {"chunk_size": "1M", "transfer_size": "256K"},
        "spool": {"sync_interval": "1M"},
    }) as rig:
        d = rig.start(extra_env={"DOCKD_FAILPOINTS": point}, wait=False)
        try:
            wait_for(lambda: d.proc.poll() is not None, 60, what=f"the crash at {point}")
        except TestFailure:
            raise TestFailure(f"{point} was never reached; log:\n{d.log()[-3000:]}")
        check(d.proc.returncode == -signal.SIGKILL, f"dockd exited {d.proc.returncode}, not by SIGKILL")
        check(f"Failpoint {point.split(':')[0].split('@')[0]} reached" in d.log(), "not killed at the failpoint")
        before = world.truth()
        # Nothing deleted early: whatever the camera lost, custody had confirmed.
        confirmed = {r["segment"] for r in rig.custody_records() if r["event"] == "confirmed"}
        for cam, seg in world.segments(before):
            name = f"{seg['recording_id']}/{seg['index']:06d}"
            if seg["files"]["mp4"]["fate"] == "deleted":
                check(name in confirmed, f"{name} deleted from the camera before central storage confirmed it")

        d.notify.close()
        rig.start()
        rig.wait_bay(1, "ready", 90)
        t = world.truth()
        check_offloaded(rig, t)

        recs = rig.custody_records()
        ok, out = rig.verify_custody()
        check(ok, f"custody does not verify after the crash: {out}")
        for cam, seg in world.segments(t):
            name = f"{seg['recording_id']}/{seg['index']:06d}"
            events = [r["event"] for r in recs if r.get("segment") == name]
            check(events.count("deleted-from-camera") == 1, f"{name}: {events}")
            check(events.count("confirmed") == 1, f"{name}: {events}")
            last = {e: max(i for i, x in enumerate(events) if x == e) for e in set(events)}
            check(last["confirmed"] < last["deleted-from-camera"], f"{name}: deleted before confirmed: {events}")
            check(events.index("verified") < events.index("confirmed"), f"{name}: {events}")
        # Nothing stray in central storage or in the spool, once dockd has
        # stopped: running, it uploads its custody log every 2 s through a
        # temporary file of its own.
        check(rig.stop() == 0, "dockd exit status")
        incoming = os.path.join(rig.central, ".incoming", "test-dock")
        check(not os.listdir(incoming), f"stray temporary files: {os.listdir(incoming)}")
        for top, _, files in os.walk(rig.central):
            for f in files:
                p = os.path.relpath(os.path.join(top, f), rig.central)
                check(p.startswith(("evidence/", "custody/")), f"stray file in central storage: {p}")
        spool = os.path.join(rig.state, "spool")
        left = [f for _, _, fs in os.walk(spool) for f in fs if not f.endswith(".state")]
        check(not left, f"spool leftovers: {left}")


@case
def kill_while_the_port_is_off():
    """kill -9 inside a port power cycle, after the port was switched off and
    before it was switched on again: the restart must power it on, or the
    camera never comes back."""
    world = run_in_vdock("fault-stall.ini")
    with Rig(world) as rig:
        d = rig.start(extra_env={"DOCKD_FAILPOINTS": "power-cycle-off"}, wait=False)
        wait_for(lambda: d.proc.poll() is not None, 90, what="the crash in the power cycle")
        check("Failpoint power-cycle-off reached" in d.log(), "not killed at the failpoint")
        check(not world.status()["bays"][0]["port_power"], "the port is not off")
        d.notify.close()
        rig.start()
        rig.wait_bay(1, "ready", 90)
        check_offloaded(rig, world.truth())
        rig.stop()


for _p in POINTS:
    def _make(p):
        def f():
            crash_and_recover(p)
        f.__name__ = "kill_at_" + p.replace(":", "_").replace("-", "_")
        return f
    case(_make(_p))


if __name__ == "__main__":
    run_cases()
