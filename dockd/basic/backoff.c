/* SPDX-License-Identifier: Apache-2.0 */
/* backoff.c: see backoff.h. */
#include <sys/random.h>

#include "backoff.h"

usec_t backoff_delay(usec_t initial, usec_t max, unsigned attempts) {
        usec_t d = initial;
        uint32_t rnd = 0;

        for (unsigned i = 1; i < attempts && d < max; i++)
                d *= 2;
        d = MIN(d, max);
        (void) getrandom(&rnd, sizeof rnd, GRND_NONBLOCK);
        return d / 2 + (d / 2) * rnd / UINT32_MAX;
}
