/* SPDX-License-Identifier: Apache-2.0 */
/* bus-changes.c: see bus-changes.h. Changes nobody reports through a callback
 * (bytes pulled, the spool's use) are found by comparing the views every
 * BUS_PROGRESS_INTERVAL; a change a part reports (a bay's state, the upload
 * queue) goes out from a defer source, so that all of one loop pass's changes
 * make one signal. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-changes.h"
#include "log.h"
#include "macro.h"

typedef struct BusWatched {
        char *path;
        const BusObjectType *type;
        void *userdata;
        char **sent;                  /* per property: the value last announced, as text */
        uint64_t progress_sent_at;    /* CLOCK_MONOTONIC */
        bool progress_pending;        /* changed progress waits for its interval */
} BusWatched;

struct BusWatcher {
        sd_bus *bus;
        sd_event *event;
        sd_event_source *defer, *timer;
        BusWatched *objects;
        size_t n_objects;
        BusWatcherHooks hooks;        /* .now, .emit NULL: the defaults */
};

static char *value_text(const BusProperty *p, const void *view) {
        const char *v = (const char *) view + p->offset;
        char *s = NULL;

        switch (p->type) {
        case BUS_VALUE_STRING:
                return strdup(*(const char *const *) v ?: "");
        case BUS_VALUE_CHARS:
                return strdup(v);
        case BUS_VALUE_BOOL:
                return strdup(*(const bool *) v ? "1" : "0");
        case BUS_VALUE_U32:
                return asprintf(&s, "%" PRIu32, *(const uint32_t *) v) < 0 ? NULL : s;
        case BUS_VALUE_U64:
                return asprintf(&s, "%" PRIu64, *(const uint64_t *) v) < 0 ? NULL : s;
        }
        return NULL;
}

int bus_property_append(sd_bus_message *reply, const BusObjectType *t, const void *view, const char *property) {
        for (size_t i = 0; i < t->n_properties; i++) {
                const BusProperty *p = &t->properties[i];
                const char *v = (const char *) view + p->offset;

                if (!streq(p->name, property))
                        continue;
                switch (p->type) {
                case BUS_VALUE_STRING:
                        return sd_bus_message_append(reply, "s", *(const char *const *) v ?: "");
                case BUS_VALUE_CHARS:
                        return sd_bus_message_append(reply, "s", v);
                case BUS_VALUE_BOOL:
                        return sd_bus_message_append(reply, "b", (int) *(const bool *) v);
                case BUS_VALUE_U32:
                        return sd_bus_message_append(reply, "u", *(const uint32_t *) v);
                case BUS_VALUE_U64:
                        return sd_bus_message_append(reply, "t", *(const uint64_t *) v);
                }
        }
        return -ENOENT;
}

/* Announce what changed of o: every changed property that is not rate-limited,
 * with all progress; else all progress, if some changed, once its interval
 * passed. Progress not announced stays pending: the timer looks again. */
static void watched_flush(BusWatcher *w, BusWatched *o, uint64_t now) {
        const BusObjectType *t = o->type;
        _cleanup_free_ void *view = calloc(1, t->view_size);
        _cleanup_strv_free_ char **now_text = calloc(t->n_properties + 1, sizeof(char *));
        _cleanup_free_ const char **names = calloc(t->n_properties + 1, sizeof(char *));
        bool other = false, progress = false;
        size_t n = 0;
        int r;

        if (!view || !now_text || !names)
                return (void) log_oom();
        t->view(o->userdata, view);
        for (size_t i = 0; i < t->n_properties; i++) {
                now_text[i] = value_text(&t->properties[i], view);
                if (!now_text[i])
                        return (void) log_oom();
                if (streq(now_text[i], o->sent[i]))
                        continue;
                if (t->properties[i].rate_limited)
                        progress = true;
                else
                        other = true;
        }
        o->progress_pending = progress && !other && now < o->progress_sent_at + BUS_PROGRESS_INTERVAL;
        if (!other && (!progress || o->progress_pending))
                return;
        for (size_t i = 0; i < t->n_properties; i++) {
                const BusProperty *p = &t->properties[i];
                char *old;

                /* Progress goes out whole: a client never pairs a new done with an old total. */
                if (!p->rate_limited && streq(now_text[i], o->sent[i]))
                        continue;
                names[n++] = p->name;
                /* Swapped, not moved: now_text stays a list without holes, and its
                 * cleanup frees the old text with every one not announced. */
                old = o->sent[i];
                o->sent[i] = now_text[i];
                now_text[i] = old;
        }
        o->progress_sent_at = now;
        r = w->hooks.emit ? w->hooks.emit(w->hooks.userdata, o->path, t->interface, (char **) names)
                          : sd_bus_emit_properties_changed_strv(w->bus, o->path, t->interface, (char **) names);
        if (r < 0)
                log_debug_errno(r, "Cannot send PropertiesChanged for %s: %m", o->path);
}

void bus_watcher_flush(BusWatcher *w) {
        uint64_t now = 0;

        if (w->hooks.now)
                now = w->hooks.now(w->hooks.userdata);
        else
                (void) sd_event_now(w->event, CLOCK_MONOTONIC, &now);
        for (size_t i = 0; i < w->n_objects; i++)
                watched_flush(w, &w->objects[i], now);
}

static int on_defer(sd_event_source *s, void *userdata) {
        bus_watcher_flush(userdata);
        return 0;
}

/* Every interval; an object whose progress waits for its interval is looked at
 * again when that ends, so the last value is never more than an interval late. */
static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        BusWatcher *w = userdata;
        uint64_t next = usec + BUS_PROGRESS_INTERVAL;

        bus_watcher_flush(w);
        for (size_t i = 0; i < w->n_objects; i++)
                if (w->objects[i].progress_pending)
                        next = MIN(next, MAX(w->objects[i].progress_sent_at + BUS_PROGRESS_INTERVAL, usec + 1));
        return sd_event_source_set_time(s, next);
}

int bus_watcher_new(sd_bus *bus, sd_event *event, BusWatcher **ret) {
        _cleanup_(bus_watcher_freep) BusWatcher *w = calloc(1, sizeof(BusWatcher));
        int r;

        if (!w)
                return -ENOMEM;
        w->bus = sd_bus_ref(bus);
        w->event = sd_event_ref(event);
        r = sd_event_add_defer(event, &w->defer, on_defer, w);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(w->defer, SD_EVENT_OFF);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(event, &w->timer, CLOCK_MONOTONIC, BUS_PROGRESS_INTERVAL, 0, on_timer, w);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(w->timer, SD_EVENT_ON);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(w);
        return 0;
}

BusWatcher *bus_watcher_free(BusWatcher *w) {
        if (!w)
                return NULL;
        for (size_t i = 0; i < w->n_objects; i++) {
                free(w->objects[i].path);
                strv_free(w->objects[i].sent);
        }
        free(w->objects);
        sd_event_source_disable_unref(w->defer);
        sd_event_source_disable_unref(w->timer);
        sd_event_unref(w->event);
        sd_bus_unref(w->bus);
        free(w);
        return NULL;
}

int bus_watcher_add(BusWatcher *w, const char *path, const BusObjectType *type, void *userdata) {
        _cleanup_free_ void *view = calloc(1, type->view_size);
        _cleanup_strv_free_ char **sent = calloc(type->n_properties + 1, sizeof(char *));
        _cleanup_free_ char *p = strdup(path);
        BusWatched *objects;

        if (!view || !sent || !p)
                return -ENOMEM;
        type->view(userdata, view);
        for (size_t i = 0; i < type->n_properties; i++) {
                sent[i] = value_text(&type->properties[i], view);
                if (!sent[i])
                        return -ENOMEM;
        }
        objects = reallocarray(w->objects, w->n_objects + 1, sizeof(BusWatched));
        if (!objects)
                return -ENOMEM;
        w->objects = objects;
        w->objects[w->n_objects++] = (BusWatched) {
                .path = TAKE_PTR(p), .type = type, .userdata = userdata, .sent = TAKE_PTR(sent),
        };
        return 0;
}

void bus_watcher_set_hooks(BusWatcher *w, const BusWatcherHooks *hooks) {
        w->hooks = *hooks;
}

void bus_watcher_changed(BusWatcher *w) {
        if (w)
                (void) sd_event_source_set_enabled(w->defer, SD_EVENT_ONESHOT);
}
