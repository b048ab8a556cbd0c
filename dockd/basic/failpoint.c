/* SPDX-License-Identifier: Apache-2.0 */
/* failpoint.c: see failpoint.h. Deliberately tiny: it must not change timing. */
#include <signal.h>

#include "failpoint.h"
#include "log.h"

#if ENABLE_FAILPOINTS
typedef struct Failpoint {
        char name[64];
        char text[128];   /* only passes whose detail contains this count; "" any */
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
                size_t spec = colon ? (size_t) (colon - e) : len;
                const char *at = memchr(e, '@', spec);
                size_t nlen = at ? (size_t) (at - e) : spec;
                size_t tlen = at ? spec - nlen - 1 : 0;

                if (nlen > 0 && nlen < sizeof p->name && tlen < sizeof p->text) {
                        memcpy(p->name, e, nlen);
                        if (at)
                                memcpy(p->text, at + 1, tlen);
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

void failpoint_detail(const char *name, const char *detail) {
        if (!parsed)
                failpoints_parse();
        for (size_t i = 0; i < n_points; i++)
                if (streq(points[i].name, name) &&
                    (!points[i].text[0] || (detail && strstr(detail, points[i].text))) &&
                    --points[i].remaining == 0) {
                        log_notice("Failpoint %s reached, killing myself.", name);
                        raise(SIGKILL);
                }
}
#endif
