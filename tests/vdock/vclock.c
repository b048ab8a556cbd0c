/* vclock.c: the system clock and a fake one for unit tests (vclock.h). */
#include "vclock.h"

static gint64 sys_mono(const VClock *c) { return g_get_monotonic_time(); }
static gint64 sys_real(const VClock *c) { return g_get_real_time(); }
static gint64 fake_mono(const VClock *c) { return c->fake_mono; }
static gint64 fake_real(const VClock *c) { return c->fake_real; }

const VClock *vclock_system(void)
{
        static const VClock system_clock = { sys_mono, sys_real, 0, 0 };
        return &system_clock;
}

void vclock_fake_init(VClock *c, gint64 real_us)
{
        c->monotonic_us = fake_mono;
        c->realtime_us = fake_real;
        c->fake_mono = 1000000;
        c->fake_real = real_us;
}
