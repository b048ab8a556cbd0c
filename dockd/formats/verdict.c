/* SPDX-License-Identifier: Apache-2.0 */
/* verdict.c: see verdict.h. */
#include <inttypes.h>
#include <stdarg.h>

#include "verdict.h"

_printf_(2, 3) static int against(char **ret_reason, const char *fmt, ...) {
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vasprintf(ret_reason, fmt, ap);
        va_end(ap);
        if (k < 0)
                *ret_reason = NULL;   /* the caller still knows it is against */
        return -EBADMSG;
}

int verdict_manifest(TrustStore *trust, const uint8_t *man, size_t man_size, const uint8_t *p7s, size_t p7s_size,
                     const SegmentFacts *facts, Manifest **ret_manifest, char **ret_reason) {
        _cleanup_free_ char *why = NULL;
        const Manifest *m;

        if (!man)
                return against(ret_reason, "manifest missing on the camera");
        if (manifest_parse(man, man_size, ret_manifest, &why) < 0)
                return against(ret_reason, "manifest invalid: %s", strna(why));
        m = *ret_manifest;
        if (!p7s)
                return against(ret_reason, "signature missing on the camera");
        if (verify_manifest_signature(trust, man, man_size, p7s, p7s_size, facts->serial, &why) < 0)
                return against(ret_reason, "signature: %s", strna(why));
        if (!streq(m->device_serial, facts->serial))
                return against(ret_reason, "manifest names camera %s", m->device_serial);
        if (!streq(m->recording_id, facts->recording) || m->segment_index != facts->index)
                return against(ret_reason, "manifest describes %s/%06" PRIu32 ", not this segment", m->recording_id,
                               m->segment_index);
        if (facts->video_present && facts->video_size != m->size)
                return against(ret_reason, "video is %" PRIu64 " bytes on the camera, the manifest says %" PRIu64,
                               facts->video_size, m->size);
        return 0;
}

int verdict_video(uint64_t pulled, uint64_t size, const uint8_t sha256[32], const Manifest *m, char **ret_reason) {
        char hex[65];

        if (pulled != size)
                return against(ret_reason, "only %" PRIu64 " of %" PRIu64 " bytes could be pulled", pulled, size);
        if (m && memcmp(sha256, m->sha256, 32) != 0)
                return against(ret_reason, "video SHA-256 %s does not match the manifest", hex_sha256(sha256, hex));
        return 0;
}

void segment_policy_done(SegmentPolicy *p) {
        free(p->categories);
        *p = (SegmentPolicy) {};
}

/* "a,b": the manifest's categories, as the spool keeps them. */
static char *categories_join(const Manifest *m) {
        size_t len = 0;
        char *cats;

        for (size_t i = 0; i < m->n_categories; i++)
                len += strlen(m->categories[i]) + 1;
        cats = calloc(1, len + 1);
        for (size_t i = 0; cats && i < m->n_categories; i++) {
                if (i > 0)
                        strcat(cats, ",");
                strcat(cats, m->categories[i]);
        }
        return cats;
}

int verdict_policy(const DockdConfig *c, const Manifest *m, bool quarantined, time_t now, SegmentPolicy *ret) {
        SegmentPolicy p = {};
        usec_t retention = c->retention_default;

        if (m) {
                p.categories = categories_join(m);
                if (!p.categories)
                        return -ENOMEM;
                for (size_t i = 0; i < m->n_categories; i++) {
                        const CategoryConfig *cc = config_find_category(c, m->categories[i]);
                        if (cc && cc->evidentiary)
                                p.evidentiary = true;
                        if (cc && cc->legal_hold)
                                p.legal_hold = true;
                }
                p.start_time = (uint64_t) m->start_time;
                retention = config_retention(c, (const char *const *) m->categories, m->n_categories);
        }
        if (quarantined) {
                /* Possible tampering is kept as long as any evidence is. */
                for (size_t i = 0; i < c->n_categories; i++)
                        retention = MAX(retention, c->categories[i].retention);
                p.start_time = p.start_time ?: (uint64_t) now;
        }
        /* From the pull at the earliest: a camera's clock (or an old recording)
         * must not shorten what the dock keeps, nor set a date a store with
         * Object Lock refuses as past. */
        p.retain_until = MAX(p.start_time, (uint64_t) now) + retention / USEC_PER_SEC;
        *ret = p;
        return 0;
}
