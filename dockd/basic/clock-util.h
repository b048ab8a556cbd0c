/* SPDX-License-Identifier: Apache-2.0 */
/* clock-util.h: whether the dock's own clock can be believed. */
#pragma once

#include "macro.h"

/* Does the kernel say the system clock is synchronised (adjtimex(2): no
 * STA_UNSYNC)? 1 yes, 0 no, < 0 when it cannot be asked. A clock nobody
 * synchronises is only as right as whoever set it last. */
int clock_synchronised(void);
