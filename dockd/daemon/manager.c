/* SPDX-License-Identifier: Apache-2.0 */
/* manager.c: lifecycle of the daemon around one sd-event loop: signals, readiness
 * and STATUS= to systemd, the watchdog, the state directory, and the parts (trust
 * anchors, custody log, spool, central storage, USB hotplug, bays) in the order
 * they depend on each other; the callbacks that tie them together; what the
 * dock's status LED shows. */
#include <json-c/json.h>
#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "clock-util.h"
#include "config.h"
#include "bays-disabled.h"
#include "bus-changes.h"
#include "bus-polkit.h"
#include "fileio.h"
#include "manager.h"
#include "partial-sweep.h"
#include "usbfs-memory.h"

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received %s, stopping.", strsignal((int) si->ssi_signo));
        manager_stop(m);
        return 0;
}

static int on_status_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        manager_update_status(m);
        return sd_event_source_set_time(s, usec + 5 * USEC_PER_SEC);
}

int manager_new(DockdConfig *config, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->config = config;
        /* Before any camera: each pins its transfers from its first docking on. */
        usbfs_memory_fit(USBFS_MEMORY_PARAM, config->n_bays, config->usb_transfer_size,
                         &config->usb_transfers_in_flight);

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        m->dock = (DockContext) { .event = m->event, .config = config };
        /* sd-event reads WATCHDOG_USEC and pings systemd at half the interval. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        for (unsigned i = 0; i < DOCKD_MAX_BAYS; i++)
                if (m->bays[i]) {
                        bay_shutdown(m->bays[i]);
                        m->bays[i] = bay_unref(m->bays[i]);
                }
        /* Cancelled transfers come back through libusb's events; wait for them
         * before libusb goes away. */
        if (m->dock.usb)
                usb_manager_drain(m->dock.usb, 2 * USEC_PER_SEC);
        manager_free_operations(m);
        /* The uploader first (inside central): it cancels the puts in flight. */
        m->dock.central = central_free(m->dock.central);
        m->dock.reports = report_outbox_free(m->dock.reports);
        m->dock.workers = worker_pool_free(m->dock.workers);
        m->dock.usb = usb_manager_free(m->dock.usb);
        m->dock.spool = spool_free(m->dock.spool);
        m->dock.custody = custody_log_free(m->dock.custody);
        m->dock.trust = trust_store_free(m->dock.trust);
        m->dock_green = led_free(m->dock_green);
        m->dock_red = led_free(m->dock_red);
        sd_event_source_disable_unref(m->custody_timer);
        sd_event_source_disable_unref(m->sweep_timer);
        sd_event_source_disable_unref(m->spool_defer);
        sd_event_source_disable_unref(m->status_timer);
        m->polkit = bus_polkit_free(m->polkit);
        m->holds = holds_free(m->holds);
        m->bus_watcher = bus_watcher_free(m->bus_watcher);
        sd_bus_slot_unref(m->bus_vtable_slot);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        free(m->custody_dir);
        free(m->dock_key);
        free(m->last_status);
        free(m);
        return NULL;
}

/* ---- bays and hotplug ---- */

static Bay *bay_for_port(Manager *m, const char *port) {
        for (unsigned i = 0; i < m->config->n_bays; i++)
                if (m->bays[i] && streq_ptr(m->bays[i]->config->port, port))
                        return m->bays[i];
        return NULL;
}

static Bay *bay_with_serial(Manager *m, const char *serial) {
        for (unsigned i = 0; i < m->config->n_bays; i++)
                if (m->bays[i] && streq_ptr(m->bays[i]->serial, serial))
                        return m->bays[i];
        return NULL;
}

static void on_hotplug(UsbManager *u, libusb_device *dev, bool arrived, void *userdata) {
        Manager *m = userdata;
        char port[64];
        Bay *b;
        int r;

        if (m->stopping)
                return;
        r = usb_device_port_path(dev, port, sizeof port);
        if (r < 0) {
                /* Said, not dropped silently: a camera that never arrives is a
                 * bay that never empties of footage. */
                log_debug_errno(r, "USB device %s with no port path; ignoring it: %m",
                                arrived ? "arrived" : "left");
                return;
        }
        log_debug("USB device on port %s %s.", port, arrived ? "arrived" : "left");
        b = bay_for_port(m, port);
        if (!b) {
                log_debug("Port %s is not a bay.", port);
                return;
        }
        if (arrived)
                bay_device_arrived(b, dev, port);
        else
                bay_device_left(b, dev);
}

/* ---- events from the parts ---- */

static void on_bay_state_changed(Bay *b, BayState old, void *userdata) {
        Manager *m = userdata;

        manager_update_status(m);
        bus_watcher_changed(m->bus_watcher);
}

/* The status line and the bus follow the upload queue as it changes: a
 * segment may be queued and confirmed within one progress interval. */
static void on_uploads_changed(void *userdata) {
        Manager *m = userdata;

        manager_update_status(m);
        bus_watcher_changed(m->bus_watcher);
}

static void on_segment_confirmed(const SegmentId *id, void *userdata) {
        Bay *b = bay_with_serial(userdata, id->serial);

        if (b)
                bay_segment_confirmed(b, id);
}

/* The spool may have room: the bays' paused pulls look again, from the loop
 * (never inside the pull that asked). */
static void on_spool_room(Spool *s, void *userdata) {
        Manager *m = userdata;

        (void) sd_event_source_set_enabled(m->spool_defer, SD_EVENT_ONESHOT);
}

static int on_spool_defer(sd_event_source *s, void *userdata) {
        Manager *m = userdata;

        for (unsigned i = 0; i < m->config->n_bays; i++)
                if (m->bays[i])
                        bay_spool_freed(m->bays[i]);
        return 0;
}

/* ---- custody ---- */

static int on_custody_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        (void) central_upload_custody(m->dock.central);
        manager_operations_checkpoint(m);
        return sd_event_source_set_time(s, usec + m->config->storage_custody_interval);
}

static bool serial_docked(const char *serial, void *userdata) {
        return bay_with_serial(userdata, serial) != NULL;
}

/* Often enough that a partial pull goes soon after partial_max_age. */
static usec_t sweep_interval(Manager *m) {
        return CLAMP(m->config->spool_partial_max_age / 4, USEC_PER_SEC, 3600 * USEC_PER_SEC);
}

static int on_sweep_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r = partial_sweep_run(&m->dock, m->config->spool_partial_max_age, serial_docked, m);

        if (r < 0)
                log_warning_errno(r, "Cannot sweep the spool for abandoned partial pulls: %m");
        return sd_event_source_set_time(s, usec + sweep_interval(m));
}

/* ---- start, run, stop ---- */

static int manager_setup_state_dir(Manager *m) {
        int r = mkdir_p_durable(m->config->state_dir, 0750);

        if (r < 0)
                return log_error_errno(r, "Cannot create state directory %s: %m", m->config->state_dir);
        if (access(m->config->state_dir, W_OK) < 0)
                return log_error_errno(errno, "State directory %s is not writable: %m", m->config->state_dir);
        return 0;
}

/* A recording a preservation request named: its objects carry a legal hold. */
static const char *recording_named(const char *camera, const char *recording, void *userdata) {
        Manager *m = userdata;
        const Hold *h = holds_naming(m->holds, camera, recording);

        return h ? h->reference : NULL;
}

static int manager_setup_storage(Manager *m) {
        const DockdConfig *c = m->config;
        DockContext *d = &m->dock;
        _cleanup_free_ char *spool_dir = NULL, *error = NULL;
        int r;

        r = trust_store_load(c->trust_anchors, &d->trust, &error);
        if (r < 0)
                return log_error_errno(r, "Cannot load the trust anchors %s: %s", c->trust_anchors, strna(error));
        if (c->crl) {
                r = trust_store_set_crl(d->trust, c->crl, &error);
                if (r < 0)
                        return log_error_errno(r, "Cannot load the revocation lists %s: %s", c->crl, strna(error));
        }

        m->custody_dir = path_join(c->state_dir, "custody");
        m->dock_key = c->dock_key ? strdup(c->dock_key) : path_join(c->state_dir, "dock-key.pem");
        spool_dir = c->spool_dir ? strdup(c->spool_dir) : path_join(c->state_dir, "spool");
        if (!m->custody_dir || !m->dock_key || !spool_dir)
                return log_oom();
        r = custody_log_open(m->custody_dir, m->dock_key, c->dock_name, &d->custody);
        if (r < 0)
                return log_error_errno(r, "Cannot open the custody log in %s: %m", m->custody_dir);
        custody_log_set_seal_size(d->custody, c->storage_custody_seal_size);
        r = spool_open(spool_dir, &d->spool);
        if (r < 0)
                return log_error_errno(r, "Cannot open the spool %s: %m", spool_dir);
        spool_set_limits(d->spool, c->spool_quota, c->spool_min_free);
        spool_set_room_handler(d->spool, on_spool_room, m);
        r = worker_pool_new(m->event, 2, &d->workers);
        if (r < 0)
                return log_error_errno(r, "Cannot start worker threads: %m");
        r = central_new(m->event, c, d->spool, d->custody, &d->central);
        if (r < 0)
                return r;
        central_set_confirmed_handler(d->central, on_segment_confirmed, m);
        central_set_held_check(d->central, recording_named, m);
        r = central_requeue_spool(d->central);
        if (r < 0)
                log_warning_errno(r, "Cannot scan the spool for pending uploads: %m");
        /* After the spool's queue is back: one status for all of it, when dockd is ready. */
        uploader_set_changed_handler(central_uploader(d->central), on_uploads_changed, m);
        r = report_outbox_new(m->event, c, central_uploader(d->central), &d->reports);
        if (r < 0)
                return log_error_errno(r, "Cannot set up malfunction reports: %m");
        r = sd_event_add_defer(m->event, &m->spool_defer, on_spool_defer, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(m->spool_defer, SD_EVENT_OFF);
        /* Custody goes to central storage at start and then periodically. */
        r = sd_event_add_time_relative(m->event, &m->custody_timer, CLOCK_MONOTONIC, 0, USEC_PER_SEC,
                                       on_custody_timer, m);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(m->event, &m->sweep_timer, CLOCK_MONOTONIC, sweep_interval(m), USEC_PER_SEC,
                                       on_sweep_timer, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(m->sweep_timer, SD_EVENT_ON);
        return sd_event_source_set_enabled(m->custody_timer, SD_EVENT_ON);
}

/* ---- the dock's LEDs ---- */

typedef struct Look {
        LedPattern green, red;
} Look;

#define BLINK_SLOW LED_PATTERN_BLINK(1000, 1000)

/* The dock's LED (README, "Status LEDs"): red steady when it cannot keep custody
 * or its spool is full, red blinking while central storage is unreachable
 * (recordings are held), green blinking while uploads are queued, green steady
 * when all is in. */
static void manager_update_dock_leds(Manager *m) {
        UploaderStats us = {};
        Look l;

        if (m->dock.central)
                uploader_get_stats(central_uploader(m->dock.central), &us);
        if (custody_log_failing(m->dock.custody) || (m->dock.spool && spool_is_full(m->dock.spool)))
                l = (Look) { LED_PATTERN_OFF, LED_PATTERN_ON };
        else if (us.failing)
                l = (Look) { LED_PATTERN_OFF, BLINK_SLOW };
        else if (us.queued > 0)
                l = (Look) { BLINK_SLOW, LED_PATTERN_OFF };
        else
                l = (Look) { LED_PATTERN_ON, LED_PATTERN_OFF };
        (void) led_set(m->dock_green, l.green);
        (void) led_set(m->dock_red, l.red);
}

static int manager_setup_bays(Manager *m) {
        static const BayCallbacks callbacks = {
                .state_changed = on_bay_state_changed,
        };
        bool disabled[DOCKD_MAX_BAYS] = {};
        int r;

        if (led_new(m->config->status_led_green, &m->dock_green) < 0 ||
            led_new(m->config->status_led_red, &m->dock_red) < 0)
                log_debug("The dock has no status LEDs (%s, %s).", m->config->status_led_green,
                          m->config->status_led_red);
        manager_update_dock_leds(m);

        for (unsigned i = 0; i < m->config->n_bays; i++) {
                r = bay_new(&m->dock, i + 1, &callbacks, m, &m->bays[i]);
                if (r < 0)
                        return log_error_errno(r, "Cannot set up bay %u: %m", i + 1);
        }
        /* Before hotplug: a camera in a disabled bay is never touched. An
         * unreadable file is said and leaves the bays as configured. */
        if (bays_disabled_load(m->config->state_dir, disabled, m->config->n_bays) >= 0)
                for (unsigned i = 0; i < m->config->n_bays; i++)
                        if (disabled[i])
                                bay_set_enabled(m->bays[i], false);
        /* Hotplug with enumeration: cameras already docked arrive now. */
        r = usb_manager_new(m->event, on_hotplug, m, &m->dock.usb);
        if (r < 0)
                return log_error_errno(r, "Cannot watch USB devices: %m");
        return 0;
}

static bool recording_held(const char *camera, const char *recording, void *userdata) {
        Manager *m = userdata;

        return holds_recording_held(m->holds, camera, recording);
}

int manager_start(Manager *m) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Cannot block signals: %m");
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m);
        if (r < 0)
                return log_error_errno(r, "Cannot watch signals: %m");
        /* A camera unplugged mid-write must not kill us. */
        signal(SIGPIPE, SIG_IGN);

        r = manager_setup_state_dir(m);
        if (r < 0)
                return r;
        r = holds_load(m->config->state_dir, &m->holds);
        if (r < 0)
                return log_error_errno(r, "Cannot load the holds: %m");
        m->dock.recording_held = recording_held;
        m->dock.recording_held_userdata = m;
        r = manager_setup_storage(m);
        if (r < 0)
                return r;
        r = manager_setup_operations(m);
        if (r < 0)
                return r;
        r = manager_setup_bays(m);
        if (r < 0)
                return r;

        r = sd_event_now(m->event, CLOCK_MONOTONIC, &m->started_at);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(m->event, &m->status_timer, CLOCK_MONOTONIC,
                                       5 * USEC_PER_SEC, USEC_PER_SEC, on_status_timer, m);
        if (r < 0)
                return log_error_errno(r, "Cannot add status timer: %m");
        (void) sd_event_source_set_enabled(m->status_timer, SD_EVENT_ON);
        return 0;
}

void manager_stop(Manager *m) {
        if (m->stopping)
                return;
        m->stopping = true;
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping: leaving work in flight resumable");
        (void) sd_event_exit(m->event, 0);
}

/* ---- status ---- */

static char *manager_status_line(Manager *m) {
        unsigned docked = 0, offloading = 0, fault = 0;
        UploaderStats us = {};
        char *s;

        for (unsigned i = 0; i < m->config->n_bays; i++) {
                Bay *b = m->bays[i];
                if (!b || b->state == BAY_EMPTY)
                        continue;
                docked++;
                offloading += b->state == BAY_OFFLOADING || b->state == BAY_IDENTIFYING || b->state == BAY_SYNCING;
                fault += b->state == BAY_FAULT;
        }
        if (m->dock.central)
                uploader_get_stats(central_uploader(m->dock.central), &us);
        if (asprintf(&s, "%s: %u of %u bays in use, %u offloading, %u fault; %zu upload(s) queued%s%s",
                     docked ? "Working" : "Idle", docked, m->config->n_bays, offloading, fault, us.queued,
                     us.failing ? ", storage failing" : "",
                     m->dock.spool && spool_is_full(m->dock.spool) ? ", spool full" : "") < 0)
                return NULL;
        return s;
}

void manager_update_status(Manager *m) {
        _cleanup_free_ char *s = manager_status_line(m), *msg = NULL;

        if (!m->stopping)
                manager_update_dock_leds(m);
        if (!s || m->stopping || streq_ptr(s, m->last_status))
                return;
        if (asprintf(&msg, "STATUS=%s", s) < 0)
                return;
        (void) sd_notify(false, msg);
        free_and_replace(m->last_status, s);
        bus_watcher_changed(m->bus_watcher);
}

char *manager_status_json(Manager *m) {
        struct json_object *o = json_object_new_object(), *bays, *storage, *clock;
        _cleanup_free_ char *line = manager_status_line(m);
        UploaderStats us = {};
        char *s;

        if (!o)
                return NULL;
        json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
        json_object_object_add(o, "dock", json_object_new_string(m->config->dock_name));
        json_object_object_add(o, "status", json_object_new_string(line ?: ""));
        bays = json_object_new_array();
        for (unsigned i = 0; i < m->config->n_bays; i++)
                if (m->bays[i])
                        json_object_array_add(bays, bay_status_json(m->bays[i]));
        json_object_object_add(o, "bays", bays);
        clock = json_object_new_object();
        json_object_object_add(clock, "synchronised", json_object_new_boolean(clock_synchronised() > 0));
        json_object_object_add(o, "dock_clock", clock);
        storage = json_object_new_object();
        json_object_object_add(storage, "backend",
                               json_object_new_string(storage_backend_to_string(m->config->storage_backend)));
        if (m->dock.central) {
                uploader_get_stats(central_uploader(m->dock.central), &us);
                json_object_object_add(storage, "queued", json_object_new_int64((int64_t) us.queued));
                json_object_object_add(storage, "running", json_object_new_int64((int64_t) us.running));
                json_object_object_add(storage, "waiting_retry", json_object_new_int64((int64_t) us.waiting_retry));
                json_object_object_add(storage, "bytes_pending", json_object_new_int64((int64_t) us.bytes_pending));
                json_object_object_add(storage, "bytes_confirmed", json_object_new_int64((int64_t) us.bytes_confirmed));
                json_object_object_add(storage, "failing", json_object_new_boolean(us.failing));
                if (us.failing && us.last_error)
                        json_object_object_add(storage, "last_error", json_object_new_string(us.last_error));
        }
        json_object_object_add(o, "storage", storage);
        if (m->dock.spool) {
                struct json_object *sp = json_object_new_object();
                json_object_object_add(sp, "dir", json_object_new_string(spool_dir(m->dock.spool)));
                json_object_object_add(sp, "bytes", json_object_new_int64((int64_t) spool_usage(m->dock.spool)));
                json_object_object_add(sp, "quota", json_object_new_int64((int64_t) m->config->spool_quota));
                json_object_object_add(sp, "full", json_object_new_boolean(spool_is_full(m->dock.spool)));
                json_object_object_add(o, "spool", sp);
        }
        s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        return s;
}

void manager_notify_ready(Manager *m) {
        _cleanup_free_ char *ready = NULL, *s = manager_status_line(m);

        if (m->stopping)
                return;
        if (asprintf(&ready, "READY=1\nSTATUS=%s", strna(s)) >= 0)
                (void) sd_notify(false, ready);
        free_and_replace(m->last_status, s);
        log_info("dockd %s running: dock %s, %u bays, storage %s.", PACKAGE_VERSION,
                 m->config->dock_name, m->config->n_bays,
                 storage_backend_to_string(m->config->storage_backend));
}

int manager_run(Manager *m) {
        int r;

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return r;
}
