#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The README documents every configuration key dockd knows (and no key it does not)."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dockdtest import DOCKD, SOURCE_DIR, TempDir, case, check, run_cases


def effective_keys():
    tmp = TempDir()
    try:
        conf = tmp.join("c.conf")
        with open(conf, "w") as f:
            # One allow-listed generic camera, so that its section is shown.
            f.write("[dock]\nbays=1\n[generic.cam]\nusb_id=1d6b:0100\nrecordings=DCIM/**/*.MP4\n")
        out = subprocess.run([DOCKD, "--config", conf, "--check-config"], capture_output=True,
                             text=True, check=True).stdout
    finally:
        tmp.cleanup()
    keys, section = set(), None
    for line in out.splitlines():
        m = re.match(r"^\[([^\]]+)\]$", line)
        if m:
            section = re.sub(r"^bay\.\d+$", "bay.N", re.sub(r"^(category|generic)\..*$", r"\1.NAME", m.group(1)))
            continue
        m = re.match(r"^#?([a-z_]+)=", line)
        if m and section:
            keys.add((section, m.group(1)))
    return keys


def readme_sections():
    text = open(os.path.join(SOURCE_DIR, "README.md")).read()
    ref = text.split("## Configuration reference", 1)[1].split("\n## ", 1)[0]
    chunks = {}
    for chunk in ref.split("\n### ")[1:]:
        heading, body = chunk.split("\n", 1)
        for sec in re.findall(r"\[([a-z0-9._A-Z]+)\]", heading):
            chunks[sec] = body
    return chunks


@case
def readme_config_reference():
    keys = effective_keys()
    check(len(keys) > 40, f"only {len(keys)} keys found")
    chunks = readme_sections()
    missing = []
    for sec, key in sorted(keys):
        body = chunks.get(sec, "")
        # [retention]/[category.NAME] share one table whose rows name the section.
        if f"| `{key}` |" not in body and f"| `[{sec}] {key}` |" not in body:
            missing.append(f"[{sec}] {key}")
    check(not missing, "README lacks: " + ", ".join(missing))
    documented = set()
    for sec, body in chunks.items():
        for key in re.findall(r"^\| `([a-z_]+)` \|", body, re.M):
            documented.add((sec, key))
        for s, key in re.findall(r"^\| `\[([a-z0-9._A-Z]+)\] ([a-z_]+)` \|", body, re.M):
            documented.add((s, key))
    extra = documented - keys
    check(not extra, "README documents unknown keys: " + ", ".join(f"[{s}] {k}" for s, k in sorted(extra)))


if __name__ == "__main__":
    run_cases()
