#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The real dockd binary: readiness, status, signals, watchdog, bad configuration,
root refusal, journald fields, the D-Bus API."""

import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dockdtest import (DOCKD, Dockd, PrivateBus, PrivateJournal, TempDir, TestFailure, case, check,
                       dockctl, in_private_mount_ns, make_ca, run_cases, wait_for, write_config)


def minimal_config(tmp, **extra):
    sections = {
        "dock": {"name": "test-dock", "state_dir": tmp.join("state"), "bays": "2",
                 "trust_anchors": make_ca(tmp)},
        "file": {"path": tmp.join("central")},
    }
    for sec, kv in extra.items():
        sections.setdefault(sec, {}).update(kv)
    return write_config(tmp.join("dockd.conf"), sections)


def no_bus(tmp):
    return {"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=" + tmp.join("nobus")}


@case
def ready_and_status():
    tmp = TempDir()
    try:
        with Dockd(tmp, minimal_config(tmp)) as d:
            d.wait_ready()
            status = d.notify.seen("STATUS=")
            check(status, "no STATUS= sent")
            check("2 bays" in status[0], f"unexpected status {status}")
            check(os.path.isdir(tmp.join("state")), "state directory not created")
            check(d.stop() == 0, "dockd did not exit 0")
    finally:
        tmp.cleanup()


@case
def sigterm_stops_promptly():
    """SIGTERM and SIGINT take dockd's own way out: it says why it stops,
    sends STOPPING=1, logs its last line and exits 0 by itself. No clock is
    read but the safety net's (a dockd that does not stop fails the case and
    is killed as it leaves the with block)."""
    tmp = TempDir()
    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with Dockd(tmp, minimal_config(tmp)) as d:
                d.wait_ready()
                d.signal(sig)
                try:
                    rc = d.wait(60)
                except subprocess.TimeoutExpired:
                    raise TestFailure(f"dockd did not stop on {sig.name}:\n{d.log()}") from None
                log = d.log()
                check(rc == 0, f"exit status {rc} after {sig.name}:\n{log}")
                check(f"Received {signal.strsignal(sig)}, stopping." in log, f"no stop on {sig.name}:\n{log}")
                check("dockd stopped." in log, f"did not end by its own way out:\n{log}")
                check(d.notify.seen("STOPPING=1"), "no STOPPING=1")
                check(d.stop() == 0, "exit status")
    finally:
        tmp.cleanup()


@case
def watchdog_pings():
    tmp = TempDir()
    try:
        with Dockd(tmp, minimal_config(tmp), env={"WATCHDOG_USEC": "200000"}) as d:
            # sd_event_set_watchdog() checks WATCHDOG_PID when set; unset means "us".
            d.wait_ready()
            wait_for(lambda: len(d.notify.seen("WATCHDOG=1")) >= 3, 5, what="3 watchdog pings")
            d.stop()
    finally:
        tmp.cleanup()


@case
def invalid_config_exits_2():
    tmp = TempDir()
    try:
        conf = tmp.join("bad.conf")
        with open(conf, "w") as f:
            f.write("[dock]\nname=ok\n\n[usb]\ntransfer_size=lots\n")
        p = subprocess.run([DOCKD, "--config", conf, "--allow-root"], capture_output=True,
                           text=True, timeout=10)
        check(p.returncode == 2, f"exit status {p.returncode}")
        check(p.stderr.startswith(f"{conf}:5: "), f"stderr: {p.stderr!r}")
        check("transfer_size" in p.stderr, p.stderr)
        # The same through --check-config, and a good file passes it.
        p = subprocess.run([DOCKD, "--config", conf, "--check-config"], capture_output=True,
                           text=True, timeout=10)
        check(p.returncode == 2, f"--check-config exit status {p.returncode}")
        good = minimal_config(tmp, s3={"credentials": "s3-creds"},
                              report={"webhook": "https://hooks.example.org/T/secret123"})
        p = subprocess.run([DOCKD, "--config", good, "--check-config"], capture_output=True,
                           text=True, timeout=10)
        check(p.returncode == 0, p.stderr)
        check("name=test-dock" in p.stdout, p.stdout)
        check("secret123" not in p.stdout, "webhook token not masked")
        # A missing explicit config file is an error, too.
        p = subprocess.run([DOCKD, "--config", tmp.join("none.conf"), "--allow-root"],
                           capture_output=True, text=True, timeout=10)
        check(p.returncode == 2 and "none.conf:0: cannot read" in p.stderr, p.stderr)
    finally:
        tmp.cleanup()


@case
def refuses_root():
    if os.geteuid() != 0:
        print("not root: checking that non-root runs instead")
    tmp = TempDir()
    try:
        p = subprocess.run([DOCKD, "--config", minimal_config(tmp)], capture_output=True,
                           text=True, timeout=10)
        if os.geteuid() == 0:
            check(p.returncode == 1, f"exit status {p.returncode}")
            check("Refusing to run as root" in p.stderr, p.stderr)
    finally:
        tmp.cleanup()


@case
def journal_fields():
    in_private_mount_ns()
    tmp = TempDir()
    journal = PrivateJournal()
    try:
        with Dockd(tmp, minimal_config(tmp), env={"DOCKD_LOG_TARGET": "journal"}) as d:
            d.wait_ready()
            d.stop()

            def started():
                return [e for e in journal.entries() if "running" in e.get("MESSAGE", "")]
            entries = wait_for(started, 10, what="startup message in the journal")
            e = entries[0]
            check(e.get("PRIORITY") == "6", f"priority {e.get('PRIORITY')}")
            check(e.get("CODE_FILE", "").endswith("manager.c"), f"CODE_FILE {e.get('CODE_FILE')}")
            check("test-dock" in e["MESSAGE"], e["MESSAGE"])
    finally:
        journal.stop()
        tmp.cleanup()


@case
def dbus_status():
    tmp = TempDir()
    bus = PrivateBus(tmp)
    try:
        with Dockd(tmp, minimal_config(tmp), env=bus.env()) as d:
            d.wait_ready()
            p = dockctl("status", "--json", env=bus.env())
            status = json.loads(p.stdout)
            check(status["dock"] == "test-dock", p.stdout)
            check(len(status["bays"]) == 2 and status["bays"][0]["state"] == "empty", p.stdout)
            p = dockctl("status", env=bus.env())
            check("Dock test-dock" in p.stdout, p.stdout)   # the short summary (README, "Watching and acting on a dock")
            d.stop()
            # With dockd gone, dockctl says so and fails.
            p = dockctl("status", env=bus.env(), check_rc=False)
            check(p.returncode != 0 and p.stderr, "dockctl did not fail without dockd")
    finally:
        bus.stop()
        tmp.cleanup()


@case
def ready_only_with_bus_name():
    """READY=1 means dockctl works: dockd sends it once it owns its bus name,
    and never runs on without the name (the bus refused it, or the request
    failed). A second dockd on the bus cannot own the name: before, it said
    READY=1 at once, logged the refusal and ran on unreachable."""
    tmp, tmp2 = TempDir(), TempDir()
    bus = PrivateBus(tmp)
    try:
        with Dockd(tmp, minimal_config(tmp), env=bus.env()) as d:
            d.wait_ready()
            p = dockctl("status", "--json", env=bus.env())
            check(json.loads(p.stdout)["dock"] == "test-dock", p.stdout)
            with Dockd(tmp2, minimal_config(tmp2), env=bus.env()) as d2:
                wait_for(lambda: d2.notify.seen("READY=1") or d2.proc.poll() is not None,
                         None, what="READY=1 or the second dockd's exit")
                check(d2.notify.seen("READY=1") == [], "READY=1 without the bus name:\n" + d2.log())
                rc = d2.proc.wait()
                check(rc != 0, f"dockd without its bus name exited {rc}:\n" + d2.log())
                check("Cannot own D-Bus name" in d2.log(), d2.log())
                d2.stop()
            check(d.stop() == 0, "exit status")
    finally:
        bus.stop()
        tmp.cleanup()
        tmp2.cleanup()


@case
def no_bus_still_runs():
    tmp = TempDir()
    try:
        with Dockd(tmp, minimal_config(tmp), env=no_bus(tmp)) as d:
            d.wait_ready()
            check("D-Bus API unavailable" in d.log(), d.log())
            check(d.stop() == 0, "exit status")
    finally:
        tmp.cleanup()


@case
def failing_case_leaves_no_dockd():
    """A case that fails with dockd running leaves none behind: the one in a
    with block is killed as the failure leaves it, one started bare by
    run_cases() afterwards (which names it). leak-probe is such a case."""
    tmp = TempDir()
    try:
        pids = tmp.join("pids")
        p = subprocess.run([sys.executable, __file__, "leak-probe"], capture_output=True, text=True,
                           env=dict(os.environ, LEAK_PROBE_PIDS=pids))
        check(p.returncode == 1 and "FAIL: leak-probe" in p.stdout, f"{p.returncode}\n{p.stdout}{p.stderr}")
        with open(pids) as f:
            guarded, bare = (int(x) for x in f.read().split())
        check(f"killed dockd [{bare}]" in p.stdout, p.stdout)
        for pid in (guarded, bare):
            try:
                os.kill(pid, 0)
                raise TestFailure(f"dockd {pid} still runs after the failing case:\n{p.stdout}")
            except ProcessLookupError:
                pass
    finally:
        tmp.cleanup()


@case
def leak_probe():
    """Not a test (meson does not run it): fails on purpose with two dockd
    running, for failing_case_leaves_no_dockd."""
    tmp, tmp2 = TempDir(), TempDir()
    try:
        bare = Dockd(tmp, minimal_config(tmp), env=no_bus(tmp))
        bare.wait_ready()
        with Dockd(tmp2, minimal_config(tmp2), env=no_bus(tmp2)) as guarded:
            guarded.wait_ready()
            with open(os.environ["LEAK_PROBE_PIDS"], "w") as f:
                f.write(f"{guarded.proc.pid} {bare.proc.pid}\n")
            check(False, "failing on purpose, with dockd running")
    finally:
        tmp.cleanup()
        tmp2.cleanup()


if __name__ == "__main__":
    run_cases()
