# SPDX-License-Identifier: Apache-2.0
"""Helpers for the D-Bus, polkit and dockctl cases of the operations suite:
typed calls with busctl, a signal listener (bus-listen), the interface tables
of docs/dbus-api.md, dockctl in a tmux terminal, and the check that no
camera string reaches a terminal raw."""

import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from dockdtest import BUILD_DIR, DOCKCTL, SOURCE_DIR, TestFailure, check, wait_for  # noqa: E402
from systembus import as_user, unpreloaded  # noqa: E402

BUS_NAME = "org.dockd.Dock1"
DOCK_PATH = "/org/dockd/Dock1"
DOCK_IFACE = "org.dockd.Dock1"
BAY_IFACE = "org.dockd.Bay1"
BUS_LISTEN = os.path.join(BUILD_DIR, "tests", "operations", "bus-listen")
SCENARIOS = os.path.join(HERE, "scenarios")


def bay_path(n):
    return f"{DOCK_PATH}/bay/{n}"


def scenario(name):
    return os.path.join(SCENARIOS, name)


# ---- busctl ----

def unwrap(v):
    """busctl --json=short values: {"type": T, "data": D} to plain Python."""
    if isinstance(v, dict) and set(v) == {"type", "data"}:
        return unwrap(v["data"])
    if isinstance(v, dict):
        return {k: unwrap(x) for k, x in v.items()}
    if isinstance(v, list):
        return [unwrap(x) for x in v]
    return v


class BusError(TestFailure):
    def __init__(self, name, message):
        super().__init__(f"{name}: {message}")
        self.name, self.message = name, message


def busctl(env, *args, user=None, check_rc=True, interactive=False):
    """busctl on the bus in env as root or user; returns the CompletedProcess."""
    argv = ["busctl", "--json=short", "--timeout=30",
            f"--allow-interactive-authorization={'yes' if interactive else 'no'}"] + list(args)
    if user:
        argv = as_user(user, argv)
    p = subprocess.run(argv, env=dict(unpreloaded(), **env), capture_output=True, text=True, timeout=60)
    if check_rc and p.returncode != 0:
        raise TestFailure(f"busctl {' '.join(args)} as {user or 'root'}: {p.stderr.strip()}")
    return p


def gvariant_text(v):
    """A Python value as GVariant text (gdbus call's argument syntax)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'"


def call(env, path, iface, method, *args, user=None, interactive=False):
    """A method call with gdbus (which, unlike busctl, prints the D-Bus error
    name); returns gdbus's printed reply, or raises BusError(name, message)."""
    argv = ["gdbus", "call", "--system", "--timeout", "60", "--dest", BUS_NAME, "--object-path", path,
            "--method", f"{iface}.{method}"] + (["--interactive"] if interactive else [])
    argv += [gvariant_text(a) for a in args]
    if user:
        argv = as_user(user, argv)
    p = subprocess.run(argv, env=dict(unpreloaded(), **env), capture_output=True, text=True, timeout=90)
    if p.returncode != 0:
        m = re.search(r"GDBus\.Error:([\w.]+): (.*)", p.stderr, re.S)
        if not m:
            raise BusError("", p.stderr.strip())
        raise BusError(m.group(1), m.group(2).strip())
    return p.stdout.strip()


def error_of(stderr):
    """busctl prints 'Call failed: MESSAGE' without the error's name."""
    msg = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    m = re.match(r"Call failed: (.*)", msg)
    return "", (m.group(1) if m else msg)


def get_all(env, path, iface, user=None):
    p = busctl(env, "call", BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll", "s", iface,
               user=user, check_rc=False)
    if p.returncode != 0:
        raise BusError(*error_of(p.stderr))
    return unwrap(json.loads(p.stdout))[0]


def get(env, path, iface, prop, user=None):
    p = busctl(env, "get-property", BUS_NAME, path, iface, prop, user=user, check_rc=False)
    if p.returncode != 0:
        raise BusError(*error_of(p.stderr))
    return unwrap(json.loads(p.stdout))


def managed_objects(env, user=None):
    p = busctl(env, "call", BUS_NAME, DOCK_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
               user=user, check_rc=False)
    if p.returncode != 0:
        raise BusError(*error_of(p.stderr))
    return unwrap(json.loads(p.stdout))[0]


def introspect_xml(env, path):
    import xml.etree.ElementTree as ET
    p = busctl(env, "introspect", "--xml-interface", BUS_NAME, path)
    return ET.fromstring(p.stdout)


# ---- signals ----

class Listener:
    """bus-listen as root or user: every signal dockd sends that reaches it."""

    def __init__(self, env, user=None):
        argv = [BUS_LISTEN]
        if user:
            argv = as_user(user, argv)
        self.proc = subprocess.Popen(argv, env=dict(unpreloaded(), **env), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events, self._ready, self._synced = [], threading.Event(), 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        if not self._ready.wait(15):
            self.stop()
            raise TestFailure(f"bus-listen as {user or 'root'} did not get ready: {self.proc.stderr.read()}")

    def _read(self):
        for line in self.proc.stdout:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("ready"):
                self._ready.set()
                continue
            if "synced" in e:
                with self._lock:
                    self._synced += 1
                continue
            with self._lock:
                self.events.append(e)

    def sync(self):
        """Return once every signal the bus queued for this listener before
        now has been read."""
        with self._lock:
            n = self._synced
        self.proc.stdin.write("sync\n")
        self.proc.stdin.flush()
        wait_for(lambda: self._synced > n, 15, what="bus-listen to sync with the bus")

    def signals(self, path=None, member=None):
        with self._lock:
            return [e for e in self.events if (path is None or e["path"] == path)
                    and (member is None or e["member"] == member)]

    def changes(self, path, iface):
        """PropertiesChanged of iface on path: [(t, changed dict, invalidated list)]."""
        return [(e["t"], e["body"][1], e["body"][2]) for e in self.signals(path, "PropertiesChanged")
                if e["body"][0] == iface]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---- docs/dbus-api.md ----

def documented_interfaces():
    """{interface: {"properties": {name: (type, flags)}, "methods": {name: (in, out)}}}
    from the tables of docs/dbus-api.md."""
    out, iface, kind = {}, None, None
    for line in open(os.path.join(SOURCE_DIR, "docs", "dbus-api.md")):
        m = re.match(r"## .*interface (org\.dockd\.\w+)\s*$", line)
        if m:
            iface = m.group(1)
            out.setdefault(iface, {"properties": {}, "methods": {}})
            continue
        if line.startswith("## "):
            iface = None
            continue
        if iface is None or not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in ("name", "method"):
            kind = "properties" if cells[0] == "name" else "methods"
            continue
        if set(cells[0]) <= set("-"):
            continue
        name = cells[0].strip("`")
        if kind == "properties":
            flags = {f.strip() for f in cells[2].split(",") if f.strip()}
            out[iface]["properties"][name] = (cells[1].strip("`"), flags)
        else:
            out[iface]["methods"][name] = ("".join(re.findall(r"`([^`]+)`", cells[1])),
                                           "".join(re.findall(r"`([^`]+)`", cells[2])))
    return out


# ---- terminals ----

# What may reach a terminal besides printable text: newline, and on a terminal
# dockctl's own SGR colour sequences (ESC [ digits/; m) and the cursor and
# erase sequences of a redraw (ESC [ digits A/K/J/H, ESC [ ? 25 l/h).
OWN_SEQUENCES = re.compile(r"\x1b\[[0-9;]*[mAKJHG]|\x1b\[\?25[lh]|\x1b\[\?7[lh]")


def raw_controls(text, terminal=False):
    """Control characters (C0 but \\n, DEL, C1) and bidirectional overrides in
    text, after removing dockctl's own sequences when terminal: [(offset, char)]."""
    if terminal:
        text = OWN_SEQUENCES.sub("", text)
    bad = []
    for i, ch in enumerate(text):
        o = ord(ch)
        if ch == "\n" or (ch == "\r" and terminal):
            continue
        if o < 0x20 or o == 0x7f or 0x80 <= o <= 0x9f or ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
            bad.append((i, ch))
    return bad


def check_clean(text, what, terminal=False):
    bad = raw_controls(text, terminal)
    check(not bad, f"{what}: raw control characters reach the output: "
                   f"{[(i, hex(ord(c))) for i, c in bad[:10]]} in {text[max(0, bad[0][0] - 60):bad[0][0] + 60]!r}"
          if bad else "")


def width(s):
    """Columns s takes in a terminal (East Asian wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in s)


class Tmux:
    """A private tmux server with one window running a command at a given size."""

    def __init__(self, tmp, command, env, cols=80, rows=24):
        self.sock = tmp.join(f"tmux-{time.monotonic_ns()}.sock")
        self.base = ["tmux", "-u", "-S", self.sock, "-f", "/dev/null"]
        self.rc_file = tmp.join(f"tmux-rc-{time.monotonic_ns()}")
        shell_cmd = f"{' '.join(map(shlex.quote, command))}; echo $? > {shlex.quote(self.rc_file)}; exec sleep 600"
        e = dict(unpreloaded(), **env)
        e.setdefault("LANG", "C.UTF-8")
        if "NO_COLOR" not in env:
            e.pop("NO_COLOR", None)
        self.env = e
        subprocess.run(self.base + ["new-session", "-d", "-x", str(cols), "-y", str(rows), shell_cmd],
                       env=e, check=True)
        self._tmux("set-option", "-g", "window-size", "manual")
        self.cols = cols

    def _tmux(self, *args):
        return subprocess.run(self.base + list(args), env=self.env, capture_output=True, text=True, check=True)

    def screen(self, escapes=False):
        return self._tmux("capture-pane", "-p", *(["-e"] if escapes else [])).stdout

    def resize(self, cols, rows=24):
        self._tmux("resize-window", "-x", str(cols), "-y", str(rows))
        self.cols = cols

    def keys(self, *keys):
        self._tmux("send-keys", *keys)

    def exit_status(self, timeout=20):
        wait_for(lambda: os.path.exists(self.rc_file) and open(self.rc_file).read().strip(), timeout,
                 what="the command in tmux to exit")
        return int(open(self.rc_file).read().strip())

    def done(self):
        return os.path.exists(self.rc_file) and open(self.rc_file).read().strip() != ""

    def kill(self):
        subprocess.run(self.base + ["kill-server"], env=self.env, capture_output=True)


def dockctl_as(user, args, env):
    argv = [DOCKCTL] + list(args)
    if user:
        argv = as_user(user, argv)
    return subprocess.run(argv, env=dict(os.environ, **env), capture_output=True, text=True, timeout=60)


# ---- polkit: who may act ----

OPERATOR = ("dockd-operator", 64170)     # a polkit rule grants every org.dockd action; reads status
READER = ("dockd-reader", 64171)         # reads status (dockd-status), no polkit rule
OUTSIDER = ("dockd-outsider", 64172)     # in no dockd group, no polkit rule
SLOW = ("dockd-slow", 64173)             # granted, once the test opens a gate

# The rules polkitd gets (JavaScript, as in /etc/polkit-1/rules.d). Every check
# of an org.dockd action is logged (subject and the details dockd passed) to
# LOG, so tests see what polkit was asked, and whether it was asked at all.
RULES = """
polkit.addRule(function(action, subject) {
    if (action.id.indexOf("org.dockd.") != 0)
        return polkit.Result.NOT_HANDLED;
    polkit.spawn(["/bin/sh", "-c", 'printf "%s\\\\n" "$*" >> "$0"', "@LOG@", action.id, subject.user,
                  "camera=" + action.lookup("camera"), "recording=" + action.lookup("recording"),
                  "reference=" + action.lookup("reference"), "bay=" + action.lookup("bay")]);
    if (subject.user == "dockd-operator")
        return polkit.Result.YES;
    if (subject.user == "dockd-slow") {
        polkit.spawn(["/bin/sh", "-c", 'touch "$0/asked"; while [ ! -e "$0/go" ]; do sleep 0.05; done', "@GATE@"]);
        return polkit.Result.YES;
    }
    return polkit.Result.NOT_HANDLED;
});
"""


class Authority:
    """What operator actions need around dockd, in a test's temporary
    directory: the users (dockd's sysusers file plus OPERATOR, READER,
    OUTSIDER, SLOW), a system bus with the installed D-Bus policy, and a real
    polkitd with dockd's actions file and RULES. root_owns: let root own
    dockd's name too (dockd runs as root inside vdock's world)."""

    def __init__(self, tmp, root_owns=False, polkit=True):
        from systembus import DBUS_POLICY, POLKIT_BUS_POLICY, ROOT_OWNS_DOCKD, STATUS_GROUP, Polkit, SystemBus, Users
        os.chmod(tmp.path, 0o755)
        self.tmp = tmp
        # The operator reads status too (dockctl holds): IT staff who act are in
        # dockd-status; SLOW, in no group, is the one who acts without reading.
        self.users = Users(tmp, [(OPERATOR[0], OPERATOR[1], [STATUS_GROUP]), (READER[0], READER[1], [STATUS_GROUP]),
                                 (OUTSIDER[0], OUTSIDER[1], []), (SLOW[0], SLOW[1], [])])
        self.bus = SystemBus(tmp, includes=(DBUS_POLICY, POLKIT_BUS_POLICY),
                             extra=ROOT_OWNS_DOCKD if root_owns else "")
        self.log_path, self.gate = tmp.join("polkit-checks.log"), tmp.join("polkit-gate")
        os.makedirs(self.gate)
        os.chmod(self.gate, 0o777)
        with open(self.log_path, "w"):
            pass
        os.chmod(self.log_path, 0o666)
        self.rules = RULES.replace("@LOG@", self.log_path).replace("@GATE@", self.gate)
        self.polkit = Polkit(tmp, self.bus, self.rules) if polkit else None

    def env(self):
        return self.bus.env()

    def checks(self):
        """Every authorisation polkit was asked for: [[action, user, "camera=…", …]]."""
        return [ln.split(" ") for ln in open(self.log_path).read().splitlines() if ln]

    def stop(self):
        try:
            if self.polkit:
                self.polkit.stop()
        finally:
            self.bus.stop()


def custody_records(state_dir):
    """Every custody record under state_dir, oldest first."""
    d = os.path.join(state_dir, "custody")
    files = []
    if os.path.isdir(os.path.join(d, "sealed")):
        files += sorted(os.path.join(d, "sealed", f) for f in os.listdir(os.path.join(d, "sealed"))
                        if f.endswith(".jsonl"))
    if os.path.exists(os.path.join(d, "current.jsonl")):
        files.append(os.path.join(d, "current.jsonl"))
    # While dockd seals (docs/custody-log.md), current.jsonl and the new sealed
    # file are one file under two names: read each inode once.
    out, seen = [], set()
    for f in files:
        try:
            with open(f) as fh:
                ino = os.fstat(fh.fileno()).st_ino
                if ino in seen:
                    continue
                seen.add(ino)
                out += [json.loads(ln) for ln in fh if ln.strip()]
        except FileNotFoundError:
            continue
    return out


def operator_records(state_dir):
    """Custody records naming who asked (the operator actions)."""
    return [r for r in custody_records(state_dir) if "action" in r and "uid" in r]


def verify_custody(state):
    from dockdtest import DOCKD
    d = os.path.join(state, "custody")
    files = [os.path.join(d, "sealed", f) for f in sorted(os.listdir(os.path.join(d, "sealed")))
             if f.endswith(".jsonl")] if os.path.isdir(os.path.join(d, "sealed")) else []
    files.append(os.path.join(d, "current.jsonl"))
    p = subprocess.run([DOCKD, "--verify-custody"] + files + ["--custody-key", os.path.join(d, "dock-key.pub.pem")],
                       capture_output=True, text=True)
    return p.returncode == 0, p.stdout + p.stderr
