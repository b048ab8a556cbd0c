/* SPDX-License-Identifier: Apache-2.0 */
/* dock-context.h: what a bay and its offload need from the dock, handed down
 * by the daemon (after fwupd's FuContext): the event loop, the configuration
 * and the services below the dock layer. A bay never sees the manager: it gets
 * this, and reports back through the callbacks it was given. Everything here is
 * borrowed; the manager owns it and outlives every bay. */
#pragma once

#include <systemd/sd-event.h>

#include "central.h"
#include "custody.h"
#include "dockd-config.h"
#include "report-outbox.h"
#include "spool.h"
#include "usb.h"
#include "verify.h"
#include "worker.h"

typedef struct DockContext {
        sd_event *event;
        const DockdConfig *config;
        UsbManager *usb;            /* cameras are opened on it */
        Spool *spool;               /* pulled segments, and whether there is room */
        TrustStore *trust;          /* camera certificates and manifest signatures */
        WorkerPool *workers;        /* local blocking work: re-hashing on resume */
        CustodyLog *custody;
        Central *central;           /* pulled segments go there */
        ReportOutbox *reports;      /* malfunction reports */
        /* Is camera's recording held by a preservation request (the daemon's
         * holds)? Then nothing of it is deleted from the camera. */
        bool (*recording_held)(const char *camera, const char *recording, void *userdata);
        void *recording_held_userdata;
} DockContext;
