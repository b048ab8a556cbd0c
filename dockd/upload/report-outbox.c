/* SPDX-License-Identifier: Apache-2.0 */
/* outbox.c: see outbox.h.
 *
 * Each report is three files in <state_dir>/reports/: NAME.json and NAME.txt
 * (what was filed, never changed) and NAME.status (what was delivered, replaced
 * atomically). A report is written durably before it is logged or sent, so a
 * crash loses nothing; at start every report not yet uploaded or delivered is
 * sent again. The webhook gets the JSON with an Idempotency-Key header (the
 * report id): a crash between the receiver's 2xx and our status write sends it
 * once more, and the receiver can tell. Delivery retries with exponential backoff
 * and jitter, up to [report] retry_max between attempts, for ever. */
#include <curl/curl.h>
#include <dirent.h>
#include <openssl/sha.h>
#include <sys/random.h>

#include "credentials.h"
#include "curl-glue.h"
#include "fileio.h"
#include "log.h"
#include "manager.h"
#include "message-ids.h"
#include "report-outbox.h"
#include "parse-util.h"

#define OUTBOX_KEEP 200   /* delivered reports kept locally for dockctl reports */

typedef struct Entry {
        Outbox *outbox;
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
        CURL *curl;
        struct curl_slist *headers;
        char *body;
        unsigned attempts;
        sd_event_source *retry;
        struct Entry *next;
} Entry;

struct Outbox {
        Manager *manager;
        char *dir;
        CurlGlue *curl;
        Credentials *credentials;
        Entry *entries;          /* newest first */
        bool webhook_failing;
};

static char *entry_path(Outbox *o, const Entry *e, const char *ext) {
        char *p;
        return asprintf(&p, "%s/%s.%s", o->dir, e->name, ext) < 0 ? NULL : p;
}

static int entry_save_status(Outbox *o, const Entry *e) {
        _cleanup_free_ char *p = entry_path(o, e, "status"), *text = NULL;
        int n;

        if (!p)
                return -ENOMEM;
        n = asprintf(&text, "id=%s\nserial=%s\nbay=%u\nseverity=%s\ntime=%s\nuploaded=%d\ndelivered=%d\nsummary=%s\n",
                     e->id, e->serial, e->bay, e->severity, e->time, e->uploaded, e->delivered, strempty(e->summary));
        if (n < 0)
                return -ENOMEM;
        return write_file_atomic(p, text, (size_t) n, 0640);
}

static void entry_free(Entry *e) {
        if (e->curl) {
                if (e->outbox->curl)
                        curl_glue_remove(e->outbox->curl, e->curl);
                curl_easy_cleanup(e->curl);
        }
        curl_slist_free_all(e->headers);
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

static int entry_upload(Outbox *o, Entry *e) {
        _cleanup_free_ char *json = entry_path(o, e, "json"), *txt = entry_path(o, e, "txt");
        _cleanup_free_ char *kj = NULL, *kt = NULL, *name = NULL, *dj = NULL, *dt = NULL;
        const char *prefix = o->manager->config->storage_prefix;
        UploadJobSpec spec = { .group = "reports", .priority = UPLOAD_PRIORITY_INTEGRITY, .done = on_uploaded, .userdata = e };
        size_t nj, nt;
        int r;

        if (e->uploaded || e->uploading)
                return 0;
        if (!json || !txt ||
            asprintf(&kj, "%s%sreports/%s/%s.json", prefix, *prefix ? "/" : "", o->manager->config->dock_name, e->name) < 0 ||
            asprintf(&kt, "%s%sreports/%s/%s.txt", prefix, *prefix ? "/" : "", o->manager->config->dock_name, e->name) < 0 ||
            asprintf(&name, "report/%s", e->name) < 0)
                return -ENOMEM;
        r = read_full_file(json, 1 * MiB, &dj, &nj);
        if (r >= 0)
                r = read_full_file(txt, 1 * MiB, &dt, &nt);
        if (r < 0)
                return r;
        spec.name = name;
        spec.objects[0] = (UploadObjectSpec) { .key = kj, .path = json, .content_type = "application/json", .size = nj };
        spec.objects[1] = (UploadObjectSpec) { .key = kt, .path = txt, .content_type = "text/plain; charset=utf-8", .size = nt };
        SHA256((const uint8_t *) dj, nj, spec.objects[0].sha256);
        SHA256((const uint8_t *) dt, nt, spec.objects[1].sha256);
        spec.n_objects = 2;
        r = uploader_add(o->manager->uploader, &spec, NULL);
        if (r >= 0)
                e->uploading = true;
        return r;
}

/* ---- webhook ---- */

static void webhook_schedule(Outbox *o, Entry *e);

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Entry *e = userdata;

        webhook_schedule(e->outbox, e);
        return 0;
}

static usec_t webhook_backoff(Outbox *o, unsigned attempts) {
        const DockdConfig *c = o->manager->config;
        usec_t d = c->storage_retry_initial;
        uint32_t rnd = 0;

        for (unsigned i = 1; i < attempts && d < c->report_retry_max; i++)
                d *= 2;
        d = MIN(d, c->report_retry_max);
        (void) getrandom(&rnd, sizeof rnd, GRND_NONBLOCK);
        return d / 2 + (d / 2) * rnd / UINT32_MAX;
}

static void on_webhook_done(CurlGlue *g, CURL *c, CURLcode result, void *userdata) {
        Entry *e = userdata;
        Outbox *o = e->outbox;
        long status = 0;
        usec_t delay;
        char reason[128];

        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (result == CURLE_OK && status >= 200 && status < 300) {
                e->delivered = true;
                (void) entry_save_status(o, e);
                if (o->webhook_failing)
                        log_notice("The report webhook accepts reports again.");
                o->webhook_failing = false;
                log_info("Report %s delivered to the webhook.", e->name);
                return;
        }
        if (result != CURLE_OK)
                snprintf(reason, sizeof reason, "%s", curl_easy_strerror(result));
        else
                snprintf(reason, sizeof reason, "HTTP %ld", status);
        e->attempts++;
        delay = webhook_backoff(o, e->attempts);
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

static void webhook_schedule(Outbox *o, Entry *e) {
        const DockdConfig *c = o->manager->config;
        _cleanup_free_ char *json = entry_path(o, e, "json"), *idem = NULL;
        size_t n;
        int r;

        if (!c->report_webhook || e->delivered || !o->curl)
                return;
        if (!e->body) {
                r = json ? read_full_file(json, 1 * MiB, &e->body, &n) : -ENOMEM;
                if (r < 0) {
                        log_error_errno(r, "Report %s: cannot read it back: %m", e->name);
                        return;
                }
        }
        if (!e->curl) {
                e->curl = curl_easy_init();
                if (!e->curl)
                        return (void) log_oom();
                e->headers = curl_slist_append(e->headers, "Content-Type: application/json");
                if (asprintf(&idem, "Idempotency-Key: %s", e->id) >= 0)
                        e->headers = curl_slist_append(e->headers, idem);
                for (size_t i = 0; o->credentials && i < o->credentials->n_headers; i++)
                        e->headers = curl_slist_append(e->headers, o->credentials->headers[i]);
                curl_easy_setopt(e->curl, CURLOPT_URL, c->report_webhook);
                curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->headers);
                curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, e->body);
                curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) strlen(e->body));
                curl_easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L);
                curl_easy_setopt(e->curl, CURLOPT_PROTOCOLS_STR, "http,https");
                curl_easy_setopt(e->curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
                curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, 30000L);
                curl_easy_setopt(e->curl, CURLOPT_SSL_VERIFYPEER, 1L);
                curl_easy_setopt(e->curl, CURLOPT_SSL_VERIFYHOST, 2L);
                if (c->report_webhook_ca_file)
                        curl_easy_setopt(e->curl, CURLOPT_CAINFO, c->report_webhook_ca_file);
        }
        r = curl_glue_add(o->curl, e->curl, on_webhook_done, e);
        if (r < 0)
                log_warning_errno(r, "Report %s: cannot start the webhook request: %m", e->name);
}

/* ---- filing ---- */

static Entry *entry_new(Outbox *o) {
        Entry *e = calloc(1, sizeof *e);

        if (!e)
                return NULL;
        e->outbox = o;
        if (sd_event_add_time(o->manager->event, &e->retry, CLOCK_MONOTONIC, 0, 0, on_retry, e) < 0) {
                free(e);
                return NULL;
        }
        (void) sd_event_source_set_enabled(e->retry, SD_EVENT_OFF);
        return e;
}

static void entry_start(Outbox *o, Entry *e) {
        int r = entry_upload(o, e);

        if (r < 0)
                log_warning_errno(r, "Report %s: cannot queue it for central storage: %m", e->name);
        webhook_schedule(o, e);
}

int outbox_file(Outbox *o, const ReportContext *ctx, char ret_id[37]) {
        Report rep;
        Entry *e;
        _cleanup_free_ char *pj = NULL, *pt = NULL;
        int level, r;

        r = report_render(ctx, time(NULL), &rep);
        if (r < 0)
                return r;
        e = entry_new(o);
        if (!e) {
                report_done(&rep);
                return -ENOMEM;
        }
        snprintf(e->name, sizeof e->name, "%s", rep.name);
        snprintf(e->id, sizeof e->id, "%s", rep.id);
        snprintf(e->serial, sizeof e->serial, "%s", ctx->serial);
        snprintf(e->severity, sizeof e->severity, "%s", severity_to_string(rep.severity));
        e->bay = ctx->bay;
        e->summary = strdup(rep.summary);
        snprintf(e->time, sizeof e->time, "%s", rep.time);
        pj = entry_path(o, e, "json");
        pt = entry_path(o, e, "txt");
        r = pj && pt ? write_file_atomic(pj, rep.json, strlen(rep.json), 0640) : -ENOMEM;
        if (r >= 0)
                r = write_file_atomic(pt, rep.text, strlen(rep.text), 0640);
        if (r >= 0)
                r = entry_save_status(o, e);
        if (r < 0) {
                log_error_errno(r, "Cannot store report %s: %m", e->name);
                report_done(&rep);
                entry_free(e);
                return r;
        }
        e->next = o->entries;
        o->entries = e;

        level = rep.severity >= SEVERITY_CRITICAL ? LOG_CRIT
                : rep.severity >= SEVERITY_ERROR ? LOG_ERR : LOG_WARNING;
        {
                char bay[8];
                snprintf(bay, sizeof bay, "%u", ctx->bay);
                log_full_errno_ctx(level, 0,
                                   (&(LogContext) {
                                           .bay = bay, .serial = ctx->serial,
                                           .message_id = DOCKD_MESSAGE_MALFUNCTION_REPORT,
                                           .fields = (const LogField[]) {
                                                   { "DOCKD_REPORT_ID", rep.id },
                                                   { "DOCKD_SEVERITY", severity_to_string(rep.severity) },
                                                   { "DOCKD_SUMMARY", rep.summary },
                                                   {},
                                           },
                                   }),
                                   "Malfunction report %s filed (%s): %s", rep.name, severity_to_string(rep.severity),
                                   rep.summary);
        }
        if (ret_id)
                memcpy(ret_id, rep.id, 37);
        report_done(&rep);
        entry_start(o, e);
        return 0;
}

/* ---- restart ---- */

static int entry_load(Outbox *o, const char *name, Entry **ret) {
        _cleanup_free_ char *p = NULL, *text = NULL;
        Entry *e;
        char *line, *save = NULL;
        int r;

        if (asprintf(&p, "%s/%s.status", o->dir, name) < 0)
                return -ENOMEM;
        r = read_full_file(p, 16 * 1024, &text, NULL);
        if (r < 0)
                return r;
        e = entry_new(o);
        if (!e)
                return -ENOMEM;
        snprintf(e->name, sizeof e->name, "%s", name);
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');
                if (!eq)
                        continue;
                *eq++ = 0;
                if (streq(line, "id"))
                        snprintf(e->id, sizeof e->id, "%s", eq);
                else if (streq(line, "serial"))
                        snprintf(e->serial, sizeof e->serial, "%s", eq);
                else if (streq(line, "severity"))
                        snprintf(e->severity, sizeof e->severity, "%s", eq);
                else if (streq(line, "time"))
                        snprintf(e->time, sizeof e->time, "%s", eq);
                else if (streq(line, "bay"))
                        e->bay = (unsigned) strtoul(eq, NULL, 10);
                else if (streq(line, "uploaded"))
                        e->uploaded = streq(eq, "1");
                else if (streq(line, "delivered"))
                        e->delivered = streq(eq, "1");
                else if (streq(line, "summary"))
                        e->summary = strdup(eq);
        }
        *ret = e;
        return 0;
}

static int name_cmp(const struct dirent **a, const struct dirent **b) {
        return -strcmp((*a)->d_name, (*b)->d_name);   /* newest first: names start with the UTC time */
}

static int status_filter(const struct dirent *d) {
        return d->d_name[0] != '.' && endswith(d->d_name, ".status") != NULL;
}

static int outbox_scan(Outbox *o) {
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
                if (e->uploaded && (e->delivered || !o->manager->config->report_webhook) && kept >= OUTBOX_KEEP) {
                        entry_free(e);
                        continue;
                }
                kept++;
                *tail = e;
                tail = &e->next;
        }
        free(names);
        for (Entry *e = o->entries; e; e = e->next)
                if (!e->uploaded || (!e->delivered && o->manager->config->report_webhook))
                        entry_start(o, e);
        return 0;
}

/* ---- object ---- */

int outbox_new(Manager *m, Outbox **ret) {
        _cleanup_(outbox_freep) Outbox *o = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        o->manager = m;
        o->dir = path_join(m->config->state_dir, "reports");
        if (!o->dir)
                return -ENOMEM;
        r = mkdir_p_durable(o->dir, 0750);
        if (r < 0)
                return r;
        if (m->config->report_webhook) {
                r = curl_glue_new(m->event, &o->curl);
                if (r < 0)
                        return r;
                if (m->config->report_webhook_credentials) {
                        r = credentials_load(m->config->report_webhook_credentials, CREDENTIALS_HTTP_HEADERS,
                                             &o->credentials, &error);
                        if (r < 0)
                                return log_error_errno(r, "[report] webhook_credentials: %s", strna(error));
                }
        }
        r = outbox_scan(o);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

Outbox *outbox_free(Outbox *o) {
        if (!o)
                return NULL;
        while (o->entries) {
                Entry *e = o->entries;
                o->entries = e->next;
                entry_free(e);
        }
        o->curl = curl_glue_free(o->curl);
        credentials_free(o->credentials);
        free(o->dir);
        free(o);
        return NULL;
}

struct json_object *outbox_list_json(Outbox *o, size_t max) {
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
                if (o->manager->config->report_webhook)
                        json_object_object_add(r, "delivered", json_object_new_boolean(e->delivered));
                json_object_array_add(arr, r);
        }
        return arr;
}
