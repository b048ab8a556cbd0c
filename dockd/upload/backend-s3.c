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
 * Object Lock retention and legal hold go on CreateMultipartUpload/PutObject
 * only: PutObjectRetention/PutObjectLegalHold are never sent (Swift's s3api
 * takes them for an overwrite of the object). */
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <time.h>

#include "backend.h"
#include "credentials.h"
#include "failpoint.h"
#include "filehash.h"
#include "fileio.h"
#include "http.h"
#include "log.h"
#include "xml.h"

#define S3_MAX_PARTS 10000
#define S3_LIST_PAGE 1000
#define S3_XML_MAX (8 * MiB)
#define S3_MAX_PART_FAILURES 3     /* a part the server keeps getting wrong: the put fails */
#define S3_MAX_RESTARTS 3          /* upload ids that vanish under one put */
#define S3_STATE_MAX (1 * MiB)
#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define S3_STATE_MAGIC "dockd-s3-upload 1"

typedef struct S3Backend {
        Backend backend;
        HttpClient *http;
        Credentials *creds;
        WorkerPool *pool;
        char *object_base;          /* URL of the bucket, without a trailing '/' */
        char *bucket_display;       /* "s3://bucket" for messages */
        bool complete_without_checksums;   /* the store rejects ChecksumSHA256 in Complete (Swift) */
} S3Backend;

typedef enum S3Phase {
        S3_WAIT_SINGLE,             /* single PUT, waiting for the hash */
        S3_SINGLE_PUT,
        S3_HEAD_EXISTING,           /* is it there already (a restart after completing)? */
        S3_WAIT_EXISTING,           /* it is; its ETag is compared once hashed */
        S3_ABORT_STALE,
        S3_CREATE,
        S3_LIST,
        S3_PARTS,
        S3_COMPLETE,
        S3_VERIFY,
} S3Phase;

typedef struct S3Part {
        BackendPut *put;
        unsigned number;            /* 1-based */
        uint64_t offset;
        uint64_t length;
        uint8_t md5[16];
        uint8_t sha256[32];
        bool hashed;
        bool acked;                 /* the server holds it, with our MD5 */
        bool sending;
        bool listed;                /* ListParts or the state file named it */
        char listed_etag[33];
        uint64_t listed_size;
        unsigned failures;
        HttpRequest *req;
} S3Part;

struct BackendPut {
        S3Backend *s3;
        char *key;
        char *key_escaped;
        char *path;
        char *state_path;
        char *content_type;
        uint64_t size;
        uint8_t sha256[32];
        usec_t retain_until;
        bool legal_hold;
        backend_put_done_t cb;
        void *userdata;
        backend_want_slots_t want_slots;
        backend_release_slot_t release_slot;

        int fd;
        S3Phase phase;
        bool single;
        uint64_t part_size;
        unsigned n_parts;
        S3Part *parts;
        char etag[48];              /* what the object's ETag must be, once hashed */
        char server_etag[48];       /* what HEAD found before uploading */

        /* One pass over the file, a part at a time, in order. */
        FileHash hash;
        WorkerJob *hash_job;
        unsigned n_hashed;
        EVP_MD_CTX *full;
        bool hash_done;
        int hash_error;

        char *upload_id;
        char *stale_upload_id;      /* from a state file that no longer fits: aborted first */
        unsigned list_marker;
        HttpRequest *meta;          /* the metadata request running, if any */
        unsigned slots;             /* held: 1 + extras */
        unsigned in_flight;         /* part requests running */
        unsigned wanted;
        unsigned restarts;
        bool complete_had_checksums;   /* the Complete in flight carries ChecksumSHA256 */
        uint64_t acked_bytes;

        int fail_error;             /* set: no new parts; fail once those running end */
        bool finished;
        bool cancelled;
        int finish_error;
        sd_event_source *finish_source;
        char message[512];
};

static void pump(BackendPut *p);
static void reconcile(BackendPut *p, S3Part *part);
static void do_head_existing(BackendPut *p);
static void do_create(BackendPut *p);
static void do_list(BackendPut *p);
static void do_verify(BackendPut *p);

/* ---- helpers ---- */

static bool etag_equal(const char *header, const char *want) {
        size_t n;

        if (!header)
                return false;
        if (*header == '"')
                header++;
        n = strcspn(header, "\"");
        return strlen(want) == n && strncasecmp(header, want, n) == 0;
}

static char *uri_escape_full(const char *s, bool keep_slash);
static char *object_url(BackendPut *p, const char *query_fmt, ...) _printf_(2, 3);
static char *object_url(BackendPut *p, const char *query_fmt, ...) {
        _cleanup_free_ char *query = NULL;
        char *url;
        va_list ap;

        if (query_fmt) {
                va_start(ap, query_fmt);
                if (vasprintf(&query, query_fmt, ap) < 0)
                        query = NULL;
                va_end(ap);
                if (!query)
                        return NULL;
        }
        if (asprintf(&url, "%s/%s%s", p->s3->object_base, p->key_escaped, strempty(query)) < 0)
                return NULL;
        return url;
}

/* RFC 3986 unreserved characters stay, everything else is %XX: SigV4's rule
 * for query values, and for object keys ('/' kept). libcurl signs the URL as
 * given, so it must be in canonical form already. Our keys are made of
 * [A-Za-z0-9._-/] (conf.c, central.c) and pass unchanged. */
static char *uri_escape_full(const char *s, bool keep_slash) {
        char *out = malloc(strlen(s) * 3 + 1), *o = out;

        if (!out)
                return NULL;
        for (const unsigned char *c = (const unsigned char *) s; *c; c++)
                if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
                    (*c && strchr("-._~", *c)) || (keep_slash && *c == '/'))
                        *o++ = (char) *c;
                else
                        o += sprintf(o, "%%%02X", *c);
        *o = 0;
        return out;
}

static char *uri_escape(const char *s) {
        return uri_escape_full(s, false);
}

/* Error code and a one-line description of an S3 error answer. */
static void describe_answer(HttpRequest *r, char *code, size_t code_size, char *buf, size_t size) {
        _cleanup_(xml_freep) XmlNode *root = NULL;
        const char *body, *c = NULL, *m = NULL;
        size_t n;

        body = http_request_body(r, &n);
        if (n > 0 && xml_parse(body, n, &root) >= 0 && streq(root->name, "Error")) {
                c = xml_child_text(root, "Code");
                m = xml_child_text(root, "Message");
        }
        snprintf(code, code_size, "%s", strempty(c));
        snprintf(buf, size, "HTTP %ld%s%s%s%.160s%s", http_request_status(r), c ? " " : "", strempty(c),
                 m ? " (" : "", strempty(m), m ? ")" : "");
        for (char *s = buf; *s; s++)
                if ((unsigned char) *s < 0x20)
                        *s = ' ';
}

/* What a refusal means for the uploader. */
static int status_error(long status, const char *code) {
        if (status == 401 || status == 403)
                return -EACCES;
        if (status == 404 && streq(code, "NoSuchBucket"))
                return -ENXIO;
        if (status == 503 || status == 429)
                return -EBUSY;
        if (status >= 500)
                return -EREMOTEIO;
        return -EPROTO;
}

/* Takes url (from object_url(), NULL when it could not be made). */
static int new_request(BackendPut *p, const char *method, char *url_owned, HttpRequest **ret) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        _cleanup_free_ char *url = url_owned;
        int k;

        if (!url)
                return -ENOMEM;
        k = http_request_new(p->s3->http, method, url, &r);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

static int add_payload_hash(HttpRequest *r, const uint8_t sha256[32]) {
        char hex[65];

        return http_request_add_header(r, "x-amz-content-sha256: %s",
                                       sha256 ? hexmem(sha256, 32, hex) : S3_EMPTY_SHA256);
}

/* Headers that describe the object, on CreateMultipartUpload and PutObject only. */
static int add_object_headers(BackendPut *p, HttpRequest *r) {
        const DockdConfig *c = p->s3->backend.config;
        char hex[65];
        int k;

        k = http_request_add_header(r, "Content-Type: %s", p->content_type ?: "application/octet-stream");
        if (k >= 0)
                k = http_request_add_header(r, "x-amz-meta-sha256: %s", hexmem(p->sha256, 32, hex));
        if (k >= 0 && c->s3_object_lock && p->retain_until > 0) {
                time_t t = (time_t) (p->retain_until / USEC_PER_SEC);
                struct tm tm;
                char date[32];

                if (!gmtime_r(&t, &tm) || strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                        return -EINVAL;
                k = http_request_add_header(r, "x-amz-object-lock-mode: %s",
                                            c->s3_object_lock_mode == OBJECT_LOCK_GOVERNANCE ? "GOVERNANCE" : "COMPLIANCE");
                if (k >= 0)
                        k = http_request_add_header(r, "x-amz-object-lock-retain-until-date: %s", date);
        }
        if (k >= 0 && c->s3_object_lock && p->legal_hold)
                k = http_request_add_header(r, "x-amz-object-lock-legal-hold: ON");
        return k;
}

/* ---- resume state ---- */

static int state_save(BackendPut *p) {
        _cleanup_free_ char *data = NULL;
        size_t size = 0;
        FILE *f;
        char hex[33];
        int k;

        if (!p->state_path)
                return 0;   /* no resume for this object */
        f = open_memstream(&data, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, S3_STATE_MAGIC "\nkey=%s\nsize=%" PRIu64 "\npart_size=%" PRIu64 "\nupload_id=%s\n", p->key,
                p->size, p->part_size, p->upload_id);
        for (unsigned i = 0; i < p->n_parts; i++)
                if (p->parts[i].acked)
                        fprintf(f, "part=%u %s\n", p->parts[i].number, hexmem(p->parts[i].md5, 16, hex));
        if (fclose(f) != 0)
                return -ENOMEM;
        k = write_file_atomic(p->state_path, data, size, 0600);
        return k;
}

static void state_remove(BackendPut *p) {
        if (p->state_path)
                (void) unlink_durable(p->state_path);
}

/* Read the state a previous run left. An unreadable or foreign one is ignored;
 * one for the same key with another size or part size (a configuration change)
 * has its upload aborted. */
static void state_load(BackendPut *p) {
        _cleanup_free_ char *data = NULL, *key = NULL, *upload_id = NULL;
        uint64_t size = UINT64_MAX, part_size = 0;
        size_t n;
        char *line, *next;

        if (!p->state_path || read_full_file(p->state_path, S3_STATE_MAX, &data, &n) < 0)
                return;
        if (!startswith(data, S3_STATE_MAGIC "\n"))
                return (void) log_debug("%s: resume state %s not recognised; ignored.", p->key, p->state_path);
        for (line = data; line && *line; line = next) {
                const char *v;
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                if ((v = startswith(line, "key="))) {
                        free(key);
                        key = strdup(v);
                }
                else if ((v = startswith(line, "size=")))
                        size = strtoull(v, NULL, 10);
                else if ((v = startswith(line, "part_size=")))
                        part_size = strtoull(v, NULL, 10);
                else if ((v = startswith(line, "upload_id="))) {
                        free(upload_id);
                        upload_id = strdup(v);
                }
                else if ((v = startswith(line, "part="))) {
                        char *end;
                        unsigned long num = strtoul(v, &end, 10);
                        if (num >= 1 && num <= p->n_parts && *end == ' ' && strlen(end + 1) == 32) {
                                S3Part *part = &p->parts[num - 1];
                                part->listed = true;
                                memcpy(part->listed_etag, end + 1, 33);
                                part->listed_size = part->length;
                        }
                }
        }
        if (isempty(upload_id))
                return;
        if (!streq_ptr(key, p->key) || size != p->size || part_size != p->part_size || p->single) {
                log_info("%s: the unfinished upload of an earlier run no longer fits (size or part size "
                         "changed); aborting it and starting over.", p->key);
                p->stale_upload_id = TAKE_PTR(upload_id);
                for (unsigned i = 0; i < p->n_parts; i++)
                        p->parts[i].listed = false;
                return;
        }
        p->upload_id = TAKE_PTR(upload_id);
}

/* ---- finishing ---- */

static void put_free(BackendPut *p) {
        if (!p)
                return;
        for (unsigned i = 0; i < p->n_parts; i++)
                http_request_free(p->parts[i].req);
        http_request_free(p->meta);
        sd_event_source_disable_unref(p->finish_source);
        EVP_MD_CTX_free(p->full);
        safe_close(p->fd);
        free(p->parts);
        free(p->key);
        free(p->key_escaped);
        free(p->path);
        free(p->state_path);
        free(p->content_type);
        free(p->upload_id);
        free(p->stale_upload_id);
        free(p);
}

/* Free now, or once the hash job running on p's memory returns. */
static void put_release(BackendPut *p) {
        p->cancelled = true;
        if (p->hash_job) {
                worker_job_cancel(p->s3->pool, p->hash_job);
                return;
        }
        put_free(p);
}

static void stop_requests(BackendPut *p) {
        for (unsigned i = 0; i < p->n_parts; i++) {
                p->parts[i].req = http_request_free(p->parts[i].req);
                p->parts[i].sending = false;
        }
        p->in_flight = 0;
        p->meta = http_request_free(p->meta);
}

static int on_finish(sd_event_source *s, void *userdata) {
        BackendPut *p = userdata;

        p->cb(p, p->finish_error, p->finish_error < 0 ? p->message : NULL, p->userdata);
        put_release(p);
        return 0;
}

static void reload_credentials(S3Backend *s3) {
        _cleanup_(credentials_freep) Credentials *c = NULL;
        _cleanup_free_ char *error = NULL;

        /* The operator may have fixed the file: the next attempt uses it. */
        if (credentials_load(s3->backend.config->s3_credentials, CREDENTIALS_S3_KEYS, &c, &error) < 0) {
                log_debug("Cannot read the S3 credentials again: %s", strna(error));
                return;
        }
        http_client_set_credentials(s3->http, c->access_key_id, c->secret_access_key, NULL);
        credentials_free(s3->creds);
        s3->creds = TAKE_PTR(c);
}

_printf_(3, 4) static void finish(BackendPut *p, int error, const char *fmt, ...) {
        if (p->finished)
                return;
        p->finished = true;
        p->finish_error = error;
        if (fmt) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(p->message, sizeof p->message, fmt, ap);
                va_end(ap);
        }
        stop_requests(p);
        if (error >= 0) {
                state_remove(p);
                log_debug("%s: confirmed by %s (ETag %s, %" PRIu64 " bytes).", p->key, p->s3->bucket_display,
                          p->etag, p->size);
        } else if (error == -EACCES) {
                /* HEAD answers carry no error document: say what a refusal means. */
                size_t n = strlen(p->message);
                snprintf(p->message + n, sizeof p->message - n,
                         "; central storage refused the credentials in [%s] credentials=%s, or their permissions",
                         "s3", strna(p->s3->backend.config->s3_credentials));
                reload_credentials(p->s3);
        }
        (void) sd_event_source_set_enabled(p->finish_source, SD_EVENT_ONESHOT);
}

/* A part failed for now: start nothing new, let the parts on the wire finish
 * (their bytes count), then fail the put; the uploader retries with backoff. */
_printf_(3, 4) static void fail_soon(BackendPut *p, int error, const char *fmt, ...) {
        va_list ap;

        if (p->fail_error < 0)
                return;
        p->fail_error = error;
        va_start(ap, fmt);
        vsnprintf(p->message, sizeof p->message, fmt, ap);
        va_end(ap);
}

/* ---- slots ---- */

static void update_slots(BackendPut *p) {
        unsigned need = 0, idle, want;

        if (p->phase == S3_PARTS && p->fail_error == 0 && !p->finished)
                for (unsigned i = 0; i < p->n_parts; i++)
                        need += !p->parts[i].acked && !p->parts[i].sending;
        idle = p->slots > p->in_flight ? p->slots - p->in_flight : 0;
        /* Extras nobody here can use go back to the uploader. */
        while (p->slots > 1 && idle > need) {
                p->slots--;
                idle--;
                if (p->release_slot)
                        p->release_slot(p, p->userdata);
        }
        want = need > idle ? need - idle : 0;
        want = MIN(want, p->s3->backend.config->storage_concurrency);
        if (want != p->wanted && p->want_slots) {
                p->wanted = want;
                p->want_slots(p, want, p->userdata);
        }
}

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

        p->hash_job = NULL;
        if (p->cancelled) {
                put_free(p);
                return;
        }
        if (result < 0) {
                p->hash_error = result;
                pump(p);
                return;
        }
        part = &p->parts[p->n_hashed++];
        memcpy(part->md5, p->hash.md5_digest, 16);
        memcpy(part->sha256, p->hash.sha256, 32);
        part->hashed = true;
        reconcile(p, part);
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
                        if (memcmp(full, p->sha256, 32) != 0)
                                p->hash_error = -EBADMSG;
                }
                if (p->single && memcmp(part->sha256, p->sha256, 32) != 0)
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
                .fd = p->fd,
                .offset = part->offset,
                .length = part->length,
                .md5 = true,
                .chain = p->single ? NULL : p->full,
        };
        k = filehash_submit(p->s3->pool, &p->hash, on_hashed, p, &p->hash_job);
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
                finish(p, error, "PUT %s: %s", p->key, strna(http_request_error(r)));
        } else if (status == 200) {
                const char *etag = http_request_header(r, "ETag");
                if (!etag_equal(etag, p->etag))
                        finish(p, -EIO, "PUT %s: the store answered ETag %s, but the bytes sent have MD5 %s",
                               p->key, strna(etag), p->etag);
                else
                        do_verify(p);
        } else {
                describe_answer(r, code, sizeof code, why, sizeof why);
                finish(p, streq(code, "BadDigest") ? -EIO : status_error(status, code), "PUT %s: %s", p->key, why);
        }
}

static void do_single_put(BackendPut *p) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        char b64md5[25], b64sha[45];
        int k;

        p->phase = S3_SINGLE_PUT;
        k = new_request(p, "PUT", object_url(p, NULL), &r);
        if (k >= 0)
                k = add_object_headers(p, r);
        if (k >= 0)
                k = add_payload_hash(r, p->parts[0].sha256);
        if (k >= 0)
                k = http_request_add_header(r, "Content-MD5: %s", base64mem(p->parts[0].md5, 16, b64md5));
        if (k >= 0)
                k = http_request_add_header(r, "x-amz-checksum-sha256: %s", base64mem(p->parts[0].sha256, 32, b64sha));
        if (k >= 0) {
                http_request_set_body_file(r, p->fd, 0, p->size);
                k = http_request_start(r, on_single_put, p);
        }
        if (k < 0)
                return finish(p, k, "PUT %s: cannot start the request: %s", p->key, strerror(-k));
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
                finish(p, error, "HEAD %s after the upload: %s", p->key, strna(http_request_error(r)));
        else if (status == 403)
                finish(p, -EACCES, "HEAD %s after the upload: HTTP 403", p->key);
        else if (status != 200)
                /* The upload is consumed; the next attempt starts this object over. */
                finish(p, -EIO, "HEAD %s after the upload: HTTP %ld, the object is not there", p->key, status);
        else if (!len || strtoull(len, NULL, 10) != p->size)
                finish(p, -EIO, "HEAD %s: the store holds %s bytes, not %" PRIu64, p->key, strna(len), p->size);
        else if (!etag_equal(etag, p->etag))
                finish(p, -EIO, "HEAD %s: the store holds ETag %s, but our bytes make %s", p->key, strna(etag), p->etag);
        else if (meta && !streq(meta, hexmem(p->sha256, 32, hex)))
                finish(p, -EIO, "HEAD %s: the store records SHA-256 %s, not %s", p->key, meta, hex);
        else
                finish(p, 0, NULL);
}

static void do_verify(BackendPut *p) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        int k;

        p->phase = S3_VERIFY;
        /* From here on, the upload id is spent: never resume from it again. */
        if (!p->single) {
                p->upload_id = mfree(p->upload_id);
                state_remove(p);
        }
        k = new_request(p, "HEAD", object_url(p, NULL), &r);
        if (k >= 0)
                k = add_payload_hash(r, NULL);
        if (k >= 0)
                k = http_request_start(r, on_verify, p);
        if (k < 0)
                return finish(p, k, "HEAD %s: cannot start the request: %s", p->key, strerror(-k));
        p->meta = TAKE_PTR(r);
}

static void on_head_existing(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        BackendPut *p = userdata;
        long status = http_request_status(r);
        const char *etag = http_request_header(r, "ETag"), *len = http_request_header(r, "Content-Length");
        char suffix[16];

        p->meta = NULL;
        snprintf(suffix, sizeof suffix, "-%u\"", p->n_parts);
        if (error < 0)
                finish(p, error, "HEAD %s: %s", p->key, strna(http_request_error(r)));
        else if (status == 403)
                finish(p, -EACCES, "HEAD %s: HTTP 403: access denied", p->key);
        else if (status == 200 && len && strtoull(len, NULL, 10) == p->size && etag && endswith(etag, suffix)) {
                /* Probably ours from before a restart: confirmed once our ETag is known. */
                snprintf(p->server_etag, sizeof p->server_etag, "%.47s", etag + (*etag == '"'));
                p->server_etag[strcspn(p->server_etag, "\"")] = 0;
                p->phase = S3_WAIT_EXISTING;
                pump(p);
        } else {
                if (status == 200)
                        log_info("%s: already in %s with other content; uploading it again.", p->key,
                                 p->s3->bucket_display);
                do_create(p);
        }
}

static void do_head_existing(BackendPut *p) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        int k;

        p->phase = S3_HEAD_EXISTING;
        k = new_request(p, "HEAD", object_url(p, NULL), &r);
        if (k >= 0)
                k = add_payload_hash(r, NULL);
        if (k >= 0)
                k = http_request_start(r, on_head_existing, p);
        if (k < 0)
                return finish(p, k, "HEAD %s: cannot start the request: %s", p->key, strerror(-k));
        p->meta = TAKE_PTR(r);
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
                         "clean it up.", p->key, p->stale_upload_id,
                         error < 0 ? strna(http_request_error(r)) : "refused");
        p->stale_upload_id = mfree(p->stale_upload_id);
        state_remove(p);
        if (p->single)
                p->phase = S3_WAIT_SINGLE, pump(p);
        else
                do_head_existing(p);
}

static void do_abort_stale(BackendPut *p) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        _cleanup_free_ char *id = uri_escape(p->stale_upload_id);
        int k;

        p->phase = S3_ABORT_STALE;
        k = id ? new_request(p, "DELETE", object_url(p, "?uploadId=%s", id), &r) : -ENOMEM;
        if (k >= 0)
                k = add_payload_hash(r, NULL);
        if (k >= 0)
                k = http_request_start(r, on_abort, p);
        if (k < 0)
                return finish(p, k, "DELETE %s?uploadId: cannot start the request: %s", p->key, strerror(-k));
        p->meta = TAKE_PTR(r);
}

/* ---- CreateMultipartUpload ---- */

static void on_create(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        BackendPut *p = userdata;
        _cleanup_(xml_freep) XmlNode *root = NULL;
        long status = http_request_status(r);
        const char *body, *id = NULL;
        char code[64], why[256];
        size_t n;
        int k;

        p->meta = NULL;
        body = http_request_body(r, &n);
        if (error < 0)
                finish(p, error, "CreateMultipartUpload %s: %s", p->key, strna(http_request_error(r)));
        else if (status != 200) {
                describe_answer(r, code, sizeof code, why, sizeof why);
                finish(p, status_error(status, code), "CreateMultipartUpload %s: %s", p->key, why);
        } else if (xml_parse(body, n, &root) < 0 || !streq(root->name, "InitiateMultipartUploadResult") ||
                   isempty(id = xml_child_text(root, "UploadId")))
                finish(p, -EPROTO, "CreateMultipartUpload %s: the answer has no UploadId", p->key);
        else if (!(p->upload_id = strdup(id)))
                finish(p, -ENOMEM, "out of memory");
        else if ((k = state_save(p)) < 0)
                finish(p, k, "%s: cannot save the resume state %s: %s", p->key, p->state_path, strerror(-k));
        else {
                log_debug("%s: multipart upload %s created (%u parts of %" PRIu64 " bytes).", p->key, p->upload_id,
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
        k = new_request(p, "POST", object_url(p, "?uploads="), &r);
        if (k >= 0)
                k = add_object_headers(p, r);
        if (k >= 0)
                k = add_payload_hash(r, NULL);
        if (k >= 0 && !p->s3->complete_without_checksums)
                k = http_request_add_header(r, "x-amz-checksum-algorithm: SHA256");
        if (k >= 0)
                k = http_request_start(r, on_create, p);
        if (k < 0)
                return finish(p, k, "CreateMultipartUpload %s: cannot start the request: %s", p->key, strerror(-k));
        p->meta = TAKE_PTR(r);
}

/* The upload id vanished (aborted by a lifecycle rule or an operator, or the
 * store lost it): forget it and send the whole object again under a new one. */
static void restart_upload(BackendPut *p, const char *why) {
        if (++p->restarts > S3_MAX_RESTARTS)
                return finish(p, -EREMOTEIO, "%s: the store keeps forgetting its uploads (%s)", p->key, why);
        log_notice("%s: central storage no longer knows upload %s (%s); starting this object over.", p->key,
                   strna(p->upload_id), why);
        stop_requests(p);
        state_remove(p);
        do_create(p);
}

/* ---- ListParts: what the server holds of an upload from before a restart ---- */

static void reconcile(BackendPut *p, S3Part *part) {
        char hex[33];

        if (!part->hashed || !part->listed || part->acked)
                return;
        part->listed = false;
        if (part->listed_size == part->length && streq(part->listed_etag, hexmem(part->md5, 16, hex))) {
                part->acked = true;
                p->acked_bytes += part->length;
        } else
                log_info("%s: the store's part %u is not ours (ETag %s, %" PRIu64 " bytes); sending it again.",
                         p->key, part->number, part->listed_etag, part->listed_size);
}

static void on_list(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        BackendPut *p = userdata;
        _cleanup_(xml_freep) XmlNode *root = NULL;
        long status = http_request_status(r);
        const char *body, *truncated, *marker;
        char code[64], why[256];
        size_t n;

        p->meta = NULL;
        body = http_request_body(r, &n);
        if (error < 0) {
                return finish(p, error, "ListParts %s: %s", p->key, strna(http_request_error(r)));
        }
        if (status != 200) {
                describe_answer(r, code, sizeof code, why, sizeof why);
                if (status == 404 && streq(code, "NoSuchUpload")) {
                        /* Completed just before a crash, or gone: the object says which. */
                        log_info("%s: upload %s from before the restart is no longer known; checking the object.",
                                 p->key, p->upload_id);
                        p->upload_id = mfree(p->upload_id);
                        state_remove(p);
                        for (unsigned i = 0; i < p->n_parts; i++)
                                p->parts[i].listed = false;
                        return do_head_existing(p);
                }
                return finish(p, status_error(status, code), "ListParts %s: %s", p->key, why);
        }
        if (xml_parse(body, n, &root) < 0 || !streq(root->name, "ListPartsResult"))
                return finish(p, -EPROTO, "ListParts %s: the answer is not a ListPartsResult", p->key);
        for (XmlNode *x = xml_child(root, "Part"); x; x = xml_next(x)) {
                const char *num = xml_child_text(x, "PartNumber"), *etag = xml_child_text(x, "ETag"),
                           *size = xml_child_text(x, "Size");
                unsigned long k = num ? strtoul(num, NULL, 10) : 0;
                S3Part *part;

                if (k < 1 || k > p->n_parts || !etag)
                        continue;
                part = &p->parts[k - 1];
                if (part->acked)
                        continue;
                part->listed = true;
                snprintf(part->listed_etag, sizeof part->listed_etag, "%s", etag + (*etag == '"'));
                part->listed_etag[strcspn(part->listed_etag, "\"")] = 0;
                part->listed_size = size ? strtoull(size, NULL, 10) : 0;
                reconcile(p, part);
        }
        truncated = xml_child_text(root, "IsTruncated");
        marker = xml_child_text(root, "NextPartNumberMarker");
        if (truncated && streq(truncated, "true") && marker && strtoul(marker, NULL, 10) > p->list_marker) {
                p->list_marker = (unsigned) strtoul(marker, NULL, 10);
                return do_list(p);
        }
        log_debug("%s: resuming upload %s; the store holds %" PRIu64 " of %" PRIu64 " bytes so far.", p->key,
                  p->upload_id, p->acked_bytes, p->size);
        p->phase = S3_PARTS;
        pump(p);
}

static void do_list(BackendPut *p) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        _cleanup_free_ char *id = uri_escape(p->upload_id);
        int k;

        p->phase = S3_LIST;
        /* The server's word replaces the state file's list: parts it lacks are sent. */
        if (p->list_marker == 0)
                for (unsigned i = 0; i < p->n_parts; i++)
                        if (!p->parts[i].acked)
                                p->parts[i].listed = false;
        /* Query parameters sorted, each with '=': libcurl's SigV4 signs the query as given. */
        k = id ? new_request(p, "GET",
                             object_url(p, "?max-parts=%u&part-number-marker=%u&uploadId=%s", S3_LIST_PAGE,
                                        p->list_marker, id),
                             &r)
               : -ENOMEM;
        if (k >= 0)
                k = add_payload_hash(r, NULL);
        if (k >= 0) {
                http_request_keep_body(r, S3_XML_MAX);
                k = http_request_start(r, on_list, p);
        }
        if (k < 0)
                return finish(p, k, "ListParts %s: cannot start the request: %s", p->key, strerror(-k));
        p->meta = TAKE_PTR(r);
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
                        p->release_slot(p, p->userdata);
        }
        if (error < 0)
                fail_soon(p, error, "UploadPart %s part %u: %s", p->key, part->number, strna(http_request_error(r)));
        else if (status == 200) {
                const char *etag = http_request_header(r, "ETag");
                if (etag_equal(etag, hexmem(part->md5, 16, hex))) {
                        int k;
                        part->acked = true;
                        p->acked_bytes += part->length;
                        k = state_save(p);
                        if (k < 0)
                                fail_soon(p, k, "%s: cannot save the resume state %s: %s", p->key, p->state_path,
                                          strerror(-k));
                        failpoint("s3-after-part");
                } else if (++part->failures >= S3_MAX_PART_FAILURES)
                        fail_soon(p, -EIO, "UploadPart %s part %u: the store answered ETag %s, but the bytes sent "
                                  "have MD5 %s", p->key, part->number, strna(etag), hex);
        } else {
                describe_answer(r, code, sizeof code, why, sizeof why);
                if (status == 404 && streq(code, "NoSuchUpload")) {
                        return restart_upload(p, why);
                }
                if (streq(code, "BadDigest") || streq(code, "InvalidDigest")) {
                        /* The bytes arrived other than they left: send the part again, a few times. */
                        if (++part->failures >= S3_MAX_PART_FAILURES)
                                fail_soon(p, -EIO, "UploadPart %s part %u: %s", p->key, part->number, why);
                } else
                        fail_soon(p, status_error(status, code), "UploadPart %s part %u: %s", p->key, part->number, why);
        }
        pump(p);
}

static int start_part(BackendPut *p, S3Part *part) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        _cleanup_free_ char *id = uri_escape(p->upload_id);
        char b64md5[25], b64sha[45];
        int k;

        k = id ? new_request(p, "PUT", object_url(p, "?partNumber=%u&uploadId=%s", part->number, id), &r) : -ENOMEM;
        if (k >= 0)
                k = add_payload_hash(r, part->sha256);
        if (k >= 0)
                k = http_request_add_header(r, "Content-MD5: %s", base64mem(part->md5, 16, b64md5));
        if (k >= 0)
                k = http_request_add_header(r, "x-amz-checksum-sha256: %s", base64mem(part->sha256, 32, b64sha));
        if (k < 0)
                return k;
        http_request_set_body_file(r, p->fd, part->offset, part->length);
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
        _cleanup_(xml_freep) XmlNode *root = NULL;
        long status = http_request_status(r);
        const char *body, *etag;
        char code[64], why[256];
        size_t n;

        p->meta = NULL;
        body = http_request_body(r, &n);
        if (error < 0) {
                /* It may have completed anyway: the next attempt's ListParts or HEAD finds out. */
                finish(p, error, "CompleteMultipartUpload %s: %s", p->key, strna(http_request_error(r)));
        } else if (status != 200) {
                describe_answer(r, code, sizeof code, why, sizeof why);
                if (status == 400 && streq(code, "MalformedXML") && p->complete_had_checksums) {
                        /* Swift's s3api does not know ChecksumSHA256 in this document. (Another
                         * put's Complete may have found out first; this one still needs its retry.) */
                        if (!p->s3->complete_without_checksums)
                                log_info("%s does not take part checksums in CompleteMultipartUpload; leaving them out.",
                                         p->s3->bucket_display);
                        p->s3->complete_without_checksums = true;
                        do_complete(p);
                } else if (status == 404 && streq(code, "NoSuchUpload")) {
                        p->upload_id = mfree(p->upload_id);
                        state_remove(p);
                        do_head_existing(p);
                } else if (status == 400 && (streq(code, "InvalidPart") || streq(code, "InvalidPartOrder"))) {
                        if (++p->restarts > S3_MAX_RESTARTS)
                                finish(p, -EIO, "CompleteMultipartUpload %s: %s", p->key, why);
                        else {
                                for (unsigned i = 0; i < p->n_parts; i++)
                                        p->parts[i].acked = false;
                                p->acked_bytes = 0;
                                p->list_marker = 0;
                                do_list(p);
                        }
                } else
                        finish(p, status_error(status, code), "CompleteMultipartUpload %s: %s", p->key, why);
        } else if (xml_parse(body, n, &root) < 0)
                finish(p, -EPROTO, "CompleteMultipartUpload %s: the answer is not XML", p->key);
        else if (streq(root->name, "Error")) {
                /* S3 answers 200 first and reports a failure in the body. */
                describe_answer(r, code, sizeof code, why, sizeof why);
                finish(p, -EREMOTEIO, "CompleteMultipartUpload %s: an error after 200: %s", p->key, why);
        } else if (!streq(root->name, "CompleteMultipartUploadResult") || !(etag = xml_child_text(root, "ETag")))
                finish(p, -EPROTO, "CompleteMultipartUpload %s: the answer has no ETag", p->key);
        else if (!etag_equal(etag, p->etag)) {
                p->upload_id = mfree(p->upload_id);
                state_remove(p);
                finish(p, -EIO, "CompleteMultipartUpload %s: the store assembled ETag %s, but our parts make %s",
                       p->key, etag, p->etag);
        } else {
                failpoint("s3-after-complete");
                do_verify(p);
        }
}

static void do_complete(BackendPut *p) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        _cleanup_free_ char *xml = NULL, *id = uri_escape(p->upload_id);
        uint8_t sha[32];
        size_t size = 0;
        FILE *f;
        int k;

        p->phase = S3_COMPLETE;
        failpoint("s3-before-complete");
        f = open_memstream(&xml, &size);
        if (!f || !id)
                return finish(p, -ENOMEM, "out of memory");
        p->complete_had_checksums = !p->s3->complete_without_checksums;
        fputs("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">", f);
        for (unsigned i = 0; i < p->n_parts; i++) {
                char hex[33], b64[45];
                fprintf(f, "<Part><PartNumber>%u</PartNumber><ETag>\"%s\"</ETag>", p->parts[i].number,
                        hexmem(p->parts[i].md5, 16, hex));
                if (p->complete_had_checksums)
                        fprintf(f, "<ChecksumSHA256>%s</ChecksumSHA256>", base64mem(p->parts[i].sha256, 32, b64));
                fputs("</Part>", f);
        }
        fputs("</CompleteMultipartUpload>", f);
        if (fclose(f) != 0 || !EVP_Digest(xml, size, sha, NULL, EVP_sha256(), NULL))
                return finish(p, -ENOMEM, "out of memory");
        k = new_request(p, "POST", object_url(p, "?uploadId=%s", id), &r);
        if (k >= 0)
                k = http_request_add_header(r, "Content-Type: application/xml");
        if (k >= 0)
                k = add_payload_hash(r, sha);
        if (k >= 0)
                k = http_request_set_body(r, xml, size);
        if (k >= 0) {
                http_request_keep_body(r, S3_XML_MAX);
                k = http_request_start(r, on_complete, p);
        }
        if (k < 0)
                return finish(p, k, "CompleteMultipartUpload %s: cannot start the request: %s", p->key, strerror(-k));
        p->meta = TAKE_PTR(r);
}

/* ---- the driver ---- */

static void pump(BackendPut *p) {
        if (p->finished || p->cancelled)
                return;
        if (p->hash_error < 0) {
                if (p->hash_error == -EBADMSG)
                        return finish(p, -EIO, "%s: the spool copy %s does not match its recorded SHA-256; "
                                      "it is not uploaded", p->key, p->path);
                return finish(p, -EIO, "%s: cannot read the spool copy %s: %s", p->key, p->path,
                              strerror(-p->hash_error));
        }
        if (!p->meta && p->fail_error < 0 && p->in_flight == 0)
                return finish(p, p->fail_error, NULL);

        switch (p->phase) {
        case S3_WAIT_SINGLE:
                if (p->hash_done)
                        do_single_put(p);
                break;
        case S3_WAIT_EXISTING:
                if (!p->hash_done)
                        break;
                if (strcaseeq(p->server_etag, p->etag)) {
                        log_info("%s: already in %s with our bytes (ETag %s); confirming it as is.", p->key,
                                 p->s3->bucket_display, p->etag);
                        return finish(p, 0, NULL);
                }
                log_info("%s: already in %s with other content (ETag %s, ours %s); uploading it again.", p->key,
                         p->s3->bucket_display, p->server_etag, p->etag);
                do_create(p);
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
                                fail_soon(p, k, "UploadPart %s part %u: cannot start the request: %s", p->key,
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
                return finish(p, p->fail_error, NULL);
        update_slots(p);
}

/* ---- BackendOps ---- */

static int s3_put(Backend *b, const BackendObject *o, backend_put_done_t cb, void *userdata, BackendPut **ret) {
        S3Backend *s3 = (S3Backend *) b;
        const DockdConfig *c = b->config;
        BackendPut *p;
        int k;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->s3 = s3;
        p->fd = -EBADF;
        p->key = strdup(o->key);
        p->key_escaped = uri_escape_full(o->key, true);
        p->path = strdup(o->path);
        p->state_path = o->state_path ? strdup(o->state_path) : NULL;
        p->content_type = o->content_type ? strdup(o->content_type) : NULL;
        p->size = o->size;
        memcpy(p->sha256, o->sha256, 32);
        p->retain_until = o->retain_until;
        p->legal_hold = o->legal_hold;
        p->cb = cb;
        p->userdata = userdata;
        p->want_slots = o->want_slots;
        p->release_slot = o->release_slot;
        p->slots = 1;
        if (!p->key || !p->key_escaped || !p->path || (o->state_path && !p->state_path) ||
            (o->content_type && !p->content_type)) {
                put_free(p);
                return -ENOMEM;
        }
        k = sd_event_add_defer(b->event, &p->finish_source, on_finish, p);
        if (k < 0) {
                put_free(p);
                return k;
        }
        (void) sd_event_source_set_enabled(p->finish_source, SD_EVENT_OFF);

        /* The layout of parts: [s3] part_size, grown if the object needs more than S3's 10000. */
        p->single = p->size <= c->s3_single_put_threshold;
        p->part_size = c->s3_part_size;
        if (!p->single && (p->size + p->part_size - 1) / p->part_size > S3_MAX_PARTS)
                p->part_size = ((p->size + S3_MAX_PARTS - 1) / S3_MAX_PARTS + MiB - 1) / MiB * MiB;
        p->n_parts = p->single ? 1 : (unsigned) ((p->size + p->part_size - 1) / p->part_size);
        p->parts = calloc(p->n_parts, sizeof *p->parts);
        p->full = p->single ? NULL : EVP_MD_CTX_new();
        if (!p->parts || (!p->single && (!p->full || !EVP_DigestInit_ex(p->full, EVP_sha256(), NULL)))) {
                put_free(p);
                return -ENOMEM;
        }
        for (unsigned i = 0; i < p->n_parts; i++)
                p->parts[i] = (S3Part) {
                        .put = p,
                        .number = i + 1,
                        .offset = (uint64_t) i * p->part_size,
                        .length = p->single ? p->size : MIN(p->part_size, p->size - (uint64_t) i * p->part_size),
                };

        p->fd = open(p->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (p->fd < 0) {
                k = -errno;
                finish(p, k == -ENOENT ? -ENOENT : k, "cannot open %s: %s", p->path, strerror(-k));
        } else {
                struct stat st;
                if (fstat(p->fd, &st) < 0 || (uint64_t) st.st_size != p->size)
                        finish(p, -EIO, "%s: the spool copy %s is not %" PRIu64 " bytes long", p->key, p->path, p->size);
        }
        if (!p->finished) {
                hash_next(p);
                state_load(p);
                if (p->stale_upload_id)
                        do_abort_stale(p);
                else if (p->upload_id) {
                        log_debug("%s: resuming upload %s.", p->key, p->upload_id);
                        do_list(p);
                } else if (p->single) {
                        p->phase = S3_WAIT_SINGLE;
                        pump(p);
                } else
                        do_head_existing(p);
        }
        if (ret)
                *ret = p;
        return 0;
}

static void s3_cancel(BackendPut *p) {
        stop_requests(p);
        (void) sd_event_source_set_enabled(p->finish_source, SD_EVENT_OFF);
        put_release(p);
}

static uint64_t s3_progress(BackendPut *p) {
        return p->acked_bytes;
}

static void s3_free(Backend *b) {
        S3Backend *s3 = (S3Backend *) b;

        /* Puts were cancelled first; their hash jobs end here and free them. */
        worker_pool_free(s3->pool);
        http_client_free(s3->http);
        credentials_free(s3->creds);
        free(s3->object_base);
        free(s3->bucket_display);
        free(s3);
}

static const BackendOps s3_ops = {
        .name = "s3",
        .put = s3_put,
        .cancel = s3_cancel,
        .progress = s3_progress,
        .free = s3_free,
        .grant_slot = s3_grant_slot,
};

/* path style: https://host[:port][/path]/bucket; virtual host: https://bucket.host[:port][/path] */
static char *bucket_url(const DockdConfig *c) {
        const char *e = c->s3_endpoint, *rest = strstr(e, "://");
        size_t n = strlen(e);
        char *u;

        while (n > 0 && e[n - 1] == '/')
                n--;
        if (c->s3_url_style == S3_URL_STYLE_VIRTUAL && rest) {
                if (asprintf(&u, "%.*s%s.%.*s", (int) (rest + 3 - e), e, c->s3_bucket,
                             (int) (n - (size_t) (rest + 3 - e)), rest + 3) < 0)
                        return NULL;
        } else if (asprintf(&u, "%.*s/%s", (int) n, e, c->s3_bucket) < 0)
                return NULL;
        return u;
}

int backend_s3_new(sd_event *event, const DockdConfig *config, Backend **ret, char **ret_error) {
        S3Backend *s3;
        _cleanup_free_ char *sigv4 = NULL, *error = NULL;
        HttpClientConfig hc;
        int k;

        s3 = calloc(1, sizeof *s3);
        if (!s3)
                return -ENOMEM;
        s3->backend = (Backend) { .ops = &s3_ops, .event = event, .config = config };
        k = credentials_load(config->s3_credentials, CREDENTIALS_S3_KEYS, &s3->creds, &error);
        if (k < 0) {
                if (asprintf(ret_error, "[s3] credentials: %s", error ?: strerror(-k)) < 0)
                        *ret_error = NULL;
                s3_free(&s3->backend);
                return k;
        }
        s3->object_base = bucket_url(config);
        if (asprintf(&s3->bucket_display, "s3://%s", config->s3_bucket) < 0)
                s3->bucket_display = NULL;
        if (asprintf(&sigv4, "aws:amz:%s:s3", config->s3_region) < 0)
                sigv4 = NULL;
        if (!s3->object_base || !s3->bucket_display || !sigv4) {
                s3_free(&s3->backend);
                return -ENOMEM;
        }
        hc = (HttpClientConfig) {
                .ca_file = config->s3_ca_file,
                .timeout = config->s3_timeout,
                .bandwidth_limit = config->storage_bandwidth_limit,
                .aws_sigv4 = sigv4,
                .username = s3->creds->access_key_id,
                .password = s3->creds->secret_access_key,
        };
        k = http_client_new(event, &hc, &s3->http);
        if (k >= 0)
                k = worker_pool_new(event, 2, &s3->pool);
        if (k < 0) {
                if (asprintf(ret_error, "cannot set up the S3 client: %s", strerror(-k)) < 0)
                        *ret_error = NULL;
                s3_free(&s3->backend);
                return k;
        }
        log_debug("Central storage: %s (%s style, region %s).", s3->object_base,
                  config->s3_url_style == S3_URL_STYLE_VIRTUAL ? "virtual-host" : "path", config->s3_region);
        *ret = &s3->backend;
        return 0;
}
