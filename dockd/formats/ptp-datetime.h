/* SPDX-License-Identifier: Apache-2.0 */
/* ptp-datetime.h: PTP DateTime strings (docs/camera-protocol.md §6; PTP 1.0
 * §5.3.5). Pure; no logging. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* DateTime values, UTC: "YYYYMMDDThhmmss[.s]Z" (protocol §6). A value without Z,
 * or with an offset, is rejected: cameras keep UTC. */
int ptp_datetime_parse(const char *s, time_t *ret);
/* A DateTime without zone ("YYYYMMDDThhmmss[.s]", PTP 1.0 §5.3.5: the camera's
 * local time, zone unknown), read as if it were UTC: it may be off by any UTC
 * offset (-12 h .. +14 h). Offsets and "Z" are rejected. */
int ptp_datetime_parse_unzoned(const char *s, time_t *ret);
/* Always "YYYYMMDDThhmmssZ". buf must hold 17 bytes. */
void ptp_datetime_format(time_t t, char buf[17]);
