/* SPDX-License-Identifier: Apache-2.0 */
/* parse-util.h: strict parsers for the value types of the configuration (and of
 * anything else typed by humans): sizes, durations, booleans, percentages, names.
 * All return 0 or -EINVAL/-ERANGE and leave the output untouched on failure. */
#pragma once

#include "macro.h"

int parse_uint64(const char *s, uint64_t *ret);
int parse_unsigned_range(const char *s, unsigned min, unsigned max, unsigned *ret);
/* "16M", "2G", "512K", "1024" (bytes); binary units K M G T, optional "iB"/"B". */
int parse_size(const char *s, uint64_t *ret);
/* "30s", "90d", "4y", "1h30m", "500ms"; a bare number is seconds. y = 365 d. */
int parse_duration(const char *s, usec_t *ret);
int parse_boolean(const char *s);
/* "80%" or "80" → 80; 0..100. */
int parse_percent(const char *s, unsigned *ret);

/* Formatting back, for --check-config: the largest exact unit. */
char *format_size(uint64_t size, char *buf, size_t len);
char *format_duration(usec_t usec, char *buf, size_t len);
#define FORMAT_SIZE_MAX 32
#define FORMAT_DURATION_MAX 64

/* Identifiers that go into file names and object keys: [A-Za-z0-9._-], no "..",
 * not starting with '.', 1..max characters. */
bool name_is_valid(const char *s, size_t max);
/* A USB port path such as "1-1.4". */
bool usb_port_path_is_valid(const char *s);
bool utf8_is_valid(const char *s, size_t len);
