/* SPDX-License-Identifier: Apache-2.0 */
/* camera-inventory.c: what a camera holds (protocol §11, §14 step 2). Its
 * storages, then every object in one GetObjectPropList (§5.11), streamed
 * through the ObjectPropList parser as the transfers arrive; only on a camera
 * whose DeviceInfo does not announce that operation, or whose listing is
 * malformed, GetObjectHandles and one GetObjectInfo per object. Then the objects are matched to segments by
 * sorting (O(n log n)), never by searching the list for each object.
 * A camera that does not sign (camera_list_objects()) is walked folder by
 * folder instead, as libmtp does ("the walk" below). */
#include "camera.h"
#include "generic-listing.h"
#include "log.h"
#include "manifest.h"
#include "object-prop-list.h"
#include "u32-set.h"

#define CAMERA_MAX_STORAGES 16

/* A folder to list: PTP 1.0 §10.5.9, GetObjectHandles of one parent. */
typedef struct WalkFolder {
        uint32_t storage;
        uint32_t handle;            /* UINT32_MAX: the storage's root */
        unsigned depth;             /* folders above it; the root's children are at 1 */
} WalkFolder;

typedef struct InventoryJob {
        Camera *camera;
        camera_inventory_t cb;
        camera_objects_t objects_cb;   /* camera_list_objects(): the objects, unmatched */
        void *userdata;
        uint32_t *storages;
        size_t n_storages, storage_idx;
        bool use_list;              /* the camera announces GetObjectPropList */
        PtpPropListParser *list;    /* while its listing streams in */
        bool listed;
        uint32_t *handles;          /* without it: the handles, then one ObjectInfo each */
        size_t n_handles, handle_idx;
        bool walk;                  /* folder by folder (camera_list_objects()) */
        WalkFolder *folders;        /* the walk's queue: listed up to folder_idx */
        size_t n_folders, folder_idx;
        uint32_t *handle_folder;    /* the walk: in which folder handles[i] was listed */
        U32Set seen;                /* the walk: every handle listed so far */
        size_t n_listed;            /* the walk: handles in all answers, repeats too */
        size_t folders_capacity, handles_capacity;
        PtpObjectProps *objects;
        size_t n_objects;
        WorkerPool *workers;        /* where the objects are matched to segments */
        size_t n_duplicates;
        CameraInventory *inv;
} InventoryJob;

void camera_inventory_free(CameraInventory *inv) {
        if (!inv)
                return;
        for (size_t i = 0; i < inv->n_segments; i++)
                free(inv->segments[i].recording_id);
        free(inv->segments);
        free(inv);
}

static void inventory_job_free(InventoryJob *j) {
        free(j->storages);
        free(j->handles);
        free(j->folders);
        free(j->handle_folder);
        u32_set_done(&j->seen);
        ptp_prop_list_parser_free(j->list);
        ptp_object_props_free(j->objects, j->n_objects);
        camera_inventory_free(j->inv);
        camera_unref(j->camera);
        free(j);
}

static void inventory_step(InventoryJob *j);

static void inventory_destroy(void *userdata) {
        inventory_job_free(userdata);
}

/* A request of the inventory: if the camera is abandoned, the job goes with
 * it. (The request may wait in the queue behind another bay operation, so
 * the destroy hook goes in with it, not onto whatever is in flight.) */
static int inv_simple(InventoryJob *j, uint16_t code, const uint32_t *params, unsigned n, size_t max,
                      camera_data_t cb) {
        return camera_request_data(j->camera, code, params, n, max, cb, j, inventory_destroy);
}

static void inventory_fail(InventoryJob *j, int error, uint16_t rc) {
        if (j->objects_cb)
                j->objects_cb(j->camera, error, rc, NULL, 0, j->userdata);
        else
                j->cb(j->camera, error, rc, NULL, j->userdata);
        inventory_job_free(j);
}

/* ---- matching objects to segments ---- */

/* "000123.mp4" → 123 and the kind. */
static bool segment_file_name(const char *name, uint32_t *ret_index, CameraFileKind *ret_kind) {
        uint32_t v = 0;

        if (!name || strlen(name) != 10 || name[6] != '.')
                return false;
        for (int i = 0; i < 6; i++) {
                if (name[i] < '0' || name[i] > '9')
                        return false;
                v = v * 10 + (uint32_t) (name[i] - '0');
        }
        for (CameraFileKind k = 0; k < _CAMERA_FILE_KIND_MAX; k++)
                if (streq(name + 7, camera_file_kind_extension(k))) {
                        *ret_index = v;
                        *ret_kind = k;
                        return true;
                }
        return false;
}

static int handle_cmp(const void *a, const void *b) {
        const PtpObjectProps *x = a, *y = b;

        return x->handle < y->handle ? -1 : x->handle > y->handle;
}

/* A segment file and where it belongs. Sorting these compares integers only:
 * rank orders the recording folders by name (equal names, equal rank), so
 * that the segments come out sorted by recording id, then index. */
typedef struct Placed {
        uint32_t rank;              /* of its recording folder */
        uint32_t index;
        CameraFileKind kind;
        const PtpObjectProps *object;
        const char *recording;      /* its folder's name */
} Placed;

/* Rank, index, kind; then handle, so that of two objects with one name the
 * lower handle comes first, whatever order the camera listed them in. */
static int placed_cmp(const void *a, const void *b) {
        const Placed *x = a, *y = b;

        if (x->rank != y->rank)
                return x->rank < y->rank ? -1 : 1;
        if (x->index != y->index)
                return x->index < y->index ? -1 : 1;
        if (x->kind != y->kind)
                return x->kind < y->kind ? -1 : 1;
        return handle_cmp(x->object, y->object);
}

/* §11: a recording folder is an association at the storage root named by a
 * valid recording id. */
static bool is_recording_folder(const PtpObjectProps *o) {
        return o->format == PTP_OFC_ASSOCIATION && o->parent == 0 && o->filename &&
               recording_id_is_valid(o->filename);
}

static int folder_name_cmp(const void *a, const void *b) {
        const PtpObjectProps *const *x = a, *const *y = b;

        return strcmp((*x)->filename, (*y)->filename);
}

/* ranks[i]: 1 + the rank by name of j->objects[i] if it is a recording
 * folder, else 0. */
static int rank_folders(const InventoryJob *j, uint32_t **ret) {
        _cleanup_free_ const PtpObjectProps **folders = NULL;
        _cleanup_free_ uint32_t *ranks = NULL;
        size_t n = 0;
        uint32_t rank = 0;

        ranks = calloc(MAX(j->n_objects, (size_t) 1), sizeof *ranks);
        folders = calloc(MAX(j->n_objects, (size_t) 1), sizeof *folders);
        if (!ranks || !folders)
                return -ENOMEM;
        for (size_t i = 0; i < j->n_objects; i++)
                if (is_recording_folder(&j->objects[i]))
                        folders[n++] = &j->objects[i];
        if (n > 1)
                qsort(folders, n, sizeof *folders, folder_name_cmp);
        for (size_t i = 0; i < n; i++) {
                if (i == 0 || !streq(folders[i]->filename, folders[i - 1]->filename))
                        rank++;
                ranks[folders[i] - j->objects] = rank;
        }
        *ret = TAKE_PTR(ranks);
        return 0;
}

static bool sorted_by_handle(const InventoryJob *j) {
        for (size_t i = 1; i < j->n_objects; i++)
                if (j->objects[i - 1].handle > j->objects[i].handle)
                        return false;
        return true;
}

/* The segment files among the objects, sorted; the others counted as ignored. */
static int place_objects(InventoryJob *j, Placed **ret, size_t *ret_n) {
        _cleanup_free_ Placed *placed = NULL;
        _cleanup_free_ uint32_t *ranks = NULL;
        size_t n = 0;
        int r;

        /* A listing comes sorted; a handle list need not. */
        if (!sorted_by_handle(j))
                qsort(j->objects, j->n_objects, sizeof *j->objects, handle_cmp);
        r = rank_folders(j, &ranks);
        if (r < 0)
                return r;
        placed = calloc(MAX(j->n_objects, (size_t) 1), sizeof *placed);
        if (!placed)
                return -ENOMEM;
        for (size_t i = 0; i < j->n_objects; i++) {
                const PtpObjectProps *o = &j->objects[i], *folder;
                PtpObjectProps key = { .handle = o->parent };
                Placed *p = &placed[n];

                if (o->format == PTP_OFC_ASSOCIATION)
                        continue;
                folder = bsearch(&key, j->objects, j->n_objects, sizeof key, handle_cmp);
                if (!folder || ranks[folder - j->objects] == 0 ||
                    !segment_file_name(o->filename, &p->index, &p->kind)) {
                        j->inv->n_ignored++;
                        continue;
                }
                p->rank = ranks[folder - j->objects];
                p->recording = folder->filename;
                p->object = o;
                n++;
        }
        if (n > 1)
                qsort(placed, n, sizeof *placed, placed_cmp);
        *ret = TAKE_PTR(placed);
        *ret_n = n;
        return 0;
}

static int inventory_build(InventoryJob *j) {
        CameraInventory *inv = j->inv;
        _cleanup_free_ Placed *placed = NULL;
        CameraSegment *shrunk;
        size_t n;
        int r;

        r = place_objects(j, &placed, &n);
        if (r < 0)
                return r;
        /* At most one segment per placed file; sorted as placed is. */
        inv->segments = calloc(MAX(n, (size_t) 1), sizeof *inv->segments);
        if (!inv->segments)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const Placed *p = &placed[i];
                CameraSegment *seg = inv->n_segments > 0 ? &inv->segments[inv->n_segments - 1] : NULL;

                if (!seg || i == 0 || p->rank != placed[i - 1].rank || p->index != seg->index) {
                        seg = &inv->segments[inv->n_segments++];
                        *seg = (CameraSegment) { .recording_id = strdup(p->recording), .index = p->index };
                        if (!seg->recording_id)
                                return -ENOMEM;
                }
                if (seg->present[p->kind]) {
                        /* Two objects with one name: the camera is confused; the
                         * lower handle is kept, the other ignored. */
                        j->n_duplicates++;
                        inv->n_ignored++;
                        continue;
                }
                seg->present[p->kind] = true;
                seg->files[p->kind] = (CameraFile) {
                        .handle = p->object->handle,
                        .size = p->object->size,
                        .write_protected = p->object->protection != 0,
                };
        }
        shrunk = reallocarray(inv->segments, MAX(inv->n_segments, (size_t) 1), sizeof *shrunk);
        if (shrunk)
                inv->segments = shrunk;
        return 0;
}

/* ---- the listing: GetObjectPropList ---- */

static int on_list_bytes(const uint8_t *data, size_t size, void *userdata) {
        InventoryJob *j = userdata;
        int r = ptp_prop_list_parser_feed(j->list, data, size);

        /* A malformed listing is still read to its end, so that the transport
         * stays in step with the camera; it fails when the answer comes. */
        return r == -ENOMEM ? r : 0;
}

static void on_list(Camera *c, int error, uint16_t rc, void *userdata) {
        InventoryJob *j = userdata;
        int r;

        if (error < 0)
                return inventory_fail(j, error, rc);
        r = ptp_prop_list_parser_finish(j->list, &j->objects, &j->n_objects);
        j->list = ptp_prop_list_parser_free(j->list);
        if (r < 0) {
                /* The listing is a shortcut, and the transport is in step (the
                 * answer was read to its end): list this camera the long way,
                 * whose every answer is checked too, rather than fault it, and
                 * again after every recovery, with its recordings on it. Its
                 * storages are asked again, for the handles. */
                log_debug_errno(r, "Camera %s: malformed ObjectPropList (%m); listing object by object.",
                                c->log_name);
                j->inv->list_malformed = true;
                j->use_list = false;
                j->storage_idx = 0;
                j->inv->storage_capacity = j->inv->storage_free = 0;
        } else
                j->listed = true;
        inventory_step(j);
}

/* Every object of every storage, every property, in one transaction. */
static int list_start(InventoryJob *j) {
        PtpTransaction tx = {
                .code = PTP_OC_MTP_GET_OBJECT_PROP_LIST,
                .params = { 0xFFFFFFFF, 0, 0xFFFFFFFF, 0, 0 },
                .n_params = 5,
                .sink = on_list_bytes,
                .sink_userdata = j,
                .max_data_in = PTP_OBJECT_PROP_LIST_MAX_SIZE,
        };
        int r;

        r = ptp_prop_list_parser_new(PTP_MAX_OBJECTS, &j->list);
        if (r < 0)
                return r;
        return camera_request_sink(j->camera, &tx, on_list, j, inventory_destroy);
}

/* ---- without it: GetObjectHandles, then GetObjectInfo per object ---- */

static int walk_found_folder(InventoryJob *j, uint32_t handle);

static void on_object_size(Camera *c, int error, uint16_t rc, const uint8_t *data, size_t size, void *userdata) {
        InventoryJob *j = userdata;
        PtpObjectProps *o = &j->objects[j->n_objects - 1];
        uint64_t v;

        if (error < 0)
                return inventory_fail(j, error, rc);
        if (ptp_uint_parse(data, size, 8, &v) < 0)
                return inventory_fail(j, -EBADMSG, 0);
        o->size = v;
        inventory_step(j);
}

static void on_object_info(Camera *c, int error, uint16_t rc, const uint8_t *data, size_t size, void *userdata) {
        InventoryJob *j = userdata;
        PtpObjectInfo info;
        PtpObjectProps *o;

        if (error == -EREMOTEIO && rc == PTP_RC_INVALID_OBJECT_HANDLE) {
                inventory_step(j);   /* deleted meanwhile */
                return;
        }
        if (error < 0)
                return inventory_fail(j, error, rc);
        if (ptp_object_info_parse(data, size, &info) < 0)
                return inventory_fail(j, log_debug_errno(EBADMSG, "Camera %s: malformed ObjectInfo.", c->log_name), 0);
        o = &j->objects[j->n_objects++];
        *o = (PtpObjectProps) {
                .handle = j->handles[j->handle_idx - 1],
                .parent = info.parent,
                .format = info.format,
                .protection = info.protection,
                .size = info.compressed_size,
                .filename = TAKE_PTR(info.filename),
        };
        ptp_object_info_date(&info, &o->date, &o->date_unzoned);
        ptp_object_info_done(&info);
        if (j->walk && o->format == PTP_OFC_ASSOCIATION) {
                int r = walk_found_folder(j, o->handle);
                if (r < 0)
                        return inventory_fail(j, r, 0);
        }
        if (o->size == UINT32_MAX && o->format != PTP_OFC_ASSOCIATION) {
                uint32_t params[2] = { o->handle, PTP_OPC_OBJECT_SIZE };
                int r = inv_simple(j, PTP_OC_MTP_GET_OBJECT_PROP_VALUE, params, 2, 8, on_object_size);
                if (r < 0)
                        inventory_fail(j, r, 0);
                return;
        }
        inventory_step(j);
}

/* *p holds *capacity elements of size; make room for need, doubling. */
static int grow(void **p, size_t *capacity, size_t need, size_t size) {
        size_t c = MAX(*capacity, (size_t) 64);
        void *q;

        if (need <= *capacity)
                return 0;
        while (c < need)
                c *= 2;
        q = reallocarray(*p, c, size);
        if (!q)
                return -ENOMEM;
        *p = q;
        *capacity = c;
        return 0;
}

static int add_handles(InventoryJob *j, const uint32_t *h, size_t n) {
        size_t capacity = j->handles_capacity, need = j->n_handles + n;
        int r;

        /* The three arrays are parallel; each grows to the same capacity. */
        r = grow((void **) &j->handles, &capacity, need, sizeof *j->handles);
        if (r >= 0) {
                capacity = j->handles_capacity;
                r = grow((void **) &j->objects, &capacity, need, sizeof *j->objects);
        }
        if (r >= 0 && j->walk) {
                capacity = j->handles_capacity;
                r = grow((void **) &j->handle_folder, &capacity, need, sizeof *j->handle_folder);
        }
        if (r < 0)
                return r;
        j->handles_capacity = capacity;
        for (size_t i = 0; i < n; i++) {
                if (j->walk) {
                        /* Each handle once, whatever the camera repeats: a folder
                         * that lists itself or an ancestor ends there. 0 and
                         * 0xFFFFFFFF name no object (PTP 1.0 §5.3.3). */
                        if (h[i] == 0 || h[i] == UINT32_MAX)
                                continue;
                        r = u32_set_add(&j->seen, h[i]);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                continue;
                        j->handle_folder[j->n_handles] = (uint32_t) (j->folder_idx - 1);
                }
                j->handles[j->n_handles++] = h[i];
        }
        return 0;
}

static void on_handles(Camera *c, int error, uint16_t rc, const uint8_t *data, size_t size, void *userdata) {
        InventoryJob *j = userdata;
        _cleanup_free_ uint32_t *h = NULL;
        size_t n = 0, counted = j->walk ? j->n_listed : j->n_handles;
        int r;

        if (j->walk && error == -EREMOTEIO &&
            (rc == PTP_RC_INVALID_OBJECT_HANDLE || rc == PTP_RC_INVALID_PARENT_OBJECT))
                return inventory_step(j);   /* that folder was deleted meanwhile */
        if (error < 0)
                return inventory_fail(j, error, rc);
        /* At most PTP_MAX_OBJECTS handles in all answers together: in a walk,
         * repeated ones count too, so that a camera repeating its objects in
         * every folder cannot keep it going. */
        if (ptp_u32_array_parse(data, size, PTP_MAX_OBJECTS - counted, &h, &n) < 0)
                return inventory_fail(j, log_debug_errno(EBADMSG, "Camera %s: malformed object handle list.", c->log_name), 0);
        j->n_listed += n;
        r = add_handles(j, h, n);
        if (r < 0)
                return inventory_fail(j, r, 0);
        inventory_step(j);
}

/* ---- the walk: GetObjectHandles per folder, as libmtp does ---- */

/* Some cameras (umtprd 1.3.10, tests/vdock/README.md) answer GetObjectHandles
 * of parent 0 with the storage's root folder only, and scan a folder only
 * when asked for its children. A camera that does not sign is therefore
 * walked: its root, then each folder found, breadth first, each handle taken
 * once (a loop or a folder listing itself ends there), no deeper than a path
 * generic-listing.h can tell, and no more than PTP_MAX_OBJECTS handles read
 * in all. Signing cameras keep the one listing of everything (§11 puts
 * their recordings one folder deep). */
static int walk_push(InventoryJob *j, uint32_t storage, uint32_t handle, unsigned depth) {
        int r = grow((void **) &j->folders, &j->folders_capacity, j->n_folders + 1, sizeof *j->folders);

        if (r < 0)
                return r;
        j->folders[j->n_folders++] = (WalkFolder) { .storage = storage, .handle = handle, .depth = depth };
        return 0;
}

static int walk_found_folder(InventoryJob *j, uint32_t handle) {
        const WalkFolder *in = &j->folders[j->handle_folder[j->handle_idx - 1]];

        /* A file deeper than this has a path generic-listing.c cannot tell. */
        if (in->depth + 1 > GENERIC_PATH_DEPTH_MAX)
                return 0;
        return walk_push(j, in->storage, handle, in->depth + 1);
}

static int walk_list_folder(InventoryJob *j) {
        const WalkFolder *f = &j->folders[j->folder_idx++];
        /* PTP 1.0 §10.5.9: all formats; ParentObject 0xFFFFFFFF is the root. */
        uint32_t params[3] = { f->storage, 0, f->handle };

        return inv_simple(j, PTP_OC_GET_OBJECT_HANDLES, params, 3, PTP_OBJECT_HANDLES_MAX_SIZE, on_handles);
}

/* ---- storages, and the order of it all ---- */

static void on_storage_info(Camera *c, int error, uint16_t rc, const uint8_t *data, size_t size, void *userdata) {
        InventoryJob *j = userdata;
        PtpStorageInfo si;
        uint32_t params[3];
        int r;

        if (error < 0)
                return inventory_fail(j, error, rc);
        if (ptp_storage_info_parse(data, size, &si) < 0)
                return inventory_fail(j, log_debug_errno(EBADMSG, "Camera %s: malformed StorageInfo.", c->log_name), 0);
        j->inv->storage_capacity += si.max_capacity;
        j->inv->storage_free += MIN(si.free_space, si.max_capacity);
        ptp_storage_info_done(&si);
        if (j->use_list)
                return inventory_step(j);
        if (j->walk) {
                /* Its root is listed once every storage is known. */
                r = walk_push(j, j->storages[j->storage_idx - 1], UINT32_MAX, 0);
                if (r < 0)
                        return inventory_fail(j, r, 0);
                return inventory_step(j);
        }

        params[0] = j->storages[j->storage_idx - 1];
        params[1] = 0;   /* all formats */
        params[2] = 0;   /* all objects, any folder */
        r = inv_simple(j, PTP_OC_GET_OBJECT_HANDLES, params, 3, PTP_OBJECT_HANDLES_MAX_SIZE, on_handles);
        if (r < 0)
                inventory_fail(j, r, 0);
}

static void on_storage_ids(Camera *c, int error, uint16_t rc, const uint8_t *data, size_t size, void *userdata) {
        InventoryJob *j = userdata;

        if (error < 0)
                return inventory_fail(j, error, rc);
        if (ptp_u32_array_parse(data, size, CAMERA_MAX_STORAGES, &j->storages, &j->n_storages) < 0)
                return inventory_fail(j, log_debug_errno(EBADMSG, "Camera %s: malformed storage ID list.", c->log_name), 0);
        inventory_step(j);
}

/* In a worker thread: nothing here touches the camera or logs. */
static int build_work(void *userdata, volatile bool *cancelled) {
        return inventory_build(userdata);
}

static void build_done(int result, void *userdata) {
        InventoryJob *j = userdata;
        Camera *c = j->camera;
        CameraInventory *inv;

        camera_hold(c, false);
        if (c->gone || result == -ECANCELED) {
                /* Abandoned (or shut down) meanwhile: as for a transaction in
                 * flight, no callback. */
                inventory_job_free(j);
                return;
        }
        if (result < 0)
                return inventory_fail(j, result, 0);
        if (j->n_duplicates > 0)
                log_debug("Camera %s: %zu object(s) named like another, ignored.", c->log_name, j->n_duplicates);
        inv = TAKE_PTR(j->inv);
        j->cb(c, 0, PTP_RC_OK, inv, j->userdata);
        inventory_job_free(j);
}

/* Matching a quarter of a million objects takes long enough to be felt by
 * everything else on the loop: a worker does it, the camera held for it. */
static int build_start(InventoryJob *j) {
        PtpObjectProps *objects;
        size_t n;
        int r;

        if (j->objects_cb) {
                /* A listing comes sorted; a handle list need not. */
                if (!sorted_by_handle(j))
                        qsort(j->objects, j->n_objects, sizeof *j->objects, handle_cmp);
                objects = TAKE_PTR(j->objects);
                n = j->n_objects;
                j->n_objects = 0;
                j->objects_cb(j->camera, 0, PTP_RC_OK, objects, n, j->userdata);
                inventory_job_free(j);
                return 0;
        }

        camera_hold(j->camera, true);
        if (!j->workers) {
                build_done(inventory_build(j), j);
                return 0;
        }
        r = worker_pool_submit(j->workers, build_work, build_done, j, NULL);
        if (r < 0)
                camera_hold(j->camera, false);
        return r;
}

static void inventory_step(InventoryJob *j) {
        int r;

        if (j->storage_idx < j->n_storages) {
                uint32_t id = j->storages[j->storage_idx++];
                r = inv_simple(j, PTP_OC_GET_STORAGE_INFO, &id, 1, 64 * 1024, on_storage_info);
        } else if (j->use_list && !j->listed) {
                r = list_start(j);
        } else if (j->handle_idx < j->n_handles) {
                uint32_t h = j->handles[j->handle_idx++];
                r = inv_simple(j, PTP_OC_GET_OBJECT_INFO, &h, 1, 64 * 1024, on_object_info);
        } else if (j->folder_idx < j->n_folders) {
                r = walk_list_folder(j);
        } else
                r = build_start(j);
        if (r < 0)
                inventory_fail(j, r, 0);
}

static int inventory_begin(Camera *c, WorkerPool *workers, camera_inventory_t cb, camera_objects_t objects_cb,
                           void *userdata);

int camera_inventory(Camera *c, WorkerPool *workers, camera_inventory_t cb, void *userdata) {
        return inventory_begin(c, workers, cb, NULL, userdata);
}

int camera_list_objects(Camera *c, camera_objects_t cb, void *userdata) {
        return inventory_begin(c, NULL, NULL, cb, userdata);
}

static int inventory_begin(Camera *c, WorkerPool *workers, camera_inventory_t cb, camera_objects_t objects_cb,
                           void *userdata) {
        InventoryJob *j;
        int r;

        j = calloc(1, sizeof *j);
        if (!j)
                return -ENOMEM;
        j->inv = calloc(1, sizeof *j->inv);
        if (!j->inv) {
                free(j);
                return -ENOMEM;
        }
        j->camera = camera_ref(c);
        j->workers = workers;
        j->cb = cb;
        j->objects_cb = objects_cb;
        j->userdata = userdata;
        /* A walk asks for each object's ObjectInfo: GetObjectPropList of all
         * objects at once is what umtprd refuses (it takes one handle). */
        j->walk = objects_cb != NULL;
        j->use_list = !j->walk && ptp_device_info_has_operation(&c->info, PTP_OC_MTP_GET_OBJECT_PROP_LIST);
        r = inv_simple(j, PTP_OC_GET_STORAGE_IDS, NULL, 0, 4 + 4 * CAMERA_MAX_STORAGES, on_storage_ids);
        if (r < 0)
                inventory_job_free(j);
        return r;
}
