#!/usr/bin/python3
"""A private, single-node OpenStack Swift with the s3api middleware.

memcached and the four Swift servers (proxy, account, container, object) run
on free, unusual 127.0.0.1 ports, from a private directory that holds the
configs, rings and the one storage device.  Nothing is shared with the
system's /etc/swift or with other instances.

Python:

    from swift import SwiftServer
    with SwiftServer(buckets=["dockd"]) as sw:
        s3 = sw.client()                       # s3client.S3Client
        print(sw.endpoint, sw.access_key, sw.secret_key, sw.region)
        sw.kill_proxy()                        # SIGKILL the proxy
        sw.restart_proxy()                     # same port, same data

CLI (stays in the foreground until SIGTERM/SIGINT, then stops everything):

    python3 tests/servers/swift.py start --dir D [--bucket B ...]
        [--rclone-config FILE] [--min-part-size N]
    -> one JSON line on stdout: endpoint, access_key, secret_key, region,
       ports, pids, dir, startup_s, rss_kib.

Layout of the private directory D:
    etc/   swift.conf, {proxy,account,container,object}-server.conf,
           *.builder, *.ring.gz
    srv/d1 the storage device (object data in xattrs: needs a filesystem with
           user xattrs, ext4/xfs/tmpfs are fine)
    logs/  one log per process (Swift logs to the console with -v)
"""

import argparse
import os
import pwd
import secrets
import signal
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from s3client import S3Error  # noqa: E402
import serverutil as su  # noqa: E402

__all__ = ["SwiftServer", "write_rclone_config", "HarnessError"]

HarnessError = su.HarnessError

PYTHON = "/usr/bin/python3"  # Swift's own interpreter (Debian python3-swift)
SWIFT_BIN = "/usr/bin"
MEMCACHED = "memcached"
ACCESS_KEY = "test:tester"
SECRET_KEY = "testsecret"
REGION = "us-east-1"
SERVERS = ("account", "container", "object", "proxy")

_RING_SCRIPT = r"""
import sys
from swift.common.ring import RingBuilder
swift_dir = sys.argv[1]
for arg in sys.argv[2:]:
    name, port = arg.split("=")
    b = RingBuilder(6, 1, 1)
    b.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1",
               "port": int(port), "device": "d1", "weight": 100,
               "meta": ""})
    b.rebalance()
    b.save("%s/%s.builder" % (swift_dir, name))
    b.get_ring().save("%s/%s.ring.gz" % (swift_dir, name))
"""


def _ini(sections):
    out = []
    for name, kv in sections.items():
        out.append(f"[{name}]")
        out.extend(f"{k} = {v}" for k, v in kv.items())
        out.append("")
    return "\n".join(out)


def write_rclone_config(path, endpoint, access_key=ACCESS_KEY,
                        secret_key=SECRET_KEY, region=REGION, remote="swift",
                        chunk_size="8Mi", concurrency=4, upload_cutoff=None):
    """Write an rclone config with one S3 remote for a Swift+s3api endpoint.

    chunk_size / upload_cutoff: rclone sizes ("8Mi", or an int of bytes);
    set them and concurrency to dockd's part size and concurrency for a fair
    comparison.  Run rclone with AWS_CA_BUNDLE unset (rclone 1.60 fails on
    it): see rclone_env().  Returns path.
    """
    def size(v):
        return f"{v}B" if isinstance(v, int) else v
    conf = {remote: {
        "type": "s3",
        "provider": "Other",
        "env_auth": "false",
        "access_key_id": access_key,
        "secret_access_key": secret_key,
        "endpoint": endpoint,
        "region": region,
        "force_path_style": "true",
        "chunk_size": size(chunk_size),
        "upload_cutoff": size(upload_cutoff or chunk_size),
        "upload_concurrency": str(concurrency),
        "no_check_bucket": "true",
    }}
    with open(path, "w") as f:
        f.write(_ini(conf))
    return path


def rclone_env(config_path):
    """Environment for running rclone with config_path."""
    env = dict(os.environ)
    env.pop("AWS_CA_BUNDLE", None)
    env["RCLONE_CONFIG"] = config_path
    return env


class SwiftServer(su.S3Daemons):
    """A private Swift + s3api on 127.0.0.1.  See the module docstring.

    dir: private directory (created if missing; kept after stop() if given,
        a temporary one is made and removed otherwise).  Reusing a dir keeps
        its data and its hash prefix/suffix.
    buckets: buckets to create once the server is up.
    min_part_size: s3api min_segment_size (S3's 5 MiB by default); smaller
        values make tests with many parts faster.
    conf_overrides: {"proxy": {"section": {"key": "value"}}, ...} merged into
        the generated configs (e.g. {"proxy": {"app:proxy-server":
        {"client_timeout": "5"}}}).
    die_with_parent: the servers get SIGKILL if the thread that started them
        dies (PR_SET_PDEATHSIG), so a crashed test leaves nothing behind.
        Start and restart from the same (main) thread.
    startup_timeout: seconds, or None (the default): wait as long as every
        process lives.  A start fails at once when one of them exits; how
        long a live one takes says only how busy the machine is, and the
        test's own timeout bounds a hang.
    """

    def __init__(self, dir=None, *, buckets=(), min_part_size=5 * 1024 * 1024,
                 startup_timeout=None, log_level="INFO", conf_overrides=None,
                 die_with_parent=True):
        super().__init__(dir, startup_timeout, die_with_parent, ACCESS_KEY,
                         SECRET_KEY, REGION)
        self.buckets = list(buckets)
        self.min_part_size = int(min_part_size)
        self.log_level = log_level
        self.conf_overrides = conf_overrides or {}

    # -- public properties ----------------------------------------------

    @property
    def endpoint(self):
        return f"http://{self.host}:{self.ports['proxy']}"

    @property
    def swift_dir(self):
        return os.path.join(self.dir, "etc")

    def log_path(self, name):
        return os.path.join(self.dir, "logs", f"{name}.log")

    # -- lifecycle ---------------------------------------------------------

    TMP_PREFIX = "dockd-swift-"

    def _prepare(self):
        for sub in ("etc", "srv/d1", "logs"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)

    def _start_once(self):
        # Swift's servers bind with SO_REUSEPORT, memcached with SO_REUSEADDR:
        # each port is held with the same option until stop(), so that no
        # other program can take it before they bind (or between a kill and
        # a restart).
        self._reservations = [su.reserve_port(self.host, hold="reuseaddr")]
        self._reservations += su.reserve_ports(len(SERVERS), self.host,
                                               hold="reuseport")
        names = ("memcached",) + SERVERS
        self.ports = {n: r.port for n, r in zip(names, self._reservations)}
        self._write_configs()
        ring = self._build_rings_async()
        self._spawn_memcached()
        # The storage servers do not read the rings; only the proxy does.
        for name in SERVERS[:-1]:
            self._spawn_server(name)
        if ring.wait() != 0:
            raise su.HarnessError("building rings failed:\n" +
                                  su.log_tail(self.log_path("rings")))
        self._spawn_server("proxy")
        self._wait_ready(time.monotonic() + self.startup_timeout)

    def kill_proxy(self, sig=signal.SIGKILL):
        """Kill the proxy server (SIGKILL by default: a crash).  The storage
        servers and memcached keep running; the port stays reserved."""
        with self._lock:
            p = self.procs.pop("proxy", None)
            if p is not None:
                su.kill_tree(p, sig, timeout=10)

    def start_proxy(self):
        """Start the proxy again on the same port and wait until it serves
        S3 requests."""
        with self._lock:
            if "proxy" in self.procs and self.procs["proxy"].poll() is None:
                return
            self._spawn_server("proxy")
            deadline = time.monotonic() + self.startup_timeout
            su.wait_for_port(self.ports["proxy"], self.host,
                             deadline - time.monotonic(),
                             self.procs["proxy"], "swift-proxy-server")
            self._wait_healthcheck("proxy", deadline)
            self._wait_s3(deadline)
            su.check_port_owner(self.ports["proxy"], self.procs["proxy"].pid)

    def restart_proxy(self, sig=signal.SIGKILL):
        """kill_proxy(sig) then start_proxy()."""
        with self._lock:
            self.kill_proxy(sig)
            self.start_proxy()

    def proxy_running(self):
        p = self.procs.get("proxy")
        return p is not None and p.poll() is None

    def restart(self, sig=signal.SIGKILL):
        """Kill every process and start them again (same ports and data)."""
        with self._lock:
            self._stop_processes(sig)
            self._spawn_memcached()
            for name in SERVERS:
                self._spawn_server(name)
            self._wait_ready(time.monotonic() + self.startup_timeout)

    def write_rclone_config(self, path, **kw):
        """write_rclone_config() for this server; returns path."""
        return write_rclone_config(path, self.endpoint, self.access_key,
                                   self.secret_key, self.region, **kw)

    # -- internals -------------------------------------------------------

    def _stop_processes(self, sig=signal.SIGTERM):
        procs, self.procs = self.procs, {}
        for p in procs.values():
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
        for p in procs.values():
            su.kill_tree(p, sig, timeout=5)

    def _hash_conf(self):
        """Keep an existing swift.conf's prefix/suffix: data stays findable."""
        path = os.path.join(self.swift_dir, "swift.conf")
        prefix = suffix = None
        if os.path.exists(path):
            import configparser
            c = configparser.ConfigParser()
            c.read(path)
            prefix = c.get("swift-hash", "swift_hash_path_prefix",
                           fallback=None)
            suffix = c.get("swift-hash", "swift_hash_path_suffix",
                           fallback=None)
        return prefix or secrets.token_hex(8), suffix or secrets.token_hex(8)

    def _build_rings_async(self):
        args = [f"{n}={self.ports[n]}" for n in ("account", "container",
                                                  "object")]
        return su.spawn([PYTHON, "-I", "-c", _RING_SCRIPT, self.swift_dir]
                        + args, self.log_path("rings"), cwd=self.dir,
                        die_with_parent=self.die_with_parent)

    def _write_configs(self):
        prefix, suffix = self._hash_conf()
        user = pwd.getpwuid(os.geteuid()).pw_name
        files = {"swift.conf": {
            "swift-hash": {"swift_hash_path_prefix": prefix,
                           "swift_hash_path_suffix": suffix},
            "storage-policy:0": {"name": "Policy-0", "default": "yes"},
            "swift-constraints": {},
        }}
        for name in SERVERS:
            default = {
                "bind_ip": self.host,
                "bind_port": self.ports[name],
                "workers": 0,
                "user": user,
                "swift_dir": self.swift_dir,
                "devices": os.path.join(self.dir, "srv"),
                "mount_check": "false",
                "log_name": name,
                "log_level": self.log_level,
                # Console logging (-v) goes to logs/NAME.log; keep the
                # syslog copy out of the host's journal: UDP discard port.
                "log_udp_host": "127.0.0.1",
                "log_udp_port": "9",
            }
            if name == "proxy":
                conf = self._proxy_conf(default)
            else:
                conf = {
                    "DEFAULT": default,
                    "pipeline:main": {"pipeline": f"healthcheck {name}-server"},
                    f"app:{name}-server": {"use": f"egg:swift#{name}"},
                    "filter:healthcheck": {"use": "egg:swift#healthcheck"},
                    f"{name}-replicator": {},
                    f"{name}-auditor": {},
                }
                if name != "account":
                    conf[f"{name}-updater"] = {}
            for section, kv in self.conf_overrides.get(name, {}).items():
                conf.setdefault(section, {}).update(kv)
            files[f"{name}-server.conf"] = conf
        for fname, conf in files.items():
            tmp = os.path.join(self.swift_dir, fname + ".tmp")
            with open(tmp, "w") as f:
                f.write(_ini(conf))
            os.replace(tmp, os.path.join(self.swift_dir, fname))

    def _proxy_conf(self, default):
        filters = {
            "catch_errors": {}, "gatekeeper": {}, "healthcheck": {},
            "proxy-logging": {}, "listing_formats": {}, "bulk": {},
            "copy": {}, "dlo": {}, "versioned_writes": {}, "symlink": {},
            "cache": {"use": "egg:swift#memcache",
                      "memcache_servers":
                          f"{self.host}:{self.ports['memcached']}"},
            "s3api": {"location": REGION, "max_upload_part_num": 10000,
                      "min_segment_size": self.min_part_size},
            "tempauth": {"user_test_tester": f"{SECRET_KEY} .admin"},
            "slo": {"max_manifest_segments": 10000},
        }
        conf = {
            "DEFAULT": default,
            "pipeline:main": {"pipeline": (
                "catch_errors gatekeeper healthcheck proxy-logging cache "
                "listing_formats bulk s3api tempauth copy slo dlo "
                "versioned_writes symlink proxy-logging proxy-server")},
            "app:proxy-server": {"use": "egg:swift#proxy",
                                 "account_autocreate": "true",
                                 "allow_account_management": "true"},
        }
        for name, kv in filters.items():
            egg = name.replace("-", "_")
            conf[f"filter:{name}"] = {"use": f"egg:swift#{egg}", **kv}
        return conf

    def _spawn_memcached(self):
        argv = [MEMCACHED, "-l", self.host, "-p", str(self.ports["memcached"]),
                "-U", "0", "-m", "64", "-t", "1", "-c", "512"]
        if os.geteuid() == 0:
            argv += ["-u", "root"]
        self.procs["memcached"] = su.spawn(
            argv, self.log_path("memcached"), cwd=self.dir,
            die_with_parent=self.die_with_parent)

    def _spawn_server(self, name):
        conf = os.path.join(self.swift_dir, f"{name}-server.conf")
        argv = [PYTHON, os.path.join(SWIFT_BIN, f"swift-{name}-server"),
                conf, "-v"]
        self.procs[name] = su.spawn(argv, self.log_path(name), cwd=self.dir,
                                    die_with_parent=self.die_with_parent)

    def _fail(self, msg):
        tails = "\n".join(f"--- {n}.log:\n{su.log_tail(self.log_path(n), 15)}"
                          for n in ("memcached",) + SERVERS)
        raise su.HarnessError(f"{msg}\n{tails}")

    def _wait_ready(self, deadline):
        try:
            for name in ("memcached",) + SERVERS:
                su.wait_for_port(self.ports[name], self.host,
                                 max(0.1, deadline - time.monotonic()),
                                 self.procs[name], name, alive=self.procs)
            for name in SERVERS:
                self._wait_healthcheck(name, deadline)
            self._wait_s3(deadline, full=True)
            for name, p in self.procs.items():
                su.check_port_owner(self.ports[name], p.pid)
        except su.HarnessError as e:
            self._fail(str(e))
        if self.buckets:
            s3 = self.client()
            for b in self.buckets:
                s3.create_bucket(b)
            s3.close()

    def _wait_healthcheck(self, name, deadline):
        url = f"http://{self.host}:{self.ports[name]}/healthcheck"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while True:
            su.check_alive(self.procs)
            try:
                with opener.open(url, timeout=2) as r:
                    if r.status == 200 and r.read().strip() == b"OK":
                        return
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                raise su.HarnessError(f"{name} /healthcheck not OK")
            time.sleep(0.05)

    def _wait_s3(self, deadline, full=False):
        """An authenticated S3 request through the whole stack: create a
        bucket, write and delete an object, delete the bucket (full), or just
        list buckets (after a proxy restart)."""
        bucket = "harness-ready-" + secrets.token_hex(4)
        last = None
        while True:
            su.check_alive(self.procs)
            s3 = self.client(timeout=10)
            try:
                if full:
                    s3.create_bucket(bucket)
                    s3.put_object(bucket, "ready", b"ready")
                    if s3.get_object(bucket, "ready") != b"ready":
                        raise su.HarnessError("read-back mismatch")
                    s3.delete_object(bucket, "ready")
                    s3.delete_bucket(bucket)
                else:
                    s3.list_buckets()
                return
            except (OSError, S3Error) as e:
                last = e
            finally:
                s3.close()
            if time.monotonic() > deadline:
                raise su.HarnessError(f"S3 request never succeeded: {last}")
            time.sleep(0.1)


def _cmd_start(args):
    sw = SwiftServer(args.dir, buckets=args.bucket,
                     min_part_size=args.min_part_size,
                     startup_timeout=args.timeout)

    def rclone(sw, info):
        if args.rclone_config:
            sw.write_rclone_config(args.rclone_config,
                                   chunk_size=args.rclone_chunk_size,
                                   concurrency=args.rclone_concurrency)
            info["rclone_config"] = os.path.abspath(args.rclone_config)
    return su.serve_foreground(sw, "swift.py", rclone)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("start", help="start and stay in the foreground")
    st.add_argument("--dir", required=True, help="private directory")
    st.add_argument("--bucket", action="append", default=[],
                    help="create this bucket (repeatable)")
    st.add_argument("--min-part-size", type=int, default=5 * 1024 * 1024)
    st.add_argument("--timeout", type=float, default=None,
                    help="startup timeout, seconds (default: none; a start "
                         "fails when a server exits)")
    st.add_argument("--rclone-config", help="also write an rclone config")
    st.add_argument("--rclone-chunk-size", default="8Mi")
    st.add_argument("--rclone-concurrency", type=int, default=4)
    args = ap.parse_args(argv)
    if args.cmd == "start":
        return _cmd_start(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
