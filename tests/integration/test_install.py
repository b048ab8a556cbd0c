#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""meson install --destdir puts every file where pkg-config says; the unit passes
systemd-analyze verify; the journal catalog loads; the exposure score is what the
README claims."""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dockdtest import BUILD_DIR, SOURCE_DIR, TempDir, case, check, run_cases


def pkgconfig(pkg, var, **defines):
    args = ["pkg-config", f"--variable={var}"]
    for k, v in defines.items():
        args.append(f"--define-variable={k}={v}")
    return subprocess.run(args + [pkg], capture_output=True, text=True,
                          check=True).stdout.strip()


def prefix():
    out = subprocess.run(["meson", "introspect", "--buildoptions", BUILD_DIR],
                         capture_output=True, text=True, check=True).stdout
    import json
    for o in json.loads(out):
        if o["name"] == "prefix":
            return o["value"]
    raise RuntimeError("no prefix")


def install(tmp):
    dest = tmp.join("dest")
    subprocess.run(["meson", "install", "-C", BUILD_DIR, "--destdir", dest, "--no-rebuild",
                    "--quiet"], check=True, capture_output=True)
    return dest


def expected_files():
    p = prefix()
    root_prefix = "" if p == "/usr" else p
    return {
        "dockd": os.path.join(p, "sbin", "dockd"),
        "dockctl": os.path.join(p, "bin", "dockctl"),
        "unit": os.path.join(pkgconfig("systemd", "systemdsystemunitdir", root_prefix=root_prefix),
                             "dockd.service"),
        "sysusers": os.path.join(pkgconfig("systemd", "sysusersdir", prefix=p), "dockd.conf"),
        "tmpfiles": os.path.join(pkgconfig("systemd", "tmpfilesdir", prefix=p), "dockd.conf"),
        "catalog": os.path.join(pkgconfig("systemd", "catalogdir", prefix=p), "dockd.catalog"),
        "udev": os.path.join(pkgconfig("udev", "udevdir"), "rules.d", "70-dockd.rules"),
        "dbus": os.path.join(p, "share", "dbus-1", "system.d", "org.dockd.Dock1.conf"),
        "polkit": os.path.join(p, "share", "polkit-1", "actions", "org.dockd.policy"),
    }


@case
def layout():
    tmp = TempDir()
    try:
        dest = install(tmp)
        for what, path in expected_files().items():
            check(os.path.isfile(dest + path), f"{what} not at {path}")
        unit = open(dest + expected_files()["unit"]).read()
        check(f"ExecStart={expected_files()['dockd']}\n" in unit, "ExecStart does not point at sbindir")
        sysusers = open(dest + expected_files()["sysusers"]).read()
        check(re.search(r"^u dockd ", sysusers, re.M) and re.search(r"^g dockd ", sysusers, re.M),
              "sysusers lacks user/group dockd")
        rules = open(dest + expected_files()["udev"]).read()
        for needle in ('GROUP="dockd"', 'TAG+="dockd"', 'ENV{SYSTEMD_WANTS}+="dockd.service"',
                       'ENV{DOCKD_PORT}="$kernel"'):
            check(needle in rules, f"udev rules lack {needle}")
    finally:
        tmp.cleanup()


@case
def unit_verifies():
    if not shutil.which("systemd-analyze"):
        raise SystemExit(77)
    tmp = TempDir()
    try:
        dest = install(tmp)
        files = expected_files()
        # Verify the installed unit, pointing ExecStart at the installed binary.
        unit = open(dest + files["unit"]).read().replace(files["dockd"], dest + files["dockd"])
        path = tmp.join("dockd.service")
        with open(path, "w") as f:
            f.write(unit)
        p = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True)
        check(p.returncode == 0 and not p.stderr.strip(), f"verify: {p.stderr}")
        for needle in ("Type=notify", "WatchdogSec=", "User=dockd", "StateDirectory=dockd",
                       "ProtectSystem=strict", "PrivateTmp=yes", "NoNewPrivileges=yes",
                       "DevicePolicy=closed", "DeviceAllow=char-usb_device rw",
                       "RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6",
                       "SystemCallFilter=", "CapabilityBoundingSet=\n"):
            check(needle in unit, f"unit lacks {needle!r}")
        p = subprocess.run(["systemd-analyze", "security", "--offline=true", path],
                           capture_output=True, text=True)
        m = re.search(r"Overall exposure level for dockd.service: ([0-9.]+)", p.stdout)
        check(m, f"no exposure score: {p.stdout[-500:]} {p.stderr}")
        readme = open(os.path.join(SOURCE_DIR, "README.md")).read()
        check(f"exposure level {m.group(1)}" in readme,
              f"README does not state the current exposure level {m.group(1)}")
    finally:
        tmp.cleanup()


@case
def catalog_loads():
    tmp = TempDir()
    try:
        dest = install(tmp)
        root = tmp.join("root")
        os.makedirs(root + "/usr/lib/systemd/catalog")
        shutil.copy(dest + expected_files()["catalog"], root + "/usr/lib/systemd/catalog/")
        subprocess.run(["journalctl", f"--root={root}", "--update-catalog"], check=True)
        listed = subprocess.run(["journalctl", f"--root={root}", "--list-catalog"],
                                capture_output=True, text=True, check=True).stdout
        ids = re.findall(r'#define DOCKD_MESSAGE_\w+ "([0-9a-f]{32})"',
                         open(os.path.join(SOURCE_DIR, "dockd", "basic", "message-ids.h")).read())
        check(ids, "no message ids found")
        for i in ids:
            check(i in listed, f"MESSAGE_ID {i} is not in the catalog")
    finally:
        tmp.cleanup()


if __name__ == "__main__":
    run_cases()
