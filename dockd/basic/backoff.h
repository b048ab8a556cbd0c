/* SPDX-License-Identifier: Apache-2.0 */
/* backoff.h: how long to wait before trying again: exponential backoff with
 * "equal jitter" (half the delay fixed, half random), so that docks retrying the
 * same server after an outage do not all come back at the same instant. */
#pragma once

#include "macro.h"

/* After the n-th failed attempt (n >= 1): initial, doubled per further failure,
 * at most max; then between half of that and all of it. */
usec_t backoff_delay(usec_t initial, usec_t max, unsigned attempts);
