/* SPDX-License-Identifier: Apache-2.0 */
/* generic-listing.h: what a camera that does not sign holds that a
 * [generic.NAME] section asks for (README, "Cameras that do not sign"): each
 * object's path from its chain of parent folders, matched against recordings=,
 * and whether the file is complete: its size held since the previous listing
 * (a file still being written grows between two), or, with min_age, its date
 * says it is older than min_age (generic_file_old_enough()), unless it grew
 * since the previous listing: the date is the camera's unverified word (a
 * camera whose clock reset to 2000 makes every file look old), so it never
 * outweighs a size seen to change. Every name, parent
 * and size is the camera's word: a path that cannot be told (a loop, a missing
 * or non-folder parent, a name that is empty, "." or "..", or holds '/', more
 * than GENERIC_PATH_DEPTH_MAX folders deep, or longer than a sealed manifest's
 * source_path) is skipped and counted, never guessed. Pure; no logging. */
#pragma once

#include "dockd-config.h"
#include "object-prop-list.h"

#define GENERIC_PATH_DEPTH_MAX 32
/* A date without zone is the camera's local time in a zone it does not say;
 * read as UTC it is off by the zone's offset, UTC-12 .. UTC+14. It makes a
 * file look older than it is by up to 12 h (zones behind UTC); counting it
 * only when older than min_age plus the widest offset either side, 14 h,
 * holds whatever zone the camera keeps. */
#define GENERIC_UNZONED_MARGIN (14 * 3600)

typedef struct GenericFile {
        uint32_t handle;
        char *path;               /* the camera's bytes, '/'-joined from the storage's root */
        uint64_t size;            /* UINT64_MAX: the camera did not say */
        bool complete;            /* listed before with the same path and size, or old enough */
        time_t date;              /* the camera's (unverified) UTC date of the file, from its
                                   * ObjectInfo (ptp_object_info_date()); 0: not told */
        time_t unzoned_date;      /* its date without zone, read as UTC, when it gave no UTC
                                   * one; for min_age and the recording id, never sealed
                                   * as a time; 0: not told */
} GenericFile;

typedef struct GenericListing {
        GenericFile *files;       /* ascending handle order */
        size_t n_files;
        size_t n_skipped;         /* objects whose path could not be told */
        size_t n_not_wanted;      /* files recordings= does not match */
} GenericListing;

/* objects: one listing, in ascending handle order (as ptp_prop_list_parser_finish()
 * returns them; -EINVAL otherwise). previous: the camera's previous listing in
 * this docking, or NULL (then only a file old enough is complete). now: the
 * dock's clock. */
int generic_listing_build(const GenericCameraConfig *g, const PtpObjectProps *objects, size_t n,
                          const GenericListing *previous, time_t now, GenericListing **ret);
/* g->min_age is set and f's date is known and at least min_age before now
 * (min_age + GENERIC_UNZONED_MARGIN for a date without zone); a date after
 * now never is. */
bool generic_file_old_enough(const GenericCameraConfig *g, const GenericFile *f, time_t now);
GenericListing *generic_listing_free(GenericListing *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(GenericListing *, generic_listing_free);
