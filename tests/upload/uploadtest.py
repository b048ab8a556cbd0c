# SPDX-License-Identifier: Apache-2.0
"""Central storage for the upload suite: a real server (Swift s3api, Ceph's
RADOS Gateway, or a tus server) behind the fault proxy, the dockd configuration that points at it, and
read-back of what it holds. Used inside vdock's world (test_upload.py) and
without it (test_backend.py, scripts/bench.d/upload)."""

import glob
import hashlib
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
# First on sys.path, never on PYTHONPATH (tests/servers/README.md).
sys.path.insert(0, os.path.join(HERE, "..", "servers"))

import faultproxy  # noqa: E402
import serverutil as su  # noqa: E402
import tus as tusmod  # noqa: E402
from faultproxy import FaultProxy  # noqa: E402
from radosgw import RadosGateway  # noqa: E402
from swift import SwiftServer  # noqa: E402

BUILD_DIR = os.environ.get("DOCKD_BUILD_DIR") or os.path.join(HERE, "..", "..", "build")
DOCKD_UPLOAD = os.path.join(BUILD_DIR, "tests", "upload", "dockd-upload")
BUCKET = "dockd"
TUS_TOKEN = "right-token-4711"

# Inside vdock, this process runs under umockdev's preload; the servers must not.
_clean_env = su.clean_env


def _server_env(extra=None):
    env = _clean_env(extra)
    for k in ("LD_PRELOAD", "UMOCKDEV_DIR"):
        env.pop(k, None)
    return env


su.clean_env = _server_env

# Every request head the fault proxies see, with its headers: the tests check
# what dockd sent (Object Lock headers, checksums), not only what arrived.
REQUESTS = []
_requests_lock = threading.Lock()
_parse_head = faultproxy._parse_head


def _recording_parse_head(head):
    fields, headers = _parse_head(head)
    if fields and not fields[0].startswith("HTTP/"):
        with _requests_lock:
            REQUESTS.append({"method": fields[0], "target": fields[1], "headers": headers,
                             "time": time.monotonic()})
    return fields, headers


faultproxy._parse_head = _recording_parse_head


def requests_seen():
    with _requests_lock:
        return list(REQUESTS)


def write_secret_file(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
    return path


def part_number(target):
    """The partNumber of an UploadPart request target, or None."""
    if "partNumber=" not in target or "uploadId=" not in target:
        return None
    return int(target.split("partNumber=", 1)[1].split("&", 1)[0])


class S3Store:
    """Swift + s3api behind a fault proxy.  self.sw is the server."""
    name = "s3"

    def __init__(self, tmp, min_part_size=5 << 20):
        self.tmp = tmp
        self.sw = self._server(min_part_size)
        self.sw.start()
        self.fp = FaultProxy(("127.0.0.1", self._port()))
        self.fp.start()
        self.s3 = self.sw.client()
        self.cred = os.path.join(tmp, "s3.credentials")
        self.set_credentials(self.sw.secret_key)

    def _server(self, min_part_size):
        # Two parts per ListParts page (S3 allows 1000): every resume in the
        # suite then walks IsTruncated/NextPartNumberMarker over several pages.
        return SwiftServer(buckets=[BUCKET], min_part_size=min_part_size,
                           conf_overrides={"proxy": {"filter:s3api": {"max_parts_listing": "2"}}})

    def _port(self):
        return self.sw.ports["proxy"]

    def set_credentials(self, secret):
        write_secret_file(self.cred, f"# test credentials\naccess_key_id={self.sw.access_key}\n"
                                     f"secret_access_key={secret}\n")

    def config(self, **s3):
        c = {"storage": {"backend": "s3", "concurrency": "4"},
             "s3": {"endpoint": self.fp.url, "bucket": BUCKET, "region": self.sw.region,
                    "credentials": self.cred, "part_size": "5M", "single_put_threshold": "5M",
                    "timeout": "10s"}}
        c["s3"].update({k: str(v) for k, v in s3.items()})
        return c

    def fetch(self, key):
        try:
            r = self.s3.request("GET", BUCKET, key, check=False)
        except Exception:
            self.s3.close()
            r = self.s3.request("GET", BUCKET, key, check=False)
        return r.body if r.status == 200 else None

    def keys(self):
        return [o["key"] for o in self.s3.list_objects(BUCKET)]

    def uploads_in_progress(self):
        return self.s3.list_multipart_uploads(BUCKET)

    def forget_uploads(self):
        """Abort every multipart upload behind dockd's back."""
        n = 0
        for u in self.s3.list_multipart_uploads(BUCKET):
            self.s3.abort_multipart_upload(BUCKET, u["key"], u["upload_id"])
            n += 1
        return n

    def kill(self):
        self.sw.kill_proxy()

    def revive(self):
        self.sw.start_proxy()

    def data_requests(self):
        """UploadPart and PutObject requests the proxy saw: (method, target)."""
        return [r for r in self.fp.requests_log() if r["method"] == "PUT"]

    def stop(self):
        try:
            self.fp.stop()
        finally:
            self.sw.stop()


class CephStore(S3Store):
    """Ceph's RADOS Gateway behind a fault proxy: a store that enforces Object
    Lock.  The bucket has Object Lock on (versioning, no default retention);
    dockd is configured with [s3] object_lock=yes."""

    def _server(self, min_part_size):
        over = {"client.rgw": {"rgw multipart min part size": min_part_size}}
        return RadosGateway(buckets=[BUCKET], conf_overrides=over)

    def _port(self):
        return self.sw.ports["rgw"]

    def config(self, **s3):
        return super().config(**dict({"object_lock": "yes"}, **s3))

    def kill(self):
        self.sw.kill_gateway()

    def revive(self):
        self.sw.start_gateway()


class TusStore:
    """A tus server (bearer token required) behind a fault proxy."""
    name = "tus"

    def __init__(self, tmp, relative_location=False, **server):
        self.tmp = tmp
        self.srv = tusmod.TusServer(os.path.join(tmp, "tus-uploads"), relative_location=relative_location,
                                    bearer_token=TUS_TOKEN, survive_uncaught=True, **server)
        self.srv.start()
        self.fp = FaultProxy(("127.0.0.1", self.srv.port))
        self.fp.start()
        self.cred = os.path.join(tmp, "tus.credentials")
        self.set_credentials(TUS_TOKEN)

    def set_credentials(self, token):
        write_secret_file(self.cred, f"Authorization: Bearer {token}\n")

    def config(self, **tus):
        c = {"storage": {"backend": "tus", "concurrency": "4"},
             "tus": {"endpoint": self.fp.url + "/files/", "credentials": self.cred, "chunk_size": "2M",
                     "timeout": "10s"}}
        c["tus"].update({k: str(v) for k, v in tus.items()})
        return c

    def uploads(self):
        """{key: [(id, info)]} of the uploads the server holds."""
        out = {}
        for uid in self.srv.list_uploads():
            info = self.srv.upload_info(uid)
            if not info:
                continue
            key = (info.get("metadata") or {}).get("key")
            out.setdefault(key, []).append((uid, info))
        return out

    def fetch(self, key):
        """The bytes of a complete upload of key (None if there is none)."""
        for uid, info in self.uploads().get(key, []):
            if info.get("size") is not None and info["stored_bytes"] == info["size"]:
                return self.srv.read_upload(uid)
        return None

    def keys(self):
        return [k for k, ups in self.uploads().items()
                if any(i.get("size") is not None and i["stored_bytes"] == i["size"] for _, i in ups)]

    def forget_uploads(self):
        """Delete every unfinished upload from the server's store."""
        n = 0
        for key, ups in self.uploads().items():
            for uid, info in ups:
                if info["stored_bytes"] != info.get("size"):
                    for p in (self.srv.data_path(uid), self.srv.data_path(uid) + ".json"):
                        try:
                            os.unlink(p)
                        except FileNotFoundError:
                            pass
                    n += 1
        return n

    def kill(self):
        self.srv.kill()

    def revive(self):
        self.srv.start()

    def data_requests(self):
        return [r for r in self.fp.requests_log() if r["method"] == "PATCH"]

    def stop(self):
        try:
            self.fp.stop()
        finally:
            self.srv.stop()


STORES = {"s3": S3Store, "ceph": CephStore, "tus": TusStore}


def attach_store(rig, store):
    """Make check_offloaded() read objects back from store."""
    fetched = os.path.join(rig.tmp.path, "fetched")

    def object_file(area, serial, rec, index, ext):
        key = f"{area}/{serial}/{rec}/{index:06d}.{ext}"
        path = os.path.join(fetched, key)
        data = store.fetch(key)
        if data is None:
            return path + ".missing"
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        return path
    rig.object_file = object_file


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def run_upload(config, files, state_dir=None, prefix="t", give_up_after=None, env=None, timeout=120, args=()):
    """tests/upload/dockd-upload: (returncode, stdout, stderr).  args: more
    options (--retain-until, --legal-hold)."""
    argv = [DOCKD_UPLOAD, "--config", config, "--prefix", prefix, *args]
    if state_dir:
        argv += ["--state-dir", state_dir]
    if give_up_after:
        argv += ["--give-up-after", str(give_up_after)]
    p = subprocess.run(argv + list(files), capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, **(env or {})))
    return p.returncode, p.stdout, p.stderr


def storage_alerts(log):
    return [line for line in log.splitlines() if "Central storage is failing" in line]


def dump(obj):
    return json.dumps(obj, indent=1, sort_keys=True)


__all__ = ["S3Store", "CephStore", "TusStore", "STORES", "attach_store", "requests_seen", "part_number",
           "run_upload", "sha256", "storage_alerts", "write_secret_file", "glob", "dump"]
