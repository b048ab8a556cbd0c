#!/usr/bin/env python3
"""What COMMAND leaves running in vdock's world ends before the world is torn
down. A client still starting up as vdock tears down (it binds a uevent
socket, as libusb_init() and sd-device do, which umockdev's preload makes a
file in the testbed) made umockdev's teardown fail about every other run:
'cannot remove /tmp/umockdev.XXXXXX: Directory not empty', exit 133.
Usage: test-leftovers.py VDOCK"""
import os
import socket
import subprocess
import sys
import tempfile
import time

RUNS = 10   # each run failed about half the time before the fix

# COMMAND: leaves four clients that keep opening uevent listeners (for 30 s
# at most, should nothing end them), says their pids, and exits at once.
COMMAND = r"""
import os, socket, sys, time
pids = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        end = time.monotonic() + 30
        while time.monotonic() < end:
            s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 15)   # NETLINK_KOBJECT_UEVENT
            try:
                s.bind((0, 1))
            except OSError:
                pass
            s.close()
    pids.append(pid)
with open(sys.argv[1], "w") as f:
    f.write(" ".join(map(str, pids)))
"""


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def main():
    vdock = sys.argv[1]
    failed = []
    with tempfile.TemporaryDirectory(prefix="vdock-leftovers-") as tmp:
        scen = os.path.join(tmp, "s.ini")
        with open(scen, "w") as f:
            f.write("[dock]\nbays = 1\n")
        for i in range(RUNS):
            pids_file = os.path.join(tmp, f"pids-{i}")
            # a file, not a pipe: clients left running would hold a pipe open
            with open(os.path.join(tmp, f"stderr-{i}"), "w+") as err:
                p = subprocess.run([vdock, "--scenario", scen, "--", sys.executable, "-c", COMMAND, pids_file],
                                   stdout=subprocess.DEVNULL, stderr=err, timeout=60)
                err.seek(0)
                stderr = err.read()
            pids = [int(x) for x in open(pids_file).read().split()]
            left = [pid for pid in pids if alive(pid)]
            for pid in left:
                os.kill(pid, 9)
            if p.returncode != 0 or left:
                failed.append(f"run {i}: vdock exited {p.returncode}, clients still running {left}\n{stderr[-500:]}")
    if failed:
        sys.exit("\n".join(failed))
    print(f"PASS: {RUNS} runs, every client COMMAND left ended with it, teardown clean")


main()
