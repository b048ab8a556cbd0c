/* SPDX-License-Identifier: Apache-2.0 */
/* legal-hold.h: a legal hold set after the upload, on the objects a held
 * recording already has in central storage (docs/dbus-api.md, "Holds"). On a
 * store that can (s3 with [s3] object_lock=yes, the bucket reporting Object
 * Lock enabled): list the recording's keys under evidence/ and quarantine/,
 * PutObjectLegalHold each, confirm it by a HEAD that reports the legal hold and
 * the ETag the listing gave, and write a legal-hold-applied custody record per
 * object. Elsewhere (file, tus, a store without Object Lock) nothing is sent,
 * and the log says plainly that the hold stays on the dock and in the custody
 * log. Never lifts a legal hold: that is the store's administrators' decision. */
#pragma once

#include "backend-ops.h"
#include "custody.h"

typedef struct LegalHoldJob LegalHoldJob;

/* Start the job for recording of camera serial (hold reference ref); it runs on
 * the backend's event loop and removes itself from *list when done. Borrowed
 * backend and custody must outlive it (legal_hold_jobs_free() first). */
int legal_hold_start(Backend *backend, CustodyLog *custody, const char *serial, const char *recording,
                     const char *reference, LegalHoldJob **list);
/* The same for n objects of the recording just stored (keys and their ETags,
 * an ETag NULL when the store gave none), which were queued before the hold
 * and so carry none: nothing is listed. Silent where the store cannot take a
 * legal hold (legal_hold_start() said so when the recording was held). */
int legal_hold_start_objects(Backend *backend, CustodyLog *custody, const char *serial, const char *recording,
                             const char *reference, char *const *keys, char *const *etags, size_t n,
                             LegalHoldJob **list);
/* Stop every job of the list (at shutdown): what was set stays set. */
void legal_hold_jobs_free(LegalHoldJob **list);
