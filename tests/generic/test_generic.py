#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Suite generic (issue 17): cameras that do not sign, docked as an unmodified
Debian umtprd through vdock's emulated FunctionFS (responder = umtprd,
tests/vdock/README.md "umtprd cameras"), with the real dockd.

Each case runs twice: outside vdock it makes the folder umtprd serves and the
scenario, and runs vdock with this file and the case again inside its world;
inside, it starts dockd and checks what a user would notice."""

import hashlib
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from dockdtest import VDOCK, Rig, World, case, check, run_cases, wait_for  # noqa: E402

HERE = os.path.abspath(__file__)
FILES = {
    "DCIM/100CAM/VID_0001.MP4": (1 << 20) + 7,
    "DCIM/100CAM/VID_0002.MP4": 4096,
    "notes.txt": 10,
}
USB_ID = "1d6b:0100"


def tree(root):
    """{relative path: sha256} of every file under root."""
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


def in_vdock(camera_keys, inner_timeout=200):
    """Outside vdock: the folder and scenario, then this case again inside vdock;
    returns None. Inside: (World, the folder umtprd serves)."""
    if "VDOCK_CONTROL" in os.environ:
        return World(), os.environ["GENERIC_UMTPRD_DIR"]
    with tempfile.TemporaryDirectory(prefix="dockd-generic-") as tmp:
        folder = os.path.join(tmp, "share")
        for rel, size in FILES.items():
            path = os.path.join(folder, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(os.urandom(size))
        scen = os.path.join(tmp, "s.ini")
        keys = "".join(f"{k} = {v}\n" for k, v in camera_keys.items())
        with open(scen, "w") as f:
            f.write(f"[dock]\nbays = 2\n[camera AND-G0001]\nresponder = umtprd\numtprd_dir = {folder}\n"
                    f"manufacturer = Acme\nmodel = Android Cam\nusb_id = {USB_ID}\nbay = 1\n{keys}")
        env = dict(os.environ, GENERIC_UMTPRD_DIR=folder)
        p = subprocess.run([VDOCK, "--scenario", scen, "--world-dir", os.path.join(tmp, "world"), "--",
                            sys.executable, HERE, sys.argv[1]], env=env, timeout=inner_timeout)
        if p.returncode != 0:
            log = os.path.join(tmp, "world", "umtprd-AND-G0001", "umtprd.log")
            if os.path.exists(log):
                print(f"--- {log}\n" + open(log).read()[-3000:])
            raise SystemExit(f"inner run failed: {p.returncode}")
    return None


def left_alone(generic, line, also=None):
    """dockd with the [generic.NAME] sections given docks the umtprd camera, says
    so in exactly one line containing `line`, and leaves its files as they were.
    also(rig), if given, runs while dockd still runs."""
    inside = in_vdock({})
    if not inside:
        return
    world, folder = inside
    before = tree(folder)
    check(set(before) == set(FILES), f"umtprd's folder: {sorted(before)}")
    with Rig(world, config=generic, name="generic") as rig:
        rig.start()
        try:
            rig.wait_log(line)
        except Exception:
            print(rig.dockd.log()[-6000:])   # what dockd did instead
            raise
        rig.wait_bay(1, "fault")
        if also:
            also(rig)
        rig.stop()
        log = rig.dockd.log()
        lines = [ln for ln in log.splitlines() if line in ln]
        check(len(lines) == 1, f"{len(lines)} lines about the device:\n" + "\n".join(lines))
        # umtprd answers GetDeviceInfo only inside a session: dockd opens one
        # and asks again, as libmtp and gphoto2 do, rather than fail and reset.
        failed = [ln for ln in log.splitlines() if "Camera failed" in ln]
        check(not failed, "dockd took the camera for a failing one:\n" + "\n".join(failed))
        check(not any(r["event"] == "docked" for r in rig.custody_records()),
              "custody has a docking of a device that was not taken")
        check(not os.path.exists(os.path.join(rig.central, "evidence")), "central storage holds evidence")
    check(tree(folder) == before, "the camera's files changed")


@case
def not_allow_listed_left_untouched():
    """An officer's personal phone (no extension, no section): one line, nothing read or deleted."""
    left_alone({}, "no [generic.NAME] section allow-lists it; left untouched")


@case
def other_serial_left_untouched():
    """A section for this model that lists other serials does not take this one."""
    left_alone({"generic.android": {"usb_id": USB_ID, "serials": "AND-G0002 AND-G0003",
                                    "recordings": "DCIM/**/*.MP4", "delete_after_confirm": "yes"}},
               "no [generic.NAME] section allow-lists it; left untouched")


@case
def other_usb_id_left_untouched():
    left_alone({"generic.android": {"usb_id": "18d1:4ee1", "recordings": "DCIM/**/*.MP4",
                                    "delete_after_confirm": "yes"}},
               "no [generic.NAME] section allow-lists it; left untouched")


@case
def allow_listed_recognised():
    """The camera's section is found by USB ID and serial; until dockd offloads
    cameras that do not sign, it says so and leaves the files alone."""
    left_alone({"generic.android": {"usb_id": USB_ID, "serials": "AND-G0001",
                                    "recordings": "DCIM/**/*.MP4", "delete_after_confirm": "yes"}},
               "is allow-listed by [generic.android]", also=dock_certificate_in_central_storage)


def dock_certificate_in_central_storage(rig):
    """The trust anchor of what the dock seals (protocol §12.6) reaches central
    storage beside its custody key, and certifies that key."""
    local = os.path.join(rig.state, "custody", "dock-cert.pem")
    central = os.path.join(rig.central, "custody", "test-dock", "dock-cert.pem")
    wait_for(lambda: os.path.exists(central), 30, what="the dock's certificate in central storage")
    with open(local, "rb") as a, open(central, "rb") as b:
        check(a.read() == b.read(), "central storage holds another certificate than the dock's")
    pub = subprocess.run(["openssl", "x509", "-in", central, "-noout", "-pubkey"], capture_output=True, check=True)
    with open(os.path.join(rig.state, "custody", "dock-key.pub.pem"), "rb") as f:
        check(pub.stdout == f.read(), "the certificate is not for the dock's custody key")


run_cases()
