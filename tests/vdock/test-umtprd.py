#!/usr/bin/env python3
"""An unmodified umtprd (Debian's umtp-responder) docked in vdock through the
emulated FunctionFS (responder = umtprd): libmtp's tools list and read its
folder byte for byte, delete where the storage is writable and not where it
is read-only, and it survives undocking and docking into another bay.

Outer mode:  test-umtprd.py VDOCK      builds the folders and the scenario, runs vdock
Inner mode:  test-umtprd.py --inner    runs inside the world
"""
import ctypes
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from dockdtest import World, check, wait_for  # noqa: E402

# Sizes that matter on the bus: a data phase (12-byte header + file) that
# fills its last 512-byte packet needs a zero-length packet, which umtprd
# writes with write(fd, buf, 0) (ffs-zero.c); 65524 + 12 is one whole
# umtprd write buffer; 0 is a header-only data phase.
FILES = {
    "DCIM/100CAM/VID_0001.MP4": (1 << 20) + 7,
    "DCIM/100CAM/VID_0002.MP4": 500,
    "DCIM/100CAM/VID_0003.MP4": 1012,
    "DCIM/100CAM/VID_0004.MP4": 65524,
    "empty.txt": 0,
}
READONLY_FILES = {"DCIM/KEEP_0001.MP4": 3000}


def sysfs(dev, attr):
    with open(f"/sys/bus/usb/devices/{dev}/{attr}") as f:
        return f.read().strip()


def mtp(*cmd):
    """A libmtp tool's output; a failure shows it all."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    print("$", " ".join(cmd), "->", p.returncode)
    check(p.returncode == 0, f"{cmd[0]} failed:\n{p.stdout[-3000:]}")
    return p.stdout


def listing():
    """mtp-files → {name: (id, size)} (names are unique in these folders)."""
    found = {}
    for m in re.finditer(r"File ID: (\d+)\n\s+Filename: (.+)\n\s+File size (\d+)", mtp("mtp-files")):
        found[m.group(2)] = (int(m.group(1)), int(m.group(3)))
    return found


def control_requests(vid, pid):
    """Class requests reach umtprd as SETUP events and come back through ep0;
    a request to the device that no function takes stalls."""
    lib = ctypes.CDLL("libusb-1.0.so.0")
    vp, u8, u16 = ctypes.c_void_p, ctypes.c_uint8, ctypes.c_uint16
    lib.libusb_open_device_with_vid_pid.restype = vp
    lib.libusb_open_device_with_vid_pid.argtypes = [vp, u16, u16]
    lib.libusb_control_transfer.argtypes = [vp, u8, u8, u16, u16, ctypes.c_char_p, u16, ctypes.c_uint]
    lib.libusb_claim_interface.argtypes = lib.libusb_release_interface.argtypes = [vp, ctypes.c_int]
    lib.libusb_close.argtypes = [vp]
    lib.libusb_exit.argtypes = [vp]
    ctx = vp()
    assert lib.libusb_init(ctypes.byref(ctx)) == 0
    h = lib.libusb_open_device_with_vid_pid(ctx, vid, pid)
    assert h and lib.libusb_claim_interface(h, 0) == 0
    buf = ctypes.create_string_buffer(40)
    # MTP Get Device Status: umtprd write()s 4 bytes on ep0 (OK, 0x2001)
    n = lib.libusb_control_transfer(h, 0xA1, 0x67, 0, 0, buf, 4, 5000)
    assert n == 4 and buf.raw[:4] == bytes([4, 0, 0x01, 0x20]), (n, buf.raw[:4])
    # MTP Device Reset, no data stage: umtprd acks with read(ep0, buf, 0)
    assert lib.libusb_control_transfer(h, 0x21, 0x66, 0, 0, None, 0, 5000) == 0
    # Microsoft OS vendor request to the device: no MS OS descriptors, a stall (LIBUSB_ERROR_PIPE)
    assert lib.libusb_control_transfer(h, 0xC0, 0xFE, 0, 4, buf, 40, 5000) == -9
    lib.libusb_release_interface(h, 0)
    lib.libusb_close(h)
    lib.libusb_exit(ctx)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def check_listed(found, folder, files):
    for rel, size in files.items():
        name = os.path.basename(rel)
        check(name in found, f"mtp-files did not list {rel}: {sorted(found)}")
        check(found[name][1] == size, f"{rel}: listed size {found[name][1]}, on disk {size}")


def inner(folder, ro_folder, out):
    control = World().control
    wait_for(lambda: os.path.exists("/sys/bus/usb/devices/1-1.1"), 30, what="umtprd's gadget in bay 1")
    assert sysfs("1-1.1", "idVendor") == "1d6b" and sysfs("1-1.1", "idProduct") == "0100"
    assert sysfs("1-1.1", "serial") == "AND-U0001"
    assert sysfs("1-1.1:1.0", "bInterfaceClass") == "06" and sysfs("1-1.1:1.0", "interface") == "MTP"

    control_requests(0x1d6b, 0x0100)
    found = listing()
    check_listed(found, folder, FILES)
    for rel in FILES:
        name = os.path.basename(rel)
        dest = os.path.join(out, name)
        mtp("mtp-getfile", str(found[name][0]), dest)
        check(sha256(dest) == sha256(os.path.join(folder, rel)), f"{rel}: mtp-getfile read other bytes")

    mtp("mtp-delfile", "-n", str(found["VID_0002.MP4"][0]))
    deleted = os.path.join(folder, "DCIM/100CAM/VID_0002.MP4")
    wait_for(lambda: not os.path.exists(deleted), 30, what="the deleted file to go")

    # Another camera, read-only storage, in bay 2: DeleteObject is refused.
    control("undock 1")
    wait_for(lambda: not os.path.exists("/sys/bus/usb/devices/1-1.1"), 30, what="bay 1 empty")
    control("dock AND-U0002 2")
    wait_for(lambda: os.path.exists("/sys/bus/usb/devices/1-1.2"), 30, what="the read-only camera in bay 2")
    found = listing()
    check_listed(found, ro_folder, READONLY_FILES)
    p = subprocess.run(["mtp-delfile", "-n", str(found["KEEP_0001.MP4"][0])], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=120)
    print(p.stdout[-1000:])
    check(os.path.exists(os.path.join(ro_folder, "DCIM/KEEP_0001.MP4")), "a read-only umtprd storage lost a file")

    # The first camera again, in bay 2: umtprd took DISABLE and ENABLE and still answers.
    control("undock 2")
    wait_for(lambda: not os.path.exists("/sys/bus/usb/devices/1-1.2"), 30, what="bay 2 empty")
    control("dock AND-U0001 2")
    wait_for(lambda: os.path.exists("/sys/bus/usb/devices/1-1.2"), 30, what="the first camera in bay 2")
    found = listing()
    rest = {k: v for k, v in FILES.items() if not k.endswith("VID_0002.MP4")}
    check_listed(found, folder, rest)
    check("VID_0002.MP4" not in found, "the deleted file is listed again")
    print("umtprd inner ok")


def make_folder(root, files):
    for rel, size in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(os.urandom(size))


def main():
    if sys.argv[1] == "--inner":
        inner(*sys.argv[2:5])
        return
    vdock = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="vdock-umtprd-") as tmp:
        folder, ro_folder, out = (os.path.join(tmp, d) for d in ("share", "ro", "out"))
        for d in (folder, ro_folder, out):
            os.makedirs(d)
        make_folder(folder, FILES)
        make_folder(ro_folder, READONLY_FILES)
        scen = os.path.join(tmp, "s.ini")
        with open(scen, "w") as f:
            f.write(f"""[dock]
bays = 2
[camera AND-U0001]
responder = umtprd
umtprd_dir = {folder}
manufacturer = Acme
model = Android Cam
bay = 1
[camera AND-U0002]
responder = umtprd
umtprd_dir = {ro_folder}
umtprd_storage = ro
usb_id = 18d1:4ee1
""")
        truth = os.path.join(tmp, "t.json")
        p = subprocess.run([vdock, "--scenario", scen, "--ground-truth", truth, "--world-dir",
                            os.path.join(tmp, "world"), "--", sys.executable, os.path.abspath(__file__),
                            "--inner", folder, ro_folder, out], timeout=280)
        if p.returncode != 0:
            for cam in ("AND-U0001", "AND-U0002"):
                log = os.path.join(tmp, "world", f"umtprd-{cam}", "umtprd.log")
                if os.path.exists(log):
                    print(f"--- {log}\n" + open(log).read()[-3000:])
            sys.exit(f"inner run failed: {p.returncode}")
        t = json.load(open(truth))
        cams = {c["serial"]: c for c in t["cameras"]}
        assert cams["AND-U0001"]["responder"] == "umtprd", cams
        enumerated = [e["value"] for e in t["dock_history"] if e["attr"] == "enumerated"]
        assert len(enumerated) == 3, t["dock_history"]
        if any(os.path.ismount(os.path.join(tmp, "world", f"umtprd-{c}", "ffs")) for c in cams):
            sys.exit("a FunctionFS mount outlived vdock")
        print("umtprd ok")


main()
