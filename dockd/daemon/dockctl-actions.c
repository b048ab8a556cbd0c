/* SPDX-License-Identifier: Apache-2.0 */
/* dockctl-actions.c: see dockctl-actions.h. dockd checks every argument again;
 * dockctl only turns words into a method call and dockd's refusal into a line
 * that names the polkit action. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "dockctl-actions.h"
#include "dockctl-text.h"
#include "macro.h"

static int bay_path(const char *arg, char *buf, size_t size) {
        char *end;
        unsigned long n;

        errno = 0;
        n = strtoul(arg, &end, 10);
        if (errno != 0 || end == arg || *end || n < 1 || n > 64 || arg[0] == '-' || arg[0] == '+') {
                fprintf(stderr, "dockctl: '%s' is not a bay number.\n", arg);
                return -EINVAL;
        }
        snprintf(buf, size, "%s/bay/%lu", DOCKD_BUS_PATH, n);
        return 0;
}

static int said(const char *verb, const sd_bus_error *e, int r) {
        _cleanup_free_ char *msg = text_escape(e && e->message ? e->message : strerror(-r));

        fprintf(stderr, "dockctl: %s: %s\n", verb, msg ?: "failed");
        return r < 0 ? r : -EIO;
}

static int call(sd_bus *bus, const char *verb, const char *path, const char *iface, const char *method,
                const char *sig, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, DOCKD_BUS_NAME, path, iface, method);
        if (r < 0)
                return said(verb, NULL, r);
        va_start(ap, sig);
        r = sd_bus_message_appendv(m, sig, ap);
        va_end(ap);
        if (r < 0)
                return said(verb, NULL, r);
        /* polkit may ask for a password: no timeout while someone types it. */
        r = sd_bus_call(bus, m, UINT64_MAX, &error, &reply);
        if (r < 0)
                return said(verb, &error, r);
        return 0;
}

/* `holds`: the Holds property, one line each; every string escaped. */
static int list_holds(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *camera, *recording, *reference, *user;
        uint64_t since;
        uint32_t uid;
        unsigned n = 0;
        int r;

        r = sd_bus_get_property(bus, DOCKD_BUS_NAME, DOCKD_BUS_PATH, DOCKD_BUS_INTERFACE, "Holds", &error, &reply,
                                "a(ssstus)");
        if (r < 0)
                return said("holds", &error, r);
        r = sd_bus_message_enter_container(reply, 'a', "(ssstus)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(ssstus)", &camera, &recording, &reference, &since, &uid,
                                                  &user)) > 0) {
                _cleanup_free_ char *c = text_escape(camera), *rec = text_escape(recording),
                                    *ref = text_escape(reference), *u = text_escape(user);
                char when[32];

                if (!c || !rec || !ref || !u)
                        return said("holds", NULL, -ENOMEM);
                printf("%s %s  reference %s, since %s, asked by %s (uid %" PRIu32 ")\n", c, rec, ref,
                       text_local_time(since, when, sizeof when), u[0] ? u : "?", uid);
                n++;
        }
        if (r < 0)
                return said("holds", NULL, r);
        if (n == 0)
                printf("No recording is held.\n");
        return 0;
}

int dockctl_action(sd_bus *bus, const char *verb, char **args, int n_args) {
        char path[64];
        int r;

        if (streq(verb, "holds") && n_args == 0)
                return list_holds(bus);
        if (streq(verb, "retry-storage") && n_args == 0)
                return call(bus, verb, DOCKD_BUS_PATH, DOCKD_BUS_INTERFACE, "RetryStorage", "");
        if ((streq(verb, "disable-bay") || streq(verb, "enable-bay")) && n_args == 1) {
                r = bay_path(args[0], path, sizeof path);
                if (r < 0)
                        return r;
                return call(bus, verb, path, DOCKD_BAY_INTERFACE, "SetEnabled", "b", streq(verb, "enable-bay"));
        }
        if (streq(verb, "self-test") && n_args == 1) {
                r = bay_path(args[0], path, sizeof path);
                if (r < 0)
                        return r;
                return call(bus, verb, path, DOCKD_BAY_INTERFACE, "RunSelfTest", "");
        }
        if ((streq(verb, "hold") || streq(verb, "release")) && n_args == 3)
                return call(bus, verb, DOCKD_BUS_PATH, DOCKD_BUS_INTERFACE,
                            streq(verb, "hold") ? "HoldRecording" : "ReleaseRecording", "sss", args[0], args[1],
                            args[2]);
        if (streq(verb, "retry-storage") || streq(verb, "disable-bay") || streq(verb, "enable-bay") ||
            streq(verb, "self-test") || streq(verb, "hold") || streq(verb, "release")) {
                fprintf(stderr, "dockctl: %s: wrong number of arguments (see dockctl --help).\n", verb);
                return -EINVAL;
        }
        return -ENOENT;
}
