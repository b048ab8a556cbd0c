#!/usr/bin/env python3
"""The private Ceph RADOS Gateway (radosgw.py) and what it enforces: Object
Lock (retention, legal hold), conditional writes and checksums.  Meson suite
"servers", beside test_servers.py.

    python3 tests/servers/test_radosgw.py CASE      # run one case
    python3 tests/servers/test_radosgw.py --list

The cases that state how the store behaves are facts the upload tests and
dockd's S3 backend rely on (or must work around): each is checked, so a
different Ceph fails here first, with the fact that changed.
"""

import base64
import datetime
import hashlib
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import serverutil as su  # noqa: E402
import test_servers as ts  # noqa: E402
from radosgw import RadosGateway  # noqa: E402
from s3client import S3Client, multipart_etag  # noqa: E402
from test_servers import assert_stopped, case, check, eq, log, pattern, workdir  # noqa: E402

ts.CASES.clear()   # only this file's cases
MiB = 1 << 20
LOCKED, PLAIN = "locked", "plain"


def utc(days=0, seconds=0):
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days, seconds=seconds)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def lock_headers(mode="COMPLIANCE", until=None, hold=False):
    h = {}
    if mode:
        h["x-amz-object-lock-mode"] = mode
        h["x-amz-object-lock-retain-until-date"] = until if isinstance(until, str) else iso(until or utc(1))
    if hold:
        h["x-amz-object-lock-legal-hold"] = "ON"
    return h


def put(s3, bucket, key, data, headers=None):
    """PUT; returns the Response (check=False)."""
    return s3.request("PUT", bucket, key, body=data, headers=headers, check=False)


def error_code(r):
    try:
        return r.xml().findtext("Code") or ""
    except Exception:
        return ""


def expect(r, status, code=None, what=""):
    check(r.status == status and (code is None or error_code(r) == code),
          f"{what}: HTTP {r.status} {error_code(r)} (expected {status} {code or ''}): {r.body[:300]!r}")
    return r


def upload_multipart(s3, bucket, key, parts, headers=None, complete_headers=None):
    """Create, upload parts, Complete.  Returns (Complete's Response, upload id)."""
    uid = s3.create_multipart_upload(bucket, key, headers=headers)
    etags = [s3.upload_part(bucket, key, uid, n, p) for n, p in enumerate(parts, 1)]
    xml = "<CompleteMultipartUpload>" + "".join(
        f'<Part><PartNumber>{n}</PartNumber><ETag>"{e}"</ETag></Part>' for n, e in enumerate(etags, 1)
    ) + "</CompleteMultipartUpload>"
    r = s3.request("POST", bucket, key, query=[("uploadId", uid)], body=xml.encode(),
                   headers=complete_headers, check=False)
    return r, uid


def gateway(**kw):
    kw.setdefault("buckets", [LOCKED])
    kw.setdefault("plain_buckets", [PLAIN])
    return RadosGateway(**kw)


# -- harness -----------------------------------------------------------------

def files_under(path):
    out = set()
    for root, _, files in os.walk(path):
        out.update(os.path.join(root, f) for f in files)
    return out


@case
def radosgw_start_stop():
    """Start, report, every daemon its own group leader and the only
    listener on its ports; nothing written to the system's Ceph paths; stop
    leaves nothing; a kept dir, a temporary one; the gateway restarts on its
    port with the data kept."""
    system = ("/etc/ceph", "/var/log/ceph", "/var/lib/ceph", "/run/ceph")
    before = {p: files_under(p) for p in system}
    with workdir() as wd:
        d = os.path.join(wd, "rgw")
        gw = gateway(dir=d)
        gw.start()
        try:
            info = gw.info()
            log(f"startup {info['startup_s']} s {info['timings']}, rss {info['rss_kib']} KiB, "
                f"pss {info['pss_kib']} KiB, ports {info['ports']}")
            eq(set(gw.pids), {"mon", "osd", "rgw"}, "daemons")
            for name, pid in gw.pids.items():
                eq(os.getpgid(pid), pid, f"{name} is its own group leader")
            su.check_port_owner(gw.ports["mon"], gw.pids["mon"])
            su.check_port_owner(gw.ports["rgw"], gw.pids["rgw"])
            for p in gw.ports["osd"]:
                su.check_port_owner(p, gw.pids["osd"])
            s3 = gw.client()
            eq(sorted(s3.list_buckets()), [LOCKED, PLAIN], "buckets")
            body = s3.request("GET", LOCKED, query=[("object-lock", "")]).body
            check(b"<ObjectLockEnabled>Enabled</ObjectLockEnabled>" in body, body)
            check(b"<Rule>" not in body, f"a default retention: {body}")
            check(b"<Status>Enabled</Status>" in s3.request("GET", LOCKED, query=[("versioning", "")]).body,
                  "versioning is not on")
            s3.put_object(LOCKED, "k", b"kept across a gateway restart")
            old = gw.pids["rgw"]
            t = time.monotonic()
            gw.restart_gateway()
            log(f"gateway restart {time.monotonic() - t:.2f} s")
            check(gw.pids["rgw"] != old, "same radosgw pid")
            s3.close()
            eq(s3.get_object(LOCKED, "k"), b"kept across a gateway restart", "data after the restart")
            s3.close()
            pids = list(gw.pids.values())
            ports = [gw.ports["mon"], gw.ports["rgw"]] + gw.ports["osd"]
        finally:
            t1 = time.monotonic()
            gw.stop()
            log(f"stop took {time.monotonic() - t1:.2f} s")
        assert_stopped(pids, ports, d)
        for p in ports:
            fd = su._try_lock(p)
            check(fd is not None, f"port {p} still locked")
            os.close(fd)
        check(os.path.isfile(os.path.join(d, "log", "client.rgw.log")), "a given dir is kept")
        tmp_gw = gateway()
        tmp_gw.start()
        tmp, pids = tmp_gw.dir, list(tmp_gw.pids.values())
        tmp_gw.stop()
        check(not os.path.exists(tmp), "temporary dir removed")
        assert_stopped(pids, [], tmp)
    for p in system:
        eq(files_under(p) - before[p], set(), f"files written under {p}")


@case
def radosgw_cli():
    """radosgw.py start prints one JSON line and stops everything on SIGTERM."""
    with workdir() as wd:
        d = os.path.join(wd, "cli")
        p = subprocess.Popen([sys.executable, os.path.join(HERE, "radosgw.py"), "start", "--dir", d,
                              "--bucket", "cli-locked"], stdout=subprocess.PIPE, text=True,
                             env=su.clean_env())
        try:
            info = json.loads(p.stdout.readline())
            log(info)
            s3 = S3Client(info["endpoint"], info["access_key"], info["secret_key"], info["region"])
            eq(s3.list_buckets(), ["cli-locked"], "buckets")
            s3.close()
            pids = list(info["pids"].values())
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(60)
        eq(p.returncode, 0, "exit status")
        assert_stopped(pids, [info["ports"]["rgw"], info["ports"]["mon"]], d)


# -- what the store enforces ---------------------------------------------------

@case
def radosgw_retention():
    """A retained object version cannot be deleted; a plain DELETE only adds
    a delete marker and an overwrite only a new version: the locked bytes
    stay readable.  COMPLIANCE retention can be extended, never shortened nor
    turned into GOVERNANCE; GOVERNANCE gives way to the bypass header.  A
    retain-until date in the past is refused with 400 InvalidArgument."""
    with gateway() as gw, gw.client() as s3:
        data = pattern(100_000, 1)
        r = expect(put(s3, LOCKED, "c", data, lock_headers("COMPLIANCE", utc(2))), 200, what="COMPLIANCE PUT")
        v = r.headers["x-amz-version-id"]
        ret = s3.get_object_retention(LOCKED, "c", v)
        eq(ret["mode"], "COMPLIANCE", "mode")
        check(ret["retain_until"].startswith(iso(utc(2))[:16]), f"retain-until {ret}")
        head = s3.head_object(LOCKED, "c")
        eq(head.get("x-amz-object-lock-mode"), "COMPLIANCE", "HEAD mode")
        eq(head.get("x-amz-object-lock-retain-until-date"), ret["retain_until"], "HEAD retain-until")

        r = s3.request("DELETE", LOCKED, "c", query=[("versionId", v)], check=False)
        expect(r, 403, "AccessDenied", "DELETE of the retained version")
        r = s3.request("DELETE", LOCKED, "c", query=[("versionId", v)], check=False,
                       headers={"x-amz-bypass-governance-retention": "true"})
        expect(r, 403, "AccessDenied", "DELETE of a COMPLIANCE version with the bypass")
        marker = s3.delete_object(LOCKED, "c")
        eq(marker.get("x-amz-delete-marker"), "true", "a plain DELETE makes a delete marker")
        eq(s3.get_object(LOCKED, "c", version_id=v), data, "the version behind the marker")
        r = expect(put(s3, LOCKED, "c", b"doctored"), 200, what="overwrite")
        check(r.headers["x-amz-version-id"] != v, "the overwrite is a new version")
        eq(s3.get_object(LOCKED, "c"), b"doctored", "the latest version")
        eq(s3.get_object(LOCKED, "c", version_id=v), data, "the locked version after the overwrite")
        versions = [x for x in s3.list_object_versions(LOCKED, "c") if x["key"] == "c"]
        eq(len(versions), 3, f"versions {versions}")

        r = s3.put_object_retention(LOCKED, "c", "COMPLIANCE", utc(1), v, check=False)
        expect(r, 403, "AccessDenied", "shortening COMPLIANCE")
        r = s3.put_object_retention(LOCKED, "c", "GOVERNANCE", utc(9), v, check=False)
        expect(r, 403, "AccessDenied", "COMPLIANCE to GOVERNANCE")
        expect(s3.put_object_retention(LOCKED, "c", "COMPLIANCE", utc(5), v, check=False), 200, what="extending")
        check(s3.get_object_retention(LOCKED, "c", v)["retain_until"].startswith(iso(utc(5))[:16]), "extended")

        r = expect(put(s3, LOCKED, "g", b"gov", lock_headers("GOVERNANCE", utc(2))), 200, what="GOVERNANCE PUT")
        g = r.headers["x-amz-version-id"]
        expect(s3.request("DELETE", LOCKED, "g", query=[("versionId", g)], check=False), 403, "AccessDenied",
               "DELETE of a GOVERNANCE version")
        expect(s3.put_object_retention(LOCKED, "g", "GOVERNANCE", utc(1), g, check=False), 403, "AccessDenied",
               "shortening GOVERNANCE without the bypass")
        r = s3.request("DELETE", LOCKED, "g", query=[("versionId", g)], check=False,
                       headers={"x-amz-bypass-governance-retention": "true"})
        expect(r, 204, what="DELETE of a GOVERNANCE version with the bypass")

        for what, until in (("a day ago", utc(-1)), ("2 s ago", utc(seconds=-2))):
            for mode in ("COMPLIANCE", "GOVERNANCE"):
                r = put(s3, LOCKED, "past", b"x", lock_headers(mode, until))
                expect(r, 400, "InvalidArgument", f"{mode} retain-until {what}")
        expect(put(s3, LOCKED, "m", b"x", {"x-amz-object-lock-mode": "COMPLIANCE"}), 400, "InvalidArgument",
               "a mode without a date")
        expect(put(s3, LOCKED, "m", b"x", lock_headers("FOREVER")), 400, "InvalidArgument", "an unknown mode")
        expect(put(s3, LOCKED, "m", b"x", lock_headers(until=iso(utc(1))[:-1])), 400, "InvalidArgument",
               "a date without Z")
        expect(put(s3, LOCKED, "m", b"x", lock_headers(until=iso(utc(1))[:-1] + ".250Z")), 200,
               what="a date with milliseconds")
        expect(put(s3, LOCKED, "m", b"x", lock_headers(until="2126-01-01T00:00:00Z")), 200,
               what="a date 100 years ahead")
        expect(put(s3, PLAIN, "m", b"x", lock_headers()), 400, "InvalidRequest",
               "lock headers in a bucket without Object Lock")
        log(f"retain-until as stored: {ret['retain_until']!r}")


@case
def radosgw_legal_hold():
    """A legal hold blocks deleting the version until it is turned off;
    GetObjectLegalHold on a version that never had one is a 404."""
    with gateway() as gw, gw.client() as s3:
        r = expect(put(s3, LOCKED, "h", b"held", lock_headers(None, hold=True)), 200, what="PUT with a legal hold")
        v = r.headers["x-amz-version-id"]
        eq(s3.get_object_legal_hold(LOCKED, "h", v), "ON", "legal hold")
        eq(s3.get_object_retention(LOCKED, "h", v), None, "no retention")
        eq(s3.head_object(LOCKED, "h").get("x-amz-object-lock-legal-hold"), "ON", "HEAD legal hold")
        for hdr in ({}, {"x-amz-bypass-governance-retention": "true"}):
            r = s3.request("DELETE", LOCKED, "h", query=[("versionId", v)], headers=hdr, check=False)
            expect(r, 403, "AccessDenied", f"DELETE of a held version {hdr}")
        expect(put(s3, LOCKED, "x", b"x", {"x-amz-object-lock-legal-hold": "YES"}), 400, "InvalidArgument",
               "legal hold YES")
        r = expect(put(s3, LOCKED, "n", b"none"), 200, what="PUT without a hold")
        r = s3.request("GET", LOCKED, "n", query=[("legal-hold", "")], check=False)
        expect(r, 404, "ObjectLockConfigurationNotFoundError", "GetObjectLegalHold without one")
        r = expect(put(s3, LOCKED, "both", b"b", lock_headers("GOVERNANCE", utc(1), hold=True)), 200,
                   what="PUT with retention and a hold")
        b = r.headers["x-amz-version-id"]
        r = s3.request("DELETE", LOCKED, "both", query=[("versionId", b)], check=False,
                       headers={"x-amz-bypass-governance-retention": "true"})
        expect(r, 403, "AccessDenied", "the bypass does not lift a legal hold")
        expect(s3.put_object_legal_hold(LOCKED, "h", False, v, check=False), 200, what="legal hold OFF")
        eq(s3.get_object_legal_hold(LOCKED, "h", v), "OFF", "legal hold after OFF")
        r = s3.request("DELETE", LOCKED, "h", query=[("versionId", v)], check=False)
        expect(r, 204, what="DELETE once the hold is off")


@case
def radosgw_multipart_lock():
    """Ceph 16.2's CreateMultipartUpload does NOT apply Object Lock headers:
    it keeps them as plain metadata, the completed object has no retention
    and no legal hold, and its version can be deleted.  A past retain-until
    date is not refused there either.  PutObjectRetention / PutObjectLegalHold
    on the completed version do lock it.  Complete answers with an empty
    <ETag></ETag> (the HEAD has the right multipart ETag)."""
    with gateway() as gw, gw.client() as s3:
        parts = [pattern(5 * MiB, 2), pattern(1000, 3)]
        r, _ = upload_multipart(s3, LOCKED, "mp", parts, lock_headers("COMPLIANCE", utc(30), hold=True))
        expect(r, 200, what="Complete")
        v = r.headers["x-amz-version-id"]
        eq(r.xml().findtext("ETag"), "", "Complete's ETag")
        head = s3.head_object(LOCKED, "mp")
        eq(head["etag"].strip('"'), multipart_etag(parts), "HEAD's ETag")
        check("x-amz-object-lock-mode" not in head, f"HEAD shows a lock: {head}")
        eq(s3.get_object_retention(LOCKED, "mp", v), None, "retention of the completed object")
        eq(s3.get_object_legal_hold(LOCKED, "mp", v), None, "legal hold of the completed object")
        r = s3.request("POST", LOCKED, "past", query=[("uploads", "")],
                       headers=lock_headers("COMPLIANCE", utc(-1)), check=False)
        expect(r, 200, what="CreateMultipartUpload with a past retain-until date")
        s3.abort_multipart_upload(LOCKED, "past", r.xml().findtext("UploadId"))
        expect(s3.put_object_retention(LOCKED, "mp", "COMPLIANCE", utc(30), v, check=False), 200,
               what="PutObjectRetention after Complete")
        expect(s3.put_object_legal_hold(LOCKED, "mp", True, v, check=False), 200,
               what="PutObjectLegalHold after Complete")
        eq(s3.get_object(LOCKED, "mp", version_id=v), b"".join(parts), "bytes after PutObjectRetention")
        eq(s3.head_object(LOCKED, "mp", v)["etag"].strip('"'), multipart_etag(parts), "the same version")
        r = s3.request("DELETE", LOCKED, "mp", query=[("versionId", v)], check=False)
        expect(r, 403, "AccessDenied", "DELETE once retained")
        # The version that CreateMultipartUpload's headers did not lock goes.
        r, _ = upload_multipart(s3, LOCKED, "mp2", parts, lock_headers("COMPLIANCE", utc(30)))
        v2 = r.headers["x-amz-version-id"]
        expect(s3.request("DELETE", LOCKED, "mp2", query=[("versionId", v2)], check=False), 204,
               what="DELETE of a multipart version uploaded with lock headers")


@case
def radosgw_conditional_and_checksums():
    """If-None-Match: * on PutObject is refused with 412 where the key
    exists in a bucket WITHOUT versioning, and ignored (a new version) in an
    Object Lock bucket; If-Match is honoured in both.  CompleteMultipartUpload
    ignores If-None-Match: * in both.  x-amz-checksum-sha256 is ignored (a
    wrong one is accepted, on PutObject and UploadPart), ChecksumSHA256 in
    the Complete document is accepted; Content-MD5 and x-amz-content-sha256
    are checked (UNSIGNED-PAYLOAD is accepted); any region signs."""
    with gateway() as gw, gw.client() as s3:
        inm = {"If-None-Match": "*"}
        for b in (PLAIN, LOCKED):
            expect(put(s3, b, "k", b"first"), 200, what=f"{b}: first PUT")
            expect(put(s3, b, "new", b"x", inm), 200, what=f"{b}: If-None-Match on a new key")
            expect(put(s3, b, "k", b"first", {"If-Match": '"00000000000000000000000000000000"'}), 412,
                   "PreconditionFailed", f"{b}: If-Match with another ETag")
        expect(put(s3, PLAIN, "k", b"second", inm), 412, "PreconditionFailed", "plain: If-None-Match on an existing key")
        eq(s3.get_object(PLAIN, "k"), b"first", "plain: kept")
        expect(put(s3, LOCKED, "k", b"second", inm), 200, what="locked: If-None-Match on an existing key (ignored)")
        eq(s3.get_object(LOCKED, "k"), b"second", "locked: a new version")
        parts = [pattern(5 * MiB, 4), b"end"]
        for b in (PLAIN, LOCKED):
            r, _ = upload_multipart(s3, b, "k", parts, complete_headers=inm)
            expect(r, 200, what=f"{b}: Complete with If-None-Match on an existing key (ignored)")
            eq(s3.get_object(b, "k"), b"".join(parts), f"{b}: replaced by Complete")

        def b64(h):
            return base64.b64encode(h.digest()).decode()
        wrong = b64(hashlib.sha256(b"other bytes"))
        expect(put(s3, PLAIN, "cs", b"payload", {"x-amz-checksum-sha256": wrong}), 200,
               what="PutObject with a wrong x-amz-checksum-sha256 (ignored)")
        r = put(s3, PLAIN, "cs", b"payload", {"x-amz-checksum-sha256": b64(hashlib.sha256(b"payload"))})
        check("x-amz-checksum-sha256" not in r.headers, f"checksum echoed: {r.headers}")
        uid = s3.create_multipart_upload(PLAIN, "mcs", headers={"x-amz-checksum-algorithm": "SHA256"})
        r = s3.request("PUT", PLAIN, "mcs", query=[("partNumber", "1"), ("uploadId", uid)], body=parts[0],
                       headers={"x-amz-checksum-sha256": wrong}, check=False)
        expect(r, 200, what="UploadPart with a wrong x-amz-checksum-sha256 (ignored)")
        e1 = r.headers["etag"]
        xml = (f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{e1}</ETag>"
               f"<ChecksumSHA256>{wrong}</ChecksumSHA256></Part></CompleteMultipartUpload>").encode()
        r = s3.request("POST", PLAIN, "mcs", query=[("uploadId", uid)], body=xml, check=False)
        expect(r, 200, what="Complete with (wrong) ChecksumSHA256 elements (ignored)")
        r = put(s3, PLAIN, "md5", b"payload", {"Content-MD5": b64(hashlib.md5(b"other"))})
        expect(r, 400, "BadDigest", "a wrong Content-MD5")
        r = s3.request("PUT", PLAIN, "sha", body=b"payload", payload_hash=hashlib.sha256(b"other").hexdigest(),
                       check=False)
        expect(r, 400, "XAmzContentSHA256Mismatch", "a wrong x-amz-content-sha256")
        bad = S3Client(gw.endpoint, gw.access_key, "not-the-secret", gw.region)
        expect(bad.request("GET", PLAIN, check=False), 403, "SignatureDoesNotMatch", "a wrong secret")
        bad.close()
        other = S3Client(gw.endpoint, gw.access_key, gw.secret_key, "eu-west-9")
        expect(other.request("GET", PLAIN, check=False), 200, what="another region in the scope")
        other.close()
        expect(s3.request("PUT", PLAIN, "unsigned", body=b"x", unsigned_payload=True, check=False), 200,
               what="UNSIGNED-PAYLOAD")
        r, _ = upload_multipart(s3, PLAIN, "small", [b"a" * 1000, b"b" * 1000])
        expect(r, 400, "EntityTooSmall", "a part under 5 MiB that is not the last")


def main(argv):
    return ts.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
