/* SPDX-License-Identifier: Apache-2.0 */
/* harness.h: a dock for component tests, without the daemon around it: the
 * parts a bay or an offload gets in its DockContext (a configuration, the spool,
 * the custody log, the trust store, central storage in a directory, the report
 * outbox, USB), built the way the daemon builds them, in a fresh directory. The
 * test runs inside vdock (tests/vdock): its cameras, chargers and LEDs are the
 * umockdev world this process sees; vdock_command() docks and undocks them. */
#pragma once

#include <glib.h>

#include "dock-context.h"

typedef struct Harness Harness;

struct Harness {
        char *dir;                  /* removed at the end */
        DockdConfig *config;
        sd_event *event;
        DockContext ctx;
        sd_event_source *room;      /* the spool has room: on_room, from the loop */

        /* Set by the test. */
        void (*on_hotplug)(Harness *h, libusb_device *dev, const char *port, bool arrived);
        void (*on_confirmed)(Harness *h, const SegmentId *id);
        void (*on_room)(Harness *h);
        void *userdata;
};

/* extra_config: more configuration lines (INI), appended to the harness's own. */
Harness *harness_new(const char *extra_config);
void harness_free(Harness *h);

/* Run the loop until done(h) is true; false if it was not within timeout
 * seconds (a safety net against a hang, not a speed requirement). */
bool harness_run_until(Harness *h, bool (*done)(Harness *h), unsigned timeout);
/* Run the loop for a while (for things that must not happen). */
void harness_run_for(Harness *h, unsigned msec);

/* A command on vdock's control socket; its reply ("ok …"), to free. */
char *vdock_command(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* objects_left of camera serial in vdock's status (its recording folders count). */
unsigned vdock_objects_left(const char *serial);

/* The custody log's records (JSON lines) with this event and segment
 * ("recording/000003"; NULL: any). */
unsigned custody_count(Harness *h, const char *event, const char *segment);
/* A file below the harness's directory: central/…, state/…; NULL if absent. */
char *harness_read(Harness *h, const char *relative, gsize *ret_size);
/* The SHA-256 of bytes, lower-case hex. */
char *sha256_hex_of(const void *data, gsize size);
