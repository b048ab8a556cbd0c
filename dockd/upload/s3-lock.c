/* SPDX-License-Identifier: Apache-2.0 */
/* s3-lock.c: see s3-lock.h. */
#include "s3-lock.h"
#include "s3-protocol.h"

static bool lock_needed(BackendPut *p) {
        const DockdConfig *c = p->s3->remote.backend.config;

        return !p->single && c->s3_object_lock && p->s3->lock_api &&
               ((p->base.retain_until > 0 && !p->lock_sent) || p->base.legal_hold);
}

static void on_lock(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        BackendPut *p = userdata;
        long status = http_request_status(r);
        const char *what = p->lock_sent || p->base.retain_until == 0 ? "PutObjectLegalHold" : "PutObjectRetention";
        char code[64], why[256];

        p->meta = NULL;
        if (error < 0)
                return s3_put_finish(p, error, "%s %s: %s", what, p->base.key, strna(http_request_error(r)));
        if (status != 200 && status != 204) {
                s3_describe_error(r, code, sizeof code, why, sizeof why);
                return s3_put_finish(p, s3_status_error(status, code), "%s %s: %s", what, p->base.key, why);
        }
        if (p->base.retain_until > 0 && !p->lock_sent) {
                p->lock_sent = true;
                if (p->base.legal_hold)
                        return s3_put_lock(p);
        }
        s3_put_finish(p, 0, NULL);
}

void s3_put_lock(BackendPut *p) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        bool hold = p->lock_sent || p->base.retain_until == 0;
        int k;

        if (!lock_needed(p))
                return s3_put_finish(p, 0, NULL);
        p->phase = S3_RETENTION;
        k = s3_put_request(p, "PUT", s3_put_url(p, hold ? "?legal-hold=" : "?retention="), &r);
        if (k >= 0)
                k = s3_lock_request_body(r, p->s3->remote.backend.config, p->base.retain_until, hold);
        if (k >= 0)
                k = http_request_start(r, on_lock, p);
        if (k < 0)
                return s3_put_finish(p, k, "%s: cannot set its retention: %s", p->base.key, strerror(-k));
        p->meta = TAKE_PTR(r);
}
