# SPDX-License-Identifier: Apache-2.0
"""Helpers of the operations suite: dockd's Prometheus text (parsed here with the
standard library, checked by promtool), the metric names PromQL expressions in
contrib/ use, and central storage (file, s3 or tus) to run dockd against and to
damage behind its back."""

import json
import os
import re
import socket
import shutil
import subprocess
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "upload"))
import dockdtest  # noqa: E402
from dockdtest import SOURCE_DIR, TempDir, TestFailure, check  # noqa: E402

CONTRIB = os.path.join(SOURCE_DIR, "contrib")
RULES = os.path.join(CONTRIB, "prometheus", "dockd.rules.yml")
RULES_TEST = os.path.join(CONTRIB, "prometheus", "dockd.rules.test.yml")
DASHBOARD = os.path.join(CONTRIB, "grafana", "dockd.json")

# Journal MESSAGE_IDs (dockd/basic/message-ids.h, systemd/dockd.catalog).
RECONCILE_PROBLEM = "e09237141a4643e294700949ea7c3c87"
RECONCILE_DONE = "ec8f18e8158a41bd84afb9f627a46d69"
RECONCILE_FAILED = "d281b69c133e4d9b9dee5a750b44a41f"

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


# ---- Prometheus text format ----

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')


class Metrics:
    """One exposition: families {name: (type, help)} and samples [(name, labels, value)]."""

    def __init__(self, text):
        self.text = text
        self.families = {}
        self.samples = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line:
                continue
            if line.startswith("# HELP ") or line.startswith("# TYPE "):
                parts = line.split(" ", 3)
                fam = self.families.setdefault(parts[2], [None, None])
                fam[0 if parts[1] == "TYPE" else 1] = parts[3] if len(parts) > 3 else ""
                continue
            if line.startswith("#"):
                continue
            m = _SAMPLE.match(line)
            if not m:
                raise TestFailure(f"metrics line {n} does not parse: {line!r}")
            labels, rest = {}, m.group(2) or ""
            while rest:
                lm = _LABEL.match(rest)
                if not lm:
                    raise TestFailure(f"metrics line {n}: bad labels {rest!r}")
                labels[lm.group(1)] = lm.group(2)
                rest = rest[lm.end():]
            self.samples.append((m.group(1), labels, float(m.group(3))))

    def names(self):
        return set(self.families)

    def get(self, name, **labels):
        """The value of the one sample of name with (at least) these labels, or None."""
        found = [v for n, l, v in self.samples if n == name and all(l.get(k) == str(w) for k, w in labels.items())]
        if len(found) > 1:
            raise TestFailure(f"{len(found)} samples of {name}{labels}")
        return found[0] if found else None

    def series(self, name):
        return [(l, v) for n, l, v in self.samples if n == name]

    def type(self, name):
        return self.families.get(name, [None])[0]


def promtool_check(text, what="metrics"):
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True)
    check(p.returncode == 0, f"promtool check metrics on {what} ({p.returncode}): {p.stdout}{p.stderr}\n"
                             f"--- the text:\n{text[:6000]}")


def read_textfile(path):
    with open(path) as f:
        return f.read()


def http_get(url, timeout=None):
    """No wall-clock budget by default: a hang is bounded by the test's meson
    timeout, and whether dockd answered in time is checked by what happened
    first (see still_open), never by how fast this machine is."""
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, dict(r.headers), r.read().decode()


def still_open(sock):
    """True while the peer has not closed sock (nothing to read yet)."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)


# ---- PromQL: which metric names an expression reads ----

_PROMQL_WORDS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
    "quantile", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "atan2", "inf", "nan",
}


def promql_metric_names(expr):
    """Metric names an expression selects: identifiers outside label matchers,
    grouping clauses and strings that are neither functions nor keywords."""
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)          # strings
    s = re.sub(r"\{[^}]*\}", "{}", s)                      # label matchers
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1()", s)
    s = re.sub(r"\[[^\]]*\]", "[]", s)                     # ranges
    s = re.sub(r"\$\w+", "", s)                            # Grafana variables
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", s):
        word = m.group(0)
        after = s[m.end():].lstrip()
        if word.lower() in _PROMQL_WORDS or after.startswith("("):
            continue
        if re.fullmatch(r"\d+[smhdwy]", word):
            continue
        names.add(word)
    return names


def dashboard_queries():
    """(panel title, expr) of every query of the Grafana dashboard, template variables included."""
    with open(DASHBOARD) as f:
        d = json.load(f)
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                out.append((p.get("title", "?"), t["expr"]))
            walk(p.get("panels", []))
    walk(d["panels"])
    for v in d.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if q:
            m = re.match(r"label_values\((.*),\s*\w+\)$", q)
            out.append((f"variable {v['name']}", m.group(1) if m else q))
    return out


def rule_exprs():
    """expr of every rule in dockd.rules.yml (a YAML subset: 'expr:' scalars and '>-' blocks)."""
    exprs, lines = [], open(RULES).read().splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)expr:\s*(.*)$", lines[i])
        if m:
            indent, val = len(m.group(1)), m.group(2).strip()
            if val in (">-", ">", "|", "|-"):
                body = []
                i += 1
                while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                    body.append(lines[i].strip())
                    i += 1
                exprs.append(" ".join(body))
                continue
            exprs.append(val)
        i += 1
    return exprs


# ---- central storage ----

class Store:
    """Central storage of one backend for a Rig: its dockd configuration and ways
    to read, delete and alter an object behind dockd's back."""

    def __init__(self, backend, tmp_path):
        self.backend = backend
        self.inner = None
        if backend != "file":
            import uploadtest
            self.inner = uploadtest.STORES[backend](tmp_path)

    def config(self):
        if self.inner is None:
            return {}
        c = self.inner.config()
        c.setdefault("storage", {}).update({"retry_initial": "200ms", "retry_max": "2s"})
        return c

    def attach(self, rig):
        self.rig = rig
        if self.inner is not None:
            import uploadtest
            uploadtest.attach_store(rig, self.inner)

    def keys(self):
        if self.inner is None:
            out = []
            for top, _, files in os.walk(self.rig.central):
                for f in files:
                    out.append(os.path.relpath(os.path.join(top, f), self.rig.central))
            return out
        return self.inner.keys()

    def read(self, key):
        if self.inner is None:
            p = os.path.join(self.rig.central, key)
            return open(p, "rb").read() if os.path.exists(p) else None
        return self.inner.fetch(key)

    def delete(self, key):
        if self.backend == "file":
            os.unlink(os.path.join(self.rig.central, key))
        elif self.backend == "s3":
            import uploadtest
            self.inner.s3.delete_object(uploadtest.BUCKET, key)
        else:
            for uid, info in self.inner.uploads().get(key, []):
                for p in (self.inner.srv.data_path(uid), self.inner.srv.data_path(uid) + ".json"):
                    if os.path.exists(p):
                        os.unlink(p)
        check(self.read(key) is None, f"{key} still readable after deleting it")

    def alter(self, key, data=None):
        """Replace the object's bytes: by default the same length, one byte changed."""
        old = self.read(key)
        check(old is not None, f"{key} is not in central storage")
        if data is None:
            data = bytearray(old)
            data[len(data) // 2] ^= 0x5A
            data = bytes(data)
        if self.backend == "file":
            p = os.path.join(self.rig.central, key)
            os.chmod(p, 0o644)
            with open(p, "wb") as f:
                f.write(data)
        elif self.backend == "s3":
            import uploadtest
            self.inner.s3.put_object(uploadtest.BUCKET, key, data)
        else:
            (uid, _), = [(u, i) for u, i in self.inner.uploads().get(key, [])
                         if i.get("size") is not None and i["stored_bytes"] == i["size"]]
            check(len(data) == len(old), "tus stores keep their length: alter in place")
            with open(self.inner.srv.data_path(uid), "r+b") as f:
                f.write(data)
        check(self.read(key) == data, f"{key} was not altered")

    def stop(self):
        if self.inner is not None:
            self.inner.stop()


def segment_keys(serial, recording, index, area="evidence"):
    return [f"{area}/{serial}/{recording}/{index:06d}.{ext}" for ext in ("mp4", "man", "p7s")]


def deleted_segments(rig):
    """(serial, segment) of every deleted-from-camera custody record."""
    return [(r["camera"], r["segment"]) for r in rig.custody_records() if r["event"] == "deleted-from-camera"]


def reconcile(rig, *args, expect_rc=None):
    """dockctl reconcile --json: (exit status, result document or None)."""
    p = dockdtest.dockctl("reconcile", "--json", *args, env=rig.env, check_rc=False)
    if expect_rc is not None:
        check(p.returncode == expect_rc,
              f"dockctl reconcile exited {p.returncode}, expected {expect_rc}: {p.stdout}{p.stderr}")
    try:
        doc = json.loads(p.stdout) if p.stdout.strip() else None
    except ValueError:
        raise TestFailure(f"dockctl reconcile --json printed no JSON: {p.stdout!r} {p.stderr!r}")
    return p.returncode, doc


__all__ = ["Metrics", "promtool_check", "read_textfile", "http_get", "promql_metric_names",
           "dashboard_queries", "rule_exprs", "Store", "segment_keys", "deleted_segments", "reconcile",
           "RECONCILE_PROBLEM", "RECONCILE_DONE", "RECONCILE_FAILED", "PROMTOOL", "RULES", "RULES_TEST",
           "DASHBOARD", "CONTRIB", "TempDir"]
