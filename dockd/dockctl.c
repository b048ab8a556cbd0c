/* SPDX-License-Identifier: Apache-2.0 */
/* dockctl.c: the command-line client of dockd's D-Bus API, for IT staff. */
#include <getopt.h>
#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "bus.h"
#include "config.h"
#include "macro.h"

static bool arg_json = false;

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
        }
        sd_bus_message_unref(reply);
        if (r < 0)
                fprintf(stderr, "dockctl: bad reply from dockd: %s\n", strerror(-r));
        return r;
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
        if (arg_json)
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
        else
                print_object(o, 0);
        json_object_put(o);
        return 0;
}

static void help(void) {
        printf("Usage: dockctl [--json] COMMAND\n\n"
               "Ask the running dockd about the dock.\n\n"
               "Commands:\n"
               "  status     The dock: storage, backlog, bays\n\n"
               "Options:\n"
               "  --json     Print JSON\n"
               "  --version  Show the version\n");
}

int main(int argc, char *argv[]) {
        enum { ARG_JSON = 0x100, ARG_VERSION };
        static const struct option options[] = {
                { "json", no_argument, NULL, ARG_JSON },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        sd_bus *bus = NULL;
        const char *verb;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case ARG_JSON:
                        arg_json = true;
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
        if (streq(verb, "status"))
                r = verb_status(bus);
        else {
                fprintf(stderr, "dockctl: unknown command '%s'\n", verb);
                r = -EINVAL;
        }
        sd_bus_flush_close_unref(bus);
        return r < 0 ? 1 : 0;
}
