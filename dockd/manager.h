/* SPDX-License-Identifier: Apache-2.0 */
/* manager.h: the daemon's root object: the event loop, the configuration, the bays,
 * central storage, and the D-Bus API; built by main(), torn down on SIGTERM. */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "conf.h"

typedef struct Manager {
        DockdConfig *config;
        sd_event *event;
        sd_bus *bus;
        sd_bus_slot *bus_vtable_slot;
        sd_event_source *status_timer;

        usec_t started_at;        /* CLOCK_MONOTONIC */
        bool stopping;
        char *last_status;        /* last STATUS= sent, to send only changes */
} Manager;

int manager_new(DockdConfig *config, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Connect to hardware, storage and the bus; after it, the daemon is ready. */
int manager_start(Manager *m);
/* Run until SIGTERM/SIGINT; returns the exit status. */
int manager_run(Manager *m);
/* Begin a clean stop: work in flight is left resumable. */
void manager_stop(Manager *m);

/* Send STATUS= when it changed. */
void manager_update_status(Manager *m);
/* A JSON object describing the dock (dockctl status). Caller frees. */
char *manager_status_json(Manager *m);

int manager_bus_setup(Manager *m);
