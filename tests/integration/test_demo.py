#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The README's main-job command, as scripts/demo runs it (vdock's demo
scenario, dockd, the summary and its own checks), on the test build: it must
end "The dock behaved correctly." with status 0, and the commands it prints to
check a segment by hand must work as printed. It leaves dockd's metrics in its
output directory (promtool accepts them) and ends with a reconciliation whose
count matches the segments deleted from the cameras, none missing."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ["DOCKD_SOURCE_DIR"]
BUILD = os.environ["DOCKD_BUILD_DIR"]


def main():
    with tempfile.TemporaryDirectory(prefix="dockd-test-demo-") as out:
        env = dict(os.environ, DEMO_DIR=out, PYTHONDONTWRITEBYTECODE="1")
        p = subprocess.run([os.path.join(BUILD, "tests", "vdock", "vdock"),
                            "--scenario", os.path.join(SRC, "tests", "vdock", "scenarios", "demo.ini"),
                            "--pki-dir", os.path.join(out, "pki"),
                            "--ground-truth", os.path.join(out, "ground-truth-final.json"),
                            "--time-scale", "600", "--",
                            sys.executable, os.path.join(SRC, "scripts", "demo.py")],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
        print(p.stdout[-6000:])
        if p.returncode != 0 or "The dock behaved correctly." not in p.stdout:
            sys.exit(f"the demo exited {p.returncode}")
        # The hand-check recipe: join the continuation lines and run each command.
        recipe = p.stdout.split("Verify one segment yourself:", 1)[1].split("The dock behaved", 1)[0]
        recipe = re.sub(r"\\\n\s*", "", recipe)
        cmds = [line.strip() for line in recipe.splitlines() if line.strip()]
        if len(cmds) != 3:
            sys.exit(f"expected three hand-check commands, found {cmds}")
        for cmd in cmds:
            r = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            print(f"$ {cmd}\n{r.stdout}")
            if r.returncode != 0:
                sys.exit(f"the printed command failed ({r.returncode}): {cmd}")
        sha_lines = subprocess.run(cmds[1], shell=True, capture_output=True, text=True).stdout.split()
        actual, claimed = sha_lines[0], sha_lines[-1].split("=", 1)[1]
        if actual != claimed:
            sys.exit(f"sha256sum says {actual}, the manifest says {claimed}")
        check_metrics_and_reconciliation(out, p.stdout)


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
    if segments != deleted or objects != 3 * deleted:
        sys.exit(f"reconciled {objects} objects of {segments} segments; the cameras had {deleted} deleted")


if __name__ == "__main__":
    main()
