#!/usr/bin/python3
"""A private, single-node Ceph cluster with the RADOS Gateway (S3): a store
that enforces Object Lock.

One monitor, one OSD with the in-memory object store (memstore: the data
lives in the OSD's memory and goes with it) and radosgw, on free, unusual
127.0.0.1 ports, from a private directory that holds the configuration, the
monitor's store and every log.  Nothing is read from or written to /etc/ceph,
/var/lib/ceph, /var/log/ceph or /run/ceph; no systemd unit is involved, no
manager daemon runs (none is needed for S3), and cephx is off (the cluster
is reachable from 127.0.0.1 only and lives as long as the test).

Python:

    from radosgw import RadosGateway
    with RadosGateway(buckets=["dockd"]) as gw:   # Object Lock buckets
        s3 = gw.client()                       # s3client.S3Client
        print(gw.endpoint, gw.access_key, gw.secret_key, gw.region)
        gw.kill_gateway()                      # SIGKILL radosgw
        gw.start_gateway()                     # same port, same data

CLI (stays in the foreground until SIGTERM/SIGINT, then stops everything):

    python3 tests/servers/radosgw.py start --dir D [--bucket B ...]
        [--plain-bucket B ...]
    -> one JSON line on stdout: endpoint, access_key, secret_key, region,
       ports, pids, dir, startup_s, timings, rss_kib, pss_kib.

Layout of the private directory D:
    ceph.conf, monmap
    mon/a/   the monitor's store
    osd/0/   the OSD's superblock files (memstore keeps the objects in memory)
    run/     admin sockets and pid files
    log/     one log per daemon, radosgw-admin's, the cluster log;
             *.out is what a daemon printed on stdout/stderr
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from s3client import S3Error  # noqa: E402
import serverutil as su  # noqa: E402

__all__ = ["RadosGateway", "HarnessError", "available"]

HarnessError = su.HarnessError

BIN = "/usr/bin"
ACCESS_KEY = "dockdtest"
SECRET_KEY = "testsecret"
REGION = "us-east-1"   # radosgw signs with any region; this is Swift's
OSD_PORTS = 4          # public, cluster, heartbeat back and front (msgr v1)


def available():
    """True if the Ceph programs are installed (scripts/setup: ceph-mon
    ceph-osd radosgw)."""
    return all(os.access(os.path.join(BIN, p), os.X_OK) for p in
               ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin",
                "monmaptool", "osdmaptool"))


class RadosGateway(su.S3Daemons):
    """A private Ceph mon + memstore OSD + radosgw on 127.0.0.1.  See the
    module docstring.

    dir: private directory (created if missing; kept after stop() if given,
        a temporary one is made and removed otherwise).  The objects are in
        the OSD's memory: a new start() begins with an empty store.
    buckets: buckets to create with Object Lock enabled (versioning on,
        no default retention: objects are locked only by what their
        uploader asks for).
    plain_buckets: buckets to create without Object Lock (nor versioning).
    memstore_bytes: the capacity the OSD reports (memory is used only for
        what is stored).
    debug_rgw: radosgw's log level (1: one line per request; 20: every
        header and the canonical request of each signature).
    conf_overrides: {"global"|"client.rgw"|...: {"option": "value"}} added
        to ceph.conf.
    die_with_parent: the daemons get SIGKILL if the thread that started them
        dies (PR_SET_PDEATHSIG).  Start and restart from the same thread.
    startup_timeout: seconds, or None (the default): wait as long as every
        daemon lives (a start fails at once when one exits).
    """

    def __init__(self, dir=None, *, buckets=(), plain_buckets=(),
                 memstore_bytes=4 << 30, startup_timeout=None, debug_rgw=1,
                 conf_overrides=None, die_with_parent=True):
        super().__init__(dir, startup_timeout, die_with_parent, ACCESS_KEY,
                         SECRET_KEY, REGION)
        self.buckets = list(buckets)
        self.plain_buckets = list(plain_buckets)
        self.memstore_bytes = int(memstore_bytes)
        self.debug_rgw = debug_rgw
        self.conf_overrides = conf_overrides or {}
        self.fsid = None
        self.timings = {}

    # -- public properties ----------------------------------------------

    @property
    def endpoint(self):
        return f"http://{self.host}:{self.ports['rgw']}"

    @property
    def conf_path(self):
        return os.path.join(self.dir, "ceph.conf")

    def log_path(self, name):
        """name: mon.a, osd.0, client.rgw (the daemons' own logs),
        client.admin (radosgw-admin), ceph (the cluster log), or
        NAME.out (what a process printed)."""
        return os.path.join(self.dir, "log", f"{name}.log"
                            if not name.endswith(".out") else name)

    def info(self):
        return dict(super().info(), timings=dict(self.timings))

    # -- lifecycle ---------------------------------------------------------

    TMP_PREFIX = "dockd-radosgw-"

    def _prepare(self):
        if not available():
            raise HarnessError("Ceph is not installed (scripts/setup installs "
                               "ceph-mon ceph-osd radosgw)")

    def _after_start(self):
        self._create_buckets()
        self._step("buckets")

    def kill_gateway(self, sig=signal.SIGKILL):
        """Kill radosgw (SIGKILL by default: a crash).  The cluster keeps the
        data; the port stays reserved."""
        with self._lock:
            p = self.procs.pop("rgw", None)
            if p is not None:
                su.kill_tree(p, sig, timeout=10)

    def start_gateway(self):
        """Start radosgw again on the same port; wait until it serves S3."""
        with self._lock:
            if self.gateway_running():
                return
            self._spawn("rgw")
            self._wait_gateway(time.monotonic() + self.startup_timeout)

    def restart_gateway(self, sig=signal.SIGKILL):
        with self._lock:
            self.kill_gateway(sig)
            self.start_gateway()

    def gateway_running(self):
        p = self.procs.get("rgw")
        return p is not None and p.poll() is None

    # -- internals -------------------------------------------------------

    def _step(self, name):
        self.timings[name] = round(time.monotonic() - self._t0, 3)

    def _start_once(self):
        self._reservations = su.reserve_ports(2, self.host)
        osd = su.reserve_port_range(OSD_PORTS, self.host)
        self._reservations += osd
        self.ports = {"mon": self._reservations[0].port,
                      "rgw": self._reservations[1].port,
                      "osd": [r.port for r in osd]}
        self._prepare_dirs()
        self._write_conf()
        self._mkfs()
        self._step("mkfs")
        deadline = time.monotonic() + self.startup_timeout
        self._spawn("mon")
        su.wait_for_port(self.ports["mon"], self.host,
                         deadline - time.monotonic(), self.procs["mon"],
                         "ceph-mon", alive=self.procs)
        self._step("mon")
        self._spawn("osd")
        # radosgw creates its pools through the monitor and waits until the
        # OSD serves them: no need to wait for the OSD here.
        self._spawn("rgw")
        su.wait_for_port(self.ports["rgw"], self.host,
                         deadline - time.monotonic(), self.procs["rgw"],
                         "radosgw", alive=self.procs)
        self._step("rgw")
        self._create_user()
        self._step("user")
        self._wait_gateway(deadline)
        self._step("s3")
        for port in self.ports["osd"]:
            if su.port_listening(port):
                su.check_port_owner(port, self.procs["osd"].pid)
        su.check_port_owner(self.ports["mon"], self.procs["mon"].pid)

    def _prepare_dirs(self):
        # A reused dir starts over: memstore kept nothing, and a monitor
        # store that knows objects the OSD lost would only confuse radosgw.
        for sub in ("mon", "osd", "run"):
            shutil.rmtree(os.path.join(self.dir, sub), ignore_errors=True)
        for sub in ("mon/a", "osd/0", "run", "log"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)

    def _conf(self):
        d = self.dir
        osd_ports = self.ports["osd"]
        conf = {
            "global": {
                "fsid": self.fsid,
                "mon host": f"v1:{self.host}:{self.ports['mon']}",
                "public addr": self.host,
                "cluster addr": self.host,
                # msgr v1 only: the OSD binds 4 ports, all within our range.
                "ms bind msgr2": "false",
                "ms bind port min": osd_ports[0],
                "ms bind port max": osd_ports[-1],
                "auth cluster required": "none",
                "auth service required": "none",
                "auth client required": "none",
                # Everything a daemon writes stays in the private dir.
                "run dir": f"{d}/run",
                "admin socket": f"{d}/run/$name.asok",
                "pid file": f"{d}/run/$name.pid",
                "log file": f"{d}/log/$name.log",
                "mon cluster log file":
                    f"default={d}/log/ceph.$channel.log cluster={d}/log/ceph.log",
                "crash dir": f"{d}/crash",
                "keyring": f"{d}/keyring",
                "mon data": f"{d}/mon/$id",
                "osd data": f"{d}/osd/$id",
                "rgw data": f"{d}/rgw",
                "log to stderr": "false",
                "err to stderr": "true",
                "log to syslog": "false",
                "mon cluster log to syslog": "false",
                # One OSD that keeps everything in memory, one copy of all.
                "osd objectstore": "memstore",
                "memstore device bytes": self.memstore_bytes,
                "osd pool default size": 1,
                "osd pool default min size": 1,
                "osd pool default pg num": 1,
                "osd pool default pgp num": 1,
                "osd pool default pg autoscale mode": "off",
                "osd crush chooseleaf type": 0,
                "mon allow pool size one": "true",
                "mon warn on pool no redundancy": "false",
                "mon max pg per osd": 1000,
                # Each pool radosgw creates is one OSD map epoch; the
                # monitor proposes one per second by default.
                "paxos propose interval": 0.02,
                "paxos min wait": 0.01,
                # A nearly full disk must not stop the monitor (the store is
                # tiny and temporary).
                "mon data avail crit": 0,
                "mon data avail warn": 0,
                "osd op num shards": 1,
                "osd op num threads per shard": 2,
            },
            "client.rgw": {
                "rgw frontends": f"beast endpoint={self.host}:{self.ports['rgw']}",
                "rgw thread pool size": 64,
                "rgw enable gc threads": "false",
                "rgw enable lc threads": "false",
                "rgw enable quota threads": "false",
                "rgw dynamic resharding": "false",
                "debug rgw": self.debug_rgw,
            },
        }
        for section, kv in self.conf_overrides.items():
            conf.setdefault(section, {}).update(kv)
        return conf

    def _write_conf(self):
        self.fsid = str(uuid.uuid4())
        lines = []
        for name, kv in self._conf().items():
            lines.append(f"[{name}]")
            lines.extend(f"{k} = {v}" for k, v in kv.items())
            lines.append("")
        tmp = self.conf_path + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines))
        os.replace(tmp, self.conf_path)

    def _run(self, argv, what, timeout=60):
        """A set-up command; its output goes to log/WHAT.out."""
        self._wait_done(self._start_cmd(argv, what), what, timeout)

    def _start_cmd(self, argv, what):
        return su.spawn(argv, self.log_path(f"{what}.out"), cwd=self.dir,
                        die_with_parent=self.die_with_parent)

    def _wait_done(self, p, what, timeout=60):
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            su.kill_tree(p, signal.SIGKILL)
            raise HarnessError(f"{what} did not finish in {timeout} s:\n" +
                               su.log_tail(self.log_path(f"{what}.out")))
        if rc != 0:
            raise HarnessError(f"{what} failed with status {rc}:\n" +
                               su.log_tail(self.log_path(f"{what}.out")))

    def _mkfs(self):
        """The monitor's store, with an OSD map that already holds osd.0 in
        the CRUSH map (so nothing has to be registered over the network),
        and the OSD's superblock.  --no-mon-config everywhere: ceph.conf
        says all, and the monitor is not up yet."""
        d = self.dir
        monmap, osdmap = f"{d}/monmap", f"{d}/osdmap"
        self._run([f"{BIN}/monmaptool", "--create", "--clobber", "--fsid",
                   self.fsid, "--addv", "a",
                   f"[v1:{self.host}:{self.ports['mon']}]", monmap], "monmaptool")
        self._run([f"{BIN}/osdmaptool", "-c", self.conf_path, "--clobber",
                   "--createsimple", "1", osdmap], "osdmaptool")
        osd = self._start_cmd([f"{BIN}/ceph-osd", "-c", self.conf_path,
                               "--no-mon-config", "--mkfs", "-i", "0",
                               "--osd-uuid", str(uuid.uuid4())], "osd-mkfs")
        try:
            self._run([f"{BIN}/ceph-mon", "-c", self.conf_path, "--mkfs",
                       "-i", "a", "--monmap", monmap, "--osdmap", osdmap],
                      "mon-mkfs")
        finally:
            self._wait_done(osd, "osd-mkfs")

    def _argv(self, name):
        c = self.conf_path
        return {"mon": [f"{BIN}/ceph-mon", "-c", c, "-i", "a", "-f"],
                "osd": [f"{BIN}/ceph-osd", "-c", c, "-i", "0", "-f",
                        "--no-mon-config"],
                "rgw": [f"{BIN}/radosgw", "-c", c, "-n", "client.rgw", "-f",
                        "--no-mon-config"],
                }[name]

    def _spawn(self, name):
        self.procs[name] = su.spawn(self._argv(name),
                                    self.log_path(f"{name}.out"), cwd=self.dir,
                                    die_with_parent=self.die_with_parent)

    def _create_user(self):
        self._run([f"{BIN}/radosgw-admin", "-c", self.conf_path,
                   "-n", "client.admin", "--no-mon-config", "user", "create", "--uid", "dockdtest",
                   "--display-name", "dockd tests",
                   "--access-key", self.access_key,
                   "--secret-key", self.secret_key], "radosgw-admin")

    def _wait_gateway(self, deadline):
        p = self.procs["rgw"]
        su.wait_for_port(self.ports["rgw"], self.host,
                         deadline - time.monotonic(), p, "radosgw",
                         alive=self.procs)
        su.check_port_owner(self.ports["rgw"], p.pid)
        last = None
        while True:
            if p.poll() is not None:
                raise HarnessError(f"radosgw exited with status {p.returncode}:\n"
                                   + su.log_tail(self.log_path("client.rgw")))
            su.check_alive(self.procs)
            s3 = self.client(timeout=10)
            try:
                s3.list_buckets()
                return
            except (OSError, S3Error) as e:
                last = e
            finally:
                s3.close()
            if time.monotonic() > deadline:
                raise HarnessError(f"S3 request never succeeded: {last}")
            time.sleep(0.1)

    def _create_buckets(self):
        with self.client() as s3:
            for b in self.buckets:
                s3.create_bucket(b, object_lock=True)
            for b in self.plain_buckets:
                s3.create_bucket(b)

    def _stop_processes(self):
        procs, self.procs = self.procs, {}
        # memstore writes every object it holds to osd/0 when it stops
        # cleanly; the data is disposable, so the OSD gets SIGKILL.
        order = [("rgw", signal.SIGTERM), ("osd", signal.SIGKILL),
                 ("mon", signal.SIGTERM)]
        for name, sig in order:
            p = procs.pop(name, None)
            if p is not None:
                su.kill_tree(p, sig, timeout=5)
        for p in procs.values():
            su.kill_tree(p, signal.SIGKILL, timeout=5)


def _cmd_start(args):
    gw = RadosGateway(args.dir, buckets=args.bucket,
                      plain_buckets=args.plain_bucket,
                      startup_timeout=args.timeout)
    return su.serve_foreground(gw, "radosgw.py")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("start", help="start and stay in the foreground")
    st.add_argument("--dir", required=True, help="private directory")
    st.add_argument("--bucket", action="append", default=[],
                    help="create this bucket with Object Lock (repeatable)")
    st.add_argument("--plain-bucket", action="append", default=[],
                    help="create this bucket without Object Lock (repeatable)")
    st.add_argument("--timeout", type=float, default=None,
                    help="startup timeout, seconds (default: none; a start "
                         "fails when a daemon exits)")
    args = ap.parse_args(argv)
    if args.cmd == "start":
        return _cmd_start(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
