#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""IT operations (issue 14): the real dockd in vdock's world exports Prometheus
metrics (a textfile and an HTTP endpoint, both checked by promtool during and
after an offload), the shipped alert rules and Grafana dashboard read only what
it exports, reconciliation proves from the custody log that central storage
still holds what the dock deleted from cameras (and notices when an object was
deleted or altered behind its back, on the file, s3 and tus backends), and
`dockctl reports --summary` counts reports per camera and finding."""

import csv
import datetime
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import dockdtest  # noqa: E402
from dockdtest import (DOCKD, PrivateJournal, Rig, TestFailure, case, check, check_offloaded,  # noqa: E402
                       in_private_mount_ns, run_cases, run_in_vdock, wait_for, write_config)
from opstest import (DASHBOARD, PROMTOOL, RECONCILE_DONE, RECONCILE_PROBLEM, RULES, RULES_TEST,  # noqa: E402
                     Metrics, Store, TempDir, dashboard_queries, deleted_segments, http_get, still_open,
                     promql_metric_names, promtool_check, read_textfile, reconcile, rule_exprs, segment_keys)
from webhook import Webhook  # noqa: E402

SCENARIOS = os.path.join(HERE, "scenarios")
BAY_STATES = ("empty", "identifying", "syncing", "offloading", "charging", "testing", "ready", "fault", "disabled")


def scenario(name):
    return os.path.join(SCENARIOS, name)


def reserve_port():
    sys.path.insert(0, os.path.join(HERE, "..", "servers"))
    import serverutil
    return serverutil.reserve_port()


class Ops:
    """vdock's world, central storage of one backend, a webhook, and dockd with
    [metrics] writing a textfile (and serving HTTP when asked)."""

    def __init__(self, scen, backend="file", listen=False, config=None, journal=False, webhook=False,
                 name="ops"):
        if journal:
            in_private_mount_ns()
        self.world = run_in_vdock(scenario(scen))
        self.journal = PrivateJournal() if journal else None
        self.stmp = TempDir(prefix=f"dockd-{name}-store-")
        self.store = self.rig = self.hook = self.port = None
        try:
            self.store = Store(backend, self.stmp.path)
            self.hook = Webhook() if webhook else None
            if self.hook:
                self.hook.start()
            self.textfile = self.stmp.join("textfile", "dockd.prom")
            os.makedirs(os.path.dirname(self.textfile))
            sections = self.store.config()
            sections["metrics"] = {"textfile": self.textfile, "interval": "1s"}
            if listen:
                self.port = reserve_port()
                sections["metrics"]["listen"] = f"127.0.0.1:{self.port.port}"
            if self.hook:
                sections["report"] = {"webhook": self.hook.url}
            for sec, kv in (config or {}).items():
                sections.setdefault(sec, {}).update(kv)
            env = {"DOCKD_LOG_TARGET": "journal"} if journal else None
            self.rig = Rig(self.world, config=sections, env=env, name=name)
            self.store.attach(self.rig)
        except BaseException:
            self.cleanup()
            raise

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port.port}/metrics"

    def metrics(self):
        """The textfile as dockd last wrote it, parsed."""
        return Metrics(read_textfile(self.textfile))

    def wait_metrics(self, pred, timeout=30, what="metrics"):
        def ok():
            if not os.path.exists(self.textfile):
                return None
            m = self.metrics()
            return m if pred(m) else None
        try:
            return wait_for(ok, timeout, interval=0.2, what=what)
        except TestFailure as e:
            text = read_textfile(self.textfile) if os.path.exists(self.textfile) else "(no textfile)"
            raise TestFailure(f"{e}\n--- the last metrics:\n{text[:8000]}")

    def settle(self, bays, timeout=120):
        """Every bay in bays final and every deletion done; returns the truth."""
        for b in bays:
            self.rig.wait_bay(b, ("ready", "fault"), timeout)
        wait_for(lambda: (self.rig.status() or {}).get("storage", {}).get("queued") == 0, 60,
                 what="upload queue empty")
        return self.world.truth()

    def cleanup(self):
        try:
            if self.rig:
                self.rig.cleanup()
            if self.journal:
                self.journal.stop()
        finally:
            try:
                if self.hook:
                    self.hook.stop()
                if self.store:
                    self.store.stop()
                if self.port:
                    self.port.release()
            finally:
                self.stmp.cleanup()


def expect_segments(truth):
    segs = [(c, s) for c in truth["cameras"] for r in c["recordings"] for s in r["segments"]]
    return len(segs), sum(s["files"]["mp4"]["size"] for _, s in segs)


# ---- contrib/: alert rules and dashboard (no daemon) ----

@case
def rules_check():
    p = subprocess.run([PROMTOOL, "check", "rules", RULES], capture_output=True, text=True)
    check(p.returncode == 0, p.stdout + p.stderr)
    check("SUCCESS" in p.stdout, p.stdout)


@case
def rules_test():
    p = subprocess.run([PROMTOOL, "test", "rules", os.path.basename(RULES_TEST)], capture_output=True,
                       text=True, cwd=os.path.dirname(RULES_TEST))
    check(p.returncode == 0, p.stdout + p.stderr)
    # Every alert of the rules file is exercised by the tests, each firing at least once.
    rules = {line.split(":", 1)[1].strip() for line in open(RULES) if line.strip().startswith("- alert:")}
    tested = {line.split(":", 1)[1].strip() for line in open(RULES_TEST) if line.strip().startswith("alertname:")}
    check(rules == tested, f"alerts without a test: {rules - tested}; tests of unknown alerts: {tested - rules}")


@case
def dashboard_parses():
    with open(DASHBOARD) as f:
        d = json.load(f)
    check(d.get("uid") and d.get("title") and d.get("panels"), "not a dashboard")
    qs = dashboard_queries()
    check(len(qs) >= 20, f"{len(qs)} queries")
    for title, expr in qs:
        names = promql_metric_names(expr)
        check(names and all(n.startswith("dockd_") for n in names),
              f"panel {title!r}: query {expr!r} reads {names or 'no metric'}")


# ---- metrics ----

def check_exposition(ops, m, phase):
    """What every exposition must hold, whatever the dock is doing."""
    check(m.get("dockd_build_info", version=m.series("dockd_build_info")[0][0].get("version")) == 1,
          "dockd_build_info")
    check(m.get("dockd_dock_info", dock="test-dock") == 1, m.series("dockd_dock_info"))
    for fam, typ in m.families.items():
        check(fam.startswith("dockd_"), f"{fam}: not under dockd_")
        check(typ[0] in ("counter", "gauge"), f"{fam}: type {typ[0]}")
        check(typ[1], f"{fam}: no HELP")
        check((typ[0] == "counter") == fam.endswith("_total"), f"{fam}: a {typ[0]}")
    for n, labels, v in m.samples:
        for k, val in labels.items():
            # Bounded labels: bay numbers, states and kinds from fixed lists,
            # the serial (validated) only on battery health.
            check(k in ("bay", "state", "kind", "severity", "result", "version", "dock", "backend", "serial"),
                  f"{n}: label {k}")
            if k == "serial":
                check(n == "dockd_camera_battery_health_ratio", f"{n} carries a serial")
    for b in range(1, ops.world.bays + 1):
        states = {l["state"]: v for l, v in m.series("dockd_bay_state") if l["bay"] == str(b)}
        check(set(states) == set(BAY_STATES), f"{phase}: bay {b} states {states}")
        check(sum(states.values()) == 1, f"{phase}: bay {b} is in {sum(states.values())} states")
    check(m.get("dockd_spool_quota_bytes") == 64 << 30, m.get("dockd_spool_quota_bytes"))
    check(abs(m.get("dockd_metrics_timestamp_seconds") - time.time()) < 30, "metrics timestamp")


@case
def metrics_during_and_after_offload():
    ops = Ops("offload.ini", listen=True)
    try:
        ops.rig.start()
        # During: the bay offloads, both the textfile and HTTP pass promtool.
        ops.rig.wait_bay(1, "offloading", 30)
        during = ops.wait_metrics(lambda m: m.get("dockd_bay_state", bay=1, state="offloading") == 1
                                  and (m.get("dockd_pulled_segments_total") or 0) >= 1, 30,
                                  what="metrics showing the bay offloading with a segment pulled")
        check(ops.rig.bay(1)["state"] == "offloading", "the offload ended before the check; slow it down")
        promtool_check(during.text, "the textfile during the offload")
        status, headers, body = http_get(ops.url)
        check(status == 200, status)
        check(headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"), headers)
        promtool_check(body, "GET /metrics during the offload")
        live = Metrics(body)
        check(live.get("dockd_bay_state", bay=1, state="offloading") == 1, "HTTP: bay 1 not offloading")
        check(during.get("dockd_bay_camera_present", bay=1) == 1, "camera not present")
        check_exposition(ops, during, "during")

        # After: every count matches what the camera held.
        truth = ops.settle([1])
        n, size = expect_segments(truth)
        after = ops.wait_metrics(lambda m: m.get("dockd_deleted_segments_total") == n, 30,
                                 what=f"{n} segments deleted in the metrics")
        promtool_check(after.text, "the textfile after the offload")
        promtool_check(http_get(ops.url)[2], "GET /metrics after the offload")
        check_exposition(ops, after, "after")
        for stage in ("pulled", "verified", "confirmed", "deleted"):
            check(after.get(f"dockd_{stage}_segments_total") == n, f"{stage}: {after.get(f'dockd_{stage}_segments_total')}")
            check(after.get(f"dockd_{stage}_bytes_total") == size, f"{stage} bytes: {after.get(f'dockd_{stage}_bytes_total')}")
        check(after.get("dockd_quarantined_segments_total") == 0, "quarantined")
        check(after.get("dockd_uploaded_objects_total") == 3 * n, after.get("dockd_uploaded_objects_total"))
        check(after.get("dockd_uploaded_bytes_total") > size, "uploaded bytes include manifests and signatures")
        check(after.get("dockd_upload_sent_bytes_total") >= after.get("dockd_uploaded_bytes_total"), "sent bytes")
        check(after.get("dockd_unconfirmed_segments") == 0, "unconfirmed")
        check(after.series("dockd_oldest_unconfirmed_segment_timestamp_seconds") == [],
              "an oldest unconfirmed segment when there is none")
        check(after.get("dockd_storage_failing") == 0 and after.get("dockd_spool_full") == 0, "failing/full")
        check(after.get("dockd_bay_state", bay=1, state="ready") == 1, "bay 1 not ready")
        check(after.get("dockd_camera_battery_health_ratio", serial="BWC-M0001") == 0.93,
              after.series("dockd_camera_battery_health_ratio"))
        check(after.get("dockd_custody_seq") >= 6 * n, f"custody seq {after.get('dockd_custody_seq')}")
        check(after.get("dockd_custody_failing") == 0, "custody failing")
        check(after.get("dockd_report_outbox_undelivered") == 0, "undelivered reports")
        # The textfile is replaced atomically: no temporary file is left beside it
        # for node_exporter to read (it reads *.prom).
        check(os.listdir(os.path.dirname(ops.textfile)) == ["dockd.prom"], os.listdir(os.path.dirname(ops.textfile)))
        # The custody log seals every 2 s here: a seal time shows up.
        ops.wait_metrics(lambda m: (m.get("dockd_custody_last_seal_timestamp_seconds") or 0) > time.time() - 60,
                         20, what="a custody seal time")
        ops.rig.stop()
    finally:
        ops.cleanup()


@case
def metrics_counters_survive_restart():
    """The segment counters come from the custody log: a restart (or kill -9)
    neither resets nor repeats them, so Prometheus never sees a counter reset
    that did not happen, and never double counts."""
    ops = Ops("two-cameras.ini")
    try:
        ops.rig.start()
        truth = ops.settle([1, 2])
        n, size = expect_segments(truth)
        before = ops.wait_metrics(lambda m: m.get("dockd_deleted_segments_total") == n, 30, what="deleted counted")
        counters = {f: before.get(f) for f, (t, _) in before.families.items()
                    if t == "counter" and f.split("_")[1] in ("pulled", "verified", "quarantined", "uploaded",
                                                              "confirmed", "deleted")}
        check(len(counters) == 12, counters)
        ops.rig.kill9()
        os.unlink(ops.textfile)
        ops.rig.start()
        after = ops.wait_metrics(lambda m: m.get("dockd_deleted_segments_total") is not None, 30, what="metrics again")
        got = {f: after.get(f) for f in counters}
        check(got == counters, f"after kill -9 and restart: {got}, before: {counters}")
        check(after.get("dockd_start_time_seconds") > before.get("dockd_start_time_seconds"), "start time")
        ops.rig.stop()
    finally:
        ops.cleanup()


@case
def metrics_textfile_planted_temp():
    """The textfile's directory is shared with node_exporter and whatever else
    feeds it: a file planted at the name dockd writes before its rename (here a
    hard link to another file) is replaced, never written through, and the
    textfile dockd renames into place is its own."""
    ops = Ops("offload.ini")
    try:
        ops.rig.start()
        first = ops.wait_metrics(lambda m: True, 30, what="a first textfile")
        victim = ops.stmp.join("victim")
        with open(victim, "w") as f:
            f.write("not dockd's\n")
        planted = f"{ops.textfile}.tmp-{ops.rig.dockd.proc.pid}"
        os.link(victim, planted)
        t0 = first.get("dockd_metrics_timestamp_seconds")
        m = ops.wait_metrics(lambda m: m.get("dockd_metrics_timestamp_seconds") > t0 + 1.5, 30,
                             what="two more writes of the textfile")
        check(open(victim).read() == "not dockd's\n", "dockd wrote through the planted link")
        check(os.stat(victim).st_ino != os.stat(ops.textfile).st_ino, "the planted file became the textfile")
        check(not os.path.exists(planted) or os.stat(planted).st_ino != os.stat(victim).st_ino,
              "the planted link is still in place")
        promtool_check(m.text, "the textfile after a planted temporary file")
        ops.rig.stop()
    finally:
        ops.cleanup()


@case
def metrics_http_endpoint():
    """GET /metrics only; anything else a short error; a client that sends
    nothing (or too much) does not stop the others or the dock."""
    ops = Ops("offload.ini", listen=True)
    try:
        ops.rig.start()
        ops.wait_metrics(lambda m: True, 20)
        # A silent client holds a connection open while others are served.
        idle = socket.create_connection(("127.0.0.1", ops.port.port))
        half = socket.create_connection(("127.0.0.1", ops.port.port))
        half.sendall(b"GET /metr")
        status, headers, body = http_get(ops.url)
        check(status == 200 and "dockd_build_info" in body, status)
        # Served while the silent clients still hold their connections: dockd
        # did not wait for them to time out first.
        check(still_open(idle) and still_open(half), "answered only after the silent clients were dropped")
        head = subprocess.run(["curl", "-sS", "-I", ops.url], capture_output=True, text=True)
        check(head.stdout.startswith("HTTP/1.1 200"), head.stdout)

        def raw(request):
            s = socket.create_connection(("127.0.0.1", ops.port.port), timeout=10)
            s.sendall(request)
            out = b""
            while True:
                try:
                    b = s.recv(65536)
                except ConnectionResetError:
                    break
                if not b:
                    break
                out += b
            s.close()
            return out.decode("latin-1")
        check(raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").startswith("HTTP/1.1 404"), "GET /")
        check(raw(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc").startswith("HTTP/1.1 405"),
              "POST")
        check(raw(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n").startswith("HTTP/1.1 200"), "query string")
        check(raw(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\0" * 64).startswith("HTTP/1.1 400"), "TLS hello")
        big = raw(b"GET /metrics HTTP/1.1\r\n" + b"X-Long: " + b"a" * (64 << 10) + b"\r\n\r\n")
        check(big == "" or big.startswith("HTTP/1.1 431") or big.startswith("HTTP/1.1 400"), big[:80])
        # Many connections at once: served or refused, never a hang of the loop.
        socks = [socket.create_connection(("127.0.0.1", ops.port.port)) for _ in range(100)]
        status, _, _ = http_get(ops.url)
        check(status == 200, status)
        check(ops.rig.status() is not None, "D-Bus unanswered while HTTP clients wait")
        for s in socks:
            s.close()
        # The idle clients are dropped after a timeout; dockd is unharmed.
        idle.settimeout(None)   # bounded by the test's timeout
        check(idle.recv(1) == b"", "an idle connection was never closed")
        half.close()
        ops.rig.wait_bay(1, "ready", 120)
        ops.rig.stop()
    finally:
        ops.cleanup()


@case
def metrics_storage_failing():
    """s3 backend, server down: storage failing, failures by kind, the oldest
    unconfirmed segment's time; then it comes back and all clears."""
    ops = Ops("two-cameras.ini", backend="s3")
    try:
        ops.store.inner.kill()
        t_start = time.time()
        ops.rig.start()
        m = ops.wait_metrics(lambda m: m.get("dockd_storage_failing") == 1
                             and (m.get("dockd_unconfirmed_segments") or 0) > 0, 60, what="storage failing")
        promtool_check(m.text, "the textfile while storage fails")
        fails = {l["kind"]: v for l, v in m.series("dockd_upload_failures_total")}
        check(fails.get("connect", 0) >= 1, f"failures by kind: {fails}")
        oldest = m.get("dockd_oldest_unconfirmed_segment_timestamp_seconds")
        check(oldest is not None and t_start - 5 <= oldest <= time.time(), f"oldest unconfirmed {oldest}")
        check(m.get("dockd_deleted_segments_total") == 0, "deleted while storage is down")
        ops.store.inner.revive()
        truth = ops.settle([1, 2], 180)
        n, _ = expect_segments(truth)
        m = ops.wait_metrics(lambda m: m.get("dockd_storage_failing") == 0 and m.get("dockd_deleted_segments_total") == n,
                             60, what="storage back")
        check(m.series("dockd_oldest_unconfirmed_segment_timestamp_seconds") == [], "oldest unconfirmed left")
        check(m.get("dockd_upload_failures_total", kind="connect") >= fails["connect"], "a counter went down")
        check(m.get("dockd_camera_battery_health_ratio", serial="BWC-R0002") == 0.6, m.series("dockd_camera_battery_health_ratio"))
        check(m.get("dockd_findings_total", kind="battery-health") == 1, m.series("dockd_findings_total"))
        check(m.get("dockd_reports_filed_total", severity="error") == 1, m.series("dockd_reports_filed_total"))
        ops.rig.stop()
    finally:
        ops.cleanup()


@case
def metrics_config():
    """[metrics] keys are checked like every other section; default off."""
    tmp = TempDir()
    try:
        def run(metrics):
            conf = write_config(tmp.join("d.conf"), {"dock": {"bays": "1", "state_dir": tmp.join("s")},
                                                      "metrics": metrics})
            return subprocess.run([DOCKD, "--config", conf, "--check-config"], capture_output=True, text=True)
        ok = run({"textfile": tmp.join("m", "dockd.prom"), "interval": "30s", "listen": "127.0.0.1:9437"})
        check(ok.returncode == 0, ok.stderr)
        check("[metrics]" in ok.stdout and "listen=127.0.0.1:9437" in ok.stdout, ok.stdout)
        six = run({"listen": "[::1]:9437"})
        check(six.returncode == 0, six.stderr)
        for bad in ({"textfile": "relative/dockd.prom"}, {"textfile": "/x/../dockd.prom"},
                    {"interval": "0"}, {"interval": "soon"}, {"listen": "localhost:9437"},
                    {"listen": "127.0.0.1"}, {"listen": "127.0.0.1:0"}, {"listen": "127.0.0.1:70000"},
                    {"listen": "http://127.0.0.1:9437"}, {"colour": "blue"}):
            p = run(bad)
            check(p.returncode == 2 and "d.conf:" in p.stderr, f"{bad}: {p.returncode} {p.stderr}")
        for bad in ({"interval": "soon"}, {"interval": "-1d"}):
            conf = write_config(tmp.join("d.conf"), {"dock": {"bays": "1"}, "reconcile": bad})
            p = subprocess.run([DOCKD, "--config", conf, "--check-config"], capture_output=True, text=True)
            check(p.returncode == 2 and "d.conf:" in p.stderr, f"[reconcile] {bad}: {p.stderr}")
        # Defaults: no textfile, no listener, reconcile daily.
        conf = write_config(tmp.join("d.conf"), {"dock": {"bays": "1"}})
        out = subprocess.run([DOCKD, "--config", conf, "--check-config"], capture_output=True, text=True).stdout
        check("#textfile=" in out and "#listen=" in out, out)
        check("[reconcile]" in out and "interval=1d" in out, out)
    finally:
        tmp.cleanup()


@case
def dashboard_and_rules_read_exported_metrics():
    """Every metric the dashboard and the alert rules read is one the daemon
    emitted (after an offload, a report and a reconciliation)."""
    ops = Ops("two-cameras.ini")
    try:
        ops.rig.start()
        ops.settle([1, 2])
        rc, res = reconcile(ops.rig, expect_rc=0)
        m = ops.wait_metrics(lambda m: (m.get("dockd_reconcile_last_checked_objects") or 0) > 0, 20,
                             what="reconciliation in the metrics")
        promtool_check(m.text, "the textfile after a reconciliation")
        emitted = m.names()
        problems = []
        for title, expr in dashboard_queries():
            for n in promql_metric_names(expr) - emitted:
                problems.append(f"dashboard panel {title!r} reads {n}, which dockd does not export")
        for expr in rule_exprs():
            for n in promql_metric_names(expr) - emitted - {"up"}:
                problems.append(f"alert rule {expr!r} reads {n}, which dockd does not export")
        check(not problems, "\n".join(problems))
        ops.rig.stop()
    finally:
        ops.cleanup()


# ---- reconciliation ----

def check_clean(res, segments):
    check(res["error"] is None, res)
    check(res["segments"] == segments and res["objects"] == 3 * segments, f"{res['segments']} segments, "
          f"{res['objects']} objects; expected {segments} and {3 * segments}")
    check(res["ok"] == res["objects"], res)
    check(all(v == 0 for v in res["problems"].values()), res["problems"])
    check(res["findings"] == [], res["findings"])
    check(res["duration_seconds"] >= 0 and res["started"] <= res["finished"], res)


def reconcile_damage_case(backend):
    # s3 with Object Lock: the test server (Swift) ignores it, so HEAD reports
    # no retention: counted as unreported, never passed as checked nor a problem.
    lock = {"s3": {"object_lock": "yes"}} if backend == "s3" else None
    ops = Ops("two-cameras.ini", backend=backend, config=lock, journal=True, webhook=True,
              name=f"reconcile-{backend}")
    try:
        ops.rig.start()
        truth = ops.settle([1, 2], 180)
        check_offloaded(ops.rig, truth)
        deleted = deleted_segments(ops.rig)
        n, _ = expect_segments(truth)
        check(len(deleted) == n, f"{len(deleted)} deletions for {n} segments")

        rc, res = reconcile(ops.rig, expect_rc=0)
        check_clean(res, n)
        check(res["retention_unreported"] == (3 * n if lock else 0), res)
        check(res["problems"]["retention"] == 0 and res["problems"]["legal_hold"] == 0, res["problems"])
        human = dockdtest.dockctl("reconcile", env=ops.rig.env)
        check(f"{3 * n} objects" in human.stdout and "none missing" in human.stdout, human.stdout)

        # Behind dockd's back: one video deleted, a manifest altered (same size),
        # a signature truncated (another size).
        def rec(cam, i):
            c = next(c for c in truth["cameras"] if c["serial"] == cam)
            return c["recordings"][i]["segments"][0]["recording_id"]
        gone = segment_keys("BWC-R0001", rec("BWC-R0001", 0), 0)[0]
        altered = segment_keys("BWC-R0001", rec("BWC-R0001", 1), 1)[1]
        cut = segment_keys("BWC-R0002", rec("BWC-R0002", 0), 2)[2]
        ops.store.delete(gone)
        ops.store.alter(altered)
        cutting = ops.store.read(cut)
        if backend == "tus":
            ops.store.delete(cut)          # a tus store cannot shorten an upload in place
        else:
            ops.store.alter(cut, cutting[:-10])
        rc, res = reconcile(ops.rig, expect_rc=1)
        want = {gone: "missing", altered: "altered", cut: "missing" if backend == "tus" else "altered"}
        got = {f["key"]: f["kind"] for f in res["findings"]}
        check(got == want, f"findings {json.dumps(res['findings'], indent=1)}, expected {want}")
        check(res["problems"]["missing"] == list(want.values()).count("missing"), res["problems"])
        check(res["problems"]["altered"] == list(want.values()).count("altered"), res["problems"])
        check(res["ok"] == 3 * n - 3, res)
        for f in res["findings"]:
            check(f["camera"] in ("BWC-R0001", "BWC-R0002") and "/" in f["segment"], f)
        human = dockdtest.dockctl("reconcile", env=ops.rig.env, check_rc=False)
        check(human.returncode == 1 and gone in human.stdout and altered in human.stdout, human.stdout)

        # The integrity alert: one journal entry per object, with the catalog's id.
        alerts = wait_for(lambda: ops.journal.entries(MESSAGE_ID=RECONCILE_PROBLEM) or None, 10,
                          what="reconciliation alerts in the journal")
        keys = {e.get("DOCKD_OBJECT_KEY") for e in alerts}
        check(set(want) <= keys, f"journal alerts for {keys}")
        check(all(e.get("PRIORITY") == "2" for e in alerts), [e.get("PRIORITY") for e in alerts])
        check(ops.journal.entries(MESSAGE_ID=RECONCILE_DONE), "no summary entry in the journal")

        # The report to supervisors: stored, uploaded, sent to the webhook.
        def reports():
            out = []
            for f in sorted(os.listdir(os.path.join(ops.rig.state, "reports"))):
                if f.endswith(".json"):
                    with open(os.path.join(ops.rig.state, "reports", f)) as fh:
                        doc = json.load(fh)
                    if doc["schema"] == "dockd.reconciliation-report":
                        out.append(doc)
            return out
        reps = wait_for(lambda: reports() or None, 10, what="a reconciliation report")
        rep = reps[-1]
        check(rep["schema_version"] == 1 and rep["severity"] == "critical" and rep["dock"] == "test-dock", rep)
        check(rep["run"]["objects"] == 3 * n and rep["run"]["backend"] == backend, rep["run"])
        check({f["key"]: f["code"] for f in rep["findings"]} ==
              {k: "object-" + v for k, v in want.items()}, rep["findings"])
        for f in rep["findings"]:
            check(f["policy"]["section"] and f["summary"] and f["expected"]["sha256"], f)
        wait_for(lambda: any(b.get("id") == rep["id"] for _, _, b in ops.hook.received), 30,
                 what="the reconciliation report at the webhook")
        wait_for(lambda: any(k.endswith(".json") and k.startswith("reports/test-dock/") and rep["id"] in
                             (ops.store.read(k) or b"").decode("utf-8", "replace") for k in ops.store.keys()),
                 30, what="the reconciliation report in central storage")

        # Metrics: the last result, by kind. The textfile is rewritten every
        # [metrics] interval, so it can still be the one written between the two
        # runs with problems (the last result already the same): wait for the
        # write that counts both, then check nothing else was counted.
        m = ops.wait_metrics(lambda m: (m.get("dockd_reconcile_runs_total", result="problems") or 0) >= 2, 20,
                             what="both runs with problems counted in the metrics")
        check(m.get("dockd_reconcile_last_problems", kind="missing") == res["problems"]["missing"], m.text)
        check(m.get("dockd_reconcile_last_problems", kind="altered") == res["problems"]["altered"], m.text)
        check(m.get("dockd_reconcile_last_checked_objects") == 3 * n, m.get("dockd_reconcile_last_checked_objects"))
        # Two clean runs asked for (and the scheduled one at the first start), two with problems.
        check(m.get("dockd_reconcile_runs_total", result="problems") == 2, m.series("dockd_reconcile_runs_total"))
        check(m.get("dockd_reconcile_runs_total", result="ok") >= 2, m.series("dockd_reconcile_runs_total"))

        # Supervisors' counts include the findings, per camera.
        p = dockdtest.dockctl("reports", "--summary", "--since", "2000-01-01", "--json", env=ops.rig.env)
        s = json.loads(p.stdout)
        cams = {c["camera"]: c["findings"] for c in s["by_camera"]}
        check(cams.get("BWC-R0001", {}).get("object-missing", 0) >= 1, cams)
        check(s["by_finding"].get("battery-health") == 1, s["by_finding"])
        ops.rig.stop()
    finally:
        ops.cleanup()


@case
def reconcile_file_missing_and_altered():
    reconcile_damage_case("file")


@case
def reconcile_s3_missing_and_altered():
    reconcile_damage_case("s3")


@case
def reconcile_tus_missing_and_altered():
    reconcile_damage_case("tus")


@case
def reconcile_periodic_and_persisted():
    """[reconcile] interval runs it by itself; its last result survives a
    restart (metrics and dockctl), and a restart does not run it early."""
    ops = Ops("two-cameras.ini", config={"reconcile": {"interval": "4s"}})
    try:
        ops.rig.start()
        truth = ops.settle([1, 2])
        n, _ = expect_segments(truth)
        m = ops.wait_metrics(lambda m: (m.get("dockd_reconcile_runs_total", result="ok") or 0) >= 2
                             and m.get("dockd_reconcile_last_checked_objects") == 3 * n, 60,
                             what="two scheduled runs that saw every object")
        last = m.get("dockd_reconcile_last_run_timestamp_seconds")
        check(abs(last - time.time()) < 30, last)
        check(m.get("dockd_reconcile_last_duration_seconds") >= 0, "duration")
        check(ops.rig.dockd.stop() == 0, "exit status")   # the bus stays for the next start
        ops.rig.config_sections["reconcile"]["interval"] = "1d"
        write_config(ops.rig.config, ops.rig.config_sections)
        os.unlink(ops.textfile)
        ops.rig.start()
        m = ops.wait_metrics(lambda m: m.get("dockd_reconcile_last_run_timestamp_seconds") is not None, 20,
                             what="the last run after a restart")
        time.sleep(3)
        m = ops.metrics()
        check(m.get("dockd_reconcile_last_checked_objects") == 3 * n, "the last result was lost")
        check(m.get("dockd_reconcile_last_run_timestamp_seconds") <= time.time() - 2, "ran again at start")
        check((m.get("dockd_reconcile_runs_total", result="ok") or 0) == 0, "runs since start")
        last = json.loads(dockdtest.dockctl("reconcile", "--last", "--json", env=ops.rig.env).stdout)
        check(last["objects"] == 3 * n and last["trigger"] == "schedule", last)
        ops.rig.stop()
    finally:
        ops.cleanup()


@case
def reconcile_one_run_at_a_time():
    """A second call while a run is in progress gets that run's result; the
    store is blackholed so the first run cannot end before the second call."""
    ops = Ops("two-cameras.ini", backend="s3")
    try:
        ops.rig.start()
        ops.settle([1, 2], 180)
        fp = ops.store.inner.fp
        fp.blackhole()
        results = {}
        log_before = len(ops.rig.dockd.log())   # the first start ran one by itself

        def call(name):
            results[name] = reconcile(ops.rig)
        first = threading.Thread(target=call, args=("first",))
        first.start()
        wait_for(lambda: "Reconciliation started" in ops.rig.dockd.log()[log_before:], 20, what="the run started")
        second = threading.Thread(target=call, args=("second",))
        second.start()
        ops.rig.wait_log("waits for the reconciliation in progress", 20)
        fp.blackhole(False)
        first.join(60)
        second.join(60)
        check(not first.is_alive() and not second.is_alive(), "a call never returned")
        (rc1, a), (rc2, b) = results["first"], results["second"]
        check(rc1 == rc2 == 0 and a == b, f"{rc1} {a}\n{rc2} {b}")
        check(ops.rig.dockd.log()[log_before:].count("Reconciliation started") == 1, "two runs")
        # The next call is a new run.
        rc, c = reconcile(ops.rig, expect_rc=0)
        check(c["id"] != a["id"], "a finished run was returned again")
        ops.rig.stop()
    finally:
        ops.cleanup()


@case
def reconcile_storage_unreachable():
    """No answer from the store is not an integrity finding: the run fails,
    says why, files no report, and the last good result stays."""
    ops = Ops("two-cameras.ini", backend="s3", config={"s3": {"timeout": "2s"}})
    try:
        ops.rig.start()
        ops.settle([1, 2], 180)
        rc, good = reconcile(ops.rig, expect_rc=0)
        ops.store.inner.kill()
        rc, res = reconcile(ops.rig, expect_rc=3)
        check(res["error"] and res["findings"] == [], res)
        m = ops.wait_metrics(lambda m: m.get("dockd_reconcile_runs_total", result="error") == 1, 20,
                             what="a failed run counted")
        check(sum(v for _, v in m.series("dockd_reconcile_last_problems")) == 0, "problems from a failed run")
        reps = [f for f in os.listdir(os.path.join(ops.rig.state, "reports")) if f.endswith(".json")]
        for f in reps:
            check("reconciliation" not in open(os.path.join(ops.rig.state, "reports", f)).read(), f)
        ops.store.inner.revive()
        ops.rig.stop()
    finally:
        ops.cleanup()


# ---- supervisors' counts ----

@case
def reports_summary():
    ops = Ops("reports.ini")
    try:
        ops.rig.start()
        for b in (1, 2, 3):
            ops.rig.wait_bay(b, "fault", 120)
        wait_for(lambda: len([f for f in os.listdir(os.path.join(ops.rig.state, "reports")) if f.endswith(".json")]) >= 3,
                 30, what="three reports")
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        p = dockdtest.dockctl("reports", "--summary", "--since", today, "--json", env=ops.rig.env)
        s = json.loads(p.stdout)
        check(s["reports"] == 3 and not s["truncated"], s)
        cams = {c["camera"]: c for c in s["by_camera"]}
        check(cams["BWC-S0001"]["findings"] == {"battery-health": 1, "self-test": 1}, cams["BWC-S0001"])
        check(cams["BWC-S0002"]["findings"] == {"self-test": 1}, cams["BWC-S0002"])
        check(cams["BWC-S0003"]["findings"] == {"integrity": 1}, cams["BWC-S0003"])
        check(all(c["reports"] == 1 for c in cams.values()), cams)
        check(s["by_finding"] == {"battery-health": 1, "self-test": 2, "integrity": 1}, s["by_finding"])
        check(s["by_severity"] == {"error": 2, "critical": 1}, s["by_severity"])
        check(s["since"].startswith(today), s["since"])

        p = dockdtest.dockctl("reports", "--summary", "--since", today, "--csv", env=ops.rig.env)
        rows = list(csv.reader(io.StringIO(p.stdout)))
        check(rows[0] == ["camera", "finding", "count"], rows[0])
        check(sorted(rows[1:]) == [["BWC-S0001", "battery-health", "1"], ["BWC-S0001", "self-test", "1"],
                                   ["BWC-S0002", "self-test", "1"], ["BWC-S0003", "integrity", "1"]], rows)

        p = dockdtest.dockctl("reports", "--summary", "--since", today, env=ops.rig.env)
        for word in ("BWC-S0001", "battery-health", "self-test", "integrity", "3 reports"):
            check(word in p.stdout, f"{word!r} not in:\n{p.stdout}")

        tomorrow = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).strftime("%Y-%m-%d")
        s = json.loads(dockdtest.dockctl("reports", "--summary", "--since", tomorrow, "--json", env=ops.rig.env).stdout)
        check(s["reports"] == 0 and s["by_camera"] == [] and s["by_finding"] == {}, s)
        for bad in ("yesterday", "2026-13-01", "2026-02-30", ""):
            p = dockdtest.dockctl("reports", "--summary", "--since", bad, env=ops.rig.env, check_rc=False)
            check(p.returncode == 2 and "--since" in p.stderr, f"{bad!r}: {p.returncode} {p.stderr}")
        p = dockdtest.dockctl("reports", "--summary", "--json", "--csv", env=ops.rig.env, check_rc=False)
        check(p.returncode == 2, "both --json and --csv")
        ops.rig.stop()
    finally:
        ops.cleanup()


if __name__ == "__main__":
    run_cases()
