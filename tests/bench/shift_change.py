#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Inside vdock (scripts/bench.d/shift-change): a shift change. Every camera of
the scenario docks within 5 seconds (the evidentiary ones last) while dockd runs
against the real Swift s3api behind the fault proxy, whose uplink is a link of
--uplink-mb-s. Prints NAME: VALUE lines (with --suffix), writes the timeline
(data and a gnuplot PNG) to --out.

  shift_change_s            first dock to the last segment deleted from its camera
                            (vdock's ground truth: dock and delete times)
  shift_change_bound_s      max(all camera bytes / uplink rate,
                                largest camera's bytes / its link rate)
  shift_change_vs_bound     the ratio of the two
  uplink_busy_fraction      bytes the proxy forwarded upstream between the first
                            byte available for upload (the first segment verified:
                            custody "verified") and the last
                            confirmation, over rate x that time: at a fixed rate a
                            link carries data exactly bytes / rate of the time
  evidentiary_confirmed_first  1 if every evidentiary segment was confirmed
                            (custody "confirmed") before the last other one
  peak_rss_mib, cpu_s_per_gib  dockd's VmHWM and CPU time (user + system) per
                            GiB of camera bytes, for the whole job"""

import argparse
import bisect
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "upload"))
from dockdtest import Rig, World, wait_for  # noqa: E402
from uploadtest import BUCKET, FaultProxy, SwiftServer, requests_seen, write_secret_file  # noqa: E402

MiB = 1 << 20
GiB = 1 << 30
DOCK_WINDOW_S = 4.0   # the last camera docks this long after the first
SAMPLE_S = 0.25


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def evidentiary(cam):
    """The scenario marks evidentiary cameras with a built-in evidentiary category."""
    return any("arrest" in rec["categories"] for rec in cam["recordings"])


def camera_bytes(cam):
    return sum(f["size"] for rec in cam["recordings"] for seg in rec["segments"] for f in seg["files"].values())


class Store:
    """Swift s3api behind the fault proxy, whose uplink is a link of rate.
    Swift keeps its objects in RAM when /dev/shm has room: central storage is
    another machine, and Swift's fsyncs on this machine's disk would compete
    with dockd's spool, which a real dock does not see."""

    def __init__(self, tmp, rate, need_bytes):
        shm = "/dev/shm"
        st = os.statvfs(shm) if os.path.isdir(shm) else None
        self.on_tmpfs = bool(st) and st.f_bavail * st.f_frsize > 2 * need_bytes
        self.dir = tempfile.mkdtemp(prefix="dockd-bench-swift-", dir=shm if self.on_tmpfs else tmp)
        # A loaded machine starts Swift slowly: that is not what is measured.
        self.sw = SwiftServer(dir=self.dir, buckets=[BUCKET], startup_timeout=300)
        self.fp = None
        try:
            self.sw.start()
            self.fp = FaultProxy(("127.0.0.1", self.sw.ports["proxy"]))
            self.fp.start()
            self.fp.slow(rate, "up", burst=0.25)
            self.s3 = self.sw.client()
            self.cred = write_secret_file(os.path.join(tmp, "s3.credentials"),
                                          f"access_key_id={self.sw.access_key}\n"
                                          f"secret_access_key={self.sw.secret_key}\n")
        except BaseException:
            self.stop()
            raise

    def stop(self):
        try:
            if self.fp:
                self.fp.stop()
        finally:
            self.sw.stop()
            shutil.rmtree(self.dir, ignore_errors=True)


class Sampler(threading.Thread):
    """Every SAMPLE_S: what each camera has sent (vdock's status) and how many
    of its objects are left."""

    def __init__(self, world):
        super().__init__(daemon=True)
        self.world = world
        self.samples = []   # (monotonic, {serial: (bytes_served, objects_left)})
        self.stop = threading.Event()

    def take(self):
        st = self.world.status()
        s = (time.monotonic(), {c["serial"]: (c["bytes_served"], c["objects_left"]) for c in st["cameras"]})
        self.samples.append(s)
        return s

    def run(self):
        while not self.stop.wait(SAMPLE_S):
            self.take()


def custody_times(rig, event, offset):
    """{(camera, segment): CLOCK_MONOTONIC time} of custody records of event
    (their time is UTC; offset = time.time() - time.monotonic())."""
    out = {}
    for r in rig.custody_records():
        if r["event"] != event:
            continue
        t = datetime.datetime.strptime(r["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        out[(r.get("camera"), r.get("segment"))] = t.timestamp() - offset
    return out


def rates(points, t_zero, width):
    """[(t, cumulative bytes)] -> [(t - t_zero, MB/s)], one per width seconds."""
    if len(points) < 2:
        return []
    ts = [t for t, _ in points]

    def at(x):   # cumulative bytes at x, linear between points
        i = bisect.bisect_right(ts, x)
        if i == 0:
            return points[0][1]
        if i >= len(points):
            return points[-1][1]
        (t0, b0), (t1, b1) = points[i - 1], points[i]
        return b0 + (b1 - b0) * (x - t0) / (t1 - t0)
    out = []
    t = ts[0]
    while t < ts[-1]:
        out.append((t - t_zero + width / 2, (at(t + width) - at(t)) / width / 1e6))
        t += width
    return out


def write_plot(out_dir, name, bays, pulls, uplink, uplink_rate, bound_s, end_s, ratio, busy):
    """Rows of bay pulls over the uplink's rate: gnuplot, PNG."""
    os.makedirs(out_dir, exist_ok=True)
    dat = os.path.join(out_dir, f"{name}.dat")
    with open(dat, "w") as f:
        for label, _, series in pulls:
            f.write(f"# {label}\n")
            for t, r in series:
                f.write(f"{t:.3f} {r:.3f}\n")
            f.write("\n\n")
        f.write("# uplink\n")
        for t, r in uplink:
            f.write(f"{t:.3f} {r:.3f}\n")
    png = os.path.join(out_dir, f"{name}.png")
    n = len(pulls)
    xmax = max(end_s, bound_s) * 1.04
    link = max(rate for _, rate, _ in pulls)
    ytics = ", ".join(f'"{label}" {i + 0.4}' for i, (label, _, _) in enumerate(pulls))
    plots = ", ".join(
        f'"{dat}" index {i} using 1:({i}):({i} + 0.8 * $2 / {link / 1e6}) with filledcurves '
        f'lc rgb "{"#c0392b" if "evid" in label else "#2e86c1"}" notitle'
        for i, (label, _, _) in enumerate(pulls))
    script = f"""
set terminal pngcairo size 1000,{260 + 28 * n} font "DejaVu Sans,10"
set output "{png}"
set multiplot layout 2,1 title "dockd shift change: {bays} bays, camera links {link / 1e6:.0f} MB/s, uplink {uplink_rate / 1e6:.0f} MB/s; {end_s:.1f} s = {ratio:.2f} x bound, uplink busy {busy:.2f}"
set lmargin 16
set rmargin 4
set xrange [0:{xmax:.1f}]
set arrow 1 from {bound_s:.2f}, graph 0 to {bound_s:.2f}, graph 1 nohead lc rgb "black" dt 2 lw 2
set arrow 2 from {end_s:.2f}, graph 0 to {end_s:.2f}, graph 1 nohead lc rgb "#27ae60" lw 2
set size 1, 0.62
set origin 0, 0.36
set tmargin 3
set bmargin 1
set format x ""
set yrange [-0.2:{n}]
set ytics ({ytics}) scale 0
set grid xtics
set label 1 "bound {bound_s:.1f} s" at {bound_s:.2f}, graph 1.03 center front font ",9"
set label 2 "done {end_s:.1f} s" at {end_s:.2f}, graph 1.07 center front font ",9" tc rgb "#27ae60"
set ylabel "pull, per bay" offset -1
plot {plots}
unset label 1
unset label 2
set size 1, 0.36
set origin 0, 0
set tmargin 0.5
set bmargin 3.5
set format x "%g"
set xlabel "seconds since the first camera docked"
set ylabel "uplink MB/s"
set yrange [0:{uplink_rate / 1e6 * 1.25:.1f}]
set ytics auto scale 1
set key top left horizontal opaque
plot "{dat}" index {n} using 1:2 with filledcurves y1=0 lc rgb "#7f8c8d" title "upload at the proxy", \\
     {uplink_rate / 1e6:.1f} with lines lc rgb "black" dt 3 title "uplink rate"
unset multiplot
"""
    gp = os.path.join(out_dir, f"{name}.gp")
    with open(gp, "w") as f:
        f.write(script)
    subprocess.run(["gnuplot", gp], check=True)
    return png


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--suffix", default="")
    ap.add_argument("--uplink-mb-s", type=float, default=40)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    sfx = args.suffix
    uplink_rate = args.uplink_mb_s * 1e6

    world = World()
    truth = world.truth()
    cams = sorted(truth["cameras"], key=lambda c: (evidentiary(c), c["serial"]))
    total = sum(camera_bytes(c) for c in cams)
    bound = max(total / uplink_rate, max(camera_bytes(c) / (c["link_mb_s"] * 1e6) for c in cams))
    n_segments = sum(len(rec["segments"]) for c in cams for rec in c["recordings"])

    store = Store(os.environ["BENCH_DIR"], uplink_rate, total)
    rig = None
    try:
        # dockd's defaults, but for where things are and how long a failed
        # request waits before it is tried again.
        config = {
            "storage": {"backend": "s3", "retry_initial": "200ms", "retry_max": "2s", "custody_interval": "5min"},
            "s3": {"endpoint": store.fp.url, "bucket": BUCKET, "region": store.sw.region,
                   "credentials": store.cred},
            "usb": {"command_timeout": "10s", "stall_timeout": "5s"},
        }
        rig = Rig(world, config=config, name="shift-change")
        d = rig.start(log_level="info")
        sampler = Sampler(world)
        first = sampler.take()
        objects_at_start = {s: left for s, (_, left) in first[1].items()}
        offset = time.time() - time.monotonic()
        load_start = os.getloadavg()
        store.fp.reset_stats()
        vdock_cpu0 = cpu_seconds(os.getppid())
        swift_cpu0 = sum(cpu_seconds(p) for p in store.sw.pids.values())
        bench_cpu0 = time.process_time()

        t_dock0 = time.monotonic()
        sampler.start()
        for i, c in enumerate(cams):
            wait = t_dock0 + i * DOCK_WINDOW_S / max(1, len(cams) - 1) - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            world.control(f"dock {c['serial']} {i + 1}")

        def done():
            if d.proc.poll() is not None:
                raise SystemExit(f"dockd exited ({d.proc.returncode}):\n{d.log()[-3000:]}")
            s = sampler.samples[-1] if sampler.samples else first
            return all(objects_at_start[c["serial"]] - s[1][c["serial"]][1] >= 3 * sum(
                len(r["segments"]) for r in c["recordings"]) for c in cams)
        wait_for(done, max(600, 20 * bound), interval=0.2, what="every segment deleted from its camera")
        sampler.stop.set()
        sampler.join()
        sampler.take()
        cpu = cpu_seconds(d.proc.pid)
        others = {"vdock": cpu_seconds(os.getppid()) - vdock_cpu0,
                  "swift": sum(cpu_seconds(p) for p in store.sw.pids.values()) - swift_cpu0,
                  "proxy+bench": time.process_time() - bench_cpu0}
        rss = peak_rss_kib(d.proc.pid)
        load_end = os.getloadavg()
        truth = world.truth()
        confirmed = custody_times(rig, "confirmed", offset)
        verified = custody_times(rig, "verified", offset)
        keys = {o["key"] for o in store.s3.list_objects(BUCKET)}
        timeline = store.fp.timeline("up")
        with open(os.path.join(args.out, f"shift-change{sfx or '_8'}.requests.json"), "w") as f:
            json.dump([{"t": r["time"] - t_dock0, "method": r["method"], "target": r["target"]}
                       for r in requests_seen()], f, indent=0)
        if rig.stop() != 0:
            raise SystemExit("dockd did not exit cleanly")
    finally:
        if rig:
            if rig.dockd:
                os.makedirs(args.out, exist_ok=True)
                shutil.copy(rig.dockd.stderr_path, os.path.join(args.out, f"shift-change{sfx or '_8'}.dockd.log"))
            rig.cleanup()
        store.stop()

    # Every segment is in central storage and gone from its camera.
    fates = [seg["fate"] for c in truth["cameras"] for rec in c["recordings"] for seg in rec["segments"]]
    if any(f != "deleted" for f in fates) or len(confirmed) != n_segments:
        raise SystemExit(f"not everything offloaded: fates {fates}, {len(confirmed)} confirmed of {n_segments}")
    if len([k for k in keys if k.startswith("evidence/")]) != 3 * n_segments:
        raise SystemExit(f"{len(keys)} objects in the bucket for {n_segments} segments")

    docks = [e["mono_us"] / 1e6 for e in truth["dock_history"] if e["attr"] == "dock"]
    deletes = [f["deleted_mono_us"] / 1e6 for c in truth["cameras"] for rec in c["recordings"]
               for seg in rec["segments"] for f in seg["files"].values()]
    t0, t_end = min(docks), max(deletes)
    elapsed = t_end - t0

    evid = {c["serial"] for c in cams if evidentiary(c)}
    t_last_confirm = max(confirmed.values())
    evid_last = max((t for (cam, _), t in confirmed.items() if cam in evid), default=0)
    other_last = max((t for (cam, _), t in confirmed.items() if cam not in evid), default=0)

    up_start = timeline["start"]
    t_avail = min(verified.values())
    window = t_last_confirm - t_avail
    busy_bytes = 0.0
    for i, n in enumerate(timeline["bytes"]):
        lo = up_start + i * timeline["bin"]
        overlap = min(lo + timeline["bin"], t_last_confirm) - max(lo, t_avail)
        if overlap > 0:
            busy_bytes += n * overlap / timeline["bin"]
    busy = busy_bytes / (uplink_rate * window)

    print(f"bays{sfx}: {len(cams)}")
    print(f"bytes{sfx}: {total}")
    print(f"shift_change_s{sfx}: {elapsed:.1f}")
    print(f"shift_change_bound_s{sfx}: {bound:.1f}")
    print(f"shift_change_vs_bound{sfx}: {elapsed / bound:.2f}")
    print(f"uplink_busy_fraction{sfx}: {busy:.2f}")
    print(f"evidentiary_confirmed_first{sfx}: {1 if evid and evid_last < other_last else 0}")
    print(f"peak_rss_mib{sfx}: {rss / 1024:.1f}")
    print(f"cpu_s_per_gib{sfx}: {cpu / (total / GiB):.2f}")
    print(f"docked_within_s{sfx}: {max(docks) - t0:.1f}")
    print(f"first_upload_byte_available_s{sfx}: {t_avail - t0:.1f}")
    print(f"last_confirmation_s{sfx}: {t_last_confirm - t0:.1f}")
    print(f"cpu_s{sfx}: dockd {cpu:.1f}, " + ", ".join(f"{k} {v:.1f}" for k, v in others.items()))
    print(f"central_storage{sfx}: Swift on {'tmpfs' if store.on_tmpfs else 'disk'}")
    print(f"load_average{sfx}: {load_start[0]:.1f} at start, {load_end[0]:.1f} at the end")

    # The timeline: each bay's pull (what its camera sent) and the upload.
    pulls = []
    for i, c in enumerate(cams):
        pts = [(t, s[c["serial"]][0]) for t, s in sampler.samples]
        label = f"bay {i + 1}" + (" (evid.)" if c["serial"] in evid else "")
        pulls.append((label, c["link_mb_s"] * 1e6, rates(pts, t0, 0.5)))
    cum, pts = 0, []
    for i, n in enumerate(timeline["bytes"]):
        cum += n
        pts.append((up_start + (i + 1) * timeline["bin"], cum))
    uplink = rates(pts, t0, 0.5)
    png = write_plot(args.out, f"shift-change{sfx or '_8'}", len(cams), pulls, uplink, uplink_rate, bound,
                     elapsed, elapsed / bound, busy)
    print(f"timeline_plot{sfx}: {png}")


if __name__ == "__main__":
    main()
