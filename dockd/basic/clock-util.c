/* SPDX-License-Identifier: Apache-2.0 */
/* clock-util.c: see clock-util.h. */
#include <sys/timex.h>

#include "clock-util.h"

int clock_synchronised(void) {
        struct timex tx = {};   /* modes 0: only read */
        int state = adjtimex(&tx);

        if (state < 0)
                return -errno;
        return state != TIME_ERROR && !(tx.status & STA_UNSYNC);
}
