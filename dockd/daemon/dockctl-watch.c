/* SPDX-License-Identifier: Apache-2.0 */
/* dockctl-watch.c: see dockctl-watch.h. The bays are read once with
 * GetManagedObjects (again whenever dockd gets a new owner of its name); after
 * that only signals change the model. Every string from dockd is escaped as it
 * enters the model: a camera's model or self-test detail never reaches the
 * terminal raw. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "bus-names.h"
#include "dockctl-text.h"
#include "dockctl-watch.h"
#include "macro.h"

#define WATCH_MAX_BAYS 64
#define REDRAW_USEC (100 * 1000ULL)   /* a terminal is redrawn at most 10 times a second */

typedef struct WatchBay {
        bool known;
        char *state, *serial, *model, *fault, *waiting, *finding;
        uint64_t bytes_done, bytes_total;
        uint32_t segments_done, segments_total, n_findings;
        char *last_line;             /* plain output: what was printed last */
} WatchBay;

typedef struct Watch {
        sd_bus *bus;
        sd_event *event;
        bool terminal, colour, running;
        bool loading;                /* GetManagedObjects asked: signals until its answer are older */
        WatchBay bays[WATCH_MAX_BAYS + 1];   /* by number, 1-based */
        sd_event_source *redraw;
} Watch;

static uint64_t now_realtime(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

static void bay_forget(WatchBay *b) {
        free(b->state);
        free(b->serial);
        free(b->model);
        free(b->fault);
        free(b->waiting);
        free(b->finding);
        free(b->last_line);
        *b = (WatchBay) {};
}

static unsigned bay_number(const char *path) {
        const char *prefix = DOCKD_BUS_PATH "/bay/";
        char *end;
        unsigned long n;

        if (strncmp(path, prefix, strlen(prefix)) != 0)
                return 0;
        n = strtoul(path + strlen(prefix), &end, 10);
        return *end == '\0' && n >= 1 && n <= WATCH_MAX_BAYS ? (unsigned) n : 0;
}

static int read_string(sd_bus_message *m, char **field) {
        const char *s;
        char *e;
        int r = sd_bus_message_read(m, "v", "s", &s);

        if (r < 0)
                return r;
        e = text_escape(s);
        if (!e)
                return -ENOMEM;
        free_and_replace(*field, e);
        return 0;
}

/* Findings: how many, and the first one's sentence (what a line has room for). */
static int read_findings(sd_bus_message *m, WatchBay *b) {
        const char *code, *severity, *summary;
        int r;

        b->n_findings = 0;
        free(b->finding);
        b->finding = NULL;
        r = sd_bus_message_enter_container(m, 'v', "a(sss)");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "(sss)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(m, "(sss)", &code, &severity, &summary)) > 0)
                if (b->n_findings++ == 0) {
                        b->finding = text_escape(summary);
                        if (!b->finding)
                                return -ENOMEM;
                }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int read_property(sd_bus_message *m, const char *name, WatchBay *b) {
        if (streq(name, "State"))
                return read_string(m, &b->state);
        if (streq(name, "CameraSerial"))
                return read_string(m, &b->serial);
        if (streq(name, "CameraModel"))
                return read_string(m, &b->model);
        if (streq(name, "FaultReason"))
                return read_string(m, &b->fault);
        if (streq(name, "Waiting"))
                return read_string(m, &b->waiting);
        if (streq(name, "BytesDone"))
                return sd_bus_message_read(m, "v", "t", &b->bytes_done);
        if (streq(name, "BytesTotal"))
                return sd_bus_message_read(m, "v", "t", &b->bytes_total);
        if (streq(name, "SegmentsDone"))
                return sd_bus_message_read(m, "v", "u", &b->segments_done);
        if (streq(name, "SegmentsTotal"))
                return sd_bus_message_read(m, "v", "u", &b->segments_total);
        if (streq(name, "Findings"))
                return read_findings(m, b);
        return sd_bus_message_skip(m, "v");
}

/* a{sv} into b. */
static int read_properties(sd_bus_message *m, WatchBay *b) {
        const char *name;
        int r = sd_bus_message_enter_container(m, 'a', "{sv}");

        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                r = read_property(m, name, b);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        b->known = true;
        return sd_bus_message_exit_container(m);
}

/* ---- output ---- */

static unsigned percent(const WatchBay *b) {
        return b->bytes_total > 0 ? (unsigned) (MIN(b->bytes_done, b->bytes_total) * 100 / b->bytes_total) : 0;
}

static bool show_progress(const WatchBay *b) {
        return b->state && streq(b->state, "offloading") && b->bytes_total > 0;
}

/* What a bay's line says after its state: camera, progress, why it waits, a finding. */
static void bay_detail(const WatchBay *b, char *buf, size_t size) {
        char done[32], total[32];
        int n = snprintf(buf, size, "%s", b->serial && b->serial[0] ? b->serial : "-");

        if (show_progress(b))
                n += snprintf(buf + n, size - (size_t) MIN((size_t) n, size), " %u%% %s of %s, segment %u/%u",
                              percent(b), text_iec(b->bytes_done, done, sizeof done),
                              text_iec(b->bytes_total, total, sizeof total), MIN(b->segments_done + 1, b->segments_total),
                              b->segments_total);
        if ((size_t) n < size && b->waiting && b->waiting[0])
                n += snprintf(buf + n, size - (size_t) n, ", waiting for %s", b->waiting);
        if ((size_t) n < size && b->fault && b->fault[0])
                n += snprintf(buf + n, size - (size_t) n, ": %s", b->fault);
        else if ((size_t) n < size && b->finding)
                n += snprintf(buf + n, size - (size_t) n, "; %u finding%s: %s", b->n_findings,
                              b->n_findings == 1 ? "" : "s", b->finding);
}

static void print_plain(Watch *w) {
        char now[32], detail[1024];

        text_local_time(now_realtime(), now, sizeof now);
        for (unsigned i = 1; i <= WATCH_MAX_BAYS; i++) {
                WatchBay *b = &w->bays[i];
                _cleanup_free_ char *line = NULL;

                if (!b->known)
                        continue;
                bay_detail(b, detail, sizeof detail);
                if (asprintf(&line, "bay %u: %s %s", i, strempty(b->state), detail) < 0)
                        return;
                if (b->last_line && streq(line, b->last_line))
                        continue;
                printf("%s %s\n", now, line);
                free_and_replace(b->last_line, line);
        }
        fflush(stdout);
}

static unsigned terminal_columns(void) {
        struct winsize ws;

        return ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) >= 0 && ws.ws_col > 0 ? ws.ws_col : 80;
}

static void draw_terminal(Watch *w) {
        unsigned cols = terminal_columns();
        char line[2048], detail[1024], bar[256];

        /* Home, clear; no wrapping, so a line too long for a resized pane never
         * pushes the others down. */
        fputs("\x1b[?7l\x1b[H\x1b[2J", stdout);
        snprintf(line, sizeof line, "%s", w->running ? "dockd: every bay, live (Ctrl-C ends)"
                                                     : "dockd is not running; waiting for it");
        text_fit(line, cols);
        printf("%s\n\n", line);
        for (unsigned i = 1; i <= WATCH_MAX_BAYS; i++) {
                WatchBay *b = &w->bays[i];
                size_t barw = cols >= 60 ? (cols - 40) / 2 : 8, filled;

                if (!b->known)
                        continue;
                bar[0] = '\0';
                if (show_progress(b)) {
                        filled = barw * percent(b) / 100;
                        bar[0] = '[';
                        memset(bar + 1, '#', filled);
                        memset(bar + 1 + filled, '-', barw - filled);
                        bar[1 + barw] = ']';
                        bar[2 + barw] = ' ';
                        bar[3 + barw] = '\0';
                }
                bay_detail(b, detail, sizeof detail);
                snprintf(line, sizeof line, "bay %-2u %-11s %s%s", i, strempty(b->state), bar, detail);
                text_fit(line, cols);
                if (w->colour && text_state_colour(b->state)[0]) {
                        /* Colour the state word only: "bay NN " is 7 columns. */
                        printf("%.7s%s%.11s\x1b[0m%s\n", line, text_state_colour(b->state), line + 7,
                               strlen(line) > 18 ? line + 18 : "");
                } else
                        printf("%s\n", line);
        }
        fflush(stdout);
}

static void show(Watch *w) {
        if (w->terminal)
                (void) sd_event_source_set_enabled(w->redraw, SD_EVENT_ONESHOT);
        else
                print_plain(w);
}

static int on_redraw(sd_event_source *s, uint64_t usec, void *userdata) {
        draw_terminal(userdata);
        return sd_event_source_set_time(s, usec + REDRAW_USEC);
}

/* ---- bus ---- */

/* GetManagedObjects' answer: every bay as it is now. Signals dockd sent before
 * it were applied already, in order; this replaces what they said. */
static int read_managed_objects(Watch *w, sd_bus_message *reply) {
        const char *path;
        int r;

        for (unsigned i = 1; i <= WATCH_MAX_BAYS; i++)
                bay_forget(&w->bays[i]);
        r = sd_bus_message_enter_container(reply, 'a', "{oa{sa{sv}}}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(reply, 'e', "oa{sa{sv}}")) > 0) {
                const char *iface;
                unsigned n;

                r = sd_bus_message_read(reply, "o", &path);
                if (r < 0)
                        return r;
                n = bay_number(path);
                r = sd_bus_message_enter_container(reply, 'a', "{sa{sv}}");
                if (r < 0)
                        return r;
                while ((r = sd_bus_message_enter_container(reply, 'e', "sa{sv}")) > 0) {
                        r = sd_bus_message_read(reply, "s", &iface);
                        if (r < 0)
                                return r;
                        if (n > 0 && streq(iface, DOCKD_BAY_INTERFACE))
                                r = read_properties(reply, &w->bays[n]);
                        else
                                r = sd_bus_message_skip(reply, "a{sv}");
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(reply);
                        if (r < 0)
                                return r;
                }
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        return r;
}

static void say(Watch *w, const char *what);

static int on_managed_objects(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Watch *w = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int r;

        w->loading = false;
        if (e) {
                if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER)) {
                        w->running = false;
                        say(w, "dockd is not running; waiting for it");
                        return 0;
                }
                fprintf(stderr, "dockctl: cannot read the bays: %s\n", e->message);
                return sd_event_exit(w->event, -sd_bus_error_get_errno(e) ?: -EIO);
        }
        r = read_managed_objects(w, reply);
        if (r < 0) {
                fprintf(stderr, "dockctl: a bad answer from dockd: %s\n", strerror(-r));
                return sd_event_exit(w->event, r);
        }
        w->running = true;
        show(w);
        return 0;
}

/* Asynchronously: signals that came before the answer are older than it and
 * are applied first; a synchronous call would apply them after, stale. */
static int load(Watch *w) {
        w->loading = true;
        return sd_bus_call_method_async(w->bus, NULL, DOCKD_BUS_NAME, DOCKD_BUS_PATH,
                                        "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                                        on_managed_objects, w, "");
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Watch *w = userdata;
        const char *iface;
        unsigned n = bay_number(sd_bus_message_get_path(m) ?: "");
        int r;

        if (n == 0 || w->loading)
                return 0;
        r = sd_bus_message_read(m, "s", &iface);
        if (r < 0 || !streq(iface, DOCKD_BAY_INTERFACE))
                return 0;
        r = read_properties(m, &w->bays[n]);
        if (r < 0)
                fprintf(stderr, "dockctl: a bad signal from dockd: %s\n", strerror(-r));
        show(w);
        return 0;
}

static void say(Watch *w, const char *what) {
        char now[32];

        if (w->terminal)
                return show(w);
        printf("%s %s\n", text_local_time(now_realtime(), now, sizeof now), what);
        fflush(stdout);
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        Watch *w = userdata;
        const char *name, *old, *new;
        int r = sd_bus_message_read(m, "sss", &name, &old, &new);

        if (r < 0 || !streq(name, DOCKD_BUS_NAME))
                return 0;
        if (isempty(new)) {
                w->running = false;
                say(w, "dockd stopped; waiting for it to come back");
                return 0;
        }
        say(w, "dockd is running");
        r = load(w);
        if (r < 0)
                return sd_event_exit(w->event, r);
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return sd_event_exit(userdata, 0);
}

static int on_winch(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        show(userdata);
        return 0;
}

int dockctl_watch(sd_bus *bus, bool colour) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        Watch w = { .bus = bus, .terminal = isatty(STDOUT_FILENO), .colour = colour };
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGWINCH);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        r = sd_event_default(&event);
        if (r < 0)
                return r;
        w.event = event;
        if ((r = sd_event_add_signal(event, NULL, SIGINT, on_exit_signal, event)) < 0 ||
            (r = sd_event_add_signal(event, NULL, SIGTERM, on_exit_signal, event)) < 0 ||
            (r = sd_event_add_signal(event, NULL, SIGWINCH, on_winch, &w)) < 0 ||
            (r = sd_event_add_time_relative(event, &w.redraw, CLOCK_MONOTONIC, 0, 0, on_redraw, &w)) < 0 ||
            (r = sd_event_source_set_enabled(w.redraw, w.terminal ? SD_EVENT_ONESHOT : SD_EVENT_OFF)) < 0)
                return r;
        /* Subscribed before the first read: no change falls between the two. */
        r = sd_bus_match_signal(bus, NULL, DOCKD_BUS_NAME, NULL, "org.freedesktop.DBus.Properties",
                                "PropertiesChanged", on_properties_changed, &w);
        if (r < 0)
                return r;
        r = sd_bus_add_match(bus, NULL,
                             "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                             "member='NameOwnerChanged',arg0='" DOCKD_BUS_NAME "'",
                             on_owner_changed, &w);
        if (r < 0)
                return r;
        r = load(&w);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_event_loop(event);
        if (w.terminal)
                fputs("\x1b[?7h\n", stdout);
        for (unsigned i = 1; i <= WATCH_MAX_BAYS; i++)
                bay_forget(&w.bays[i]);
        (void) sd_event_source_disable_unref(w.redraw);
        (void) sd_bus_detach_event(bus);
        return r;
}
