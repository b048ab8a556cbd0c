/* vclock.h: an injectable clock, so the responder and models are testable. */
#pragma once
#include <glib.h>

typedef struct VClock VClock;
struct VClock {
        gint64 (*monotonic_us)(const VClock *c);
        gint64 (*realtime_us)(const VClock *c);
        gint64 fake_mono, fake_real; /* used by vclock_fake() */
};

const VClock *vclock_system(void);
void vclock_fake_init(VClock *c, gint64 real_us);
static inline gint64 vclock_mono(const VClock *c) { return c->monotonic_us(c); }
static inline gint64 vclock_real(const VClock *c) { return c->realtime_us(c); }
