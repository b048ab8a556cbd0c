/* SPDX-License-Identifier: Apache-2.0 */
/* offload.c: one docking of one camera, segment by segment (see offload.h).
 *
 * Order of durable steps per segment (docs/design.md, "The order of durable
 * steps"): .man and .p7s written to the spool (atomic) → state "pulling" →
 * video pulled into <index>.mp4.part, hashed as bytes arrive, fsynced every
 * [spool] sync_interval → fsync, rename to <index>.mp4, fsync dir → verdict →
 * custody "pulled" + "verified"/"quarantined" → state "pulled" → upload queued.
 * Central storage's confirmation (upload/central.c) writes custody "confirmed"
 * and makes the state "confirmed"; only then, and only if every segment of the
 * recording on the camera verified, does this file delete the segment from the
 * camera, and then writes "deleted" to custody and to the state. Any camera
 * failure ends the offload; the bay recovers the camera and starts a new one,
 * which resumes from the spool. Matching names to content and deletion are in
 * offload-delete.c. */
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include "chain.h"
#include "failpoint.h"
#include "fileio.h"
#include "manifest.h"
#include "message-ids.h"
#include "offload-private.h"
#include "offload.h"
#include "ptp.h"
#include "verdict.h"

#define MAX_SIGNATURE_SIZE (64 * 1024)

/* What this docking knows of each inventory segment's name. */

void offload_log(Offload *o, int level, int error, const char *segment, const char *fmt, ...) {
        char buf[1024];
        va_list ap;

        errno = abs(error);   /* for %m */
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        (void) log_full_errno_ctx(level, error,
                                  (&(LogContext) { .bay = o->bay, .serial = o->serial, .segment = segment }),
                                  "%s", buf);
}


static void segment_reset(Offload *o) {
        free(o->man);
        free(o->p7s);
        o->man = o->p7s = NULL;
        o->man_size = o->p7s_size = 0;
        o->manifest = manifest_free(o->manifest);
        free(o->reason);
        o->reason = NULL;
        o->trusted = false;
        o->chain_owed = o->chain_missing = false;
        o->fd = safe_close(o->fd);
        EVP_MD_CTX_free(o->hash);
        o->hash = NULL;
        o->offset = o->size = o->unsynced = 0;
        memset(o->sha, 0, sizeof o->sha);
        o->spool_wait = false;
}

static void quarantine(Offload *o, const char *fmt, ...) _printf_(2, 3);
static void quarantine(Offload *o, const char *fmt, ...) {
        va_list ap;
        char *r;

        if (o->reason)
                return;   /* the first reason is the one that matters */
        va_start(ap, fmt);
        if (vasprintf(&r, fmt, ap) < 0)
                r = NULL;
        va_end(ap);
        o->reason = r ?: strdup("verification failed");
}

void offload_fail(Offload *o, int error, const char *what) {
        o->busy = false;
        if (o->failed)
                return;
        o->failed = true;
        segment_reset(o);
        if (error != -ENODEV)
                offload_log(o, LOG_WARNING, error, o->phase == PHASE_PULL ? o->segname : NULL,
                            "Camera failed while %s: %m.", what);
        o->cb.done(o, error, &o->summary, o->userdata);
}

static void offload_finish(Offload *o) {
        o->phase = PHASE_DONE;
        o->cb.done(o, 0, &o->summary, o->userdata);
}

/* ---- inventory ---- */

static void on_inventory(Camera *c, int error, uint16_t rc, CameraInventory *inv, void *userdata) {
        Offload *o = userdata;

        if (error < 0)
                return offload_fail(o, error, "listing its recordings");   /* clears busy */
        offload_take_inventory(o, inv);   /* clears busy */
}

void offload_take_inventory(Offload *o, CameraInventory *inv) {
        int r;

        o->busy = false;
        o->inv = inv;
        o->refused = calloc(MAX(inv->n_segments, 1), sizeof *o->refused);
        o->match = calloc(MAX(inv->n_segments, 1), sizeof *o->match);
        o->video_size = calloc(MAX(inv->n_segments, 1), sizeof *o->video_size);
        if (!o->refused || !o->match || !o->video_size)
                return offload_fail(o, -ENOMEM, "listing its recordings");
        offload_progress_init(o);
        r = offload_finish_interrupted_deletions(o);
        if (r < 0)
                return offload_fail(o, r, "finishing an interrupted deletion");
        o->camera_bytes = spool_camera_usage(o->ctx->spool, o->serial);
        o->summary.storage_capacity = inv->storage_capacity;
        o->summary.not_yet_complete += o->growing;
        o->summary.storage_free = inv->storage_free;
        for (size_t i = 0; i < inv->n_segments; i++)
                o->summary.segments++;
        offload_log(o, LOG_INFO, 0, NULL, "Camera holds %zu segment(s) in %" PRIu64 " MiB used of %" PRIu64 " MiB%s.",
                    inv->n_segments, (inv->storage_capacity - inv->storage_free) / MiB, inv->storage_capacity / MiB,
                    inv->n_ignored ? "; other objects ignored" : "");
        if (inv->list_malformed)
                offload_log(o, LOG_WARNING, 0, NULL, "Camera answered GetObjectPropList with malformed data; "
                            "it was listed object by object instead.");
        o->phase = PHASE_PULL;
        o->cur = 0;
        offload_step(o);
}

/* ---- helpers on the inventory and the spool ---- */


static bool is_last_of_recording(Offload *o, size_t i) {
        return i + 1 >= o->inv->n_segments ||
               !streq(o->inv->segments[i + 1].recording_id, o->inv->segments[i].recording_id);
}

/* ---- pull: manifest and signature ---- */

static void pull_video(Offload *o);

static int keep_small(Offload *o, const char *ext, const uint8_t *data, size_t size) {
        _cleanup_free_ char *path = spool_path(o->ctx->spool, &o->id, ext), *old = NULL;
        size_t old_size;
        int r;

        if (!path)
                return -ENOMEM;
        /* A second look at a segment (after an unplug): the camera must still say
         * the same; if it does not, keep the first version and say why. */
        r = read_full_file(path, MAX_SIGNATURE_SIZE, &old, &old_size);
        if (r >= 0) {
                if (old_size != size || memcmp(old, data, size) != 0)
                        quarantine(o, "%s changed on the camera since it was first pulled", ext);
                return 0;
        }
        return spool_write_file(o->ctx->spool, &o->id, ext, data, size);
}

/* A verdict against the segment (verdict.h): quarantine it for that reason. */
static void quarantine_for(Offload *o, const char *reason) {
        if (reason)
                quarantine(o, "%s", reason);
        else
                quarantine(o, "verification failed");
}

/* Verdict on the manifest and its place in the chain. Returns 1 when this
 * dock knows no earlier segment of the recording: central storage must say
 * whether the one the manifest names is there (check_predecessor()). */
static int evaluate_manifest(Offload *o) {
        const CameraSegment *s = cur_seg(o);
        SegmentFacts facts = {
                .serial = o->serial,
                .recording = s->recording_id,
                .index = s->index,
                .video_present = s->present[CAMERA_FILE_VIDEO],
                .video_size = s->files[CAMERA_FILE_VIDEO].size,
        };
        _cleanup_free_ char *why = NULL;
        ChainHead head;
        const char *chain_reason = NULL;
        int r;

        r = verdict_manifest(o->ctx->trust, o->man, o->man_size, o->p7s, o->p7s_size, &facts, &o->manifest, &why);
        if (r < 0) {
                quarantine_for(o, why);
                return 0;
        }

        /* From here on the manifest is the camera's own word about this segment: the
         * next one chains to it whatever this one's verdict, so that a break is
         * reported where it is and not again for every later segment. */
        o->trusted = true;
        r = spool_chain_head(o->ctx->spool, o->serial, s->recording_id, s->index, o->manifest->prev, &head);
        if (r < 0 && r != -ENOENT) {
                quarantine(o, "chain state unreadable: %s", strerror(-r));
                return 0;
        }
        r = chain_check(r >= 0 ? &head : NULL, s->index, o->manifest->prev, &chain_reason);
        if (r == -ENOENT)
                return 1;
        if (r < 0)
                quarantine(o, "hash chain: %s", chain_reason);
        return 0;
}

static void on_predecessor(int result, void *userdata) {
        Offload *o = userdata;
        uint32_t index = cur_seg(o)->index;
        char buf[160];
        const char *why;

        o->busy = false;
        o->search = NULL;
        if (result < 0 && result != -ENOENT) {
                /* Unanswered is not passed: see check_predecessor(). */
                o->chain_owed = true;
                offload_log(o, LOG_WARNING, result, o->segname, "Central storage cannot say now whether it holds "
                            "segment %06" PRIu32 " (%m); this segment is pulled and kept, and stays on the camera "
                            "until it can.", index - 1);
        } else if (result == -ENOENT && o->ctx->config->chain_gap_after > 0) {
                /* Not there yet is not a gap yet: see check_predecessor(). */
                o->chain_owed = o->chain_missing = true;
                offload_log(o, LOG_NOTICE, 0, o->segname, "Central storage does not hold segment %06" PRIu32 " "
                            "(yet); this segment is pulled and kept, and stays on the camera while it is asked "
                            "again; still missing after %" PRIu64 " s, it is a gap.", index - 1,
                            o->ctx->config->chain_gap_after / USEC_PER_SEC);
        } else if ((why = offload_chain_verdict(result, index, buf, sizeof buf)))
                quarantine(o, "%s", why);
        else
                offload_log(o, LOG_INFO, 0, o->segname, "Continues segment %06" PRIu32 ", which central storage "
                            "holds.", index - 1);
        pull_video(o);
}

/* No dock's spool here knows the segment before this one (another dock took
 * it, or it was lost): whatever took it put it in central storage.
 *
 * A check central storage cannot answer now (unreachable, refusing) is not a
 * check passed: the evidence is still pulled, verified as far as it can be and
 * kept in the spool, so that an outage neither loses it nor holds up the shift;
 * but its state says the link is owed (SegmentState.chain_owed), and until the
 * check is answered the segment is neither counted verified (custody has
 * "pulled" only), nor uploaded (its area, evidence/ or quarantine/, depends on
 * the answer), nor deleted from the camera, and neither is any other segment
 * of its recording. The check is asked again on every pass over the inventory,
 * passes following each other with the upload backoff (owed_retry_later()),
 * and at every later docking.
 *
 * An answer "not there" is owed the same way for [dock] chain_gap_after (from
 * the first such answer, SegmentState.chain_missing_since): the segment before
 * left its camera only once central storage confirmed it, so its absence can
 * be a store whose readers lag its writers or a dock still uploading it, and a
 * gap filed then would be a false finding. Holding the recording costs nothing
 * meanwhile (it is on the camera and in the spool); still missing after that,
 * it is the gap. A manifest there that does not match is a break at once:
 * objects are write-once, another answer will not come. Only a backend that
 * cannot find objects by key at all (tus without [tus] uploads_named_by_key) checks from here on: holding such
 * cameras' recordings for ever would fill them. */
static void check_predecessor(Offload *o) {
        int r;

        o->busy = true;
        r = central_find_manifest(o->ctx->central, o->serial, o->id.recording, cur_seg(o)->index - 1,
                                  o->manifest->prev, on_predecessor, o, &o->search);
        if (r >= 0)
                return;
        o->busy = false;
        o->search = NULL;
        if (r != -EOPNOTSUPP)
                return on_predecessor(r, o);
        offload_log(o, LOG_NOTICE, 0, o->segname, "Earlier segments of this recording were never seen by this "
                    "dock and central storage cannot find objects by key; the chain is checked from here on.");
        pull_video(o);
}

/* The segment's two small files, manifest then signature: each read whole
 * from the camera and kept in the spool before the video is pulled. */
static const struct {
        CameraFileKind kind;
        const char *ext;
        size_t max;
        const char *reading, *keeping;   /* what failed */
} small_files[] = {
        { CAMERA_FILE_MANIFEST, "man", MANIFEST_MAX_SIZE, "reading a manifest", "keeping a manifest in the spool" },
        { CAMERA_FILE_SIGNATURE, "p7s", MAX_SIGNATURE_SIZE, "reading a signature", "keeping a signature in the spool" },
};

static void read_small(Offload *o);

static void on_small(Camera *c, int error, uint16_t rc, const uint8_t *data, size_t size, void *userdata) {
        Offload *o = userdata;
        bool manifest = small_files[o->small].kind == CAMERA_FILE_MANIFEST;
        uint8_t **keep = manifest ? &o->man : &o->p7s;
        int r;

        o->busy = false;
        if (error == -EMSGSIZE)
                /* Dropped by the transport, which stays usable: this segment only. */
                quarantine(o, "%s larger than %zu bytes", manifest ? "manifest" : "signature", small_files[o->small].max);
        else if (error < 0)
                return offload_fail(o, error, small_files[o->small].reading);
        else {
                *keep = memdup(data, size);
                if (!*keep && size > 0)
                        return offload_fail(o, -ENOMEM, small_files[o->small].reading);
                *(manifest ? &o->man_size : &o->p7s_size) = size;
                r = keep_small(o, small_files[o->small].ext, data, size);
                if (r < 0)
                        return offload_fail(o, r, small_files[o->small].keeping);
        }
        o->small++;
        read_small(o);
}

static void read_small(Offload *o) {
        const CameraSegment *s = cur_seg(o);
        int r;

        for (; o->small < ELEMENTSOF(small_files); o->small++) {
                CameraFileKind kind = small_files[o->small].kind;

                if (!s->present[kind])
                        continue;
                o->busy = true;
                r = camera_read_object(o->camera, s->files[kind].handle, small_files[o->small].max, on_small, o);
                if (r < 0)
                        offload_fail(o, r, small_files[o->small].reading);
                return;
        }
        if (o->generic)
                return pull_video(o);   /* nothing signed: the dock seals it once pulled */
        if (evaluate_manifest(o) > 0)
                return check_predecessor(o);
        pull_video(o);
}

static void pull_segment(Offload *o) {
        int r;

        o->id = seg_id(o, o->cur);
        segment_name(&o->id, o->segname, sizeof o->segname);
        /* Other content under a name the spool had: this docking pulls it after all. */
        o->video_size[o->cur] = offload_listed_video_size(cur_seg(o));
        r = spool_prepare(o->ctx->spool, &o->id);
        if (r < 0)
                return offload_fail(o, r, "preparing the spool");
        o->small = 0;
        read_small(o);
}

/* ---- pull: the video ---- */

static void pull_chunk(Offload *o);
static void pull_complete(Offload *o);

static int video_sink(const uint8_t *data, size_t size, void *userdata) {
        Offload *o = userdata;
        struct timespec t0, t1;
        int r;

        if (o->offset + size > o->size)
                return -EMSGSIZE;
        if (!o->rereading) {
                r = pwrite_all(o->fd, data, size, (off_t) o->offset);
                if (r < 0)
                        return r;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        EVP_DigestUpdate(o->hash, data, size);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        o->summary.hash_usec += (usec_t) ((t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000);
        o->offset += size;
        if (o->rereading)
                return 0;   /* hashed only: nothing kept, nothing pulled */
        o->unsynced += size;
        o->summary.bytes_pulled += size;
        o->camera_bytes += size;
        spool_account(o->ctx->spool, (int64_t) size);
        return 0;
}

static void offload_destroy(Offload *o);

/* ---- blocking disk work, in a worker ----
 * An fsync of a whole segment, or of a directory, can take a second on a busy
 * disk; on the event loop it would stall every bay's USB and every upload. The
 * offload is busy meanwhile (no camera operation, no other step), and its job's
 * end continues on the loop with job_next. */

static void on_job_done(int result, void *userdata) {
        Offload *o = userdata;

        o->job = NULL;
        o->busy = false;
        if (o->zombie) {
                offload_destroy(o);
                return;
        }
        if (result == -ECANCELED)
                return;
        if (result < 0)
                return offload_fail(o, result, o->job_what);
        o->job_next(o);
}

static void run_in_worker(Offload *o, worker_fn_t fn, void (*next)(Offload *o), const char *what) {
        int r;

        o->busy = true;
        o->job_next = next;
        o->job_what = what;
        r = worker_pool_submit(o->ctx->workers, fn, on_job_done, o, &o->job);
        if (r < 0)
                offload_fail(o, r, what);
}

static int sync_work(void *userdata, volatile bool *cancelled) {
        Offload *o = userdata;

        return fdatasync(o->fd) < 0 ? -errno : 0;
}

static void synced(Offload *o) {
        o->unsynced = 0;
        pull_chunk(o);
}

static void reread_end(Offload *o, int error, uint16_t rc);

static void on_chunk(Camera *c, int error, uint16_t rc, void *userdata) {
        Offload *o = userdata;

        o->busy = false;
        if (o->rereading) {
                if (error >= 0 && o->offset == o->chunk_start && o->offset < o->size)
                        error = -ENODATA;   /* the camera sent fewer bytes than it was asked for */
                if (error < 0)
                        return reread_end(o, error, rc);
                return pull_chunk(o);
        }
        if (error == -EREMOTEIO && (rc == PTP_RC_INVALID_PARAMETER || rc == PTP_RC_INVALID_OBJECT_HANDLE)) {
                /* The camera will not give the bytes it listed. Keep what we have. */
                quarantine(o, "camera refused to send bytes %" PRIu64 "-%" PRIu64 " of the video (0x%04x)",
                           o->offset, o->size, rc);
                return pull_complete(o);
        }
        if (error < 0)
                return offload_fail(o, error, "pulling a video");
        failpoint("pull-chunk");
        if (o->offset == o->chunk_start && o->offset < o->size) {
                quarantine(o, "camera sent no bytes at offset %" PRIu64 " of %" PRIu64, o->offset, o->size);
                return pull_complete(o);
        }
        pull_chunk(o);
}

/* One camera may hold at most its share of the spool ([spool] quota over the
 * bays), so that a camera with a lot, while central storage is away, cannot
 * keep a later one from being pulled. What it holds is counted as it pulls and
 * looked up again (uploads free it) when the count says it is at its share. */
static bool within_share(Offload *o, uint64_t need) {
        uint64_t quota = o->ctx->config->spool_quota, share;

        if (quota == UINT64_MAX)
                return true;
        share = quota / MAX(o->ctx->config->n_bays, 1u);
        if (o->camera_bytes + need <= share)
                return true;
        o->camera_bytes = spool_camera_usage(o->ctx->spool, o->serial);
        if (o->camera_bytes + need <= share)
                return true;
        if (!o->share_logged)
                offload_log(o, LOG_NOTICE, 0, o->segname, "Camera holds its share of the spool (%" PRIu64 " of %"
                            PRIu64 " MiB); pulls pause until uploads drain it.", o->camera_bytes / MiB, share / MiB);
        o->share_logged = true;
        return false;
}

static void pull_chunk(Offload *o) {
        uint64_t n;
        int r;

        if (o->failed)
                return;
        if (!o->rereading && o->unsynced >= o->ctx->config->spool_sync_interval) {
                failpoint("pull-before-sync");
                return run_in_worker(o, sync_work, synced, "syncing the spool");
        }
        if (o->offset >= o->size)
                return o->rereading ? reread_end(o, 0, PTP_RC_OK) : pull_complete(o);
        n = MIN(o->size - o->offset, o->ctx->config->usb_chunk_size);
        if (!o->rereading) {
                /* A chunk ends where the next sync is due: syncs stay sync_interval apart. */
                n = MIN(n, o->ctx->config->spool_sync_interval - o->unsynced);
                if (!spool_has_room(o->ctx->spool, n) || !within_share(o, n)) {
                        /* Paused until uploads drain the spool (offload_spool_freed). */
                        o->spool_wait = true;
                        return;
                }
                o->spool_wait = false;
        }
        o->chunk_start = o->offset;
        o->busy = true;
        r = camera_read_partial(o->camera, o->rereading ? o->reread_handle :
                                cur_seg(o)->files[CAMERA_FILE_VIDEO].handle, o->offset, (uint32_t) n,
                                video_sink, o, on_chunk, o);
        if (r < 0)
                offload_fail(o, r, "pulling a video");
}

/* The end of offload_reread_object(): the hash goes to done, and the pull's
 * fields it borrowed are left as a pull finds them. */
static void reread_end(Offload *o, int error, uint16_t rc) {
        offload_reread_t done = o->reread_done;
        uint8_t sha[32] = {};
        uint64_t got = o->offset;

        if (error >= 0 && !EVP_DigestFinal_ex(o->hash, sha, NULL))
                error = -ENOMEM;
        EVP_MD_CTX_free(o->hash);
        o->hash = NULL;
        o->rereading = false;
        o->reread_done = NULL;
        o->offset = o->size = o->chunk_start = 0;
        o->summary.bytes_reread += got;
        done(o, error, rc, got, sha);
}

void offload_reread_object(Offload *o, uint32_t handle, uint64_t size, offload_reread_t done) {
        o->hash = EVP_MD_CTX_new();
        if (!o->hash || !EVP_DigestInit_ex(o->hash, EVP_sha256(), NULL))
                return offload_fail(o, -ENOMEM, "hashing");
        o->rereading = true;
        o->reread_handle = handle;
        o->reread_done = done;
        o->offset = o->chunk_start = 0;
        o->size = size;
        pull_chunk(o);
}

typedef struct Rehash {
        int fd;
        uint64_t size;
        EVP_MD_CTX *ctx;
} Rehash;

/* In a worker: hash the bytes an earlier attempt left in the .part file. */
static int rehash_work(void *userdata, volatile bool *cancelled) {
        Rehash *rh = userdata;
        _cleanup_free_ uint8_t *buf = malloc(1 * MiB);
        uint64_t off = 0;

        if (!buf)
                return -ENOMEM;
        while (off < rh->size) {
                ssize_t n = pread_all(rh->fd, buf, (size_t) MIN(rh->size - off, 1 * MiB), (off_t) off);
                if (n <= 0)
                        return n < 0 ? (int) n : -EIO;
                EVP_DigestUpdate(rh->ctx, buf, (size_t) n);
                off += (uint64_t) n;
                if (*cancelled)
                        return -ECANCELED;
        }
        return 0;
}

static void rehashed(Offload *o) {
        offload_log(o, LOG_INFO, 0, o->segname, "Resuming at byte %" PRIu64 " of %" PRIu64 ".", o->offset, o->size);
        pull_chunk(o);
}

static int rehash_in_worker(void *userdata, volatile bool *cancelled) {
        Offload *o = userdata;
        Rehash rh = { .fd = o->fd, .size = o->offset, .ctx = o->hash };

        return rehash_work(&rh, cancelled);
}

static void pull_video(Offload *o) {
        const CameraSegment *s = cur_seg(o);
        _cleanup_free_ char *part = NULL, *done = NULL;
        SegmentState st = { .stage = SEGMENT_PULLING };
        struct stat sb;
        int r;

        r = spool_state_save(o->ctx->spool, &o->id, &st);
        if (r < 0)
                return offload_fail(o, r, "saving segment state");

        if (!s->present[CAMERA_FILE_VIDEO]) {
                quarantine(o, "video missing on the camera");
                return pull_complete(o);
        }
        /* Pull what the camera has, but never more than its manifest says: a
         * camera claiming a larger object could fill the spool (and the extra
         * bytes are no part of the signed segment). The size mismatch itself
         * is the verdict's finding. */
        o->size = s->files[CAMERA_FILE_VIDEO].size;
        if (o->manifest && o->size > o->manifest->size) {
                quarantine(o, "video object of %" PRIu64 " bytes, its manifest says %" PRIu64 "; only those were read",
                           o->size, o->manifest->size);
                o->size = o->manifest->size;
        }
        part = spool_path(o->ctx->spool, &o->id, "mp4.part");
        done = spool_path(o->ctx->spool, &o->id, "mp4");
        if (!part || !done)
                return offload_fail(o, -ENOMEM, "pulling a video");
        if (stat(done, &sb) >= 0) {
                /* Renamed before a crash, state not yet written: redo the rename's
                 * successor steps by treating it as the part file. */
                if (rename(done, part) < 0)
                        return offload_fail(o, -errno, "recovering a pulled video");
        }
        o->fd = open(part, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
        if (o->fd < 0)
                return offload_fail(o, -errno, "opening the spool");
        if (fstat(o->fd, &sb) < 0)
                return offload_fail(o, -errno, "opening the spool");
        /* Each sync_interval makes the bytes durable, not the new file's name:
         * without this, a power cut loses them all and the pull starts over. */
        if (sb.st_size == 0) {
                r = fsync_directory_of(part);
                if (r < 0)
                        return offload_fail(o, r, "syncing the spool");
        }
        o->hash = EVP_MD_CTX_new();
        if (!o->hash || !EVP_DigestInit_ex(o->hash, EVP_sha256(), NULL))
                return offload_fail(o, -ENOMEM, "hashing");
        o->offset = (uint64_t) sb.st_size;
        /* A camera that does not sign proves nothing about the bytes an earlier
         * attempt left: the file may have been rewritten since, and its old head
         * and new tail would be sealed as one file. Start over. */
        if (o->offset > o->size || (o->generic && o->offset > 0)) {
                /* More than the camera holds: not ours to trust. Start over. */
                if (ftruncate(o->fd, 0) < 0)
                        return offload_fail(o, -errno, "truncating the spool");
                spool_account(o->ctx->spool, -(int64_t) o->offset);
                o->offset = 0;
        }
        o->summary.bytes_resumed += o->offset;
        if (o->offset == 0)
                return pull_chunk(o);

        run_in_worker(o, rehash_in_worker, rehashed, "re-reading the spool");
}

static int save_verdict(Offload *o, const uint8_t sha[32]) {
        SegmentState st = {
                .stage = SEGMENT_PULLED,
                .quarantined = o->reason != NULL,
                .reason = o->reason,
                .size = o->offset,
                .trusted = o->trusted,
        };
        _cleanup_(segment_policy_done) SegmentPolicy policy = {};
        int r;

        memcpy(st.sha256, sha, 32);
        if (o->man)
                SHA256(o->man, o->man_size, st.manifest_sha256);
        st.chain_owed = o->chain_owed && !o->reason && o->manifest;
        if (st.chain_owed)
                memcpy(st.chain_prev, o->manifest->prev, 32);
        if (st.chain_owed && o->chain_missing)
                st.chain_missing_since = (uint64_t) time(NULL);
        r = verdict_policy(o->ctx->config, o->manifest, st.quarantined, time(NULL), &policy);
        if (r < 0)
                return r;
        st.categories = policy.categories;
        st.evidentiary = policy.evidentiary;
        st.legal_hold = policy.legal_hold;
        st.start_time = policy.start_time;
        st.retain_until = policy.retain_until;
        /* One atomic write: the verdict, and (trusted) the recording's new chain head. */
        return spool_state_save(o->ctx->spool, &o->id, &st);
}

static void pull_recorded(Offload *o);

static int fsync_work(void *userdata, volatile bool *cancelled) {
        Offload *o = userdata;

        return fsync(o->fd) < 0 ? -errno : 0;
}

static int rename_work(void *userdata, volatile bool *cancelled) {
        Offload *o = userdata;
        _cleanup_free_ char *part = spool_path(o->ctx->spool, &o->id, "mp4.part");
        _cleanup_free_ char *done = spool_path(o->ctx->spool, &o->id, "mp4");

        if (!part || !done)
                return -ENOMEM;
        return rename_durable(part, done);
}

static void pull_renamed(Offload *o) {
        _cleanup_free_ char *why = NULL;
        int r;

        failpoint("pull-after-rename");

        if (verdict_video(o->offset, o->size, o->sha, o->manifest, &why) < 0)
                quarantine_for(o, why);
        if (o->generic && !o->reason) {
                r = offload_seal(o);
                if (r < 0)
                        return offload_fail(o, r, "sealing a file");
        }
        pull_recorded(o);
}

static void pull_synced(Offload *o) {
        EVP_DigestFinal_ex(o->hash, o->sha, NULL);
        failpoint("pull-before-rename");
        run_in_worker(o, rename_work, pull_renamed, "finishing a pull");
}

/* The video is all here (or missing): make it durable under its final name,
 * in a worker, then judge and record it. */
static void pull_complete(Offload *o) {
        if (o->fd >= 0)
                return run_in_worker(o, fsync_work, pull_synced, "syncing the spool");
        pull_recorded(o);
}

static void pull_recorded(Offload *o) {
        const uint8_t *sha = o->sha;
        bool owed = o->chain_owed && !o->reason;
        char hex[65], sz[32];
        int r;

        /* Custody first: a segment never reaches "pulled" (and so never central
         * storage, nor deletion) without its records. A crash between the two
         * re-verifies it after the restart, and records it again. One whose chain
         * check is owed gets its verdict record when the check is answered. */
        snprintf(sz, sizeof sz, "%" PRIu64, o->offset);
        r = custody_log_record(o->ctx->custody, CUSTODY_PULLED, o->bay, o->serial, o->segname,
                            (const LogField[]) { { "sha256", hex_sha256(sha, hex) }, { "size", sz }, {} });
        if (r >= 0 && !owed)
                r = custody_log_record(o->ctx->custody, o->reason ? CUSTODY_QUARANTINED :
                                       o->generic ? CUSTODY_SEALED_BY_DOCK : CUSTODY_VERIFIED, o->bay,
                                    o->serial, o->segname,
                                    o->reason ? (const LogField[]) { { "reason", o->reason }, {} } : NULL);
        if (r < 0)
                return offload_fail(o, r, "writing custody");
        failpoint("pull-after-custody");

        r = save_verdict(o, sha);
        if (r < 0)
                return offload_fail(o, r, "saving the verdict");
        failpoint("pull-after-state");

        o->summary.pulled++;
        o->match[o->cur].proven = o->man != NULL;   /* read in this docking: what the state now holds */
        o->match[o->cur].owed_asked = owed;          /* asked once in this pass already */
        if (owed)
                o->owed_unanswered = true;
        if (o->manifest && o->trusted && o->cb.officer)   /* only a signed, verified manifest names one */
                o->cb.officer(o->manifest->officer_id, o->userdata);
        if (o->reason)
                offload_report_quarantined(o, o->segname, o->id.recording, o->reason);
        else if (owed)
                offload_log(o, LOG_INFO, 0, o->segname, "Pulled (%" PRIu64 " bytes) and verified but for its link to "
                            "the segment before, which central storage must check.", o->offset);
        else if (o->generic)
                offload_report_sealed(o);
        else {
                o->summary.verified++;
                offload_log(o, LOG_INFO, 0, o->segname, "Pulled and verified (%" PRIu64 " bytes).", o->offset);
        }

        SegmentState st;
        r = spool_state_load(o->ctx->spool, &o->id, &st);
        if (r >= 0) {
                r = central_enqueue_segment(o->ctx->central, &o->id, &st);
                segment_state_done(&st);
        }
        if (r < 0)
                return offload_fail(o, r, "queueing the upload");

        segment_reset(o);
        o->cur++;
        offload_step(o);
}



/* ---- the driver ---- */

static bool all_confirmed(Offload *o) {
        for (size_t i = 0; i < o->inv->n_segments; i++) {
                SegmentId id = seg_id(o, i);
                SegmentState st;
                bool ok;

                if (spool_state_load(o->ctx->spool, &id, &st) < 0)
                        continue;   /* not taken (still being written) */
                ok = st.stage >= SEGMENT_CONFIRMED;
                segment_state_done(&st);
                if (!ok)
                        return false;
        }
        return true;
}

void offload_step(Offload *o) {

        if (o->failed || o->busy)
                return;
        if (o->owed_again && o->phase == PHASE_DELETE) {
                /* Ask the owed chain checks again: a pass over the inventory. */
                o->owed_again = false;
                o->repass = true;
                for (size_t i = 0; i < o->inv->n_segments; i++)
                        o->match[i].owed_asked = false;
                o->phase = PHASE_PULL;
                o->cur = 0;
        }
        if (o->phase == PHASE_PULL) {
                for (; o->cur < o->inv->n_segments; o->cur++) {
                        const CameraSegment *s = cur_seg(o);
                        SegmentId id;
                        SegmentState st;
                        int r;

                        if (!o->match[o->cur].checked) {
                                r = offload_match_segment(o);
                                if (r < 0)
                                        return offload_fail(o, r, "matching a segment");
                                if (r == 0)
                                        return;   /* on_match_manifest() goes on */
                        }
                        id = seg_id(o, o->cur);
                        r = spool_state_load(o->ctx->spool, &id, &st);

                        if (r >= 0 && st.stage >= SEGMENT_PULLED) {
                                if (st.stage == SEGMENT_PULLED && st.chain_owed && !o->match[o->cur].owed_asked) {
                                        offload_check_owed(o, &st);
                                        segment_state_done(&st);
                                        return;   /* on_owed() goes on */
                                }
                                if (st.stage == SEGMENT_PULLED)   /* not one whose check is owed */
                                        (void) central_enqueue_segment(o->ctx->central, &id, &st);
                                segment_state_done(&st);
                                o->video_size[o->cur] = 0;   /* not this docking's to pull */
                                continue;
                        }
                        if (r >= 0)
                                segment_state_done(&st);
                        if (r == -ENOENT && !o->generic && !s->present[CAMERA_FILE_SIGNATURE] &&
                            is_last_of_recording(o, o->cur)) {
                                /* The camera is still writing it (protocol §11). */
                                if (!o->repass)
                                        o->summary.not_yet_complete++;
                                o->video_size[o->cur] = 0;
                                continue;
                        }
                        pull_segment(o);
                        return;
                }
                if (o->reread_owed && !o->rereads) {
                        /* Every new file is pulled: now the files whose id is sealed. */
                        o->rereads = true;
                        o->cur = 0;
                        return offload_step(o);
                }
                o->phase = PHASE_DELETE;
                o->del_seg = 0;
                o->del_kind = 0;
                o->rec_known = false;   /* this pass may have changed a recording's verdict */
                if (!o->repass)
                        offload_log(o, LOG_INFO, 0, NULL, "All segments pulled (%u verified, %u quarantined); "
                                    "deleting what central storage confirmed.", o->summary.verified,
                                    o->summary.quarantined);
                if (o->owed_unanswered) {
                        int r = offload_owed_retry_later(o);
                        if (r < 0)
                                return offload_fail(o, r, "scheduling a chain check");
                }
        }
        if (o->phase == PHASE_DELETE) {
                if (o->del_seg < o->inv->n_segments) {
                        offload_delete_next(o);
                        return;
                }
                if (all_confirmed(o)) {
                        /* Count held recordings for the summary. */
                        const char *last = NULL;
                        for (size_t i = 0; i < o->inv->n_segments; i++) {
                                const char *rec = o->inv->segments[i].recording_id;
                                if (last && streq(last, rec))
                                        continue;
                                last = rec;
                                if (!offload_recording_deletable(o, i))
                                        o->summary.held_recordings++;
                                else if (o->ctx->recording_held &&
                                         o->ctx->recording_held(o->serial, rec, o->ctx->recording_held_userdata)) {
                                        o->summary.held_recordings++;
                                        o->summary.preserved++;
                                }
                        }
                        offload_finish(o);
                }
                /* else: wait for offload_segment_confirmed() */
        }
}

void offload_segment_confirmed(Offload *o, const SegmentId *id) {
        if (!o || o->phase != PHASE_DELETE || o->failed)
                return;
        /* Rescan from the start: confirmations arrive in any order. */
        if (!o->busy) {
                o->del_seg = 0;
                o->del_kind = 0;
                offload_step(o);
        } else
                o->rescan = true;
}

void offload_spool_freed(Offload *o) {
        if (o && o->spool_wait && !o->busy && !o->failed)
                pull_chunk(o);
}

int offload_start(const DockContext *ctx, Camera *camera, const char *bay, const char *serial,
                  const OffloadCallbacks *cb, void *userdata, Offload **ret) {
        Offload *o;
        int r;

        o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        o->ctx = ctx;
        o->fd = -EBADF;
        o->camera = camera_ref(camera);
        o->bay = strdup(bay);
        o->serial = strdup(serial);
        if (!o->bay || !o->serial) {
                offload_destroy(o);
                return -ENOMEM;
        }
        o->cb = *cb;
        o->userdata = userdata;
        o->fd = -EBADF;
        o->phase = PHASE_INVENTORY;
        o->busy = true;
        r = camera_inventory(camera, ctx->workers, on_inventory, o);
        if (r < 0) {
                offload_destroy(o);
                return r;
        }
        *ret = o;
        return 0;
}

static void offload_destroy(Offload *o) {
        central_search_cancel(o->search);
        sd_event_source_disable_unref(o->owed_timer);
        segment_reset(o);
        offload_sources_free(o->sources, o->inv ? o->inv->n_segments : 0);
        camera_inventory_free(o->inv);
        free(o->refused);
        free(o->match);
        free(o->video_size);
        camera_unref(o->camera);
        free(o->bay);
        free(o->serial);
        free(o);
}

Offload *offload_free(Offload *o) {
        if (!o)
                return NULL;
        if (o->job) {
                /* A worker still uses our fd and hash context. */
                o->zombie = true;
                worker_job_cancel(o->ctx->workers, o->job);
                return NULL;
        }
        offload_destroy(o);
        return NULL;
}
