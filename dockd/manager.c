/* SPDX-License-Identifier: Apache-2.0 */
/* manager.c: lifecycle of the daemon around one sd-event loop: signals, readiness
 * and STATUS= to systemd, the watchdog, and the state directory. */
#include <json-c/json.h>
#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "fileio.h"
#include "manager.h"

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

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
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
        sd_event_source_disable_unref(m->status_timer);
        sd_bus_slot_unref(m->bus_vtable_slot);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        free(m->last_status);
        free(m);
        return NULL;
}

static int manager_setup_state_dir(Manager *m) {
        int r = mkdir_p_durable(m->config->state_dir, 0750);

        if (r < 0)
                return log_error_errno(r, "Cannot create state directory %s: %m", m->config->state_dir);
        if (access(m->config->state_dir, W_OK) < 0)
                return log_error_errno(errno, "State directory %s is not writable: %m", m->config->state_dir);
        return 0;
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

        r = manager_bus_setup(m);
        if (r < 0)
                log_warning_errno(r, "D-Bus API unavailable, dockctl will not work: %m");

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

static char *manager_status_line(Manager *m) {
        char *s;

        if (asprintf(&s, "Idle: %u bays, storage %s", m->config->n_bays,
                     storage_backend_to_string(m->config->storage_backend)) < 0)
                return NULL;
        return s;
}

void manager_update_status(Manager *m) {
        _cleanup_free_ char *s = manager_status_line(m), *msg = NULL;

        if (!s || m->stopping || streq_ptr(s, m->last_status))
                return;
        if (asprintf(&msg, "STATUS=%s", s) < 0)
                return;
        (void) sd_notify(false, msg);
        free_and_replace(m->last_status, s);
}

char *manager_status_json(Manager *m) {
        struct json_object *o = json_object_new_object();
        _cleanup_free_ char *line = manager_status_line(m);
        char *s;

        if (!o)
                return NULL;
        json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
        json_object_object_add(o, "dock", json_object_new_string(m->config->dock_name));
        json_object_object_add(o, "status", json_object_new_string(line ?: ""));
        json_object_object_add(o, "bays", json_object_new_int((int) m->config->n_bays));
        json_object_object_add(o, "storage",
                               json_object_new_string(storage_backend_to_string(m->config->storage_backend)));
        s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        return s;
}

int manager_run(Manager *m) {
        _cleanup_free_ char *ready = NULL, *s = manager_status_line(m);
        int r;

        if (asprintf(&ready, "READY=1\nSTATUS=%s", strna(s)) < 0)
                return -ENOMEM;
        (void) sd_notify(false, ready);
        free_and_replace(m->last_status, s);
        log_info("dockd %s running: dock %s, %u bays, storage %s.", PACKAGE_VERSION,
                 m->config->dock_name, m->config->n_bays,
                 storage_backend_to_string(m->config->storage_backend));

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return r;
}
