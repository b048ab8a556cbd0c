"""Shared plumbing for the test servers: free ports, child processes, waits.

Python standard library only.  Used by swift.py, tus.py and faultproxy.py.
"""

import ctypes
import errno
import fcntl
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

__all__ = [
    "HarnessError", "PortReservation", "reserve_port", "reserve_ports",
    "reserve_port_range", "port_is_free", "timeout_or_forever", "check_alive",
    "wait_for_port", "spawn", "kill_tree", "listening_socket_owners",
    "check_port_owner", "port_listening", "rss_kib", "pss_kib", "log_tail", "clean_env", "pids_alive",
    "serve_foreground", "Lifecycle", "Daemons", "S3Daemons",
]

HOST = "127.0.0.1"
# Unusual ports, below the kernel's ephemeral range (32768-60999 by default)
# so that outgoing connections never sit on them.
PORT_RANGE = (20000, 32000)
LOCK_DIR = os.path.join(tempfile.gettempdir(), "dockd-test-ports")

PR_SET_PDEATHSIG = 1


class HarnessError(RuntimeError):
    """A test server failed to start or misbehaved."""


def _lock_dir():
    try:
        os.makedirs(LOCK_DIR, exist_ok=True)
        os.chmod(LOCK_DIR, 0o1777)
    except PermissionError:
        pass  # someone else's directory; it is sticky and world-writable
    return LOCK_DIR


def port_is_free(port, host=HOST):
    """True if nothing listens on (host, port) and nothing holds it bound.

    bind() without SO_REUSEADDR/SO_REUSEPORT fails if any socket (a
    listener on host or on 0.0.0.0, an outgoing connection, a TIME_WAIT)
    uses the port; the connect() catches listeners bound with SO_REUSEPORT
    in ways bind() alone may not see.
    """
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((host, port))
    except OSError:
        return False
    finally:
        s.close()
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.settimeout(0.5)
    try:
        c.connect((host, port))
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    else:
        return False
    finally:
        c.close()


class PortReservation:
    """A port picked for a server, with an flock() on
    $TMPDIR/dockd-test-ports/PORT.lock held until release(), so that other
    harness instances (other tests running in parallel) skip it.  The lock
    goes away with the process that holds it, however it dies.

    The lock only keeps our harnesses off the port.  hold= also keeps every
    other program off it: a socket bound to the port (never listening, so it
    takes no connections) stays open until release(), and the server binds
    beside it with the same option:
      "reuseport": SO_REUSEPORT.  Only sockets of our user that set
          SO_REUSEPORT too can bind (Swift's servers do); anything else gets
          EADDRINUSE, whenever the server binds and for as long as it runs,
          restarts included.
      "reuseaddr": SO_REUSEADDR, for servers that set only that (memcached).
          Keeps off programs that do not set it; one that does can still
          bind, and take the port if it listens before our server does.
      "listen": for a server in this process: the socket (self.socket)
          listens already, and the server serves it; connections made before
          the server runs wait in its backlog.
    """

    def __init__(self, port, fd, sock=None):
        self.port = port
        self._fd = fd
        self._sock = sock

    @property
    def socket(self):
        """The held socket (hold="listen": the one to serve), or None."""
        return self._sock

    def release(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __int__(self):
        return self.port

    def __repr__(self):
        return f"<PortReservation {self.port}>"


def _try_lock(port):
    path = os.path.join(_lock_dir(), f"{port}.lock")
    try:
        # Read-only is enough for flock(), and works on a lock file another
        # user created.
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


_HOLD_OPTIONS = {"reuseport": socket.SO_REUSEPORT,
                 "reuseaddr": socket.SO_REUSEADDR,
                 "listen": socket.SO_REUSEADDR}


def _hold_socket(port, host, hold):
    """A socket bound to (host, port) with the option hold names, or None if
    the port is taken."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, _HOLD_OPTIONS[hold], 1)
        s.bind((host, port))
        if hold == "listen":
            s.listen(128)
    except OSError:
        s.close()
        return None
    return s


def reserve_port(host=HOST, exclude=(), rng=random, hold=None):
    """Pick one free port in PORT_RANGE and lock it; returns PortReservation.
    hold: None, "reuseport", "reuseaddr" or "listen" (see PortReservation)."""
    lo, hi = PORT_RANGE
    if hold is not None and hold not in _HOLD_OPTIONS:
        raise ValueError(f"hold={hold!r}")
    for _ in range(2000):
        port = rng.randrange(lo, hi)
        if port in exclude:
            continue
        fd = _try_lock(port)
        if fd is None:
            continue
        if port_is_free(port, host):
            sock = _hold_socket(port, host, hold) if hold else None
            if sock is not None or hold is None:
                return PortReservation(port, fd, sock)
        os.close(fd)
    raise HarnessError("no free port found in %d-%d" % PORT_RANGE)


def reserve_ports(n, host=HOST, hold=None):
    """n distinct free ports, each locked (see PortReservation)."""
    out = []
    try:
        for _ in range(n):
            out.append(reserve_port(host, exclude={r.port for r in out},
                                    hold=hold))
    except BaseException:
        for r in out:
            r.release()
        raise
    return out


def reserve_port_range(n, host=HOST, rng=random):
    """n consecutive free ports, each locked: for servers that take a range
    and bind the first free ports in it (Ceph's OSD: ms_bind_port_min/max).
    Returns the list of PortReservation, lowest port first."""
    lo, hi = PORT_RANGE
    for _ in range(500):
        first = rng.randrange(lo, hi - n)
        got = []
        for port in range(first, first + n):
            fd = _try_lock(port)
            if fd is None:
                break
            got.append(PortReservation(port, fd))
            if not port_is_free(port, host):
                break
        else:
            return got
        for r in got:
            r.release()
    raise HarnessError(f"no {n} consecutive free ports in %d-%d" % PORT_RANGE)


def reserve_specific_port(port, host=HOST, hold=None):
    """Lock a port the caller chose; HarnessError if taken.  hold: as for
    reserve_port()."""
    fd = _try_lock(port)
    if fd is None:
        raise HarnessError(f"port {port} is locked by another test server")
    sock = None
    if not port_is_free(port, host) or \
            (hold and (sock := _hold_socket(port, host, hold)) is None):
        os.close(fd)
        raise HarnessError(f"port {port} on {host} is in use")
    return PortReservation(port, fd, sock)


def clean_env(extra=None):
    """The environment for child servers: no PYTHONPATH & co (a test that
    puts tests/servers on PYTHONPATH would make Swift import our swift.py),
    no proxies (everything is on 127.0.0.1)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PYTHON") and k.lower() not in (
               "http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if extra:
        env.update(extra)
    return env


_libc = ctypes.CDLL(None, use_errno=True)


def _child_setup(die_with_parent):
    parent = os.getpid()

    def setup():
        # Own process group (pgid = pid): kill_tree() kills it whole, and a
        # Swift server's setsid() then fails harmlessly, so it stays put.
        os.setpgid(0, 0)
        if die_with_parent:
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent:  # parent died before the prctl
                os._exit(1)
    return setup


def spawn(argv, log_path=None, env=None, cwd=None, die_with_parent=True,
          stdout=None):
    """Start a server process in its own process group.

    Output (stdout and stderr) goes to log_path (appended) unless stdout is
    given (e.g. subprocess.PIPE for a ready line; stderr then still goes to
    log_path).  die_with_parent: PR_SET_PDEATHSIG=SIGKILL, so the server
    dies if the process (strictly: the thread) that started it dies.
    """
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            argv, stdin=subprocess.DEVNULL,
            stdout=stdout if stdout is not None else log,
            stderr=log, env=env if env is not None else clean_env(),
            cwd=cwd, close_fds=True,
            preexec_fn=_child_setup(die_with_parent))
    finally:
        if log_path:
            log.close()


def kill_tree(proc, sig=signal.SIGTERM, timeout=10.0):
    """Signal proc's process group, wait up to timeout, then SIGKILL the
    group.  Returns proc's exit status.  Safe to call on a dead proc."""
    if proc is None:
        return None
    pgid = proc.pid
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        pass
    # Whatever is left in the group (the leader or anything it forked).
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"pid {proc.pid} survived SIGKILL")
    # Children that were still in the group die with SIGKILL; give the
    # kernel a moment so callers can check for strays right away.
    deadline = time.monotonic() + 5
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return proc.returncode


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pids_alive(pids):
    """The subset of pids that still exist and are not zombies."""
    alive = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            continue
        if state not in ("Z", "X"):
            alive.append(pid)
    return alive


def log_tail(path, lines=30):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 16384))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(data.splitlines()[-lines:])


def timeout_or_forever(timeout):
    """timeout, or infinity for None: deadlines computed from it are then
    never reached (time.monotonic() + inf is inf)."""
    return float("inf") if timeout is None else float(timeout)


def check_alive(procs):
    """Raise HarnessError if one of procs ({name: Popen}) has exited."""
    for name, p in procs.items():
        if p.poll() is not None:
            raise HarnessError(f"{name} exited with status {p.returncode}")


def wait_for_port(port, host=HOST, timeout=30.0, proc=None, what=None,
                  alive=None):
    """Wait until (host, port) accepts a connection.  If proc exits first,
    or one of alive ({name: Popen}, the processes the server needs), raise
    HarnessError at once instead of waiting out the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise HarnessError(f"{what or proc.args[0]} exited with status "
                               f"{proc.returncode} before listening on "
                               f"{host}:{port}")
        if alive:
            check_alive(alive)
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise HarnessError(f"{what or 'server'} did not listen on "
                               f"{host}:{port} within {timeout} s")
        time.sleep(0.02)


def _listen_inodes(port):
    """Inodes of the LISTEN sockets on a TCP port (IPv4 and IPv6)."""
    inodes = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local, state, inode = fields[1], fields[3], fields[9]
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                        inodes.append(int(inode))
        except FileNotFoundError:
            pass
    return inodes


def _socket_inodes_of(pid):
    out = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                out.add(int(link[8:-1]))
    except OSError:
        pass
    return out


def port_listening(port):
    """True if some socket listens on the TCP port (any address)."""
    return bool(_listen_inodes(port))


def listening_socket_owners(port):
    """{inode: [pids]} for every LISTEN socket on port (pids we can see)."""
    inodes = _listen_inodes(port)
    owners = {i: [] for i in inodes}
    if not inodes:
        return owners
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        for i in _socket_inodes_of(int(d)) & set(inodes):
            owners[i].append(int(d))
    return owners


def check_port_owner(port, pid):
    """Raise HarnessError unless every listener on port belongs to pid.

    Swift binds with SO_REUSEPORT, so a second server started on the same
    port would share it silently and answer half the connections."""
    mine = _socket_inodes_of(pid)
    listeners = _listen_inodes(port)
    if not listeners:
        raise HarnessError(f"nothing listens on port {port}")
    strangers = [i for i in listeners if i not in mine]
    if strangers:
        owners = listening_socket_owners(port)
        raise HarnessError(
            f"port {port} is shared: pid {pid} and listeners "
            f"{ {i: owners.get(i) for i in strangers} }")


def rss_kib(pids):
    """Sum of VmRSS (KiB) of the given pids (those still alive)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def pss_kib(pids):
    """Sum of proportional set sizes (KiB): shared pages counted once."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def free_tcp_port_now(host=HOST):
    """A kernel-chosen free port (for servers we bind ourselves)."""
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def is_eaddrinuse(exc):
    return isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE


class Lifecycle:
    """`with server:` starts it and stops it however the block ends."""

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


class Daemons(Lifecycle):
    """A server made of processes: self.procs ({name: Popen}) and the port
    reservations they listen on, self._reservations.

    dir: its private directory (None: a temporary one, removed by stop());
    self._own_dir says which."""

    def __init__(self, dir, startup_timeout, die_with_parent):
        self._own_dir = dir is None
        self.dir = os.path.abspath(dir) if dir else None
        self.startup_timeout = timeout_or_forever(startup_timeout)
        self.die_with_parent = die_with_parent
        self.host = HOST
        self.ports = {}
        self.procs = {}
        self._reservations = []
        self.startup_s = None
        self._lock = threading.RLock()

    @property
    def pids(self):
        """{name: pid} of the processes still running."""
        return {n: p.pid for n, p in self.procs.items() if p.poll() is None}

    def rss_kib(self):
        """Resident memory of all the processes, KiB."""
        return rss_kib(self.pids.values())

    def pss_kib(self):
        """Proportional set size of all the processes, KiB."""
        return pss_kib(self.pids.values())

    # Subclasses: TMP_PREFIX, _prepare() (before _start_once()),
    # _start_once(), _after_start(), _stop_processes().
    TMP_PREFIX = "dockd-server-"

    def start(self):
        """Start every process and wait until they serve (their ports are
        held from before they bind); everything is stopped if the start
        fails.  Sets startup_s."""
        self._t0 = time.monotonic()
        if self.dir is None:
            self.dir = tempfile.mkdtemp(prefix=self.TMP_PREFIX)
        try:
            self._prepare()
            self._start_once()
            self._after_start()
        except BaseException:
            self.stop()
            raise
        self.startup_s = round(time.monotonic() - self._t0, 3)
        return self

    def stop(self):
        """Stop every process, release the ports, remove the directory if
        it is a temporary one.  Idempotent."""
        with self._lock:
            self._stop_processes()
            self._release_ports()
            if self._own_dir and self.dir and os.path.isdir(self.dir):
                shutil.rmtree(self.dir, ignore_errors=True)

    def _prepare(self):
        pass

    def _after_start(self):
        pass

    def _release_ports(self):
        for r in self._reservations:
            r.release()
        self._reservations = []


class S3Daemons(Daemons):
    """Daemons that serve S3 at self.endpoint with self.access_key,
    self.secret_key and self.region."""

    def __init__(self, dir, startup_timeout, die_with_parent, access_key,
                 secret_key, region):
        super().__init__(dir, startup_timeout, die_with_parent)
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region

    def client(self, **kw):
        """An s3client.S3Client for this server."""
        from s3client import S3Client
        return S3Client(self.endpoint, self.access_key, self.secret_key,
                        self.region, **kw)

    def info(self):
        """What the CLIs print: endpoint, credentials, ports, pids, dir,
        startup_s, rss_kib, pss_kib."""
        return {"endpoint": self.endpoint, "access_key": self.access_key,
                "secret_key": self.secret_key, "region": self.region,
                "ports": dict(self.ports), "pids": self.pids, "dir": self.dir,
                "startup_s": self.startup_s, "rss_kib": self.rss_kib(),
                "pss_kib": self.pss_kib()}


def serve_foreground(server, prog, add_info=None):
    """The servers' CLIs: start server, print its info() (plus what
    add_info(server, info) adds) as one JSON line, and stay until SIGTERM,
    SIGINT or SIGHUP, or until one of server.procs dies; then stop it.
    Returns the exit status (1 if it failed or a process died)."""
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    try:
        server.start()
        info = server.info()
        if add_info:
            add_info(server, info)
        print(json.dumps(info), flush=True)
        while not stop.wait(1):
            dead = [n for n, p in server.procs.items() if p.poll() is not None]
            if dead:
                print(f"{prog}: {', '.join(dead)} died; stopping",
                      file=sys.stderr, flush=True)
                return 1
        return 0
    except HarnessError as e:
        print(f"{prog}: {e}", file=sys.stderr, flush=True)
        return 1
    finally:
        server.stop()
