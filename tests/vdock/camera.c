/* camera.c: the camera model (camera.h): objects and their bytes, manifests
 * (protocol §12.2) and the hash chain (§13), deletion (§5.1), the RTC (§6). */
#include "camera.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "content.h"
#include "ptp.h"

Camera *camera_new(const char *serial)
{
        Camera *cam = g_new0(Camera, 1);

        cam->serial = g_strdup(serial);
        cam->model = g_strdup("Sentinel V3");
        cam->manufacturer = g_strdup("vdock");
        cam->firmware = g_strdup("3.2.1");
        cam->officer = g_strdup("4711");
        cam->capacity = UINT64_C(64) << 30;
        cam->recordings = g_ptr_array_new();
        cam->objects = g_ptr_array_new_with_free_func(g_free);
        cam->triggers = g_ptr_array_new_with_free_func(g_free);
        cam->malformed = g_ptr_array_new_with_free_func(g_free);
        cam->delete_log = g_ptr_array_new();
        cam->clock_log = g_ptr_array_new();
        cam->pending_reuse = g_ptr_array_new();
        cam->op_counts = g_hash_table_new(g_direct_hash, g_direct_equal);
        cam->battery = (Battery) { .soc = 0.5, .design_mah = 3000, .full_mah = 2850, .cycles = 42,
                                   .temp_dc = 250, .charge_c_rate = 0.5, .time_scale = 1.0 };
        cam->selftest.duration_s = 2.0;
        return cam;
}

void segment_free(Segment *seg)
{
        g_clear_pointer(&seg->manifest, g_bytes_unref);
        g_clear_pointer(&seg->manifest_served, g_bytes_unref);
        g_clear_pointer(&seg->signature, g_bytes_unref);
        g_free(seg);
}

static void free_segments(GPtrArray *segments)
{
        for (guint i = 0; i < segments->len; i++)
                segment_free(segments->pdata[i]);
        g_ptr_array_unref(segments);
}

static void recording_free(Recording *rec)
{
        free_segments(rec->segments);
        for (guint i = 0; rec->previous && i < rec->previous->len; i++) {
                RecordingGeneration *g = rec->previous->pdata[i];
                free_segments(g->segments);
                g_free(g);
        }
        if (rec->previous)
                g_ptr_array_unref(rec->previous);
        g_free(rec->id);
        g_free(rec->officer);
        g_free(rec->categories);
        g_free(rec);
}

static void delete_record_free(DeleteRecord *r)
{
        g_free(r->name);
        g_free(r);
}

static void clock_record_free(ClockRecord *r)
{
        g_free(r->value);
        g_free(r);
}

void camera_free(Camera *cam)
{
        if (!cam)
                return;
        for (guint i = 0; i < cam->recordings->len; i++)
                recording_free(cam->recordings->pdata[i]);
        g_ptr_array_unref(cam->recordings);
        g_ptr_array_unref(cam->objects);
        g_ptr_array_unref(cam->triggers);
        g_ptr_array_unref(cam->malformed);
        for (guint i = 0; i < cam->delete_log->len; i++)
                delete_record_free(cam->delete_log->pdata[i]);
        g_ptr_array_unref(cam->delete_log);
        for (guint i = 0; i < cam->clock_log->len; i++)
                clock_record_free(cam->clock_log->pdata[i]);
        g_ptr_array_unref(cam->clock_log);
        for (unsigned i = 1; i <= SELFTEST_COMPONENTS; i++)
                g_free(cam->selftest.comp[i].detail);
        for (guint i = 0; i < cam->pending_reuse->len; i++) {
                PendingReuse *p = cam->pending_reuse->pdata[i];
                g_free(p->recording);
                g_free(p->segments);
                g_free(p);
        }
        g_ptr_array_unref(cam->pending_reuse);
        g_hash_table_unref(cam->op_counts);
        for (int i = 0; i < RAW_N; i++) {
                if (cam->raw[i])
                        g_array_unref(cam->raw[i]);
                g_free(cam->raw_spec[i]);
        }
        g_free(cam->raw_officer);
        g_free(cam->presented_serial);
        device_identity_free(cam->identity);
        device_identity_free(cam->old_identity);
        g_free(cam->serial);
        g_free(cam->model);
        g_free(cam->manufacturer);
        g_free(cam->firmware);
        g_free(cam->officer);
        g_free(cam->umtprd_dir);
        g_free(cam);
}

Recording *camera_add_recording(Camera *cam, const char *id, gint64 start, unsigned seg_seconds,
                                const char *officer, const char *categories)
{
        Recording *rec = g_new0(Recording, 1);

        rec->camera = cam;
        rec->id = g_strdup(id);
        rec->start = start;
        rec->segment_seconds = seg_seconds ? seg_seconds : 600;
        rec->officer = g_strdup(officer ? officer : cam->officer);
        rec->categories = g_strdup(categories ? categories : "");
        rec->segments = g_ptr_array_new();
        g_ptr_array_add(cam->recordings, rec);
        return rec;
}

/* Generation 0 is what the camera first recorded; a reused id gives new bytes. */
uint64_t camera_segment_seed(Camera *cam, Recording *rec, unsigned index, unsigned generation)
{
        uint64_t seed = content_seed(cam->serial, rec->id, index);

        return generation ? seed ^ (UINT64_C(0xD1B54A32D192ED03) * generation) : seed;
}

Segment *recording_add_segment(Recording *rec, uint64_t size)
{
        Segment *seg = g_new0(Segment, 1);
        Segment *first = rec->segments->len ? rec->segments->pdata[0] : NULL;

        seg->recording = rec;
        /* A recording may start on the camera after index 0 (first_segment, record). */
        seg->index = first ? first->index + rec->segments->len : 0;
        seg->generation = rec->generation;
        seg->size = size;
        seg->seed = camera_segment_seed(rec->camera, rec, seg->index, rec->generation);
        seg->start = rec->start + (gint64) seg->index * rec->segment_seconds;
        seg->end = seg->start + rec->segment_seconds;
        seg->corrupt_offset = -1;
        g_ptr_array_add(rec->segments, seg);
        return seg;
}

static Object *add_object(Camera *cam, ObjectKind kind, Recording *rec, Segment *seg)
{
        static const char *const ext[FILE_N] = { "mp4", "man", "p7s" };
        Object *obj = g_new0(Object, 1);

        obj->handle = cam->objects->len + 1;
        obj->kind = kind;
        obj->recording = rec;
        obj->segment = seg;
        if (kind == OBJ_FOLDER)
                g_strlcpy(obj->name, rec->id, sizeof obj->name);
        else
                snprintf(obj->name, sizeof obj->name, "%06u.%s", seg->index, ext[kind]);
        g_ptr_array_add(cam->objects, obj);
        return obj;
}

/* A camera without the extension (extension = no) signs nothing: it holds
 * its videos only, as a plain MTP camera does. */
void camera_add_segment_objects(Camera *cam, Segment *seg)
{
        if (seg->missing)
                return;
        for (int k = 0; k < (cam->no_extension ? FILE_MP4 + 1 : FILE_N); k++)
                if (!seg->missing_file[k] && !seg->files[k])
                        seg->files[k] = add_object(cam, k, seg->recording, seg);
}

Object *camera_add_folder(Camera *cam, Recording *rec)
{
        rec->folder = add_object(cam, OBJ_FOLDER, rec, NULL);
        return rec->folder;
}

void camera_finalize(Camera *cam, const VClock *clock)
{
        if (cam->objects->len)
                return;
        for (guint r = 0; r < cam->recordings->len; r++) {
                Recording *rec = cam->recordings->pdata[r];

                camera_add_folder(cam, rec);
                for (guint s = 0; s < rec->segments->len; s++)
                        camera_add_segment_objects(cam, rec->segments->pdata[s]);
        }
        cam->clock_offset_us = (gint64) (cam->clock_drift_s * G_USEC_PER_SEC);
        cam->battery.last_update_us = vclock_mono(clock);
}

const char *camera_presented_serial(const Camera *cam)
{
        return cam->presented_serial ? cam->presented_serial : cam->serial;
}

Recording *camera_find_recording(Camera *cam, const char *id)
{
        for (guint r = 0; r < cam->recordings->len; r++) {
                Recording *x = cam->recordings->pdata[r];
                if (!id || g_str_equal(x->id, id))
                        return x;
        }
        return NULL;
}

Segment *camera_find_segment(Camera *cam, const char *spec)
{
        const char *slash = strrchr(spec, '/');
        Recording *rec = NULL;
        Segment *first;
        char *end = NULL;
        guint64 index;

        if (cam->recordings->len == 0)
                return NULL;
        if (slash) {
                for (guint r = 0; r < cam->recordings->len; r++) {
                        Recording *x = cam->recordings->pdata[r];
                        if (strlen(x->id) == (size_t) (slash - spec) && strncmp(x->id, spec, slash - spec) == 0)
                                rec = x;
                }
                spec = slash + 1;
        } else {
                rec = cam->recordings->pdata[0];
        }
        index = g_ascii_strtoull(spec, &end, 10);
        if (!rec || end == spec || *end || rec->segments->len == 0)
                return NULL;
        first = rec->segments->pdata[0];
        if (index < first->index || index - first->index >= rec->segments->len)
                return NULL;
        return rec->segments->pdata[index - first->index];
}

Object *camera_object(Camera *cam, uint32_t handle)
{
        Object *obj;

        if (handle == 0 || handle > cam->objects->len)
                return NULL;
        obj = cam->objects->pdata[handle - 1];
        return obj->deleted ? NULL : obj;
}

static uint64_t manifest_size(Camera *cam, Segment *seg);
static uint64_t signature_size(Camera *cam);

uint16_t object_format(const Object *obj)
{
        static const uint16_t formats[] = { OFC_Video, OFC_Text, OFC_Undefined, OFC_Association };
        return formats[obj->kind];
}

uint64_t object_size(Camera *cam, Object *obj)
{
        Segment *seg = obj->segment;

        if (obj->kind != OBJ_FOLDER && seg->padded_size[obj->kind])
                return seg->padded_size[obj->kind];
        switch (obj->kind) {
        case FILE_MP4:
                return seg->size + seg->video_extra;
        case FILE_MAN:
                return manifest_size(cam, seg);
        case FILE_P7S:
                if (!seg->signature && seg->revoked_signer)
                        segment_signature(cam, seg);
                return seg->signature ? g_bytes_get_size(seg->signature) : signature_size(cam);
        default:
                return 0;
        }
}

uint64_t camera_free_space(Camera *cam)
{
        uint64_t used = 0;

        for (guint i = 0; i < cam->objects->len; i++) {
                Object *obj = cam->objects->pdata[i];
                if (!obj->deleted && obj->kind == FILE_MP4)
                        used += obj->segment->size + obj->segment->video_extra;
        }
        return used < cam->capacity ? cam->capacity - used : 0;
}

const uint8_t *segment_sha256(Segment *seg)
{
        if (!seg->hashed) {
                content_sha256(seg->seed, seg->size, seg->sha256);
                seg->hashed = TRUE;
        }
        return seg->sha256;
}

static void sha256_hex(const void *data, size_t len, char hex[65])
{
        uint8_t md[32];
        unsigned int n = 32;

        EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
        hex_encode(md, 32, hex);
}

static char *rfc3339(gint64 t)
{
        g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
        return g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
}

/* §12.2, byte for byte: fixed key order, LF endings, last line ends with LF. */
static GString *manifest_text(Camera *cam, Segment *seg, const char *officer, const char *sha, const char *prev)
{
        Recording *rec = seg->recording;
        g_autofree char *start = rfc3339(seg->start), *end = rfc3339(seg->end);
        GString *s = g_string_new(NULL);

        g_string_append_printf(s, "format=1\ndevice_serial=%s\nmodel=%s\nfirmware=%s\n"
                               "recording_id=%s\nsegment_index=%u\nfile_name=%06u.mp4\n"
                               "size=%" G_GUINT64_FORMAT "\nsha256=%s\nprev=%s\n"
                               "start_time=%s\nend_time=%s\nofficer_id=%s\ncategories=%s\n",
                               camera_presented_serial(cam), cam->model, cam->firmware, rec->id, seg->index,
                               seg->index, seg->size, sha, prev, start, end,
                               cam->raw_officer ? cam->raw_officer : officer, rec->categories);
        return s;
}

static GBytes *build_manifest(Camera *cam, Segment *seg, const char *officer)
{
        char sha[65], prev[65];

        hex_encode(segment_sha256(seg), 32, sha);
        if (seg->index == 0) {
                memset(prev, '0', 64);
                prev[64] = 0;
        } else if (seg->broken_prev) {
                /* Names a predecessor that never existed. */
                g_autofree char *nowhere = g_strdup_printf("no such manifest %" G_GUINT64_FORMAT, seg->seed);
                sha256_hex(nowhere, strlen(nowhere), prev);
        } else {
                GBytes *pm = segment_manifest(cam, seg->recording->segments->pdata[seg->index - 1], FALSE);
                sha256_hex(g_bytes_get_data(pm, NULL), g_bytes_get_size(pm), prev);
        }
        return g_string_free_to_bytes(manifest_text(cam, seg, officer, sha, prev));
}

/* Sizes are known without hashing: hex digests have a fixed length. */
static uint64_t manifest_size(Camera *cam, Segment *seg)
{
        char zeros[65];
        GString *s;
        uint64_t n;

        if (seg->manifest)
                return g_bytes_get_size(seg->manifest);
        memset(zeros, '0', 64);
        zeros[64] = 0;
        s = manifest_text(cam, seg, seg->recording->officer, zeros, zeros);
        n = s->len;
        g_string_free(s, TRUE);
        return n;
}

static uint64_t signature_size(Camera *cam)
{
        static const char dummy[] = "format=1\n";
        g_autoptr(GBytes) sig = NULL;
        DeviceIdentity *id;

        if (cam->signature_size)
                return cam->signature_size;
        id = camera_identity(cam);
        sig = id ? pki_sign_detached(id, dummy, sizeof dummy - 1, 1700000000, NULL) : NULL;
        cam->signature_size = sig ? g_bytes_get_size(sig) : 0;
        return cam->signature_size;
}

/* The "manifest altered after signing" fault: same length, one officer id
 * character changed, so the signature no longer matches. */
static char *altered_officer(const char *officer)
{
        char *o = g_strdup(officer);
        size_t n = strlen(o);
        char c = o[n - 1];

        o[n - 1] = g_ascii_isdigit(c) ? (char) ('0' + (c - '0' + 1) % 10) : (c == 'A' ? 'B' : 'A');
        return o;
}

GBytes *segment_manifest(Camera *cam, Segment *seg, gboolean served)
{
        if (!seg->manifest)
                seg->manifest = build_manifest(cam, seg, seg->recording->officer);
        if (!served || !seg->manifest_altered)
                return seg->manifest;
        if (!seg->manifest_served) {
                g_autofree char *o = altered_officer(seg->recording->officer);
                seg->manifest_served = build_manifest(cam, seg, o);
        }
        return seg->manifest_served;
}

/* impersonate: the genuine certificate of the claimed serial (the one that
 * camera presents, when the scenario has it), and our own key. */
static DeviceIdentity *impostor_identity(Camera *cam, GError **error)
{
        DeviceIdentity *genuine = cam->impersonated ? camera_identity(cam->impersonated) : NULL;
        DeviceIdentity *made = NULL, *id;

        if (!genuine) {
                made = pki_device_identity(cam->pki, cam->presented_serial, cam->model, CERT_GOOD, error);
                if (!made)
                        return NULL;
        }
        id = pki_forged_identity(cam->pki, (genuine ? genuine : made)->cert, cam->serial, error);
        device_identity_free(made);
        return id;
}

DeviceIdentity *camera_identity(Camera *cam)
{
        g_autoptr(GError) error = NULL;

        if (!cam->identity && cam->pki) {
                if (cam->presented_serial)
                        cam->identity = impostor_identity(cam, &error);
                else
                        cam->identity = pki_device_identity(cam->pki, cam->serial, cam->model, cam->cert_fault, &error);
                if (!cam->identity)
                        g_warning("%s: %s", cam->serial, error->message);
                else if (cam->cert_fault == CERT_REVOKED)
                        pki_revoke(cam->pki, cam->identity->cert);
        }
        return cam->identity;
}

DeviceIdentity *camera_old_identity(Camera *cam)
{
        g_autoptr(GError) error = NULL;

        if (!cam->old_identity && cam->pki) {
                cam->old_identity = pki_device_identity(cam->pki, cam->serial, cam->model, CERT_GOOD, &error);
                if (!cam->old_identity)
                        g_warning("%s: %s", cam->serial, error->message);
                else
                        pki_revoke(cam->pki, cam->old_identity->cert);
        }
        return cam->old_identity;
}

void camera_prepare_pki(Camera *cam)
{
        if (cam->cert_fault == CERT_REVOKED || cam->presented_serial)
                camera_identity(cam);
        for (guint r = 0; r < cam->recordings->len; r++) {
                Recording *rec = cam->recordings->pdata[r];
                for (guint i = 0; i < rec->segments->len; i++)
                        if (((Segment *) rec->segments->pdata[i])->revoked_signer)
                                camera_old_identity(cam);
        }
}

void camera_reset_identity(Camera *cam)
{
        g_clear_pointer(&cam->identity, device_identity_free);
        cam->signature_size = 0;
        for (guint r = 0; r < cam->recordings->len; r++) {
                Recording *rec = cam->recordings->pdata[r];
                for (guint s = 0; s < rec->segments->len; s++) {
                        Segment *seg = rec->segments->pdata[s];
                        g_clear_pointer(&seg->signature, g_bytes_unref);
                }
        }
}

GBytes *segment_signature(Camera *cam, Segment *seg)
{
        g_autoptr(GError) error = NULL;
        DeviceIdentity *id;
        GBytes *man;

        if (seg->signature)
                return seg->signature;
        id = seg->revoked_signer ? camera_old_identity(cam) : camera_identity(cam);
        if (!id)
                return NULL;
        man = segment_manifest(cam, seg, FALSE);
        seg->signature = pki_sign_detached(id, g_bytes_get_data(man, NULL), g_bytes_get_size(man),
                                           seg->end, &error);
        if (!seg->signature)
                g_warning("%s: %s", cam->serial, error->message);
        return seg->signature;
}

GBytes *camera_served_file(Camera *cam, Segment *seg, ObjectKind kind)
{
        GBytes *b = kind == FILE_MAN ? segment_manifest(cam, seg, TRUE) : segment_signature(cam, seg);
        gsize n;
        uint8_t *p;

        if (!b)
                return NULL;
        if (!seg->padded_size[kind])
                return g_bytes_ref(b);
        /* oversized_file: the real bytes, then zeros. */
        p = g_malloc0(seg->padded_size[kind]);
        n = MIN(g_bytes_get_size(b), seg->padded_size[kind]);
        memcpy(p, g_bytes_get_data(b, NULL), n);
        return g_bytes_new_take(p, seg->padded_size[kind]);
}

void camera_read_object(Camera *cam, Object *obj, uint64_t offset, uint8_t *buf, size_t len)
{
        Segment *seg = obj->segment;
        GBytes *b = NULL;
        gsize size;
        const uint8_t *p;

        if (obj->kind == FILE_MP4) {
                content_fill(seg->seed, offset, buf, len);
                /* The corrupt-byte fault: the byte differs from what was hashed. */
                if (seg->corrupt_offset >= 0 && (uint64_t) seg->corrupt_offset >= offset &&
                    (uint64_t) seg->corrupt_offset < offset + len)
                        buf[seg->corrupt_offset - offset] ^= 0x5a;
                return;
        }
        if (obj->kind == FILE_MAN)
                b = segment_manifest(cam, seg, TRUE);
        else if (obj->kind == FILE_P7S)
                b = segment_signature(cam, seg);
        p = b ? g_bytes_get_data(b, &size) : NULL;
        memset(buf, 0, len);
        if (p && offset < size)
                memcpy(buf, p + offset, MIN(len, size - offset));
}

static void log_delete(Camera *cam, const VClock *clock, uint32_t handle, Object *obj, uint16_t rc)
{
        DeleteRecord *r = g_new0(DeleteRecord, 1);

        r->mono_us = vclock_mono(clock);
        r->real_us = vclock_real(clock);
        r->handle = handle;
        if (obj)
                r->name = obj->kind == OBJ_FOLDER ? g_strdup(obj->name)
                                                  : g_strdup_printf("%s/%s", obj->recording->id, obj->name);
        r->response = rc;
        g_ptr_array_add(cam->delete_log, r);
}

static gboolean folder_empty(Camera *cam, Recording *rec)
{
        for (guint s = 0; s < rec->segments->len; s++) {
                Segment *seg = rec->segments->pdata[s];
                for (int k = 0; k < FILE_N; k++)
                        if (seg->files[k] && !seg->files[k]->deleted)
                                return FALSE;
        }
        return TRUE;
}

static void mark_deleted(Object *obj, const VClock *clock, GArray *removed)
{
        obj->deleted = TRUE;
        obj->deleted_mono_us = vclock_mono(clock);
        obj->deleted_real_us = vclock_real(clock);
        if (removed)
                g_array_append_val(removed, obj->handle);
}

uint16_t camera_delete(Camera *cam, uint32_t handle, const VClock *clock, GArray *ret_removed)
{
        Object *obj = camera_object(cam, handle);
        uint16_t rc = RC_OK;

        if (!obj)
                rc = RC_Invalid_ObjectHandle;
        else if (obj->kind == OBJ_FOLDER)
                rc = folder_empty(cam, obj->recording) && obj == obj->recording->folder ? RC_OK : RC_Partial_Deletion;
        else if (obj->segment->delete_refusal)
                rc = (uint16_t) obj->segment->delete_refusal;
        if (rc == RC_OK) {
                mark_deleted(obj, clock, ret_removed);
                /* §11: the camera removes an emptied recording folder itself. */
                if (obj->kind != OBJ_FOLDER && folder_empty(cam, obj->recording) &&
                    !obj->recording->folder->deleted)
                        mark_deleted(obj->recording->folder, clock, ret_removed);
        }
        log_delete(cam, clock, handle, obj, rc);
        return rc;
}

gint64 camera_clock_us(Camera *cam, const VClock *clock)
{
        return vclock_real(clock) + cam->clock_offset_us;
}

char *format_ptp_time(gint64 unix_s)
{
        g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(unix_s);
        return g_date_time_format(dt, "%Y%m%dT%H%M%SZ");
}

/* §6: YYYYMMDDThhmmss[.s][Z]; returns unix microseconds or -1. */
static gint64 parse_ptp_time(const char *v)
{
        int Y, M, D, h, m, s, tenths = 0, n = 0;
        size_t len = strlen(v);
        g_autoptr(GDateTime) dt = NULL;

        if (len < 15 || sscanf(v, "%4d%2d%2dT%2d%2d%2d%n", &Y, &M, &D, &h, &m, &s, &n) != 6 || n != 15)
                return -1;
        v += 15;
        if (v[0] == '.' && g_ascii_isdigit(v[1])) {
                tenths = v[1] - '0';
                v += 2;
        }
        if (v[0] == 'Z')
                v++;
        if (*v)
                return -1;
        dt = g_date_time_new_utc(Y, M, D, h, m, s);
        return dt ? g_date_time_to_unix(dt) * G_USEC_PER_SEC + tenths * 100000 : -1;
}

gboolean camera_set_clock(Camera *cam, const char *value, const VClock *clock)
{
        ClockRecord *r = g_new0(ClockRecord, 1);
        gint64 t = parse_ptp_time(value);

        r->mono_us = vclock_mono(clock);
        r->real_us = vclock_real(clock);
        r->camera_before_us = camera_clock_us(cam, clock);
        r->value = g_strdup(value);
        r->accepted = t >= 0;
        g_ptr_array_add(cam->clock_log, r);
        if (t >= 0)
                cam->clock_offset_us = t - vclock_real(clock);
        return t >= 0;
}

void battery_advance(Battery *b, gint64 now_us, gboolean powered, gboolean allowed)
{
        double hours = (double) (now_us - b->last_update_us) / 3.6e9 * b->time_scale;
        double full = b->full_mah ? b->full_mah : 1, cc = b->charge_c_rate * full;
        double current = 0;

        b->last_update_us = now_us;
        b->external_power = powered;
        if (powered && allowed && b->soc < 1.0 && !b->gauge_fault) {
                /* Constant current to 80 %, then a linear taper; done at 2 % of CC. */
                current = b->soc < 0.8 ? cc : cc * (1.0 - b->soc) / 0.2;
                if (current < 0.02 * cc) {
                        current = 0;
                        b->soc = 1.0;
                }
        }
        if (hours > 0 && current > 0)
                b->soc = MIN(1.0, b->soc + current * hours / full);
        b->charging = current > 0;
        b->current_ma = (int) current;
}

unsigned battery_voltage_mv(const Battery *b)
{
        return (unsigned) (3300 + 900 * b->soc + (b->charging ? 60 : 0));
}

const char *battery_status(const Battery *b, gboolean powered, gboolean allowed)
{
        if (!powered)
                return "Discharging";
        if (b->soc >= 1.0)
                return "Full";
        return b->charging ? "Charging" : "Not charging";
}

static const char *const component_names[SELFTEST_COMPONENTS + 1] = {
        NULL, "sensor", "microphone", "storage", "rtc", "gps", "battery",
};

const char *selftest_component_name(unsigned id)
{
        return id >= 1 && id <= SELFTEST_COMPONENTS ? component_names[id] : NULL;
}

int selftest_component_id(const char *name)
{
        for (int i = 1; i <= SELFTEST_COMPONENTS; i++)
                if (g_strcmp0(name, component_names[i]) == 0)
                        return i;
        return -1;
}

uint16_t selftest_run(SelfTest *st, uint32_t mask, const VClock *clock)
{
        const uint32_t all = ((1u << (SELFTEST_COMPONENTS + 1)) - 1) & ~1u;

        if (mask & ~all)
                return RC_Invalid_Parameter;
        if (st->state == 1)
                return RC_Device_Busy;
        st->mask = mask ? mask : all;
        st->state = 1;
        st->started_mono_us = vclock_mono(clock);
        return RC_OK;
}

gboolean selftest_poll(SelfTest *st, Camera *cam, const VClock *clock)
{
        if (st->state != 1 || vclock_mono(clock) - st->started_mono_us < (gint64) (st->duration_s * G_USEC_PER_SEC))
                return FALSE;
        st->state = 2;
        st->completed_at = (uint32_t) (camera_clock_us(cam, clock) / G_USEC_PER_SEC);
        st->complete_event_pending = TRUE;
        return TRUE;
}

size_t camera_trigger_limit(Camera *cam, Object *obj, uint64_t off, size_t len, Trigger **ret_trig)
{
        size_t limit = len;

        *ret_trig = NULL;
        if (obj->kind != FILE_MP4)
                return len;
        for (guint i = 0; i < cam->triggers->len; i++) {
                Trigger *t = cam->triggers->pdata[i];

                if (t->fired || t->segment != obj->segment || t->offset < off || t->offset >= off + len)
                        continue;
                if (t->offset - off < limit || !*ret_trig) {
                        limit = t->offset - off;
                        *ret_trig = t;
                }
        }
        return limit;
}

Trigger *camera_op_trigger(Camera *cam, uint16_t opcode)
{
        for (guint i = 0; i < cam->triggers->len; i++) {
                Trigger *t = cam->triggers->pdata[i];
                if (!t->fired && !t->segment && t->opcode == opcode)
                        return t;
        }
        return NULL;
}

void camera_count_op(Camera *cam, uint16_t opcode)
{
        gpointer key = GUINT_TO_POINTER((guint) opcode);

        g_hash_table_insert(cam->op_counts, key,
                            GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(cam->op_counts, key)) + 1));
}

Malformed *camera_take_malformed(Camera *cam, uint16_t opcode)
{
        for (guint i = 0; i < cam->malformed->len; i++) {
                Malformed *m = cam->malformed->pdata[i];
                if (m->opcode != opcode || m->remaining == 0)
                        continue;
                if (m->remaining > 0)
                        m->remaining--;
                return m;
        }
        return NULL;
}
