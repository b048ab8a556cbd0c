/* SPDX-License-Identifier: Apache-2.0 */
/* offload-seal.c: the offload of a camera that does not sign (README, "Cameras
 * that do not sign"; protocol §12.6). Its complete files become one-segment
 * recordings of the ordinary offload (offload.c pulls, hashes, spools, uploads
 * and deletes them as it does a signing camera's), with two differences kept
 * here: the inventory comes from the generic survey's listing, not from the
 * camera's .man/.p7s names; and once a file's bytes are all in the spool, the
 * dock writes its manifest from what arrived and seals it with its own key,
 * chained to the last manifest this dock sealed for the camera. */
#include <inttypes.h>
#include <openssl/sha.h>

#include "fileio.h"
#include "health.h"
#include "manifest.h"
#include "offload-private.h"
#include "offload.h"
#include "ptp.h"
#include "seal-chain.h"
#include "seal.h"

#define MAX_SEALED_P7S_SIZE (64 * 1024)

void offload_sources_free(SealedSource *s, size_t n) {
        for (size_t i = 0; s && i < n; i++)
                free(s[i].path);
        free(s);
}

typedef struct Entry {
        CameraSegment seg;
        SealedSource src;
} Entry;

static int entry_cmp(const void *a, const void *b) {
        return strcmp(((const Entry *) a)->seg.recording_id, ((const Entry *) b)->seg.recording_id);
}

/* Only complete files with a size the camera told: a file still being written
 * is counted and left for a later docking. Sorted by recording id, as an
 * inventory is; two objects with one id (the same path, size and date on two
 * storages) keep the first only: one id is one sealed segment. */
int offload_sealed_inventory(const GenericListing *l, CameraInventory **ret, SealedSource **ret_sources,
                             unsigned *ret_growing) {
        _cleanup_free_ Entry *e = calloc(MAX(l->n_files, (size_t) 1), sizeof *e);
        CameraInventory *inv;
        SealedSource *src;
        size_t n = 0, k = 0;
        unsigned growing = 0;
        int r = 0;

        if (!e)
                return -ENOMEM;
        for (size_t i = 0; i < l->n_files && r >= 0; i++) {
                const GenericFile *f = &l->files[i];
                char id[18];

                if (!f->complete || f->size == UINT64_MAX) {
                        growing++;
                        continue;
                }
                /* A date without zone is no time to seal, but it tells a file
                 * rewritten with the same size apart from the one sealed before:
                 * in the id only, or such a file is skipped as sealed forever. */
                r = seal_recording_id(f->path, f->size, f->date ?: f->unzoned_date, id);
                if (r < 0)
                        break;
                e[n].seg.recording_id = strdup(id);
                e[n].src.path = strdup(f->path);
                e[n].src.date = f->date;
                if (!e[n].seg.recording_id || !e[n].src.path)
                        r = -ENOMEM;
                e[n].seg.files[CAMERA_FILE_VIDEO] = (CameraFile) { .handle = f->handle, .size = f->size };
                e[n].seg.present[CAMERA_FILE_VIDEO] = true;
                n++;
        }
        if (n > 0)
                qsort(e, n, sizeof *e, entry_cmp);
        inv = calloc(1, sizeof *inv);
        src = calloc(MAX(n, (size_t) 1), sizeof *src);
        if (r >= 0 && (!inv || !src))
                r = -ENOMEM;
        if (r >= 0)
                inv->segments = calloc(MAX(n, (size_t) 1), sizeof *inv->segments);
        if (r >= 0 && !inv->segments)
                r = -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (r < 0 || (k > 0 && streq(inv->segments[k - 1].recording_id, e[i].seg.recording_id))) {
                        free(e[i].seg.recording_id);
                        free(e[i].src.path);
                        continue;
                }
                inv->segments[k] = e[i].seg;
                src[k++] = e[i].src;
        }
        if (r < 0) {
                offload_sources_free(src, k);
                camera_inventory_free(inv);
                return r;
        }
        inv->n_segments = k;
        *ret = inv;
        *ret_sources = src;
        *ret_growing = growing;
        return 0;
}

/* What the spool holds for the segment from before a crash that came after the
 * chain head moved on to its manifest but before its state said so: the same
 * bytes (size and SHA-256) sealed then. Reused, so that the chain has no
 * manifest nobody keeps. 1: reused; 0: none there. */
static int reuse_sealed(Offload *o, const uint8_t head[32]) {
        _cleanup_free_ char *mp = spool_path(o->ctx->spool, &o->id, "man");
        _cleanup_free_ char *pp = spool_path(o->ctx->spool, &o->id, "p7s");
        _cleanup_free_ char *man = NULL, *p7s = NULL;
        _cleanup_(manifest_freep) Manifest *m = NULL;
        size_t man_size, p7s_size;
        uint8_t sha[32];

        if (!mp || !pp)
                return -ENOMEM;
        if (read_full_file(mp, MANIFEST_MAX_SIZE, &man, &man_size) < 0 ||
            read_full_file(pp, MAX_SEALED_P7S_SIZE, &p7s, &p7s_size) < 0)
                return 0;
        SHA256((const uint8_t *) man, man_size, sha);
        if (memcmp(sha, head, 32) != 0 ||
            manifest_parse_sealed((const uint8_t *) man, man_size, &m, NULL) < 0 ||
            m->size != o->offset || memcmp(m->sha256, o->sha, 32) != 0)
                return 0;
        o->man = (uint8_t *) TAKE_PTR(man);
        o->man_size = man_size;
        o->p7s = (uint8_t *) TAKE_PTR(p7s);
        o->p7s_size = p7s_size;
        o->manifest = TAKE_PTR(m);
        return 1;
}

/* Durable order: .man and .p7s in the spool, then the chain head, then (the
 * caller) custody and the state "pulled". A crash between the head and the
 * state finds the same manifest again (reuse_sealed()). */
int offload_seal(Offload *o) {
        const SealedSource *src = &o->sources[o->cur];
        const PtpDeviceInfo *info = &o->camera->info;
        SealInput in = {
                .device_serial = o->serial,
                .model = info->model,
                .firmware = info->device_version,
                .recording_id = cur_seg(o)->recording_id,
                .size = o->offset,
                .capture_time = src->date,
                .dock_name = o->ctx->config->dock_name,
                .sealed_time = time(NULL),
                .source_path = src->path,
        };
        _cleanup_free_ char *man = NULL;
        _cleanup_free_ uint8_t *p7s = NULL;
        size_t man_size, p7s_size;
        uint8_t sha[32];
        int r;

        r = seal_chain_head_load(o->ctx->spool, o->serial, in.prev);
        if (r < 0)
                return r;
        r = reuse_sealed(o, in.prev);
        if (r != 0)
                return r < 0 ? r : 0;
        memcpy(in.sha256, o->sha, 32);
        r = seal_manifest_format(&in, &man, &man_size);
        if (r < 0)
                return r;
        r = custody_log_seal_sign(o->ctx->custody, (const uint8_t *) man, man_size, &p7s, &p7s_size);
        if (r < 0)
                return r;
        r = spool_write_file(o->ctx->spool, &o->id, "man", man, man_size);
        if (r >= 0)
                r = spool_write_file(o->ctx->spool, &o->id, "p7s", p7s, p7s_size);
        if (r < 0)
                return r;
        r = manifest_parse_sealed((const uint8_t *) man, man_size, &o->manifest, NULL);
        if (r < 0)
                return r;
        SHA256((const uint8_t *) man, man_size, sha);
        r = seal_chain_head_save(o->ctx->spool, o->serial, sha);
        if (r < 0)
                return r;
        o->man = (uint8_t *) TAKE_PTR(man);
        o->man_size = man_size;
        o->p7s = TAKE_PTR(p7s);
        o->p7s_size = p7s_size;
        return 0;
}

static const char *base_name(const char *path) {
        const char *slash = strrchr(path, '/');

        return slash ? slash + 1 : path;
}

/* The file of segment i is left on the camera, not deleted: why, for the
 * log and the finding "camera storage not cleared". */
static void left_on_camera(Offload *o, size_t i, const char *name, const char *why) {
        _cleanup_free_ char *path = seal_source_path_encode(o->sources[i].path);
        char summary[512];

        offload_log(o, LOG_WARNING, 0, name, "%s %s; it stays on the camera.", strna(path), why);
        snprintf(summary, sizeof summary, "Camera storage not cleared: %s %s; it stays on the camera.", strna(path),
                 why);
        if (o->cb.finding)
                o->cb.finding("camera-storage-not-cleared", SEVERITY_WARNING, name, summary, o->userdata);
}

/* The object at the handle may be another file now: a camera that rewrote
 * or replaced it (loop recording, a reused name) holds content nobody
 * confirmed. Its size and name are the camera's word, but one that says the
 * object changed is believed: keeping a file is never a loss. */
static void keep_changed(Offload *o, const char *what) {
        SegmentId id = seg_id(o, o->del_seg);
        char name[96], why[256];

        segment_name(&id, name, sizeof name);
        o->refused[o->del_seg] = true;   /* not again in this docking */
        o->summary.delete_refused++;
        snprintf(why, sizeof why, "%s on the camera since it was pulled and sealed, so it was not deleted (central "
                 "storage holds what was sealed)", what);
        left_on_camera(o, o->del_seg, name, why);
}

/* The object's bytes, read again just before DeleteObject: deleted only if
 * they are those sealed and confirmed (o->confirmed_sha). */
static void on_reread_before_delete(Offload *o, int error, uint16_t rc, uint64_t got, const uint8_t sha[32]) {
        char what[96];

        if (error == -EREMOTEIO) {
                snprintf(what, sizeof what, "could not be read again (0x%04x)", rc);
                keep_changed(o, what);
        } else if (error == -ENODATA) {
                snprintf(what, sizeof what, "had its content changed (%" PRIu64 " of %" PRIu64 " bytes read again)",
                         got, o->confirmed_size);
                keep_changed(o, what);
        } else if (error < 0)
                return offload_fail(o, error, "reading a file again before deleting it");
        else if (memcmp(sha, o->confirmed_sha, 32) != 0)
                keep_changed(o, "had its content changed (its bytes' SHA-256 is not the one sealed)");
        else
                o->match[o->del_seg].rechecked = true;
        offload_delete_next(o);
}

static void on_recheck(Camera *c, int error, uint16_t rc, const uint8_t *data, size_t size, void *userdata) {
        Offload *o = userdata;
        const SealedSource *src = &o->sources[o->del_seg];
        PtpObjectInfo info = {};
        char what[96];

        o->busy = false;
        if (error == -EREMOTEIO && rc == PTP_RC_INVALID_OBJECT_HANDLE)
                error = 0;   /* gone: DeleteObject says so, and nothing is deleted */
        else if (error == -EREMOTEIO) {
                snprintf(what, sizeof what, "could not be looked at again (0x%04x)", rc);
                keep_changed(o, what);
                return offload_delete_next(o);
        } else if (error < 0)
                return offload_fail(o, error, "looking at a file before deleting it");
        else if (ptp_object_info_parse(data, size, &info) < 0)
                keep_changed(o, "is described in malformed data");
        else if (!streq_ptr(info.filename, base_name(src->path)))
                keep_changed(o, "has another name");
        else if (info.compressed_size != UINT32_MAX && info.compressed_size != o->confirmed_size) {
                snprintf(what, sizeof what, "has another size (%" PRIu32 " bytes, %" PRIu64 " sealed)",
                         info.compressed_size, o->confirmed_size);
                keep_changed(o, what);
        } else {
                /* Name and size are the camera's word: only its bytes prove it. */
                ptp_object_info_done(&info);
                return offload_reread_object(o, o->inv->segments[o->del_seg].files[CAMERA_FILE_VIDEO].handle,
                                             o->confirmed_size, on_reread_before_delete);
        }
        ptp_object_info_done(&info);
        offload_delete_next(o);
}

void offload_recheck_object(Offload *o) {
        uint32_t handle = o->inv->segments[o->del_seg].files[CAMERA_FILE_VIDEO].handle;
        int r;

        o->busy = true;
        r = camera_request_data(o->camera, PTP_OC_GET_OBJECT_INFO, &handle, 1, 64 * 1024, on_recheck, o, NULL);
        if (r < 0)
                offload_fail(o, r, "looking at a file before deleting it");
}

void offload_sealed_variant(const uint8_t sha[32], unsigned k, char ret[SEGMENT_VARIANT_MAX]) {
        uint8_t d[32];

        ret[0] = 0;
        if (k == 0)
                return;
        memcpy(d, sha, 32);
        for (unsigned i = 1; i < k; i++)
                SHA256(d, 32, d);
        segment_variant(d, ret);
}

/* The file at o->cur, read again, hashes to sha: an id under which the spool
 * holds these bytes (proven: nothing new), or the first free one (new
 * content: pulled, sealed and uploaded as a new segment; what was sealed
 * under the others is never touched). */
static int match_sealed_content(Offload *o, const uint8_t sha[32]) {
        SegmentMatch *m = &o->match[o->cur];
        _cleanup_free_ char *path = NULL;
        char name[96];

        m->checked = true;
        for (unsigned k = 0; k < OFFLOAD_SEALED_VARIANTS; k++) {
                SegmentId id;
                SegmentState st;
                bool taken, same;
                int r;

                offload_sealed_variant(sha, k, m->variant);
                id = seg_id(o, o->cur);
                r = spool_state_load(o->ctx->spool, &id, &st);
                if (r == -ENOENT || r == -EBADMSG)
                        taken = same = false;   /* free (or no state dockd wrote: pulled again) */
                else if (r < 0)
                        return r;
                else {
                        taken = st.stage >= SEGMENT_PULLED;
                        same = memcmp(st.sha256, sha, 32) == 0;
                        segment_state_done(&st);
                }
                if (taken && same) {
                        m->proven = true;   /* already offloaded */
                        return 0;
                }
                if (taken)
                        continue;
                if (k == 0)
                        return 0;   /* a pull to resume under the plain id */
                segment_name(&id, name, sizeof name);
                path = seal_source_path_encode(o->sources[o->cur].path);
                offload_log(o, LOG_NOTICE, 0, name, "%s has the id of a file sealed before but other bytes: new "
                            "content, sealed as %s.", strna(path), name);
                return 0;
        }
        segment_name(&(SegmentId) { .serial = o->serial, .recording = cur_seg(o)->recording_id }, name, sizeof name);
        left_on_camera(o, o->cur, name, "has other bytes than each file sealed under its id and its variants (a camera "
                       "that sends other bytes at each read?); it was not offloaded");
        return 0;
}

static void on_reread_sealed(Offload *o, int error, uint16_t rc, uint64_t got, const uint8_t sha[32]) {
        SegmentMatch *m = &o->match[o->cur];
        char name[96], why[192];
        int r;

        if (error == -EREMOTEIO || error == -ENODATA) {
                /* Not known to be what was sealed, nor what else. */
                SegmentId id = seg_id(o, o->cur);

                m->checked = true;
                segment_name(&id, name, sizeof name);
                snprintf(why, sizeof why, "has the id of a file sealed before, but could not be read again to tell "
                         "whether it is that file (0x%04x, %" PRIu64 " bytes read)", rc, got);
                left_on_camera(o, o->cur, name, why);
                return offload_step(o);
        }
        if (error < 0)
                return offload_fail(o, error, "reading a file again");
        r = match_sealed_content(o, sha);
        if (r < 0)
                return offload_fail(o, r, "matching a file");
        offload_step(o);
}

void offload_match_sealed(Offload *o) {
        const CameraFile *f = &cur_seg(o)->files[CAMERA_FILE_VIDEO];
        _cleanup_free_ char *path = seal_source_path_encode(o->sources[o->cur].path);

        offload_log(o, LOG_INFO, 0, NULL, "Reading %s again (%" PRIu64 " bytes): its id is that of a file sealed "
                    "before, which proves nothing of its bytes.", strna(path), f->size);
        offload_reread_object(o, f->handle, f->size, on_reread_sealed);
}

void offload_report_sealed(Offload *o) {
        _cleanup_free_ char *path = seal_source_path_encode(o->sources[o->cur].path);

        o->summary.sealed++;
        offload_log(o, LOG_INFO, 0, o->segname, "Pulled %s (%" PRIu64 " bytes) and sealed by the dock (the camera "
                    "signs nothing).", strna(path), o->offset);
}

int offload_start_sealed(const DockContext *ctx, Camera *camera, const char *bay, const char *serial,
                         const GenericCameraConfig *g, const GenericListing *listing, const OffloadCallbacks *cb,
                         void *userdata, Offload **ret) {
        Offload *o = calloc(1, sizeof *o);
        CameraInventory *inv = NULL;
        int r;

        if (!o)
                return -ENOMEM;
        *o = (Offload) { .ctx = ctx, .fd = -EBADF, .camera = camera_ref(camera), .bay = strdup(bay),
                         .serial = strdup(serial), .cb = *cb, .userdata = userdata, .generic = g,
                         .phase = PHASE_INVENTORY };
        r = !o->bay || !o->serial ? -ENOMEM :
            offload_sealed_inventory(listing, &inv, &o->sources, &o->growing);
        if (r < 0) {
                offload_free(o);
                return r;
        }
        *ret = o;
        offload_take_inventory(o, inv);   /* may end it at once: the caller's done() frees it */
        return 0;
}
