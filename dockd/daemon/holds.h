/* SPDX-License-Identifier: Apache-2.0 */
/* holds.h: recordings held by preservation requests (docs/dbus-api.md,
 * "Holds"), kept durably in <state_dir>/holds.json. A held recording is not
 * deleted from its camera by this dock. A holds file that cannot be read holds
 * everything: a lost hold must never turn into a deletion. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "macro.h"

typedef struct Hold {
        char *camera, *recording, *reference;
        uint64_t since;              /* µs since the epoch */
        uid_t uid;
        char *user;
} Hold;

typedef struct Holds Holds;

/* Load <state_dir>/holds.json (none: no holds). An unreadable or malformed file
 * is logged and leaves every recording held until it is repaired or removed. */
int holds_load(const char *state_dir, Holds **ret);
Holds *holds_free(Holds *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(Holds *, holds_free);

/* Is anything of camera's recording held (always, if the file was unreadable)? */
bool holds_recording_held(Holds *h, const char *camera, const char *recording);
/* Does a hold that was read or made name camera's recording? (Not the
 * unreadable file's "everything": a legal hold in central storage is for what
 * a preservation request named.) */
bool holds_recording_named(Holds *h, const char *camera, const char *recording);
/* The first hold that names it, or NULL. */
const Hold *holds_naming(Holds *h, const char *camera, const char *recording);
/* The hold with these three, or NULL. */
const Hold *holds_find(Holds *h, const char *camera, const char *recording, const char *reference);
/* Add (hold's strings copied) or remove one, durably before returning; on error
 * nothing changed, in memory or on disk. -EBUSY: the file was unreadable at
 * start and is not overwritten. */
int holds_add(Holds *h, const Hold *hold);
int holds_remove(Holds *h, const char *camera, const char *recording, const char *reference);
/* Counts changes, for PropertiesChanged. */
uint32_t holds_generation(Holds *h);
/* The Holds property, a(ssstus). */
int holds_append(Holds *h, sd_bus_message *reply);
/* A reference of a preservation request: 1-128 bytes of UTF-8, no control characters. */
bool hold_reference_is_valid(const char *s);
