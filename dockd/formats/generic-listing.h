/* SPDX-License-Identifier: Apache-2.0 */
/* generic-listing.h: what a camera that does not sign holds that a
 * [generic.NAME] section asks for (README, "Cameras that do not sign"): each
 * object's path from its chain of parent folders, matched against recordings=,
 * and whether the file is complete, i.e. its size held since the previous
 * listing (a file still being written grows between two). Every name, parent
 * and size is the camera's word: a path that cannot be told (a loop, a missing
 * or non-folder parent, a name that is empty, "." or "..", or holds '/', more
 * than GENERIC_PATH_DEPTH_MAX folders deep, or longer than a sealed manifest's
 * source_path) is skipped and counted, never guessed. Pure; no logging. */
#pragma once

#include "dockd-config.h"
#include "object-prop-list.h"

#define GENERIC_PATH_DEPTH_MAX 32

typedef struct GenericFile {
        uint32_t handle;
        char *path;               /* the camera's bytes, '/'-joined from the storage's root */
        uint64_t size;            /* UINT64_MAX: the camera did not say */
        bool complete;            /* listed before with the same path and size */
        time_t date;              /* the camera's (unverified) date of the file, from its
                                   * ObjectInfo (generic-survey.c); 0: not told */
} GenericFile;

typedef struct GenericListing {
        GenericFile *files;       /* ascending handle order */
        size_t n_files;
        size_t n_skipped;         /* objects whose path could not be told */
        size_t n_not_wanted;      /* files recordings= does not match */
} GenericListing;

/* objects: one listing, in ascending handle order (as ptp_prop_list_parser_finish()
 * returns them; -EINVAL otherwise). previous: the camera's previous listing in
 * this docking, or NULL (then nothing is complete yet). */
int generic_listing_build(const GenericCameraConfig *g, const PtpObjectProps *objects, size_t n,
                          const GenericListing *previous, GenericListing **ret);
GenericListing *generic_listing_free(GenericListing *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(GenericListing *, generic_listing_free);
