/* SPDX-License-Identifier: Apache-2.0 */
/* generic-listing.c: see generic-listing.h. Parents are found by binary search
 * in the handle-ordered listing, so that a listing of n objects costs
 * O(n * depth * log n), whatever shape the camera gives its folders. */
#include "generic-listing.h"
#include "seal.h"

/* A sealed manifest's source_path holds at most this many encoded characters (§12.6). */
#define SOURCE_PATH_MAX 1024

GenericListing *generic_listing_free(GenericListing *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n_files; i++)
                free(l->files[i].path);
        free(l->files);
        free(l);
        return NULL;
}

static int props_cmp(const void *a, const void *b) {
        uint32_t x = ((const PtpObjectProps *) a)->handle, y = ((const PtpObjectProps *) b)->handle;
        return x < y ? -1 : x > y;
}

static const PtpObjectProps *find(const PtpObjectProps *objects, size_t n, uint32_t handle) {
        PtpObjectProps key = { .handle = handle };
        return bsearch(&key, objects, n, sizeof key, props_cmp);
}

static bool name_usable(const char *s) {
        return !isempty(s) && !streq(s, ".") && !streq(s, "..") && !strchr(s, '/');
}

/* The path of o, or NULL (-ENOMEM in *ret_error) if it cannot be told. */
static char *object_path(const PtpObjectProps *objects, size_t n, const PtpObjectProps *o, int *ret_error) {
        const PtpObjectProps *chain[GENERIC_PATH_DEPTH_MAX + 1];
        _cleanup_free_ char *path = NULL, *encoded = NULL;
        size_t depth = 0, len = 0;
        char *p;

        for (const PtpObjectProps *cur = o;;) {
                if (!name_usable(cur->filename) || depth > GENERIC_PATH_DEPTH_MAX)
                        return NULL;   /* also ends a loop: it cannot be deeper than the limit */
                chain[depth++] = cur;
                len += strlen(cur->filename) + 1;
                /* PTP 1.0 §5.5.2: ParentObject 0 is the storage's root; 0xFFFFFFFF too on some. */
                if (cur->parent == 0 || cur->parent == UINT32_MAX)
                        break;
                cur = find(objects, n, cur->parent);
                if (!cur || cur->format != PTP_OFC_ASSOCIATION)
                        return NULL;
        }
        path = malloc(len);
        if (!path)
                return *ret_error = -ENOMEM, NULL;
        p = path;
        for (size_t i = depth; i > 0; i--)
                p = stpcpy(stpcpy(p, chain[i - 1]->filename), i > 1 ? "/" : "");
        encoded = seal_source_path_encode(path);
        if (!encoded)
                return *ret_error = -ENOMEM, NULL;
        if (strlen(encoded) > SOURCE_PATH_MAX)
                return NULL;
        return TAKE_PTR(path);
}

static int file_cmp(const void *a, const void *b) {
        uint32_t x = ((const GenericFile *) a)->handle, y = ((const GenericFile *) b)->handle;
        return x < y ? -1 : x > y;
}

static const GenericFile *previous_file(const GenericListing *previous, const GenericFile *f) {
        const GenericFile *old;

        if (!previous)
                return NULL;
        old = bsearch(f, previous->files, previous->n_files, sizeof *f, file_cmp);
        return old && streq(old->path, f->path) ? old : NULL;
}

bool generic_file_old_enough(const GenericCameraConfig *g, const GenericFile *f, time_t now) {
        int64_t age, min_age = (int64_t) (g->min_age / USEC_PER_SEC);

        if (g->min_age == 0)
                return false;
        if (f->date != 0)
                age = (int64_t) now - (int64_t) f->date;
        else if (f->unzoned_date != 0) {
                age = (int64_t) now - (int64_t) f->unzoned_date;
                min_age += GENERIC_UNZONED_MARGIN;
        } else
                return false;
        return age >= min_age;   /* min_age > 0: a date after now never is */
}

static bool complete(const GenericCameraConfig *g, const GenericListing *previous, const GenericFile *f,
                     time_t now) {
        const GenericFile *old = previous_file(previous, f);

        if (f->size == UINT64_MAX)
                return false;   /* nothing to hold it to, nor a size to pull */
        if (old && old->size != f->size)
                return false;   /* growing, whatever its date says */
        return old || generic_file_old_enough(g, f, now);
}

int generic_listing_build(const GenericCameraConfig *g, const PtpObjectProps *objects, size_t n,
                          const GenericListing *previous, time_t now, GenericListing **ret) {
        _cleanup_(generic_listing_freep) GenericListing *l = calloc(1, sizeof *l);
        int error = 0;

        if (!l)
                return -ENOMEM;
        for (size_t i = 1; i < n; i++)
                if (objects[i - 1].handle >= objects[i].handle)
                        return -EINVAL;
        l->files = calloc(MAX(n, (size_t) 1), sizeof *l->files);
        if (!l->files)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const PtpObjectProps *o = &objects[i];
                GenericFile *f = &l->files[l->n_files];
                char *path;

                if (o->format == PTP_OFC_ASSOCIATION)
                        continue;
                path = object_path(objects, n, o, &error);
                if (error < 0)
                        return error;
                if (!path) {
                        l->n_skipped++;
                        continue;
                }
                if (!generic_config_wants_path(g, path)) {
                        free(path);
                        l->n_not_wanted++;
                        continue;
                }
                *f = (GenericFile) { .handle = o->handle, .path = path, .size = o->size };
                if (o->date_unzoned)
                        f->unzoned_date = o->date;
                else
                        f->date = o->date;
                f->complete = complete(g, previous, f, now);
                l->n_files++;
        }
        *ret = TAKE_PTR(l);
        return 0;
}
