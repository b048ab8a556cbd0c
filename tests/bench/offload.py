#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Inside vdock (scripts/bench.d/offload): the libmtp peer first, then dockd on
all bays at once, over the same objects. Prints NAME: VALUE lines.

With --link NAME (one camera on a capped link): dockd's pull rate from that
camera over the link's rate, offload_vs_link_NAME. The rate is the camera's:
video bytes it sent over the time from its first to its last (vdock's status,
sampled every 20 ms), the gaps between segments (signature, manifest, fsync,
rename, custody) included."""

import glob
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dockdtest import Rig, World, wait_for  # noqa: E402

OUT = os.environ["BENCH_DIR"]


def ticks():
    return os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks()


def peak_rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def libmtp_peer(world, truth):
    """mtp-getfile takes the first MTP device it finds: dock one camera at a time."""
    cams = truth["cameras"]
    for c in cams:
        world.control(f"undock {c['docked_bay']}")
    total, elapsed = 0, 0.0
    dest = os.path.join(OUT, "mtp")
    os.makedirs(dest, exist_ok=True)
    for c in cams:
        world.control(f"dock {c['serial']} 1")
        time.sleep(0.5)
        for rec in c["recordings"]:
            for seg in rec["segments"]:
                for ext in ("mp4", "man", "p7s"):
                    f = seg["files"][ext]
                    out = os.path.join(dest, f"{c['serial']}-{seg['index']}.{ext}")
                    t0 = time.monotonic()
                    p = subprocess.run(["mtp-getfile", str(f["handle"]), out], capture_output=True)
                    elapsed += time.monotonic() - t0
                    if p.returncode != 0 or os.path.getsize(out) != f["size"]:
                        sys.exit(f"mtp-getfile failed on {out}: {p.stdout[-300:]} {p.stderr[-300:]}")
                    total += f["size"]
                    os.unlink(out)
        world.control("undock 1")
    return total, elapsed


def link_ratio(name):
    world = World()
    truth = world.truth()
    cam = truth["cameras"][0]
    video = sum(seg["files"]["mp4"]["size"] for rec in cam["recordings"] for seg in rec["segments"])
    small = sum(f["size"] for rec in cam["recordings"] for seg in rec["segments"]
                for k, f in seg["files"].items() if k != "mp4")
    rig = Rig(world, config={"spool": {"quota": "32G", "min_free": "512M"},
                             "usb": {"command_timeout": "10s", "stall_timeout": "5s"}}, name="bench", tmp_dir=OUT)
    samples = []
    try:
        d = rig.start(log_level="info")
        world.control(f"dock {cam['serial']} 1")
        total = video + small
        while True:
            st = world.status()["cameras"][0]["bytes_served"]
            samples.append((time.monotonic(), st))
            if st >= total:
                break
            if d.proc.poll() is not None:
                sys.exit(f"dockd exited: {d.log()[-2000:]}")
            if samples[-1][0] - samples[0][0] > 600:
                sys.exit(f"camera sent {st} of {total} bytes in 600 s")
            time.sleep(0.02)
        rig.stop()
    finally:
        rig.cleanup()
    # From the first byte the camera sent (a manifest) to its last.
    first = next(t for t, b in samples if b > 0)
    last = samples[-1][0]
    rate = total / (last - first)
    link = cam["link_mb_s"] * 1e6
    print(f"dockd_{name}_MB_s: {rate / 1e6:.1f}")
    print(f"{name}_link_MB_s: {link / 1e6:.1f}")
    print(f"offload_vs_link_{name}: {rate / link:.2f}")


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--link":
        return link_ratio(sys.argv[2])
    world = World()
    truth = world.truth()
    mtp_bytes, mtp_s = libmtp_peer(world, truth)

    for c in truth["cameras"]:
        world.control(f"dock {c['serial']} {c['docked_bay']}")
    # Everything on the benchmark's file system (its directory is removed after).
    with Rig(world, config={"spool": {"quota": "32G", "min_free": "512M"}}, name="bench", tmp_dir=OUT) as rig:
        d = rig.start()
        t0 = time.monotonic()
        # The offload ends when a bay leaves "offloading" for the tests and the
        # charge (which take the battery's time, not the pipeline's).
        after = ("testing", "charging", "ready", "fault")
        wait_for(lambda: all((rig.bay(n) or {}).get("state") in after for n in range(1, world.bays + 1)),
                 1800, interval=0.1, what="all bays offloaded")
        dockd_s = time.monotonic() - t0
        cpu = cpu_seconds(d.proc.pid)
        rss = peak_rss_kib(d.proc.pid)
        bays = [rig.bay(n) for n in range(1, world.bays + 1)]
        for b in bays:
            s = b.get("summary") or {}
            if b["state"] == "fault" or s.get("deleted") != s.get("segments"):
                sys.exit(f"bay {b['bay']} did not offload everything: {b['state']} {s}")
        dockd_bytes = sum(b["summary"]["bytes_pulled"] for b in bays)
        hash_s = sum(b["summary"]["hash_seconds"] for b in bays)
        rig.stop()

        # openssl over the same bytes (from the file backend's copies, before
        # the rig's directory goes).
        files = glob.glob(os.path.join(rig.central, "evidence", "*", "*", "*.mp4"))
        t0 = time.monotonic()
        for f in files:
            subprocess.run(["openssl", "dgst", "-sha256", f], check=True, capture_output=True)
        openssl_s = time.monotonic() - t0
        openssl_bytes = sum(os.path.getsize(f) for f in files)
        if openssl_bytes != dockd_bytes:
            sys.exit(f"central storage holds {openssl_bytes} bytes of video, dockd pulled {dockd_bytes}")

    gb = dockd_bytes / 1e9
    print(f"bays: {world.bays}")
    print(f"bytes: {dockd_bytes}")
    print(f"libmtp_MB_s: {mtp_bytes / mtp_s / 1e6:.1f}")
    print(f"dockd_MB_s: {dockd_bytes / dockd_s / 1e6:.1f}")
    print(f"offload_vs_libmtp: {(dockd_bytes / dockd_s) / (mtp_bytes / mtp_s):.2f}")
    print(f"dockd_hash_MB_s: {dockd_bytes / hash_s / 1e6:.1f}")
    print(f"openssl_sha256_MB_s: {openssl_bytes / openssl_s / 1e6:.1f}")
    print(f"hash_vs_openssl: {(dockd_bytes / hash_s) / (openssl_bytes / openssl_s):.2f}")
    print(f"cpu_seconds_per_GB: {cpu / gb:.2f}")
    print(f"peak_rss_MiB: {rss / 1024:.1f}")


if __name__ == "__main__":
    main()
