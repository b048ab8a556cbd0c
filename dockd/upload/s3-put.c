/* SPDX-License-Identifier: Apache-2.0 */
/* s3-put.c: see s3-put.h. */
#include <inttypes.h>
#include <stdarg.h>

#include "log.h"
#include "s3-put.h"

char *s3_put_url(BackendPut *p, const char *query_fmt, ...) {
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

/* Takes url (from s3_put_url(), NULL when it could not be made). */
int s3_put_request(BackendPut *p, const char *method, char *url_owned, HttpRequest **ret) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        _cleanup_free_ char *url = url_owned;
        int k;

        if (!url)
                return -ENOMEM;
        k = http_request_new(p->s3->remote.http, method, url, &r);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

int s3_put_state_save(BackendPut *p) {
        _cleanup_free_ char *extra = NULL;
        size_t size = 0;
        FILE *f;
        char hex[33];

        if (!p->base.state_path)
                return 0;   /* no resume for this object */
        f = open_memstream(&extra, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "part_size=%" PRIu64 "\nupload_id=%s\n", p->part_size, p->upload_id);
        for (unsigned i = 0; i < p->n_parts; i++)
                if (p->parts[i].acked)
                        fprintf(f, "part=%u %s\n", p->parts[i].number, hexmem(p->parts[i].md5, 16, hex));
        if (fclose(f) != 0)
                return -ENOMEM;
        return remote_put_state_save(&p->base, S3_STATE_MAGIC, extra);
}

typedef struct S3State {
        char *key;
        uint64_t size, part_size;
        char *upload_id;
} S3State;

static void state_line(RemotePut *rp, const char *name, const char *value, void *userdata) {
        BackendPut *p = (BackendPut *) rp;
        S3State *st = userdata;

        if (streq(name, "key")) {
                free(st->key);
                st->key = strdup(value);
        } else if (streq(name, "size"))
                st->size = strtoull(value, NULL, 10);
        else if (streq(name, "part_size"))
                st->part_size = strtoull(value, NULL, 10);
        else if (streq(name, "upload_id")) {
                free(st->upload_id);
                st->upload_id = strdup(value);
        } else if (streq(name, "part")) {
                char *end;
                unsigned long num = strtoul(value, &end, 10);
                if (num >= 1 && num <= p->n_parts && *end == ' ' && strlen(end + 1) == 32) {
                        S3Part *part = &p->parts[num - 1];
                        part->listed = true;
                        memcpy(part->listed_etag, end + 1, 33);
                        part->listed_size = part->length;
                }
        }
}

/* Read the state a previous run left. An unreadable or foreign one is ignored;
 * one for the same key with another size or part size (a configuration change)
 * has its upload aborted. */
void s3_put_state_load(BackendPut *p) {
        _cleanup_free_ char *key = NULL, *upload_id = NULL;
        S3State st = { .size = UINT64_MAX };
        int k;

        k = remote_put_state_load(&p->base, S3_STATE_MAGIC, S3_STATE_MAX, state_line, &st);
        key = st.key;
        upload_id = st.upload_id;
        if (k < 0 || isempty(upload_id)) {
                /* Parts of no upload are nobody's. */
                for (unsigned i = 0; i < p->n_parts; i++)
                        p->parts[i].listed = false;
                return;
        }
        if (!streq_ptr(key, p->base.key) || st.size != p->base.size || st.part_size != p->part_size || p->single) {
                log_info("%s: the unfinished upload of an earlier run no longer fits (size or part size "
                         "changed); aborting it and starting over.", p->base.key);
                p->stale_upload_id = TAKE_PTR(upload_id);
                for (unsigned i = 0; i < p->n_parts; i++)
                        p->parts[i].listed = false;
                return;
        }
        p->upload_id = TAKE_PTR(upload_id);
}

void s3_put_stop_requests(BackendPut *p) {
        for (unsigned i = 0; p->parts && i < p->n_parts; i++) {
                p->parts[i].req = http_request_free(p->parts[i].req);
                p->parts[i].sending = false;
        }
        p->in_flight = 0;
        p->meta = http_request_free(p->meta);
}

void s3_put_unwait(BackendPut *p) {
        if (!p->is_waiting)
                return;
        for (BackendPut **q = &p->s3->waiting; *q; q = &(*q)->next_waiting)
                if (*q == p) {
                        *q = p->next_waiting;
                        break;
                }
        p->is_waiting = false;
}

static void put_stop(RemotePut *rp) {
        s3_put_unwait((BackendPut *) rp);
        s3_put_stop_requests((BackendPut *) rp);
}

static void put_done(RemotePut *rp) {
        BackendPut *p = (BackendPut *) rp;

        s3_put_unwait(p);
        s3_put_stop_requests(p);
        EVP_MD_CTX_free(p->full);
        free(p->parts);
        free(p->key_escaped);
        free(p->upload_id);
        free(p->stale_upload_id);
}

static void put_confirmed(RemotePut *rp) {
        BackendPut *p = (BackendPut *) rp;

        log_debug("%s: confirmed by %s (ETag %s, %" PRIu64 " bytes).", p->base.key, p->s3->bucket_display, p->etag,
                  p->base.size);
}

const RemotePutOps s3_put_ops = {
        .stop = put_stop,
        .done = put_done,
        .confirmed = put_confirmed,
};

void s3_put_finish(BackendPut *p, int error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        remote_put_finishv(&p->base, error, fmt, ap);
        va_end(ap);
}

/* A part failed for now: start nothing new, let the parts on the wire finish
 * (their bytes count), then fail the put; the uploader retries with backoff. */
void s3_put_fail_soon(BackendPut *p, int error, const char *fmt, ...) {
        va_list ap;

        if (p->fail_error < 0)
                return;
        p->fail_error = error;
        va_start(ap, fmt);
        vsnprintf(p->base.message, sizeof p->base.message, fmt, ap);
        va_end(ap);
}

void s3_put_update_slots(BackendPut *p) {
        unsigned need = 0, idle, want;

        if (p->phase == S3_PARTS && p->fail_error == 0 && !p->base.finished)
                for (unsigned i = 0; i < p->n_parts; i++)
                        need += !p->parts[i].acked && !p->parts[i].sending;
        idle = p->slots > p->in_flight ? p->slots - p->in_flight : 0;
        /* Extras nobody here can use go back to the uploader. */
        while (p->slots > 1 && idle > need) {
                p->slots--;
                idle--;
                if (p->release_slot)
                        p->release_slot(p, p->base.userdata);
        }
        want = need > idle ? need - idle : 0;
        want = MIN(want, p->s3->remote.backend.config->storage_concurrency);
        if (want != p->wanted && p->want_slots) {
                p->wanted = want;
                p->want_slots(p, want, p->base.userdata);
        }
}

void s3_put_reconcile(BackendPut *p, S3Part *part) {
        char hex[33];

        if (!part->hashed || !part->listed || part->acked)
                return;
        part->listed = false;
        if (part->listed_size == part->length && streq(part->listed_etag, hexmem(part->md5, 16, hex))) {
                part->acked = true;
                p->acked_bytes += part->length;
        } else
                log_info("%s: the store's part %u is not ours (ETag %s, %" PRIu64 " bytes); sending it again.",
                         p->base.key, part->number, part->listed_etag, part->listed_size);
}
