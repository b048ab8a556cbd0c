#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""scripts/bench powercut CUTS [MINUTES]: runs of test_powercut.py's quick plan
(each a fresh vdock world and a fresh powercutfs), about 40 cuts a run, until
CUTS cuts were made, or, with MINUTES, until no new run may start after that
many minutes (on a shared machine a run takes 5 to 20); prints each run's tally
and the totals, the last line being
`powercut: cuts=N lost=N early_delete=N custody=ok|FAILED(N)`."""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from harness import FAILPOINTS  # noqa: E402

RANDOM_CUTS = 20         # + one cut at each failpoint + one after the clean stop: ~40 a run


def main():
    want = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    minutes = float(sys.argv[2]) if len(sys.argv) > 2 else None
    total = {"cuts": 0, "crashes": 0, "lost": 0, "early_delete": 0, "custody_failures": 0, "torn_tails": 0,
             "not_reached": 0, "problems": 0}
    runs = 0
    failed_runs = []
    t0 = time.monotonic()
    log_dir = tempfile.mkdtemp(prefix="powercut-bench-", dir="/var/tmp")
    while total["cuts"] < want:
        if minutes is not None and time.monotonic() - t0 > minutes * 60:
            print(f"powercut_stopped: no run starts after {minutes:g} minutes; {want} cuts wanted", flush=True)
            break
        runs += 1
        left = want - total["cuts"]
        random_cuts = max(1, min(RANDOM_CUTS, left - len(FAILPOINTS) - 1))
        seed = random.randrange(1, 1 << 30)
        result = os.path.join(log_dir, f"run-{runs}.json")
        env = dict(os.environ, POWERCUT_SEED=str(seed), POWERCUT_RANDOM_CUTS=str(random_cuts),
                   POWERCUT_RESULT=result)
        with open(os.path.join(log_dir, f"run-{runs}.log"), "wb") as out:
            p = subprocess.run([sys.executable, os.path.join(HERE, "test_powercut.py"), "quick"], env=env,
                               stdout=out, stderr=subprocess.STDOUT)
        try:
            with open(result) as f:
                t = json.load(f)
        except (OSError, ValueError):
            print(f"run {runs} (seed {seed}) ended without a tally ({p.returncode}); "
                  f"see {log_dir}/run-{runs}.log", flush=True)
            failed_runs.append(runs)
            total["problems"] += 1
            if runs > 3 and len(failed_runs) == runs:
                break
            continue
        for k in total:
            total[k] += len(t["problems"]) if k == "problems" else t[k]
        if p.returncode != 0:
            failed_runs.append(runs)
        print(f"run {runs} (seed {seed}): cuts={t['cuts']} crashes={t['crashes']} lost={t['lost']} "
              f"early_delete={t['early_delete']} custody_failures={t['custody_failures']} "
              f"problems={len(t['problems'])}", flush=True)
        for msg in t["problems"][:5]:
            print(f"  {msg.splitlines()[0]}", flush=True)
    print(f"powercut_runs: {runs}")
    print(f"powercut_failed_runs: {len(failed_runs)}{' (logs in ' + log_dir + ')' if failed_runs else ''}")
    print(f"powercut_crashes: {total['crashes']}")
    print(f"powercut_failpoints_not_reached: {total['not_reached']}")
    print(f"powercut_problems: {total['problems']}")
    print(f"powercut_seconds_per_cut: {(time.monotonic() - t0) / max(total['cuts'], 1):.1f}")
    custody = "ok" if total["custody_failures"] == 0 else f"FAILED({total['custody_failures']})"
    print(f"powercut: cuts={total['cuts']} lost={total['lost']} early_delete={total['early_delete']} "
          f"custody={custody}")
    if not failed_runs:
        shutil.rmtree(log_dir, ignore_errors=True)
    return 0 if not failed_runs and total["problems"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
