/* SPDX-License-Identifier: Apache-2.0 */
/* report-outbox.c: see report-outbox.h.
 *
 * Each report is three files in <state_dir>/reports/: NAME.json and NAME.txt
 * (what was filed, never changed) and NAME.status (what was delivered, replaced
 * atomically). A report is written durably before it is logged or sent, so a
 * crash loses nothing; at start every report not yet uploaded or delivered is
 * sent again. The webhook gets the JSON with an Idempotency-Key header (the
 * report id): a crash between the receiver's 2xx and our status write sends it
 * once more, and the receiver can tell. Delivery retries with exponential backoff
 * and jitter, up to [report] retry_max between attempts, for ever. */
#include <dirent.h>

#include "backoff.h"
#include "credentials.h"
#include "filehash.h"
#include "fileio.h"
#include "http.h"
#include "log.h"
#include "message-ids.h"
#include "manifest.h"
#include "object-key.h"
#include "parse-util.h"
#include "report-outbox.h"

#define OUTBOX_KEEP 200   /* delivered reports kept locally for dockctl reports */

/* The webhook's answer must come within this, and the connection sooner. */
#define WEBHOOK_TIMEOUT (30 * USEC_PER_SEC)
#define WEBHOOK_CONNECT_TIMEOUT (10 * USEC_PER_SEC)
/* A report is kilobytes; one with a long history may pass a megabyte. Beyond
 * this something is wrong, and it is said (it still goes to central storage). */
#define WEBHOOK_BODY_MAX (64 * MiB)

#define OUTBOX_CODES_MAX 64   /* distinct finding codes counted: dockd's own list is shorter */

typedef struct Entry {
        ReportOutbox *outbox;
        char name[96];
        char id[37];
        char serial[40];
        char severity[16];
        char time[32];
        unsigned bay;
        char *summary;
        bool uploaded, delivered;
        bool uploading;
        /* webhook */
        HttpRequest *req;
        char *body;
        unsigned attempts;
        sd_event_source *retry;
        struct Entry *next;
} Entry;

struct ReportOutbox {
        sd_event *event;
        const DockdConfig *config;
        Uploader *uploader;
        char *dir;
        HttpClient *webhook;
        Credentials *credentials;
        Entry *entries;          /* newest first */
        bool webhook_failing;
        uint64_t filed[_SEVERITY_MAX];   /* since start, for the metrics */
        char *codes[OUTBOX_CODES_MAX];
        uint64_t code_counts[OUTBOX_CODES_MAX];
        size_t n_codes;
};

static char *entry_path(ReportOutbox *o, const Entry *e, const char *ext) {
        char *p;
        return asprintf(&p, "%s/%s.%s", o->dir, e->name, ext) < 0 ? NULL : p;
}

static int entry_save_status(ReportOutbox *o, const Entry *e) {
        _cleanup_free_ char *p = entry_path(o, e, "status"), *text = NULL, *summary = strdup(strempty(e->summary));
        int n;

        if (!p || !summary)
                return -ENOMEM;
        /* One line, as report_status_parse() wants it back. */
        for (char *c = summary; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        *c = ' ';
        n = asprintf(&text, "id=%s\nserial=%s\nbay=%u\nseverity=%s\ntime=%s\nuploaded=%d\ndelivered=%d\nsummary=%s\n",
                     e->id, e->serial, e->bay, e->severity, e->time, e->uploaded, e->delivered, summary);
        if (n < 0)
                return -ENOMEM;
        return write_file_atomic(p, text, (size_t) n, 0640);
}

static void entry_free(Entry *e) {
        http_request_free(e->req);
        sd_event_source_disable_unref(e->retry);
        free(e->body);
        free(e->summary);
        free(e);
}

/* ---- central storage ---- */

static void on_uploaded(UploadJob *j, int error, const char *message, void *userdata) {
        Entry *e = userdata;

        e->uploading = false;
        if (error < 0) {
                log_warning("Report %s cannot be uploaded: %s.", e->name, strna(message));
                return;
        }
        e->uploaded = true;
        (void) entry_save_status(e->outbox, e);
        log_debug("Report %s is in central storage.", e->name);
}

static int entry_upload(ReportOutbox *o, Entry *e) {
        static const char *const exts[] = { "json", "txt" };
        static const char *const types[] = { "application/json", "text/plain; charset=utf-8" };
        _cleanup_free_ char *name = NULL, *paths[2] = {}, *keys[2] = {};
        UploadJobSpec spec = { .group = "reports", .priority = UPLOAD_PRIORITY_INTEGRITY, .done = on_uploaded, .userdata = e };
        int r;

        if (e->uploaded || e->uploading)
                return 0;
        if (asprintf(&name, "report/%s", e->name) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(exts); i++) {
                _cleanup_free_ char *file = NULL;
                UploadObjectSpec *obj = &spec.objects[spec.n_objects++];

                paths[i] = entry_path(o, e, exts[i]);
                if (!paths[i] || asprintf(&file, "%s.%s", e->name, exts[i]) < 0)
                        return -ENOMEM;
                keys[i] = object_key_dock_file(o->config->storage_prefix, "reports", o->config->dock_name, file);
                if (!keys[i])
                        return -ENOMEM;
                *obj = (UploadObjectSpec) { .key = keys[i], .path = paths[i], .content_type = types[i] };
                r = sha256_file(paths[i], &obj->size, obj->sha256);
                if (r < 0)
                        return r;
        }
        spec.name = name;
        r = uploader_add(o->uploader, &spec, NULL);
        if (r >= 0)
                e->uploading = true;
        return r;
}

/* ---- webhook ---- */

static void webhook_schedule(ReportOutbox *o, Entry *e);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Entry *e = userdata;

        webhook_schedule(e->outbox, e);
        return 0;
}

static void on_webhook_done(HttpRequest *r, int error, void *userdata) {
        _cleanup_(http_request_freep) _unused_ HttpRequest *req = r;   /* ours now */
        Entry *e = userdata;
        ReportOutbox *o = e->outbox;
        long status = http_request_status(r);
        usec_t delay;
        char reason[128];

        e->req = NULL;
        if (error >= 0 && status >= 200 && status < 300) {
                e->delivered = true;
                (void) entry_save_status(o, e);
                if (o->webhook_failing)
                        log_notice("The report webhook accepts reports again.");
                o->webhook_failing = false;
                log_info("Report %s delivered to the webhook.", e->name);
                return;
        }
        if (error < 0)
                snprintf(reason, sizeof reason, "%s", strna(http_request_error(r)));
        else
                snprintf(reason, sizeof reason, "HTTP %ld", status);
        e->attempts++;
        delay = backoff_delay(o->config->storage_retry_initial, o->config->report_retry_max, e->attempts);
        log_full_errno_ctx(o->webhook_failing ? LOG_DEBUG : LOG_WARNING, 0,
                           (&(LogContext) {
                                   .serial = e->serial, .message_id = DOCKD_MESSAGE_REPORT_UNDELIVERED,
                                   .fields = (const LogField[]) { { "DOCKD_REASON", reason }, { "DOCKD_REPORT_ID", e->id }, {} },
                           }),
                           "Report %s not delivered to the webhook: %s; retrying in %.0f s.", e->name, reason,
                           (double) delay / USEC_PER_SEC);
        o->webhook_failing = true;
        (void) sd_event_source_set_time_relative(e->retry, delay);
        (void) sd_event_source_set_enabled(e->retry, SD_EVENT_ONESHOT);
}

/* POST the report's JSON, with the report id as Idempotency-Key. */
static void webhook_schedule(ReportOutbox *o, Entry *e) {
        _cleanup_(http_request_freep) HttpRequest *r = NULL;
        _cleanup_free_ char *json = entry_path(o, e, "json");
        size_t n;
        int k;

        if (!o->config->report_webhook || e->delivered || !o->webhook || e->req)
                return;
        if (!e->body) {
                k = json ? read_full_file(json, WEBHOOK_BODY_MAX, &e->body, &n) : -ENOMEM;
                if (k < 0) {
                        log_error_errno(k, "Report %s: cannot read it back: %m", e->name);
                        return;
                }
        }
        k = http_request_new(o->webhook, "POST", o->config->report_webhook, &r);
        if (k >= 0)
                k = http_request_add_header(r, "Content-Type: application/json");
        if (k >= 0)
                k = http_request_add_header(r, "Idempotency-Key: %s", e->id);
        if (k >= 0)
                k = http_request_add_header(r, "Expect:");   /* a short body goes at once */
        if (k >= 0)
                k = http_request_set_body(r, e->body, strlen(e->body));
        if (k >= 0)
                k = http_request_start(r, on_webhook_done, e);
        if (k < 0) {
                log_warning_errno(k, "Report %s: cannot start the webhook request: %m", e->name);
                return;
        }
        e->req = TAKE_PTR(r);
}

/* ---- filing ---- */

static Entry *entry_new(ReportOutbox *o) {
        Entry *e = calloc(1, sizeof *e);

        if (!e)
                return NULL;
        e->outbox = o;
        if (sd_event_add_time(o->event, &e->retry, CLOCK_MONOTONIC, 0, 0, on_retry, e) < 0) {
                free(e);
                return NULL;
        }
        (void) sd_event_source_set_enabled(e->retry, SD_EVENT_OFF);
        return e;
}

static void entry_start(ReportOutbox *o, Entry *e) {
        int r = entry_upload(o, e);

        if (r < 0)
                log_warning_errno(r, "Report %s: cannot queue it for central storage: %m", e->name);
        webhook_schedule(o, e);
}

static void count_filed(ReportOutbox *o, Severity severity, const char *const *codes) {
        if (severity >= 0 && severity < _SEVERITY_MAX)
                o->filed[severity]++;
        for (; codes && *codes; codes++) {
                size_t i;
                for (i = 0; i < o->n_codes && !streq(o->codes[i], *codes); i++)
                        ;
                if (i == o->n_codes) {
                        char *c;
                        if (o->n_codes >= OUTBOX_CODES_MAX || !(c = strdup(*codes)))
                                continue;
                        o->codes[o->n_codes] = c;
                        o->code_counts[o->n_codes++] = 0;
                }
                o->code_counts[i]++;
        }
}

int report_outbox_file_rendered(ReportOutbox *o, const Report *rep, const char *serial, unsigned bay,
                                const char *const *codes) {
        _cleanup_free_ char *pj = NULL, *pt = NULL;
        char bay_text[8];
        Entry *e;
        int level, r;

        e = entry_new(o);
        if (!e)
                return -ENOMEM;
        snprintf(e->name, sizeof e->name, "%s", rep->name);
        snprintf(e->id, sizeof e->id, "%s", rep->id);
        snprintf(e->serial, sizeof e->serial, "%s", serial);
        snprintf(e->severity, sizeof e->severity, "%s", severity_to_string(rep->severity));
        e->bay = bay;
        e->summary = strdup(rep->summary);
        snprintf(e->time, sizeof e->time, "%s", rep->time);
        pj = entry_path(o, e, "json");
        pt = entry_path(o, e, "txt");
        r = pj && pt ? write_file_atomic(pj, rep->json, strlen(rep->json), 0640) : -ENOMEM;
        if (r >= 0)
                r = write_file_atomic(pt, rep->text, strlen(rep->text), 0640);
        if (r >= 0)
                r = entry_save_status(o, e);
        if (r < 0) {
                log_error_errno(r, "Cannot store report %s: %m", e->name);
                entry_free(e);
                return r;
        }
        e->next = o->entries;
        o->entries = e;
        count_filed(o, rep->severity, codes);

        level = rep->severity >= SEVERITY_CRITICAL ? LOG_CRIT
                : rep->severity >= SEVERITY_ERROR ? LOG_ERR : LOG_WARNING;
        snprintf(bay_text, sizeof bay_text, "%u", bay);
        log_full_errno_ctx(level, 0,
                           (&(LogContext) {
                                   .bay = bay ? bay_text : NULL, .serial = serial,
                                   .message_id = DOCKD_MESSAGE_MALFUNCTION_REPORT,
                                   .fields = (const LogField[]) {
                                           { "DOCKD_REPORT_ID", rep->id },
                                           { "DOCKD_SEVERITY", severity_to_string(rep->severity) },
                                           { "DOCKD_SUMMARY", rep->summary },
                                           {},
                                   },
                           }),
                           "%s report %s filed (%s): %s", bay ? "Malfunction" : "Integrity", rep->name,
                           severity_to_string(rep->severity), rep->summary);
        entry_start(o, e);
        return 0;
}

int report_outbox_file(ReportOutbox *o, const ReportContext *ctx, char ret_id[37]) {
        const char *codes[ctx->findings ? ctx->findings->n + 1 : 1];
        Report rep;
        int r;

        r = report_render(ctx, time(NULL), &rep);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ctx->findings->n; i++)
                codes[i] = ctx->findings->items[i].code;
        codes[ctx->findings->n] = NULL;
        r = report_outbox_file_rendered(o, &rep, ctx->serial, ctx->bay, codes);
        if (r >= 0 && ret_id)
                memcpy(ret_id, rep.id, 37);
        report_done(&rep);
        return r;
}

void report_outbox_get_stats(ReportOutbox *o, ReportOutboxStats *ret) {
        ReportOutboxStats s = { .finding_codes = (const char *const *) o->codes, .finding_counts = o->code_counts,
                                .n_findings = o->n_codes };

        memcpy(s.filed, o->filed, sizeof s.filed);
        for (Entry *e = o->entries; e; e = e->next) {
                struct tm tm = {};
                time_t t;
                if (e->uploaded && (e->delivered || !o->config->report_webhook))
                        continue;
                s.undelivered++;
                if (strptime(e->time, "%Y-%m-%dT%H:%M:%SZ", &tm) && (t = timegm(&tm)) > 0 &&
                    (s.oldest_undelivered == 0 || t < s.oldest_undelivered))
                        s.oldest_undelivered = t;
        }
        *ret = s;
}

/* ---- restart ---- */

void report_status_done(ReportStatus *s) {
        s->summary = mfree(s->summary);
}

static bool report_id_is_valid(const char *s) {
        if (strlen(s) != 36)
                return false;
        for (size_t i = 0; i < 36; i++)
                if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
                        return false;
        return true;
}

/* Printable UTF-8, no control characters, shorter than size. */
static bool status_text_is_valid(const char *s, size_t size) {
        size_t n = strlen(s);

        if (n >= size || !utf8_is_valid(s, n))
                return false;
        for (const unsigned char *c = (const unsigned char *) s; *c; c++)
                if (*c < 0x20 || *c == 0x7f)
                        return false;
        return true;
}

static int status_assign(ReportStatus *st, const char *key, const char *value) {
        unsigned v;

        if (streq(key, "id")) {
                if (!report_id_is_valid(value))
                        return -EBADMSG;
                memcpy(st->id, value, sizeof st->id);
        } else if (streq(key, "serial")) {
                if (!serial_is_valid(value) || strlen(value) >= sizeof st->serial)
                        return -EBADMSG;
                strcpy(st->serial, value);
        } else if (streq(key, "severity")) {
                bool known = false;
                for (Severity x = 0; x < _SEVERITY_MAX; x++)
                        known = known || streq(value, severity_to_string(x));
                if (!known)
                        return -EBADMSG;
                strcpy(st->severity, value);
        } else if (streq(key, "time")) {
                if (isempty(value) || !status_text_is_valid(value, sizeof st->time))
                        return -EBADMSG;
                strcpy(st->time, value);
        } else if (streq(key, "bay")) {
                if (parse_unsigned_range(value, 0, UINT_MAX, &st->bay) < 0)
                        return -EBADMSG;
        } else if (streq(key, "uploaded") || streq(key, "delivered")) {
                if (parse_unsigned_range(value, 0, 1, &v) < 0)
                        return -EBADMSG;
                *(streq(key, "uploaded") ? &st->uploaded : &st->delivered) = v;
        } else if (streq(key, "summary")) {
                if (!status_text_is_valid(value, SIZE_MAX))
                        return -EBADMSG;
                st->summary = strdup(value);
                if (!st->summary)
                        return -ENOMEM;
        } else
                return -EBADMSG;
        return 0;
}

int report_status_parse(const char *text, size_t size, ReportStatus *ret, unsigned *ret_line) {
        static const char *const keys[] = { "id", "serial", "bay", "severity", "time", "uploaded", "delivered",
                                            "summary" };
        _cleanup_free_ char *copy = NULL;
        ReportStatus st = {};
        unsigned seen = 0, line = 0;
        char *next;
        int r = 0;

        *ret_line = 0;
        if (memchr(text, 0, size) || size == 0 || text[size - 1] != '\n')
                return -EBADMSG;
        copy = strndup(text, size);
        if (!copy)
                return -ENOMEM;
        for (char *l = copy; *l; l = next) {
                char *eq;
                size_t k;

                next = strchr(l, '\n');
                *next++ = 0;
                line++;
                eq = strchr(l, '=');
                if (!eq) {
                        r = -EBADMSG;
                        break;
                }
                *eq = 0;
                for (k = 0; k < ELEMENTSOF(keys) && !streq(l, keys[k]); k++)
                        ;
                if (k == ELEMENTSOF(keys) || (seen & (1u << k))) {
                        r = -EBADMSG;
                        break;
                }
                seen |= 1u << k;
                r = status_assign(&st, l, eq + 1);
                if (r < 0)
                        break;
        }
        if (r >= 0 && seen != (1u << ELEMENTSOF(keys)) - 1) {
                line = 0;
                r = -EBADMSG;
        }
        if (r < 0) {
                report_status_done(&st);
                *ret_line = line;
                return r;
        }
        *ret = st;
        return 0;
}

/* A status that is not ours is left alone and said so: its report stays on disk,
 * undelivered, until someone looks. */
static int entry_load(ReportOutbox *o, const char *name, Entry **ret) {
        _cleanup_free_ char *p = NULL, *text = NULL;
        ReportStatus st;
        unsigned line;
        size_t size;
        Entry *e;
        int r;

        if (asprintf(&p, "%s/%s.status", o->dir, name) < 0)
                return -ENOMEM;
        r = read_full_file(p, 16 * 1024, &text, &size);
        if (r < 0)
                return log_warning_errno(r, "Report status %s unreadable, report not delivered: %m", p);
        r = report_status_parse(text, size, &st, &line);
        if (r == -EBADMSG && line > 0)
                return log_warning_errno(r, "%s:%u: not a report status dockd wrote; the report is not delivered.",
                                         p, line);
        if (r == -EBADMSG)
                return log_warning_errno(r, "%s: not a report status dockd wrote (a key is missing); the report "
                                         "is not delivered.", p);
        if (r < 0)
                return r;
        e = entry_new(o);
        if (!e) {
                report_status_done(&st);
                return -ENOMEM;
        }
        snprintf(e->name, sizeof e->name, "%s", name);
        memcpy(e->id, st.id, sizeof e->id);
        memcpy(e->serial, st.serial, sizeof e->serial);
        memcpy(e->severity, st.severity, sizeof e->severity);
        memcpy(e->time, st.time, sizeof e->time);
        e->bay = st.bay;
        e->uploaded = st.uploaded;
        e->delivered = st.delivered;
        e->summary = TAKE_PTR(st.summary);
        *ret = e;
        return 0;
}

static int name_cmp(const struct dirent **a, const struct dirent **b) {
        return -strcmp((*a)->d_name, (*b)->d_name);   /* newest first: names start with the UTC time */
}

static int status_filter(const struct dirent *d) {
        return d->d_name[0] != '.' && endswith(d->d_name, ".status") != NULL;
}

static int report_outbox_scan(ReportOutbox *o) {
        struct dirent **names = NULL;
        Entry **tail = &o->entries;
        int n = scandir(o->dir, &names, status_filter, name_cmp);
        size_t kept = 0;

        if (n < 0)
                return -errno;
        for (int i = 0; i < n; i++) {
                char name[96];
                Entry *e = NULL;

                snprintf(name, sizeof name, "%.*s", (int) (strlen(names[i]->d_name) - 7), names[i]->d_name);
                free(names[i]);
                if (entry_load(o, name, &e) < 0)
                        continue;
                /* Old reports delivered everywhere are not kept in memory. */
                if (e->uploaded && (e->delivered || !o->config->report_webhook) && kept >= OUTBOX_KEEP) {
                        entry_free(e);
                        continue;
                }
                kept++;
                *tail = e;
                tail = &e->next;
        }
        free(names);
        for (Entry *e = o->entries; e; e = e->next)
                if (!e->uploaded || (!e->delivered && o->config->report_webhook))
                        entry_start(o, e);
        return 0;
}

/* ---- object ---- */

int report_outbox_new(sd_event *event, const DockdConfig *config, Uploader *uploader, ReportOutbox **ret) {
        _cleanup_(report_outbox_freep) ReportOutbox *o = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        o->event = event;
        o->config = config;
        o->uploader = uploader;
        o->dir = path_join(config->state_dir, "reports");
        if (!o->dir)
                return -ENOMEM;
        r = mkdir_p_durable(o->dir, 0750);
        if (r < 0)
                return r;
        if (config->report_webhook) {
                if (config->report_webhook_credentials) {
                        r = credentials_load(config->report_webhook_credentials, CREDENTIALS_HTTP_HEADERS,
                                             &o->credentials, &error);
                        if (r < 0)
                                return log_error_errno(r, "[report] webhook_credentials: %s", strna(error));
                }
                r = http_client_new(event,
                                    &(HttpClientConfig) {
                                            .ca_file = config->report_webhook_ca_file,
                                            .timeout = WEBHOOK_TIMEOUT,
                                            .connect_timeout = WEBHOOK_CONNECT_TIMEOUT,
                                            .total_timeout = WEBHOOK_TIMEOUT,
                                            .extra_headers = o->credentials ? o->credentials->headers : NULL,
                                    },
                                    &o->webhook);
                if (r < 0)
                        return r;
        }
        r = report_outbox_scan(o);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

ReportOutbox *report_outbox_free(ReportOutbox *o) {
        if (!o)
                return NULL;
        while (o->entries) {
                Entry *e = o->entries;
                o->entries = e->next;
                entry_free(e);
        }
        o->webhook = http_client_free(o->webhook);
        credentials_free(o->credentials);
        for (size_t i = 0; i < o->n_codes; i++)
                free(o->codes[i]);
        free(o->dir);
        free(o);
        return NULL;
}

struct json_object *report_outbox_list_json(ReportOutbox *o, size_t max) {
        struct json_object *arr = json_object_new_array();
        size_t n = 0;

        for (Entry *e = o->entries; e && n < max; e = e->next, n++) {
                struct json_object *r = json_object_new_object();
                json_object_object_add(r, "id", json_object_new_string(e->id));
                json_object_object_add(r, "name", json_object_new_string(e->name));
                json_object_object_add(r, "time", json_object_new_string(e->time));
                json_object_object_add(r, "camera", json_object_new_string(e->serial));
                json_object_object_add(r, "bay", json_object_new_int((int) e->bay));
                json_object_object_add(r, "severity", json_object_new_string(e->severity));
                json_object_object_add(r, "summary", json_object_new_string(strempty(e->summary)));
                json_object_object_add(r, "uploaded", json_object_new_boolean(e->uploaded));
                if (o->config->report_webhook)
                        json_object_object_add(r, "delivered", json_object_new_boolean(e->delivered));
                json_object_array_add(arr, r);
        }
        return arr;
}
