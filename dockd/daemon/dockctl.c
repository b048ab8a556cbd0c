/* SPDX-License-Identifier: Apache-2.0 */
/* dockctl.c: the command-line client of dockd's D-Bus API, for IT staff. */
#include <getopt.h>
#include <unistd.h>
#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "config.h"
#include "dockctl-actions.h"
#include "dockctl-ops.h"
#include "dockctl-status.h"
#include "dockctl-text.h"
#include "dockctl-watch.h"
#include "macro.h"

static bool arg_json = false;
static bool arg_ask_password = true;

/* --json: print and release; returns true when it did. */
static bool print_json(struct json_object *o) {
        if (!arg_json)
                return false;
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
        json_object_put(o);
        return true;
}

static const char *str(struct json_object *o, const char *key) {
        struct json_object *v;
        return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "-";
}

static int verb_bays(sd_bus *bus) {
        struct json_object *arr = NULL;
        int r = dockctl_call_json(bus, "ListBays", !arg_json, &arr);

        if (r < 0)
                return r;
        if (print_json(arr))
                return 0;
        printf("%-4s %-8s %-12s %-12s %s\n", "BAY", "PORT", "STATE", "CAMERA", "DETAIL");
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                struct json_object *b = json_object_array_get_idx(arr, i), *p, *f;
                char detail[256] = "";

                if (json_object_object_get_ex(b, "fault", &f))
                        snprintf(detail, sizeof detail, "%s", json_object_get_string(f));
                else if (json_object_object_get_ex(b, "progress", &p)) {
                        char pulled[32];

                        snprintf(detail, sizeof detail, "segment %d/%d, %s pulled",
                                 json_object_get_int(json_object_object_get(p, "segments_done")),
                                 json_object_get_int(json_object_object_get(p, "segments_total")),
                                 text_iec((uint64_t) json_object_get_int64(json_object_object_get(p, "bytes_pulled")),
                                          pulled, sizeof pulled));
                }
                printf("%-4s %-8s %-12s %-12s %s\n", str(b, "bay"), str(b, "port"), str(b, "state"),
                       str(b, "camera"), detail);
        }
        json_object_put(arr);
        return 0;
}

static int verb_reports(sd_bus *bus) {
        struct json_object *arr = NULL;
        int r = dockctl_call_json(bus, "ListReports", !arg_json, &arr);

        if (r < 0)
                return r;
        if (print_json(arr))
                return 0;
        if (json_object_array_length(arr) == 0)
                printf("No malfunction reports.\n");
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
                struct json_object *rep = json_object_array_get_idx(arr, i);
                printf("%s  bay %s  %-12s %-8s %s\n", str(rep, "time"), str(rep, "bay"), str(rep, "camera"),
                       str(rep, "severity"), str(rep, "summary"));
                printf("    report %s, %s%s\n", str(rep, "id"),
                       json_object_get_boolean(json_object_object_get(rep, "uploaded")) ? "in central storage"
                                                                                        : "not yet uploaded",
                       json_object_object_get(rep, "delivered") == NULL ? ""
                       : json_object_get_boolean(json_object_object_get(rep, "delivered")) ? ", delivered to the webhook"
                                                                                            : ", webhook delivery pending");
        }
        json_object_put(arr);
        return 0;
}

static void help(void) {
        printf("Usage: dockctl [--json] COMMAND\n\n"
               "Ask the running dockd about the dock.\n\n"
               "Commands:\n"
               "  status     The dock in short: storage, spool, backlog, one line per bay\n"
               "  bay N      One bay in detail\n"
               "  bays       One line per bay: state, camera, progress or fault\n"
               "  reports    Recent malfunction reports\n"
               "  watch      Every bay live, until Ctrl-C\n\n"
               "Operator actions (polkit decides who may):\n"
               "  retry-storage                       Retry central storage now\n"
               "  disable-bay N, enable-bay N         Leave a bay's camera alone, or not\n"
               "  self-test N                         Run the camera's self-test again\n"
               "  hold CAMERA RECORDING REFERENCE     Keep a recording (preservation request)\n"
               "  release CAMERA RECORDING REFERENCE  End that hold\n"
               "  holds                               The recordings held\n\n"
               "Options:\n"
               "  --json     Print JSON\n"
               "  --no-ask-password  Never ask for a password to authorize an action\n"
               "  --version  Show the version\n");
}

int main(int argc, char *argv[]) {
        enum { ARG_JSON = 0x100, ARG_VERSION, ARG_NO_ASK_PASSWORD };
        static const struct option options[] = {
                { "json", no_argument, NULL, ARG_JSON },
                { "no-ask-password", no_argument, NULL, ARG_NO_ASK_PASSWORD },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        sd_bus *bus = NULL;
        const char *verb, *no_color = getenv("NO_COLOR");
        bool colour;
        int c, r;

        r = dockctl_ops_run(argc, argv);   /* reconcile, reports --summary (dockctl-ops.c) */
        if (r != -ENOENT)
                return r;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        arg_ask_password = false;
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("dockctl %s\n", PACKAGE_VERSION);
                        return 0;
                default:
                        return 2;
                }
        verb = optind < argc ? argv[optind] : "status";
        /* Colour as systemctl: on a terminal, unless NO_COLOR is set (no-color.org). */
        colour = isatty(STDOUT_FILENO) && !(no_color && no_color[0]);

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                fprintf(stderr, "dockctl: cannot connect to the system bus: %s\n", strerror(-r));
                return 1;
        }
        /* As systemctl: polkit may ask for a password only where someone can type it. */
        (void) sd_bus_set_allow_interactive_authorization(bus, arg_ask_password && isatty(STDIN_FILENO));
        r = dockctl_action(bus, verb, argv + optind + 1, argc - optind - 1);
        if (r != -ENOENT)
                ;
        else if (streq(verb, "status") && optind + 1 >= argc)
                r = dockctl_status(bus, arg_json, colour);
        else if (streq(verb, "bay") && optind + 2 == argc)
                r = dockctl_bay(bus, argv[optind + 1], arg_json, colour);
        else if (streq(verb, "bays"))
                r = verb_bays(bus);
        else if (streq(verb, "reports"))
                r = verb_reports(bus);
        else if (streq(verb, "watch"))
                r = dockctl_watch(bus, colour);
        else {
                fprintf(stderr, "dockctl: unknown command '%s'\n", verb);
                r = -EINVAL;
        }
        sd_bus_flush_close_unref(bus);
        return r < 0 ? 1 : 0;
}
