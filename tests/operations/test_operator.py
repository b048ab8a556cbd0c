#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Suite operations: what the other operator actions do (issue 14, item 4),
with the real dockd in vdock's world. Each is first refused to a user polkit
does not grant it (and nothing happens), then done by the operator.

retry-storage-now: central storage comes back while dockd waits out a
10-minute backoff; RetryStorage makes it upload now (only the retry can
explain the upload finishing within the case's timeout).
bay-disable-enable: a disabled bay leaves a docked camera alone (nothing
read or deleted, charging inhibited, red LED), stays disabled across a
restart, and offloads once enabled.
bay-disable-mid-offload: disabled in the middle of an offload, a bay stops
there and, enabled, resumes without pulling anything twice.
self-test-rerun: a camera whose microphone failed after it was tested is
tested again on request: the finding and a report follow; a second request
while the test runs is refused as busy.

Authorisation: a real polkitd with test rules, as test_actions.py says;
dockd runs as root (vdock's emulated devices belong to root)."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from dockdtest import Rig, case, check, in_private_mount_ns, run_cases, run_in_vdock, wait_for  # noqa: E402
from busops import (BAY_IFACE, OPERATOR, OUTSIDER, Authority, BusError, bay_path, call, custody_records,  # noqa: E402
                     dockctl_as, get_all, operator_records, scenario)


class Setup:
    def __init__(self, config=None):
        in_private_mount_ns()
        self.world = run_in_vdock(scenario("operator.ini"))
        self.rig = Rig(self.world, config=config, name="operator", bus=lambda tmp: Authority(tmp, root_owns=True))

    def dockctl(self, user, *args):
        return dockctl_as(user, ["--no-ask-password"] + list(args), self.rig.env)

    def operator(self, *args):
        p = self.dockctl(OPERATOR[0], *args)
        check(p.returncode == 0, f"dockctl {' '.join(args)} as the operator: {p.stderr}")
        return p

    def refused(self, *args):
        p = self.dockctl(OUTSIDER[0], *args)
        check(p.returncode != 0 and "authoriz" in p.stderr.lower(),
              f"dockctl {' '.join(args)} as an outsider: rc {p.returncode} {p.stderr.strip()!r}")

    def fates(self, serial):
        t = self.world.truth()
        cam = next(c for c in t["cameras"] if c["serial"] == serial)
        return [s["fate"] for r in cam["recordings"] for s in r["segments"]]

    def records(self, event):
        return [r for r in custody_records(self.rig.state) if r["event"] == event]


@case
def retry_storage_now():
    # custody_interval: the rig's 2 s made a new custody upload every 2 s, and
    # one queued after the store is writable again succeeds at once: storage
    # stopped failing without any retry (the cause of this case's failures
    # under load, when the refused retry took longer than 2 s).
    s = Setup(config={"storage": {"retry_initial": "10min", "retry_max": "10min", "custody_interval": "1h"}})
    bound = False
    try:
        s.rig.start()
        # dockd uploads its custody log and key once it starts (then every
        # custody_interval): that upload must be over before the store breaks,
        # or it may end after the segments failed.
        wait_for(lambda: (lambda st: st and st["storage"].get("bytes_confirmed", 0) > 0
                          and st["storage"].get("queued") == 0)(s.rig.status()), 30,
                 what="the start-up custody upload confirmed")
        # Central storage goes read-only under dockd (a bind mount of itself).
        subprocess.run(["mount", "--bind", s.rig.central, s.rig.central], check=True)
        bound = True
        subprocess.run(["mount", "-o", "remount,bind,ro", s.rig.central], check=True)
        s.world.control("dock BWC-OP0301 1")
        wait_for(lambda: (lambda st: st and st["storage"].get("failing"))(s.rig.status()), 60,
                 what="central storage failing")
        # Both segments' uploads must have failed before the store is writable
        # again: an upload that first runs after that succeeds at once, and
        # storage stops failing without any retry. The "verified" custody
        # record does not say so (it is written before the segment is queued,
        # and its first attempt follows on dockd's loop: under load the
        # remount could come in between). What does: the bay has pulled
        # everything and waits for storage, and every queued upload is waiting
        # out its backoff (none running, none yet to start).
        def all_failed_once():
            st = s.rig.status()
            b = next((x for x in (st or {}).get("bays", []) if x["bay"] == 1), {})
            sto = (st or {}).get("storage", {})
            return (len(s.records("verified")) >= 2 and b.get("progress", {}).get("waiting_for_storage")
                    and sto.get("queued", 0) >= 2 and sto.get("waiting_retry") == sto.get("queued"))
        wait_for(all_failed_once, 60, what="both segments pulled, and every upload failed once and waiting to retry")
        subprocess.run(["mount", "-o", "remount,bind,rw", s.rig.central], check=True)
        s.refused("retry-storage")
        st = s.rig.status()
        check(st["storage"]["failing"] and not s.records("confirmed") and not s.records("storage-retry"),
              f"a refused retry changed something: {st['storage']}")
        s.operator("retry-storage")
        s.rig.wait_bay(1, "ready", 90)
        check(all(f == "deleted" for f in s.fates("BWC-OP0301")), f"fates {s.fates('BWC-OP0301')}")
        check(not s.rig.status()["storage"]["failing"], "storage still failing after the retry")
        recs = [r for r in operator_records(s.rig.state) if r["event"] == "storage-retry"]
        check(len(recs) == 1 and recs[0]["user"] == OPERATOR[0], f"storage-retry records {recs}")
        s.rig.stop()
    finally:
        # The bind mount over central storage would keep its directory from
        # being removed (lazily: a dockd still running may hold files there).
        if bound:
            subprocess.run(["umount", "--lazy", s.rig.central], check=False)
        s.rig.cleanup()


@case
def bay_disable_enable():
    s = Setup()
    try:
        s.rig.start()
        env = s.rig.env
        s.refused("disable-bay", "2")
        check(get_all(env, bay_path(2), BAY_IFACE)["Enabled"] is True, "refused disable changed bay 2")
        s.operator("disable-bay", "2")
        s.world.control("dock BWC-OP0302 2")
        wait_for(lambda: get_all(env, bay_path(2), BAY_IFACE)["CameraConnected"], 30,
                 what="dockd to notice the camera in the disabled bay")
        problems = []
        b = get_all(env, bay_path(2), BAY_IFACE)
        if b["State"] != "disabled" or b["CameraSerial"] != "":
            problems.append(f"bay 2, disabled, with a camera: {b}")
        # Restart: still disabled, and still nothing asked of the camera.
        check(s.rig.dockd.stop() == 0, "dockd did not exit 0")
        s.rig.start()
        wait_for(lambda: get_all(env, bay_path(2), BAY_IFACE)["CameraConnected"], 30,
                 what="the camera in the disabled bay after a restart")
        b = get_all(env, bay_path(2), BAY_IFACE)
        if b["State"] != "disabled" or b["Enabled"] is not False:
            problems.append(f"bay 2 after a restart: {b}")
        if [r for r in custody_records(s.rig.state) if r.get("bay") == "2" and "action" not in r]:
            problems.append("custody records of a camera in a disabled bay: it was handled")
        if any(f != "on-camera" for f in s.fates("BWC-OP0302")):
            problems.append(f"a camera in a disabled bay lost segments: {s.fates('BWC-OP0302')}")
        st = s.world.status()
        bay2 = next(x for x in st["bays"] if x["bay"] == 2)
        if bay2.get("charge_behaviour") != "inhibit-charge":
            problems.append(f"charging not inhibited in the disabled bay: {bay2}")
        leds = {e["led"]: e["value"] for e in s.world.truth()["led_history"] if e["attr"] == "state"}
        if not leds.get("dock:red:bay-2", "").startswith("on") or not leds.get("dock:green:bay-2", "off").startswith("off"):
            problems.append(f"bay 2's LEDs: red {leds.get('dock:red:bay-2')}, green {leds.get('dock:green:bay-2')}")
        check(not problems, "\n".join(problems))

        s.operator("enable-bay", "2")
        s.rig.wait_bay(2, "ready", 120)
        check(all(f == "deleted" for f in s.fates("BWC-OP0302")), f"fates after enabling: {s.fates('BWC-OP0302')}")
        events = [(r["event"], r.get("bay")) for r in operator_records(s.rig.state)]
        check(events == [("bay-disabled", "2"), ("bay-enabled", "2")], f"operator records {events}")
        s.rig.stop()
    finally:
        s.rig.cleanup()


@case
def bay_disable_mid_offload():
    s = Setup()
    try:
        s.rig.start()
        env = s.rig.env
        s.world.control("dock BWC-OP0302 1")
        wait_for(lambda: (lambda b: b and b["state"] == "offloading" and b.get("progress", {}).get("offset", 0) > 0)
                 (s.rig.bay(1)), 60, what="bay 1 pulling")
        s.operator("disable-bay", "1")
        b = get_all(env, bay_path(1), BAY_IFACE)
        check(b["State"] == "disabled", f"bay 1 right after disable-bay: {b}")
        deleted = len(s.records("deleted-from-camera"))
        pulled = len(s.records("pulled"))
        s.operator("enable-bay", "1")
        s.rig.wait_bay(1, "ready", 120)
        check(all(f == "deleted" for f in s.fates("BWC-OP0302")), f"fates {s.fates('BWC-OP0302')}")
        segs = [r["segment"] for r in s.records("pulled")]
        check(len(segs) == len(set(segs)) == 2, f"pulled records {segs} (at disable: {pulled} pulled, {deleted} deleted)")
        events = [r["event"] for r in operator_records(s.rig.state)]
        check(events == ["bay-disabled", "bay-enabled"], f"operator records {events}")
        s.rig.stop()
    finally:
        s.rig.cleanup()


@case
def self_test_rerun():
    s = Setup()
    try:
        s.rig.start()
        env = s.rig.env
        s.world.control("dock BWC-OP0301 1")
        b = s.rig.wait_bay(1, "ready", 120)
        check(b["findings"] == [], f"a healthy camera has findings: {b['findings']}")
        s.world.control("fault BWC-OP0301 selftest_fail microphone:0x21:capsule bias out of range")
        s.refused("self-test", "1")
        check(s.rig.bay(1)["state"] == "ready" and not s.records("self-test-requested"), "a refused self-test ran")
        s.operator("self-test", "1")
        try:
            call(env, bay_path(1), BAY_IFACE, "RunSelfTest", user=OPERATOR[0])
            busy = None
        except BusError as e:
            busy = e
        b = s.rig.wait_bay(1, "fault", 60)
        problems = []
        if busy is None or busy.name != "org.dockd.Dock1.Error.Busy":
            problems.append(f"a second self-test while one runs: {busy.name if busy else 'accepted'}")
        codes = [f["code"] for f in b["findings"]]
        if not any("self-test" in c or "microphone" in c for c in codes):
            problems.append(f"findings after the re-run: {b['findings']}")
        if not b.get("report"):
            problems.append(f"no malfunction report after the failed re-run: {b}")
        recs = [r for r in operator_records(s.rig.state) if r["event"] == "self-test-requested"]
        if len(recs) != 1 or recs[0].get("bay") != "1" or recs[0].get("camera") != "BWC-OP0301":
            problems.append(f"self-test-requested records: {recs}")
        check(not problems, "\n".join(problems))
        s.rig.stop()
    finally:
        s.rig.cleanup()


if __name__ == "__main__":
    run_cases()
