/* SPDX-License-Identifier: Apache-2.0 */
/* dockd-config.h: dockd's configuration: every section and key known and typed.
 * Loaded from dockd.conf plus dockd.conf.d/NAME.conf (lexical order, later wins). */
#pragma once

#include "log.h"
#include "macro.h"

#define DOCKD_MAX_BAYS 15
#define DOCKD_MAX_CATEGORIES 64
#define DOCKD_MAX_GENERIC 32

typedef enum StorageBackendType {
        STORAGE_BACKEND_FILE,
        STORAGE_BACKEND_S3,
        STORAGE_BACKEND_TUS,
        _STORAGE_BACKEND_MAX,
        _STORAGE_BACKEND_INVALID = -EINVAL,
} StorageBackendType;

typedef enum S3UrlStyle {
        S3_URL_STYLE_PATH,
        S3_URL_STYLE_VIRTUAL,
        _S3_URL_STYLE_MAX,
} S3UrlStyle;

typedef enum ObjectLockMode {
        OBJECT_LOCK_GOVERNANCE,
        OBJECT_LOCK_COMPLIANCE,
        _OBJECT_LOCK_MAX,
} ObjectLockMode;

typedef struct BayConfig {
        char *port;          /* USB port path, e.g. "1-1.3" */
        char *charger;       /* power_supply name */
        char *led_green;     /* LED class names */
        char *led_red;
        bool enabled;
} BayConfig;

typedef struct CategoryConfig {
        char *name;
        usec_t retention;    /* 0: [retention] default */
        bool evidentiary;    /* uploaded first, kept for years */
        bool legal_hold;     /* objects get a legal hold when the store supports it */
} CategoryConfig;

/* [generic.NAME]: an allow-listed camera that does not sign (README, "Cameras
 * that do not sign"); the dock seals what it pulls from it. */
typedef struct GenericCameraConfig {
        char *name;
        uint32_t usb_id;             /* idVendor << 16 | idProduct; required */
        char *serials;               /* space-separated; NULL: any camera with usb_id */
        char *recordings;            /* space-separated path patterns (glob-match.h); required */
        bool delete_after_confirm;   /* delete from the camera once confirmed (default no) */
        usec_t min_age;              /* complete when this old; 0: only when its size held across two listings */
        bool clock_set;              /* set the camera's DateTime (0x5011) from the dock's clock */
} GenericCameraConfig;

typedef struct DockdConfig {
        /* [dock] */
        char *dock_name;
        char *state_dir;
        char *trust_anchors;
        char *crl;                   /* revocation lists: a file or a directory; NULL: none */
        char *dock_key;
        char *hub;
        unsigned n_bays;
        usec_t clock_drift_threshold;
        bool clock_set;
        usec_t removal_debounce;
        usec_t chain_gap_after;      /* a predecessor central storage still lacks after this is a gap */
        char *status_led_green;
        char *status_led_red;

        /* [usb] */
        uint64_t usb_transfer_size;
        unsigned usb_transfers_in_flight;
        uint64_t usb_chunk_size;
        usec_t usb_command_timeout;
        usec_t usb_stall_timeout;

        /* [spool] */
        char *spool_dir;
        uint64_t spool_quota;
        uint64_t spool_min_free;
        uint64_t spool_sync_interval;
        usec_t spool_keep_confirmed;
        usec_t spool_partial_max_age;   /* a partial pull of a camera gone this long is removed */

        /* [storage] */
        StorageBackendType storage_backend;
        char *storage_prefix;
        unsigned storage_concurrency;
        uint64_t storage_bandwidth_limit;   /* bytes per second, 0: none */
        usec_t storage_retry_initial;
        usec_t storage_retry_max;
        usec_t storage_custody_interval;
        uint64_t storage_custody_seal_size;

        /* [file] */
        char *file_path;

        /* [s3] */
        char *s3_endpoint;
        char *s3_region;
        char *s3_bucket;
        S3UrlStyle s3_url_style;
        char *s3_credentials;
        char *s3_ca_file;
        uint64_t s3_part_size;
        uint64_t s3_single_put_threshold;
        bool s3_object_lock;
        ObjectLockMode s3_object_lock_mode;
        usec_t s3_timeout;

        /* [tus] */
        char *tus_endpoint;
        char *tus_credentials;
        char *tus_ca_file;
        uint64_t tus_chunk_size;
        bool tus_uploads_named_by_key;   /* upload URL = endpoint + key with '/' as '~' */
        usec_t tus_timeout;

        /* [retention] */
        usec_t retention_default;

        /* [health] */
        unsigned health_min_battery;        /* percent of design capacity */
        unsigned health_max_charge_temp;    /* °C */
        usec_t health_charge_timeout;
        unsigned health_storage_nearly_full; /* percent used */
        usec_t health_max_undocked;
        bool health_self_test;

        /* [report] */
        char *report_webhook;
        char *report_webhook_ca_file;
        char *report_webhook_credentials;
        usec_t report_retry_max;

        /* [metrics] */
        char *metrics_textfile;    /* NULL: no textfile */
        usec_t metrics_interval;
        char *metrics_listen;      /* NULL: no HTTP; "IP:PORT" (socket-util.h) */

        /* [reconcile] */
        usec_t reconcile_interval; /* 0: only on request */

        /* [log] */
        int log_level;
        LogTarget log_target;

        /* [bay.N] */
        BayConfig bays[DOCKD_MAX_BAYS];
        /* [category.NAME] */
        CategoryConfig categories[DOCKD_MAX_CATEGORIES];
        size_t n_categories;
        /* [generic.NAME], in the order they were first seen */
        GenericCameraConfig generics[DOCKD_MAX_GENERIC];
        size_t n_generics;

        /* Where each key was last set, for errors found after parsing. */
        struct ConfigLocation *locations;
        size_t n_locations;
} DockdConfig;

DockdConfig *config_new(void);
DockdConfig *config_free(DockdConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(DockdConfig *, config_free);

/* Load path and then path.d/NAME.conf. If path is NULL, the default file (which may
 * be missing) and its drop-in directory. On error, *ret_error is
 * "FILE:LINE: what is wrong" and the return value is negative. */
int config_load(DockdConfig *c, const char *path, char **ret_error);
/* Load exactly one file, no drop-ins (tests). */
int config_load_file(DockdConfig *c, const char *path, char **ret_error);
/* Cross-key checks after all files are loaded. */
int config_validate(DockdConfig *c, char **ret_error);

/* Print the effective configuration, secrets masked. */
void config_dump(const DockdConfig *c, FILE *f);

const CategoryConfig *config_find_category(const DockdConfig *c, const char *name);
/* The first [generic.NAME] whose usb_id is usb_id and whose serials (if any)
 * include serial (NULL never matches a list); NULL if none allow-lists it. */
const GenericCameraConfig *config_find_generic(const DockdConfig *c, uint32_t usb_id, const char *serial);
/* Does a path on the camera (relative to its storage's root) match recordings=? */
bool generic_config_wants_path(const GenericCameraConfig *g, const char *path);
/* The longest retention any of the categories asks for, at least [retention] default. */
usec_t config_retention(const DockdConfig *c, const char *const *categories, size_t n);
const char *storage_backend_to_string(StorageBackendType t);
