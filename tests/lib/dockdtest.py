# SPDX-License-Identifier: Apache-2.0
"""Helpers for whole-daemon tests: run the real dockd (optionally inside vdock's
world) with a temporary state directory, a fake NOTIFY_SOCKET, a private D-Bus and
a private journald, and look at what a user would see.

Each test file defines cases with @case and ends with run_cases(); meson runs one
case per test: `test_x.py CASE`."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

SOURCE_DIR = os.environ.get("DOCKD_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DIR = os.environ.get("DOCKD_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
DOCKD = os.path.join(BUILD_DIR, "dockd", "dockd")
DOCKCTL = os.path.join(BUILD_DIR, "dockd", "dockctl")
VDOCK = os.path.join(BUILD_DIR, "tests", "vdock", "vdock")

_cases = {}


def case(fn):
    _cases[fn.__name__.replace("_", "-")] = fn
    return fn


class TestFailure(AssertionError):
    pass


def check(cond, msg="check failed"):
    if not cond:
        raise TestFailure(msg)


def wait_for(pred, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TestFailure(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def in_private_mount_ns():
    """Re-exec the current test in a private mount namespace (needed for a
    private journald). Returns only inside the namespace."""
    if os.environ.get("DOCKD_TEST_MOUNT_NS") == "1":
        return
    env = dict(os.environ, DOCKD_TEST_MOUNT_NS="1")
    argv = ["unshare", "--mount", "--propagation", "private", sys.executable] + sys.argv
    os.execvpe("unshare", argv, env)


class TempDir:
    def __init__(self, prefix="dockd-test-"):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def join(self, *p):
        return os.path.join(self.path, *p)

    def cleanup(self):
        if os.environ.get("DOCKD_TEST_KEEP"):
            print(f"keeping {self.path}")
            return
        shutil.rmtree(self.path, ignore_errors=True)


class NotifySocket:
    """A fake $NOTIFY_SOCKET: collects sd_notify() messages."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.1)
        self.messages = []

    def poll(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, BlockingIOError):
                return
            for line in data.decode("utf-8", "replace").split("\n"):
                if line:
                    self.messages.append((time.monotonic(), line))

    def seen(self, prefix):
        self.poll()
        return [m for _, m in self.messages if m.startswith(prefix)]

    def wait(self, prefix, timeout=10.0):
        return wait_for(lambda: self.seen(prefix), timeout, what=f"sd_notify {prefix}")

    def close(self):
        self.sock.close()


class PrivateBus:
    """A private dbus-daemon; dockd and dockctl find it via DBUS_SYSTEM_BUS_ADDRESS."""

    CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={path}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

    def __init__(self, tmp):
        self.path = tmp.join("bus.socket")
        conf = tmp.join("bus.conf")
        with open(conf, "w") as f:
            f.write(self.CONFIG.format(path=self.path))
        self.proc = subprocess.Popen(["dbus-daemon", "--config-file", conf, "--nofork",
                                      "--nopidfile"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(self.path), 10, what="dbus-daemon")
        self.address = "unix:path=" + self.path

    def env(self):
        return {"DBUS_SYSTEM_BUS_ADDRESS": self.address}

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class PrivateJournal:
    """A journald of our own. Call in_private_mount_ns() first: it mounts tmpfs
    over the journal's socket and storage directories."""

    def __init__(self):
        if os.environ.get("DOCKD_TEST_MOUNT_NS") != "1":
            raise RuntimeError("PrivateJournal needs in_private_mount_ns()")
        for d in ("/run/systemd/journal", "/run/log/journal", "/var/log/journal"):
            if os.path.isdir(d) or d.startswith("/run"):
                os.makedirs(d, exist_ok=True)
                subprocess.run(["mount", "-t", "tmpfs", "tmpfs", d], check=True)
        self.proc = subprocess.Popen(["/lib/systemd/systemd-journald"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists("/run/systemd/journal/socket"), 10, what="journald")

    def entries(self, **match):
        """Journal entries of dockd as dicts, optionally filtered by FIELD=value."""
        subprocess.run(["journalctl", "--flush"], capture_output=True)
        args = ["journalctl", "-o", "json", "--no-pager", "SYSLOG_IDENTIFIER=dockd"]
        out = subprocess.run(args, capture_output=True, text=True).stdout
        res = []
        for line in out.splitlines():
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if all(e.get(k) == v for k, v in match.items()):
                res.append(e)
        return res

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def write_config(path, sections):
    """sections: {"dock": {"name": "x"}, ...} -> INI file."""
    with open(path, "w") as f:
        for sec, kv in sections.items():
            f.write(f"[{sec}]\n")
            for k, v in kv.items():
                f.write(f"{k}={v}\n")
            f.write("\n")
    return path


class Dockd:
    """The real dockd binary, started with a config and a fake NOTIFY_SOCKET."""

    def __init__(self, tmp, config, args=(), env=None, wrapper=(), log_level="debug"):
        self.tmp = tmp
        self.notify = NotifySocket(tmp.join(f"notify-{time.monotonic_ns()}"))
        self.stderr_path = tmp.join("dockd.stderr")
        self.stderr = open(self.stderr_path, "ab")
        e = dict(os.environ)
        e.pop("JOURNAL_STREAM", None)
        e.update({"NOTIFY_SOCKET": self.notify.path})
        if env:
            e.update(env)
        argv = list(wrapper) + [DOCKD, "--config", config, "--allow-root",
                                "--log-level", log_level] + list(args)
        self.proc = subprocess.Popen(argv, env=e, stdout=self.stderr, stderr=self.stderr)

    def wait_ready(self, timeout=15):
        try:
            self.notify.wait("READY=1", timeout)
        except TestFailure:
            raise TestFailure("dockd did not become ready; its log:\n" + self.log())

    def log(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=15):
        return self.proc.wait(timeout)

    def kill9(self):
        self.proc.kill()
        self.proc.wait(10)

    def stop(self, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise TestFailure("dockd did not stop on SIGTERM")
        self.notify.close()
        self.stderr.close()
        return self.proc.returncode


def dockctl(*args, env=None, check_rc=True):
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run([DOCKCTL] + list(args), env=e, capture_output=True, text=True, timeout=30)
    if check_rc and p.returncode != 0:
        raise TestFailure(f"dockctl {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    return p


def run_cases():
    if len(sys.argv) != 2 or sys.argv[1] not in _cases:
        print(f"usage: {sys.argv[0]} CASE; cases: {', '.join(_cases)}", file=sys.stderr)
        sys.exit(2)
    name = sys.argv[1]
    try:
        _cases[name]()
    except Exception:
        traceback.print_exc()
        print(f"FAIL: {name}")
        sys.exit(1)
    print(f"PASS: {name}")
    sys.exit(0)
