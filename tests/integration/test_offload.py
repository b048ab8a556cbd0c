#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Offload end to end: the real dockd inside vdock's world, the file backend in a
temporary directory. What is checked is what a user would notice: bytes in central
storage, signatures verifying with stock OpenSSL, what is left on the camera, the
custody log, the bay's state."""

import os
import shutil
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dockdtest import (DOCKD, Rig, case, check, check_offloaded, run_cases, run_in_vdock,
                       sha256_file, wait_for)

HERE = os.path.dirname(os.path.abspath(__file__))


def scenario(name):
    return os.path.join(HERE, "scenarios", name)


def events(rig, event, camera=None):
    return [r for r in rig.custody_records() if r["event"] == event and (camera is None or r.get("camera") == camera)]


@case
def single_camera():
    world = run_in_vdock(scenario("basic.ini"))
    with Rig(world) as rig:
        rig.start()
        b = rig.wait_bay(1, "ready", 60)
        check(b["camera"] == "BWC-B0001", b)
        t = world.truth()
        check_offloaded(rig, t)
        check(b["summary"]["pulled"] == 6 and b["summary"]["deleted"] == 6, b["summary"])
        # Custody tells the whole story, in order, for every segment.
        for ev in ("docked", "identified", "clock-drift"):
            check(events(rig, ev, "BWC-B0001"), f"no {ev} record")
        for ev in ("pulled", "verified", "confirmed", "deleted-from-camera"):
            check(len(events(rig, ev)) == 6, f"{len(events(rig, ev))} {ev} records")
        check(len(events(rig, "uploaded")) == 18, "uploaded records")
        seq = [r["event"] for r in rig.custody_records() if r.get("segment") == "20261122T010000Z-0002/000001"]
        order = ["pulled", "verified", "uploaded", "uploaded", "uploaded", "confirmed", "deleted-from-camera"]
        check(seq == order, f"custody order {seq}")
        # The spool is empty again; the state remembers every segment.
        spool = os.path.join(rig.state, "spool")
        leftovers = [f for _, _, fs in os.walk(spool) for f in fs if not f.endswith(".state")]
        check(not leftovers, f"spool leftovers: {leftovers}")
        check(rig.stop() == 0, "dockd exit status")


@case
def four_bays_at_once():
    world = run_in_vdock(scenario("four-bays.ini"))
    with Rig(world) as rig:
        rig.start()
        for n in range(1, 5):
            rig.wait_bay(n, "ready", 120)
        check_offloaded(rig, world.truth())
        # Every camera was being pulled at the same time, not one after another.
        log = rig.dockd.log()
        holds = [line for line in log.splitlines() if "Camera holds" in line or "Recovering it" in line]
        check(len([h for h in holds if "Camera holds" in h]) == 4, f"not every camera inventoried once: {holds}")
        rig.stop()


@case
def custody_verifies():
    world = run_in_vdock(scenario("basic.ini"))
    with Rig(world) as rig:
        rig.start()
        rig.wait_bay(1, "ready", 60)
        rig.stop()
        ok, out = rig.verify_custody()
        check(ok, f"custody does not verify: {out}")
        # Change one byte of the log: verification fails.
        files = rig.custody_files()
        target = max(files, key=os.path.getsize)
        data = bytearray(open(target, "rb").read())
        i = len(data) // 2
        data[i] = ord("0") if data[i] != ord("0") else ord("1")
        os.chmod(target, 0o644)
        open(target, "wb").write(bytes(data))
        ok, out = rig.verify_custody()
        check(not ok, "a changed custody log still verifies")
        # Central storage holds the custody log and the dock's public key.
        cdir = os.path.join(rig.central, "custody", "test-dock")
        wait_for(lambda: os.path.isdir(cdir) and any(f.endswith(".jsonl") for f in os.listdir(cdir)), 5,
                 what="custody in central storage")
        check(os.path.exists(os.path.join(cdir, "dock-key.pub.pem")), "no public key in central storage")


@case
def custody_read_while_sealing():
    """An operator verifies the custody log of a running dock while dockd seals it after
    every record (several hundred seals): every read finds current.jsonl, and every
    verification passes."""
    world = run_in_vdock(scenario("many-segments.ini"))
    with Rig(world, config={"storage": {"custody_seal_size": "1"}}) as rig:
        sealed = os.path.join(rig.state, "custody", "sealed")
        stop = threading.Event()
        reads, failures = [0], []

        def reader():
            while not stop.is_set():
                try:
                    ok, out = rig.verify_custody()
                    if not ok:
                        failures.append(out.strip())
                    rig.custody_records()
                except (OSError, ValueError) as e:
                    failures.append(repr(e))
                reads[0] += 1

        rig.start()
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        try:
            for bay in (1, 2):
                rig.wait_bay(bay, "ready", 240)
        finally:
            stop.set()
            t.join()
            seals = len([f for f in os.listdir(sealed) if f.endswith(".jsonl")])
            print(f"{reads[0]} reads while dockd sealed {seals} times; {len(failures)} failed")
            check(not failures, f"{len(failures)} of {reads[0]} reads failed, first ones: {failures[:3]}")
        check(seals >= 300, f"only {seals} seals")
        check(reads[0] >= 50, f"only {reads[0]} reads")
        check_offloaded(rig, world.truth())
        check(rig.stop() == 0, "dockd exit status")
        ok, out = rig.verify_custody()
        check(ok and f"seq 0..{len(rig.custody_records()) - 1}," in out, out)


@case
def restart_is_idempotent():
    """A second dockd run over an offloaded camera finds nothing to do and changes nothing."""
    world = run_in_vdock(scenario("basic.ini"))
    with Rig(world) as rig:
        rig.start()
        rig.wait_bay(1, "ready", 60)
        check(rig.dockd.stop() == 0, "exit status")
        before = {p: sha256_file(os.path.join(dp, p)) for dp, _, fs in os.walk(rig.central) for p in fs
                  if "/.incoming" not in dp and not p.endswith(".jsonl")}
        rig.start()
        b = rig.wait_bay(1, "ready", 60)
        check(b["summary"]["pulled"] == 0, b["summary"])
        after = {p: sha256_file(os.path.join(dp, p)) for dp, _, fs in os.walk(rig.central) for p in fs
                 if "/.incoming" not in dp and not p.endswith(".jsonl")}
        check(before == after, "central storage changed on a second run")
        rig.stop()


@case
def undock_and_redock():
    """Undocked before it finished and docked again later: a new docking, nothing lost."""
    world = run_in_vdock(scenario("redock.ini"))
    with Rig(world, config={"dock": {"removal_debounce": "500ms"}}) as rig:
        rig.start()
        rig.wait_bay(1, "ready", 60)
        world.control("undock 1")
        rig.wait_bay(1, "empty", 10)
        check(events(rig, "undocked", "BWC-R0001"), "no undocked record")
        world.control("dock BWC-R0001 2")
        b = rig.wait_bay(2, "ready", 30)
        check(b["summary"]["segments"] == 0, b)
        check_offloaded(rig, world.truth())
        rig.stop()


@case
def over_4gib():
    world = run_in_vdock(scenario("large.ini"))
    with Rig(world, config={"spool": {"quota": "10G", "min_free": "256M"}}) as rig:
        free = shutil.disk_usage(rig.tmp.path).free
        if free < 12 * 1024 ** 3:
            print(f"only {free >> 30} GiB free; this case needs 12")
            raise SystemExit(77)
        rig.start()
        rig.wait_bay(1, "ready", 600)
        check_offloaded(rig, world.truth())
        rig.stop()


if __name__ == "__main__":
    run_cases()
