/* SPDX-License-Identifier: Apache-2.0 */
/* ratelimit.h: the upload bandwidth cap ([storage] bandwidth_limit), a token
 * bucket shared by every transfer on the event loop. A sender takes what it may
 * send now; with nothing left it waits and is woken when tokens are back. */
#pragma once

#include <systemd/sd-event.h>

#include "macro.h"

typedef struct RateLimit RateLimit;
typedef struct RateLimitWaiter RateLimitWaiter;
typedef void (*ratelimit_wake_t)(RateLimitWaiter *w, void *userdata);

struct RateLimitWaiter {
        RateLimit *rl;
        ratelimit_wake_t wake;
        void *userdata;
        RateLimitWaiter *next, *prev;
        bool waiting;
};

/* rate: bytes per second; 0 means no cap (ratelimit_take grants everything). */
int ratelimit_new(sd_event *event, uint64_t rate, RateLimit **ret);
RateLimit *ratelimit_free(RateLimit *rl);
DEFINE_TRIVIAL_CLEANUP_FUNC(RateLimit *, ratelimit_free);

/* How many of want bytes may go out now (0: none; then ratelimit_wait()). */
size_t ratelimit_take(RateLimit *rl, size_t want);
/* Call wake once tokens are available again. */
void ratelimit_wait(RateLimit *rl, RateLimitWaiter *w, ratelimit_wake_t wake, void *userdata);
void ratelimit_cancel(RateLimitWaiter *w);
