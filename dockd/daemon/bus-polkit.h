/* SPDX-License-Identifier: Apache-2.0 */
/* bus-polkit.h: operator actions authorised by polkit (docs/dbus-api.md,
 * "Operator actions"), asynchronously on dockd's loop: a method checks its
 * arguments, then hands the call here with its polkit action and details; the
 * action runs only once polkit said yes, and replies itself. */
#pragma once

#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "macro.h"

#define BUS_POLKIT_MAX_PENDING 32

/* Who asked, for the custody record. */
typedef struct BusCaller {
        uid_t uid;
        char uid_text[16];
        char user[64];               /* "" when the uid has no name */
} BusCaller;

/* Runs the authorised action: replies to call (or returns an error for sd-bus
 * to send). */
typedef int (*bus_action_t)(sd_bus_message *call, const char *action, const BusCaller *caller,
                            void *userdata, sd_bus_error *error);

/* The authorisations in flight. */
typedef struct BusPolkit BusPolkit;

int bus_polkit_new(BusPolkit **ret);
/* Forgets the authorisations in flight (at shutdown): their callers get no answer. */
BusPolkit *bus_polkit_free(BusPolkit *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(BusPolkit *, bus_polkit_free);

/* Authorise call for polkit action id `action` with details (key, value, …,
 * NULL): root at once, everyone else by asking polkit's CheckAuthorization,
 * interactively if the caller allowed it. Returns the action's result, or 1
 * while polkit is asked (the reply follows), or < 0 / error set when refused
 * at once (too many waiting, the caller unknown). */
int bus_authorize(BusPolkit *polkit, sd_bus_message *call, const char *action, const char *const *details,
                  bus_action_t run, void *userdata, sd_bus_error *error);
