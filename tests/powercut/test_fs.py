#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""powercutfs's own semantics (README.md): what survives a cut and what does not,
case by case in the strict model and the journal model, and a randomised
comparison with a reference model written independently in Python."""

import errno
import json
import mmap
import os
import random
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from dockdtest import TempDir, case, check, in_private_mount_ns, run_cases, wait_for  # noqa: E402
from powercut import PowercutFS, fdatasync_path, fsync_path  # noqa: E402


def with_fs(journal=False):
    def wrap(fn):
        def run():
            in_private_mount_ns()
            tmp = TempDir(prefix="powercutfs-")
            fs = PowercutFS(tmp.path, journal=journal)
            try:
                fn(fs)
            finally:
                fs.stop()
                tmp.cleanup()
        run.__name__ = fn.__name__
        return run
    return wrap


def write(path, data, sync=False, mode="wb"):
    with open(path, mode) as f:
        f.write(data)
        f.flush()
        if sync:
            os.fsync(f.fileno())


def read(path):
    with open(path, "rb") as f:
        return f.read()


def durable_file(fs, name, data):
    """A file whose name and data are durable."""
    write(fs.path(name), data, sync=True)
    fsync_path(os.path.dirname(fs.path(name)))


@case
@with_fs()
def unsynced_write_is_dropped(fs):
    durable_file(fs, "f", b"")
    write(fs.path("f"), b"not synced", mode="ab")
    fs.power_cycle()
    check(read(fs.path("f")) == b"", "an unsynced write survived")


@case
@with_fs()
def close_is_not_a_sync(fs):
    durable_file(fs, "f", b"old")
    fd = os.open(fs.path("f"), os.O_WRONLY | os.O_TRUNC)
    os.write(fd, b"new")
    os.close(fd)
    fs.power_cycle()
    check(read(fs.path("f")) == b"old", "close(2) made a truncate and write durable")


@case
@with_fs()
def file_fsync_does_not_make_its_name_durable(fs):
    write(fs.path("f"), b"data", sync=True)
    fs.power_cycle()
    check(not os.path.exists(fs.path("f")), "a new name survived without fsync of its directory")


@case
@with_fs(journal=True)
def journal_file_fsync_commits_its_name(fs):
    write(fs.path("f"), b"data", sync=True)
    fs.power_cycle()
    check(read(fs.path("f")) == b"data", "journal model: fsync of a new file lost it")


@case
@with_fs()
def directory_fsync_does_not_make_data_durable(fs):
    write(fs.path("f"), b"data")
    fsync_path(fs.mnt)
    fs.power_cycle()
    check(read(fs.path("f")) == b"", "directory fsync made a file's data durable")


@case
@with_fs()
def atomic_replace(fs):
    durable_file(fs, "state", b"old")
    write(fs.path("state.tmp"), b"new", sync=True)
    os.rename(fs.path("state.tmp"), fs.path("state"))
    fs.power_cycle()
    check(read(fs.path("state")) == b"old", "a rename survived without fsync of its directory")
    check(not os.path.exists(fs.path("state.tmp")), "a never-durable name appeared")
    write(fs.path("state.tmp"), b"new", sync=True)
    os.rename(fs.path("state.tmp"), fs.path("state"))
    fsync_path(fs.mnt)
    fs.power_cycle()
    check(read(fs.path("state")) == b"new", "tmp + fsync + rename + fsync dir did not replace")


@case
@with_fs()
def rename_without_data_sync_gives_empty_file(fs):
    durable_file(fs, "state", b"old")
    write(fs.path("state.tmp"), b"new")
    os.rename(fs.path("state.tmp"), fs.path("state"))
    fsync_path(fs.mnt)
    fs.power_cycle()
    check(read(fs.path("state")) == b"", "data never synced survived a rename")


@case
@with_fs()
def cross_directory_rename_halves(fs):
    for d in ("a", "b"):
        os.mkdir(fs.path(d))
    fsync_path(fs.mnt)
    durable_file(fs, "a/x", b"x")
    os.rename(fs.path("a/x"), fs.path("b/x"))
    fsync_path(fs.path("b"))
    fs.power_cycle()
    check(read(fs.path("a/x")) == b"x" and read(fs.path("b/x")) == b"x",
          "only the target directory synced: both names expected")
    check(os.stat(fs.path("a/x")).st_ino == os.stat(fs.path("b/x")).st_ino, "two names, two inodes")
    fsync_path(fs.path("a"))   # durable: a/x and b/x
    os.rename(fs.path("b/x"), fs.path("a/y"))
    fsync_path(fs.path("b"))
    fs.power_cycle()
    check(not os.path.exists(fs.path("b/x")) and not os.path.exists(fs.path("a/y")) and
          read(fs.path("a/x")) == b"x", "only the source directory synced: the moved name is in neither")
    os.rename(fs.path("a/x"), fs.path("b/z"))
    fsync_path(fs.path("b"))
    fsync_path(fs.path("a"))
    fs.power_cycle()
    check(sorted(os.listdir(fs.path("a"))) == [] and sorted(os.listdir(fs.path("b"))) == ["z"],
          f"both synced: {os.listdir(fs.path('a'))} {os.listdir(fs.path('b'))}")


@case
@with_fs()
def unlink_needs_directory_fsync(fs):
    durable_file(fs, "f", b"keep")
    os.unlink(fs.path("f"))
    fs.power_cycle()
    check(read(fs.path("f")) == b"keep", "an unlink survived without fsync of its directory")
    os.unlink(fs.path("f"))
    fsync_path(fs.mnt)
    fs.power_cycle()
    check(not os.path.exists(fs.path("f")), "a durable unlink was undone")


@case
@with_fs()
def new_directory_needs_its_parent_synced(fs):
    os.mkdir(fs.path("d"))
    durable_file(fs, "d/f", b"inside")
    fs.power_cycle()
    check(not os.path.exists(fs.path("d")), "a directory survived without fsync of its parent")
    os.makedirs(fs.path("d"))
    fsync_path(fs.mnt)
    durable_file(fs, "d/f", b"inside")
    fs.power_cycle()
    check(read(fs.path("d/f")) == b"inside", "a durable tree was lost")


@case
@with_fs()
def truncate_and_extend(fs):
    durable_file(fs, "f", bytes(range(100)))
    os.truncate(fs.path("f"), 10)
    fs.power_cycle()
    check(read(fs.path("f")) == bytes(range(100)), "an unsynced truncate survived")
    fd = os.open(fs.path("f"), os.O_RDWR)
    os.ftruncate(fd, 10)
    os.pwrite(fd, b"end", 50)
    os.fsync(fd)
    os.ftruncate(fd, 5)
    os.pwrite(fd, b"zz", 1000)
    os.close(fd)
    fs.power_cycle()
    check(read(fs.path("f")) == bytes(range(10)) + bytes(40) + b"end", "truncate + write + fsync")


@case
@with_fs()
def fdatasync_keeps_data_not_mode(fs):
    durable_file(fs, "f", b"a")
    os.chmod(fs.path("f"), 0o600)
    fdatasync_path(fs.path("f"))
    before = os.stat(fs.path("f")).st_mode & 0o777
    fs.power_cycle()
    check(os.stat(fs.path("f")).st_mode & 0o777 == before or True, "")
    check(os.stat(fs.path("f")).st_mode & 0o777 != 0o600, "fdatasync made a chmod durable (strict model)")
    os.chmod(fs.path("f"), 0o600)
    fsync_path(fs.path("f"))
    fs.power_cycle()
    check(os.stat(fs.path("f")).st_mode & 0o777 == 0o600, "fsync did not make a chmod durable")


@case
@with_fs()
def o_sync_and_o_dsync_writes_are_durable(fs):
    for name, flag in (("s", os.O_SYNC), ("d", os.O_DSYNC)):
        durable_file(fs, name, b"")
        fd = os.open(fs.path(name), os.O_WRONLY | os.O_APPEND | flag)
        os.write(fd, b"one")
        os.write(fd, b"two")
        os.close(fd)
    fs.power_cycle()
    check(read(fs.path("s")) == b"onetwo", f"O_SYNC: {read(fs.path('s'))!r}")
    check(read(fs.path("d")) == b"onetwo", f"O_DSYNC: {read(fs.path('d'))!r}")


@case
@with_fs()
def appends_survive_up_to_the_last_fdatasync(fs):
    durable_file(fs, "log", b"")
    fd = os.open(fs.path("log"), os.O_WRONLY | os.O_APPEND)
    for n in range(10):
        os.write(fd, b"record %d\n" % n)
        if n < 6:
            os.fdatasync(fd)
    os.close(fd)
    fs.power_cycle()
    check(read(fs.path("log")) == b"".join(b"record %d\n" % n for n in range(6)), read(fs.path("log")))


@case
@with_fs()
def large_file_keeps_its_synced_prefix(fs):
    durable_file(fs, "big", b"")
    data = random.Random(1).randbytes(3 * 1024 * 1024 + 777)
    fd = os.open(fs.path("big"), os.O_WRONLY)
    for off in range(0, len(data), 256 * 1024):
        os.pwrite(fd, data[off:off + 256 * 1024], off)
        if off + 256 * 1024 == 2 * 1024 * 1024:
            os.fdatasync(fd)
    os.close(fd)
    fs.power_cycle()
    check(read(fs.path("big")) == data[:2 * 1024 * 1024], "not the synced prefix")


@case
@with_fs()
def open_flags_pass_through(fs):
    fd = os.open(fs.path("f"), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_APPEND, 0o640)
    os.write(fd, b"a")
    os.close(fd)
    fd = os.open(fs.path("f"), os.O_RDWR | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC)
    os.write(fd, b"b")
    os.fdatasync(fd)
    os.close(fd)
    fsync_path(fs.mnt)
    os.symlink("f", fs.path("l"))
    try:
        os.open(fs.path("l"), os.O_RDONLY | os.O_NOFOLLOW)
        check(False, "O_NOFOLLOW opened a symlink")
    except OSError as e:
        check(e.errno == errno.ELOOP, e)
    fs.power_cycle()
    check(read(fs.path("f")) == b"ab" and os.stat(fs.path("f")).st_mode & 0o777 == 0o640, read(fs.path("f")))


@case
@with_fs()
def hard_links(fs):
    durable_file(fs, "a", b"shared")
    os.link(fs.path("a"), fs.path("b"))
    fsync_path(fs.mnt)
    os.unlink(fs.path("a"))
    fsync_path(fs.mnt)
    fs.power_cycle()
    check(os.listdir(fs.mnt) == ["b"] and read(fs.path("b")) == b"shared", os.listdir(fs.mnt))


@case
@with_fs()
def unlinked_open_file_is_gone(fs):
    durable_file(fs, "f", b"x")
    fd = os.open(fs.path("f"), os.O_RDWR)
    os.unlink(fs.path("f"))
    fsync_path(fs.mnt)
    os.write(fd, b"more")
    os.fsync(fd)
    fs.power_cycle()
    check(not os.path.exists(fs.path("f")), "an unlinked file came back")
    try:
        os.close(fd)
    except OSError:
        pass


@case
@with_fs()
def symlinks(fs):
    os.symlink("target", fs.path("l"))
    os.mkfifo(fs.path("p"))
    fsync_path(fs.mnt)
    os.symlink("other", fs.path("m"))
    fs.power_cycle()
    check(os.readlink(fs.path("l")) == "target" and not os.path.lexists(fs.path("m")), os.listdir(fs.mnt))
    check(stat.S_ISFIFO(os.lstat(fs.path("p")).st_mode), "the fifo is not a fifo after the cut")


@case
@with_fs()
def mmap_writes_need_msync(fs):
    durable_file(fs, "m", bytes(8192))
    with open(fs.path("m"), "r+b") as f:
        mm = mmap.mmap(f.fileno(), 8192)
        mm[0:5] = b"hello"
        mm.flush()   # msync(MS_SYNC)
        mm[4096:4101] = b"later"
        mm.close()
    fs.power_cycle()
    data = read(fs.path("m"))
    check(data[0:5] == b"hello", "msync'd bytes lost")
    check(data[4096:4101] == bytes(5), "bytes written through mmap without msync survived")


@case
@with_fs()
def sync_command_makes_everything_durable(fs):
    os.makedirs(fs.path("a/b"))
    write(fs.path("a/b/f"), b"all")
    fs.sync()
    fs.power_cycle()
    check(read(fs.path("a/b/f")) == b"all", "sync did not make everything durable")


@case
@with_fs()
def refuses_everything_between_cut_and_remount(fs):
    durable_file(fs, "f", b"x")
    fd = os.open(fs.path("f"), os.O_RDWR)
    fs.cut()
    for what, fn in (("stat", lambda: os.stat(fs.path("f"))), ("write", lambda: os.write(fd, b"y")),
                     ("create", lambda: open(fs.path("g"), "wb"))):
        try:
            fn()
            check(False, f"{what} worked after the cut")
        except OSError as e:
            check(e.errno in (errno.EIO, errno.ENOTCONN), f"{what}: {e}")
    try:
        os.close(fd)
    except OSError:
        pass
    fs.remount()
    check(read(fs.path("f")) == b"x" and not os.path.exists(fs.path("g")), "after remount")


def hanging_writer(fs, freeze_after, sync):
    """A process appending digits to f (each one fdatasync'd if sync), once it
    hangs at the freeze."""
    fs.freeze_after(freeze_after)
    writer = subprocess.Popen([sys.executable, "-c", f"""
import os
fd = os.open({fs.path('f')!r}, os.O_WRONLY | os.O_APPEND)
for i in range(10):
    os.write(fd, b"%d" % i)
    if {sync}:
        os.fdatasync(fd)
"""], stderr=subprocess.PIPE)
    wait_for(lambda: fs.stats()["deferred"] > 0, 10, what="the writer to hang")
    return writer


@case
@with_fs()
def freeze_holds_requests_until_the_cut(fs):
    durable_file(fs, "f", b"")
    writer = hanging_writer(fs, 3, sync=True)
    time.sleep(0.2)
    check(writer.poll() is None, "the writer went on after the freeze")
    writer.kill()
    fs.cut()
    writer.wait(10)
    fs.remount()
    # requests: write 0, fdatasync, write 1 (held): "0" is durable, "1" never was.
    check(read(fs.path("f")) == b"0", f"durable after the freeze: {read(fs.path('f'))!r}")


@case
@with_fs()
def thaw_is_a_crash_not_a_power_cut(fs):
    durable_file(fs, "f", b"")
    writer = hanging_writer(fs, 2, sync=False)
    writer.kill()
    fs.thaw()
    writer.wait(10)
    check(read(fs.path("f")) == b"0", f"after the crash: {read(fs.path('f'))!r}")
    fs.power_cycle()
    check(read(fs.path("f")) == b"", f"after the cut: {read(fs.path('f'))!r}")


# ---- randomised comparison with a reference model ----

class Ref:
    """The strict model, written from README.md alone: per inode its live and
    durable data, per directory its live and durable entries."""

    def __init__(self):
        self.n = 0
        self.root = self.new("d")
        self.root["durable_refs"] = 1

    def new(self, kind):
        self.n += 1
        return {"id": self.n, "kind": kind, "live": b"", "durable": b"", "entries": {}, "dentries": {},
                "durable_refs": 0}

    def sync_data(self, i):
        i["durable"] = i["live"]

    def sync_dir(self, d):
        d["dentries"] = dict(d["entries"])

    def durable_tree(self):
        out = {}

        def walk(d, prefix, seen):
            for name, i in d["dentries"].items():
                p = prefix + name
                if i["kind"] == "d":
                    if i["id"] in seen:
                        continue
                    seen.add(i["id"])
                    out[p] = None
                    walk(i, p + "/", seen)
                else:
                    out[p] = i["durable"]
        walk(self.root, "", {self.root["id"]})
        return out

    def cut(self):
        tree = self.durable_tree()
        # Rebuild live = durable, keeping inode identity for hard links.
        def reset(d, seen):
            d["entries"] = dict(d["dentries"])
            for i in d["dentries"].values():
                if i["kind"] == "d" and i["id"] not in seen:
                    seen.add(i["id"])
                    reset(i, seen)
                else:
                    i["live"] = i["durable"]
        reset(self.root, set())
        return tree


def tree_of(root):
    out = {}
    for top, dirs, files in os.walk(root):
        for d in dirs:
            out[os.path.relpath(os.path.join(top, d), root)] = None
        for f in files:
            out[os.path.relpath(os.path.join(top, f), root)] = read(os.path.join(top, f))
    return out


@case
@with_fs()
def random_operations_match_the_reference_model(fs):
    seed = int(os.environ.get("POWERCUT_SEED", "0")) or random.randrange(1 << 30)
    rng = random.Random(seed)
    ref = Ref()
    dirs = {"": ref.root}
    log = []

    def live_files():
        return [(dp, name) for dp, d in dirs.items() for name, i in d["entries"].items() if i["kind"] == "f"]

    def p(dp, name=None):
        return fs.path(dp, name) if name else (fs.path(dp) if dp else fs.mnt)

    for step in range(1500):
        op = rng.choice(["create", "write", "write", "truncate", "fsync", "fdatasync", "fsyncdir", "fsyncdir",
                         "rename", "unlink", "link", "mkdir", "cut"])
        log.append(op)
        files = live_files()
        if op == "create":
            dp = rng.choice(list(dirs))
            name = "f%d" % rng.randrange(6)
            if name in dirs[dp]["entries"]:
                continue
            write(p(dp, name), b"")
            dirs[dp]["entries"][name] = ref.new("f")
            log[-1] = f"create {dp}/{name}"
        elif op == "write" and files:
            dp, name = rng.choice(files)
            i = dirs[dp]["entries"][name]
            off = rng.randrange(len(i["live"]) + 100)
            data = rng.randbytes(rng.randrange(1, 5000))
            fd = os.open(p(dp, name), os.O_WRONLY)
            os.pwrite(fd, data, off)
            os.close(fd)
            live = i["live"].ljust(off, b"\0")
            i["live"] = live[:off] + data + live[off + len(data):]
            log[-1] = f"write {dp}/{name}"
        elif op == "truncate" and files:
            dp, name = rng.choice(files)
            i = dirs[dp]["entries"][name]
            size = rng.randrange(len(i["live"]) + 50)
            os.truncate(p(dp, name), size)
            i["live"] = i["live"][:size].ljust(size, b"\0")
            log[-1] = f"truncate {dp}/{name}"
        elif op in ("fsync", "fdatasync") and files:
            dp, name = rng.choice(files)
            (fsync_path if op == "fsync" else fdatasync_path)(p(dp, name))
            ref.sync_data(dirs[dp]["entries"][name])
            log[-1] = f"{op} {dp}/{name}"
        elif op == "fsyncdir":
            dp = rng.choice(list(dirs))
            fsync_path(p(dp))
            ref.sync_dir(dirs[dp])
            log[-1] = f"fsyncdir {dp}/"
        elif op == "rename" and files:
            dp, name = rng.choice(files)
            ndp = rng.choice(list(dirs))
            nname = "f%d" % rng.randrange(6)
            target = dirs[ndp]["entries"].get(nname)
            if target is not None and target["kind"] != "f":
                continue
            os.rename(p(dp, name), p(ndp, nname))
            if target is dirs[dp]["entries"][name]:
                continue   # two links of one inode: rename(2) does nothing
            i = dirs[dp]["entries"].pop(name)
            dirs[ndp]["entries"][nname] = i
            log[-1] = f"rename {dp}/{name} {ndp}/{nname}"
        elif op == "unlink" and files:
            dp, name = rng.choice(files)
            os.unlink(p(dp, name))
            del dirs[dp]["entries"][name]
            log[-1] = f"unlink {dp}/{name}"
        elif op == "link" and files:
            dp, name = rng.choice(files)
            ndp = rng.choice(list(dirs))
            nname = "f%d" % rng.randrange(6)
            if nname in dirs[ndp]["entries"]:
                continue
            os.link(p(dp, name), p(ndp, nname))
            dirs[ndp]["entries"][nname] = dirs[dp]["entries"][name]
            log[-1] = f"link {dp}/{name} {ndp}/{nname}"
        elif op == "mkdir" and len(dirs) < 4:
            dp = ""
            name = "d%d" % len(dirs)
            os.mkdir(p(dp, name))
            d = ref.new("d")
            dirs[dp]["entries"][name] = d
            dirs[name] = d
            log[-1] = f"mkdir {name}"
        if os.environ.get("POWERCUT_CHECK_EACH"):
            import hashlib
            want = {k: "dir" if v is None else hashlib.sha256(v).hexdigest() for k, v in ref.durable_tree().items()}
            got = json.loads(fs.control("durable"))
            check(got == want, f"step {step} after {log[-1]}: durable differs: "
                  f"{sorted(set(got.items()) ^ set(want.items()))[:4]}; ops {log[-10:]}")
        if op == "cut":
            fs.power_cycle()
            want = ref.cut()
            got = tree_of(fs.mnt)
            # Directories that did not survive: forget them.
            for name in [n for n in dirs if n and n not in want]:
                del dirs[name]
            if got != want:
                diff = sorted(set(got) ^ set(want)) or [k for k in want if got.get(k) != want[k]]
                k = diff[0]

                def show(v):
                    return "absent" if v is False else "dir" if v is None else f"{len(v)} bytes"
                check(False, f"seed {seed}, step {step}: after the cut the tree differs at {diff[:5]}: "
                             f"{k} is {show(got.get(k, False))}, expected {show(want.get(k, False))}; "
                             f"ops: {log[-30:]}")
    print(f"seed {seed}: {sum(x == 'cut' for x in log)} cuts, {len(log)} operations, {fs.stats()}")


if __name__ == "__main__":
    run_cases()
