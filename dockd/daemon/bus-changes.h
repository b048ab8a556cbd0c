/* SPDX-License-Identifier: Apache-2.0 */
/* bus-changes.h: PropertiesChanged for dockd's D-Bus objects (docs/dbus-api.md,
 * "Conventions"). An object's properties are described once, as members of a
 * plain "view" struct its owner fills; the watcher compares each view with what
 * it last announced and sends one signal per object for what changed. Progress
 * properties (rate_limited) go out together, at most once per
 * BUS_PROGRESS_INTERVAL per object, and with every other change of the object,
 * so that a client never sees a state next to stale progress. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "macro.h"

#define BUS_PROGRESS_INTERVAL (500 * 1000ULL)   /* µs */

typedef enum BusValueType {
        BUS_VALUE_STRING,     /* const char * in the view, NULL as "" */
        BUS_VALUE_CHARS,      /* a char array in the view */
        BUS_VALUE_BOOL,
        BUS_VALUE_U32,
        BUS_VALUE_U64,
} BusValueType;

/* One emits-change or emits-invalidation property; `offset` of its value (or of
 * what tells a change of it, for a container) in the view. */
typedef struct BusProperty {
        const char *name;
        BusValueType type;
        size_t offset;
        bool rate_limited;
} BusProperty;

#define BUS_PROPERTY(view_type, name, type, member, rate_limited) \
        { name, type, offsetof(view_type, member), rate_limited }

typedef struct BusObjectType {
        const char *interface;
        const BusProperty *properties;
        size_t n_properties;
        size_t view_size;
        /* Fill the view from the live object; strings borrowed until the next call. */
        void (*view)(void *userdata, void *ret_view);
} BusObjectType;

/* Append property's value, from view, to reply as its type says ("s", "b", "u",
 * "t"); -ENOENT if t has no such property (the caller's own, or none). */
int bus_property_append(sd_bus_message *reply, const BusObjectType *t, const void *view, const char *property);

typedef struct BusWatcher BusWatcher;

int bus_watcher_new(sd_bus *bus, sd_event *event, BusWatcher **ret);
BusWatcher *bus_watcher_free(BusWatcher *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(BusWatcher *, bus_watcher_free);

/* Watch the object at path (copied); its present values are taken as announced. */
int bus_watcher_add(BusWatcher *w, const char *path, const BusObjectType *type, void *userdata);
/* Something may have changed: compare and announce from the loop, once per pass. */
void bus_watcher_changed(BusWatcher *w);
/* Compare and announce now (what the loop does once per pass and every
 * interval). */
void bus_watcher_flush(BusWatcher *w);

/* The clock (µs, monotonic) and what sends a PropertiesChanged, for tests that
 * drive time themselves. Defaults: the event loop's CLOCK_MONOTONIC and
 * sd_bus_emit_properties_changed_strv(). */
typedef struct BusWatcherHooks {
        uint64_t (*now)(void *userdata);
        int (*emit)(void *userdata, const char *path, const char *interface, char **names);
        void *userdata;
} BusWatcherHooks;
void bus_watcher_set_hooks(BusWatcher *w, const BusWatcherHooks *hooks);
