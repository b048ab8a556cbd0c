/* SPDX-License-Identifier: Apache-2.0 */
/* The PropertiesChanged rate limit of progress (daemon/bus-changes.h,
 * docs/dbus-api.md "Conventions"), driven by a fake clock: at most one signal
 * carrying progress per object every BUS_PROGRESS_INTERVAL, the last value
 * never dropped (it goes out once the interval ends), and any other change of
 * the object sent at once, with the current progress. No bus and no event loop
 * run: the watcher's clock and emitter are the test's. */
#include <glib.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "bus-changes.h"

typedef struct View {
        const char *state;
        const char *name;   /* never changes */
        uint64_t done, total;
} View;

static const BusProperty properties[] = {
        BUS_PROPERTY(View, "State", BUS_VALUE_STRING, state, false),
        BUS_PROPERTY(View, "Name", BUS_VALUE_STRING, name, false),
        BUS_PROPERTY(View, "BytesDone", BUS_VALUE_U64, done, true),
        BUS_PROPERTY(View, "BytesTotal", BUS_VALUE_U64, total, true),
};

static View live;

static void view(void *userdata, void *ret) {
        *(View *) ret = live;
}

static const BusObjectType type = {
        .interface = "org.dockd.Test1",
        .properties = properties,
        .n_properties = G_N_ELEMENTS(properties),
        .view_size = sizeof(View),
        .view = view,
};

typedef struct Signal {
        uint64_t at;
        bool state, done, total;
} Signal;

typedef struct Fake {
        uint64_t now;
        Signal signals[256];
        size_t n;
} Fake;

static uint64_t fake_now(void *userdata) {
        return ((Fake *) userdata)->now;
}

static int fake_emit(void *userdata, const char *path, const char *interface, char **names) {
        Fake *f = userdata;
        Signal *s = &f->signals[f->n++];

        g_assert_cmpuint(f->n, <=, G_N_ELEMENTS(f->signals));
        g_assert_cmpstr(path, ==, "/test/1");
        g_assert_cmpstr(interface, ==, "org.dockd.Test1");
        *s = (Signal) { .at = f->now };
        for (char **n = names; *n; n++) {
                s->state |= strcmp(*n, "State") == 0;
                s->done |= strcmp(*n, "BytesDone") == 0;
                s->total |= strcmp(*n, "BytesTotal") == 0;
        }
        return 0;
}

static BusWatcher *watcher(Fake *f) {
        sd_event *e = NULL;
        BusWatcher *w = NULL;

        live = (View) { .state = "empty", .name = "bay 1" };
        *f = (Fake) { .now = 1000000 };
        g_assert_cmpint(sd_event_new(&e), >=, 0);
        g_assert_cmpint(bus_watcher_new(NULL, e, &w), >=, 0);
        sd_event_unref(e);   /* the watcher keeps its reference */
        bus_watcher_set_hooks(w, &(BusWatcherHooks) { .now = fake_now, .emit = fake_emit, .userdata = f });
        g_assert_cmpint(bus_watcher_add(w, "/test/1", &type, NULL), >=, 0);
        return w;
}

/* Progress every 100 ms for 3 s: at most one signal per 500 ms, each carrying
 * done and total together, and the last value follows within one interval. */
static void test_progress_rate(void) {
        Fake f;
        BusWatcher *w = watcher(&f);
        uint64_t start = f.now;

        live.state = "offloading";
        bus_watcher_flush(w);
        g_assert_cmpuint(f.n, ==, 1);
        g_assert_true(f.signals[0].state);
        for (unsigned i = 1; i <= 30; i++) {
                f.now = start + i * 100000;
                live.done = i * 1000;
                live.total = 30000;
                bus_watcher_flush(w);
        }
        for (size_t i = 1; i < f.n; i++) {
                g_assert_true(f.signals[i].done && f.signals[i].total);
                g_assert_false(f.signals[i].state);
                g_assert_cmpuint(f.signals[i].at - f.signals[i - 1].at, >=, BUS_PROGRESS_INTERVAL);
        }
        /* 3 s at one per 500 ms, the first at the first change. */
        g_assert_cmpuint(f.n - 1, >=, 5);
        g_assert_cmpuint(f.n - 1, <=, 7);
        /* The last change (at 3.0 s) went out, or goes out once its interval ends. */
        if (f.signals[f.n - 1].at != start + 3000000) {
                size_t before = f.n;

                f.now = f.signals[f.n - 1].at + BUS_PROGRESS_INTERVAL - 1;
                bus_watcher_flush(w);
                g_assert_cmpuint(f.n, ==, before);
                f.now++;
                bus_watcher_flush(w);
                g_assert_cmpuint(f.n, ==, before + 1);
                g_assert_true(f.signals[f.n - 1].done);
        }
        /* Nothing changed since: nothing more. */
        f.now += 10 * BUS_PROGRESS_INTERVAL;
        bus_watcher_flush(w);
        bus_watcher_flush(w);
        g_assert_true(f.signals[f.n - 1].at < f.now);
        bus_watcher_free(w);
}

/* A state change inside the progress interval goes out at once, carrying the
 * current progress (a client never sees a state next to stale progress). */
static void test_state_carries_progress(void) {
        Fake f;
        BusWatcher *w = watcher(&f);

        live.done = 10;
        bus_watcher_flush(w);
        g_assert_cmpuint(f.n, ==, 1);
        g_assert_true(f.signals[0].done && !f.signals[0].state);
        f.now += 100000;
        live.done = 20;
        bus_watcher_flush(w);
        g_assert_cmpuint(f.n, ==, 1);   /* rate-limited: pending */
        f.now += 1;
        live.state = "ready";
        bus_watcher_flush(w);
        g_assert_cmpuint(f.n, ==, 2);
        g_assert_true(f.signals[1].state && f.signals[1].done && f.signals[1].total);
        g_assert_cmpuint(f.signals[1].at - f.signals[0].at, <, BUS_PROGRESS_INTERVAL);
        /* The progress it carried is not sent again once the interval ends. */
        f.now += BUS_PROGRESS_INTERVAL;
        bus_watcher_flush(w);
        g_assert_cmpuint(f.n, ==, 2);
        bus_watcher_free(w);
}

/* Only what changed: a state alone is not rate-limited, however often. */
static void test_state_not_limited(void) {
        Fake f;
        BusWatcher *w = watcher(&f);
        static const char *const states[] = { "identifying", "syncing", "offloading", "testing", "ready" };

        for (size_t i = 0; i < G_N_ELEMENTS(states); i++) {
                f.now += 1000;
                live.state = states[i];
                bus_watcher_flush(w);
                g_assert_cmpuint(f.n, ==, i + 1);
                g_assert_true(f.signals[i].state);
        }
        bus_watcher_flush(w);
        g_assert_cmpuint(f.n, ==, G_N_ELEMENTS(states));
        bus_watcher_free(w);
}

/* A change to one property (State) and not to one after it (Name), many
 * times over: the text the flush made of the unchanged one is freed too (the
 * leak checker of a sanitizer build sees it; the daemon does this at every
 * change of a bay). */
static void test_unchanged_freed(void) {
        Fake f;
        BusWatcher *w = watcher(&f);
        static const char *const states[] = { "offloading", "ready" };

        for (size_t i = 0; i < 200; i++) {
                f.now += 1000;
                live.state = states[i % 2];
                bus_watcher_flush(w);
        }
        g_assert_cmpuint(f.n, ==, 200);
        bus_watcher_free(w);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/bus-changes/progress-rate", test_progress_rate);
        g_test_add_func("/bus-changes/state-carries-progress", test_state_carries_progress);
        g_test_add_func("/bus-changes/state-not-limited", test_state_not_limited);
        g_test_add_func("/bus-changes/unchanged-freed", test_unchanged_freed);
        return g_test_run();
}
