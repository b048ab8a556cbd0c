/* SPDX-License-Identifier: Apache-2.0 */
/* ratelimit.c: see ratelimit.h. The bucket holds at most a tenth of a second of
 * traffic (at least 16 KiB), so a burst after a pause stays short; waiters are
 * woken together from one timer and share what the next refill brings. */
#include <inttypes.h>

#include "event-priority.h"
#include "log.h"
#include "ratelimit.h"

struct RateLimit {
        sd_event *event;
        uint64_t rate;
        uint64_t capacity;
        uint64_t tokens;           /* may be sent now */
        uint64_t spent;            /* handed out since started, plus tokens that overflowed the bucket */
        sd_event_source *timer;
        RateLimitWaiter *waiters;
        uint64_t taken;            /* handed out, for the debug log */
        usec_t started;            /* CLOCK_MONOTONIC */
};

/* Tokens are counted exactly: all ever produced since the start, minus all
 * ever handed out, capped at the bucket's size (no rounding drift). */
static void refill(RateLimit *rl) {
        usec_t now;
        uint64_t produced;

        if (sd_event_now(rl->event, CLOCK_MONOTONIC, &now) < 0 || now <= rl->started)
                return;
        produced = (uint64_t) ((unsigned __int128) (now - rl->started) * rl->rate / USEC_PER_SEC);
        if (produced - rl->spent > rl->capacity)
                rl->spent = produced - rl->capacity;
        rl->tokens = produced - rl->spent;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        RateLimit *rl = userdata;
        RateLimitWaiter *list = rl->waiters;

        rl->waiters = NULL;
        for (RateLimitWaiter *w = list; w; w = w->next)
                w->waiting = false;
        while (list) {
                RateLimitWaiter *w = list;
                list = w->next;
                w->next = w->prev = NULL;
                w->wake(w, w->userdata);
        }
        return 0;
}

static void arm(RateLimit *rl) {
        uint64_t need = MIN(rl->capacity, MAX(rl->rate / 50, (uint64_t) 4096));
        usec_t now, wait;

        if (sd_event_now(rl->event, CLOCK_MONOTONIC, &now) < 0)
                now = 0;
        wait = rl->tokens >= need ? 0 : (need - rl->tokens) * USEC_PER_SEC / rl->rate + 1;
        (void) sd_event_source_set_time(rl->timer, now + wait);
        (void) sd_event_source_set_enabled(rl->timer, SD_EVENT_ONESHOT);
}

int ratelimit_new(sd_event *event, uint64_t rate, RateLimit **ret) {
        RateLimit *rl = calloc(1, sizeof *rl);
        int r;

        if (!rl)
                return -ENOMEM;
        rl->event = sd_event_ref(event);
        rl->rate = rate;
        rl->capacity = MAX(rate / 10, (uint64_t) 16 * KiB);
        (void) sd_event_now(event, CLOCK_MONOTONIC, &rl->started);
        /* Start with a full bucket. */
        if (rate > 0)
                rl->started -= MIN(rl->started, rl->capacity * USEC_PER_SEC / rate);
        r = sd_event_add_time(event, &rl->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_timer, rl);
        if (r >= 0)
                r = sd_event_source_set_priority(rl->timer, EVENT_PRIORITY_UPLINK);
        if (r < 0) {
                ratelimit_free(rl);
                return r;
        }
        (void) sd_event_source_set_enabled(rl->timer, SD_EVENT_OFF);
        *ret = rl;
        return 0;
}

RateLimit *ratelimit_free(RateLimit *rl) {
        if (!rl)
                return NULL;
        if (rl->taken > 0) {
                usec_t now = 0;
                (void) sd_event_now(rl->event, CLOCK_MONOTONIC, &now);
                log_debug("Bandwidth cap: %" PRIu64 " bytes in %.3fs under %" PRIu64 " bytes/s.", rl->taken,
                          (double) (now - rl->started) / USEC_PER_SEC, rl->rate);
        }
        while (rl->waiters)
                ratelimit_cancel(rl->waiters);
        sd_event_source_disable_unref(rl->timer);
        sd_event_unref(rl->event);
        free(rl);
        return NULL;
}

size_t ratelimit_take(RateLimit *rl, size_t want) {
        size_t n;

        if (!rl || rl->rate == 0)
                return want;
        refill(rl);
        n = (size_t) MIN((uint64_t) want, rl->tokens);
        rl->tokens -= n;
        rl->spent += n;
        rl->taken += n;
        return n;
}

void ratelimit_wait(RateLimit *rl, RateLimitWaiter *w, ratelimit_wake_t wake, void *userdata) {
        if (w->waiting)
                ratelimit_cancel(w);
        w->rl = rl;
        w->wake = wake;
        w->userdata = userdata;
        w->prev = NULL;
        w->next = rl->waiters;
        if (rl->waiters)
                rl->waiters->prev = w;
        rl->waiters = w;
        w->waiting = true;
        refill(rl);
        arm(rl);
}

void ratelimit_cancel(RateLimitWaiter *w) {
        RateLimit *rl = w->rl;

        if (!w->waiting || !rl)
                return;
        if (w->prev)
                w->prev->next = w->next;
        else
                rl->waiters = w->next;
        if (w->next)
                w->next->prev = w->prev;
        w->next = w->prev = NULL;
        w->waiting = false;
}
