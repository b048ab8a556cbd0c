#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The README's main-job command, as scripts/demo runs it (vdock's demo
scenario, dockd, the summary and its own checks), on the test build: it must
end "The dock behaved correctly." with status 0, and the commands it prints to
check a segment by hand must work as printed (case plain, output to a pipe). It
leaves dockd's metrics in its output directory (promtool accepts them) and ends
with a reconciliation whose count matches the segments deleted from the
cameras, none missing.

Case live-view: the same in a terminal, an 80-column tmux pane, resized to 60
columns half-way: on every screen the live view shows each bay's line once,
fitted to the width (a line wider than the terminal would wrap, and the redraw
would then leave stale copies behind)."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

SRC = os.environ["DOCKD_SOURCE_DIR"]
BUILD = os.environ["DOCKD_BUILD_DIR"]


BAYS = 5


def demo_command(out):
    """The demo's vdock command, its scenario and camera folder made in out first."""
    subprocess.run([sys.executable, os.path.join(SRC, "scripts", "demo.py"), "--prepare", out], check=True)
    return [os.path.join(BUILD, "tests", "vdock", "vdock"),
            "--scenario", os.path.join(out, "demo.ini"),
            "--pki-dir", os.path.join(out, "pki"),
            "--ground-truth", os.path.join(out, "ground-truth-final.json"),
            "--time-scale", "600", "--",
            sys.executable, os.path.join(SRC, "scripts", "demo.py")]


def run_recipe(recipe, n, what):
    """A printed hand-check recipe: its continuation lines joined, exactly n
    commands, each run as printed and succeeding. Returns the commands."""
    recipe = re.sub(r"\\\n\s*", "", recipe)
    cmds = [line.strip() for line in recipe.splitlines() if line.strip()]
    if len(cmds) != n:
        sys.exit(f"expected {n} {what}, found {cmds}")
    for cmd in cmds:
        r = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        print(f"$ {cmd}\n{r.stdout}")
        if r.returncode != 0:
            sys.exit(f"the printed command failed ({r.returncode}): {cmd}")
    return cmds


def plain():
    with tempfile.TemporaryDirectory(prefix="dockd-test-demo-") as out:
        env = dict(os.environ, DEMO_DIR=out, PYTHONDONTWRITEBYTECODE="1")
        p = subprocess.run(demo_command(out),
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
        print(p.stdout[-6000:])
        if p.returncode != 0 or "The dock behaved correctly." not in p.stdout:
            sys.exit(f"the demo exited {p.returncode}")
        recipe = p.stdout.split("Verify one segment yourself:", 1)[1].split("The dock behaved", 1)[0]
        cmds = run_recipe(recipe, 3, "hand-check commands")
        sha_lines = subprocess.run(cmds[1], shell=True, capture_output=True, text=True).stdout.split()
        actual, claimed = sha_lines[0], sha_lines[-1].split("=", 1)[1]
        if actual != claimed:
            sys.exit(f"sha256sum says {actual}, the manifest says {claimed}")
        check_sealed(p.stdout)
        check_metrics_and_reconciliation(out, p.stdout)


def check_sealed(stdout):
    """The camera that does not sign: the summary says its recordings were
    sealed by the dock, and the two commands it prints to check one by hand
    work: the seal verifies against the dock's certificate, and the video's
    SHA-256 is the one the dock sealed."""
    m = re.search(r"sealed by the dock:\s+(\d+) recordings", stdout)
    if not m or int(m.group(1)) != 2:
        sys.exit("the summary does not say that the 2 recordings of the camera that does not sign were sealed "
                 "by the dock")
    recipe = stdout.split("Verify a recording the dock sealed", 1)[1].split(":", 1)[1]
    cmds = run_recipe(recipe.split("Verify one segment yourself:", 1)[0], 2,
                      "hand-check commands for the sealed recording")
    out = subprocess.run(cmds[1], shell=True, capture_output=True, text=True).stdout.split()
    claimed = [w.split("=", 1)[1] for w in out if w.startswith("sha256=")]
    if not any(w.startswith("sealed_by=") for w in out) or claimed != [out[0]]:
        sys.exit(f"the sealed manifest does not say sealed_by and the video's SHA-256 {out[0]}: {out}")


def check_metrics_and_reconciliation(out, stdout):
    prom = os.path.join(out, "dockd.prom")
    if not os.path.exists(prom):
        sys.exit("the demo left no metrics file (dockd.prom) in its output directory")
    text = open(prom).read()
    r = subprocess.run([shutil.which("promtool") or "promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"promtool check metrics on the demo's dockd.prom: {r.stdout}{r.stderr}")
    m = re.search(r"reconciled:\s+(\d+) objects \((\d+) segments deleted from cameras\).*none missing", stdout)
    if not m:
        sys.exit("the summary does not say how many objects were reconciled and that none were missing")
    objects, segments = int(m.group(1)), int(m.group(2))
    with open(os.path.join(out, "ground-truth.json")) as f:
        truth = json.load(f)
    deleted = sum(1 for c in truth["cameras"] for rec in c["recordings"] for s in rec["segments"]
                  if s["fate"] == "deleted")
    # The camera that does not sign: each recording it no longer holds is one segment.
    with open(os.path.join(out, "android-camera.json")) as f:
        deleted += sum(1 for rel in json.load(f) if rel.endswith(".mp4")
                       and not os.path.exists(os.path.join(out, "android-camera", rel)))
    if segments != deleted or objects != 3 * deleted:
        sys.exit(f"reconciled {objects} objects of {segments} segments; the cameras had {deleted} deleted")


def check_screen(screen, width):
    """The live view on one screen (wrapped lines joined): each bay once, in order,
    then the storage line, none wider than the terminal. None if it is not shown."""
    rows = screen.split("\n")
    live = [r for r in rows if re.match(r"bay \d+  ", r) or r.startswith("central storage:")]
    if not live:
        return None
    bays = [int(r.split()[1]) for r in live if r.startswith("bay ")]
    if bays != list(range(1, BAYS + 1)) or live[-1] != next(r for r in live if r.startswith("central")) \
            or sum(r.startswith("central storage:") for r in live) != 1:
        sys.exit(f"the live view at {width} columns is garbled:\n{screen}")
    wide = [r for r in live if len(r) > width]
    if wide:
        sys.exit(f"lines wider than {width} columns wrapped: {wide}\n{screen}")
    return live


def live_view():
    with tempfile.TemporaryDirectory(prefix="dockd-test-demo-tty-") as out:
        sock = os.path.join(out, "tmux.sock")
        tmux = ["tmux", "-S", sock, "-f", "/dev/null"]
        rc_file = os.path.join(out, "rc")
        cmd = " ".join(map(shlex.quote, demo_command(out)))
        env = dict(os.environ, DEMO_DIR=out, PYTHONDONTWRITEBYTECODE="1")
        subprocess.run(tmux + ["new-session", "-d", "-x", "80", "-y", "40",
                               f"{cmd}; echo $? > {rc_file}; exec sleep 600"], env=env, check=True)
        def capture():
            return subprocess.run(tmux + ["capture-pane", "-p", "-J"], capture_output=True, text=True,
                                  check=True).stdout

        try:
            subprocess.run(tmux + ["set-option", "-g", "window-size", "manual"], check=True)
            width, seen, resized, faulted = 80, {80: 0, 60: 0}, False, False
            deadline = time.monotonic() + 280
            while not os.path.exists(rc_file):
                if time.monotonic() > deadline:
                    sys.exit("the demo did not finish in the terminal")
                screen = capture()
                live = check_screen(screen, width) if "Summary (" not in screen else None
                if live:
                    seen[width] += 1
                    faulted = faulted or any(re.match(r"bay \d+  fault ", r) for r in live)
                # 80 columns until a bay shows its (long) fault line, then 60
                if seen[80] >= 5 and faulted and not resized:
                    subprocess.run(tmux + ["resize-window", "-x", "60", "-y", "40"], check=True)
                    width, resized = 60, True
                    # tmux rewraps what the demo drew at 80 columns; the demo clears
                    # and redraws at its next update after SIGWINCH, however late
                    # that is on a loaded machine: judge screens from then on.
                    reflowed = capture()
                    while capture() == reflowed and not os.path.exists(rc_file):
                        if time.monotonic() > deadline:
                            sys.exit("the demo never redrew after the resize")
                        time.sleep(0.1)
                time.sleep(0.2)
            final = subprocess.run(tmux + ["capture-pane", "-p", "-J", "-S", "-"], capture_output=True,
                                   text=True, check=True).stdout
        finally:
            subprocess.run(tmux + ["kill-server"], capture_output=True)
        rc = open(rc_file).read().strip()
        print(final)
        print(f"live view checked on {seen[80]} screens at 80 columns, {seen[60]} at 60")
        if rc != "0" or "The dock behaved correctly." not in final:
            sys.exit(f"the demo exited {rc} in the terminal")
        if seen[80] < 5 or seen[60] < 3:
            sys.exit("the live view was not seen often enough at both widths")


if __name__ == "__main__":
    {"plain": plain, "live-view": live_view}[sys.argv[1] if len(sys.argv) > 1 else "plain"]()
