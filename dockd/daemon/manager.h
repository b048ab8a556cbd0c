/* SPDX-License-Identifier: Apache-2.0 */
/* manager.h: the daemon's root object: the event loop, the configuration, the bays,
 * central storage, and the D-Bus API; built by main(), torn down on SIGTERM. */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "backend.h"
#include "bay.h"
#include "dockd-config.h"
#include "custody.h"
#include "led.h"
#include "spool.h"
#include "uploader.h"
#include "usb.h"
#include "verify.h"
#include "worker.h"

typedef struct Manager {
        DockdConfig *config;
        sd_event *event;
        sd_bus *bus;
        sd_bus_slot *bus_vtable_slot;
        sd_event_source *status_timer;

        UsbManager *usb;
        Bay *bays[DOCKD_MAX_BAYS];
        Spool *spool;
        CustodyLog *custody;
        TrustStore *trust;
        Backend *backend;
        Uploader *uploader;
        WorkerPool *workers;        /* local blocking work: re-hashing on resume */
        char *custody_dir;
        char *dock_key;
        sd_event_source *custody_timer;
        sd_event_source *spool_defer;   /* tell bays the spool has room */
        bool spool_full;            /* pulls paused */
        bool custody_failed;        /* the custody log could not be written */
        struct Outbox *outbox;      /* malfunction reports */
        Led *dock_green, *dock_red;

        usec_t started_at;          /* CLOCK_MONOTONIC */
        bool stopping;
        char *last_status;          /* last STATUS= sent, to send only changes */
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
/* indicator.c */
void manager_update_dock_leds(Manager *m);

/* "<prefix>/<area>/<serial>/<recording>/<index:06>.<ext>" (area: evidence, quarantine). */
char *manager_object_key(Manager *m, const char *area, const SegmentId *id, const char *ext);
/* Queue a pulled segment's objects for central storage (idempotent). */
int manager_enqueue_segment(Manager *m, const SegmentId *id, const SegmentState *st);
/* Append to the custody log; a failure is logged (CUSTODY_FAILURE) and returned:
 * without the record, nothing that depends on it may happen. */
int manager_custody(Manager *m, const char *event, const char *bay, const char *serial,
                    const char *segment, const LogField *fields);
/* May a pull of need more bytes go on? Sets and clears the spool-full alert. */
bool manager_spool_has_room(Manager *m, uint64_t need);
/* Spool space may have been freed: resume paused pulls. */
void manager_spool_check(Manager *m);
Bay *manager_bay_with_serial(Manager *m, const char *serial);
int manager_upload_custody(Manager *m);
int manager_requeue_spool(Manager *m);
