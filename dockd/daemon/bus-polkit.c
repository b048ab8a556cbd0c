/* SPDX-License-Identifier: Apache-2.0 */
/* bus-polkit.c: see bus-polkit.h. As systemd does: root needs no polkit; the
 * subject is the caller's unique bus name (polkit resolves it through the bus
 * itself, so a caller cannot claim someone else's uid); dockd never blocks on
 * polkit. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-polkit.h"
#include "log.h"

#define POLKIT_NAME "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_INTERFACE "org.freedesktop.PolicyKit1.Authority"
#define POLKIT_ALLOW_USER_INTERACTION 1u

typedef struct PendingAuth PendingAuth;

struct BusPolkit {
        PendingAuth *pending;
        unsigned n_pending;
};

struct PendingAuth {
        BusPolkit *polkit;
        sd_bus_message *call;
        sd_bus_slot *slot;
        char *action;
        BusCaller caller;
        bool interactive;
        bus_action_t run;
        void *userdata;
        PendingAuth *next;
};

static PendingAuth *pending_free(PendingAuth *p) {
        if (!p)
                return NULL;
        sd_bus_slot_unref(p->slot);
        sd_bus_message_unref(p->call);
        free(p->action);
        free(p);
        return NULL;
}

static void pending_unlink(PendingAuth *p) {
        for (PendingAuth **q = &p->polkit->pending; *q; q = &(*q)->next)
                if (*q == p) {
                        *q = p->next;
                        p->polkit->n_pending--;
                        return;
                }
}

static int caller_of(sd_bus_message *call, BusCaller *ret) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        struct passwd pw, *found = NULL;
        char buf[1024];
        uid_t uid;
        int r;

        r = sd_bus_query_sender_creds(call, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return r;
        *ret = (BusCaller) { .uid = uid };
        (void) snprintf(ret->uid_text, sizeof ret->uid_text, "%u", (unsigned) uid);
        if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found)
                (void) snprintf(ret->user, sizeof ret->user, "%s", found->pw_name);
        return 0;
}

/* Run the action and send what it answers, as sd-bus would for a handler. */
static void run_and_reply(PendingAuth *p) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = p->run(p->call, p->action, &p->caller, p->userdata, &error);

        if (r < 0 || sd_bus_error_is_set(&error))
                (void) sd_bus_reply_method_errno(p->call, r, &error);
}

static int on_check_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PendingAuth *p = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int authorized = 0, challenge = 0, r;

        pending_unlink(p);
        if (e) {
                log_warning("Cannot ask polkit whether %s (uid %s) may %s: %s", p->caller.user, p->caller.uid_text,
                            p->action, e->message);
                (void) sd_bus_reply_method_errorf(p->call, SD_BUS_ERROR_ACCESS_DENIED,
                                                  "Not authorized for %s: polkit could not be asked (%s).",
                                                  p->action, e->message);
                return pending_free(p), 0;
        }
        r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
        if (r >= 0)
                r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
        if (r < 0) {
                (void) sd_bus_reply_method_errorf(p->call, SD_BUS_ERROR_ACCESS_DENIED,
                                                  "Not authorized for %s: polkit's answer is unreadable.", p->action);
                return pending_free(p), 0;
        }
        if (authorized)
                run_and_reply(p);
        else if (challenge && !p->interactive)
                (void) sd_bus_reply_method_errorf(p->call, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                                  "Not authorized for %s without authentication; allow "
                                                  "interactive authorization to be asked for it.", p->action);
        else
                (void) sd_bus_reply_method_errorf(p->call, SD_BUS_ERROR_ACCESS_DENIED,
                                                  "Not authorized for %s: polkit refused.", p->action);
        return pending_free(p), 0;
}

static int append_details(sd_bus_message *m, const char *const *details) {
        int r = sd_bus_message_open_container(m, 'a', "{ss}");

        if (r < 0)
                return r;
        for (const char *const *d = details; d && d[0] && d[1]; d += 2) {
                r = sd_bus_message_append(m, "{ss}", d[0], d[1]);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

static int ask_polkit(PendingAuth *p, const char *const *details) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *q = NULL;
        const char *sender = sd_bus_message_get_sender(p->call);
        sd_bus *bus = sd_bus_message_get_bus(p->call);
        int r;

        if (!sender)
                return -EBADMSG;
        r = sd_bus_message_new_method_call(bus, &q, POLKIT_NAME, POLKIT_PATH, POLKIT_INTERFACE, "CheckAuthorization");
        if (r < 0)
                return r;
        r = sd_bus_message_append(q, "(sa{sv})s", "system-bus-name", 1, "name", "s", sender, p->action);
        if (r < 0)
                return r;
        r = append_details(q, details);
        if (r < 0)
                return r;
        r = sd_bus_message_append(q, "us", p->interactive ? POLKIT_ALLOW_USER_INTERACTION : 0u, "");
        if (r < 0)
                return r;
        /* polkit may wait for a password as long as the caller types: no timeout. */
        return sd_bus_call_async(bus, &p->slot, q, on_check_reply, p, UINT64_MAX);
}

int bus_authorize(BusPolkit *polkit, sd_bus_message *call, const char *action, const char *const *details,
                  bus_action_t run, void *userdata, sd_bus_error *error) {
        PendingAuth *p;
        BusCaller caller;
        int r;

        r = caller_of(call, &caller);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, "Not authorized for %s: the caller "
                                         "cannot be identified.", action);
        if (caller.uid == 0)
                return run(call, action, &caller, userdata, error);
        if (polkit->n_pending >= BUS_POLKIT_MAX_PENDING)
                return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                         "Too many authorizations waiting; try again later.");
        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        *p = (PendingAuth) {
                .polkit = polkit, .call = sd_bus_message_ref(call), .action = strdup(action), .caller = caller,
                .interactive = sd_bus_message_get_allow_interactive_authorization(call) > 0,
                .run = run, .userdata = userdata,
        };
        if (!p->action) {
                pending_free(p);
                return -ENOMEM;
        }
        r = ask_polkit(p, details);
        if (r < 0) {
                pending_free(p);
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         "Not authorized for %s: polkit could not be asked (%s).", action,
                                         strerror(-r));
        }
        p->next = polkit->pending;
        polkit->pending = p;
        polkit->n_pending++;
        return 1;
}

int bus_polkit_new(BusPolkit **ret) {
        *ret = calloc(1, sizeof(BusPolkit));
        return *ret ? 0 : -ENOMEM;
}

BusPolkit *bus_polkit_free(BusPolkit *polkit) {
        if (!polkit)
                return NULL;
        while (polkit->pending) {
                PendingAuth *p = polkit->pending;

                polkit->pending = p->next;
                pending_free(p);
        }
        free(polkit);
        return NULL;
}
