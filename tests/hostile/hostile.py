# SPDX-License-Identifier: Apache-2.0
"""Helpers of the hostile suite (test_hostile.py): what a user would notice of
a camera that lies: what is left on the camera, what central storage holds,
custody records, findings and reports, and text that reaches a terminal."""

import glob
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dockdtest import Rig, TestFailure, check, dockctl, sha256_file, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def scenario(name):
    return os.path.join(HERE, "scenarios", name)


def custody(rig, event, serial=None):
    return [r for r in rig.custody_records()
            if r["event"] == event and (serial is None or r.get("camera") == serial)]


def camera(truth, serial):
    for c in truth["cameras"]:
        if c["serial"] == serial:
            return c
    raise TestFailure(f"no camera {serial} in the ground truth")


def segments(truth, serial, generation=None):
    """Segments of every recording of a camera; generation None: the current ones,
    else those of that generation (current or earlier)."""
    out = []
    for rec in camera(truth, serial)["recordings"]:
        if generation is None or rec["generation"] == generation:
            out += rec["segments"]
        else:
            for g in rec["previous_generations"]:
                if g["generation"] == generation:
                    out += g["segments"]
    return out


def settle(rig, bay, serial, dockings=1, timeout=90):
    """Wait until the camera's n-th docking has come to rest (ready or fault)."""
    wait_for(lambda: len(custody(rig, "docked", serial)) >= dockings, timeout,
             what=f"docking {dockings} of {serial}")
    return rig.wait_bay(bay, ["ready", "fault"], timeout)


def wait_empty(rig, bay, timeout=30):
    return rig.wait_bay(bay, "empty", timeout)


def redock(world, rig, serial, bay, dockings):
    """Undock, wait for the docking to end, dock again, wait until it settles."""
    world.control(f"undock {bay}")
    wait_empty(rig, bay)
    world.control(f"dock {serial} {bay}")
    return settle(rig, bay, serial, dockings)


def reports(rig):
    """Malfunction reports in central storage, oldest first."""
    out = []
    for f in sorted(glob.glob(os.path.join(rig.central, "reports", "*", "*.json"))):
        if os.path.exists(f[:-5] + ".txt"):
            with open(f) as fh:
                out.append(json.load(fh))
    return out


def report_texts(rig):
    out = []
    for f in sorted(glob.glob(os.path.join(rig.central, "reports", "*", "*.txt"))):
        with open(f, "rb") as fh:
            out.append((f, fh.read()))
    return out


def finding_codes(rig, serial=None):
    return [f["code"] for r in reports(rig) if serial is None or r["camera"]["serial"] == serial
            for f in r["findings"]]


def wait_finding(rig, code, serial=None, timeout=30):
    return wait_for(lambda: code in finding_codes(rig, serial), timeout,
                    what=f"a report with finding {code!r}; reports have {finding_codes(rig, serial)}")


def evidence_by_content(rig, serial):
    """{sha256: [path relative to central storage]} of every object under
    evidence/<serial>/ and quarantine/<serial>/."""
    out = {}
    for area in ("evidence", "quarantine"):
        for top, _, files in os.walk(os.path.join(rig.central, area, serial)):
            for f in files:
                p = os.path.join(top, f)
                out.setdefault(sha256_file(p), []).append(os.path.relpath(p, rig.central))
    return out


def stored_segment(rig, serial, seg, area="evidence"):
    """Where central storage holds this segment's exact bytes: the .mp4, .man and
    .p7s found by their SHA-256 under <area>/<serial>/, sharing one stem.
    Returns the stem (relative path without extension) or None."""
    by_sha = evidence_by_content(rig, serial)
    stems = None
    for ext in ("mp4", "man", "p7s"):
        f = seg["files"][ext]
        want = f.get("served_sha256", f["sha256"]) if ext == "mp4" else f["sha256"]
        paths = [p for p in by_sha.get(want, []) if p.startswith(area + "/") and p.endswith("." + ext)]
        found = {p[:-len(ext) - 1] for p in paths}
        stems = found if stems is None else stems & found
    return sorted(stems)[0] if stems else None


def original_key(serial, seg, area="evidence"):
    return f"{area}/{serial}/{seg['recording_id']}/{seg['index']:06d}"


def deleted_only_after_confirmed(rig, truth, serial):
    """Every segment the camera lost by a DeleteObject: its exact bytes had been
    read by the dock and central storage holds them."""
    problems = []
    for rec in camera(truth, serial)["recordings"]:
        gens = [(rec["generation"], rec["segments"])] + [(g["generation"], g["segments"])
                                                          for g in rec["previous_generations"]]
        for gen, segs in gens:
            for seg in segs:
                for ext, f in seg["files"].items():
                    if f["fate"] != "deleted":
                        continue
                    name = f"{seg['recording_id']}/{f['name']} (generation {gen})"
                    if f["bytes_served"] < f["size"]:
                        problems.append(f"{name} deleted but only {f['bytes_served']} of {f['size']} bytes "
                                        "were ever read from the camera")
                    elif not stored_segment(rig, serial, seg):
                        problems.append(f"{name} deleted but central storage does not hold that segment's bytes")
    check(not problems, "\n".join(problems))


def nothing_taken(truth, serial):
    """An untrusted camera: no object's bytes read, nothing deleted."""
    for seg in segments(truth, serial):
        for ext, f in seg["files"].items():
            check(f["fate"] in ("on-camera", "never-on-camera"), f"{seg['recording_id']}/{f['name']}: {f['fate']}")
            check(f["bytes_served"] == 0, f"{seg['recording_id']}/{f['name']}: {f['bytes_served']} bytes were read "
                  "from a camera that is not trusted")


def untrusted(rig, serial, reason_words):
    """Custody says the camera is untrusted for one of reason_words, and never
    that it was identified."""
    u = custody(rig, "untrusted", serial)
    check(u, f"no 'untrusted' custody record for {serial}; events: "
          f"{[r['event'] for r in rig.custody_records() if r.get('camera') == serial]}")
    check(any(w in u[-1].get("reason", "") for w in reason_words),
          f"untrusted for {u[-1].get('reason')!r}, expected a reason with one of {reason_words}")
    check(not custody(rig, "identified", serial), f"{serial} was identified (custody 'identified')")


# C0 controls but LF, DEL, C1 controls: what a terminal would interpret.
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f\x80-\x9f]")


def check_no_controls(text, where):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    m = CONTROL.search(text)
    if m:
        i = m.start()
        raise TestFailure(f"{where}: control character U+{ord(m.group()):04X} at {i}: {text[max(0, i - 60):i + 60]!r}")


def check_strings_clean(obj, where, limit=None):
    """Every string in a JSON value: no control characters (LF included), at
    most limit characters."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            check_strings_clean(v, f"{where}.{k}", limit)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            check_strings_clean(v, f"{where}[{i}]", limit)
    elif isinstance(obj, str):
        if "\n" in obj:
            raise TestFailure(f"{where}: a newline from the camera: {obj!r}")
        check_no_controls(obj, where)
        if limit is not None:
            check(len(obj) <= limit, f"{where}: {len(obj)} characters (bound {limit}): {obj[:80]!r}…")


def dockctl_outputs(rig):
    """The text every dockctl verb prints, as a terminal would get it."""
    out = {}
    for verb in ("status", "bays", "reports"):
        p = dockctl(verb, env=rig.env, check_rc=False)
        out[f"dockctl {verb}"] = p.stdout + p.stderr
    return out


def second_dock(world, first, name="dock-b", config=None):
    """Another dockd ("dock B"): its own state directory and dock name, the same
    central storage as first."""
    cfg = {"dock": {"name": name}, "file": {"path": first.central}}
    for sec, kv in (config or {}).items():
        cfg.setdefault(sec, {}).update(kv)
    rig = Rig(world, config=cfg, name=name)
    rig.central = first.central   # what the helpers read (reports, evidence) is there
    return rig


def status_latency(rig):
    t0 = time.monotonic()
    p = dockctl("status", "--json", env=rig.env, check_rc=False)
    return time.monotonic() - t0, p.returncode
