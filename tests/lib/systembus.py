# SPDX-License-Identifier: Apache-2.0
"""A system bus of our own, configured like Debian's (default context of
/usr/share/dbus-1/system.conf) plus the D-Bus policies we give it, the users
and groups those policies name, and a real polkitd on that bus.

Call dockdtest.in_private_mount_ns() first: the users and groups are bind
mounted over /etc/passwd and /etc/group, and polkit's actions and rules
directories are replaced, in this process's private mount namespace only.

Why a real polkitd can run here: polkitd needs no systemd and no logind. It
finds the system bus through $DBUS_SYSTEM_BUS_ADDRESS (GDBus honours it),
reads its actions from /usr/share/polkit-1/actions and its rules from
/etc/polkit-1/rules.d and /usr/share/polkit-1/rules.d (bind mounts of
directories we fill), and drops from root to its own user polkitd (Debian's
package creates it). Without logind, no caller has a session: polkit applies
an action's allow_any default, and rules see subject.local/active false."""

import os
import shutil
import subprocess

from dockdtest import SOURCE_DIR, check, wait_for

# The default context of Debian 12's /usr/share/dbus-1/system.conf.
SYSTEM_BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
{extra}
{includes}
</busconfig>
"""

DBUS_POLICY = os.path.join(SOURCE_DIR, "systemd", "org.dockd.Dock1.conf")
POLKIT_ACTIONS = os.path.join(SOURCE_DIR, "systemd", "org.dockd.policy")
SYSUSERS = os.path.join(SOURCE_DIR, "systemd", "dockd.sysusers")
POLKIT_BUS_POLICY = "/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf"
POLKITD = "/usr/lib/polkit-1/polkitd"

STATUS_GROUP = "dockd-status"


def unpreloaded():
    """Our environment without umockdev's preload (we may be inside vdock's
    world): the bus and polkitd are not part of the emulated dock."""
    return {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "UMOCKDEV_DIR")}


def as_user(name, argv):
    """argv run as user name with its groups (from the bind-mounted files)."""
    return ["setpriv", f"--reuid={name}", f"--regid={name}", "--init-groups", "--"] + list(argv)


class Users:
    """/etc/passwd and /etc/group of this machine, plus what dockd's sysusers
    file creates, plus test users; bind-mounted over /etc in this namespace."""

    def __init__(self, tmp, users=(), sysusers=SYSUSERS):
        """users: (name, uid, [groups]) to add; sysusers: the sysusers.d file
        (the source tree's, or an installed one)."""
        root = tmp.join("users-root")
        os.makedirs(root + "/etc")
        for f in ("passwd", "group", "shadow", "gshadow"):
            if os.path.exists("/etc/" + f):
                shutil.copy("/etc/" + f, root + "/etc/" + f)
        p = subprocess.run(["systemd-sysusers", f"--root={root}", sysusers], capture_output=True, text=True)
        check(p.returncode == 0, f"systemd-sysusers {sysusers}: {p.stderr}")
        self.passwd, self.group = root + "/etc/passwd", root + "/etc/group"
        for name, uid, groups in users:
            self._add(name, uid, groups)
        for f in ("passwd", "group"):
            os.chmod(root + "/etc/" + f, 0o644)
            subprocess.run(["mount", "--bind", root + "/etc/" + f, "/etc/" + f], check=True)

    def groups(self):
        return {ln.split(":")[0] for ln in open(self.group) if ":" in ln}

    def _add(self, name, uid, member_of):
        with open(self.passwd, "a") as f:
            f.write(f"{name}:x:{uid}:{uid}::/nonexistent:/usr/sbin/nologin\n")
        out = []
        for ln in open(self.group).read().splitlines():
            parts = ln.split(":")
            if len(parts) == 4 and parts[0] in member_of:
                parts[3] = ",".join([m for m in parts[3].split(",") if m] + [name])
            out.append(":".join(parts))
        out.append(f"{name}:x:{uid}:")
        with open(self.group, "w") as f:
            f.write("\n".join(out) + "\n")


class SystemBus:
    """dbus-daemon --system-like on a socket of ours, with the given policy
    files included (dockd's by default). extra: more <policy> XML, e.g. to let
    root own dockd's name when dockd runs as root."""

    def __init__(self, tmp, includes=(DBUS_POLICY,), extra=""):
        self.socket = tmp.join("system_bus_socket")
        conf = tmp.join("system-bus.conf")
        with open(conf, "w") as f:
            f.write(SYSTEM_BUS_CONF.format(socket=self.socket, extra=extra,
                                           includes="\n".join(f"  <include>{p}</include>" for p in includes)))
        self.log = open(tmp.join("dbus-daemon.log"), "ab")
        self.proc = subprocess.Popen(["dbus-daemon", "--config-file", conf, "--nofork", "--nopidfile"],
                                     stdout=self.log, stderr=self.log, env=unpreloaded())
        wait_for(lambda: os.path.exists(self.socket), 10, what="dbus-daemon")
        os.chmod(self.socket, 0o666)
        self.address = "unix:path=" + self.socket

    def env(self):
        return {"DBUS_SYSTEM_BUS_ADDRESS": self.address}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()


ROOT_OWNS_DOCKD = """  <policy user="root">
    <allow own="org.dockd.Dock1"/>
  </policy>"""


class Polkit:
    """A real polkitd on bus, with dockd's actions file and the given rules
    (JavaScript, as in /etc/polkit-1/rules.d) and no other actions or rules."""

    def __init__(self, tmp, bus, rules, actions=(POLKIT_ACTIONS,)):
        check(os.path.exists(POLKITD), f"{POLKITD} is missing: scripts/setup installs polkitd")
        adir, rdir = tmp.join("polkit-actions"), tmp.join("polkit-rules")
        os.makedirs(adir)
        os.makedirs(rdir)
        for a in actions:
            shutil.copy(a, adir)
        with open(os.path.join(rdir, "50-dockd-test.rules"), "w") as f:
            f.write(rules)
        for d in (tmp.path, adir, rdir):
            os.chmod(d, 0o755)
        for p in os.listdir(adir) + ["50-dockd-test.rules"]:
            for d in (adir, rdir):
                if os.path.exists(os.path.join(d, p)):
                    os.chmod(os.path.join(d, p), 0o644)
        subprocess.run(["mount", "--bind", adir, "/usr/share/polkit-1/actions"], check=True)
        os.makedirs("/etc/polkit-1/rules.d", exist_ok=True)
        subprocess.run(["mount", "--bind", rdir, "/etc/polkit-1/rules.d"], check=True)
        if os.path.isdir("/usr/share/polkit-1/rules.d"):
            subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/usr/share/polkit-1/rules.d"],
                           check=True)
        env = unpreloaded()
        env.update(bus.env())
        self.log = open(tmp.join("polkitd.log"), "ab")
        self.proc = subprocess.Popen([POLKITD, "--no-debug"], env=env, stdout=self.log, stderr=self.log)
        self.bus = bus

        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"polkitd exited {self.proc.returncode}: "
                                     + open(tmp.join("polkitd.log"), errors="replace").read()[-2000:])
            return subprocess.run(["busctl", f"--address={bus.address}", "status", "org.freedesktop.PolicyKit1"],
                                  capture_output=True, env=unpreloaded()).returncode == 0
        wait_for(up, 20, what="polkitd on the bus")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()
