#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Suite operations: who may act on the dock (issue 14, item 4). Operator
actions are D-Bus methods authorised by polkit; these cases check the
authorisation itself, without cameras (test_holds.py and test_operator.py
check what the actions do to cameras and storage).

How tests authorise: a REAL polkitd (Debian's polkitd 122), not a stand-in.
It runs on a private bus configured like Debian's system bus
(tests/lib/systembus.py says why it can run there), with dockd's installed
actions file and test rules (busops.RULES): user dockd-operator is granted
every org.dockd action, dockd-slow too once the test opens a gate, and
nobody else is (the actions' default, auth_admin, then applies: no agent
runs, so polkit refuses). dockd runs as its own user dockd, as installed, so
polkit's owner annotation (unix-user:dockd) is exercised too: without it
polkit refuses dockd's questions about other users. Users and groups come
from dockd's sysusers file plus the test users, bind-mounted over
/etc/passwd and /etc/group in a private mount namespace."""

import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from dockdtest import (DOCKCTL, Dockd, TempDir, case, check, in_private_mount_ns, make_ca,  # noqa: E402
                       run_cases, wait_for, write_config)
from busops import (BAY_IFACE, BUS_NAME, DOCK_IFACE, DOCK_PATH, OPERATOR, OUTSIDER, READER, SLOW,  # noqa: E402
                     Authority, BusError, bay_path, busctl, call, custody_records, dockctl_as, get,
                     get_all, operator_records, verify_custody)
from systembus import as_user  # noqa: E402

HOLD = ("BWC-OP0001", "20261121T221500Z-0001", "CASE-2026-0117")

# (dockctl verb and arguments, polkit action, D-Bus path, interface, method, arguments)
ACTIONS = [
    (["hold", *HOLD], "org.dockd.hold-recording", DOCK_PATH, DOCK_IFACE, "HoldRecording", list(HOLD)),
    (["retry-storage"], "org.dockd.retry-storage", DOCK_PATH, DOCK_IFACE, "RetryStorage", []),
    (["disable-bay", "2"], "org.dockd.manage-bay", bay_path(2), BAY_IFACE, "SetEnabled", [False]),
    (["self-test", "1"], "org.dockd.run-self-test", bay_path(1), BAY_IFACE, "RunSelfTest", []),
]


class Dock:
    """dockd as user dockd, 2 bays, file backend, on an Authority's bus."""

    def __init__(self, polkit=True):
        in_private_mount_ns()
        self.tmp = TempDir(prefix="dockd-actions-")
        self.auth = self.d = None
        try:
            self.auth = Authority(self.tmp, polkit=polkit)
            self.env = self.auth.env()
            self.state, central = self.tmp.join("state"), self.tmp.join("central")
            for p in (self.state, central):
                os.makedirs(p)
                shutil.chown(p, "dockd", "dockd")
            ca = make_ca(self.tmp)
            os.chmod(ca, 0o644)
            self.config = write_config(self.tmp.join("dockd.conf"), {
                "dock": {"name": "test-dock", "state_dir": self.state, "bays": "2", "trust_anchors": ca},
                "file": {"path": central},
                "storage": {"custody_interval": "1h"}})
            os.chmod(self.config, 0o644)
            self.start()
        except BaseException:
            self.cleanup()
            raise

    def start(self):
        old = os.umask(0)   # the notify socket: writable by user dockd
        try:
            self.d = Dockd(self.tmp, self.config, env=self.env, wrapper=as_user("dockd", []))
        finally:
            os.umask(old)
        self.d.wait_ready()
        wait_for(lambda: busctl(self.env, "status", BUS_NAME, check_rc=False).returncode == 0, 10,
                 what="dockd on the bus")

    def restart(self):
        check(self.d.stop() == 0, "dockd did not exit 0")
        self.start()

    def dockctl(self, user, *args):
        return dockctl_as(user, ["--no-ask-password"] + list(args), self.env)

    def snapshot(self):
        """What an action may change: holds, bays, custody."""
        dock = get_all(self.env, DOCK_PATH, DOCK_IFACE)
        bays = [get(self.env, bay_path(n), BAY_IFACE, "Enabled") for n in (1, 2)]
        return {"holds": dock["Holds"], "enabled": bays, "custody": len(custody_records(self.state)),
                "holds_file": open(os.path.join(self.state, "holds.json")).read()
                if os.path.exists(os.path.join(self.state, "holds.json")) else None}

    def cleanup(self):
        try:
            if self.d and self.d.proc.poll() is None:
                self.d.kill9()
        finally:
            if self.auth:
                self.auth.stop()
            self.tmp.cleanup()


def uid_of(user):
    return {OPERATOR[0]: OPERATOR[1], READER[0]: READER[1], OUTSIDER[0]: OUTSIDER[1], "root": 0}[user]


@case
def actions_denied():
    """A reader of status and a user in no dockd group are refused every
    action, through dockctl and directly, with a clear error; nothing changes
    (dockd's state, its files, the custody log)."""
    dock = Dock()
    try:
        problems = []
        before = dock.snapshot()
        for verb, action, path, iface, method, args in ACTIONS:
            for user in (READER[0], OUTSIDER[0]):
                p = dock.dockctl(user, *verb)
                if p.returncode == 0:
                    problems.append(f"dockctl {' '.join(verb)} as {user} succeeded: {p.stdout}")
                elif action not in p.stderr or "authoriz" not in p.stderr.lower():
                    problems.append(f"dockctl {' '.join(verb)} as {user}: unclear refusal {p.stderr.strip()!r} "
                                    f"(should name {action} and say it is not authorized)")
                # Straight over D-Bus, without allowing interaction: polkit would
                # ask for a password (auth_admin), so the caller is told so.
                try:
                    call(dock.env, path, iface, method, *args, user=user)
                    problems.append(f"{method} as {user} succeeded")
                except BusError as e:
                    if e.name != "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired":
                        problems.append(f"{method} as {user} without interaction: {e.name}: {e.message}")
                # Allowing interaction, with no agent to ask: refused.
                try:
                    call(dock.env, path, iface, method, *args, user=user, interactive=True)
                    problems.append(f"{method} as {user} (interactive) succeeded")
                except BusError as e:
                    if e.name != "org.freedesktop.DBus.Error.AccessDenied":
                        problems.append(f"{method} as {user} with interaction: {e.name}: {e.message}")
        after = dock.snapshot()
        if after != before:
            problems.append(f"refused actions changed the dock:\nbefore {before}\nafter  {after}")
        asked = {(c[0], c[1]) for c in dock.auth.checks()}
        for _, action, *_ in ACTIONS:
            for user in (READER[0], OUTSIDER[0]):
                if (action, user) not in asked:
                    problems.append(f"polkit was never asked about {action} for {user}")
        check(not problems, "\n".join(problems))
        check(dock.d.stop() == 0, "dockd did not exit 0")
    finally:
        dock.cleanup()


@case
def actions_allowed():
    """The operator (granted by a polkit rule) and root act; each action
    leaves a custody record naming who asked; polkit saw the subject and the
    details."""
    dock = Dock()
    try:
        problems = []
        env = dock.env
        seq0 = len(custody_records(dock.state))
        # Hold and release, by the operator through dockctl.
        p = dock.dockctl(OPERATOR[0], "hold", *HOLD)
        check(p.returncode == 0, f"dockctl hold as the operator: {p.stderr}")
        holds = get(env, DOCK_PATH, DOCK_IFACE, "Holds")
        check(len(holds) == 1 and tuple(holds[0][:3]) == HOLD and holds[0][4] == OPERATOR[1]
              and holds[0][5] == OPERATOR[0] and holds[0][3] > 0, f"Holds after hold: {holds}")
        p = dock.dockctl(OPERATOR[0], "holds")
        check(p.returncode == 0 and HOLD[1] in p.stdout and HOLD[2] in p.stdout and OPERATOR[0] in p.stdout,
              f"dockctl holds: {p.stdout} {p.stderr}")
        try:
            call(env, DOCK_PATH, DOCK_IFACE, "HoldRecording", *HOLD, user=OPERATOR[0])
            problems.append("the same hold twice was accepted")
        except BusError as e:
            if e.name != "org.dockd.Dock1.Error.AlreadyHeld":
                problems.append(f"the same hold twice: {e.name}: {e.message}")
        # A second preservation request for the same recording is its own hold.
        call(env, DOCK_PATH, DOCK_IFACE, "HoldRecording", HOLD[0], HOLD[1], "CASE-2026-0200", user=OPERATOR[0])
        p = dock.dockctl(OPERATOR[0], "release", *HOLD)
        check(p.returncode == 0, f"dockctl release as the operator: {p.stderr}")
        holds = get(env, DOCK_PATH, DOCK_IFACE, "Holds")
        if [tuple(h[:3]) for h in holds] != [(HOLD[0], HOLD[1], "CASE-2026-0200")]:
            problems.append(f"after releasing one of two holds: {holds}")
        try:
            call(env, DOCK_PATH, DOCK_IFACE, "ReleaseRecording", *HOLD, user=OPERATOR[0])
            problems.append("releasing a hold that is not there succeeded")
        except BusError as e:
            if e.name != "org.dockd.Dock1.Error.NotHeld":
                problems.append(f"releasing a hold that is not there: {e.name}: {e.message}")
        # Root needs no polkit rule.
        call(env, DOCK_PATH, DOCK_IFACE, "ReleaseRecording", HOLD[0], HOLD[1], "CASE-2026-0200")
        # Bays and storage.
        p = dock.dockctl(OPERATOR[0], "disable-bay", "2")
        check(p.returncode == 0, f"dockctl disable-bay 2: {p.stderr}")
        b2 = get_all(env, bay_path(2), BAY_IFACE)
        if b2["Enabled"] is not False or b2["State"] != "disabled":
            problems.append(f"bay 2 after disable-bay: {b2}")
        p = dock.dockctl(OPERATOR[0], "enable-bay", "2")
        check(p.returncode == 0, f"dockctl enable-bay 2: {p.stderr}")
        b2 = get_all(env, bay_path(2), BAY_IFACE)
        if b2["Enabled"] is not True or b2["State"] != "empty":
            problems.append(f"bay 2 after enable-bay: {b2}")
        p = dock.dockctl(OPERATOR[0], "retry-storage")
        check(p.returncode == 0, f"dockctl retry-storage: {p.stderr}")
        # A self-test needs a camera: authorised, then refused, and no record.
        p = dock.dockctl(OPERATOR[0], "self-test", "1")
        if p.returncode == 0 or "no camera" not in p.stderr.lower():
            problems.append(f"dockctl self-test 1 on an empty bay: rc {p.returncode}, {p.stderr.strip()!r}")
        for bad in (["disable-bay", "3"], ["disable-bay", "0"], ["self-test", "x"]):
            p = dock.dockctl(OPERATOR[0], *bad)
            if p.returncode == 0:
                problems.append(f"dockctl {' '.join(bad)} succeeded")

        recs = custody_records(dock.state)[seq0:]
        ops = [r for r in recs if "action" in r]
        got = [(r["event"], r["action"], r["uid"], r["user"], r.get("recording"), r.get("reference"), r.get("bay"))
               for r in ops]
        want = [("recording-held", "org.dockd.hold-recording", str(OPERATOR[1]), OPERATOR[0], HOLD[1], HOLD[2], None),
                ("recording-held", "org.dockd.hold-recording", str(OPERATOR[1]), OPERATOR[0], HOLD[1],
                 "CASE-2026-0200", None),
                ("recording-released", "org.dockd.release-recording", str(OPERATOR[1]), OPERATOR[0], HOLD[1], HOLD[2],
                 None),
                ("recording-released", "org.dockd.release-recording", "0", "root", HOLD[1], "CASE-2026-0200", None),
                ("bay-disabled", "org.dockd.manage-bay", str(OPERATOR[1]), OPERATOR[0], None, None, "2"),
                ("bay-enabled", "org.dockd.manage-bay", str(OPERATOR[1]), OPERATOR[0], None, None, "2"),
                ("storage-retry", "org.dockd.retry-storage", str(OPERATOR[1]), OPERATOR[0], None, None, None)]
        if got != want:
            problems.append("custody records of the actions:\n  " + "\n  ".join(map(str, got))
                            + "\nexpected:\n  " + "\n  ".join(map(str, want)))
        for r in ops:
            if r.get("event", "").startswith("recording-") and r.get("camera") != HOLD[0]:
                problems.append(f"custody record without the camera: {r}")
        # What polkit was asked: the operator as subject, the arguments as details.
        checks = dock.auth.checks()
        hold_checks = [c for c in checks if c[0] == "org.dockd.hold-recording" and c[1] == OPERATOR[0]]
        if not hold_checks or f"camera={HOLD[0]}" not in hold_checks[0] or f"recording={HOLD[1]}" not in \
                hold_checks[0] or f"reference={HOLD[2]}" not in hold_checks[0]:
            problems.append(f"polkit was asked about the hold as {hold_checks[:1]}")
        bay_checks = [c for c in checks if c[0] == "org.dockd.manage-bay" and c[1] == OPERATOR[0]]
        if not bay_checks or "bay=2" not in bay_checks[0]:
            problems.append(f"polkit was asked about bay 2 as {bay_checks[:1]}")
        if any(c[1] == "root" for c in checks):
            problems.append("polkit was asked about root")
        ok, out = verify_custody(dock.state)
        if not ok:
            problems.append(f"custody log does not verify: {out}")
        check(not problems, "\n".join(problems))
        check(dock.d.stop() == 0, "dockd did not exit 0")
    finally:
        dock.cleanup()


@case
def actions_invalid_arguments():
    """Malformed arguments are refused before polkit is asked (its dialog never
    shows them) and change nothing."""
    dock = Dock()
    try:
        problems = []
        before = dock.snapshot()
        bad = [("bwc lower", HOLD[1], HOLD[2]), ("BWC-OP0001/..", HOLD[1], HOLD[2]), (HOLD[0], "../etc", HOLD[2]),
               (HOLD[0], HOLD[1], ""), (HOLD[0], HOLD[1], "CASE\x1b[2J"), (HOLD[0], HOLD[1], "x" * 129),
               (HOLD[0], "", HOLD[2])]
        for args in bad:
            for method in ("HoldRecording", "ReleaseRecording"):
                try:
                    call(dock.env, DOCK_PATH, DOCK_IFACE, method, *args, user=OPERATOR[0])
                    problems.append(f"{method}{args!r} accepted")
                except BusError as e:
                    if e.name != "org.freedesktop.DBus.Error.InvalidArgs":
                        problems.append(f"{method}{args!r}: {e.name}: {e.message}")
        if dock.auth.checks():
            problems.append(f"polkit was asked about malformed arguments: {dock.auth.checks()}")
        if dock.snapshot() != before:
            problems.append("malformed arguments changed the dock")
        check(not problems, "\n".join(problems))
        check(dock.d.stop() == 0, "dockd did not exit 0")
    finally:
        dock.cleanup()


@case
def actions_holds_survive_restart():
    """A hold is durable before the method returns: kill -9 right after it,
    and the restarted dockd still holds the recording; a release is durable
    too."""
    dock = Dock()
    try:
        call(dock.env, DOCK_PATH, DOCK_IFACE, "HoldRecording", *HOLD, user=OPERATOR[0])
        dock.d.kill9()
        dock.start()
        holds = get(dock.env, DOCK_PATH, DOCK_IFACE, "Holds")
        check([tuple(h[:3]) + (h[5],) for h in holds] == [HOLD + (OPERATOR[0],)], f"Holds after kill -9: {holds}")
        st = os.stat(os.path.join(dock.state, "holds.json"))
        check(st.st_mode & 0o022 == 0, f"holds.json is writable by others: mode {oct(st.st_mode)}")
        call(dock.env, DOCK_PATH, DOCK_IFACE, "ReleaseRecording", *HOLD, user=OPERATOR[0])
        dock.d.kill9()
        dock.start()
        holds = get(dock.env, DOCK_PATH, DOCK_IFACE, "Holds")
        check(holds == [], f"Holds after release and kill -9: {holds}")
        check(dock.d.stop() == 0, "dockd did not exit 0")
    finally:
        dock.cleanup()


@case
def actions_wait_on_the_loop():
    """Authorisation is asynchronous: while polkit takes its time over one
    caller (a rule that waits for a gate this test opens), dockd answers
    everyone else. A dockd that waited for polkit synchronously could not
    answer GetStatus before the gate opens, and the gate opens only after."""
    dock = Dock()
    slow = None
    try:
        slow = subprocess.Popen(as_user(SLOW[0], [DOCKCTL, "--no-ask-password", "retry-storage"]),
                                env=dict(os.environ, **dock.env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        gate = dock.auth.gate
        wait_for(lambda: os.path.exists(os.path.join(gate, "asked")), 30, what="polkit asked about dockd-slow")
        # Meanwhile: status, and actions by root (who needs no polkit). Not by
        # the operator: polkitd handles no other check while a rule's spawn()
        # runs (polkit(8)), so any polkit-decided call waits for the gate, and
        # spawn() is killed after 10 s, which refuses the slow caller.
        for _ in range(3):
            p = subprocess.run([DOCKCTL, "status", "--json"], env=dict(os.environ, **dock.env), capture_output=True,
                               text=True, timeout=60)
            check(p.returncode == 0 and json.loads(p.stdout)["dock"] == "test-dock", f"status meanwhile: {p.stderr}")
            call(dock.env, DOCK_PATH, DOCK_IFACE, "RetryStorage")
        check(slow.poll() is None, "the slow caller got an answer before polkit decided")
        open(os.path.join(gate, "go"), "w").close()
        out, err = slow.communicate(timeout=60)
        check(slow.returncode == 0, f"the slow caller: {err}")
        recs = [r for r in operator_records(dock.state) if r["event"] == "storage-retry"]
        check([r["user"] for r in recs] == ["root"] * 3 + [SLOW[0]],
              f"storage-retry records: {[r['user'] for r in recs]}")
        check(dock.d.stop() == 0, "dockd did not exit 0")
    finally:
        if slow and slow.poll() is None:
            slow.kill()
        dock.cleanup()


@case
def actions_without_polkit():
    """No polkitd on the bus: every caller but root is refused with an error
    that says polkit could not be asked, and nothing changes."""
    dock = Dock(polkit=False)
    try:
        problems = []
        before = dock.snapshot()
        for verb, action, path, iface, method, args in ACTIONS:
            p = dock.dockctl(OPERATOR[0], *verb)
            if p.returncode == 0:
                problems.append(f"dockctl {' '.join(verb)} succeeded without polkit")
            elif "polkit" not in p.stderr.lower():
                problems.append(f"dockctl {' '.join(verb)} without polkit: {p.stderr.strip()!r} does not say why")
        if dock.snapshot() != before:
            problems.append("actions changed the dock without polkit")
        # Root still may.
        p = dock.dockctl(None, "disable-bay", "2")
        if p.returncode != 0:
            problems.append(f"root cannot disable a bay without polkit: {p.stderr}")
        check(not problems, "\n".join(problems))
        check(dock.d.stop() == 0, "dockd did not exit 0")
    finally:
        dock.cleanup()


if __name__ == "__main__":
    run_cases()
