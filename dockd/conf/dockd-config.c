/* SPDX-License-Identifier: Apache-2.0 */
/* dockd-config.c: the configuration schema (one table: section, key, type, range),
 * the inih glue that feeds it with FILE:LINE on every error, cross-key
 * validation, and the effective-configuration dump behind --check-config. Each
 * value's type is parsed and printed by config-value.c. */
#include <ctype.h>
#include <dirent.h>
#include <ini.h>
#include <inttypes.h>

#include "config-value.h"
#include "config.h"
#include "dockd-config.h"
#include "fileio.h"
#include "glob-match.h"
#include "parse-util.h"

#define CONFIG_FILE_MAX (64 * KiB)
/* inih's compiled-in line buffer is 200 bytes including the NUL. */
#define CONFIG_LINE_MAX 199

typedef struct ConfigLocation {
        char *section;
        char *key;
        char *file;
        unsigned line;
} ConfigLocation;

typedef enum ConfigScope {
        SCOPE_GLOBAL,     /* offset into DockdConfig */
        SCOPE_BAY,        /* [bay.N]: offset into BayConfig */
        SCOPE_CATEGORY,   /* [category.NAME]: offset into CategoryConfig */
        SCOPE_GENERIC,    /* [generic.NAME]: offset into GenericCameraConfig */
} ConfigScope;

typedef struct ConfigItem {
        const char *section;
        const char *key;
        ConfigScope scope;
        size_t offset;
        ConfigValueType value;
} ConfigItem;

static const char *const backend_values[] = { "file", "s3", "tus", NULL };
static const char *const url_style_values[] = { "path", "virtual", NULL };
static const char *const lock_mode_values[] = { "governance", "compliance", NULL };

#define G(sec, k, t, field, lo, hi) \
        { sec, k, SCOPE_GLOBAL, offsetof(DockdConfig, field), { t, lo, hi, NULL } }
#define GE(sec, k, field, values) \
        { sec, k, SCOPE_GLOBAL, offsetof(DockdConfig, field), { CT_ENUM, 0, 0, values } }
#define B(k, t, field) { "bay", k, SCOPE_BAY, offsetof(BayConfig, field), { t, 0, 0, NULL } }
#define C(k, t, field, lo, hi) { "category", k, SCOPE_CATEGORY, offsetof(CategoryConfig, field), { t, lo, hi, NULL } }
#define GC(k, t, field, lo, hi) { "generic", k, SCOPE_GENERIC, offsetof(GenericCameraConfig, field), { t, lo, hi, NULL } }
#define SEC USEC_PER_SEC
#define DAY (86400 * USEC_PER_SEC)
#define YEAR (365 * DAY)

static const ConfigItem items[] = {
        G("dock", "name", CT_NAME, dock_name, 0, 0),
        G("dock", "state_dir", CT_PATH, state_dir, 0, 0),
        G("dock", "trust_anchors", CT_PATH, trust_anchors, 0, 0),
        G("dock", "crl", CT_PATH, crl, 0, 0),
        G("dock", "dock_key", CT_PATH, dock_key, 0, 0),
        G("dock", "hub", CT_PORT, hub, 0, 0),
        G("dock", "bays", CT_UINT, n_bays, 1, DOCKD_MAX_BAYS),
        G("dock", "clock_drift_threshold", CT_DURATION, clock_drift_threshold, 0, DAY),
        G("dock", "clock_set", CT_BOOL, clock_set, 0, 0),
        G("dock", "removal_debounce", CT_DURATION, removal_debounce, 0, 60 * SEC),
        G("dock", "chain_gap_after", CT_DURATION, chain_gap_after, 0, 30 * DAY),
        G("dock", "status_led_green", CT_STRING, status_led_green, 0, 0),
        G("dock", "status_led_red", CT_STRING, status_led_red, 0, 0),

        G("usb", "transfer_size", CT_SIZE, usb_transfer_size, 16 * KiB, 16 * MiB),
        G("usb", "transfers_in_flight", CT_UINT, usb_transfers_in_flight, 1, 16),
        G("usb", "chunk_size", CT_SIZE, usb_chunk_size, 1 * MiB, 1 * GiB),
        G("usb", "command_timeout", CT_DURATION, usb_command_timeout, 100 * USEC_PER_MSEC, 600 * SEC),
        G("usb", "stall_timeout", CT_DURATION, usb_stall_timeout, 100 * USEC_PER_MSEC, 600 * SEC),

        G("spool", "dir", CT_PATH, spool_dir, 0, 0),
        G("spool", "quota", CT_SIZE, spool_quota, 16 * MiB, UINT64_MAX),
        G("spool", "min_free", CT_SIZE, spool_min_free, 0, UINT64_MAX),
        G("spool", "sync_interval", CT_SIZE, spool_sync_interval, 1 * MiB, 16 * GiB),
        G("spool", "keep_confirmed", CT_DURATION, spool_keep_confirmed, 0, 10 * YEAR),
        G("spool", "partial_max_age", CT_DURATION, spool_partial_max_age, SEC, 10 * YEAR),

        GE("storage", "backend", storage_backend, backend_values),
        G("storage", "prefix", CT_PREFIX, storage_prefix, 0, 0),
        G("storage", "concurrency", CT_UINT, storage_concurrency, 1, 64),
        G("storage", "bandwidth_limit", CT_SIZE, storage_bandwidth_limit, 0, UINT64_MAX),
        G("storage", "retry_initial", CT_DURATION, storage_retry_initial, 10 * USEC_PER_MSEC, DAY),
        G("storage", "retry_max", CT_DURATION, storage_retry_max, 10 * USEC_PER_MSEC, DAY),
        G("storage", "custody_interval", CT_DURATION, storage_custody_interval, SEC, DAY),
        G("storage", "custody_seal_size", CT_SIZE, storage_custody_seal_size, 0, UINT64_MAX),

        G("file", "path", CT_PATH, file_path, 0, 0),

        G("s3", "endpoint", CT_URL, s3_endpoint, 0, 0),
        G("s3", "region", CT_NAME, s3_region, 0, 0),
        G("s3", "bucket", CT_BUCKET, s3_bucket, 0, 0),
        GE("s3", "url_style", s3_url_style, url_style_values),
        G("s3", "credentials", CT_STRING, s3_credentials, 0, 0),
        G("s3", "ca_file", CT_PATH, s3_ca_file, 0, 0),
        G("s3", "part_size", CT_SIZE, s3_part_size, 5 * MiB, 5 * GiB),
        G("s3", "single_put_threshold", CT_SIZE, s3_single_put_threshold, 0, 5 * GiB),
        G("s3", "object_lock", CT_BOOL, s3_object_lock, 0, 0),
        GE("s3", "object_lock_mode", s3_object_lock_mode, lock_mode_values),
        G("s3", "timeout", CT_DURATION, s3_timeout, SEC, 3600 * SEC),

        G("tus", "endpoint", CT_URL, tus_endpoint, 0, 0),
        G("tus", "credentials", CT_STRING, tus_credentials, 0, 0),
        G("tus", "ca_file", CT_PATH, tus_ca_file, 0, 0),
        G("tus", "chunk_size", CT_SIZE, tus_chunk_size, 64 * KiB, 4 * GiB),
        G("tus", "uploads_named_by_key", CT_BOOL, tus_uploads_named_by_key, 0, 0),
        G("tus", "timeout", CT_DURATION, tus_timeout, SEC, 3600 * SEC),

        G("retention", "default", CT_DURATION, retention_default, DAY, 100 * YEAR),

        G("health", "min_battery_health", CT_PERCENT, health_min_battery, 0, 100),
        G("health", "max_charge_temperature", CT_UINT, health_max_charge_temp, 20, 80),
        G("health", "charge_timeout", CT_DURATION, health_charge_timeout, 60 * SEC, 2 * DAY),
        G("health", "storage_nearly_full", CT_PERCENT, health_storage_nearly_full, 1, 100),
        G("health", "max_undocked", CT_DURATION, health_max_undocked, 3600 * SEC, YEAR),
        G("health", "self_test", CT_BOOL, health_self_test, 0, 0),

        G("report", "webhook", CT_SECRET_URL, report_webhook, 0, 0),
        G("report", "webhook_ca_file", CT_PATH, report_webhook_ca_file, 0, 0),
        G("report", "webhook_credentials", CT_STRING, report_webhook_credentials, 0, 0),
        G("report", "retry_max", CT_DURATION, report_retry_max, SEC, DAY),

        G("metrics", "textfile", CT_PATH, metrics_textfile, 0, 0),
        G("metrics", "interval", CT_DURATION, metrics_interval, SEC, 3600 * SEC),
        G("metrics", "listen", CT_LISTEN, metrics_listen, 0, 0),

        G("reconcile", "interval", CT_DURATION, reconcile_interval, 0, 365 * DAY),

        G("log", "level", CT_LOG_LEVEL, log_level, 0, 0),
        G("log", "target", CT_LOG_TARGET, log_target, 0, 0),

        B("port", CT_PORT, port),
        B("charger", CT_NAME, charger),
        B("led_green", CT_STRING, led_green),
        B("led_red", CT_STRING, led_red),
        B("enabled", CT_BOOL, enabled),

        C("retention", CT_DURATION, retention, DAY, 100 * YEAR),  /* unset: [retention] default */
        C("evidentiary", CT_BOOL, evidentiary, 0, 0),
        C("legal_hold", CT_BOOL, legal_hold, 0, 0),

        GC("usb_id", CT_USB_ID, usb_id, 0, 0),
        GC("serials", CT_NAME_LIST, serials, 0, 0),
        GC("recordings", CT_GLOB_LIST, recordings, 0, 0),
        GC("delete_after_confirm", CT_BOOL, delete_after_confirm, 0, 0),
        GC("min_age", CT_DURATION, min_age, 0, 30 * DAY),
        GC("clock_set", CT_BOOL, clock_set, 0, 0),
};

/* The categories the seed policies call evidentiary: kept 4 years, uploaded first. */
static const char *const default_evidentiary[] = {
        "arrest", "use-of-force", "major-incident", "officer-flagged", "pursuit", "complaint",
};

static int category_add(DockdConfig *c, const char *name, CategoryConfig **ret) {
        CategoryConfig *cat;

        for (size_t i = 0; i < c->n_categories; i++)
                if (streq(c->categories[i].name, name)) {
                        *ret = &c->categories[i];
                        return 0;
                }
        if (c->n_categories >= DOCKD_MAX_CATEGORIES)
                return -E2BIG;
        cat = &c->categories[c->n_categories];
        *cat = (CategoryConfig) { .name = strdup(name) };  /* retention 0: [retention] default */
        if (!cat->name)
                return -ENOMEM;
        c->n_categories++;
        *ret = cat;
        return 0;
}

static int generic_add(DockdConfig *c, const char *name, GenericCameraConfig **ret) {
        GenericCameraConfig *g;

        for (size_t i = 0; i < c->n_generics; i++)
                if (streq(c->generics[i].name, name)) {
                        *ret = &c->generics[i];
                        return 0;
                }
        if (c->n_generics >= DOCKD_MAX_GENERIC)
                return -E2BIG;
        g = &c->generics[c->n_generics];
        *g = (GenericCameraConfig) { .name = strdup(name) };
        if (!g->name)
                return -ENOMEM;
        c->n_generics++;
        *ret = g;
        return 0;
}

/* systemd's StateDirectory= passes the real path (possibly several, ':'-separated). */
static char *default_state_dir(void) {
        const char *e = getenv("STATE_DIRECTORY");

        if (!isempty(e) && e[0] == '/')
                return strndup(e, strcspn(e, ":"));
        return strdup(DOCKD_STATE_DIR);
}

DockdConfig *config_new(void) {
        _cleanup_(config_freep) DockdConfig *c = calloc(1, sizeof *c);
        char buf[64];

        if (!c)
                return NULL;
        *c = (DockdConfig) {
                .dock_name = strdup("dock"),
                .state_dir = default_state_dir(),
                .trust_anchors = strdup(DOCKD_CONFIG_DIR "/trust-anchors.pem"),
                .hub = strdup("1-1"),
                .status_led_green = strdup("dock:green:status"),
                .status_led_red = strdup("dock:red:status"),
                .n_bays = 4,
                .clock_drift_threshold = 1 * SEC,
                .clock_set = true,
                .removal_debounce = 3 * SEC,
                .chain_gap_after = 3600 * SEC,
                /* 2 MiB queued per camera, 1 MiB of it behind the transfer being
                 * handled: README, "Filling the camera's link" (and why not 4 × 512 KiB). */
                .usb_transfer_size = 1 * MiB,
                .usb_transfers_in_flight = 2,
                .usb_chunk_size = 32 * MiB,
                .usb_command_timeout = 10 * SEC,
                .usb_stall_timeout = 5 * SEC,
                .spool_quota = 64 * GiB,
                .spool_min_free = 1 * GiB,
                .spool_sync_interval = 64 * MiB,
                .spool_keep_confirmed = 0,
                .spool_partial_max_age = 7 * DAY,
                .storage_backend = STORAGE_BACKEND_FILE,
                .storage_prefix = strdup(""),
                .storage_concurrency = 4,
                .storage_retry_initial = 1 * SEC,
                .storage_retry_max = 300 * SEC,
                .storage_custody_interval = 300 * SEC,
                .file_path = strdup("/srv/dockd/central"),
                .s3_region = strdup("us-east-1"),
                .s3_url_style = S3_URL_STYLE_PATH,
                .s3_part_size = 16 * MiB,
                .s3_single_put_threshold = 16 * MiB,
                .s3_object_lock_mode = OBJECT_LOCK_COMPLIANCE,
                .s3_timeout = 60 * SEC,
                .tus_chunk_size = 16 * MiB,
                .tus_timeout = 60 * SEC,
                .retention_default = 90 * DAY,
                .health_min_battery = 80,
                .health_max_charge_temp = 45,
                .health_charge_timeout = 4 * 3600 * SEC,
                .health_storage_nearly_full = 90,
                .health_max_undocked = 3 * DAY,
                .health_self_test = true,
                .report_retry_max = 3600 * SEC,
                .metrics_interval = 15 * SEC,
                .reconcile_interval = DAY,
                .log_level = LOG_INFO,
                .log_target = LOG_TARGET_AUTO,
        };
        if (!c->dock_name || !c->state_dir || !c->trust_anchors || !c->hub || !c->storage_prefix ||
            !c->status_led_green || !c->status_led_red ||
            !c->file_path || !c->s3_region)
                return NULL;
        for (unsigned i = 0; i < DOCKD_MAX_BAYS; i++) {
                BayConfig *b = &c->bays[i];

                b->enabled = true;
                snprintf(buf, sizeof buf, "dock-bay%u", i + 1);
                b->charger = strdup(buf);
                snprintf(buf, sizeof buf, "dock:green:bay-%u", i + 1);
                b->led_green = strdup(buf);
                snprintf(buf, sizeof buf, "dock:red:bay-%u", i + 1);
                b->led_red = strdup(buf);
                if (!b->charger || !b->led_green || !b->led_red)
                        return NULL;
        }
        for (size_t i = 0; i < ELEMENTSOF(default_evidentiary); i++) {
                CategoryConfig *cat;
                if (category_add(c, default_evidentiary[i], &cat) < 0)
                        return NULL;
                cat->retention = 4 * YEAR;
                cat->evidentiary = true;
        }
        return TAKE_PTR(c);
}

DockdConfig *config_free(DockdConfig *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(items); i++) {
                const ConfigItem *it = &items[i];
                bool is_string = config_type_is_string(it->value.type);

                if (!is_string || it->scope != SCOPE_GLOBAL)
                        continue;
                free(*(char **) ((uint8_t *) c + it->offset));
        }
        for (unsigned i = 0; i < DOCKD_MAX_BAYS; i++) {
                free(c->bays[i].port);
                free(c->bays[i].charger);
                free(c->bays[i].led_green);
                free(c->bays[i].led_red);
        }
        for (size_t i = 0; i < c->n_categories; i++)
                free(c->categories[i].name);
        for (size_t i = 0; i < c->n_generics; i++) {
                free(c->generics[i].name);
                free(c->generics[i].serials);
                free(c->generics[i].recordings);
        }
        for (size_t i = 0; i < c->n_locations; i++) {
                free(c->locations[i].section);
                free(c->locations[i].key);
                free(c->locations[i].file);
        }
        free(c->locations);
        free(c);
        return NULL;
}

usec_t config_retention(const DockdConfig *c, const char *const *categories, size_t n) {
        usec_t r = c->retention_default;

        for (size_t i = 0; i < n; i++) {
                const CategoryConfig *cat = config_find_category(c, categories[i]);
                if (cat && cat->retention > r)
                        r = cat->retention;
        }
        return r;
}

const CategoryConfig *config_find_category(const DockdConfig *c, const char *name) {
        for (size_t i = 0; i < c->n_categories; i++)
                if (streq(c->categories[i].name, name))
                        return &c->categories[i];
        return NULL;
}

/* Whether word is one of the space-separated words of list. */
static bool word_in_list(const char *list, const char *word) {
        size_t n = strlen(word);

        for (const char *p = list; *p;) {
                size_t len = strcspn(p, " ");

                if (len == n && memcmp(p, word, n) == 0)
                        return true;
                p += len;
                p += *p == ' ';
        }
        return false;
}

const GenericCameraConfig *config_find_generic(const DockdConfig *c, uint32_t usb_id, const char *serial) {
        for (size_t i = 0; i < c->n_generics; i++) {
                const GenericCameraConfig *g = &c->generics[i];

                if (g->usb_id != usb_id)
                        continue;
                if (!g->serials || (serial && word_in_list(g->serials, serial)))
                        return g;
        }
        return NULL;
}

bool generic_config_wants_path(const GenericCameraConfig *g, const char *path) {
        for (const char *p = g->recordings; p && *p;) {
                size_t len = strcspn(p, " ");
                _cleanup_free_ char *pattern = strndup(p, len);

                if (pattern && glob_match_path(pattern, path))
                        return true;
                p += len;
                p += *p == ' ';
        }
        return false;
}

const char *storage_backend_to_string(StorageBackendType t) {
        if (t < 0 || t >= _STORAGE_BACKEND_MAX)
                return NULL;
        return backend_values[t];
}

/* ---- parsing ---- */

/* Values are echoed in errors; control characters are shown as \xNN, and
 * very long values are cut. */
static char *escape_value(const char *v) {
        size_t n = strlen(v), max = 80;
        char *out = malloc(MIN(n, max) * 4 + 4), *o = out;

        if (!out)
                return NULL;
        for (size_t i = 0; i < n && i < max; i++) {
                unsigned char ch = (unsigned char) v[i];
                if (ch < 0x20 || ch == 0x7f)
                        o += sprintf(o, "\\x%02x", ch);
                else
                        *o++ = (char) ch;
        }
        if (n > max)
                o += sprintf(o, "...");
        *o = 0;
        return out;
}

typedef struct ParseState {
        DockdConfig *config;
        const char *file;
        const char *data;
        size_t size, pos;
        unsigned line;
        char *error;
        unsigned error_line;
        /* keys set in this file, "section\nkey", to catch duplicates */
        char **seen;
        size_t n_seen;
} ParseState;

_printf_(2, 3) static int parse_fail(ParseState *s, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        if (s->error)
                return 0;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (asprintf(&s->error, "%s:%u: %s", s->file, s->line, msg ?: "out of memory") < 0)
                s->error = NULL;
        s->error_line = s->line;
        return 0;
}

static int section_check(ParseState *s, const char *section);

/* inih reader over our buffer: one line per call. We strip leading whitespace so
 * that inih never treats an indented line as a continuation of the previous value,
 * and we reject lines longer than inih's buffer instead of letting it split them. */
static char *reader(char *str, int num, void *stream) {
        ParseState *s = stream;
        const char *start, *nl;
        size_t len;

        if (s->pos >= s->size || s->error)
                return NULL;
        start = s->data + s->pos;
        nl = memchr(start, '\n', s->size - s->pos);
        len = nl ? (size_t) (nl - start) : s->size - s->pos;
        s->pos += len + (nl ? 1 : 0);
        s->line++;
        while (len > 0 && (*start == ' ' || *start == '\t')) {
                start++;
                len--;
        }
        if (len > 0 && start[len - 1] == '\r')
                len--;
        if (len > CONFIG_LINE_MAX || (int) len + 2 > num) {
                parse_fail(s, "line is too long (%zu characters, at most %d)", len, CONFIG_LINE_MAX);
                return NULL;
        }
        memcpy(str, start, len);
        str[len] = '\n';
        str[len + 1] = 0;
        /* inih only tells us about sections that have keys; check every header. */
        if (len > 0 && str[0] == '[') {
                char *end = strchr(str, ']');
                if (end) {
                        _cleanup_free_ char *name = strndup(str + 1, (size_t) (end - str - 1));
                        if (!name || section_check(s, name) < 0)
                                return NULL;
                }
        }
        return str;
}

static void location_record(DockdConfig *c, const char *section, const char *key, const char *file, unsigned line) {
        ConfigLocation *l = NULL;

        for (size_t i = 0; i < c->n_locations; i++)
                if (streq(c->locations[i].section, section) && streq(c->locations[i].key, key)) {
                        l = &c->locations[i];
                        break;
                }
        if (!l) {
                ConfigLocation *n = realloc(c->locations, (c->n_locations + 1) * sizeof *n);
                if (!n)
                        return;
                c->locations = n;
                l = &n[c->n_locations];
                *l = (ConfigLocation) { .section = strdup(section), .key = strdup(key) };
                if (!l->section || !l->key) {
                        free(l->section);
                        free(l->key);
                        return;
                }
                c->n_locations++;
        }
        free(l->file);
        l->file = strdup(file);
        l->line = line;
}

static const ConfigLocation *location_find(const DockdConfig *c, const char *section, const char *key) {
        for (size_t i = 0; i < c->n_locations; i++)
                if (streq(c->locations[i].section, section) && streq(c->locations[i].key, key))
                        return &c->locations[i];
        return NULL;
}

static bool category_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 32 || !(islower((unsigned char) s[0]) || isdigit((unsigned char) s[0])))
                return false;
        for (const char *p = s; *p; p++)
                if (!islower((unsigned char) *p) && !isdigit((unsigned char) *p) && *p != '-')
                        return false;
        return true;
}

static bool section_known(const char *base) {
        for (size_t i = 0; i < ELEMENTSOF(items); i++)
                if (streq(items[i].section, base))
                        return true;
        return false;
}

/* Resolve the struct a key writes into: the config, a bay or a category. The
 * section name was checked by section_check() when its header was read. */
static int section_target(ParseState *s, const char *section, ConfigScope *ret_scope,
                          char **ret_base, void **ret_base_ptr) {
        DockdConfig *c = s->config;
        const char *dot = strchr(section, '.');
        _cleanup_free_ char *base = strndup(section, dot ? (size_t) (dot - section) : strlen(section));
        int r;

        if (!base)
                return parse_fail(s, "out of memory"), -ENOMEM;
        r = section_check(s, section);
        if (r < 0)
                return r;
        if (!dot) {
                *ret_scope = SCOPE_GLOBAL;
                *ret_base_ptr = c;
        } else if (streq(base, "bay")) {
                *ret_scope = SCOPE_BAY;
                *ret_base_ptr = &c->bays[strtoul(dot + 1, NULL, 10) - 1];
        } else if (streq(base, "generic")) {
                GenericCameraConfig *g;
                r = generic_add(c, dot + 1, &g);
                if (r < 0)
                        return parse_fail(s, "section [%s]: too many generic cameras (at most %d)", section, DOCKD_MAX_GENERIC), r;
                *ret_scope = SCOPE_GENERIC;
                *ret_base_ptr = g;
        } else {
                CategoryConfig *cat;
                r = category_add(c, dot + 1, &cat);
                if (r < 0)
                        return parse_fail(s, "section [%s]: too many categories (at most %d)", section, DOCKD_MAX_CATEGORIES), r;
                *ret_scope = SCOPE_CATEGORY;
                *ret_base_ptr = cat;
        }
        *ret_base = TAKE_PTR(base);
        return 0;
}

static int section_check(ParseState *s, const char *section) {
        const char *dot = strchr(section, '.');
        _cleanup_free_ char *base = strndup(section, dot ? (size_t) (dot - section) : strlen(section));
        unsigned n;

        if (!base)
                return parse_fail(s, "out of memory"), -ENOMEM;
        if (!dot) {
                if (streq(base, "bay") || streq(base, "category") || streq(base, "generic"))
                        return parse_fail(s, "section [%s] needs a name: [%s.NAME]", section, section), -EINVAL;
                if (!section_known(base))
                        return parse_fail(s, "unknown section [%s]", section), -EINVAL;
        } else if (streq(base, "bay")) {
                if (parse_unsigned_range(dot + 1, 1, DOCKD_MAX_BAYS, &n) < 0)
                        return parse_fail(s, "section [%s]: bay number must be 1 to %d", section, DOCKD_MAX_BAYS), -EINVAL;
        } else if (streq(base, "category")) {
                if (!category_name_valid(dot + 1))
                        return parse_fail(s, "section [%s]: category name must be 1-32 characters of a-z 0-9 -", section), -EINVAL;
        } else if (streq(base, "generic")) {
                if (!category_name_valid(dot + 1))
                        return parse_fail(s, "section [%s]: camera name must be 1-32 characters of a-z 0-9 -", section), -EINVAL;
        } else
                return parse_fail(s, "unknown section [%s]", section), -EINVAL;
        return 0;
}

static int handler(void *user, const char *section, const char *key, const char *value) {
        ParseState *s = user;
        _cleanup_free_ char *base = NULL, *why = NULL, *seen_key = NULL;
        ConfigScope scope;
        void *target;
        const ConfigItem *it = NULL;
        int r;

        if (s->error)
                return 0;
        if (!*key)
                return parse_fail(s, "syntax error: no key before '='");
        if (!*section)
                return parse_fail(s, "key '%s' outside of any section", key);
        if (section_target(s, section, &scope, &base, &target) < 0)
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(items); i++)
                if (items[i].scope == scope && streq(items[i].section, base) && streq(items[i].key, key)) {
                        it = &items[i];
                        break;
                }
        if (!it)
                return parse_fail(s, "unknown key '%s' in section [%s]", key, section);

        if (asprintf(&seen_key, "%s\n%s", section, key) < 0)
                return parse_fail(s, "out of memory");
        for (size_t i = 0; i < s->n_seen; i++)
                if (streq(s->seen[i], seen_key))
                        return parse_fail(s, "duplicate key '%s' in section [%s]", key, section);
        char **n = realloc(s->seen, (s->n_seen + 1) * sizeof *n);
        if (!n)
                return parse_fail(s, "out of memory");
        s->seen = n;
        s->seen[s->n_seen++] = TAKE_PTR(seen_key);

        r = config_value_parse(&it->value, value, (uint8_t *) target + it->offset, &why);
        if (r < 0) {
                _cleanup_free_ char *shown = escape_value(value);
                return parse_fail(s, "[%s] %s=%s: value %s", section, key, strna(shown), why ?: "is invalid");
        }
        location_record(s->config, section, key, s->file, s->line);
        return 1;
}

static int check_bytes(ParseState *s) {
        unsigned line = 1;

        for (size_t i = 0; i < s->size; i++) {
                if (s->data[i] == 0) {
                        s->line = line;
                        return parse_fail(s, "contains a NUL byte"), -EINVAL;
                }
                if (s->data[i] == '\n')
                        line++;
        }
        /* Per line, so that the error names the line. */
        for (size_t start = 0, l = 1; start < s->size; l++) {
                const char *nl = memchr(s->data + start, '\n', s->size - start);
                size_t len = nl ? (size_t) (nl - (s->data + start)) : s->size - start;

                if (!utf8_is_valid(s->data + start, len)) {
                        s->line = (unsigned) l;
                        return parse_fail(s, "is not valid UTF-8"), -EINVAL;
                }
                start += len + 1;
        }
        return 0;
}

int config_load_file(DockdConfig *c, const char *path, char **ret_error) {
        _cleanup_free_ char *data = NULL;
        ParseState s = { .config = c, .file = path };
        size_t size;
        int r;

        r = read_full_file(path, CONFIG_FILE_MAX, &data, &size);
        if (r < 0) {
                if (asprintf(ret_error, "%s:0: cannot read: %s", path,
                             r == -EFBIG ? "file is larger than 64 KiB" : strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        s.data = data;
        s.size = size;

        if (check_bytes(&s) >= 0) {
                r = ini_parse_stream(reader, &s, handler, &s);
                /* inih goes on after a syntax error; report whichever came first. */
                if (r > 0 && (!s.error || (unsigned) r < s.error_line)) {
                        free(s.error);
                        s.error = NULL;
                        s.line = (unsigned) r;
                        parse_fail(&s, "syntax error: expected [section], key=value, or a comment");
                } else if (r < 0 && !s.error)
                        parse_fail(&s, "out of memory while parsing");
        }
        for (size_t i = 0; i < s.n_seen; i++)
                free(s.seen[i]);
        free(s.seen);
        if (s.error) {
                *ret_error = s.error;
                return -EINVAL;
        }
        return 0;
}

static int conf_file_filter(const struct dirent *d) {
        return d->d_name[0] != '.' && endswith(d->d_name, ".conf") != NULL;
}

int config_load(DockdConfig *c, const char *path, char **ret_error) {
        _cleanup_free_ char *dropin = NULL;
        struct dirent **names = NULL;
        bool explicit = path != NULL;
        int n, r = 0;

        if (!path)
                path = DOCKD_CONFIG_FILE;
        if (explicit || access(path, F_OK) >= 0) {
                r = config_load_file(c, path, ret_error);
                if (r < 0)
                        return r;
        }
        if (asprintf(&dropin, "%s.d", path) < 0)
                return -ENOMEM;
        n = scandir(dropin, &names, conf_file_filter, alphasort);
        if (n < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *p = path_join(dropin, names[i]->d_name);
                if (r >= 0)
                        r = p ? config_load_file(c, p, ret_error) : -ENOMEM;
                free(names[i]);
        }
        free(names);
        return r;
}

/* ---- validation across keys ---- */

_printf_(5, 6) static int validate_fail(const DockdConfig *c, const char *section, const char *key,
                                        char **ret_error, const char *fmt, ...) {
        const ConfigLocation *l = location_find(c, section, key);
        char *error = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&error, &size);
        va_list ap;

        if (!f)
                return -ENOMEM;
        /* FILE:LINE where the key was set; a default has no place. */
        if (l)
                fprintf(f, "%s:%u: ", l->file, l->line);
        else
                fputs("configuration: ", f);
        va_start(ap, fmt);
        vfprintf(f, fmt, ap);
        va_end(ap);
        if (fclose(f) != 0) {
                free(error);
                return -ENOMEM;
        }
        *ret_error = error;
        return -EINVAL;
}

static int validate_generics(const DockdConfig *c, char **ret_error) {
        for (size_t i = 0; i < c->n_generics; i++) {
                const GenericCameraConfig *g = &c->generics[i];
                _cleanup_free_ char *sec = NULL;
                const char *key = NULL;

                if (asprintf(&sec, "generic.%s", g->name) < 0)
                        return -ENOMEM;
                for (size_t j = 0; j < c->n_locations && !key; j++)
                        if (streq(c->locations[j].section, sec))
                                key = c->locations[j].key;
                /* A section that names no device or no files is a typo waiting to
                 * take the wrong device, or nothing: refuse it. */
                if (!location_find(c, sec, "usb_id"))
                        return validate_fail(c, sec, strempty(key), ret_error, "[%s] needs usb_id= (VVVV:PPPP)", sec);
                if (!g->recordings)
                        return validate_fail(c, sec, strempty(key), ret_error,
                                             "[%s] needs recordings= (path patterns such as DCIM/**/*.MP4)", sec);
        }
        return 0;
}

int config_validate(DockdConfig *c, char **ret_error) {
        char sec[16];
        int r;

        /* Derived defaults: bay N sits on port N of the dock's hub. */
        for (unsigned i = 0; i < c->n_bays; i++)
                if (!c->bays[i].port && asprintf(&c->bays[i].port, "%s.%u", c->hub, i + 1) < 0) {
                        c->bays[i].port = NULL;
                        return -ENOMEM;
                }

        switch (c->storage_backend) {
        case STORAGE_BACKEND_FILE:
                break;
        case STORAGE_BACKEND_S3:
                if (!c->s3_endpoint)
                        return validate_fail(c, "storage", "backend", ret_error,
                                             "backend=s3 needs [s3] endpoint=");
                if (!c->s3_bucket)
                        return validate_fail(c, "storage", "backend", ret_error,
                                             "backend=s3 needs [s3] bucket=");
                if (!c->s3_credentials)
                        return validate_fail(c, "storage", "backend", ret_error,
                                             "backend=s3 needs [s3] credentials=");
                if (c->s3_single_put_threshold > c->s3_part_size)
                        return validate_fail(c, "s3", "single_put_threshold", ret_error,
                                             "single_put_threshold must not exceed part_size");
                break;
        case STORAGE_BACKEND_TUS:
                if (!c->tus_endpoint)
                        return validate_fail(c, "storage", "backend", ret_error,
                                             "backend=tus needs [tus] endpoint=");
                break;
        default:
                return -EINVAL;
        }
        if (c->storage_retry_initial > c->storage_retry_max)
                return validate_fail(c, "storage", "retry_initial", ret_error,
                                     "retry_initial must not exceed retry_max");
        if (c->usb_chunk_size < c->usb_transfer_size)
                return validate_fail(c, "usb", "chunk_size", ret_error,
                                     "chunk_size must be at least transfer_size");
        if (c->spool_sync_interval < c->usb_transfer_size)
                return validate_fail(c, "spool", "sync_interval", ret_error,
                                     "sync_interval must be at least [usb] transfer_size");

        r = validate_generics(c, ret_error);
        if (r < 0)
                return r;

        for (unsigned i = 0; i < DOCKD_MAX_BAYS; i++) {
                const BayConfig *b = &c->bays[i];

                snprintf(sec, sizeof sec, "bay.%u", i + 1);
                if (i >= c->n_bays) {
                        const ConfigLocation *l = NULL;
                        for (size_t j = 0; j < c->n_locations && !l; j++)
                                if (streq(c->locations[j].section, sec))
                                        l = &c->locations[j];
                        if (l)
                                return validate_fail(c, sec, l->key, ret_error,
                                                     "[%s] configured, but [dock] bays=%u", sec, c->n_bays);
                        continue;
                }
                for (unsigned j = 0; j < i; j++) {
                        if (b->port && c->bays[j].port && streq(b->port, c->bays[j].port))
                                return validate_fail(c, sec, "port", ret_error,
                                                     "port %s is already bay %u's", b->port, j + 1);
                        if (streq(b->charger, c->bays[j].charger))
                                return validate_fail(c, sec, "charger", ret_error,
                                                     "charger %s is already bay %u's", b->charger, j + 1);
                }
        }
        return 0;
}

/* ---- dump ---- */

static void scope_print(ConfigScope scope, const char *section, const void *base, FILE *f) {
        const char *last = NULL;

        for (size_t i = 0; i < ELEMENTSOF(items); i++) {
                const ConfigItem *it = &items[i];
                const void *p = (const uint8_t *) base + it->offset;

                if (it->scope != scope)
                        continue;
                if (!last || !streq(last, it->section)) {
                        fprintf(f, "\n[%s]\n", section ?: it->section);
                        last = it->section;
                }
                /* Unset optional strings are shown commented out. */
                if (scope == SCOPE_CATEGORY && streq(it->key, "retention") && *(const usec_t *) p == 0) {
                        fprintf(f, "#retention= (the [retention] default)\n");
                        continue;
                }
                if (config_type_is_string(it->value.type) && !*(char *const *) p) {
                        fprintf(f, "#%s=\n", it->key);
                        continue;
                }
                fprintf(f, "%s=", it->key);
                config_value_print(&it->value, p, f);
                fputc('\n', f);
        }
}

void config_dump(const DockdConfig *c, FILE *f) {
        char sec[64];

        fprintf(f, "# dockd effective configuration; secrets masked");
        scope_print(SCOPE_GLOBAL, NULL, c, f);
        for (unsigned i = 0; i < c->n_bays; i++) {
                snprintf(sec, sizeof sec, "bay.%u", i + 1);
                scope_print(SCOPE_BAY, sec, &c->bays[i], f);
        }
        for (size_t i = 0; i < c->n_categories; i++) {
                snprintf(sec, sizeof sec, "category.%s", c->categories[i].name);
                scope_print(SCOPE_CATEGORY, sec, &c->categories[i], f);
        }
        for (size_t i = 0; i < c->n_generics; i++) {
                snprintf(sec, sizeof sec, "generic.%s", c->generics[i].name);
                scope_print(SCOPE_GENERIC, sec, &c->generics[i], f);
        }
        fputc('\n', f);
}
