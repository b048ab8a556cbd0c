/* SPDX-License-Identifier: Apache-2.0 */
/* verdict.h: whether a pulled segment is what its camera signed, and what
 * policy it falls under (docs/camera-protocol.md §12, docs/design.md "The one
 * promise"). The manifest must parse, carry the camera's signature under the
 * trust anchors, name this camera and segment and the video's size; the video
 * must be complete and hash to the manifest's SHA-256. (The hash chain is
 * chain.h.) Pure: the offload gathers the bytes and keeps the verdict. A
 * verdict against a segment is a reason, in words for the integrity alert. */
#pragma once

#include <time.h>

#include "dockd-config.h"
#include "manifest.h"
#include "verify.h"

/* What the camera's inventory says of the segment. */
typedef struct SegmentFacts {
        const char *serial;        /* authenticated at docking */
        const char *recording;
        uint32_t index;
        bool video_present;
        uint64_t video_size;
} SegmentFacts;

/* 0 when the manifest (man, may be NULL: missing) and its signature (p7s, may be
 * NULL) are this segment's own; -EBADMSG with *ret_reason otherwise. Once the
 * manifest parses it is in *ret_manifest, whatever the verdict. */
int verdict_manifest(TrustStore *trust, const uint8_t *man, size_t man_size, const uint8_t *p7s, size_t p7s_size,
                     const SegmentFacts *facts, Manifest **ret_manifest, char **ret_reason);
/* 0 when all size bytes were pulled and hash to the manifest's SHA-256 (no
 * manifest: nothing to compare); -EBADMSG with *ret_reason otherwise. */
int verdict_video(uint64_t pulled, uint64_t size, const uint8_t sha256[32], const Manifest *m, char **ret_reason);

/* The policy a segment falls under, from its manifest's categories. */
typedef struct SegmentPolicy {
        char *categories;          /* "a,b", NULL without a manifest */
        bool evidentiary;
        bool legal_hold;
        uint64_t start_time;       /* seconds since the epoch, 0: unknown */
        uint64_t retain_until;     /* max(start_time, now) + retention, seconds since the epoch */
} SegmentPolicy;

/* m may be NULL (no valid manifest). A quarantined segment is kept as long as
 * any evidence is. now: the dock's clock at the pull; retention runs from the
 * later of it and the recording's start. */
int verdict_policy(const DockdConfig *c, const Manifest *m, bool quarantined, time_t now, SegmentPolicy *ret);
void segment_policy_done(SegmentPolicy *p);
