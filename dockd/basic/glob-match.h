/* SPDX-License-Identifier: Apache-2.0 */
/* glob-match.h: does a '/'-separated path match a pattern such as
 * DCIM / ** / *.MP4 (without the spaces; README, "Cameras that do not sign"): each component is an
 * fnmatch(3) pattern (* ? [...]), case-insensitive as the FAT and exFAT storages
 * of cameras are; a whole component "**" matches zero or more components. */
#pragma once

#include "macro.h"

/* A pattern dockd accepts: relative, 1..255 bytes of printable ASCII with no
 * space or backslash, no empty, "." or ".." component. */
bool glob_pattern_is_valid(const char *pattern);
/* path: relative to the storage's root, components separated by single '/'. */
bool glob_match_path(const char *pattern, const char *path);
