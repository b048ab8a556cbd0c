"""A small S3 client for test assertions (Python standard library only).

Signs requests with AWS Signature Version 4 (header auth, signed payload
SHA-256 in x-amz-content-sha256) and speaks path-style URLs, which is what
the private Swift + s3api test server (swift.py) accepts.  It is meant to
read back what the daemon uploaded, not to be a fast uploader.

    from s3client import S3Client
    s3 = S3Client("http://127.0.0.1:23456", "test:tester", "testsecret")
    s3.create_bucket("evidence")
    s3.put_object("evidence", "a/b.mp4", b"bytes")
    assert s3.get_object("evidence", "a/b.mp4", range=(1, 3)) == b"yte"
    for obj in s3.list_objects("evidence", prefix="a/"):
        print(obj["key"], obj["size"], obj["etag"])
"""

import base64
import datetime
import hashlib
import hmac
import http.client
import select
import urllib.parse
import xml.etree.ElementTree as ET

__all__ = ["S3Client", "S3Error", "Response", "multipart_etag", "resign"]

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED = "UNSIGNED-PAYLOAD"


class S3Error(Exception):
    """A non-2xx answer.  status, code (S3 error code or ''), message, body."""

    def __init__(self, status, code, message, body, method="", path=""):
        self.status = status
        self.code = code
        self.message = message
        self.body = body
        super().__init__(f"{method} {path}: HTTP {status} {code}: {message}")


class Response:
    """status (int), reason, headers (dict, lower-case names), body (bytes)."""

    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def xml(self):
        return _strip_ns(ET.fromstring(self.body))

    def __repr__(self):
        return f"<Response {self.status} {len(self.body)} bytes>"


def _strip_ns(root):
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]
    return root


def _quote(s, safe):
    return urllib.parse.quote(s, safe=safe)


def _version(version_id):
    return [("versionId", version_id)] if version_id else []


def _md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _error(r, method, path):
    code = message = ""
    if r.body.lstrip().startswith(b"<"):
        try:
            root = r.xml()
            code = root.findtext("Code") or ""
            message = root.findtext("Message") or ""
        except ET.ParseError:
            pass
    return S3Error(r.status, code, message or r.reason, r.body, method, path)


def multipart_etag(parts):
    """S3 multipart ETag of a list of part payloads (bytes): md5 of md5s + -N."""
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return f"{hashlib.md5(digests).hexdigest()}-{len(parts)}"


def _signing_key(secret_key, date, region, service):
    k = ("AWS4" + secret_key).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def resign(method, target, headers, secret_key, drop=()):
    """Sign a request someone else signed (SigV4, header auth) again, without
    the headers named in drop: how a proxy makes a store ignore a header (a
    signed header that is removed would fail the signature).

    target: the request target as sent (path and query, already encoded);
    headers: list of (name, value) as sent.  Returns the new list, in the same
    order, without the dropped headers and with a new Authorization.  The
    payload hash, date, access key and scope are the original request's."""
    drop = {d.lower() for d in drop}
    auth = next(v for k, v in headers if k.lower() == "authorization")
    fields = dict(f.strip().split("=", 1) for f in auth.split(" ", 1)[1].split(","))
    access_key, date, region, service, _ = fields["Credential"].split("/")
    signed = [h for h in fields["SignedHeaders"].split(";") if h not in drop]
    values = {}
    for k, v in headers:
        k = k.lower()
        if k in signed:
            v = " ".join(v.strip().split())
            values[k] = f"{values[k]},{v}" if k in values else v
    path, _, query = target.partition("?")
    pairs = sorted(tuple(q.split("=", 1)) if "=" in q else (q, "")
                   for q in query.split("&") if q)
    creq = "\n".join([method, path, "&".join(f"{k}={v}" for k, v in pairs),
                      "".join(f"{h}:{values.get(h, '')}\n" for h in signed),
                      ";".join(signed),
                      next(v for k, v in headers if k.lower() == "x-amz-content-sha256")])
    amz_date = next(v for k, v in headers if k.lower() == "x-amz-date")
    scope = f"{date}/{region}/{service}/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    sig = hmac.new(_signing_key(secret_key, date, region, service), sts.encode(),
                   hashlib.sha256).hexdigest()
    new_auth = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                f"SignedHeaders={';'.join(signed)}, Signature={sig}")
    return [(k, new_auth if k.lower() == "authorization" else v)
            for k, v in headers if k.lower() not in drop]


class S3Client:
    """SigV4 client for one endpoint.  Every method raises S3Error on non-2xx.

    endpoint: "http://127.0.0.1:PORT" (https works too; no certificate checks
    are configured, use http for the test servers).
    """

    def __init__(self, endpoint, access_key, secret_key, region="us-east-1",
                 timeout=60, service="s3"):
        u = urllib.parse.urlsplit(endpoint)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError(f"bad endpoint {endpoint!r}")
        self.endpoint = endpoint.rstrip("/")
        self.scheme = u.scheme
        self.host = u.hostname
        self.port = u.port or (443 if u.scheme == "https" else 80)
        self.netloc = u.netloc
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.service = service
        self.timeout = timeout
        self._conn = None

    # -- plumbing ---------------------------------------------------------

    def close(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _connection(self):
        """The kept-alive connection, or a new one if the server closed it
        meanwhile (a restarted server): no request is ever sent twice."""
        if self._conn is not None and self._conn.sock is not None:
            r, _, _ = select.select([self._conn.sock], [], [], 0)
            if r:  # EOF or RST (or stray bytes): not usable
                self.close()
        if self._conn is None:
            cls = (http.client.HTTPSConnection if self.scheme == "https"
                   else http.client.HTTPConnection)
            self._conn = cls(self.host, self.port, timeout=self.timeout)
        return self._conn

    @staticmethod
    def _path(bucket, key):
        path = "/"
        if bucket:
            path += bucket
            if key is not None:
                path += "/" + key
        return path

    def sign(self, method, path, query, headers, payload_hash, now=None):
        """Add x-amz-date, x-amz-content-sha256 and Authorization to headers.

        path is the unencoded path ("/bucket/key with spaces"); query a list of
        (name, value) pairs.  Returns the encoded request target to send.
        """
        now = now or datetime.datetime.now(datetime.timezone.utc)
        amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        date = amz_date[:8]
        headers["host"] = self.netloc
        headers["x-amz-date"] = amz_date
        headers["x-amz-content-sha256"] = payload_hash
        canonical_uri = _quote(path, safe="/-_.~")
        canonical_query = "&".join(
            f"{_quote(k, '-_.~')}={_quote(v, '-_.~')}"
            for k, v in sorted((str(k), str(v)) for k, v in query))
        lower = {}
        for k, v in headers.items():
            lower[k.lower().strip()] = " ".join(str(v).strip().split())
        signed = sorted(lower)
        canonical_headers = "".join(f"{k}:{lower[k]}\n" for k in signed)
        signed_headers = ";".join(signed)
        creq = "\n".join([method, canonical_uri, canonical_query,
                          canonical_headers, signed_headers, payload_hash])
        scope = f"{date}/{self.region}/{self.service}/aws4_request"
        sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(creq.encode()).hexdigest()])
        k = _signing_key(self.secret_key, date, self.region, self.service)
        sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
            f"SignedHeaders={signed_headers}, Signature={sig}")
        target = canonical_uri
        if query:
            target += "?" + "&".join(
                f"{_quote(str(k), '-_.~')}={_quote(str(v), '-_.~')}"
                for k, v in query)
        return target

    def request(self, method, bucket=None, key=None, query=None, headers=None,
                body=b"", unsigned_payload=False, check=True,
                payload_hash=None):
        """Send one signed request; returns a Response.

        query: dict or list of (name, value); a value of "" gives "name=".
        body: bytes.  check: raise S3Error on a non-2xx status.
        unsigned_payload: sign "UNSIGNED-PAYLOAD" instead of the SHA-256.
        payload_hash: sign and send this x-amz-content-sha256 (for negative
        tests).
        """
        if isinstance(query, dict):
            query = list(query.items())
        query = [(k, "" if v is None else v) for k, v in (query or [])]
        headers = dict(headers or {})
        body = body or b""
        if payload_hash is None:
            payload_hash = (UNSIGNED if unsigned_payload
                            else hashlib.sha256(body).hexdigest())
        path = self._path(bucket, key)
        target = self.sign(method, path, query, headers, payload_hash)
        if body or method in ("PUT", "POST"):
            headers["Content-Length"] = str(len(body))
        conn = self._connection()
        try:
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except Exception:
            self.close()
            raise
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        if resp.will_close:
            self.close()
        r = Response(resp.status, resp.reason, hdrs, data)
        if check and not 200 <= r.status < 300:
            raise _error(r, method, path)
        return r

    # -- buckets ----------------------------------------------------------

    def list_buckets(self):
        root = self.request("GET").xml()
        return [b.findtext("Name") for b in root.iter("Bucket")]

    def create_bucket(self, bucket, exist_ok=True, object_lock=False):
        """PUT bucket.  exist_ok: treat BucketAlreadyOwnedByYou/Exists as done.
        object_lock: x-amz-bucket-object-lock-enabled: true (S3 then turns
        versioning on for good)."""
        headers = {"x-amz-bucket-object-lock-enabled": "true"} if object_lock else None
        try:
            self.request("PUT", bucket, headers=headers)
        except S3Error as e:
            if not (exist_ok and e.code in ("BucketAlreadyOwnedByYou",
                                            "BucketAlreadyExists")):
                raise

    def delete_bucket(self, bucket):
        self.request("DELETE", bucket)

    def bucket_exists(self, bucket):
        return self.request("HEAD", bucket, check=False).status == 200

    # -- objects ----------------------------------------------------------

    def put_object(self, bucket, key, data, headers=None):
        """PUT an object in one request; returns its ETag (without quotes)."""
        r = self.request("PUT", bucket, key, headers=headers, body=data)
        return r.headers.get("etag", "").strip('"')

    def get_object(self, bucket, key, range=None, headers=None,
                   version_id=None):
        """GET an object's bytes.  range: (first, last) inclusive, or a raw
        Range header value such as "bytes=-100"."""
        headers = dict(headers or {})
        if range is not None:
            if isinstance(range, tuple):
                first, last = range
                range = f"bytes={first}-{'' if last is None else last}"
            headers["Range"] = range
        return self.request("GET", bucket, key, query=_version(version_id),
                            headers=headers).body

    def head_object(self, bucket, key, version_id=None):
        """Headers (dict, lower-case names) of an object, or None if absent."""
        r = self.request("HEAD", bucket, key, query=_version(version_id),
                         check=False)
        if r.status == 404:
            return None
        if not 200 <= r.status < 300:
            raise S3Error(r.status, "", r.reason, b"", "HEAD",
                          self._path(bucket, key))
        return r.headers

    def delete_object(self, bucket, key, version_id=None, headers=None):
        """DELETE an object (a version, if given); returns the answer's
        headers (x-amz-version-id, x-amz-delete-marker)."""
        return self.request("DELETE", bucket, key, query=_version(version_id),
                            headers=headers).headers

    # -- versions and Object Lock -------------------------------------------

    def list_object_versions(self, bucket, prefix=""):
        """Every version and delete marker under prefix (one page of up to
        1000).  Dicts: key, version_id, is_latest (bool), delete_marker
        (bool), size (int), etag (no quotes)."""
        root = self.request("GET", bucket, query=[("versions", ""),
                                                  ("prefix", prefix)]).xml()
        out = []
        for el in root:
            if el.tag not in ("Version", "DeleteMarker"):
                continue
            out.append({
                "key": el.findtext("Key"),
                "version_id": el.findtext("VersionId"),
                "is_latest": (el.findtext("IsLatest") or "") == "true",
                "delete_marker": el.tag == "DeleteMarker",
                "size": int(el.findtext("Size") or 0),
                "etag": (el.findtext("ETag") or "").strip('"'),
            })
        return out

    def _lock_config(self, bucket, key, sub, version_id):
        """The XML root of GET ?retention or ?legal-hold, None on a 404."""
        r = self.request("GET", bucket, key,
                         query=[(sub, "")] + _version(version_id), check=False)
        if r.status == 404:
            return None
        if r.status != 200:
            raise _error(r, "GET", self._path(bucket, key))
        return r.xml()

    def get_object_retention(self, bucket, key, version_id=None):
        """{"mode", "retain_until"} (the server's strings) of an object
        version, or None if it has no retention (404)."""
        root = self._lock_config(bucket, key, "retention", version_id)
        if root is None:
            return None
        return {"mode": root.findtext("Mode"),
                "retain_until": root.findtext("RetainUntilDate")}

    def get_object_legal_hold(self, bucket, key, version_id=None):
        """"ON" or "OFF" for an object version, None if it never had one."""
        root = self._lock_config(bucket, key, "legal-hold", version_id)
        return None if root is None else root.findtext("Status")

    def put_object_retention(self, bucket, key, mode, retain_until,
                             version_id=None, bypass_governance=False,
                             check=True):
        """PutObjectRetention.  retain_until: an ISO 8601 string or an aware
        datetime.  Returns the Response (check=False: also on errors)."""
        if isinstance(retain_until, datetime.datetime):
            retain_until = retain_until.strftime("%Y-%m-%dT%H:%M:%SZ")
        body = ('<Retention xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                f"<Mode>{mode}</Mode><RetainUntilDate>{retain_until}"
                "</RetainUntilDate></Retention>").encode()
        headers = {"Content-MD5": _md5_b64(body)}
        if bypass_governance:
            headers["x-amz-bypass-governance-retention"] = "true"
        return self.request("PUT", bucket, key,
                            query=[("retention", "")] + _version(version_id),
                            headers=headers, body=body, check=check)

    def put_object_legal_hold(self, bucket, key, on, version_id=None,
                              check=True):
        """PutObjectLegalHold ON/OFF.  Returns the Response."""
        body = ('<LegalHold xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                f"<Status>{'ON' if on else 'OFF'}</Status></LegalHold>").encode()
        return self.request("PUT", bucket, key,
                            query=[("legal-hold", "")] + _version(version_id),
                            headers={"Content-MD5": _md5_b64(body)},
                            body=body, check=check)

    def list_objects(self, bucket, prefix="", page_size=1000, v2=True):
        """Every object under prefix, following pages.  A list of dicts:
        key, size (int), etag (no quotes), last_modified (str)."""
        out = []
        token = None
        marker = None
        while True:
            if v2:
                q = [("list-type", "2"), ("max-keys", str(page_size)),
                     ("prefix", prefix)]
                if token:
                    q.append(("continuation-token", token))
            else:
                q = [("max-keys", str(page_size)), ("prefix", prefix)]
                if marker:
                    q.append(("marker", marker))
            root = self.request("GET", bucket, query=q).xml()
            contents = root.findall("Contents")
            for c in contents:
                out.append({
                    "key": c.findtext("Key"),
                    "size": int(c.findtext("Size") or 0),
                    "etag": (c.findtext("ETag") or "").strip('"'),
                    "last_modified": c.findtext("LastModified"),
                })
            truncated = (root.findtext("IsTruncated") or "").lower() == "true"
            if not truncated or not (contents or root.findall(
                    "CommonPrefixes")):
                return out
            if v2:
                token = root.findtext("NextContinuationToken")
                if not token:
                    raise S3Error(0, "", "truncated listing without token",
                                  b"")
            else:
                marker = root.findtext("NextMarker") or out[-1]["key"]

    # -- multipart ----------------------------------------------------------

    def create_multipart_upload(self, bucket, key, headers=None):
        root = self.request("POST", bucket, key, query=[("uploads", "")],
                            headers=headers).xml()
        return root.findtext("UploadId")

    def upload_part(self, bucket, key, upload_id, part_number, data):
        """Returns the part's ETag (without quotes)."""
        r = self.request("PUT", bucket, key,
                         query=[("partNumber", str(part_number)),
                                ("uploadId", upload_id)], body=data)
        return r.headers.get("etag", "").strip('"')

    def complete_multipart_upload(self, bucket, key, upload_id, parts):
        """parts: list of (part_number, etag).  Returns the object's ETag."""
        xml = "<CompleteMultipartUpload>" + "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>\"{e}\"</ETag></Part>"
            for n, e in parts) + "</CompleteMultipartUpload>"
        r = self.request("POST", bucket, key, query=[("uploadId", upload_id)],
                         body=xml.encode())
        root = r.xml()
        if root.tag == "Error":  # S3 may report errors with a 200
            raise S3Error(r.status, root.findtext("Code") or "",
                          root.findtext("Message") or "", r.body, "POST", key)
        return (root.findtext("ETag") or "").strip('"')

    def abort_multipart_upload(self, bucket, key, upload_id):
        self.request("DELETE", bucket, key, query=[("uploadId", upload_id)])

    def list_multipart_uploads(self, bucket, prefix="", page_size=1000):
        """In-progress uploads, following pages.  Dicts: key, upload_id,
        initiated."""
        out = []
        key_marker = upload_marker = None
        while True:
            q = [("uploads", ""), ("max-uploads", str(page_size)),
                 ("prefix", prefix)]
            if key_marker is not None:
                q.append(("key-marker", key_marker))
                q.append(("upload-id-marker", upload_marker or ""))
            root = self.request("GET", bucket, query=q).xml()
            page = [{"key": u.findtext("Key"),
                     "upload_id": u.findtext("UploadId"),
                     "initiated": u.findtext("Initiated")}
                    for u in root.findall("Upload")]
            out.extend(page)
            if not page or (root.findtext("IsTruncated") or
                            "false").lower() != "true":
                return out
            # Swift 2.30 leaves NextKeyMarker/NextUploadIdMarker empty when
            # max-uploads is 1, and says IsTruncated whenever the page is
            # full: continue from the last upload seen, stop on an empty page.
            key_marker = root.findtext("NextKeyMarker") or page[-1]["key"]
            upload_marker = (root.findtext("NextUploadIdMarker")
                             or page[-1]["upload_id"])

    def list_parts(self, bucket, key, upload_id, page_size=1000):
        """Uploaded parts, following pages.  Dicts: part_number (int), etag
        (no quotes), size (int), last_modified."""
        out = []
        marker = None
        while True:
            q = [("uploadId", upload_id), ("max-parts", str(page_size))]
            if marker is not None:
                q.append(("part-number-marker", str(marker)))
            root = self.request("GET", bucket, key, query=q).xml()
            page = [{"part_number": int(p.findtext("PartNumber")),
                     "etag": (p.findtext("ETag") or "").strip('"'),
                     "size": int(p.findtext("Size") or 0),
                     "last_modified": p.findtext("LastModified")}
                    for p in root.findall("Part")]
            out.extend(page)
            if not page or (root.findtext("IsTruncated") or
                            "false").lower() != "true":
                return out
            marker = (root.findtext("NextPartNumberMarker")
                      or page[-1]["part_number"])

    def abort_all_uploads(self, bucket, prefix=""):
        """Abort every in-progress upload under prefix; returns how many."""
        ups = self.list_multipart_uploads(bucket, prefix)
        for u in ups:
            self.abort_multipart_upload(bucket, u["key"], u["upload_id"])
        return len(ups)
