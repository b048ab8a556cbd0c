#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Suite operations: dockctl's human output (issue 14, items 2 and 3), with
the real dockd in vdock's world.

status-80-columns: `dockctl status` is a short summary that fits 80 columns:
dock, storage and its health, spool, backlog, one line per bay (state,
camera, progress, finding); sizes in IEC units, no raw seconds or byte
counts; `--json` keeps the full document.
bay-detail: `dockctl bay N`: one bay in detail, times as local dates with
their age (checked in two time zones), findings; `--json` that bay's
document; a bay that does not exist is an error.
colour-only-on-terminal: colour on a terminal (tmux), none with NO_COLOR,
none into a pipe.
hostile-camera-strings: a camera's self-test detail carries terminal
escapes, BEL, a C1 CSI and a bidi override; no dockctl verb lets one reach
the terminal raw, on a pipe or in tmux.
watch-terminal: `dockctl watch` in an 80-column tmux pane, resized to 60:
on every screen each bay's line once, in order, fitted to the width, with a
progress bar that moves; Ctrl-C ends it with status 0.
watch-plain: `dockctl watch` into a pipe: plain lines, a line per change,
every bay's states in order, progress that never goes back; a dockd restart
is told and followed."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from dockdtest import DOCKCTL, Rig, case, check, run_cases, run_in_vdock, wait_for  # noqa: E402
from busops import Tmux, check_clean, raw_controls, scenario, width  # noqa: E402

IEC = r"\d+(\.\d+)? (B|KiB|MiB|GiB|TiB)"
SETTLED = ("ready", "fault", "charging")


def dockctl(rig, *args, env=None, check_rc=True):
    e = dict(os.environ, **rig.env)
    e.update({"COLUMNS": "80", "LANG": "C.UTF-8"})
    e.pop("NO_COLOR", None)
    e.update(env or {})
    p = subprocess.run([DOCKCTL] + list(args), env=e, capture_output=True, text=True, timeout=60)
    if check_rc:
        check(p.returncode == 0, f"dockctl {' '.join(args)}: {p.returncode} {p.stderr}")
    return p


def status_rig():
    world = run_in_vdock(scenario("status.ini"))
    rig = Rig(world, name="dockctl")
    rig.start()
    return world, rig


def wait_mixed(rig, officer=False):
    """Bay 1 pulling, the others settled: the picture the summary is checked on.
    officer: also wait until bay 1 names its officer, which dockd learns from
    the first segment it verified (only a signed, verified manifest names one)."""
    def mixed():
        st = rig.status()
        if not st:
            return None
        b = {x["bay"]: x for x in st["bays"]}
        if b[1]["state"] != "offloading" or b[1].get("progress", {}).get("offset", 0) == 0:
            return None
        if officer and not b[1].get("officer_id"):
            return None
        return st if all(b[n]["state"] in SETTLED for n in (2, 3, 4)) else None
    return wait_for(mixed, 120, interval=0.2, what="bay 1 offloading and bays 2-4 settled")


def bay_lines(text, n_bays):
    """{bay: [lines]} of lines that begin with a bay number (after spaces)."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"\s*(?:bay\s+)?(\d+)\s+(\w+)", line, re.I)
        if m and 1 <= int(m.group(1)) <= n_bays:
            out.setdefault(int(m.group(1)), []).append(line)
    return out


@case
def status_80_columns():
    world, rig = status_rig()
    try:
        st = wait_mixed(rig)
        text = dockctl(rig, "status").stdout
        print(text)
        problems = []
        lines = text.rstrip("\n").splitlines()
        wide = [ln for ln in lines if width(ln) > 80]
        if wide:
            problems.append(f"lines wider than 80 columns: {wide}")
        if len(lines) > 24:
            problems.append(f"{len(lines)} lines: not a short summary")
        if "\x1b" in text:
            problems.append("escape sequences in output to a pipe")
        check_clean(text, "dockctl status")
        if "test-dock" not in text:
            problems.append("the dock's name is missing")
        low = text.lower()
        if not re.search(r"storage:.*\bfile\b", low):
            problems.append("no storage line naming the backend")
        if not re.search(r"spool:.*" + IEC + r".*of.*" + IEC, text, re.I):
            problems.append("no spool line with used and quota in IEC units")
        if "backlog" not in low:
            problems.append("no backlog line")
        if re.search(r"\b1[5-9]\d{8}\b", text):
            problems.append("a raw Unix time in the output")
        if re.search(r"\b\d{7,}\b", text):
            problems.append("a raw byte count in the output")
        bays = bay_lines(text, 4)
        b = {x["bay"]: x for x in st["bays"]}
        for n in (1, 2, 3, 4):
            if len(bays.get(n, [])) != 1:
                problems.append(f"bay {n}: {len(bays.get(n, []))} lines, expected one: {bays.get(n)}")
        if 1 in bays:
            ln = bays[1][0]
            if "BWC-OP0401" not in ln or "offloading" not in ln or not re.search(r"\d+%", ln) \
                    or not re.search(IEC, ln):
                problems.append(f"bay 1 line lacks camera, state, percentage or size: {ln!r}")
        if 3 in bays:
            ln = bays[3][0]
            if "BWC-OP0403" not in ln or b[3]["state"] not in ln or "battery" not in ln.lower():
                problems.append(f"bay 3 line lacks its camera, state or finding: {ln!r}")
        if 2 in bays and ("BWC-OP0402" not in bays[2][0] or b[2]["state"] not in bays[2][0]):
            problems.append(f"bay 2 line: {bays[2][0]!r}")
        full = json.loads(dockctl(rig, "status", "--json").stdout)
        if full.get("dock") != "test-dock" or len(full.get("bays", [])) != 4 \
                or not isinstance(full["bays"][0].get("docked_at"), int):
            problems.append(f"--json is not the full document: {str(full)[:300]}")
        check(not problems, "\n".join(problems))
        rig.stop()
    finally:
        rig.cleanup()


def local_time(t, tz):
    """strftime of Unix time t in time zone tz."""
    p = subprocess.run([sys.executable, "-c", f"import time; print(time.strftime('%Y-%m-%d %H:%M:%S', "
                                              f"time.localtime({t})))"],
                       env=dict(os.environ, TZ=tz), capture_output=True, text=True, check=True)
    return p.stdout.strip()


@case
def bay_detail():
    world, rig = status_rig()
    try:
        st = wait_mixed(rig, officer=True)
        b = {x["bay"]: x for x in st["bays"]}
        problems = []
        for tz in ("America/Chicago", "Asia/Kolkata"):
            text = dockctl(rig, "bay", "1", env={"TZ": tz}).stdout
            when = local_time(b[1]["docked_at"], tz)
            if when not in text or "ago" not in text:
                problems.append(f"TZ={tz}: docking time {when} (local) and its age not shown:\n{text}")
        text = dockctl(rig, "bay", "1").stdout
        print(text)
        for needle in ("BWC-OP0401", "Sentinel V3", "3.2.1", "4711", "offloading"):
            if needle not in text:
                problems.append(f"bay 1 detail lacks {needle!r}")
        if not re.search(r"\d+%", text) or not re.search(IEC + r".*of.*" + IEC, text):
            problems.append("bay 1 detail lacks its progress (percentage, sizes in IEC units)")
        if re.search(r"\b\d{7,}\b", text):
            problems.append("a raw number (seconds or bytes) in bay 1's detail")
        if any(width(ln) > 80 for ln in text.splitlines()):
            problems.append(f"bay 1 detail wider than 80 columns:\n{text}")
        text = dockctl(rig, "bay", "3").stdout
        for f in b[3]["findings"]:
            if f["code"] not in text or f["severity"] not in text:
                problems.append(f"bay 3 detail lacks finding {f['code']} ({f['severity']}):\n{text}")
        if b[3].get("report") and b[3]["report"] not in text:
            problems.append("bay 3 detail lacks its report id")
        one = json.loads(dockctl(rig, "bay", "3", "--json").stdout)
        if one.get("bay") != 3 or one.get("camera") != "BWC-OP0403" or one.get("findings") != b[3]["findings"]:
            problems.append(f"dockctl bay 3 --json is not bay 3's document: {one}")
        for bad in ("9", "0", "x"):
            p = dockctl(rig, "bay", bad, check_rc=False)
            if p.returncode == 0 or not p.stderr.strip():
                problems.append(f"dockctl bay {bad}: rc {p.returncode}, stderr {p.stderr!r}")
        check(not problems, "\n".join(problems))
        rig.stop()
    finally:
        rig.cleanup()


@case
def colour_only_on_terminal():
    world, rig = status_rig()
    tmuxes = []
    try:
        wait_mixed(rig)
        problems = []
        for env, want in (({}, True), ({"NO_COLOR": "1"}, False)):
            t = Tmux(rig.tmp, [DOCKCTL, "status"], dict(rig.env, **env), cols=80, rows=40)
            tmuxes.append(t)
            t.exit_status()
            screen = t.screen(escapes=True)
            has = bool(re.search(r"\x1b\[[0-9;]*m", screen))
            if has != want:
                problems.append(f"dockctl status on a terminal with {env or 'colour allowed'}: "
                                f"{'colour' if has else 'no colour'}:\n{screen!r}")
        if "\x1b" in dockctl(rig, "status").stdout:
            problems.append("colour into a pipe")
        check(not problems, "\n".join(problems))
        rig.stop()
    finally:
        for t in tmuxes:
            t.kill()
        rig.cleanup()


HOSTILE = ("\x1b", "\x07", "\u009b", "\u202e")
# How dockctl may show each of them escaped.
ESCAPED = {"\x1b": ("\\x1b", "\\e"), "\x07": ("\\x07", "\\a"), "\u009b": ("\\u009b", "\\xc2\\x9b"),
           "\u202e": ("\\u202e", "\\u202E")}


@case
def hostile_camera_strings():
    world, rig = status_rig()
    tmuxes = []
    try:
        wait_mixed(rig)
        st = rig.status()
        raw = json.dumps(st, ensure_ascii=False)
        carried = [h for h in HOSTILE if h in raw]
        print(f"the daemon's status carries {[hex(ord(h)) for h in carried]} of the camera's hostile characters")
        problems = []
        outputs = {}
        for args in (["status"], ["bay", "4"], ["bays"], ["reports"]):
            p = dockctl(rig, *args)
            outputs[" ".join(args)] = p.stdout + p.stderr
        w = subprocess.Popen([DOCKCTL, "watch"], env=dict(os.environ, **rig.env), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        try:
            out = wait_for(lambda: _read_available(w, 4), 30, what="dockctl watch's first lines")
        finally:
            w.send_signal(signal.SIGTERM)
            rest, _ = w.communicate(timeout=30)
        outputs["watch"] = out + rest
        for what, text in outputs.items():
            bad = raw_controls(text)
            if bad:
                problems.append(f"dockctl {what}: raw {[hex(ord(c)) for _, c in bad[:6]]} reaches the output")
        # What the daemon passes on must be shown, escaped, not dropped silently
        # (the daemon itself drops some of them where the string enters it).
        for h in carried:
            if not any(e in t for t in outputs.values() for e in ESCAPED[h]):
                problems.append(f"the camera's {hex(ord(h))} is not shown escaped anywhere")
        for args in (["status"], ["bay", "4"]):
            t = Tmux(rig.tmp, [DOCKCTL] + args, rig.env, cols=80, rows=40)
            tmuxes.append(t)
            t.exit_status()
            screen = t.screen(escapes=True)
            bad = raw_controls(screen, terminal=True)
            if bad:
                problems.append(f"dockctl {' '.join(args)} in a terminal: raw {[hex(ord(c)) for _, c in bad[:6]]}")
            if "BWC-OP0404" not in t.screen():
                problems.append(f"dockctl {' '.join(args)} in a terminal: the screen lost bay 4:\n{t.screen()}")
        check(not problems, "\n".join(problems))
        rig.stop()
    finally:
        for t in tmuxes:
            t.kill()
        rig.cleanup()


def _read_available(proc, n_lines):
    """Lines proc printed so far, once there are n_lines (reads in a thread)."""
    if not hasattr(proc, "_lines"):
        proc._lines = []

        def reader():
            for line in proc.stdout:
                proc._lines.append(line)
        threading.Thread(target=reader, daemon=True).start()
    return "".join(proc._lines) if len(proc._lines) >= n_lines else None


def check_watch_screen(screen, cols):
    """The live view on one screen: each bay's line once, in order, none wider
    than the terminal. Returns {bay: line} or None if not drawn yet."""
    rows = screen.split("\n")
    bays = [(int(m.group(1)), r) for r in rows for m in [re.match(r"\s*(?:bay\s+)?(\d)\s", r, re.I)] if m]
    if not bays:
        return None
    nums = [n for n, _ in bays]
    check(nums == [1, 2, 3, 4], f"the live view at {cols} columns is garbled:\n{screen}")
    wide = [r for r in rows if width(r) > cols]
    check(not wide, f"lines wider than {cols} columns: {wide}\n{screen}")
    return dict(bays)


@case
def watch_terminal():
    world = run_in_vdock(scenario("watch.ini"))
    rig = Rig(world, name="watch")
    t = None
    try:
        rig.start()
        t = Tmux(rig.tmp, [DOCKCTL, "watch"], rig.env, cols=80, rows=24)
        seen = {80: 0, 60: 0}
        percents, bars = [], 0
        deadline = time.monotonic() + 180
        while True:
            check(time.monotonic() < deadline, "the bays did not settle in the live view")
            check(not t.done(), f"dockctl watch exited:\n{t.screen()}")
            view = check_watch_screen(t.screen(), t.cols)
            if view:
                seen[t.cols] += 1
                m = re.search(r"(\d+)%", view[1])
                if m and "offloading" in view[1]:
                    percents.append(int(m.group(1)))
                if re.search(r"\[[#=█▉▊▋▌▍▎▏ .·░-]{4,}\]|[█░]{4,}|[#]{2,}[-. ]{2,}", view[1] + view[2]):
                    bars += 1
                settled = all(any(s in view[n] for s in SETTLED) for n in (1, 2, 3, 4))
                if settled and t.cols == 80 and seen[80] >= 5:
                    t.resize(60)
                    time.sleep(0.3)
                elif settled and t.cols == 60 and seen[60] >= 3:
                    break
            time.sleep(0.2)
        problems = []
        if bars < 2:
            problems.append("no progress bar seen while offloading")
        if len(set(percents)) < 2 or percents != sorted(percents):
            problems.append(f"bay 1's percentage on screen: {percents}")
        t.keys("C-c")
        rc = t.exit_status()
        if rc != 0:
            problems.append(f"dockctl watch ended with {rc} on Ctrl-C")
        print(f"live view checked on {seen[80]} screens at 80 columns, {seen[60]} at 60; bay 1 at {percents}")
        check(not problems, "\n".join(problems))
        rig.stop()
    finally:
        if t:
            t.kill()
        rig.cleanup()


@case
def watch_plain():
    world = run_in_vdock(scenario("watch.ini"))
    rig = Rig(world, name="watch-plain")
    w = None
    try:
        rig.start()
        w = subprocess.Popen([DOCKCTL, "watch"], env=dict(os.environ, **rig.env), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(w.stdout), daemon=True)
        reader.start()
        for n in (1, 2, 3, 4):
            rig.wait_bay(n, SETTLED, 180)
        time.sleep(1)   # dockd signals progress at most 500 ms late
        # A restart: told, and followed.
        check(rig.dockd.stop() == 0, "dockd did not exit 0")
        wait_for(lambda: any("dockd" in ln.lower() and ("stopped" in ln.lower() or "not running" in ln.lower())
                             for ln in list(lines)), 20, what="watch telling that dockd stopped")
        n_before = len(lines)
        rig.start()
        wait_for(lambda: set(re.findall(r"\bbay (\d+): ", "".join(lines[n_before:]))) == {"1", "2", "3", "4"}, 30,
                 what="watch showing every bay again after dockd came back")
        # The restarted dockd docks its cameras anew: the last state shown is
        # checked once they settled again, not while they are identified.
        for n in (1, 2, 3, 4):
            rig.wait_bay(n, SETTLED, 180)
        time.sleep(1)   # dockd signals progress at most 500 ms late
        w.send_signal(signal.SIGTERM)
        w.wait(30)
        reader.join(10)
        text = "".join(lines)
        print(text[-4000:])
        problems = []
        if w.returncode != 0:
            problems.append(f"dockctl watch exited {w.returncode} on SIGTERM: {w.stderr.read()}")
        check_clean(text, "dockctl watch into a pipe")
        if "\x1b" in text:
            problems.append("escape sequences in watch's plain output")
        states, pct = {}, {}
        for ln in text.splitlines():
            m = re.search(r"\bbay (\d+): (\w+)", ln)
            if not m:
                continue
            n, state = int(m.group(1)), m.group(2)
            if not states.get(n) or states[n][-1] != state:
                states.setdefault(n, []).append(state)
            p = re.search(r"(\d+)%", ln)
            if p and state == "offloading":
                pct.setdefault(n, []).append(int(p.group(1)))
        for n in (1, 2, 4):
            if "offloading" not in states.get(n, []):
                problems.append(f"bay {n}: states shown {states.get(n)}, no offloading")
        for n in (1, 2, 3, 4):
            if not states.get(n) or states[n][-1] not in SETTLED:
                problems.append(f"bay {n}: states shown {states.get(n)}")
        for n, ps in pct.items():
            if ps != sorted(ps):
                problems.append(f"bay {n}: progress went back: {ps}")
        if not pct:
            problems.append("no progress line in watch's output")
        stamps = [ln for ln in text.splitlines() if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", ln)]
        if len(stamps) < len([ln for ln in text.splitlines() if re.search(r"\bbay \d+: ", ln)]):
            problems.append("bay lines without a local date and time")
        check(not problems, "\n".join(problems))
        rig.stop()
    finally:
        if w and w.poll() is None:
            w.kill()
        rig.cleanup()


if __name__ == "__main__":
    run_cases()
