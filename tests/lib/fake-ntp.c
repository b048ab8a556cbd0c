/* fake-ntp.c: an LD_PRELOAD interposer that presents the kernel's NTP state
 * as a test chooses, since the machines tests run on may or may not have a
 * disciplined clock (a container usually has none: adjtimex(2) says
 * TIME_ERROR, STA_UNSYNC). FAKE_NTP=synchronised (the default) answers every
 * read of the NTP state (adjtimex, ntp_adjtime, clock_adjtime with modes 0,
 * ntp_gettime) with TIME_OK, STA_PLL and a small maximum error;
 * FAKE_NTP=unsynchronised with TIME_ERROR, STA_UNSYNC and the maximum error
 * at its limit, as the kernel does when nothing disciplines the clock.
 * Attempts to change the clock fail with EPERM. The clock itself (time,
 * clock_gettime) is untouched.
 *
 * It works for code that calls these through libc's dynamic symbols; a raw
 * syscall(SYS_adjtimex) would bypass it. tests/lib/dockdtest.py loads it
 * into dockd after umockdev's preload library:
 *   LD_PRELOAD="libumockdev-preload.so.0 <build>/tests/lib/libfake-ntp.so" */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>

static int fake_state(struct timex *buf)
{
        const char *want = getenv("FAKE_NTP");
        int unsync = want && strcmp(want, "unsynchronised") == 0;
        unsigned modes = buf->modes;
        struct timespec now;

        if (modes != 0 && modes != ADJ_OFFSET_SS_READ) {
                errno = EPERM;
                return -1;
        }
        clock_gettime(CLOCK_REALTIME, &now);
        memset(buf, 0, sizeof *buf);
        buf->status = unsync ? STA_UNSYNC : STA_PLL;
        buf->maxerror = unsync ? 16000000 : 1000; /* µs; 16 s is the kernel's "unknown" */
        buf->esterror = unsync ? 16000000 : 100;
        buf->constant = 2;
        buf->precision = 1;
        buf->tolerance = 32768000;
        buf->tick = 10000;
        buf->time.tv_sec = now.tv_sec;
        buf->time.tv_usec = now.tv_nsec / 1000;
        return unsync ? TIME_ERROR : TIME_OK;
}

int adjtimex(struct timex *buf)
{
        return fake_state(buf);
}

int ntp_adjtime(struct timex *buf)
{
        return fake_state(buf);
}

int clock_adjtime(clockid_t clock, struct timex *buf)
{
        (void) clock;
        return fake_state(buf);
}

/* <sys/timex.h> redirects ntp_gettime to the symbol ntp_gettimex: this
 * defines the one callers link against. */
int ntp_gettime(struct ntptimeval *ntv)
{
        struct timex t = { .modes = 0 };
        int r = fake_state(&t);

        memset(ntv, 0, sizeof *ntv);
        ntv->time = t.time;
        ntv->maxerror = t.maxerror;
        ntv->esterror = t.esterror;
        return r;
}
