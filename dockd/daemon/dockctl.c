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
#include "dockctl-watch.h"
#include "macro.h"

static bool arg_json = false;
static bool arg_ask_password = true;

/* Replace, in place, C0 controls, DEL and (UTF-8) C1 controls by '?'. */
static void neutralise(char *s) {
        for (unsigned char *p = (unsigned char *) s; *p; p++) {
                if (*p < 0x20 || *p == 0x7F)
                        *p = '?';
                else if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
                        p[0] = '?';
                        memmove(p + 1, p + 2, strlen((char *) p + 2) + 1);
                }
        }
}

/* Text output quotes cameras (models, self-test details in summaries): no string
 * of the reply may reach a terminal as a control sequence. JSON output is escaped
 * by json-c already. */
static void neutralise_tree(struct json_object *o) {
        if (json_object_is_type(o, json_type_object)) {
                json_object_object_foreach(o, key, val) {
                        (void) key;
                        neutralise_tree(val);
                }
        } else if (json_object_is_type(o, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        neutralise_tree(json_object_array_get_idx(o, i));
        } else if (json_object_is_type(o, json_type_string)) {
                _cleanup_free_ char *c = strdup(json_object_get_string(o));

                if (c) {
                        neutralise(c);
                        json_object_set_string(o, c);
                }
        }
}

static int call_json(sd_bus *bus, const char *method, struct json_object **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        const char *s;
        int r;

        r = sd_bus_call_method(bus, DOCKD_BUS_NAME, DOCKD_BUS_PATH, DOCKD_BUS_INTERFACE, method,
                               &error, &reply, "");
        if (r < 0) {
                fprintf(stderr, "dockctl: %s failed: %s\n", method, error.message ?: strerror(-r));
                return r;
        }
        r = sd_bus_message_read(reply, "s", &s);
        if (r >= 0) {
                *ret = json_tokener_parse(s);
                if (!*ret)
                        r = -EBADMSG;
                else if (!arg_json)
                        neutralise_tree(*ret);
        }
        sd_bus_message_unref(reply);
        if (r < 0)
                fprintf(stderr, "dockctl: bad reply from dockd: %s\n", strerror(-r));
        return r;
}

/* --json: print and release; returns true when it did. */
static bool print_json(struct json_object *o) {
        if (!arg_json)
                return false;
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
        json_object_put(o);
        return true;
}

static void print_object(struct json_object *o, int indent) {
        json_object_object_foreach(o, key, val) {
                if (json_object_is_type(val, json_type_object)) {
                        printf("%*s%s:\n", indent, "", key);
                        print_object(val, indent + 2);
                } else if (json_object_is_type(val, json_type_array)) {
                        printf("%*s%s:\n", indent, "", key);
                        for (size_t i = 0; i < json_object_array_length(val); i++) {
                                struct json_object *e = json_object_array_get_idx(val, i);
                                if (json_object_is_type(e, json_type_object)) {
                                        printf("%*s-\n", indent + 2, "");
                                        print_object(e, indent + 4);
                                } else
                                        printf("%*s- %s\n", indent + 2, "", json_object_get_string(e));
                        }
                } else
                        printf("%*s%s: %s\n", indent, "", key, json_object_get_string(val));
        }
}

static int verb_status(sd_bus *bus) {
        struct json_object *o = NULL;
        int r = call_json(bus, "GetStatus", &o);

        if (r < 0)
                return r;
        if (print_json(o))
                return 0;
        print_object(o, 0);
        json_object_put(o);
        return 0;
}

static const char *str(struct json_object *o, const char *key) {
        struct json_object *v;
        return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : "-";
}

static int verb_bays(sd_bus *bus) {
        struct json_object *arr = NULL;
        int r = call_json(bus, "ListBays", &arr);

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
                else if (json_object_object_get_ex(b, "progress", &p))
                        snprintf(detail, sizeof detail, "segment %d/%d, %s bytes pulled",
                                 json_object_get_int(json_object_object_get(p, "segments_done")),
                                 json_object_get_int(json_object_object_get(p, "segments_total")),
                                 str(p, "bytes_pulled"));
                printf("%-4s %-8s %-12s %-12s %s\n", str(b, "bay"), str(b, "port"), str(b, "state"),
                       str(b, "camera"), detail);
        }
        json_object_put(arr);
        return 0;
}

static int verb_reports(sd_bus *bus) {
        struct json_object *arr = NULL;
        int r = call_json(bus, "ListReports", &arr);

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
               "  status     The dock: storage, backlog, bays\n"
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
        const char *verb;
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
        else if (streq(verb, "status"))
                r = verb_status(bus);
        else if (streq(verb, "bays"))
                r = verb_bays(bus);
        else if (streq(verb, "reports"))
                r = verb_reports(bus);
        else if (streq(verb, "watch"))
                /* Colour as systemctl: on a terminal, unless NO_COLOR is set. */
                r = dockctl_watch(bus, isatty(STDOUT_FILENO) && !getenv("NO_COLOR"));
        else {
                fprintf(stderr, "dockctl: unknown command '%s'\n", verb);
                r = -EINVAL;
        }
        sd_bus_flush_close_unref(bus);
        return r < 0 ? 1 : 0;
}
