/* SPDX-License-Identifier: Apache-2.0 */
/* s3-probe.c: see s3-probe.h. */
#include <openssl/evp.h>

#include "log.h"
#include "object-key.h"
#include "s3-probe.h"
#include "s3-protocol.h"
#include "xml.h"

#define PROBE_BODY "dockd: does this store honour If-None-Match?\n"

enum {
        STEP_PUT_FIRST = 1,         /* creates the key, or finds it (412) */
        STEP_PUT_AGAIN,             /* the key exists now: 412, or overwritten */
        STEP_DELETE,                /* DeleteObject of what the PUTs wrote, a version at a time */
        STEP_LOCK_CONFIG,           /* GET ?object-lock */
};

static void probe_step(S3Backend *s3, unsigned step);

/* The waiting puts go on, or fail with the probe's error. */
static void probe_end(S3Backend *s3, int error, const char *why) {
        BackendPut *list = s3->waiting;

        s3->waiting = NULL;
        s3->probe = error < 0 ? S3_PROBE_NONE : S3_PROBE_DONE;
        if (error >= 0) {
                if (s3->if_none_match)
                        log_info("%s honours If-None-Match: every write of evidence is conditional.",
                                 s3->bucket_display);
                else
                        log_warning("%s does not honour If-None-Match on PutObject: a HEAD of each key precedes "
                                    "every write instead, and only versioning or Object Lock on the bucket keeps "
                                    "an object another dock writes between the two (README, \"Central storage\").",
                                    s3->bucket_display);
                if (s3->remote.backend.config->s3_object_lock)
                        log_info("%s %s PutObjectRetention: multipart uploads get their retention %s.",
                                 s3->bucket_display, s3->lock_api ? "supports" : "does not support",
                                 s3->lock_api ? "set again once completed" : "from CreateMultipartUpload only");
        }
        while (list) {
                BackendPut *p = list;
                list = p->next_waiting;
                p->next_waiting = NULL;
                p->is_waiting = false;
                if (error < 0)
                        s3_put_finish(p, error, "%s: cannot find out what the store supports: %s", p->base.key,
                                      strna(why));
                else
                        s3_put_begin(p);
        }
}

/* What a PUT of the probe object wrote: its version, where the bucket keeps
 * versions (each must be deleted by its id, or it stays behind a delete
 * marker). */
static void probe_written(S3Backend *s3, HttpRequest *r) {
        const char *v = http_request_header(r, "x-amz-version-id");

        s3->probe_written = true;
        if (!isempty(v) && s3->n_probe_versions < ELEMENTSOF(s3->probe_versions))
                s3->probe_versions[s3->n_probe_versions++] = strdup(v);   /* NULL: a plain DELETE instead */
}

static void probe_forget_versions(S3Backend *s3) {
        for (unsigned i = 0; i < s3->n_probe_versions; i++)
                s3->probe_versions[i] = mfree(s3->probe_versions[i]);
        s3->n_probe_versions = 0;
        s3->probe_written = false;
}

/* After the PUTs: delete what they wrote, if anything, else go on. */
static void probe_after_puts(S3Backend *s3) {
        probe_step(s3, s3->probe_written ? STEP_DELETE : STEP_LOCK_CONFIG);
}

static void on_probe_deleted(S3Backend *s3, long status, const char *why) {
        /* 204 deleted; 404 gone already. */
        if (status == 204 || status == 200 || status == 404) {
                if (s3->n_probe_versions > 0) {
                        s3->n_probe_versions--;
                        s3->probe_versions[s3->n_probe_versions] = mfree(s3->probe_versions[s3->n_probe_versions]);
                }
                if (s3->n_probe_versions > 0)
                        return probe_step(s3, STEP_DELETE);
        } else if (status == 403)
                log_notice("%s refuses to delete the probe object %s (%s): Object Lock on the bucket keeps it "
                           "(or the access key lacks s3:DeleteObject). It stays, the one probe object of this "
                           "dock under that fixed key (README, \"Central storage\").", s3->bucket_display,
                           s3->probe_key, why);
        else
                log_notice("%s: cannot delete the probe object %s (%s); it stays until the next start-up.",
                           s3->bucket_display, s3->probe_key, why);
        probe_forget_versions(s3);
        probe_step(s3, STEP_LOCK_CONFIG);
}

static void on_probe(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        _cleanup_(xml_freep) XmlNode *root = NULL;
        S3Backend *s3 = userdata;
        long status = http_request_status(r);
        char code[64], why[256];
        const char *body;
        size_t n;

        s3->probe_req = NULL;
        if (error < 0 && s3->probe_step == STEP_DELETE)
                return on_probe_deleted(s3, 0, strna(http_request_error(r)));
        if (error < 0)
                return probe_end(s3, error, http_request_error(r));
        s3_describe_error(r, code, sizeof code, why, sizeof why);
        switch (s3->probe_step) {
        case STEP_PUT_FIRST:
        case STEP_PUT_AGAIN:
                if (status == 200)
                        probe_written(s3, r);
                if (status == 412) {
                        s3->if_none_match = true;
                        return probe_after_puts(s3);
                }
                if (status == 200 && s3->probe_step == STEP_PUT_FIRST)
                        return probe_step(s3, STEP_PUT_AGAIN);
                if (status == 200 || status == 501 || (status == 400 && streq(code, "NotImplemented"))) {
                        s3->if_none_match = false;
                        return probe_after_puts(s3);
                }
                return probe_end(s3, s3_status_error(status, code), why);
        case STEP_DELETE:
                return on_probe_deleted(s3, status, why);
        case STEP_LOCK_CONFIG:
                body = http_request_body(r, &n);
                s3->lock_api = status == 200 && xml_parse(body, n, &root) >= 0 &&
                               streq(root->name, "ObjectLockConfiguration");
                return probe_end(s3, 0, NULL);
        }
}

/* What a step asks for: the bucket's Object Lock configuration, or the probe
 * key (to DELETE: the last version written, where the store names versions).
 * NULL when out of memory. */
static char *probe_url(S3Backend *s3, unsigned step) {
        const DockdConfig *c = s3->remote.backend.config;
        _cleanup_free_ char *escaped = NULL, *version = NULL;
        const char *v = step == STEP_DELETE && s3->n_probe_versions > 0
                                ? s3->probe_versions[s3->n_probe_versions - 1] : NULL;
        char *url;

        if (step == STEP_LOCK_CONFIG)
                return asprintf(&url, "%s?object-lock=", s3->object_base) < 0 ? NULL : url;
        if (!s3->probe_key)
                s3->probe_key = object_key_dock_file(c->storage_prefix, "probe", c->dock_name, "if-none-match");
        escaped = s3->probe_key ? s3_uri_escape(s3->probe_key, true) : NULL;
        version = v ? s3_uri_escape(v, false) : NULL;
        if (!escaped || (v && !version) ||
            asprintf(&url, "%s/%s%s%s", s3->object_base, escaped, version ? "?versionId=" : "", strempty(version)) < 0)
                return NULL;
        return url;
}

static void probe_step(S3Backend *s3, unsigned step) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        _cleanup_free_ char *url = NULL;
        bool put = step == STEP_PUT_FIRST || step == STEP_PUT_AGAIN;
        uint8_t sha[32];
        int k;

        s3->probe_step = step;
        if (step == STEP_LOCK_CONFIG && !s3->remote.backend.config->s3_object_lock)
                return probe_end(s3, 0, NULL);
        url = probe_url(s3, step);
        if (!url)
                return probe_end(s3, -ENOMEM, "out of memory");
        k = http_request_new(s3->remote.http, put ? "PUT" : step == STEP_DELETE ? "DELETE" : "GET", url, &r);
        if (k >= 0 && put)
                k = EVP_Digest(PROBE_BODY, strlen(PROBE_BODY), sha, NULL, EVP_sha256(), NULL) ? 0 : -EIO;
        if (k >= 0)
                k = s3_add_payload_hash(r, put ? sha : NULL);
        if (k >= 0 && put)
                k = http_request_add_header(r, "If-None-Match: *");
        if (k >= 0 && put)
                k = http_request_set_body(r, PROBE_BODY, strlen(PROBE_BODY));
        if (k >= 0) {
                http_request_keep_body(r, 64 * 1024);
                k = http_request_start(r, on_probe, s3);
        }
        if (k < 0)
                return probe_end(s3, k, strerror(-k));
        s3->probe_req = TAKE_PTR(r);
}

void s3_probe_then_begin(BackendPut *p) {
        S3Backend *s3 = p->s3;

        if (s3->probe == S3_PROBE_DONE)
                return s3_put_begin(p);
        p->next_waiting = s3->waiting;
        s3->waiting = p;
        p->is_waiting = true;
        if (s3->probe == S3_PROBE_NONE) {
                s3->probe = S3_PROBE_RUNNING;
                probe_step(s3, STEP_PUT_FIRST);
        }
}

void s3_probe_done(S3Backend *s3) {
        s3->probe_req = http_request_free(s3->probe_req);
        probe_forget_versions(s3);
        s3->probe_key = mfree(s3->probe_key);
}
