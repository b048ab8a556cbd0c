# SPDX-License-Identifier: Apache-2.0
"""Where a test hung, when meson's timeout kills it.

meson ends a test that ran too long with SIGTERM to its process group and
SIGKILL half a second later. By default a Python test then dies silently: its
block-buffered stdout is lost and nothing says what it was waiting for. After
install(), SIGTERM first prints, on stderr, every thread's Python stack (from
the C handler, so even a main thread stuck in a call shows) and then every
process of the test's session with its state, kernel wait channel and kernel
stack: a vdock or umtprd stuck in the kernel (a FUSE request nobody answers)
shows there. Then the process dies of the signal as before."""

import faulthandler
import os
import signal
import sys

# Set in the environment by the process that prints the session's processes,
# so that harness processes it starts (a case re-run inside vdock) print only
# their own stacks. run_in_vdock() clears it: vdock execs in its place.
TABLE_OWNER = "DOCKD_TEST_HANG_TABLE"


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _session_processes(sid):
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        stat = _read(f"/proc/{name}/stat")
        # comm may hold spaces and parentheses: the fields follow the last ')'
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 3 and int(fields[3]) == sid:
            yield int(name), fields[0], int(fields[1])


def _print_session():
    """Every process of this session: pid, parent, state, wait channel, command,
    and for each of its threads not running, the kernel stack."""
    out = sys.stderr
    print(f"--- processes of session {os.getsid(0)} (pid ppid state wchan command):", file=out)
    for pid, state, ppid in sorted(_session_processes(os.getsid(0))):
        cmd = _read(f"/proc/{pid}/cmdline").replace("\0", " ").strip()[:200]
        print(f"{pid} {ppid} {state} {_read(f'/proc/{pid}/wchan') or '-'} {cmd}", file=out)
        try:
            tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
        except OSError:
            continue
        for tid in tids:
            tstat = _read(f"/proc/{pid}/task/{tid}/stat")
            tstate = tstat[tstat.rfind(")") + 2:][:1]
            stack = _read(f"/proc/{pid}/task/{tid}/stack").strip()
            if tstate in ("D", "S") and stack:
                comm = _read(f"/proc/{pid}/task/{tid}/comm").strip()
                print(f"    thread {tid} ({comm}) {tstate}: " + " < ".join(
                    ln.split()[-1].split("+")[0] for ln in stack.splitlines()[:8]), file=out)
    out.flush()


def _on_sigterm(signum, frame):
    if os.environ.get(TABLE_OWNER) == str(os.getpid()):
        _print_session()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def install():
    """Call once, first thing in a test process."""
    sys.stdout.reconfigure(line_buffering=True)
    os.environ.setdefault(TABLE_OWNER, str(os.getpid()))
    # The Python handler runs when the main thread next gets control (a wait
    # returns EINTR); faulthandler's, chained before it, at once.
    signal.signal(signal.SIGTERM, _on_sigterm)
    faulthandler.register(signal.SIGTERM, all_threads=True, chain=True)
