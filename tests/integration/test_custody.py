#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""dockd --verify-custody as a user runs it, and docs/custody-log.md kept honest: its
shell and Python checkers (run verbatim) accept a log written by dockd and reject
altered copies, and a log written from the document alone, in Python with the
openssl tool, is accepted by dockd."""

import base64
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from dockdtest import BUILD_DIR, DOCKD, SOURCE_DIR, TempDir, case, check, run_cases

WRITER = os.path.join(BUILD_DIR, "tests", "unit", "test-custody")
DOC = os.path.join(SOURCE_DIR, "docs", "custody-log.md")
SKIP = 77


def sample(tmp):
    """A log written by dockd's own code: a sealed file and the current one."""
    subprocess.run([WRITER, "--write-sample", tmp.path], check=True)
    d = tmp.join("custody")
    files = sorted(glob.glob(os.path.join(d, "sealed", "*.jsonl"))) + [os.path.join(d, "current.jsonl")]
    check(len(files) == 2, f"sample: {files}")
    return files, os.path.join(d, "dock-key.pub.pem")


def verify(files, key=None, extra=()):
    args = [DOCKD, "--verify-custody", *files] + (["--custody-key", key] if key else []) + list(extra)
    p = subprocess.run(args, capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def altered_copy(tmp, files, index, offset, new=None):
    """Copies of files (same names) with one byte of files[index] changed."""
    out = []
    for i, f in enumerate(files):
        dst = tmp.join("alt", os.path.basename(f))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        data = bytearray(open(f, "rb").read())
        if i == index:
            data[offset] = new if new is not None else data[offset] ^ 1
        open(dst, "wb").write(bytes(data))
        out.append(dst)
    return out


def doc_block(marker):
    """The fenced code block of the document whose second line is marker."""
    text = open(DOC).read()
    for block in re.findall(r"```(?:sh|python)\n(.*?)```", text, re.S):
        if block.split("\n")[1].startswith(marker):
            return block
    raise AssertionError(f"no block {marker} in {DOC}")


@case
def cli_valid():
    tmp = TempDir()
    try:
        files, pub = sample(tmp)
        rc, out = verify(files, pub)
        check(rc == 0, out)
        check(re.match(r"^valid: 5 records, seq 0\.\.4, \d{4}-\d\d-\d\dT[\d:.]+Z to \d{4}-.*Z, "
                       r"signed by the key in .*dock-key\.pub\.pem\n$", out), out)
        rc, out = verify(files)
        check(rc == 0 and "internal consistency only" in out, out)
        # the directory: the same log, read the way that is safe while dockd writes it
        rc, out = verify([os.path.dirname(files[-1])], pub)
        check(rc == 0 and out.startswith("valid: 5 records, seq 0..4, "), out)
    finally:
        tmp.cleanup()


@case
def cli_invalid():
    tmp = TempDir()
    try:
        files, pub = sample(tmp)
        size = os.path.getsize(files[1])
        alt = altered_copy(tmp, files, 1, size // 2)
        rc, out = verify(alt, pub)
        check(rc == 1, out)
        check(re.match(r"^" + re.escape(alt[1]) + r":1: ", out), out)
        rc, out = verify(list(reversed(files)), pub)
        check(rc == 1, out)
        rc, out = verify(files + [tmp.join("missing.jsonl")], pub)
        check(rc == 1 and "missing.jsonl" in out, out)
        rc, out = verify(files, files[0])
        check(rc == 1 and "cannot load" in out, out)
    finally:
        tmp.cleanup()


@case
def cli_usage():
    rc, out = verify([])
    check(rc == 2, out)
    p = subprocess.run([DOCKD, "--custody-key", "x.pem"], capture_output=True, text=True)
    check(p.returncode == 2, p.stderr)
    p = subprocess.run([DOCKD, "--verify-custody"], capture_output=True, text=True)
    check(p.returncode == 2 and "FILE" in p.stderr, p.stderr)


def run_doc_checker(tmp, marker, interpreter):
    script = tmp.join(marker)
    open(script, "w").write(doc_block(marker))
    files, pub = sample(tmp)

    p = subprocess.run([interpreter, script, pub, *files], capture_output=True, text=True)
    check(p.returncode == 0 and p.stdout == "OK: 5 records\n", p.stdout + p.stderr)
    # one changed byte in each line of each file, somewhere in the middle, and in sig
    for i, f in enumerate(files):
        data = open(f, "rb").read()
        start = 0
        for line in data.split(b"\n")[:-1]:
            for off in (start + len(line) // 3, start + len(line) - 5):
                alt = altered_copy(tmp, files, i, off)
                p = subprocess.run([interpreter, script, pub, *alt], capture_output=True, text=True)
                check(p.returncode != 0, f"{marker}: {f} byte {off} changed, still OK: {p.stdout}")
            start += len(line) + 1
    # a line removed
    alt = altered_copy(tmp, files, 0, 0, new=ord("{"))
    lines = open(alt[0], "rb").read().split(b"\n")
    open(alt[0], "wb").write(b"\n".join(lines[:1] + lines[2:]))
    p = subprocess.run([interpreter, script, pub, *alt], capture_output=True, text=True)
    check(p.returncode != 0, f"{marker}: line removed, still OK")


@case
def docs_shell_checker():
    if not shutil.which("openssl"):
        sys.exit(SKIP)
    tmp = TempDir()
    try:
        run_doc_checker(tmp, "# verify-custody.sh", "sh")
    finally:
        tmp.cleanup()


@case
def docs_python_checker():
    try:
        import cryptography  # noqa: F401
    except ImportError:
        print("python3-cryptography is not installed")
        sys.exit(SKIP)
    tmp = TempDir()
    try:
        run_doc_checker(tmp, "# verify_custody.py", sys.executable)
    finally:
        tmp.cleanup()


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


@case
def independent_writer():
    """A log made from docs/custody-log.md alone is accepted; one sloppy line is not."""
    if not shutil.which("openssl"):
        sys.exit(SKIP)
    tmp = TempDir()
    try:
        key, pub = tmp.join("k.pem"), tmp.join("k.pub.pem")
        open(key, "wb").write(openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"))
        openssl("pkey", "-in", key, "-pubout", "-out", pub)
        pem = open(pub).read()

        def s(v):
            return json.dumps(v, ensure_ascii=False)

        def line(seq, prev, event, extra):
            body = '{"seq":%d,"time":"2025-03-01T17:04:%02d.000001Z","dock":"dock-9","event":%s' % (
                seq, seq, s(event))
            body += "".join(",%s:%s" % (s(k), s(v)) for k, v in extra)
            body += ',"prev":"%s"' % prev
            open(tmp.join("msg"), "wb").write((body + "}").encode())
            sig = openssl("dgst", "-sha256", "-sign", key, tmp.join("msg"))
            return body + ',"sig":"%s"}' % base64.b64encode(sig).decode()

        records = [("log-started", [("continues", "false"), ("public_key", pem)]),
                   ("docked", [("bay", "1")]),
                   ("pulled", [("bay", "1"), ("camera", "BWC-7"), ("segment", "R/000001"),
                               ("note", 'a "quoted" / slashed\nvalue \u00e9')])]
        prev, out = "0" * 64, []
        for seq, (event, extra) in enumerate(records):
            ln = line(seq, prev, event, extra)
            out.append(ln)
            prev = hashlib.sha256(ln.encode()).hexdigest()
        path = tmp.join("log.jsonl")
        open(path, "w").write("".join(x + "\n" for x in out))
        rc, text = verify([path], pub)
        check(rc == 0 and text.startswith("valid: 3 records, seq 0..2, "), text)

        # a member out of order, signed properly: still refused
        bad = line(3, prev, "undocked", [("camera", "BWC-7"), ("bay", "1")])
        open(path, "a").write(bad + "\n")
        rc, text = verify([path], pub)
        check(rc == 1 and ":4: " in text, text)
    finally:
        tmp.cleanup()


if __name__ == "__main__":
    run_cases()
