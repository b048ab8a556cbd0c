/* SPDX-License-Identifier: Apache-2.0 */
/* manager.h: the daemon's root object, the only part of dockd that knows every
 * other: the event loop, the configuration, the parts below the dock layer
 * (lent to every bay as its DockContext) and the bays; built by main(),
 * torn down on SIGTERM. Its D-Bus API is manager-bus.h. It connects the
 * parts' callbacks: a bay's state change updates STATUS= and the dock's LEDs, a
 * segment central storage confirmed goes to the bay holding its camera, and a
 * spool with room again wakes the bays' paused pulls. */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bay.h"
#include "custody-tally.h"
#include "holds.h"
#include "dock-context.h"
#include "led.h"
#include "reconcile.h"

/* metrics.h includes this header: named here, not included. */
typedef struct Metrics Metrics;
typedef struct BusWatcher BusWatcher;
typedef struct BusPolkit BusPolkit;

typedef struct Manager {
        DockdConfig *config;
        sd_event *event;
        sd_bus *bus;
        sd_bus_slot *bus_vtable_slot;
        BusWatcher *bus_watcher;    /* PropertiesChanged of the dock and its bays */
        BusPolkit *polkit;          /* operator actions' authorisations in flight */
        Holds *holds;               /* preservation requests (holds.h) */
        sd_event_source *status_timer;

        /* The parts below the dock layer, owned here and lent to the bays. */
        DockContext dock;
        Bay *bays[DOCKD_MAX_BAYS];
        char *custody_dir;
        char *dock_key;
        sd_event_source *custody_timer;
        sd_event_source *sweep_timer;   /* abandoned partial pulls */
        sd_event_source *spool_defer;   /* tell bays the spool has room */
        Led *dock_green, *dock_red;

        /* IT operations (operations.c, metrics.c): the custody log counted,
         * reconciliation and its schedule, the metrics. */
        CustodyTally *tally;
        Reconciler *reconciler;
        sd_event_source *reconcile_timer;
        Metrics *metrics;

        usec_t started_at;          /* CLOCK_MONOTONIC */
        bool stopping;
        char *last_status;          /* last STATUS= sent, to send only changes */
} Manager;

int manager_new(DockdConfig *config, Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Connect to hardware and storage; with manager_bus_setup() (manager-bus.h)
 * after it, the daemon is ready. */
int manager_start(Manager *m);
/* Tell the service manager (READY=1) and the log that the dock serves: once
 * its D-Bus name is ours, so that whoever waits for READY=1 can use it. */
void manager_notify_ready(Manager *m);
/* Run until SIGTERM/SIGINT; returns the exit status. */
int manager_run(Manager *m);
/* Begin a clean stop: work in flight is left resumable. */
void manager_stop(Manager *m);

/* Send STATUS= when it changed, and show the dock's state on its LEDs. */
void manager_update_status(Manager *m);
/* A JSON object describing the dock (dockctl status). Caller frees. */
char *manager_status_json(Manager *m);

/* operations.c: the tally, the reconciler and its schedule, the metrics; set
 * up after the storage, freed before it. */
int manager_setup_operations(Manager *m);
void manager_free_operations(Manager *m);
/* Once per custody interval: the tally's checkpoint. */
void manager_operations_checkpoint(Manager *m);
