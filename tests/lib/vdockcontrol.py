# SPDX-License-Identifier: Apache-2.0
"""The client of vdock's control socket ($VDOCK_CONTROL, tests/vdock/control.h):
one connection a command, one command line out, one reply line back, "ok ..."
or "error ...". Standard library only: the harnesses that run inside vdock's
world (tests/lib/dockdtest.py, tests/conformance, tests/vdock) import it."""

import os
import socket

# A command may wait on the world (a truth dump of many cameras on a loaded
# machine); a control socket that answers nothing for this long is a hang.
TIMEOUT = 120


class ControlError(RuntimeError):
    """vdock answered a command with something other than "ok"."""

    def __init__(self, line, reply):
        super().__init__(f"vdock control {line!r}: {reply}")
        self.line = line
        self.reply = reply


def request(line, path=None, timeout=TIMEOUT):
    """Send one command; return vdock's reply line as it is ("ok ..." or
    "error ..."), without its newline. path: the socket, $VDOCK_CONTROL unless
    given."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path or os.environ["VDOCK_CONTROL"])
        s.sendall((line + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return buf.decode().strip()


def command(line, path=None, timeout=TIMEOUT):
    """Send one command that must succeed; return what follows "ok" in the
    reply. Raises ControlError on any other reply."""
    reply = request(line, path, timeout)
    if not reply.startswith("ok"):
        raise ControlError(line, reply)
    return reply[2:].strip()
