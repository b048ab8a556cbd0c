#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""dockd under power cuts (harness.py): a quick mixed run of random and
failpoint cuts, and one deterministic case per ordering bug the runs found.

Environment for longer runs (scripts/bench powercut): POWERCUT_RANDOM_CUTS,
POWERCUT_SEED, POWERCUT_RESULT (a JSON file the tally is written to)."""

import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from dockdtest import case, check, in_private_mount_ns, run_cases, run_in_vdock  # noqa: E402
from harness import SCENARIO, PowerCutRun, run_plan, run_steps  # noqa: E402

SMALL = os.path.join(HERE, "scenarios", "one-camera.ini")
ONE_SEGMENT = os.path.join(HERE, "scenarios", "one-segment.ini")
LONG_SEGMENT = os.path.join(HERE, "scenarios", "one-long-segment.ini")


def report(run):
    t = run.tally
    result = os.environ.get("POWERCUT_RESULT")
    if result:
        with open(result, "w") as f:
            json.dump(t.as_dict(), f)
    print(t.details())
    print(t.line())
    check(not t.problems, f"{len(t.problems)} problems (seed {run.seed}):\n" + "\n".join(t.problems[:20]))


@case
def quick():
    """A cut at each failpoint, a kill -9 at each followed by a later cut,
    random cuts and random kill -9s; then the end."""
    in_private_mount_ns()
    world = run_in_vdock(SCENARIO)
    seed = int(os.environ.get("POWERCUT_SEED", "0")) or random.randrange(1 << 30)
    print(f"seed {seed}", flush=True)
    run = PowerCutRun(world, seed)
    failed = True
    try:
        run_plan(run, int(os.environ.get("POWERCUT_RANDOM_CUTS", "14")))
        check(run.tally.cuts >= 30, f"only {run.tally.cuts} cuts")
        report(run)
        failed = False
    finally:
        run.close(failed)


def steps_case(steps, scenario=SMALL, config=None):
    in_private_mount_ns()
    world = run_in_vdock(scenario)
    run = PowerCutRun(world, 1, config=config)
    failed = True
    try:
        run_steps(run, steps)
        report(run)
        failed = False
    finally:
        run.close(failed)


@case
def seal_crash_then_cut_keeps_sealed_records():
    """kill -9 after the custody seal put the current file into sealed/, before
    sealed/ was synced. The restart finished the seal (an empty current.jsonl,
    durably) on a sealed name that was still only in the page cache: a power
    cut then lost every record in it, acknowledged ones included. (Found with
    the seal's first design, a rename and two directory syncs; kept for its
    link-then-replace successor, where the same crash loses the same records.)"""
    steps_case([("crash", "custody-seal-link-before-sync:1"), ("cut", "custody-append-before-sync:2")])


@case
def seal_cut_after_its_commit_point():
    """A cut after the seal's link into sealed/ and the fsync of sealed/, before
    current.jsonl was replaced: the file is under both names. With the seal's
    first design (a rename between directories, cut between its two directory
    syncs) custody_log_open() refused such a log (EBADMSG) and the dock stopped
    offloading after the power came back; open must finish the seal."""
    steps_case([("cut", "custody-seal-after-link:1")])


SEAL_POINTS = ["custody-seal-link-before-sync", "custody-seal-after-link", "custody-seal-after-create",
               "custody-seal-rename-before-sync", "custody-seal-after-rename"]


@case
def seal_survives_a_cut_and_a_crash_at_each_failpoint():
    """The seal in order (link into sealed/, its fsync: the commit point, an
    empty current.jsonl.new, the rename over current.jsonl, its directory's
    fsync): a cut at each of its failpoints, then a kill -9 at each followed
    by a cut at the second append after the restart, which builds on what the
    crash left."""
    steps = [("cut", f"{p}:1") for p in SEAL_POINTS]
    for p in SEAL_POINTS:
        steps += [("crash", f"{p}:1"), ("cut", "custody-append-before-sync:2")]
    steps_case(steps)


@case
def cut_before_delete_leaves_no_spool_data():
    """The spool's copy of a confirmed segment is unlinked without a directory
    fsync; a cut brings it back, and a restart never removed it again: every
    power cut leaked spool space until pulls paused for a full spool."""
    steps_case([("cut", "delete-before:1")], ONE_SEGMENT)


# One object at a time: the crashed rename is the last one into its directory.
SERIAL_UPLOADS = {"storage": {"concurrency": "1"}}


@case
def object_found_after_a_crash_is_synced_before_it_counts():
    """kill -9 after the .p7s was renamed into central storage, before its
    directory was synced. The restart found it in place and confirmed it by
    reading it back, the camera deleted the segment, and a cut lost the .p7s
    for good (the segment can no longer be verified)."""
    steps_case([("crash", "rename-before-sync@.p7s:1"), ("cut", "delete-after-custody:1")], ONE_SEGMENT,
               SERIAL_UPLOADS)


@case
def directory_found_after_a_crash_is_synced_before_it_is_used():
    """kill -9 after mkdir of the recording's directory in central storage,
    before its parent was synced. The restart found the directory, put the
    three objects in it (each synced into it), the camera deleted the segment,
    and a cut lost the directory with the whole segment."""
    steps_case([("crash", "mkdir-before-sync@evidence/BWC-PC201/2026:1"), ("cut", "delete-after-custody:1")],
               ONE_SEGMENT, SERIAL_UPLOADS)


@case
def confirmed_state_found_after_a_crash_is_synced_before_the_delete():
    """kill -9 after the segment's state "confirmed" was renamed into place,
    before its directory was synced. The restart read "confirmed" and deleted
    the segment from the camera; a cut then took the state back to "pulled":
    spool and camera disagreed (the delete rested on a state never durable)."""
    steps_case([("crash", "atomic-after-rename@000000.state:3"), ("cut", "delete-after-custody:1")],
               ONE_SEGMENT, SERIAL_UPLOADS)


@case
def pull_resumes_at_the_synced_offset_after_a_cut():
    """A cut in the middle of a pull, after two sync_interval fdatasyncs of the
    .part file: its bytes were durable, its name was not (the spool directory
    was synced only when the pull completed), so the restart pulled the
    segment again from byte 0, not from the last durable offset (DESIGN.md)."""
    steps_case([("cut", "pull-before-sync:3"), ("expect", "Resuming at byte")], LONG_SEGMENT)


@case
def probe():
    """Development: POWERCUT_STEPS='cut pull-chunk:1; cut-after 2' ."""
    steps = []
    for part in os.environ["POWERCUT_STEPS"].split(";"):
        kind, arg = part.strip().split(None, 1)
        steps.append((kind, float(arg) if kind.endswith("-after") else arg))
    config = {"storage": {"concurrency": os.environ["POWERCUT_CONCURRENCY"]}} \
        if os.environ.get("POWERCUT_CONCURRENCY") else None
    steps_case(steps, os.environ.get("POWERCUT_SCENARIO", SMALL), config)


if __name__ == "__main__":
    run_cases()
