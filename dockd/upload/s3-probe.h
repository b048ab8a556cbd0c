/* SPDX-License-Identifier: Apache-2.0 */
/* s3-probe.h: what an S3 store supports that the s3 backend's write-once
 * promise depends on, found out once, before the first put (not per object):
 *   - If-None-Match: * on PutObject: a PUT of a probe key that exists is
 *     refused with 412 (AWS, Ceph RGW), answered 501 (Swift's s3api), or taken
 *     as an overwrite (a store that ignores the header);
 *   - with [s3] object_lock=yes, whether GetObjectLockConfiguration is what it
 *     says (Swift's s3api takes unknown subresources for plain requests, so a
 *     PutObjectRetention there would overwrite the object).
 * The probe key is <prefix>probe/<dock>/if-none-match, a few bytes of our own,
 * one fixed key per dock. What the probe's PUTs wrote is deleted right after
 * (each version by its id where the bucket keeps versions); a bucket whose
 * Object Lock refuses that keeps it, which is logged, and the next start-up
 * finds it there (412) and writes nothing more. A probe object that existed
 * before (412 on the first PUT) is left alone: deleting it in a versioned
 * bucket would only add a delete marker, and the next start a new version.
 * Puts that start meanwhile wait; when the store cannot be asked (network,
 * credentials), they fail with that error and the next put asks again. */
#pragma once

#include "s3-put.h"

/* s3_put_begin(p) now if the store is known, else once it is (p waits). */
void s3_probe_then_begin(BackendPut *p);
void s3_probe_done(S3Backend *s3);
