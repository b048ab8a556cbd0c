#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Charge, test and report, the real dockd in vdock's world: for each finding a
scenario that produces exactly the expected report fields, the LED values read
back from the emulated sysfs (with blink timing), and the journal entries; a
healthy camera ends green with no report; a webhook that is down gets every
report once it is back, also across a dockd restart, never twice."""

import glob
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dockdtest import (PrivateJournal, Rig, TestFailure, case, check, in_private_mount_ns,  # noqa: E402
                       run_cases, run_in_vdock, wait_for)
from webhook import Webhook  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MALFUNCTION_REPORT = "d0c7ba40e3564698bd481874f6f050ed"
CHARGER_FAULT = "78fe16ab639f4fbf970fc17c94ab064f"
CAMERA_READY = "f88f51cea4f149349c0144a39415d5d7"


def scenario(name):
    return os.path.join(HERE, "scenarios", name)


def reports(rig):
    """Reports in central storage, oldest first."""
    files = sorted(glob.glob(os.path.join(rig.central, "reports", "test-dock", "*.json")))
    out = []
    for f in files:
        if not os.path.exists(f[:-5] + ".txt"):
            continue   # the text rendering is uploaded right after the JSON
        with open(f) as fh:
            out.append(json.load(fh))
    return out


def wait_reports(rig, n, timeout=20):
    return wait_for(lambda: reports(rig) if len(reports(rig)) >= n else None, timeout, what=f"{n} report(s) in central storage")


def led_states(truth):
    """Last state of each LED: {name: (mode, on_ms, off_ms)} from vdock's history."""
    states = {}
    for e in truth["led_history"]:
        if e["attr"] == "state":
            mode, delays = e["value"].split(" ", 1)
            on, off = (int(x) for x in delays.split("/"))
            states[e["led"]] = (mode, on, off)
    return states


def check_bay_leds(truth, bay, green, red):
    s = led_states(truth)
    g, r = s.get(f"dock:green:bay-{bay}", ("off", 0, 0)), s.get(f"dock:red:bay-{bay}", ("off", 0, 0))
    for name, got, want in (("green", g, green), ("red", r, red)):
        if want[0] == "blink":
            check(got == want, f"bay {bay} {name} LED is {got}, expected {want}")
        else:
            check(got[0] == want[0], f"bay {bay} {name} LED is {got}, expected {want[0]}")


def check_report(rep, serial, codes, severity):
    check(rep["schema"] == "dockd.malfunction-report" and rep["schema_version"] == 1, rep)
    check(rep["dock"] == "test-dock" and rep["bay"] == 1, rep)
    check(rep["camera"]["serial"] == serial, rep["camera"])
    check(rep["camera"]["model"] and rep["camera"]["firmware"], rep["camera"])
    check([f["code"] for f in rep["findings"]] == codes, f"findings {[f['code'] for f in rep['findings']]}, expected {codes}")
    check(rep["severity"] == severity, f"severity {rep['severity']}")
    for f in rep["findings"]:
        check(f["policy"]["section"] and f["policy"]["text"], f)
        check(isinstance(f["measured"], dict), f)
    return {f["code"]: f for f in rep["findings"]}


def one_camera(scen, serial, final, config=None, setup=None):
    """Run a one-bay scenario to its final bay state; returns (rig, bay, truth)."""
    world = run_in_vdock(scenario(scen))
    rig = Rig(world, config=config)
    if setup:
        setup(rig)
    rig.start()
    b = rig.wait_bay(1, final, 90)
    check(b["camera"] == serial, b)
    return rig, b, world.truth()


@case
def healthy_camera_is_ready_with_no_report():
    in_private_mount_ns()
    world = run_in_vdock(scenario("healthy.ini"), time_scale=300)
    journal = PrivateJournal()
    with Rig(world, env={"DOCKD_LOG_TARGET": "journal"}) as rig:
        try:
            rig.start()
            seen = set()
            def settled():
                b = rig.bay(1)
                if b:
                    seen.add(b["state"])
                return b if b and b["state"] in ("ready", "fault") else None
            b = wait_for(settled, 120, interval=0.1, what="bay 1 settled")
            check(b["state"] == "ready", b)
            check(b["findings"] == [] and "report" not in b, b)
            check(b["charged"], b)
            check("charging" in seen, f"never charging: {seen}")
            time.sleep(3)
            check(reports(rig) == [], "a healthy camera produced a report")
            check(not os.listdir(os.path.join(rig.state, "reports")), "a report in the outbox")
            t = world.truth()
            check_bay_leds(t, 1, ("on",), ("off",))
            # On the way: green blinking 500/500 while working, amber while charging.
            hist = [(e["led"], e["value"]) for e in t["led_history"] if e["attr"] == "state"]
            check(("dock:green:bay-1", "blink 500/500") in hist, "green never blinked 500/500 while working")
            check(("dock:red:bay-1", "on 500/500") in hist or any(l == "dock:red:bay-1" and v.startswith("on") for l, v in hist),
                  "never amber while charging")
            check(not journal.entries(MESSAGE_ID=MALFUNCTION_REPORT), "a malfunction report in the journal")
            r = wait_for(lambda: journal.entries(MESSAGE_ID=CAMERA_READY), 10, what="camera ready in the journal")
            check(r[0].get("DOCKD_CAMERA_SERIAL") == "BWC-H0001", r[0])
            # The dock LED: green, nothing queued.
            check(led_states(t).get("dock:green:status", ("off",))[0] in ("on", "blink"), led_states(t))
            rig.stop()
        finally:
            journal.stop()


def fault_case(scen, serial, codes, severity="error", final="fault", red=("on",), config=None, setup=None):
    rig, b, t = one_camera(scen, serial, final, config=config, setup=setup)
    try:
        check([f["code"] for f in b["findings"]] == codes, b["findings"])
        reps = wait_reports(rig, 1)
        check(len(reps) == 1, f"{len(reps)} reports")
        found = check_report(reps[0], serial, codes, severity)
        check(b["report"] == reps[0]["id"], b)
        text = open(glob.glob(os.path.join(rig.central, "reports", "test-dock", "*.txt"))[0]).read()
        check(serial in text and reps[0]["id"] in text, text)
        check(f"Malfunction report {os.path.basename(glob.glob(os.path.join(rig.central, 'reports', 'test-dock', '*.json'))[0])[:-5]} filed"
              in rig.dockd.log(), "no journal/log line for the report")
        t = rig.world.truth()
        if final == "fault":
            check_bay_leds(t, 1, ("off",), red)
        else:
            check_bay_leds(t, 1, ("on",), ("off",))
        return rig, found, t
    except Exception:
        rig.cleanup()
        raise


@case
def failing_battery():
    rig, f, t = fault_case("battery-failing.ini", "BWC-H0002", ["battery-health"])
    with rig:
        m = f["battery-health"]["measured"]
        check(m["health_percent"] == 55.0 and m["design_mah"] == 3000 and m["full_charge_mah"] == 1650, m)
        check(m["minimum_percent"] == 80 and m["cycle_count"] == 811, m)
        check(f["battery-health"]["policy"]["section"] == "D.1.b", f)
        rep = reports(rig)[0]
        check(rep["battery_history"] and rep["battery_history"][-1]["health_percent"] == 55.0, rep["battery_history"])
        rig.stop()


@case
def failed_self_test():
    rig, f, t = fault_case("selftest-microphone.ini", "BWC-H0003", ["self-test"])
    with rig:
        m = f["self-test"]["measured"]
        check(m["component"] == "microphone" and m["error_code"] == 0x21, m)
        check(m["detail"] == "capsule bias out of range", m)
        check(f["self-test"]["policy"]["section"] == "D.1.b(1)", f)
        rep = reports(rig)[0]
        check(rep["camera"]["officer_id"] == "2207", rep["camera"])
        rig.stop()


@case
def storage_errors():
    rig, f, t = fault_case("selftest-storage.ini", "BWC-H0004", ["storage-errors"])
    with rig:
        check(f["storage-errors"]["measured"]["component"] == "storage", f)
        rig.stop()


@case
def clock_drift_is_reported_and_camera_ready():
    rig, f, t = fault_case("clock-drift.ini", "BWC-H0005", ["clock-drift"], severity="warning", final="ready")
    with rig:
        m = f["clock-drift"]["measured"]
        check(abs(m["drift_seconds"] - 95) <= 2 and m["corrected"] is True and m["threshold_seconds"] == 1, m)
        check(f["clock-drift"]["policy"]["section"] == "C.4", f)
        rig.stop()


@case
def storage_nearly_full():
    rig, f, t = fault_case("storage-full.ini", "BWC-H0006",
                           ["delete-refused", "delete-refused", "delete-refused", "storage-nearly-full"],
                           severity="warning", final="ready")
    with rig:
        m = f["storage-nearly-full"]["measured"]
        check(m["used_percent"] >= 90 and m["capacity_bytes"] == 16 << 20, m)
        rig.stop()


@case
def missed_uploads():
    def seed(rig):
        os.makedirs(os.path.join(rig.state, "cameras"), exist_ok=True)
        with open(os.path.join(rig.state, "cameras", "BWC-H0001.json"), "w") as f:
            json.dump({"serial": "BWC-H0001", "last_docked": int(time.time()) - 10 * 86400, "battery": []}, f)
    rig, f, t = fault_case("healthy.ini", "BWC-H0001", ["missed-uploads"], severity="warning", final="ready",
                           setup=seed)
    with rig:
        m = f["missed-uploads"]["measured"]
        check(239 <= m["undocked_hours"] <= 241 and m["maximum_hours"] == 72, m)
        check(f["missed-uploads"]["policy"]["section"] == "D.5.a", f)
        rig.stop()


@case
def battery_declining_trend():
    def seed(rig):
        os.makedirs(os.path.join(rig.state, "cameras"), exist_ok=True)
        now = int(time.time())
        samples = [{"time": now - (4 - i) * 86400, "health_permille": p, "cycles": 300 + i * 20,
                    "full_mah": p * 3, "design_mah": 3000} for i, p in enumerate((950, 920, 890))]
        with open(os.path.join(rig.state, "cameras", "BWC-H0010.json"), "w") as f:
            json.dump({"serial": "BWC-H0010", "last_docked": now - 3600, "battery": samples}, f)
    rig, f, t = fault_case("declining.ini", "BWC-H0010", ["battery-declining"], severity="warning", final="ready",
                           setup=seed)
    with rig:
        m = f["battery-declining"]["measured"]
        check(m["from_percent"] == 95.0 and m["to_percent"] == 85.0 and m["dockings"] == 4, m)
        hist = reports(rig)[0]["battery_history"]
        check([h["health_percent"] for h in hist] == [95.0, 92.0, 89.0, 85.0], hist)
        rig.stop()


def charger_case(scen, serial, code):
    in_private_mount_ns()
    world = run_in_vdock(scenario(scen))
    journal = PrivateJournal()
    with Rig(world, env={"DOCKD_LOG_TARGET": "journal"}) as rig:
        try:
            rig.start()
            b = rig.wait_bay(1, "fault", 90)
            check(b["camera"] == serial, b)
            check(code in [f["code"] for f in b["findings"]], b["findings"])
            reps = wait_reports(rig, 1)
            found = {f["code"]: f for r in reps for f in r["findings"]}
            check(code in found, found)
            t = world.truth()
            written = [e["value"].strip() for e in t["charger_history"] if e["attr"] == "charge_behaviour written"]
            check(written and written[-1] == "inhibit-charge", f"charge_behaviour writes: {written}")
            e = wait_for(lambda: journal.entries(MESSAGE_ID=CHARGER_FAULT), 10, what="charger fault in the journal")
            check(e[0].get("DOCKD_BAY") == "1", e[0])
            r = journal.entries(MESSAGE_ID=MALFUNCTION_REPORT)
            check(r and r[0].get("DOCKD_REPORT_ID") == reps[0]["id"], r)
            check_bay_leds(t, 1, ("off",), ("on",))
            rig.stop()
            # The camera leaves: the charger may charge again for the next one.
            t = world.truth()
        finally:
            journal.stop()
    return found


@case
def charger_overtemperature():
    found = charger_case("overtemp.ini", "BWC-H0007", "charge-overtemperature")
    check(found["charge-overtemperature"]["measured"]["temperature_celsius"] > 45, found)


@case
def charger_fault():
    charger_case("charger-fault.ini", "BWC-H0008", "charger-fault")


@case
def battery_gauge_fault():
    rig, f, t = fault_case("gauge-fault.ini", "BWC-H0009", ["battery-fault"])
    with rig:
        rig.stop()


@case
def integrity_alert_is_a_critical_report():
    rig, b, t = one_camera("tampered.ini", "BWC-H0011", "fault")
    with rig:
        reps = wait_reports(rig, 1)
        check(len(reps) == 1, reps)
        found = check_report(reps[0], "BWC-H0011", ["integrity"], "critical")
        m = found["integrity"]["measured"]
        check(m["segment"].endswith("/000001") and "does not match the manifest" in m["reason"], m)
        check(found["integrity"]["policy"]["section"] == "F.2.d", found)
        check_bay_leds(rig.world.truth(), 1, ("off",), ("blink", 250, 250))
        rig.stop()


@case
def recording_gap_is_a_critical_report():
    world = run_in_vdock("fault-chain-gap.ini")
    with Rig(world) as rig:
        rig.start()
        rig.wait_bay(1, "fault", 60)
        reps = wait_reports(rig, 1)
        found = check_report(reps[0], "BWC-F0001", ["recording-gap"], "critical")
        m = found["recording-gap"]["measured"]
        check(m["segment"].endswith("/000002") and "missing from the chain" in m["reason"], m)
        rig.stop()


@case
def untrusted_camera_is_a_critical_report():
    world = run_in_vdock("fault-unknown-ca.ini")
    with Rig(world) as rig:
        rig.start()
        rig.wait_bay(1, "fault", 30)
        reps = wait_reports(rig, 1)
        found = {f["code"]: f for f in reps[0]["findings"]}
        check(reps[0]["severity"] == "critical" and "untrusted-camera" in found, reps[0])
        check_bay_leds(world.truth(), 1, ("off",), ("blink", 250, 250))
        rig.stop()


@case
def webhook_down_then_back():
    world = run_in_vdock(scenario("two-reports.ini"))
    hook = Webhook()
    with Rig(world, config={"report": {"webhook": hook.url}, "storage": {"retry_initial": "200ms"}}) as rig:
        try:
            rig.start()
            rig.wait_bay(1, "fault", 60)
            rig.wait_bay(2, "fault", 60)
            wait_reports(rig, 2)
            time.sleep(1)
            check(hook.received == [], "delivered while down")
            hook.start()
            wait_for(lambda: len(hook.received) >= 2, 30, what="both reports delivered")
            time.sleep(3)
            ids = hook.ids()
            check(sorted(ids) == sorted(r["id"] for r in reports(rig)), f"delivered {ids}")
            check(len(set(ids)) == len(ids), f"a report delivered twice: {ids}")
            for _, headers, body in hook.received:
                check(headers.get("Idempotency-Key") == body["id"], headers)
                check(body["schema"] == "dockd.malfunction-report", body)
            rig.stop()
        finally:
            hook.stop()


@case
def webhook_delivery_survives_restart():
    world = run_in_vdock(scenario("two-reports.ini"))
    hook = Webhook()
    with Rig(world, config={"report": {"webhook": hook.url}, "storage": {"retry_initial": "200ms"}}) as rig:
        try:
            rig.start()
            rig.wait_bay(1, "fault", 60)
            rig.wait_bay(2, "fault", 60)
            wait_reports(rig, 2)
            check(rig.dockd.stop() == 0, "exit status")
            # Down while dockd was away and when it comes back; then up.
            rig.start()
            time.sleep(2)
            check(hook.received == [], "delivered while down")
            hook.start()
            wait_for(lambda: len(hook.received) >= 2, 30, what="both reports delivered after the restart")
            time.sleep(3)
            ids = hook.ids()
            check(len(ids) == 2 and len(set(ids)) == 2, f"delivered {ids}")
            # A third start: nothing is sent again.
            rig.dockd.stop()
            rig.start()
            time.sleep(3)
            check(len(hook.received) == 2, f"sent again after a restart: {hook.ids()}")
            out = rig.status()
            p = __import__("dockdtest").dockctl("reports", "--json", env=rig.env)
            listed = json.loads(p.stdout)
            check(len(listed) == 2 and all(r["delivered"] and r["uploaded"] for r in listed), listed)
            rig.stop()
        finally:
            hook.stop()


@case
def dockctl_bays_and_reports():
    rig, f, t = fault_case("battery-failing.ini", "BWC-H0002", ["battery-health"])
    with rig:
        import dockdtest
        p = dockdtest.dockctl("bays", env=rig.env)
        check("BWC-H0002" in p.stdout and "fault" in p.stdout, p.stdout)
        # The report's files appear in central storage before dockd has read
        # them back and recorded the upload: wait for that record.
        wait_for(lambda: "in central storage" in dockdtest.dockctl("reports", env=rig.env).stdout, 60,
                 what="the report recorded as uploaded")
        p = dockdtest.dockctl("reports", env=rig.env)
        check("BWC-H0002" in p.stdout and "error" in p.stdout and "in central storage" in p.stdout, p.stdout)
        rig.stop()


if __name__ == "__main__":
    run_cases()
