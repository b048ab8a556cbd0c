/* SPDX-License-Identifier: Apache-2.0 */
/* backend-s3.c: central storage in an S3-compatible object store (AWS, Ceph RGW,
 * MinIO, OpenStack Swift s3api), signed with SigV4 by libcurl.
 *
 * Small objects go in one PUT; larger ones as a multipart upload whose parts run
 * concurrently on slots the uploader hands out. Each part carries its real
 * SHA-256 (x-amz-content-sha256, which the server checks), Content-MD5 and
 * x-amz-checksum-sha256. The upload id and every acknowledged part are written
 * to the put's state file (atomically) as they happen; after a restart ListParts
 * says which parts the server holds, and only the others are sent.
 *
 * Confirmation: the ETag the object must have (MD5 of the bytes, or the MD5 of
 * the parts' MD5s and "-N") is computed locally and compared with what
 * CompleteMultipartUpload answers and with a HEAD (size too). The parts' hashes
 * come from one pass over the spool file that also computes the whole object's
 * SHA-256 and checks it against the manifest's before anything is completed.
 * Object Lock retention and legal hold go on CreateMultipartUpload/PutObject,
 * and after a multipart upload again with PutObjectRetention/PutObjectLegalHold
 * (Ceph RGW ignores them on CreateMultipartUpload) where the probe found the
 * store knows them: Swift's s3api takes them for an overwrite of the object.
 *
 * Write-once: a key that holds other bytes is never written (-EEXIST; the
 * uploader stores ours under the conflict key; our multipart upload, if any,
 * is aborted). A HEAD of the key precedes every PutObject and
 * CompleteMultipartUpload, and where the store honours it (s3-probe.h) the
 * write carries If-None-Match: * as well, which closes the race between the
 * two; its 412 is looked at like an existing key. An existing object of our
 * size under another ETag is read back, and its SHA-256 decides: the same
 * bytes uploaded in parts of another size are ours. */
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>

#include "backend-s3-check.h"
#include "backend-s3.h"
#include "failpoint.h"
#include "log.h"
#include "parse-util.h"
#include "s3-lock.h"
#include "s3-probe.h"
#include "s3-protocol.h"
#include "s3-put.h"

static void pump(BackendPut *p);
static void do_head_existing(BackendPut *p);
static void do_create(BackendPut *p);
static void do_list(BackendPut *p);
static void do_verify(BackendPut *p);
static void do_look(BackendPut *p, S3Look look);
static void abort_spent(BackendPut *p, void (*next)(BackendPut *p));

#define BODY_SHA256 SIZE_MAX

/* A request without a body on url (from s3_put_url(); NULL: -ENOMEM), answered
 * to cb, keeping at most keep bytes of the answer's body (0: none; BODY_SHA256:
 * its SHA-256 instead, http_request_body_digest()); what names it if it cannot
 * start. */
static void send_empty(BackendPut *p, const char *method, char *url, size_t keep, http_done_t cb,
                       const char *what) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        int k;

        k = s3_put_request(p, method, url, &r);
        if (k >= 0)
                k = s3_add_payload_hash(r, NULL);
        if (k >= 0 && keep == BODY_SHA256)
                k = http_request_hash_body(r, EVP_sha256());
        else if (k >= 0 && keep > 0)
                http_request_keep_body(r, keep);
        if (k >= 0)
                k = http_request_start(r, cb, p);
        if (k < 0)
                return s3_put_finish(p, k, "%s %s: cannot start the request: %s", what, p->base.key, strerror(-k));
        p->meta = TAKE_PTR(r);
}

/* A HEAD of the object key, answered to cb. */
static void send_head(BackendPut *p, http_done_t cb) {
        send_empty(p, "HEAD", s3_put_url(p, NULL), 0, cb, "HEAD");
}

/* An answer to a request that wants a document back: its status and body;
 * code and why say what the store said when the status is not 200. */
typedef struct S3Answer {
        long status;
        const char *body;
        size_t n;
        char code[64], why[256];
} S3Answer;

/* Reads r's answer into a: false when the request itself failed (no answer:
 * the put is finished with that error, what naming the request). */
static bool answer_read(BackendPut *p, HttpRequest *r, int error, const char *what, S3Answer *a) {
        p->meta = NULL;
        if (error < 0) {
                s3_put_finish(p, error, "%s %s: %s", what, p->base.key, strna(http_request_error(r)));
                return false;
        }
        *a = (S3Answer) { .status = http_request_status(r) };
        a->body = http_request_body(r, &a->n);
        if (a->status != 200)
                s3_describe_error(r, a->code, sizeof a->code, a->why, sizeof a->why);
        return true;
}

/* ---- slots ---- */

static void s3_grant_slot(BackendPut *p) {
        p->slots++;
        if (p->wanted > 0)
                p->wanted--;
        pump(p);
}

/* ---- hashing ---- */

static void hash_next(BackendPut *p);

static void on_hashed(int result, void *userdata) {
        BackendPut *p = userdata;
        S3Part *part;

        if (remote_put_hash_returned(&p->base))
                return;
        if (result < 0) {
                p->hash_error = result;
                pump(p);
                return;
        }
        part = &p->parts[p->n_hashed++];
        memcpy(part->md5, p->hash.md5_digest, 16);
        memcpy(part->sha256, p->hash.sha256, 32);
        part->hashed = true;
        s3_put_reconcile(p, part);
        if (p->n_hashed == p->n_parts) {
                if (p->single)
                        memcpy(p->etag, hexmem(part->md5, 16, (char[33]) {}), 33);
                else {
                        /* S3's multipart ETag: MD5 over the parts' binary MD5s, then "-N". */
                        EVP_MD_CTX *m = EVP_MD_CTX_new();
                        uint8_t d[16], full[32];
                        char hex[33];
                        bool ok = m && EVP_DigestInit_ex(m, EVP_md5(), NULL);
                        for (unsigned i = 0; ok && i < p->n_parts; i++)
                                ok = EVP_DigestUpdate(m, p->parts[i].md5, 16);
                        ok = ok && EVP_DigestFinal_ex(m, d, NULL) && EVP_DigestFinal_ex(p->full, full, NULL);
                        EVP_MD_CTX_free(m);
                        if (!ok) {
                                p->hash_error = -EIO;
                                pump(p);
                                return;
                        }
                        snprintf(p->etag, sizeof p->etag, "%s-%u", hexmem(d, 16, hex), p->n_parts);
                        if (memcmp(full, p->base.sha256, 32) != 0)
                                p->hash_error = -EBADMSG;
                }
                if (p->single && memcmp(part->sha256, p->base.sha256, 32) != 0)
                        p->hash_error = -EBADMSG;
                p->hash_done = true;
        } else
                hash_next(p);
        pump(p);
}

static void hash_next(BackendPut *p) {
        S3Part *part = &p->parts[p->n_hashed];
        int k;

        p->hash = (FileHash) {
                .fd = p->base.fd,
                .offset = part->offset,
                .length = part->length,
                .md5 = true,
                .chain = p->single ? NULL : p->full,
        };
        k = filehash_submit(p->s3->remote.pool, &p->hash, on_hashed, p, &p->base.hash_job);
        if (k < 0)
                p->hash_error = k;
}

/* ---- single PUT ---- */

static void on_single_put(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        BackendPut *p = userdata;
        long status = http_request_status(r);
        char code[64], why[256];

        p->meta = NULL;
        if (error < 0) {
                s3_put_finish(p, error, "PUT %s: %s", p->base.key, strna(http_request_error(r)));
        } else if (status == 200) {
                const char *etag = http_request_header(r, "ETag");
                if (!s3_etag_equal(etag, p->etag))
                        s3_put_finish(p, -EIO, "PUT %s: the store answered ETag %s, but the bytes sent have MD5 %s",
                               p->base.key, strna(etag), p->etag);
                else
                        do_verify(p);
        } else if (status == 412)
                do_look(p, S3_LOOK_AFTER_412);   /* the key exists: ours from before, or not */
        else {
                s3_describe_error(r, code, sizeof code, why, sizeof why);
                s3_put_finish(p, streq(code, "BadDigest") ? -EIO : s3_status_error(status, code), "PUT %s: %s", p->base.key, why);
        }
}

static void do_single_put(BackendPut *p) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        char b64md5[25], b64sha[45];
        int k;

        p->phase = S3_SINGLE_PUT;
        k = s3_put_request(p, "PUT", s3_put_url(p, NULL), &r);
        if (k >= 0)
                k = s3_add_object_headers(r, p->s3->remote.backend.config, p->base.content_type, p->base.sha256,
                                          p->base.retain_until, p->base.legal_hold);
        if (k >= 0)
                k = s3_add_payload_hash(r, p->parts[0].sha256);
        if (k >= 0)
                k = http_request_add_header(r, "Content-MD5: %s", base64mem(p->parts[0].md5, 16, b64md5));
        if (k >= 0)
                k = http_request_add_header(r, "x-amz-checksum-sha256: %s", base64mem(p->parts[0].sha256, 32, b64sha));
        if (k >= 0 && p->s3->if_none_match)
                k = http_request_add_header(r, "If-None-Match: *");
        if (k >= 0) {
                http_request_set_body_file(r, p->base.fd, 0, p->base.size);
                k = http_request_start(r, on_single_put, p);
        }
        if (k < 0)
                return s3_put_finish(p, k, "PUT %s: cannot start the request: %s", p->base.key, strerror(-k));
        p->meta = TAKE_PTR(r);
}

/* ---- HEAD: after the upload, and before one without resume state ---- */

static void on_verify(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        BackendPut *p = userdata;
        long status = http_request_status(r);
        const char *etag = http_request_header(r, "ETag"), *len = http_request_header(r, "Content-Length");
        const char *meta = http_request_header(r, "x-amz-meta-sha256");
        char hex[65];

        p->meta = NULL;
        if (error < 0)
                s3_put_finish(p, error, "HEAD %s after the upload: %s", p->base.key, strna(http_request_error(r)));
        else if (status == 403)
                s3_put_finish(p, -EACCES, "HEAD %s after the upload: HTTP 403", p->base.key);
        else if (status != 200)
                /* The upload is consumed; the next attempt starts this object over. */
                s3_put_finish(p, -EIO, "HEAD %s after the upload: HTTP %ld, the object is not there", p->base.key, status);
        else if (!len || strtoull(len, NULL, 10) != p->base.size)
                s3_put_finish(p, -EIO, "HEAD %s: the store holds %s bytes, not %" PRIu64, p->base.key, strna(len), p->base.size);
        else if (!s3_etag_equal(etag, p->etag))
                s3_put_finish(p, -EIO, "HEAD %s: the store holds ETag %s, but our bytes make %s", p->base.key, strna(etag), p->etag);
        else if (meta && !streq(meta, hexmem(p->base.sha256, 32, hex)))
                s3_put_finish(p, -EIO, "HEAD %s: the store records SHA-256 %s, not %s", p->base.key, meta, hex);
        else
                s3_put_lock(p);
}

static void do_verify(BackendPut *p) {
        p->phase = S3_VERIFY;
        /* From here on, the upload id is spent: never resume from it again. */
        if (!p->single) {
                p->upload_id = mfree(p->upload_id);
                remote_put_state_remove(&p->base);
        }
        send_head(p, on_verify);
}

/* What HEAD found under our key, judged once our ETag is known. */
static void keep_existing(BackendPut *p, HttpRequest *r) {
        snprintf(p->server_etag, sizeof p->server_etag, "%.47s", strempty(http_request_header(r, "ETag")));
        snprintf(p->server_sha256, sizeof p->server_sha256, "%.64s",
                 strempty(http_request_header(r, "x-amz-meta-sha256")));
        snprintf(p->server_size, sizeof p->server_size, "%.23s", strempty(http_request_header(r, "Content-Length")));
}

static void on_head_existing(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        BackendPut *p = userdata;
        long status = http_request_status(r);

        p->meta = NULL;
        if (error < 0)
                s3_put_finish(p, error, "HEAD %s: %s", p->base.key, strna(http_request_error(r)));
        else if (status == 403)
                s3_put_finish(p, -EACCES, "HEAD %s: HTTP 403: access denied", p->base.key);
        else if (status == 200) {
                /* Ours from before a restart, or not: found out once our ETag is known. */
                keep_existing(p, r);
                p->phase = S3_WAIT_EXISTING;
                pump(p);
        } else if (status == 404)
                do_create(p);
        else {
                char code[64], why[256];
                s3_describe_error(r, code, sizeof code, why, sizeof why);
                s3_put_finish(p, s3_status_error(status, code), "HEAD %s: %s", p->base.key, why);
        }
}

/* ---- the key holds an object already: ours, or another's? ---- */

static const char *empty_to_null(const char *s) {
        return isempty(s) ? NULL : s;
}

#define EXISTING_READ_BACK 2

/* What the store's object under our key holds, from what HEAD found
 * (keep_existing()): 1 our bytes; 0 other bytes (someone else's object: a
 * conflict); EXISTING_READ_BACK as many bytes as ours under another ETag,
 * which only the bytes can settle: the same bytes uploaded in parts of
 * another size have another multipart ETag (and an encrypted object's ETag
 * is no MD5 at all); -EIO it claims to be ours (our SHA-256 in its metadata)
 * but its size disagrees: a store that lies or corrupts, which is no
 * confirmation and no reason for a conflict key either (not confirmed,
 * retried, alerted). */
static int judge_existing(BackendPut *p) {
        const char *meta = empty_to_null(p->server_sha256), *etag = empty_to_null(p->server_etag);
        bool meta_ours = meta && streq(meta, hexmem(p->base.sha256, 32, (char[65]) {}));
        uint64_t size;

        if (meta && !meta_ours)
                return 0;
        if (parse_uint64(p->server_size, &size) < 0 || size != p->base.size)
                return meta_ours ? -EIO : 0;
        if (etag && s3_etag_equal(etag, p->etag))
                return 1;
        return EXISTING_READ_BACK;
}

static void settle_existing(BackendPut *p, int k);

static void on_read_back(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        BackendPut *p = userdata;
        long status = http_request_status(r);
        bool meta_ours = !isempty(p->server_sha256);   /* judge_existing() let only ours through */
        uint8_t sha[EVP_MAX_MD_SIZE];
        unsigned len = 0;
        uint64_t n = 0;

        p->meta = NULL;
        if (error < 0)
                return s3_put_finish(p, error, "GET %s: %s", p->base.key, strna(http_request_error(r)));
        if (status != 200 || http_request_body_digest(r, sha, &len, &n) < 0 || len != 32)
                return s3_put_finish(p, -EREMOTEIO, "GET %s: HTTP %ld: the object under our key cannot be read "
                                     "back to compare it with ours", p->base.key, status);
        if (n == p->base.size && memcmp(sha, p->base.sha256, 32) == 0) {
                /* Ours, in another part layout: the confirmation names the object's own ETag. */
                snprintf(p->etag, sizeof p->etag, "%s", p->server_etag + (p->server_etag[0] == '"'));
                p->etag[strcspn(p->etag, "\"")] = 0;
                return settle_existing(p, 1);
        }
        settle_existing(p, meta_ours ? -EIO : 0);
}

/* GET the object under our key, hashing it as it streams by. */
static void do_read_back(BackendPut *p) {
        p->phase = S3_READ_BACK;
        log_info("%s: %s holds as many bytes as ours under ETag %s, not %s; reading them back to compare.",
                 p->base.key, p->s3->bucket_display, p->server_etag, p->etag);
        send_empty(p, "GET", s3_put_url(p, NULL), BODY_SHA256, on_read_back, "GET");
}

static void end_failed(BackendPut *p) {
        s3_put_finish(p, p->fail_error, NULL);
}

/* How the put ends when the key holds an object already; k: judge_existing(),
 * or what the read-back found. Our own upload, if any, is aborted either way
 * (unless the store lies: the retry resumes it). */
static void settle_existing(BackendPut *p, int k) {
        if (k == EXISTING_READ_BACK)
                return do_read_back(p);
        if (k == 1) {
                log_info("%s: already in %s with our bytes (ETag %s); confirming it as is.", p->base.key,
                         p->s3->bucket_display, p->etag);
                return abort_spent(p, s3_put_lock);
        }
        if (k < 0)
                return s3_put_finish(p, k, "%s: the store holds %s bytes with ETag %s under our SHA-256, but our "
                                     "bytes are %" PRIu64 " with ETag %s", p->base.key, strna(p->server_size),
                                     strna(p->server_etag), p->base.size, p->etag);
        s3_put_fail_soon(p, -EEXIST, "%s already holds other bytes (%s bytes, ETag %s; ours %" PRIu64 ", ETag %s); "
                         "evidence is never overwritten", p->base.key, strna(p->server_size), strna(p->server_etag),
                         p->base.size, p->etag);
        abort_spent(p, end_failed);
}

/* ---- a look at the key before each write (and after a 412) ---- */

static void send_complete(BackendPut *p);

static void on_look(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        BackendPut *p = userdata;
        long status = http_request_status(r);
        char code[64], why[256];

        p->meta = NULL;
        if (error < 0)
                return s3_put_finish(p, error, "HEAD %s: %s", p->base.key, strna(http_request_error(r)));
        if (status == 404)
                switch (p->look) {
                case S3_LOOK_BEFORE_PUT:
                        return do_single_put(p);
                case S3_LOOK_BEFORE_COMPLETE:
                        return send_complete(p);
                case S3_LOOK_AFTER_412:
                        return s3_put_finish(p, -EREMOTEIO, "%s: the store refused the write as if the key existed "
                                             "(412), but a HEAD finds nothing", p->base.key);
                }
        if (status == 200) {
                keep_existing(p, r);
                return settle_existing(p, judge_existing(p));
        }
        s3_describe_error(r, code, sizeof code, why, sizeof why);
        s3_put_finish(p, status == 403 ? -EACCES : s3_status_error(status, code), "HEAD %s: %s", p->base.key, why);
}

static void do_look(BackendPut *p, S3Look look) {
        p->phase = S3_LOOK;
        p->look = look;
        send_head(p, on_look);
}

static void do_head_existing(BackendPut *p) {
        p->phase = S3_HEAD_EXISTING;
        send_head(p, on_head_existing);
}

/* ---- abort ---- */

static void on_abort(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        BackendPut *p = userdata;
        long status = http_request_status(r);

        p->meta = NULL;
        /* 204 aborted, 404 already gone: either way it is no longer ours to track. */
        if (error < 0 || (status != 204 && status != 200 && status != 404))
                log_info("%s: cannot abort the abandoned upload %s (%s); the store's lifecycle rules must "
                         "clean it up.", p->base.key, p->stale_upload_id,
                         error < 0 ? strna(http_request_error(r)) : "refused");
        p->stale_upload_id = mfree(p->stale_upload_id);
        remote_put_state_remove(&p->base);
        p->after_abort(p);
}

/* AbortMultipartUpload of p->stale_upload_id (its parts would otherwise stay in
 * the bucket, unseen, until a lifecycle rule removes them), then next. */
static void do_abort(BackendPut *p, void (*next)(BackendPut *p)) {
        _cleanup_free_ char *id = s3_uri_escape(p->stale_upload_id, false);

        p->phase = S3_ABORT;
        p->after_abort = next;
        send_empty(p, "DELETE", id ? s3_put_url(p, "?uploadId=%s", id) : NULL, 0, on_abort, "AbortMultipartUpload");
}

/* Our upload, if any, will never be completed: the key holds an object
 * already (ours, or another's). Abort it, then next. */
static void abort_spent(BackendPut *p, void (*next)(BackendPut *p)) {
        if (p->single || !p->upload_id)
                return next(p);
        p->stale_upload_id = TAKE_PTR(p->upload_id);
        do_abort(p, next);
}

/* After the stale upload of an earlier run: this object from the start. */
static void begin_over(BackendPut *p) {
        if (p->single)
                p->phase = S3_WAIT_SINGLE, pump(p);
        else
                do_head_existing(p);
}

/* ---- CreateMultipartUpload ---- */

static void on_create(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        BackendPut *p = userdata;
        S3Answer a;
        int k;

        if (!answer_read(p, r, error, "CreateMultipartUpload", &a))
                return;
        if (a.status != 200)
                s3_put_finish(p, s3_status_error(a.status, a.code), "CreateMultipartUpload %s: %s", p->base.key, a.why);
        else if ((k = s3_upload_id_parse(a.body, a.n, &p->upload_id)) == -EPROTO)
                s3_put_finish(p, -EPROTO, "CreateMultipartUpload %s: the answer has no UploadId", p->base.key);
        else if (k < 0)
                s3_put_finish(p, -ENOMEM, "out of memory");
        else if ((k = s3_put_state_save(p)) < 0)
                s3_put_finish(p, k, "%s: cannot save the resume state %s: %s", p->base.key, p->base.state_path, strerror(-k));
        else {
                log_debug("%s: multipart upload %s created (%u parts of %" PRIu64 " bytes).", p->base.key, p->upload_id,
                          p->n_parts, p->part_size);
                failpoint("s3-after-create");
                p->phase = S3_PARTS;
                pump(p);
        }
}

static void do_create(BackendPut *p) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        int k;

        p->phase = S3_CREATE;
        p->upload_id = mfree(p->upload_id);
        for (unsigned i = 0; i < p->n_parts; i++) {
                p->parts[i].acked = p->parts[i].listed = false;
                p->parts[i].failures = 0;
        }
        p->acked_bytes = 0;
        k = s3_put_request(p, "POST", s3_put_url(p, "?uploads="), &r);
        if (k >= 0)
                k = s3_add_object_headers(r, p->s3->remote.backend.config, p->base.content_type, p->base.sha256,
                                          p->base.retain_until, p->base.legal_hold);
        if (k >= 0)
                k = s3_add_payload_hash(r, NULL);
        if (k >= 0 && !p->s3->complete_without_checksums)
                k = http_request_add_header(r, "x-amz-checksum-algorithm: SHA256");
        if (k >= 0)
                k = http_request_start(r, on_create, p);
        if (k < 0)
                return s3_put_finish(p, k, "CreateMultipartUpload %s: cannot start the request: %s", p->base.key, strerror(-k));
        p->meta = TAKE_PTR(r);
}

/* The upload id vanished (aborted by a lifecycle rule or an operator, or the
 * store lost it): forget it and send the whole object again under a new one. */
static void restart_upload(BackendPut *p, const char *why) {
        if (++p->restarts > S3_MAX_RESTARTS)
                return s3_put_finish(p, -EREMOTEIO, "%s: the store keeps forgetting its uploads (%s)", p->base.key, why);
        log_notice("%s: central storage no longer knows upload %s (%s); starting this object over.", p->base.key,
                   strna(p->upload_id), why);
        s3_put_stop_requests(p);
        remote_put_state_remove(&p->base);
        do_create(p);
}

/* ---- ListParts: what the server holds of an upload from before a restart ---- */

static void on_listed_part(unsigned number, const char *etag, uint64_t size, void *userdata) {
        BackendPut *p = userdata;
        S3Part *part;

        if (number < 1 || number > p->n_parts)
                return;
        part = &p->parts[number - 1];
        if (part->acked)
                return;
        part->listed = true;
        snprintf(part->listed_etag, sizeof part->listed_etag, "%s", etag + (*etag == '"'));
        part->listed_etag[strcspn(part->listed_etag, "\"")] = 0;
        part->listed_size = size;
        s3_put_reconcile(p, part);
}

static void on_list(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        BackendPut *p = userdata;
        unsigned marker;
        S3Answer a;

        if (!answer_read(p, r, error, "ListParts", &a))
                return;
        if (a.status != 200) {
                if (a.status == 404 && streq(a.code, "NoSuchUpload")) {
                        /* Completed just before a crash, or gone: the object says which. */
                        log_info("%s: upload %s from before the restart is no longer known; checking the object.",
                                 p->base.key, p->upload_id);
                        p->upload_id = mfree(p->upload_id);
                        remote_put_state_remove(&p->base);
                        for (unsigned i = 0; i < p->n_parts; i++)
                                p->parts[i].listed = false;
                        return do_head_existing(p);
                }
                return s3_put_finish(p, s3_status_error(a.status, a.code), "ListParts %s: %s", p->base.key, a.why);
        }
        if (s3_list_parts_parse(a.body, a.n, on_listed_part, p, &marker) < 0)
                return s3_put_finish(p, -EPROTO, "ListParts %s: the answer is not a ListPartsResult", p->base.key);
        if (marker > p->list_marker) {
                p->list_marker = marker;
                return do_list(p);
        }
        log_debug("%s: resuming upload %s; the store holds %" PRIu64 " of %" PRIu64 " bytes so far.", p->base.key,
                  p->upload_id, p->acked_bytes, p->base.size);
        p->phase = S3_PARTS;
        pump(p);
}

static void do_list(BackendPut *p) {
        _cleanup_free_ char *id = s3_uri_escape(p->upload_id, false);

        p->phase = S3_LIST;
        /* The server's word replaces the state file's list: parts it lacks are sent. */
        if (p->list_marker == 0)
                for (unsigned i = 0; i < p->n_parts; i++)
                        if (!p->parts[i].acked)
                                p->parts[i].listed = false;
        /* Query parameters sorted, each with '=': libcurl's SigV4 signs the query as given. */
        send_empty(p, "GET",
                   id ? s3_put_url(p, "?max-parts=%u&part-number-marker=%u&uploadId=%s", S3_LIST_PAGE,
                                   p->list_marker, id)
                      : NULL,
                   S3_XML_MAX, on_list, "ListParts");
}

/* ---- UploadPart ---- */

static void on_part(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        S3Part *part = userdata;
        BackendPut *p = part->put;
        long status = http_request_status(r);
        char code[64], why[256], hex[33];

        part->req = NULL;
        part->sending = false;
        p->in_flight--;
        /* Back to the uploader after every part: it decides who sends next. */
        if (p->slots > 1) {
                p->slots--;
                if (p->release_slot)
                        p->release_slot(p, p->base.userdata);
        }
        if (error < 0)
                s3_put_fail_soon(p, error, "UploadPart %s part %u: %s", p->base.key, part->number, strna(http_request_error(r)));
        else if (status == 200) {
                const char *etag = http_request_header(r, "ETag");
                if (s3_etag_equal(etag, hexmem(part->md5, 16, hex))) {
                        int k;
                        part->acked = true;
                        p->acked_bytes += part->length;
                        k = s3_put_state_save(p);
                        if (k < 0)
                                s3_put_fail_soon(p, k, "%s: cannot save the resume state %s: %s", p->base.key, p->base.state_path,
                                          strerror(-k));
                        failpoint("s3-after-part");
                } else if (++part->failures >= S3_MAX_PART_FAILURES)
                        s3_put_fail_soon(p, -EIO, "UploadPart %s part %u: the store answered ETag %s, but the bytes sent "
                                  "have MD5 %s", p->base.key, part->number, strna(etag), hex);
        } else {
                s3_describe_error(r, code, sizeof code, why, sizeof why);
                if (status == 404 && streq(code, "NoSuchUpload")) {
                        return restart_upload(p, why);
                }
                if (streq(code, "BadDigest") || streq(code, "InvalidDigest")) {
                        /* The bytes arrived other than they left: send the part again, a few times. */
                        if (++part->failures >= S3_MAX_PART_FAILURES)
                                s3_put_fail_soon(p, -EIO, "UploadPart %s part %u: %s", p->base.key, part->number, why);
                } else
                        s3_put_fail_soon(p, s3_status_error(status, code), "UploadPart %s part %u: %s", p->base.key, part->number, why);
        }
        pump(p);
}

static int start_part(BackendPut *p, S3Part *part) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        _cleanup_free_ char *id = s3_uri_escape(p->upload_id, false);
        char b64md5[25], b64sha[45];
        int k;

        k = id ? s3_put_request(p, "PUT", s3_put_url(p, "?partNumber=%u&uploadId=%s", part->number, id), &r) : -ENOMEM;
        if (k >= 0)
                k = s3_add_payload_hash(r, part->sha256);
        if (k >= 0)
                k = http_request_add_header(r, "Content-MD5: %s", base64mem(part->md5, 16, b64md5));
        if (k >= 0)
                k = http_request_add_header(r, "x-amz-checksum-sha256: %s", base64mem(part->sha256, 32, b64sha));
        if (k < 0)
                return k;
        http_request_set_body_file(r, p->base.fd, part->offset, part->length);
        k = http_request_start(r, on_part, part);
        if (k < 0)
                return k;
        part->req = TAKE_PTR(r);
        part->sending = true;
        p->in_flight++;
        return 0;
}

/* ---- CompleteMultipartUpload ---- */

static void do_complete(BackendPut *p);

static void on_complete(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        BackendPut *p = userdata;
        _cleanup_free_ char *etag = NULL;
        S3Answer a;
        int k;

        /* (A request that failed may have completed anyway: the next attempt's ListParts or HEAD finds out.) */
        if (!answer_read(p, r, error, "CompleteMultipartUpload", &a))
                return;
        if (a.status != 200) {
                if (a.status == 400 && streq(a.code, "MalformedXML") && p->complete_had_checksums) {
                        /* Swift's s3api does not know ChecksumSHA256 in this document. (Another
                         * put's Complete may have found out first; this one still needs its retry.) */
                        if (!p->s3->complete_without_checksums)
                                log_info("%s does not take part checksums in CompleteMultipartUpload; leaving them out.",
                                         p->s3->bucket_display);
                        p->s3->complete_without_checksums = true;
                        do_complete(p);
                } else if (a.status == 404 && streq(a.code, "NoSuchUpload")) {
                        p->upload_id = mfree(p->upload_id);
                        remote_put_state_remove(&p->base);
                        do_head_existing(p);
                } else if (a.status == 412) {
                        do_look(p, S3_LOOK_AFTER_412);
                } else if (a.status == 400 && (streq(a.code, "InvalidPart") || streq(a.code, "InvalidPartOrder"))) {
                        if (++p->restarts > S3_MAX_RESTARTS)
                                s3_put_finish(p, -EIO, "CompleteMultipartUpload %s: %s", p->base.key, a.why);
                        else {
                                for (unsigned i = 0; i < p->n_parts; i++)
                                        p->parts[i].acked = false;
                                p->acked_bytes = 0;
                                p->list_marker = 0;
                                do_list(p);
                        }
                } else
                        s3_put_finish(p, s3_status_error(a.status, a.code), "CompleteMultipartUpload %s: %s", p->base.key,
                                      a.why);
        } else if ((k = s3_complete_result_parse(a.body, a.n, &etag)) == -EBADMSG)
                s3_put_finish(p, -EPROTO, "CompleteMultipartUpload %s: the answer is not XML", p->base.key);
        else if (k == -EREMOTEIO) {
                /* S3 answers 200 first and reports a failure in the body. */
                s3_describe_error(r, a.code, sizeof a.code, a.why, sizeof a.why);
                s3_put_finish(p, -EREMOTEIO, "CompleteMultipartUpload %s: an error after 200: %s", p->base.key, a.why);
        } else if (k == -ENOMEM)
                s3_put_finish(p, k, "out of memory");
        else if (k < 0)
                s3_put_finish(p, -EPROTO, "CompleteMultipartUpload %s: the answer is no CompleteMultipartUploadResult",
                              p->base.key);
        else if (!isempty(etag) && !s3_etag_equal(etag, p->etag)) {
                /* (Without an ETag, as Ceph RGW may answer, the HEAD below is the check.) */
                p->upload_id = mfree(p->upload_id);
                remote_put_state_remove(&p->base);
                s3_put_finish(p, -EIO, "CompleteMultipartUpload %s: the store assembled ETag %s, but our parts make %s",
                       p->base.key, etag, p->etag);
        } else {
                failpoint("s3-after-complete");
                do_verify(p);
        }
}

static void part_digests(size_t i, unsigned *ret_number, const uint8_t **ret_md5, const uint8_t **ret_sha256,
                         void *userdata) {
        BackendPut *p = userdata;

        *ret_number = p->parts[i].number;
        *ret_md5 = p->parts[i].md5;
        *ret_sha256 = p->parts[i].sha256;
}

/* A look at the key first: Complete must not replace what another dock wrote. */
static void do_complete(BackendPut *p) {
        do_look(p, S3_LOOK_BEFORE_COMPLETE);
}

static void send_complete(BackendPut *p) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        _cleanup_free_ char *xml = NULL, *id = s3_uri_escape(p->upload_id, false);
        uint8_t sha[32];
        size_t size = 0;
        int k;

        p->phase = S3_COMPLETE;
        failpoint("s3-before-complete");
        p->complete_had_checksums = !p->s3->complete_without_checksums;
        if (!id || s3_complete_document(p->n_parts, part_digests, p, p->complete_had_checksums, &xml, &size) < 0 ||
            !EVP_Digest(xml, size, sha, NULL, EVP_sha256(), NULL))
                return s3_put_finish(p, -ENOMEM, "out of memory");
        k = s3_put_request(p, "POST", s3_put_url(p, "?uploadId=%s", id), &r);
        if (k >= 0)
                k = http_request_add_header(r, "Content-Type: application/xml");
        if (k >= 0 && p->s3->if_none_match)
                k = http_request_add_header(r, "If-None-Match: *");
        if (k >= 0)
                k = s3_add_payload_hash(r, sha);
        if (k >= 0)
                k = http_request_set_body(r, xml, size);
        if (k >= 0) {
                http_request_keep_body(r, S3_XML_MAX);
                k = http_request_start(r, on_complete, p);
        }
        if (k < 0)
                return s3_put_finish(p, k, "CompleteMultipartUpload %s: cannot start the request: %s", p->base.key, strerror(-k));
        p->meta = TAKE_PTR(r);
}

/* ---- the driver ---- */

static void pump(BackendPut *p) {
        if (p->base.finished || p->base.cancelled || p->is_waiting)
                return;
        if (p->hash_error < 0) {
                if (p->hash_error == -EBADMSG)
                        return s3_put_finish(p, -EIO, "%s: the spool copy %s does not match its recorded SHA-256; "
                                      "it is not uploaded", p->base.key, p->base.path);
                return s3_put_finish(p, -EIO, "%s: cannot read the spool copy %s: %s", p->base.key, p->base.path,
                              strerror(-p->hash_error));
        }
        if (!p->meta && p->fail_error < 0 && p->in_flight == 0)
                return s3_put_finish(p, p->fail_error, NULL);

        switch (p->phase) {
        case S3_WAIT_SINGLE:
                if (p->hash_done)
                        do_look(p, S3_LOOK_BEFORE_PUT);
                break;
        case S3_WAIT_EXISTING:
                if (p->hash_done)
                        return settle_existing(p, judge_existing(p));
                break;
        case S3_PARTS:
                if (p->fail_error < 0)
                        break;
                for (unsigned i = 0; i < p->n_parts && p->in_flight < p->slots; i++) {
                        S3Part *part = &p->parts[i];
                        int k;

                        if (!part->hashed || part->acked || part->sending)
                                continue;
                        k = start_part(p, part);
                        if (k < 0) {
                                s3_put_fail_soon(p, k, "UploadPart %s part %u: cannot start the request: %s", p->base.key,
                                          part->number, strerror(-k));
                                break;
                        }
                }
                if (p->in_flight == 0 && p->fail_error == 0 && p->hash_done) {
                        bool all = true;
                        for (unsigned i = 0; i < p->n_parts && all; i++)
                                all = p->parts[i].acked;
                        if (all)
                                do_complete(p);
                }
                break;
        default:
                break;   /* a metadata request runs */
        }
        if (!p->meta && p->fail_error < 0 && p->in_flight == 0)
                return s3_put_finish(p, p->fail_error, NULL);
        s3_put_update_slots(p);
}

/* ---- BackendOps ---- */

static int s3_put(Backend *b, const BackendObject *o, backend_put_done_t cb, void *userdata, BackendPut **ret) {
        S3Backend *s3 = (S3Backend *) b;
        const DockdConfig *c = b->config;
        BackendPut *p;

        p = (BackendPut *) remote_put_new(&s3->remote, sizeof *p, &s3_put_ops, o, cb, userdata);
        if (!p)
                return -ENOMEM;
        p->s3 = s3;
        p->key_escaped = s3_uri_escape(o->key, true);
        p->want_slots = o->want_slots;
        p->release_slot = o->release_slot;
        p->slots = 1;
        if (!p->key_escaped) {
                remote_put_free(&p->base);
                return -ENOMEM;
        }

        /* The layout of parts: [s3] part_size, grown if the object needs more than S3's 10000. */
        p->single = p->base.size <= c->s3_single_put_threshold;
        p->part_size = c->s3_part_size;
        if (!p->single && (p->base.size + p->part_size - 1) / p->part_size > S3_MAX_PARTS)
                p->part_size = ((p->base.size + S3_MAX_PARTS - 1) / S3_MAX_PARTS + MiB - 1) / MiB * MiB;
        p->n_parts = p->single ? 1 : (unsigned) ((p->base.size + p->part_size - 1) / p->part_size);
        p->parts = calloc(p->n_parts, sizeof *p->parts);
        p->full = p->single ? NULL : EVP_MD_CTX_new();
        if (!p->parts || (!p->single && (!p->full || !EVP_DigestInit_ex(p->full, EVP_sha256(), NULL)))) {
                remote_put_free(&p->base);
                return -ENOMEM;
        }
        for (unsigned i = 0; i < p->n_parts; i++)
                p->parts[i] = (S3Part) {
                        .put = p,
                        .number = i + 1,
                        .offset = (uint64_t) i * p->part_size,
                        .length = p->single ? p->base.size
                                            : MIN(p->part_size, p->base.size - (uint64_t) i * p->part_size),
                };

        if (remote_put_open(&p->base) >= 0) {
                hash_next(p);
                s3_put_state_load(p);
                s3_probe_then_begin(p);
        }
        if (ret)
                *ret = p;
        return 0;
}

void s3_put_begin(BackendPut *p) {
        if (p->base.finished || p->base.cancelled)
                return;
        if (p->stale_upload_id)
                do_abort(p, begin_over);
        else if (p->upload_id) {
                log_debug("%s: resuming upload %s.", p->base.key, p->upload_id);
                do_list(p);
        } else if (p->single) {
                p->phase = S3_WAIT_SINGLE;
                pump(p);
        } else
                do_head_existing(p);
}

static void s3_cancel(BackendPut *p) {
        s3_put_unwait(p);
        (void) sd_event_source_set_enabled(p->base.finish_source, SD_EVENT_OFF);
        remote_put_release(&p->base);
}

static uint64_t s3_progress(BackendPut *p) {
        return p->acked_bytes;
}

static void s3_free(Backend *b) {
        S3Backend *s3 = (S3Backend *) b;

        s3_probe_done(s3);
        remote_backend_done(&s3->remote);
        free(s3->object_base);
        free(s3->bucket_display);
        free(s3);
}

static void s3_confirmation(BackendPut *p, BackendConfirmation *ret) {
        *ret = (BackendConfirmation) { .etag = p->etag };
}

static const BackendOps s3_ops = {
        .name = "s3",
        .put = s3_put,
        .cancel = s3_cancel,
        .progress = s3_progress,
        .free = s3_free,
        .grant_slot = s3_grant_slot,
        .confirmation = s3_confirmation,
        BACKEND_S3_CHECK_OPS,
        .bytes_sent = remote_bytes_sent,
};

int backend_s3_new(sd_event *event, const DockdConfig *config, Backend **ret, char **ret_error) {
        _cleanup_free_ char *sigv4 = NULL;
        S3Backend *s3;
        int k;

        s3 = calloc(1, sizeof *s3);
        if (!s3)
                return -ENOMEM;
        k = remote_backend_init(&s3->remote, &s3_ops, event, config, "s3", "S3", config->s3_credentials,
                                CREDENTIALS_S3_KEYS, ret_error);
        if (k < 0) {
                s3_free(&s3->remote.backend);
                return k;
        }
        s3->object_base = s3_bucket_url(config);
        if (asprintf(&s3->bucket_display, "s3://%s", config->s3_bucket) < 0)
                s3->bucket_display = NULL;
        if (asprintf(&sigv4, "aws:amz:%s:s3", config->s3_region) < 0)
                sigv4 = NULL;
        if (!s3->object_base || !s3->bucket_display || !sigv4) {
                s3_free(&s3->remote.backend);
                return -ENOMEM;
        }
        k = remote_backend_start(&s3->remote,
                                 &(HttpClientConfig) {
                                         .ca_file = config->s3_ca_file,
                                         .timeout = config->s3_timeout,
                                         .bandwidth_limit = config->storage_bandwidth_limit,
                                         .aws_sigv4 = sigv4,
                                 },
                                 ret_error);
        if (k < 0) {
                s3_free(&s3->remote.backend);
                return k;
        }
        log_debug("Central storage: %s (%s style, region %s).", s3->object_base,
                  config->s3_url_style == S3_URL_STYLE_VIRTUAL ? "virtual-host" : "path", config->s3_region);
        *ret = &s3->remote.backend;
        return 0;
}
