#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The s3 and tus backends without a dock around them (tests/upload/dockd-upload,
dockd's own uploader and backend): TLS with a private CA and a wrong one, the
bandwidth cap, and the credentials file rules (with the real dockd)."""

import os
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
import dockdtest  # noqa: E402
from dockdtest import DOCKD, TempDir, check, in_private_mount_ns, make_ca, run_cases, write_config  # noqa: E402
from uploadtest import BUCKET, STORES, SwiftServer, run_upload, sha256, write_secret_file  # noqa: E402
from tlsproxy import TlsProxy, make_pki  # noqa: E402  (after uploadtest: tests/servers on sys.path)

MiB = 1 << 20


def data_file(tmp, name, size):
    p = os.path.join(tmp.path, name)
    with open(p, "wb") as f:
        f.write(os.urandom(size))
    return p


def store_conf(tmp, store, name="c.conf", storage=None, **backend):
    sections = store.config(**backend)
    sections["storage"].update({"retry_initial": "100ms", "retry_max": "500ms"})
    sections["storage"].update(storage or {})
    sections["log"] = {"level": "debug"}
    return write_config(os.path.join(tmp.path, name), sections)


def with_store(backend, fn, **kw):
    tmp = TempDir(prefix=f"dockd-backend-{backend}-")
    store = None
    try:
        store = STORES[backend](tmp.path, **kw)
        fn(tmp, store)
    finally:
        if store:
            store.stop()
        tmp.cleanup()


def tls_case(backend):
    """HTTPS with the store's CA in ca_file: confirmed. Another CA, or the
    system's: refused with a TLS error, nothing confirmed."""
    def body(tmp, store):
        ca, cert, key = make_pki(os.path.join(tmp.path, "pki"))
        other_ca, _, _ = make_pki(os.path.join(tmp.path, "other"), name="Some Other CA")
        port = store.fp.port
        tls = TlsProxy(port, cert, key).start()
        try:
            f = data_file(tmp, "seg.mp4", 12 * MiB)
            ep = tls.url + ("/files/" if backend == "tus" else "")
            good = store_conf(tmp, store, "good.conf", endpoint=ep, ca_file=ca)
            rc, out, err = run_upload(good, [f], prefix="tls")
            check(rc == 0 and "confirmed tls/seg.mp4" in out, f"rc {rc}: {err[-2000:]}")
            key_ = "tls/seg.mp4"
            check(store.fetch(key_) is not None and sha256(store.fetch(key_)) == sha256(open(f, "rb").read()),
                  "bytes differ over TLS")
            for name, extra in (("wrong-ca", {"ca_file": other_ca}), ("system-ca", {})):
                conf = store_conf(tmp, store, f"{name}.conf", endpoint=ep, **extra)
                rc, out, err = run_upload(conf, [f], prefix=name, give_up_after=3)
                check(rc == 3, f"{name}: rc {rc} (3: kept failing), {err[-1500:]}")
                check("confirmed" not in out, f"{name}: confirmed over an unverified connection")
                check("TLS" in err and ("certificate" in err.lower() or "verif" in err.lower()), f"{name}: {err[-1500:]}")
                print(f"{name}: {[ln for ln in err.splitlines() if 'failing' in ln][:1]}")
        finally:
            tls.stop()
    # Behind a TLS proxy, a tus server answers with relative Locations (or is
    # told the scheme with X-Forwarded-Proto): dockd refuses a plain-http one.
    with_store(backend, body, **({"relative_location": True} if backend == "tus" else {}))


def tus_tls_downgrade():
    """A tus server behind TLS that answers with a plain-http upload URL: dockd
    refuses to send evidence there."""
    def body(tmp, store):
        ca, cert, key = make_pki(os.path.join(tmp.path, "pki"))
        tls = TlsProxy(store.fp.port, cert, key).start()
        try:
            f = data_file(tmp, "seg.mp4", 1 * MiB)
            conf = store_conf(tmp, store, endpoint=tls.url + "/files/", ca_file=ca)
            rc, out, err = run_upload(conf, [f], prefix="down", give_up_after=3)
            check(rc == 3 and "not https; refusing to send evidence without TLS" in err, f"rc {rc}: {err[-1500:]}")
            check(not [r for r in store.fp.requests_log() if r["method"] == "PATCH"], "data sent")
        finally:
            tls.stop()
    with_store("tus", body)


dockdtest._cases["tus-tls-downgrade"] = tus_tls_downgrade
dockdtest._cases["s3-tls"] = lambda: tls_case("s3")
dockdtest._cases["tus-tls"] = lambda: tls_case("tus")


def bandwidth_case(backend):
    """[storage] bandwidth_limit=4M over 24 MiB with 4 slots: the whole upload
    keeps to the cap (the shared bucket), not 4 times it. A busy machine only
    slows an upload, so this holds under any load. That the cap does not hold an
    upload far below it is a speed figure, measured by `scripts/bench upload`
    (upload_capped_vs_limit): compared here with an uncapped run at another
    moment, it failed whenever the machine's load changed in between."""
    def rate(tmp, store, files, prefix, storage):
        conf = store_conf(tmp, store, name=f"{prefix}.conf", storage=storage)
        t0 = time.monotonic()
        rc, out, err = run_upload(conf, files, prefix=prefix)
        took = time.monotonic() - t0
        check(rc == 0, f"rc {rc}: {err[-1500:]}")
        return 24 * MiB / took

    def body(tmp, store):
        files = [data_file(tmp, f"s{i}.mp4", 6 * MiB) for i in range(4)]
        free = rate(tmp, store, files, "free", {"concurrency": "4"})
        capped = rate(tmp, store, files, "cap", {"bandwidth_limit": "4M", "concurrency": "4"})
        print(f"{backend}: 24 MiB at {capped / MiB:.2f} MiB/s under a 4 MiB/s cap, "
              f"{free / MiB:.2f} MiB/s without")
        check(capped <= 4.4 * MiB, f"{capped / MiB:.2f} MiB/s: over the cap")
    with_store(backend, body)


dockdtest._cases["s3-bandwidth-cap"] = lambda: bandwidth_case("s3")
dockdtest._cases["tus-bandwidth-cap"] = lambda: bandwidth_case("tus")


def daemon_conf(tmp, creds, extra=None):
    sections = {
        "dock": {"name": "cred-dock", "state_dir": tmp.join("state"), "bays": "1",
                 "trust_anchors": make_ca(tmp)},
        "storage": {"backend": "s3"},
        "s3": {"endpoint": "http://127.0.0.1:9", "bucket": "dockd", "credentials": creds},
    }
    for k, v in (extra or {}).items():
        sections.setdefault(k, {}).update(v)
    return write_config(tmp.join("dockd.conf"), sections)


@dockdtest.case
def s3_virtual_host():
    """url_style=virtual: the bucket in the host name (https://BUCKET.host/key).
    Runs in a private mount namespace whose /etc/hosts names s3.test and
    dockd.s3.test; Swift's s3api is told its storage domain."""
    in_private_mount_ns()
    tmp = TempDir()
    sw = None
    try:
        hosts = tmp.join("hosts")
        with open(hosts, "w") as f:
            f.write("127.0.0.1 localhost s3.test dockd.s3.test\n")
        subprocess.run(["mount", "--bind", hosts, "/etc/hosts"], check=True)
        sw = SwiftServer(buckets=[BUCKET], conf_overrides={"proxy": {"filter:s3api": {"storage_domain": "s3.test"}}})
        sw.start()
        creds = write_secret_file(tmp.join("creds"), f"access_key_id={sw.access_key}\n"
                                                      f"secret_access_key={sw.secret_key}\n")
        conf = write_config(tmp.join("c.conf"), {
            "storage": {"backend": "s3", "retry_initial": "100ms", "retry_max": "500ms"},
            "s3": {"endpoint": f"http://s3.test:{sw.ports['proxy']}", "bucket": BUCKET, "url_style": "virtual",
                   "credentials": creds, "part_size": "5M", "single_put_threshold": "5M"},
            "log": {"level": "debug"}})
        small, big = data_file(tmp, "small.mp4", 100 * 1024), data_file(tmp, "big.mp4", 11 * MiB)
        rc, out, err = run_upload(conf, [small, big], prefix="vh", give_up_after=5)
        check(rc == 0, f"rc {rc}: {err[-2000:]}")
        check(f"http://dockd.s3.test:{sw.ports['proxy']}/vh/big.mp4?uploads=" in err, "not virtual-host style")
        s3 = sw.client()
        for f in (small, big):
            body = s3.get_object(BUCKET, "vh/" + os.path.basename(f))
            body = getattr(body, "body", body)
            check(sha256(body) == sha256(open(f, "rb").read()), f"{f} differs")
    finally:
        if sw:
            sw.stop()
        tmp.cleanup()


@dockdtest.case
def credentials_world_readable():
    """A credentials file every user may read: dockd refuses to start, says
    which file and why, and never prints the secret."""
    tmp = TempDir()
    try:
        secret = "s3cr3t-do-not-print"
        creds = write_secret_file(tmp.join("s3.cred"), f"access_key_id=AK\nsecret_access_key={secret}\n")
        os.chmod(creds, 0o644)
        conf = daemon_conf(tmp, creds)
        p = subprocess.run([DOCKD, "--config", conf, "--allow-root"], capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, DOCKD_LOG_TARGET="console"))
        out = p.stdout + p.stderr
        check(p.returncode != 0, f"started with a world-readable credentials file: {out}")
        check(creds in out and "accessible to every user" in out and "chmod o-rwx" in out, out)
        check(secret not in out, "secret printed")
        # --check-config shows the file name, never its content.
        os.chmod(creds, 0o600)
        p = subprocess.run([DOCKD, "--config", conf, "--check-config"], capture_output=True, text=True, timeout=30)
        check(p.returncode == 0 and f"credentials={creds}" in p.stdout, p.stdout + p.stderr)
        check(secret not in p.stdout + p.stderr, "secret in --check-config")
    finally:
        tmp.cleanup()


@dockdtest.case
def credentials_malformed():
    """Errors name the file and line, never the value."""
    tmp = TempDir()
    try:
        for text, why in (("access_key_id=AK\n", "lacks secret_access_key="),
                          ("access_key_id=AK\nsecret_access_key=has space\n", "spaces"),
                          ("access_key_id=AK\nsecret=x\nsecret_access_key=y\n", ":2: unknown key")):
            creds = write_secret_file(tmp.join("bad.cred"), text)
            conf = daemon_conf(tmp, creds)
            p = subprocess.run([DOCKD, "--config", conf, "--allow-root"], capture_output=True, text=True, timeout=30,
                               env=dict(os.environ, DOCKD_LOG_TARGET="console"))
            out = p.stdout + p.stderr
            check(p.returncode != 0 and why in out, f"{text!r}: {out}")
            check("has space" not in out, "value printed")
        p = subprocess.run([DOCKD, "--config", daemon_conf(tmp, "relative.cred"), "--allow-root"],
                           capture_output=True, text=True, timeout=30,
                           env={k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"})
        check(p.returncode != 0 and "CREDENTIALS_DIRECTORY" in p.stdout + p.stderr, p.stdout + p.stderr)
    finally:
        tmp.cleanup()


def credentials_directory_case():
    """A relative credentials name is looked up in $CREDENTIALS_DIRECTORY
    (systemd's LoadCredential=)."""
    def body(tmp, store):
        cdir = os.path.join(tmp.path, "credentials")
        os.makedirs(cdir, mode=0o700)
        os.rename(store.cred, os.path.join(cdir, "s3"))
        conf = store_conf(tmp, store, credentials="s3")
        f = data_file(tmp, "one.mp4", 1 * MiB)
        rc, out, err = run_upload(conf, [f], prefix="cd", env={"CREDENTIALS_DIRECTORY": cdir})
        check(rc == 0 and "confirmed cd/one.mp4" in out, f"rc {rc}: {err[-1500:]}")
        check(store.sw.secret_key not in err, "secret in the debug log")
        check(stat.S_IMODE(os.stat(os.path.join(cdir, "s3")).st_mode) == 0o600, "mode changed")
    with_store("s3", body)


dockdtest._cases["s3-credentials-directory"] = credentials_directory_case


if __name__ == "__main__":
    run_cases()
