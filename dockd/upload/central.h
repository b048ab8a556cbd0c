/* SPDX-License-Identifier: Apache-2.0 */
/* central.h: the hand-off from the dock to central storage. It owns the backend
 * ([storage] backend=) and the uploader in front of it, queues a pulled
 * segment's three objects (evidence/ or quarantine/, docs/design.md "Object
 * layout") and the custody log's sealed files, and as central storage confirms
 * each object writes custody "uploaded", then "confirmed" and the segment's
 * state, drops the spool copy, and tells its owner, which may then let the
 * camera delete the segment. */
#pragma once

#include <systemd/sd-event.h>

#include "custody.h"
#include "spool.h"
#include "uploader.h"

typedef struct Central Central;

/* A segment is confirmed: its state says so durably, with its custody records. */
typedef void (*central_confirmed_t)(const SegmentId *id, void *userdata);

/* Logs what fails ("Cannot set up central storage: …"). spool and custody are
 * borrowed and must outlive it. */
int central_new(sd_event *event, const DockdConfig *config, Spool *spool, CustodyLog *custody, Central **ret);
/* Uploads in flight stay resumable. */
Central *central_free(Central *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Central *, central_free);

void central_set_confirmed_handler(Central *c, central_confirmed_t cb, void *userdata);
/* The reference of a preservation request that holds a recording, or NULL.
 * Its objects queued from now on carry a legal hold (S3
 * x-amz-object-lock-legal-hold, tus metadata); those queued before it get one
 * once stored, where the store can (legal-hold.h). */
typedef const char *(*central_held_t)(const char *serial, const char *recording, void *userdata);
void central_set_held_check(Central *c, central_held_t cb, void *userdata);
/* A recording was just held: set a legal hold on what central storage already
 * holds of it, where the store can (legal-hold.h); logs what it could not. */
int central_legal_hold(Central *c, const char *serial, const char *recording, const char *reference);
/* The uploader, for other documents bound for central storage (reports) and
 * for its figures. */
Uploader *central_uploader(Central *c);
/* The backend itself, for reading back what it holds (reconciliation). */
Backend *central_backend(Central *c);

/* Segments queued that central storage has not confirmed yet, and when the
 * oldest of them was pulled (CLOCK_REALTIME; 0 when there is none). */
void central_unconfirmed(Central *c, size_t *ret_n, usec_t *ret_oldest);

/* Queue a pulled segment's objects for central storage (idempotent). Not one
 * whose chain link is owed a check (SegmentState.chain_owed): it goes to
 * evidence/ or quarantine/ by that check's answer, and is queued then. */
int central_enqueue_segment(Central *c, const SegmentId *id, const SegmentState *st);
/* Does central storage hold a manifest with SHA-256 sha256 for segment index of
 * a recording (under evidence/ or quarantine/, the plain key or the variant the
 * hash names)? result: 1 yes; 0 those keys hold other manifests; -ENOENT
 * nothing there; other < 0 cannot tell now (storage unreachable, refused).
 * -EOPNOTSUPP at once when the backend cannot find objects by key (tus unless
 * [tus] uploads_named_by_key). *ret is set before anything else happens; cb may
 * run before this returns, and the search is over (and freed) when cb runs. */
typedef struct CentralSearch CentralSearch;
typedef void (*central_found_t)(int result, void *userdata);
int central_find_manifest(Central *c, const char *serial, const char *recording, uint32_t index,
                          const uint8_t sha256[32], central_found_t cb, void *userdata, CentralSearch **ret);
/* Stop a search; cb is not called. */
CentralSearch *central_search_cancel(CentralSearch *s);
/* After a restart: every segment pulled but not confirmed goes back in the queue;
 * a confirmed one's state is synced again and its data leaves the spool (a power
 * cut can bring back an unlink that its directory's fsync had not made durable). */
int central_requeue_spool(Central *c);
/* Seal the current custody file, queue every sealed file not yet uploaded and
 * the dock's public key (which a verifier needs). */
int central_upload_custody(Central *c);
