#!/usr/bin/env python3
"""Cameras docked from the start (`bay =`) are on the bus before COMMAND runs: a
stock tool that enumerates once, at start-up, run directly as vdock's COMMAND with
no sleep, lists every file of every such camera.

Usage: test-startup.py VDOCK SCENARIO"""
import configparser
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter


def main():
    vdock, scenario = sys.argv[1:3]
    ini = configparser.ConfigParser(inline_comment_prefixes=("#", ";"), strict=False)
    ini.read(scenario)
    docked = {s.split(None, 1)[1] for s in ini.sections() if s.startswith("camera ") and ini.has_option(s, "bay")}
    with tempfile.TemporaryDirectory(prefix="vdock-startup-") as tmp:
        truth_path = os.path.join(tmp, "truth.json")
        p = subprocess.run([vdock, "--scenario", scenario, "--ground-truth", truth_path, "--", "mtp-files"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
        truth = json.load(open(truth_path))
    print(p.stdout[-3000:])
    listed = Counter(re.findall(r"^   Filename: (\S+)\n   File size (\d+) ", p.stdout, re.M))
    expected = Counter((f["name"], str(f["size"]))
                       for cam in truth["cameras"] if cam["serial"] in docked
                       for rec in cam["recordings"] for seg in rec["segments"]
                       for f in seg["files"].values() if f["fate"] != "never-on-camera")
    if p.returncode != 0 or "No Devices have been found" in p.stdout:
        sys.exit(f"mtp-files exited {p.returncode} without finding the docked cameras")
    if not expected or listed != expected:
        sys.exit(f"mtp-files listed {sum(listed.values())} files, the {len(docked)} docked cameras hold "
                 f"{sum(expected.values())}; missing {expected - listed}, unexpected {listed - expected}")
    print(f"PASS: {sum(listed.values())} files of {len(docked)} cameras listed")


if __name__ == "__main__":
    main()
