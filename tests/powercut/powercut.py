# SPDX-License-Identifier: Apache-2.0
"""Driving powercutfs from Python: start it on a backing directory and a mount
point, send control commands (README.md), and cut the power.

Needs root, /dev/fuse and a private mount namespace (dockdtest.in_private_mount_ns)
so that a crashed test leaves no mount behind."""

import json
import os
import socket
import subprocess
import tempfile
import time

BUILD_DIR = os.environ.get("DOCKD_BUILD_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
POWERCUTFS = os.path.join(BUILD_DIR, "tests", "powercut", "powercutfs")

# Temporary directories (the backing tree among them) live apart from
# /tmp/dockd-*: on a shared machine other test runs clean those up, and a
# backing tree that vanishes in the middle of a run is not a power cut.
WORK_DIR = os.environ.get("POWERCUT_WORK_DIR", "/var/tmp/powercut")
os.makedirs(WORK_DIR, exist_ok=True)
tempfile.tempdir = WORK_DIR


class ControlError(Exception):
    pass


class PowercutFS:
    def __init__(self, workdir, journal=False, mountpoint=None):
        self.backing = os.path.join(workdir, "backing")
        self.mnt = mountpoint or os.path.join(workdir, "mnt")
        self.control_path = os.path.join(workdir, "powercut.ctl")
        self.log_path = os.path.join(workdir, "powercutfs.log")
        os.makedirs(self.mnt, exist_ok=True)
        argv = [POWERCUTFS, "--control", self.control_path, self.backing, self.mnt]
        if journal:
            argv.insert(1, "--journal")
        # Outside vdock's umockdev preload: this is a plain file system daemon.
        env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "UMOCKDEV_DIR")}
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log, env=env)
        line = self.proc.stdout.readline().decode().strip()
        if line != "ready":
            self.proc.wait(5)
            raise ControlError(f"powercutfs did not start ({self.proc.returncode}): {self.logtail()}")
        self._sock = None

    def logtail(self):
        with open(self.log_path, "rb") as f:
            return f.read()[-2000:].decode("utf-8", "replace")

    def control(self, line):
        if self._sock is None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._sock.connect(self.control_path)
            self._file = self._sock.makefile("rw")
        self._file.write(line + "\n")
        self._file.flush()
        reply = self._file.readline().strip()
        if not reply.startswith("ok"):
            raise ControlError(f"powercutfs {line!r}: {reply or 'no answer'}")
        return reply[2:].strip()

    def stats(self):
        return json.loads(self.control("stats"))

    def sync(self):
        self.control("sync")

    def freeze(self):
        self.control("freeze")

    def freeze_after(self, n):
        self.control(f"freeze-after {int(n)}")

    def thaw(self):
        """End a freeze without a cut: held requests fail, nothing is dropped."""
        self.control("thaw")

    def frozen(self):
        return self.stats()["state"] == "frozen"

    def cut(self):
        """Drop every pending change. The mount refuses everything until remount()."""
        self.control("cut")

    def remount(self):
        self.control("remount")
        # The new mount answers once the kernel's INIT went through.
        deadline = time.monotonic() + 10
        while True:
            try:
                os.stat(self.mnt)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def power_cycle(self):
        self.cut()
        self.remount()

    def path(self, *p):
        return os.path.join(self.mnt, *p)

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.control("quit")
            except (ControlError, OSError):
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._sock:
            self._sock.close()
            self._sock = None
        self.log.close()


def fsync_path(path, datasync=False):
    fd = os.open(path, os.O_RDONLY)
    try:
        (os.fdatasync if datasync else os.fsync)(fd)
    finally:
        os.close(fd)


def fdatasync_path(path):
    fsync_path(path, datasync=True)
