/* SPDX-License-Identifier: Apache-2.0 */
/* backend-remote.c: see backend-remote.h. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "backend-remote.h"
#include "event-priority.h"
#include "fileio.h"
#include "log.h"

/* ---- the backend ---- */

static int credentials_read(RemoteBackend *rb, Credentials **ret, char **ret_error) {
        return credentials_load(rb->credentials_name, rb->credentials_kind, ret, ret_error);
}

int remote_backend_init(RemoteBackend *rb, const BackendOps *ops, sd_event *event, const DockdConfig *config,
                        const char *section, const char *display, const char *credentials_name,
                        CredentialsKind kind, char **ret_error) {
        _cleanup_free_ char *error = NULL;
        int k;

        rb->backend = (Backend) { .ops = ops, .event = event, .config = config };
        rb->section = section;
        rb->display = display;
        rb->credentials_name = credentials_name;
        rb->credentials_kind = kind;
        if (!credentials_name)
                return 0;
        k = credentials_read(rb, &rb->creds, &error);
        if (k < 0 && asprintf(ret_error, "[%s] credentials: %s", section, error ?: strerror(-k)) < 0)
                *ret_error = NULL;
        return k;
}

int remote_backend_start(RemoteBackend *rb, HttpClientConfig *hc, char **ret_error) {
        int k;

        if (rb->creds) {
                hc->username = rb->creds->access_key_id;
                hc->password = rb->creds->secret_access_key;
                hc->extra_headers = rb->creds->headers;
        }
        k = http_client_new(rb->backend.event, hc, &rb->http);
        if (k >= 0)
                k = worker_pool_new(rb->backend.event, 2, &rb->pool);
        if (k >= 0)
                k = worker_pool_set_priority(rb->pool, EVENT_PRIORITY_UPLINK);
        if (k < 0 && asprintf(ret_error, "cannot set up the %s client: %s", rb->display, strerror(-k)) < 0)
                *ret_error = NULL;
        return k;
}

void remote_backend_done(RemoteBackend *rb) {
        /* Puts were cancelled first; their hash jobs end here and free them. */
        rb->pool = worker_pool_free(rb->pool);
        rb->http = http_client_free(rb->http);
        rb->creds = credentials_free(rb->creds);
}

/* The operator may have fixed the file: the next attempt uses it. */
static void remote_backend_reload_credentials(RemoteBackend *rb) {
        _cleanup_(credentials_freep) Credentials *c = NULL;
        _cleanup_free_ char *error = NULL;

        if (!rb->credentials_name)
                return;
        if (credentials_read(rb, &c, &error) < 0) {
                log_debug("Cannot read the %s credentials again: %s", rb->display, strna(error));
                return;
        }
        http_client_set_credentials(rb->http, c->access_key_id, c->secret_access_key, c->headers);
        credentials_free(rb->creds);
        rb->creds = TAKE_PTR(c);
}

/* ---- a put ---- */

static int on_finish(sd_event_source *s, void *userdata) {
        RemotePut *p = userdata;

        p->cb((BackendPut *) p, p->finish_error, p->finish_error < 0 ? p->message : NULL, p->userdata);
        remote_put_release(p);
        return 0;
}

RemotePut *remote_put_new(RemoteBackend *rb, size_t size, const RemotePutOps *ops, const BackendObject *o,
                          backend_put_done_t cb, void *userdata) {
        RemotePut *p = calloc(1, size);

        if (!p)
                return NULL;
        p->remote = rb;
        p->ops = ops;
        p->fd = -EBADF;
        p->key = strdup(o->key);
        p->path = strdup(o->path);
        p->state_path = o->state_path ? strdup(o->state_path) : NULL;
        p->content_type = o->content_type ? strdup(o->content_type) : NULL;
        p->size = o->size;
        memcpy(p->sha256, o->sha256, 32);
        p->retain_until = o->retain_until;
        p->legal_hold = o->legal_hold;
        p->cb = cb;
        p->userdata = userdata;
        if (!p->key || !p->path || (o->state_path && !p->state_path) || (o->content_type && !p->content_type) ||
            sd_event_add_defer(rb->backend.event, &p->finish_source, on_finish, p) < 0 ||
            sd_event_source_set_priority(p->finish_source, EVENT_PRIORITY_UPLINK) < 0) {
                remote_put_free(p);
                return NULL;
        }
        (void) sd_event_source_set_enabled(p->finish_source, SD_EVENT_OFF);
        return p;
}

_printf_(3, 4) static void remote_put_finish(RemotePut *p, int error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        remote_put_finishv(p, error, fmt, ap);
        va_end(ap);
}

int remote_put_open(RemotePut *p) {
        struct stat st;
        int k;

        p->fd = open(p->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (p->fd < 0) {
                k = -errno;
                remote_put_finish(p, k, "cannot open %s: %s", p->path, strerror(-k));
                return k;
        }
        if (fstat(p->fd, &st) < 0 || (uint64_t) st.st_size != p->size) {
                remote_put_finish(p, -EIO, "%s: the spool copy %s is not %" PRIu64 " bytes long", p->key, p->path,
                                  p->size);
                return -EIO;
        }
        return 0;
}

void remote_put_finishv(RemotePut *p, int error, const char *fmt, va_list ap) {
        if (p->finished)
                return;
        p->finished = true;
        p->finish_error = error;
        if (fmt)
                vsnprintf(p->message, sizeof p->message, fmt, ap);
        p->ops->stop(p);
        if (error >= 0) {
                remote_put_state_remove(p);
                p->ops->confirmed(p);
        } else if (error == -EACCES) {
                /* HEAD answers carry no error document: say what a refusal means. */
                size_t n = strlen(p->message);
                snprintf(p->message + n, sizeof p->message - n,
                         "; central storage refused the credentials in [%s] credentials=%s, or their permissions",
                         p->remote->section, strna(p->remote->credentials_name));
                remote_backend_reload_credentials(p->remote);
        }
        (void) sd_event_source_set_enabled(p->finish_source, SD_EVENT_ONESHOT);
}

void remote_put_release(RemotePut *p) {
        p->cancelled = true;
        p->ops->stop(p);
        if (p->hash_job) {
                worker_job_cancel(p->remote->pool, p->hash_job);
                return;   /* remote_put_hash_returned() frees it */
        }
        remote_put_free(p);
}

bool remote_put_hash_returned(RemotePut *p) {
        p->hash_job = NULL;
        if (!p->cancelled)
                return false;
        remote_put_free(p);
        return true;
}

void remote_put_free(RemotePut *p) {
        if (!p)
                return;
        p->ops->done(p);
        sd_event_source_disable_unref(p->finish_source);
        safe_close(p->fd);
        free(p->key);
        free(p->path);
        free(p->state_path);
        free(p->content_type);
        free(p);
}

/* ---- resume state ---- */

int remote_put_state_save(RemotePut *p, const char *magic, const char *extra) {
        _cleanup_free_ char *data = NULL;
        int n;

        if (!p->state_path)
                return 0;   /* no resume for this object */
        n = asprintf(&data, "%s\nkey=%s\nsize=%" PRIu64 "\n%s", magic, p->key, p->size, strempty(extra));
        if (n < 0)
                return -ENOMEM;
        return write_file_atomic(p->state_path, data, (size_t) n, 0600);
}

/* Every line after the magic one is "name=value"; nothing else is ours. */
static bool state_lines_are_valid(const char *lines) {
        for (const char *l = lines; *l; ) {
                const char *end = strchrnul(l, '\n');

                if (!memchr(l, '=', (size_t) (end - l)))
                        return false;
                l = *end ? end + 1 : end;
        }
        return true;
}

int remote_put_state_load(RemotePut *p, const char *magic, size_t max, remote_state_line_t line, void *userdata) {
        _cleanup_free_ char *data = NULL;
        char *next;
        size_t n;
        int k;

        if (!p->state_path)
                return -ENOENT;
        k = read_full_file(p->state_path, max, &data, &n);
        if (k == -EFBIG)
                k = -EBADMSG;
        if (k >= 0) {
                next = (char *) startswith(data, magic);
                if (memchr(data, 0, n) || !next || *next != '\n' || !state_lines_are_valid(next + 1))
                        k = -EBADMSG;
        }
        if (k == -EBADMSG)
                log_warning("%s: not a resume state of the %s backend; ignored, %s is sent from the start.",
                            p->state_path, p->remote->section, p->key);
        if (k < 0)
                return k;
        for (char *l = next + 1; l && *l; l = next) {
                char *eq;

                next = strchr(l, '\n');
                if (next)
                        *next++ = 0;
                eq = strchr(l, '=');
                *eq = 0;
                line(p, l, eq + 1, userdata);
        }
        return 0;
}

void remote_put_state_remove(RemotePut *p) {
        if (p->state_path)
                (void) unlink_durable(p->state_path);
}

uint64_t remote_bytes_sent(Backend *b) {
        return http_client_bytes_sent(((RemoteBackend *) b)->http);
}
