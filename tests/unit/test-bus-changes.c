/* SPDX-License-Identifier: Apache-2.0 */
/* The PropertiesChanged rate limit of progress (daemon/bus-changes.h,
 * docs/dbus-api.md "Conventions"), driven by a fake clock: at most one signal
 * carrying progress per object every BUS_PROGRESS_INTERVAL, the last value
 * never dropped (it goes out once the interval ends), and any other change of
 * the object sent at once, with the current progress. No bus and no event loop
 * run: the watcher's clock and emitter are the test's. */
#include <glib.h>
#include <malloc.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "bus-changes.h"

typedef struct View {
        const char *state;
        uint64_t done, total;
} View;

static const BusProperty properties[] = {
        BUS_PROPERTY(View, "State", BUS_VALUE_STRING, state, false),
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

        live = (View) { .state = "empty" };
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

/* A flush that sends one property and not another after it frees the text of
 * both: the watcher runs for months, flushing twice a second per bay. */
typedef struct Pair {
        const char *changing, *constant;
} Pair;

static const BusProperty pair_properties[] = {
        BUS_PROPERTY(Pair, "Changing", BUS_VALUE_STRING, changing, false),
        BUS_PROPERTY(Pair, "Constant", BUS_VALUE_STRING, constant, false),
};

static Pair pair;

static void pair_view(void *userdata, void *ret) {
        *(Pair *) ret = pair;
}

static int count_emit(void *userdata, const char *path, const char *interface, char **names) {
        (*(size_t *) userdata)++;
        return 0;
}

static void test_flush_frees_unsent(void) {
        static const BusObjectType pair_type = {
                .interface = "org.dockd.Test1", .properties = pair_properties,
                .n_properties = G_N_ELEMENTS(pair_properties), .view_size = sizeof(Pair), .view = pair_view,
        };
        sd_event *e = NULL;
        BusWatcher *w = NULL;
        size_t emitted = 0, before;

        pair = (Pair) { .changing = "a", .constant = "the same text every time" };
        g_assert_cmpint(sd_event_new(&e), >=, 0);
        g_assert_cmpint(bus_watcher_new(NULL, e, &w), >=, 0);
        sd_event_unref(e);
        bus_watcher_set_hooks(w, &(BusWatcherHooks) { .emit = count_emit, .userdata = &emitted });
        g_assert_cmpint(bus_watcher_add(w, "/test/1", &pair_type, NULL), >=, 0);
        bus_watcher_flush(w);
        before = mallinfo2().uordblks;
        for (unsigned i = 0; i < 10000; i++) {
                pair.changing = i % 2 ? "a" : "b";
                bus_watcher_flush(w);
        }
        g_assert_cmpuint(emitted, ==, 10000);
        /* 10000 texts left behind would be 320 KB; what stays is one of each. */
        g_assert_cmpuint(mallinfo2().uordblks, <, before + 4096);
        bus_watcher_free(w);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/bus-changes/progress-rate", test_progress_rate);
        g_test_add_func("/bus-changes/state-carries-progress", test_state_carries_progress);
        g_test_add_func("/bus-changes/state-not-limited", test_state_not_limited);
        g_test_add_func("/bus-changes/flush-frees-unsent", test_flush_frees_unsent);
        return g_test_run();
}
