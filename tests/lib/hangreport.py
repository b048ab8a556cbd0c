# SPDX-License-Identifier: Apache-2.0
"""Where a test hung, when meson's timeout kills it.

meson ends a test that ran too long with SIGTERM to its process group and
SIGKILL half a second later. By default a Python test then dies silently: its
block-buffered stdout is lost and nothing says what it was waiting for. After
install(), SIGTERM first prints, on stderr, every thread's Python stack (from
the C handler, so even a main thread stuck in a call shows) and then every
process of the test's session with its state, kernel wait channel and kernel
stack: a vdock or umtprd stuck in the kernel (a FUSE request nobody answers)
shows there. Then the process dies of the signal as before.

A main thread in a killable kernel wait (a FUSE request nobody answers) never
runs a handler for SIGTERM, which is not fatal once handled: with
DOCKD_TEST_TIMEOUT (meson's timeout for the test, in seconds) set, the same
report is printed from a thread of its own 10 s before meson's timeout."""

import faulthandler
import os
import signal
import sys
import threading
import time

# Set in the environment by the process that prints the session's processes,
# so that harness processes it starts (a case re-run inside vdock) print only
# their own stacks. run_in_vdock() clears it: vdock execs in its place.
TABLE_OWNER = "DOCKD_TEST_HANG_TABLE"
# When the report is due (time.time()), set by the first harness process from
# DOCKD_TEST_TIMEOUT and inherited, so a case re-run inside vdock reports at
# the same moment.
DEADLINE = "DOCKD_TEST_HANG_DEADLINE"
MARGIN = 10


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


def _report(why):
    print(f"--- {' '.join(sys.argv)} (pid {os.getpid()}) {why}; its threads:", file=sys.stderr, flush=True)
    faulthandler.dump_traceback(all_threads=True)
    if os.environ.get(TABLE_OWNER) == str(os.getpid()):
        _print_session()


def _on_sigterm(signum, frame):
    if os.environ.get(TABLE_OWNER) == str(os.getpid()):
        _print_session()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _watch(deadline):
    time.sleep(max(0.0, deadline - time.time()))
    _report("still running near meson's timeout (DOCKD_TEST_TIMEOUT)")


def install():
    """Call once, first thing in a test process."""
    sys.stdout.reconfigure(line_buffering=True)
    os.environ.setdefault(TABLE_OWNER, str(os.getpid()))
    # The Python handler runs when the main thread next gets control (a wait
    # returns EINTR); faulthandler's, chained before it, at once.
    signal.signal(signal.SIGTERM, _on_sigterm)
    faulthandler.register(signal.SIGTERM, all_threads=True, chain=True)
    if DEADLINE not in os.environ and os.environ.get("DOCKD_TEST_TIMEOUT"):
        os.environ[DEADLINE] = str(time.time() + float(os.environ["DOCKD_TEST_TIMEOUT"]) - MARGIN)
    if DEADLINE in os.environ:
        threading.Thread(target=_watch, args=(float(os.environ[DEADLINE]),), daemon=True).start()
