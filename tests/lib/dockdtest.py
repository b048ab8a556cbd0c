# SPDX-License-Identifier: Apache-2.0
"""Helpers for whole-daemon tests: run the real dockd (optionally inside vdock's
world) with a temporary state directory, a fake NOTIFY_SOCKET, a private D-Bus and
a private journald, and look at what a user would see.

Each test file defines cases with @case and ends with run_cases(); meson runs one
case per test: `test_x.py CASE`."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import hangreport
import vdockcontrol

SOURCE_DIR = os.environ.get("DOCKD_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DIR = os.environ.get("DOCKD_BUILD_DIR") or os.path.join(SOURCE_DIR, "build")
DOCKD = os.path.join(BUILD_DIR, "dockd", "dockd")
# LD_PRELOADed into dockd: the kernel's NTP state as the test chooses (fake-ntp.c).
FAKE_NTP = os.path.join(BUILD_DIR, "tests", "lib", "libfake-ntp.so")
DOCKCTL = os.path.join(BUILD_DIR, "dockd", "dockctl")
VDOCK = os.path.join(BUILD_DIR, "tests", "vdock", "vdock")


def _sanitized():
    try:
        with open(os.path.join(BUILD_DIR, "meson-info", "intro-buildoptions.json")) as f:
            return any(o["name"] == "b_sanitize" and o["value"] not in ("none", [])
                       for o in json.load(f))
    except (OSError, ValueError, KeyError):
        return False


# A sanitizer build: memory figures (ASan's shadow and quarantine) say nothing about dockd.
SANITIZED = _sanitized()

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
    """Poll pred until it is true; timeout None: as long as it takes (the
    caller knows pred ends true or raises, the meson timeout bounds a hang)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if deadline is not None and time.monotonic() > deadline:
            raise TestFailure(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def stop_all(*steps):
    """Run every cleanup step (None is skipped) even if an earlier one
    fails, so a failing stop leaves no server or daemon behind; the first
    failure is raised once all have run."""
    first = None
    for step in steps:
        if step is None:
            continue
        try:
            step()
        except BaseException as e:
            first = first or e
    if first is not None:
        raise first


def in_private_mount_ns():
    """Re-exec the current test in a private mount namespace (needed for a
    private journald). Returns only inside the namespace."""
    if os.environ.get("DOCKD_TEST_MOUNT_NS") == "1":
        return
    env = dict(os.environ, DOCKD_TEST_MOUNT_NS="1")
    argv = ["unshare", "--mount", "--propagation", "private", sys.executable] + sys.argv
    os.execvpe("unshare", argv, env)


class TempDir:
    def __init__(self, prefix="dockd-test-", dir=None):
        self.path = tempfile.mkdtemp(prefix=prefix, dir=dir)

    def join(self, *p):
        return os.path.join(self.path, *p)

    def cleanup(self):
        if os.environ.get("DOCKD_TEST_KEEP"):
            print(f"keeping {self.path}")
            return
        shutil.rmtree(self.path, ignore_errors=True)


class NotifySocket:
    """A fake $NOTIFY_SOCKET: collects sd_notify() messages. A thread keeps
    reading it: sd_notify() blocks once a datagram socket's queue is full, and a
    dock with many bays sends a STATUS= at every state change."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.1)
        self.messages = []
        self._lock = threading.Lock()
        self._stop = False
        self._thread = threading.Thread(target=self._reader, daemon=True)
        self._thread.start()

    def _reader(self):
        while not self._stop:
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, BlockingIOError):
                continue
            except OSError:
                return
            with self._lock:
                for line in data.decode("utf-8", "replace").split("\n"):
                    if line:
                        self.messages.append((time.monotonic(), line))

    def poll(self):
        pass   # the reader thread collects them

    def seen(self, prefix):
        with self._lock:
            return [m for _, m in self.messages if m.startswith(prefix)]

    def wait(self, prefix, timeout=10.0):
        return wait_for(lambda: self.seen(prefix), timeout, what=f"sd_notify {prefix}")

    def close(self):
        self._stop = True
        self._thread.join(2)
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
        # Outside umockdev's preload (we may be inside vdock's world): journald
        # must bind the real /run/systemd/journal sockets.
        self.env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "UMOCKDEV_DIR")}
        self.proc = subprocess.Popen(["/lib/systemd/systemd-journald"], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists("/run/systemd/journal/socket"), 10, what="journald")

    def entries(self, **match):
        """Journal entries of dockd as dicts, optionally filtered by FIELD=value."""
        subprocess.run(["journalctl", "--flush"], capture_output=True, env=self.env)
        args = ["journalctl", "-o", "json", "--no-pager", "SYSLOG_IDENTIFIER=dockd"]
        out = subprocess.run(args, capture_output=True, text=True, env=self.env).stdout
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


def make_ca(tmp, name="Test Agency CA"):
    """A throwaway CA certificate (PEM) for tests that need trust anchors."""
    key, pem = tmp.join("ca.key"), tmp.join("ca.pem")
    if not os.path.exists(pem):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                        "-nodes", "-keyout", key, "-out", pem, "-days", "2", "-subj", f"/CN={name}"],
                       check=True, capture_output=True)
    return pem


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
    """The real dockd binary, started with a config and a fake NOTIFY_SOCKET.
    Use it as a context manager (or call kill() in a finally): a case that
    fails must not leave its dockd running. run_cases() kills whatever a case
    left all the same, and says so."""

    _started = []   # every Dockd of this process, for run_cases()

    def __init__(self, tmp, config, args=(), env=None, wrapper=(), log_level="debug"):
        self.tmp = tmp
        self.notify = NotifySocket(tmp.join(f"notify-{time.monotonic_ns()}"))
        self.stderr_path = tmp.join("dockd.stderr")
        self.stderr = open(self.stderr_path, "ab")
        e = dict(os.environ)
        e.pop("JOURNAL_STREAM", None)
        if "DOCKD_ASAN_OPTIONS" in e:
            e["ASAN_OPTIONS"] = e["DOCKD_ASAN_OPTIONS"]
        e.update({"NOTIFY_SOCKET": self.notify.path})
        if env:
            e.update(env)
        argv = list(wrapper) + [DOCKD, "--config", config, "--allow-root",
                                "--log-level", log_level] + list(args)
        self.proc = subprocess.Popen(argv, env=e, stdout=self.stderr, stderr=self.stderr)
        Dockd._started.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()

    def running(self):
        return self.proc.poll() is None

    def kill(self):
        """SIGKILL if still running, reap it, close what it held; idempotent."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.notify.close()
        self.stderr.close()

    @classmethod
    def kill_all(cls):
        """Kill every dockd this process started that still runs; their pids."""
        left = [d.proc.pid for d in cls._started if d.running()]
        for d in cls._started:
            d.kill()
        cls._started.clear()
        return left

    def wait_ready(self, timeout=None):
        """Until READY=1 or dockd's exit: no guess of how fast the machine is."""
        def ready():
            if self.proc.poll() is not None:
                raise TestFailure(f"dockd exited ({self.proc.returncode}) before it was ready; its log:\n"
                                  + self.log())
            return self.notify.seen("READY=1")
        try:
            wait_for(ready, timeout, what="sd_notify READY=1")
        except TestFailure as e:
            if "exited" in str(e):
                raise
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

    SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

    def check_sanitizers(self):
        log = self.log()
        for m in self.SANITIZER_MARKERS:
            i = log.find(m)
            if i >= 0:
                raise TestFailure(f"dockd: sanitizer report:\n{log[max(0, i - 200):i + 4000]}")

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
        self.check_sanitizers()
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
    hangreport.install()
    try:
        _cases[name]()
    except Exception:
        traceback.print_exc()
        print(f"FAIL: {name}")
        sys.exit(1)
    finally:
        left = Dockd.kill_all()
        if left:
            print(f"{name}: killed dockd {left}, which the case left running")
    print(f"PASS: {name}")
    sys.exit(0)


# ---- tests inside vdock's world ----

SCENARIOS = os.path.join(SOURCE_DIR, "tests", "vdock", "scenarios")


def run_in_vdock(scenario, extra_args=(), time_scale=3600):
    """Re-execute this test inside vdock's world (unless already inside) and
    return the World. vdock exits with the test's status. The cameras' batteries
    charge time_scale times faster than real time (None: as the scenario says)."""
    if "VDOCK_CONTROL" in os.environ:
        return World()
    path = scenario if os.path.isabs(scenario) else os.path.join(SCENARIOS, scenario)
    argv = [VDOCK, "--scenario", path] + list(extra_args)
    if time_scale:
        argv += ["--time-scale", str(time_scale)]
    argv += ["--", sys.executable] + sys.argv
    sys.stdout.flush()
    # Sanitizer builds: vdock is a fixture, its leaks at exit are not dockd's;
    # dockd gets the caller's options back (Dockd below).
    env = dict(os.environ)
    env["DOCKD_ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "")
    env["ASAN_OPTIONS"] = "detect_leaks=0"
    env.pop(hangreport.TABLE_OWNER, None)   # this pid becomes vdock: the case inside prints the table
    os.execve(VDOCK, argv, env)


class World:
    """vdock's world, seen from inside: control socket, CA, ground truth."""

    def __init__(self):
        self.control_path = os.environ["VDOCK_CONTROL"]
        self.ca = os.environ["VDOCK_CA"]
        self.bays = int(os.environ["VDOCK_BAYS"])
        self.dir = os.environ["VDOCK_WORLD"]
        self._n = 0

    def control(self, line):
        try:
            return vdockcontrol.command(line, self.control_path)
        except vdockcontrol.ControlError as e:
            raise TestFailure(str(e)) from None

    def truth(self):
        self._n += 1
        path = os.path.join(self.dir, f"truth-{os.getpid()}-{self._n}.json")
        self.control(f"truth {path}")
        with open(path) as f:
            t = json.load(f)
        os.unlink(path)
        return t

    def status(self):
        return json.loads(self.control("status"))

    def segments(self, truth=None):
        """(camera, segment) for every segment of every camera."""
        t = truth or self.truth()
        for cam in t["cameras"]:
            for rec in cam["recordings"]:
                for seg in rec["segments"]:
                    yield cam, seg


def sha256_file(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return h.hexdigest()
            h.update(b)


def cms_verify(p7s, man, ca):
    p = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", p7s,
                        "-content", man, "-CAfile", ca, "-purpose", "any", "-out", "/dev/null"],
                       capture_output=True, text=True)
    return p.returncode == 0, p.stderr.strip()


# For cases whose camera goes silent on purpose: a stall is noticed after 2 s, not
# dockd's 5 s. Only those: on a loaded machine a healthy camera emulated by vdock can
# take longer than 2 s to answer, and every other case would see a spurious stall.
class Rig:
    """dockd in vdock's world with a private bus, a file backend in a temporary
    directory, and helpers to wait for what a user would see. USB timeouts are
    dockd's defaults unless config says otherwise.

    A context manager: `with Rig(world) as rig:` cleans up (cleanup()) however
    the block ends; a case calls rig.stop() itself where dockd's exit matters."""

    def __init__(self, world, config=None, env=None, name="offload", ntp="synchronised", bus=None, tmp_dir=None):
        """ntp: the dock clock's NTP state dockd is shown (fake-ntp.c):
        "synchronised", "unsynchronised", or None for the machine's own.
        bus: a function of the TempDir making the bus (with env() and
        stop()) dockd and dockctl use; a PrivateBus by default.
        tmp_dir: where the rig's directory (state, spool, central storage)
        is made; $TMPDIR or /tmp by default."""
        self.world = world
        self.ntp = ntp
        self.tmp = TempDir(prefix=f"dockd-{name}-", dir=tmp_dir)
        self.bus = (bus or PrivateBus)(self.tmp)
        self.central = self.tmp.join("central")
        self.state = self.tmp.join("state")
        self.env = dict(self.bus.env())
        if env:
            self.env.update(env)
        sections = {
            "dock": {"name": "test-dock", "state_dir": self.state, "bays": str(world.bays),
                     "trust_anchors": world.ca, "removal_debounce": "3s"},
            "file": {"path": self.central},
            "storage": {"retry_initial": "200ms", "retry_max": "2s", "custody_interval": "2s"},
        }
        for sec, kv in (config or {}).items():
            sections.setdefault(sec, {}).update(kv)
        self.config_sections = sections
        self.config = write_config(self.tmp.join("dockd.conf"), sections)
        self.dockd = None

    def start(self, extra_env=None, wait=True, log_level="debug"):
        env = dict(self.env)
        if self.ntp and os.path.exists(FAKE_NTP):
            env["LD_PRELOAD"] = " ".join(filter(None, (os.environ.get("LD_PRELOAD"), FAKE_NTP)))
            env["FAKE_NTP"] = self.ntp
        if extra_env:
            env.update(extra_env)
        self.dockd = Dockd(self.tmp, self.config, env=env, log_level=log_level)
        if wait:
            self.dockd.wait_ready()
        return self.dockd

    def kill9(self):
        self.dockd.kill9()

    def status(self):
        p = dockctl("status", "--json", env=self.env, check_rc=False)
        if p.returncode != 0:
            return None
        return json.loads(p.stdout)

    def bay(self, n):
        s = self.status()
        if not s:
            return None
        for b in s["bays"]:
            if b["bay"] == n:
                return b
        return None

    def wait_bay(self, n, states, timeout=60):
        states = [states] if isinstance(states, str) else states

        def ok():
            if self.dockd.proc.poll() is not None:
                raise TestFailure(f"dockd exited with {self.dockd.proc.returncode}:\n{self.dockd.log()[-4000:]}")
            b = self.bay(n)
            return b if b and b["state"] in states else None
        try:
            return wait_for(ok, timeout, interval=0.2, what=f"bay {n} in {states}")
        except TestFailure as e:
            raise TestFailure(f"{e}; bay is {self.bay(n)}; log tail:\n{self.dockd.log()[-4000:]}")

    def wait_log(self, needle, timeout=60):
        return wait_for(lambda: needle in self.dockd.log(), timeout, what=f"log {needle!r}")

    def custody_snapshot(self):
        """[(path, bytes)] of the custody log in chain order, as it was at one moment
        while dockd may be appending and sealing (docs/custody-log.md, "Reading a live
        log"): current.jsonl first, then the sealed files listed, leaving out those
        sealed after current.jsonl was opened; an unfinished last line is left out."""
        d = os.path.join(self.state, "custody")
        try:
            cur = open(os.path.join(d, "current.jsonl"), "rb")
        except FileNotFoundError:
            # Only a log that was never started (dockd stopped before it made one)
            # has no current file: with sealed files there, a missing one is a defect.
            sealed = os.path.join(d, "sealed")
            if os.path.isdir(sealed) and any(f.endswith(".jsonl") for f in os.listdir(sealed)):
                raise
            return []
        with cur:
            names = os.listdir(os.path.join(d, "sealed"))
            current = cur.read()
        complete = current[:current.rfind(b"\n") + 1]
        first = json.loads(complete.split(b"\n", 1)[0])["seq"] if complete else None
        sealed = []
        for name in names:
            m = re.fullmatch(r".*-(\d+)-(\d+)\.jsonl", name)
            if m and (first is None or int(m.group(1)) < first):
                sealed.append((int(m.group(1)), os.path.join(d, "sealed", name)))
        out = []
        for _, path in sorted(sealed):
            with open(path, "rb") as f:
                out.append((path, f.read()))
        return out + [(os.path.join(d, "current.jsonl"), complete)]

    def custody_files(self):
        """The log's files in chain order (see custody_snapshot)."""
        return [path for path, _ in self.custody_snapshot()]

    def custody_records(self):
        return [json.loads(line) for _, data in self.custody_snapshot() for line in data.splitlines()
                if line.strip()]

    def verify_custody(self):
        """dockd --verify-custody on the log directory, as an operator checks a live dock."""
        d = os.path.join(self.state, "custody")
        p = subprocess.run([DOCKD, "--verify-custody", d, "--custody-key", os.path.join(d, "dock-key.pub.pem")],
                           capture_output=True, text=True)
        return p.returncode == 0, p.stdout + p.stderr

    def object_path(self, area, serial, rec, index, ext):
        return os.path.join(self.central, area, serial, rec, f"{index:06d}.{ext}")

    def object_file(self, area, serial, rec, index, ext):
        """A local file with the object's bytes as central storage holds them
        (a path that does not exist if it holds none). Other backends' tests
        replace it with a read-back (tests/upload/uploadtest.py)."""
        return self.object_path(area, serial, rec, index, ext)

    def stop(self):
        rc = None
        if self.dockd:
            rc = self.dockd.stop()
        self.bus.stop()
        return rc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    def cleanup(self):
        """Kill dockd if it still runs, stop the bus, remove the temporary
        directory."""
        try:
            if self.dockd and self.dockd.proc.poll() is None:
                self.dockd.kill9()
        finally:
            try:
                self.bus.stop()
            except Exception:
                pass
            self.tmp.cleanup()


def check_offloaded(rig, truth, quarantined=()):
    """Every segment of the ground truth: in central storage with its .man and
    .p7s, bytes matching, signature verifying with stock OpenSSL; deleted from the
    camera exactly when it was confirmed and not held. quarantined: set of
    (serial, recording_id, index) expected under quarantine/ and still on the camera."""
    problems = []
    held = {(s, r) for s, r, _ in quarantined}
    for cam, seg in World.segments(None, truth):
        key = (cam["serial"], seg["recording_id"], seg["index"])
        area = "quarantine" if key in quarantined else "evidence"
        base = [cam["serial"], seg["recording_id"], seg["index"]]
        if seg["fate"] == "never-on-camera":
            continue
        mp4 = rig.object_file(area, *base, "mp4")
        man = rig.object_file(area, *base, "man")
        p7s = rig.object_file(area, *base, "p7s")
        for p in (mp4, man, p7s):
            if not os.path.exists(p):
                problems.append(f"{key}: {p} missing")
        if problems:
            continue
        files = seg["files"]
        served = files["mp4"].get("served_sha256", files["mp4"]["sha256"])
        if sha256_file(mp4) != served:
            problems.append(f"{key}: video in central storage differs from what the camera holds")
        if area == "evidence":
            if sha256_file(mp4) != files["mp4"]["sha256"]:
                problems.append(f"{key}: video hash differs from the manifest's")
            ok, err = cms_verify(p7s, man, rig.world.ca)
            if not ok:
                problems.append(f"{key}: openssl cms -verify failed: {err}")
            if (cam["serial"], seg["recording_id"]) in held:
                if seg["fate"] != "on-camera":
                    problems.append(f"{key}: deleted although its recording is held ({seg['fate']})")
            elif seg["fate"] != "deleted":
                problems.append(f"{key}: confirmed but still on the camera ({seg['fate']})")
        else:
            if seg["fate"] != "on-camera":
                problems.append(f"{key}: quarantined but not kept on the camera ({seg['fate']})")
    check(not problems, "\n".join(problems))
