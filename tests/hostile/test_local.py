#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Local users (issue 12, item 6): who may read dockd's status and who may
touch the dock's hardware, as the installed files (meson install --destdir)
decide it.

What the fix must implement: sysusers creates a group `dockd-status`; the
D-Bus policy lets its members call org.dockd.Dock1 (status, and the operator
actions, each of which polkit must allow: without polkit they are refused); the udev rules
give camera device nodes, port power, chargers and LEDs to the daemon's own
user (or its private group dockd), never to a group that reads status; the
README tells IT staff to add dockctl users to dockd-status.

local-status-group-dbus runs the installed policy in a private dbus-daemon
configured like Debian's system bus, with the users and groups the installed
sysusers file creates (systemd-sysusers --root, bind-mounted over /etc/passwd
and /etc/group in a private mount namespace): dockd runs as user dockd, a
member of dockd-status reads the status, another user is refused.
local-device-rules reads the installed udev rules; their effect on device
nodes cannot be shown here: the machine has no USB stack and no udevd
(umockdev emulates devices for dockd, not for udev's rule engine)."""

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import dockdtest  # noqa: E402
from dockdtest import (DOCKCTL, Dockd, TempDir, check, in_private_mount_ns, make_ca,  # noqa: E402
                       run_cases, wait_for, write_config)
from systembus import SystemBus, Users, as_user  # noqa: E402
from test_install import expected_files, install  # noqa: E402

BUS_NAME = "org.dockd.Dock1"
STATUS_GROUP = "dockd-status"
# What a member of dockd-status may call: nothing that changes evidence,
# configuration or a device. Reconcile (main's ops-metrics, for `dockctl
# reconcile`) only reads central storage back and records its verdict, one run
# at a time; GetReconcileResult and SummarizeReports read.
READ_METHODS = {"GetStatus", "ListBays", "ListReports", "Reconcile", "GetReconcileResult", "SummarizeReports"}
# The operator actions (docs/dbus-api.md), each behind a polkit action: with no
# polkit to say yes (none runs on this bus), a member of dockd-status is refused.
WRITE_CALLS = {
    "HoldRecording": ("/org/dockd/Dock1", "org.dockd.Dock1", ["sss", "BWC-1", "20261121T221500Z-0001", "CASE-1"]),
    "ReleaseRecording": ("/org/dockd/Dock1", "org.dockd.Dock1", ["sss", "BWC-1", "20261121T221500Z-0001", "CASE-1"]),
    "RetryStorage": ("/org/dockd/Dock1", "org.dockd.Dock1", []),
    "SetEnabled": ("/org/dockd/Dock1/bay/1", "org.dockd.Bay1", ["b", "false"]),
}
READER, OUTSIDER = ("dockd-reader", 64150), ("dockd-outsider", 64151)



def installed(tmp):
    dest = install(tmp)
    return {k: dest + v for k, v in expected_files().items()}


def status_groups(policy_path):
    """Groups the D-Bus policy lets call dockd."""
    out = set()
    for pol in ET.parse(policy_path).getroot().iter("policy"):
        if "group" in pol.attrib and any(a.get("send_destination") == BUS_NAME for a in pol.iter("allow")):
            out.add(pol.attrib["group"])
    return out


@dockdtest.case
def local_status_group_dbus():
    """A member of dockd-status reads dockd's status over the system bus
    (the installed policy); a user outside it is refused; every method that
    changes anything is an operator action that, with no polkit to allow it,
    is refused to that member too."""
    in_private_mount_ns()
    tmp = TempDir()
    bus = d = None
    try:
        os.chmod(tmp.path, 0o755)
        files = installed(tmp)
        users = Users(tmp, [(*READER, [STATUS_GROUP]), (*OUTSIDER, [])], sysusers=files["sysusers"])
        check(STATUS_GROUP in users.groups(),
              f"the installed sysusers file ({open(files['sysusers']).read().strip()}) creates no group "
              f"{STATUS_GROUP}")
        allowed = status_groups(files["dbus"])
        check(STATUS_GROUP in allowed, f"the D-Bus policy lets groups {sorted(allowed)} read status, not {STATUS_GROUP}")
        bus = SystemBus(tmp, includes=(files["dbus"],))
        sock, env = bus.socket, bus.env()

        state, central = tmp.join("state"), tmp.join("central")
        for p in (state, central):
            os.makedirs(p)
            shutil.chown(p, "dockd", "dockd")
        ca = make_ca(tmp)
        os.chmod(ca, 0o644)
        config = write_config(tmp.join("dockd.conf"), {
            "dock": {"name": "test-dock", "state_dir": state, "bays": "1", "trust_anchors": ca},
            "file": {"path": central}})
        os.chmod(config, 0o644)
        old = os.umask(0)   # the notify socket: writable by user dockd
        try:
            d = Dockd(tmp, config, env=env, wrapper=as_user("dockd", []))
        finally:
            os.umask(old)
        d.wait_ready()
        wait_for(lambda: subprocess.run([DOCKCTL, "status"], env=dict(os.environ, **env),
                                        capture_output=True).returncode == 0, 10, what="dockd on the bus (root)")

        def dockctl_as(user):
            return subprocess.run(as_user(user, [DOCKCTL, "status", "--json"]), env=dict(os.environ, **env),
                                  capture_output=True, text=True, timeout=30)
        problems = []
        r = dockctl_as(READER[0])
        if r.returncode != 0:
            problems.append(f"a member of {STATUS_GROUP} cannot read the status: {r.stderr.strip()}")
        r = dockctl_as(OUTSIDER[0])
        if r.returncode == 0:
            problems.append("a user in no dockd group reads the status")
        p = subprocess.run(["busctl", "--address=unix:path=" + sock, "introspect", BUS_NAME, "/org/dockd/Dock1",
                            "org.dockd.Dock1"], capture_output=True, text=True, timeout=30)
        methods = set(re.findall(r"^\.(\w+)\s+method", p.stdout, re.M))
        if not methods or methods - READ_METHODS - set(WRITE_CALLS):
            problems.append(f"org.dockd.Dock1 offers {sorted(methods)}: only {sorted(READ_METHODS)} and the "
                            f"polkit-guarded {sorted(WRITE_CALLS)} may be there ({p.stderr.strip()})")
        for method, (path, iface, args) in WRITE_CALLS.items():
            r = subprocess.run(as_user(READER[0], ["busctl", "--address=unix:path=" + sock, "call", BUS_NAME, path,
                                                   iface, method] + args),
                               capture_output=True, text=True, timeout=30)
            if r.returncode == 0:
                problems.append(f"a member of {STATUS_GROUP} called {method} with no polkit to allow it")
        check(not problems, "\n".join(problems))
        d.stop()
        d = None
    finally:
        if d and d.proc.poll() is None:
            d.kill9()
        if bus:
            bus.stop()
        tmp.cleanup()


def udev_rules(path):
    """Rules as lists of (key, op, value), continuation lines joined."""
    text = re.sub(r"\\\n", " ", open(path).read())
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        rules.append(re.findall(r'([A-Z_]+(?:\{[^}]*\})?)\s*([!=+:-]?=)\s*"([^"]*)"', line))
    return rules


def granted_groups(rules):
    """(group, what) pairs: device nodes or sysfs attributes a rule gives a
    group access to (GROUP= on a node with group bits in MODE, chgrp/chown
    :group or setfacl g: in RUN)."""
    out = []
    for r in rules:
        kv = {k: v for k, op, v in r if op in ("=", ":=")}
        what = " ".join(f"{k}{op}{v}" for k, op, v in r if not k.startswith(("GROUP", "OWNER", "MODE", "RUN")))[:120]
        if "GROUP" in kv and not re.fullmatch(r"0?[0-7]00", kv.get("MODE", "0660")):
            out.append((kv["GROUP"], what))
        for k, op, v in r:
            if k.startswith("RUN"):
                out += [(g, what) for g in re.findall(r"\bchgrp\s+(?:-\w+\s+)*([\w-]+)", v)]
                out += [(g, what) for g in re.findall(r"\bchown\s+(?:-\w+\s+)*[\w-]*:([\w-]+)", v)]
                out += [(g, what) for g in re.findall(r"\bsetfacl\b.*?\bg(?:roup)?:([\w-]+):", v)]
    return out


def owner_users(rules):
    out = []
    for r in rules:
        out += [v for k, op, v in r if k == "OWNER" and op in ("=", ":=")]
        for k, op, v in r:
            if k.startswith("RUN"):
                out += re.findall(r"\bchown\s+(?:-\w+\s+)*([\w-]+)(?::[\w-]*)?\s", v)
    return out


@dockdtest.case
def local_device_rules():
    """The installed udev rules give the dock's hardware to the daemon (user
    dockd, or its private group) and nothing to a group that reads status."""
    tmp = TempDir()
    try:
        files = installed(tmp)
        rules = udev_rules(files["udev"])
        readers = status_groups(files["dbus"])
        problems = []
        sysusers = open(files["sysusers"]).read()
        if not re.search(rf"^g\s+{STATUS_GROUP}\s", sysusers, re.M):
            problems.append(f"sysusers creates no group {STATUS_GROUP}")
        if STATUS_GROUP not in readers:
            problems.append(f"the D-Bus policy does not let {STATUS_GROUP} read status (it lets {sorted(readers)})")
        for g, what in granted_groups(rules):
            if g in readers:
                problems.append(f"group {g} reads status over D-Bus and gets device access: {what}")
        cams = [r for r in rules if any(k == "ENV{ID_DOCKD_CAMERA}" and op == "==" for k, op, v in r)
                and any(k in ("GROUP", "OWNER", "MODE") for k, op, v in r)]
        if not cams:
            problems.append("no rule sets who owns camera device nodes")
        for r in cams:
            kv = {k: v for k, op, v in r}
            if kv.get("OWNER") != "dockd" and kv.get("GROUP") != "dockd":
                problems.append(f"camera nodes are not the daemon's (OWNER/GROUP dockd): {kv}")
        port = [r for r in rules if any(k.startswith("RUN") and "-port" in v and "disable" in v for k, op, v in r)]
        if not port:
            problems.append("no rule gives the daemon the hub ports' disable attribute (port power)")
        readme = open(os.path.join(dockdtest.SOURCE_DIR, "README.md")).read()
        if STATUS_GROUP not in readme:
            problems.append(f"the README does not tell IT staff that dockctl needs group {STATUS_GROUP}")
        check(not problems, "\n".join(problems))
    finally:
        tmp.cleanup()


if __name__ == "__main__":
    run_cases()
