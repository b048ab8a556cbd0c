#!/usr/bin/env python3
"""Conformance of vdock against stock clients nobody here wrote.

Outer mode:  conformance.py TOOL VDOCK SCENARIO
  runs `vdock --scenario SCENARIO --ground-truth T -- conformance.py --inner TOOL OUT`,
  then checks every downloaded file against the ground truth.
Inner mode (inside the world): lists and downloads with gphoto2 or mtp-tools.
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import vdockcontrol  # noqa: E402


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=240)
    print("$", " ".join(cmd), "->", p.returncode)
    print(p.stdout[-3000:])
    if p.returncode != 0:
        sys.exit(f"{cmd[0]} failed")
    return p.stdout


def control(line):
    try:
        return vdockcontrol.command(line)
    except vdockcontrol.ControlError as e:
        sys.exit(str(e))


def expected_files(truth):
    for cam in truth["cameras"]:
        for rec in cam["recordings"]:
            for seg in rec["segments"]:
                for f in seg["files"].values():
                    if f["fate"] != "never-on-camera":
                        yield rec["id"], f


def inner_gphoto2(out):
    auto = run(["gphoto2", "--auto-detect"])
    if not re.search(r"usb:001,\d{3}", auto):
        sys.exit("gphoto2 did not detect the camera")
    listing = run(["gphoto2", "--list-files"])
    folders = re.findall(r"folder '(/store_00010001/[^']+)'", listing)
    if not folders:
        sys.exit("gphoto2 listed no recording folders")
    for folder in folders:
        rec = folder.rsplit("/", 1)[1]
        os.makedirs(os.path.join(out, rec), exist_ok=True)
        run(["gphoto2", "--folder", folder, "--get-all-files", "--force-overwrite",
             "--filename", os.path.join(out, rec, "%f.%C")])


def inner_mtp(out):
    truth_path = os.path.join(out, "truth-before.json")
    control("truth " + truth_path)
    truth = json.load(open(truth_path))
    listing = run(["mtp-files"])
    names = set(re.findall(r"Filename: (\S+)", listing))
    for rec, f in expected_files(truth):
        if f["name"] not in names:
            sys.exit(f"mtp-files did not list {f['name']}")
        os.makedirs(os.path.join(out, rec), exist_ok=True)
        run(["mtp-getfile", str(f["handle"]), os.path.join(out, rec, f["name"])])
    # DeleteObject through libmtp: the first segment's video goes away for real.
    first = next(f for _, f in expected_files(truth) if f["name"].endswith(".mp4"))
    run(["mtp-delfile", "-n", str(first["handle"])])
    with open(os.path.join(out, "deleted"), "w") as fh:
        fh.write(str(first["handle"]))


def verify_signatures(out, ca):
    for rec in os.listdir(out):
        d = os.path.join(out, rec)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.endswith(".p7s"):
                man = os.path.join(d, name[:-4] + ".man")
                run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", os.path.join(d, name),
                     "-content", man, "-CAfile", ca, "-purpose", "any", "-out", "/dev/null"])


def check(out, truth_path):
    truth = json.load(open(truth_path))
    deleted = None
    if os.path.exists(os.path.join(out, "deleted")):
        deleted = int(open(os.path.join(out, "deleted")).read())
    n = 0
    for rec, f in expected_files(truth):
        path = os.path.join(out, rec, f["name"])
        data = open(path, "rb").read()
        if len(data) != f["size"] or hashlib.sha256(data).hexdigest() != f["sha256"]:
            sys.exit(f"{rec}/{f['name']}: bytes differ from the ground truth")
        if f["bytes_served"] < f["size"]:
            sys.exit(f"{rec}/{f['name']}: ground truth says only {f['bytes_served']} bytes served")
        want = "deleted" if f["handle"] == deleted else "on-camera"
        if f["fate"] != want:
            sys.exit(f"{rec}/{f['name']}: fate {f['fate']}, expected {want}")
        n += 1
    if n == 0:
        sys.exit("no files checked")
    if deleted is not None:
        dels = truth["cameras"][0]["deletes"]
        if not any(d["handle"] == deleted and d["response_name"] == "OK" for d in dels):
            sys.exit("the DeleteObject request is not in the ground truth")
    print(f"{n} files match the ground truth")


def main():
    if sys.argv[1] == "--inner":
        tool, out = sys.argv[2], sys.argv[3]
        (inner_gphoto2 if tool == "gphoto2" else inner_mtp)(out)
        verify_signatures(out, os.environ["VDOCK_CA"])
        return
    tool, vdock, scenario = sys.argv[1:4]
    with tempfile.TemporaryDirectory(prefix="vdock-conf-") as tmp:
        out = os.path.join(tmp, "out")
        os.makedirs(out)
        truth = os.path.join(tmp, "truth.json")
        p = subprocess.run([vdock, "--scenario", scenario, "--ground-truth", truth, "--world-dir",
                            os.path.join(tmp, "world"), "--", sys.executable, os.path.abspath(__file__),
                            "--inner", tool, out], timeout=280)
        if p.returncode != 0:
            sys.exit(f"inner run failed: {p.returncode}")
        check(out, truth)


if __name__ == "__main__":
    main()
