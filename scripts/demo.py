#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The dockd demo, run by scripts/demo inside vdock's simulated dock: the real
dockd offloads, tests and charges four body-worn cameras that sign and one that
does not (Debian's unmodified umtprd serving a folder, allow-listed and sealed
by the dock), writing to a local folder (the embedded `file` backend), with live
per-bay progress and a summary a user can check by hand.

`demo.py --prepare DIR` (before vdock starts) writes DIR/demo.ini, vdock's demo
scenario plus the camera that does not sign, and the folder it serves.

Exit status 0 when the dock behaved correctly: every segment in central storage
with its manifest and signature; the tampered segment quarantined and its
recording kept on the camera; everything else deleted from the cameras; the
camera with the worn battery and the failed microphone reported and not issued;
every recording of the camera that does not sign sealed by the dock (its
manifest signed with the dock's key, verifying against the dock's certificate),
byte for byte, and deleted from it only then; the healthy cameras ready."""

import glob
import hashlib
import json
import os
import re
import shutil
import signal
import sys
import time
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import dockdtest  # noqa: E402
from dockdtest import (PrivateBus, TempDir, World, check_offloaded, cms_verify, sha256_file,  # noqa: E402
                       write_config, Dockd, TestFailure)

OUT = os.environ.get("DEMO_DIR")
TTY = sys.stdout.isatty()
FINAL = ("ready", "fault")

# The camera that does not sign: what its folder holds (path: size), which of
# it are recordings ([generic.android] recordings=), and its allow-list entry.
GENERIC = "AND-0005"
GENERIC_FILES = {"DCIM/100ANDRO/VID_20261122_010000.mp4": 24 << 20,
                 "DCIM/100ANDRO/VID_20261122_013000.mp4": (9 << 20) + 4321,
                 "DCIM/100ANDRO/.thumbnails/VID_20261122_010000.jpg": 18_000}
GENERIC_SECTION = {"usb_id": "1d6b:0100", "serials": GENERIC, "recordings": "DCIM/**/*.mp4",
                   "delete_after_confirm": "yes"}


def prepare(out):
    """DIR/demo.ini and the folder DIR/android-camera its umtprd serves, with
    DIR/android-camera.json: the SHA-256 of each file, kept for the summary
    (the files leave the camera once central storage holds them)."""
    folder = os.path.join(out, "android-camera")
    hashes = {}
    for rel, size in GENERIC_FILES.items():
        path = os.path.join(folder, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = os.urandom(size)
        with open(path, "wb") as f:
            f.write(data)
        hashes[rel] = hashlib.sha256(data).hexdigest()
    with open(os.path.join(out, "android-camera.json"), "w") as f:
        json.dump(hashes, f, indent=1)
    with open(os.path.join(HERE, "..", "tests", "vdock", "scenarios", "demo.ini")) as f:
        scen = f.read()
    scen = re.sub(r"(?m)^bays = 4$", "bays = 5", scen, count=1)
    scen = scen.replace("[timeline]", f"[camera {GENERIC}]\nresponder = umtprd\numtprd_dir = {folder}\n"
                        f"manufacturer = Acme\nmodel = Android Body Cam\nusb_id = {GENERIC_SECTION['usb_id']}\n"
                        f"bay = 5\n\n[timeline]")
    with open(os.path.join(out, "demo.ini"), "w") as f:
        f.write(scen)


def human(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def columns():
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except OSError:
        return 80


def cells(ch):
    """Terminal columns taken by ch."""
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def fit(line, width):
    """line cut to at most width (>= 4) columns, so that the terminal never wraps
    it; control characters are shown as '?'."""
    line = "".join("?" if unicodedata.category(ch)[0] == "C" else ch for ch in line)
    if sum(map(cells, line)) <= width:
        return line
    out, used = [], 0
    for ch in line:
        if used + cells(ch) > width - 3:
            break
        out.append(ch)
        used += cells(ch)
    return "".join(out) + "..."


def bar(frac, width=24):
    frac = max(0.0, min(1.0, frac))
    full = int(frac * width)
    return "[" + "#" * full + "-" * (width - full) + "]"


class Display:
    """The live view: one line per bay and one for central storage, redrawn in
    place on a terminal (each line fitted to its width, so that moving the cursor
    up by the number of lines lands on the first; after a resize, which may have
    rewrapped what is on the screen, the screen is cleared and drawn again), and
    plain lines, printed as bays change, otherwise."""

    def __init__(self, title):
        self.title = title
        self.lines = 0
        self.resized = False
        self.last_plain = {}
        self.prev_bytes = {}
        self.rates = {}
        print(title + "\n")
        if TTY:
            signal.signal(signal.SIGWINCH, self.on_resize)

    def on_resize(self, signum, frame):
        self.resized = True

    def bay_line(self, b, now):
        n = b["bay"]
        state = b["state"]
        cam = b.get("camera", "-")
        p = b.get("progress", {})
        done_bytes = p.get("bytes_pulled", b.get("summary", {}).get("bytes_pulled", 0))
        t0, b0 = self.prev_bytes.get(n, (now, done_bytes))
        if now - t0 >= 1.0:
            self.rates[n] = (done_bytes - b0) / (now - t0)
            self.prev_bytes[n] = (now, done_bytes)
        elif n not in self.prev_bytes:
            self.prev_bytes[n] = (now, done_bytes)
        rate = self.rates.get(n, 0.0)
        if state == "offloading" and p.get("segment"):
            frac = p["offset"] / p["size"] if p.get("size") else 0
            detail = (f"{bar(frac)} seg {p['segments_done'] + 1}/{p['segments_total']} "
                      f"{human(done_bytes)} {human(rate)}/s")
        elif state == "offloading" and p.get("waiting_for_storage"):
            detail = f"pulled {human(done_bytes)}; waiting for central storage to confirm"
        elif state == "fault":
            detail = b.get("fault", "")
        elif state == "ready":
            s = b.get("summary", {})
            detail = f"offloaded {s.get('pulled', 0)} segment(s), {human(s.get('bytes_pulled', 0))}, charged, tested: take this camera"
        elif state == "charging":
            s = b.get("summary", {})
            detail = f"offloaded {s.get('pulled', 0)} segment(s), {human(s.get('bytes_pulled', 0))}; charging"
        elif state == "testing":
            detail = "self-test and battery check"
        else:
            detail = ""
        return f"bay {n}  {state:<11} {cam:<10} {detail}"

    def show(self, status, now):
        lines = [self.bay_line(b, now) for b in status["bays"]]
        st = status.get("storage", {})
        lines.append(f"central storage: {st.get('queued', 0)} upload(s) queued, "
                     f"{human(st.get('bytes_confirmed', 0))} confirmed"
                     + (", FAILING" if st.get("failing") else ""))
        if TTY:
            self.redraw(lines)
        else:
            for b, l in zip(status["bays"], lines):
                key = (b["state"], b.get("camera"), (b.get("progress") or {}).get("segments_done"),
                       b.get("fault"))
                if self.last_plain.get(b["bay"]) != key:
                    self.last_plain[b["bay"]] = key
                    print(l)
        sys.stdout.flush()

    def redraw(self, lines):
        # One column spare: a line filling the last column leaves some terminals
        # waiting to wrap, and the newline after it would then skip a row.
        width = max(columns() - 1, 10)
        out = []
        if self.resized:
            self.resized = False
            out.append("\x1b[H\x1b[2J" + self.title + "\n\n")
        elif self.lines:
            out.append(f"\x1b[{self.lines}F")
        out += ["\x1b[2K" + fit(line, width) + "\n" for line in lines]
        self.lines = len(lines)
        sys.stdout.write("".join(out))

    def close(self):
        if TTY:
            signal.signal(signal.SIGWINCH, signal.SIG_DFL)


def main():
    world = World()
    central = os.path.join(OUT, "central")
    state = os.path.join(OUT, "state")
    tmp = TempDir(prefix="dockd-demo-")
    bus = PrivateBus(tmp)
    shutil.copy(world.ca, os.path.join(OUT, "ca.pem"))
    conf = write_config(os.path.join(OUT, "dockd.conf"), {
        "dock": {"name": "demo-dock", "state_dir": state, "bays": str(world.bays),
                 "trust_anchors": os.path.join(OUT, "ca.pem")},
        "file": {"path": central},
        "storage": {"custody_interval": "2s"},
        f"generic.android": GENERIC_SECTION,
        # Prometheus' textfile collector format, rewritten every 2 s (README: Metrics).
        "metrics": {"textfile": os.path.join(OUT, "dockd.prom"), "interval": "2s"},
    })
    disp = Display(f"dockd demo: {world.bays} bays, central storage (file backend) in {central}")
    d = Dockd(tmp, conf, env=bus.env(), log_level="info")
    os.environ.update(bus.env())
    start = time.monotonic()
    status = None
    try:
        d.wait_ready()
        while True:
            if d.proc.poll() is not None:
                raise TestFailure("dockd exited unexpectedly:\n" + d.log()[-3000:])
            p = dockdtest.dockctl("status", "--json", check_rc=False)
            if p.returncode == 0:
                status = json.loads(p.stdout)
                now = time.monotonic()
                disp.show(status, now)
                docked = [b for b in status["bays"] if b["state"] != "empty"]
                done = len(docked) == world.bays and all(b["state"] in FINAL for b in docked)
                if done and status["storage"]["queued"] == 0:
                    break
                if now - start > 600:
                    raise TestFailure("the demo did not finish in 10 minutes")
            time.sleep(0.25)
        elapsed = time.monotonic() - start
        time.sleep(2.5)   # one more custody upload round
        truth = world.truth()
        with open(os.path.join(OUT, "ground-truth.json"), "w") as f:
            json.dump(truth, f, indent=1)
        # Prove central storage holds everything deleted from the cameras.
        p = dockdtest.dockctl("reconcile", "--json", check_rc=False)
        reconciled = json.loads(p.stdout) if p.stdout.strip() else {"error": p.stderr.strip() or "no answer"}
        time.sleep(2.5)   # the metrics file catches up with the reconciliation
    finally:
        disp.close()
        d.stop()
        with open(os.path.join(OUT, "dockd.log"), "w") as f:
            f.write(d.log())
        bus.stop()
        tmp.cleanup()
    return summary(status, truth, elapsed, central, state, reconciled)


def reconciliation_lines(res):
    """The summary's lines about the reconciliation, and whether it found everything."""
    if res.get("error"):
        return [f"  reconciliation:      could not finish: {res['error']}"], False
    missing = sum(res["problems"].values())
    lines = [f"  reconciled:          {res['objects']} objects ({res['segments']} segments deleted from cameras) "
             f"in {res['duration_seconds']:.1f} s against the custody log: "
             + ("none missing, none altered" if missing == 0 else f"{missing} MISSING OR ALTERED")]
    for f in res["findings"]:
        lines.append(f"    {f['kind']}: {f['key']}")
    return lines, missing == 0


def sealed_by_dock(central, state):
    """What central storage holds of the camera that does not sign: (summary
    lines, whether every recording is there byte for byte, sealed by the dock
    and verifying against its certificate, and gone from the camera while the
    other files stayed, and a sealed segment's base path for the recipe)."""
    cert = os.path.join(state, "custody", "dock-cert.pem")
    with open(os.path.join(OUT, "android-camera.json")) as f:
        hashes = json.load(f)
    wanted = {rel: h for rel, h in hashes.items() if rel.endswith(".mp4")}
    stored, problems, base = {}, [], None
    for mp4 in sorted(glob.glob(os.path.join(central, "evidence", GENERIC, "*", "*.mp4"))):
        b = mp4[:-4]
        good, err = cms_verify(b + ".p7s", b + ".man", cert)
        with open(b + ".man") as f:
            man = f.read()
        h = sha256_file(mp4)
        if not good:
            problems.append(f"{b}.p7s does not verify against the dock's certificate: {err}")
        if f"sha256={h}" not in man or "sealed_by=" not in man:
            problems.append(f"{b}.man is not a dock's seal of these bytes")
        stored[h] = b
        base = base or b
    for rel, h in wanted.items():
        if h not in stored:
            problems.append(f"{GENERIC} {rel}: not in central storage byte for byte")
        if os.path.exists(os.path.join(OUT, "android-camera", rel)):
            problems.append(f"{GENERIC} {rel}: still on the camera although central storage holds it")
    for rel in set(hashes) - set(wanted):
        if not os.path.exists(os.path.join(OUT, "android-camera", rel)):
            problems.append(f"{GENERIC} {rel}: not a recording, but deleted from the camera")
    size = sum(GENERIC_FILES[rel] for rel in wanted)
    lines = [f"  sealed by the dock:  {len(stored)} recordings, {human(size)}, from {GENERIC} (a camera that does "
             "not sign):", "    SHA-256 taken as the dock copied them, manifests signed with the dock's key"]
    lines += [f"    PROBLEM: {p}" for p in problems]
    return lines, not problems and base is not None, base


def summary(status, truth, elapsed, central, state, reconciled):
    class R:   # the bits of Rig that check_offloaded needs
        pass
    rig = R()
    rig.world = World()
    rig.central = central
    rig.object_path = lambda area, s, r, i, e: os.path.join(central, area, s, r, f"{i:06d}.{e}")
    rig.object_file = rig.object_path   # the file backend: the object is the file

    quarantined, reasons = set(), []
    for top, _, files in os.walk(os.path.join(central, "quarantine")):
        for f in files:
            if f.endswith(".mp4"):
                rel = os.path.relpath(os.path.join(top, f), os.path.join(central, "quarantine")).split("/")
                quarantined.add((rel[0], rel[1], int(rel[2][:6])))
    custody_dir = os.path.join(state, "custody")
    sealed = os.path.join(custody_dir, "sealed")
    files = [os.path.join(sealed, f) for f in sorted(os.listdir(sealed)) if f.endswith(".jsonl")] \
        if os.path.isdir(sealed) else []
    files.append(os.path.join(custody_dir, "current.jsonl"))
    for path in files:
        for line in open(path):
            r = json.loads(line)
            if r["event"] == "quarantined":
                reasons.append((r["camera"], r["segment"], r["reason"]))

    segs = [(c, s) for c, s in World.segments(None, truth)]
    signing = [c for c in truth["cameras"] if c["responder"] != "umtprd"]
    total_bytes = sum(s["files"]["mp4"]["size"] for _, s in segs)
    verified = len(segs) - len(quarantined)
    print(f"\nSummary ({elapsed:.1f} s)")
    print(f"  segments offloaded:  {len(segs)} from {len(signing)} cameras that sign, {human(total_bytes)}, "
          f"{human(total_bytes / elapsed)}/s overall")
    print(f"  verified:            {verified} (SHA-256, camera signature, hash chain)")
    sealed_lines, sealed_ok, sealed_base = sealed_by_dock(central, state)
    for line in sealed_lines:
        print(line)
    print(f"  quarantined:         {len(quarantined)}")
    for cam, seg, why in reasons:
        print(f"    {cam} {seg}: {why}")
    for b in status["bays"]:
        if b["state"] == "fault":
            print(f"  bay {b['bay']} ({b.get('camera')}): FAULT: {b.get('fault')}")
    reps = []
    for f in sorted(glob.glob(os.path.join(central, "reports", "demo-dock", "*.json"))):
        with open(f) as fh:
            reps.append((f, json.load(fh)))
    print(f"  malfunction reports: {len(reps)}")
    for f, r in reps:
        print(f"    {r['camera']['serial']} (bay {r['bay']}), {r['severity']}: {f[:-5]}.txt")
        for x in r["findings"]:
            print(f"      - {x['severity']} {x['code']}: {x['summary']}")
    print(f"  evidence:            {os.path.join(central, 'evidence')}")
    print(f"  quarantine:          {os.path.join(central, 'quarantine')}")
    print(f"  custody logs:        {custody_dir} (and {os.path.join(central, 'custody')})")
    print(f"  dockd's log:         {os.path.join(OUT, 'dockd.log')}")
    print(f"  metrics:             {os.path.join(OUT, 'dockd.prom')} (Prometheus text format)")
    lines, reconciled_ok = reconciliation_lines(reconciled)
    for line in lines:
        print(line)

    ok = reconciled_ok and sealed_ok
    if not sealed_ok:
        print(f"\nPROBLEM: the recordings of {GENERIC}, which does not sign, are not all sealed by the dock")
    if not reconciled_ok:
        print("\nPROBLEM: the reconciliation did not find every object deleted from the cameras")
    try:
        check_offloaded(rig, truth, quarantined=quarantined)
    except TestFailure as e:
        ok = False
        print(f"\nPROBLEM: {e}")
    tampered = {(c["serial"], s["recording_id"], s["index"]) for c, s in segs if s["faults"].get("corrupt_offset") is not None}
    if tampered != quarantined:
        ok = False
        print(f"\nPROBLEM: tampered segments {sorted(tampered)} but quarantined {sorted(quarantined)}")
    # Health: a camera is ready exactly when nothing must stop it being issued.
    codes = {}
    for _, r in reps:
        for x in r["findings"]:
            codes.setdefault(r["camera"]["serial"], {})[x["code"]] = x["severity"]
    for cam in truth["cameras"]:
        serial = cam["serial"]
        bay = next(b for b in status["bays"] if b.get("camera") == serial)
        serious = any(sev in ("error", "critical") for sev in codes.get(serial, {}).values())
        want = "fault" if serious else "ready"
        if bay["state"] != want:
            ok = False
            print(f"\nPROBLEM: bay {bay['bay']} ({serial}) is {bay['state']}, its findings say {want}")
        if cam["responder"] == "umtprd":
            continue   # no battery or self-test of vdock's making: umtprd answers for itself
        if cam["battery"]["health_pct"] < 80 and "battery-health" not in codes.get(serial, {}):
            ok = False
            print(f"\nPROBLEM: {serial}'s worn battery was not reported")
        failed = [n for n, c in cam["selftest"]["components"].items() if c["result"] == "fail"]
        if failed and "self-test" not in codes.get(serial, {}):
            ok = False
            print(f"\nPROBLEM: {serial}'s failed self-test ({failed}) was not reported")

    # One segment anyone can check with stock tools.
    cam, seg = next((c, s) for c, s in segs if (c["serial"], s["recording_id"], s["index"]) not in quarantined
                    and (c["serial"], s["recording_id"]) not in {(q[0], q[1]) for q in quarantined})
    base = os.path.join(central, "evidence", cam["serial"], seg["recording_id"], f"{seg['index']:06d}")
    good, _ = cms_verify(base + ".p7s", base + ".man", os.path.join(OUT, "ca.pem"))
    ok = ok and good and sha256_file(base + ".mp4") == seg["files"]["mp4"]["sha256"]
    if sealed_base:
        cert = os.path.join(state, "custody", "dock-cert.pem")
        print(f"\nVerify a recording the dock sealed ({GENERIC} does not sign):")
        print(f"  openssl cms -verify -binary -inform DER -in {sealed_base}.p7s -content {sealed_base}.man \\\n"
              f"      -CAfile {cert} -purpose any -out /dev/null")
        print(f"  sha256sum {sealed_base}.mp4; grep -E 'sha256=|sealed_by=' {sealed_base}.man")
    print("\nVerify one segment yourself:")
    print(f"  openssl cms -verify -binary -inform DER -in {base}.p7s -content {base}.man \\\n"
          f"      -CAfile {os.path.join(OUT, 'ca.pem')} -purpose any -out /dev/null")
    print(f"  sha256sum {base}.mp4; grep sha256= {base}.man")
    print(f"  {dockdtest.DOCKD} --verify-custody {custody_dir} \\\n"
          f"      --custody-key {custody_dir}/dock-key.pub.pem")
    print(f"\n{'The dock behaved correctly.' if ok else 'The dock did NOT behave as expected.'}")
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--prepare"]:
        prepare(sys.argv[2])
        sys.exit(0)
    sys.exit(main())
