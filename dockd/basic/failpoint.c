/* SPDX-License-Identifier: Apache-2.0 */
/* failpoint.c: see failpoint.h. Deliberately tiny: it must not change timing. */
#include <signal.h>

#include "failpoint.h"
#include "log.h"

#if ENABLE_FAILPOINTS
typedef struct Failpoint {
        char name[64];
        unsigned remaining;
} Failpoint;

static Failpoint points[16];
static size_t n_points;
static bool parsed;

static void failpoints_parse(void) {
        const char *e = getenv("DOCKD_FAILPOINTS");

        parsed = true;
        while (e && *e && n_points < ELEMENTSOF(points)) {
                size_t len = strcspn(e, ",");
                Failpoint *p = &points[n_points];
                const char *colon = memchr(e, ':', len);
                size_t nlen = colon ? (size_t) (colon - e) : len;

                if (nlen > 0 && nlen < sizeof p->name) {
                        memcpy(p->name, e, nlen);
                        p->remaining = colon ? (unsigned) strtoul(colon + 1, NULL, 10) : 1;
                        if (p->remaining == 0)
                                p->remaining = 1;
                        n_points++;
                }
                e += len;
                if (*e == ',')
                        e++;
        }
}

void failpoint(const char *name) {
        if (!parsed)
                failpoints_parse();
        for (size_t i = 0; i < n_points; i++)
                if (streq(points[i].name, name) && --points[i].remaining == 0) {
                        log_notice("Failpoint %s reached, killing myself.", name);
                        raise(SIGKILL);
                }
}
#endif
