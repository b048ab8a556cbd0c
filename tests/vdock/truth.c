/* truth.c: what the world held and what happened, as JSON (truth.h).
 * Hashes are computed here if nobody asked for them yet. */
#include "truth.h"

#include <json-c/json.h>
#include <openssl/evp.h>
#include <string.h>

#include <openssl/bn.h>

#include "content.h"
#include "ptp.h"
#include "scenario.h"

static const char *response_name(uint16_t rc)
{
        switch (rc) {
        case RC_OK: return "OK";
        case RC_Invalid_ObjectHandle: return "Invalid_ObjectHandle";
        case RC_Object_WriteProtected: return "Object_WriteProtected";
        case RC_Access_Denied: return "Access_Denied";
        case RC_Partial_Deletion: return "Partial_Deletion";
        default: return "other";
        }
}

static json_object *str_or_null(const char *s)
{
        return s ? json_object_new_string(s) : NULL;
}

static json_object *sha_json(const void *data, size_t len)
{
        uint8_t md[32];
        unsigned int n = 32;
        char hex[65];

        EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
        hex_encode(md, 32, hex);
        return json_object_new_string(hex);
}

/* SHA-256 of the video as served: the corrupt-byte fault changes one byte. */
static json_object *served_video_sha(Segment *seg)
{
        enum { CHUNK = 1 << 20 };
        g_autofree uint8_t *buf = g_malloc(CHUNK);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        uint8_t md[32];
        unsigned int n = 32;
        char hex[65];

        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
        for (uint64_t off = 0; off < seg->size; off += CHUNK) {
                size_t len = (size_t) MIN((uint64_t) CHUNK, seg->size - off);
                content_fill(seg->seed, off, buf, len);
                if ((uint64_t) seg->corrupt_offset >= off && (uint64_t) seg->corrupt_offset < off + len)
                        buf[seg->corrupt_offset - off] ^= 0x5a;
                EVP_DigestUpdate(ctx, buf, len);
        }
        EVP_DigestFinal_ex(ctx, md, &n);
        EVP_MD_CTX_free(ctx);
        hex_encode(md, 32, hex);
        return json_object_new_string(hex);
}

static const char *object_fate(const Object *obj)
{
        if (!obj)
                return "never-on-camera";
        if (!obj->deleted)
                return "on-camera";
        return obj->replaced ? "replaced" : obj->lost ? "lost" : "deleted";
}

static void add_fate(json_object *f, Object *obj)
{
        gboolean deleted = obj && obj->deleted && !obj->lost && !obj->replaced;

        json_object_object_add(f, "handle", obj ? json_object_new_int64(obj->handle) : NULL);
        json_object_object_add(f, "fate", json_object_new_string(object_fate(obj)));
        json_object_object_add(f, "deleted_real_us", deleted ? json_object_new_int64(obj->deleted_real_us) : NULL);
        json_object_object_add(f, "deleted_mono_us", deleted ? json_object_new_int64(obj->deleted_mono_us) : NULL);
        json_object_object_add(f, "bytes_served", json_object_new_int64(obj ? (int64_t) obj->bytes_served : 0));
        json_object_object_add(f, "reads", json_object_new_int64(obj ? obj->reads : 0));
}

static json_object *file_json(Camera *cam, Segment *seg, ObjectKind kind)
{
        static const char *const ext[FILE_N] = { "mp4", "man", "p7s" };
        json_object *f = json_object_new_object();
        g_autofree char *name = g_strdup_printf("%06u.%s", seg->index, ext[kind]);
        g_autoptr(GBytes) served = NULL;
        gsize len = 0;
        const void *p;
        char hex[65];

        json_object_object_add(f, "name", json_object_new_string(name));
        if (kind == FILE_MP4) {
                hex_encode(segment_sha256(seg), 32, hex);
                json_object_object_add(f, "size", json_object_new_int64((int64_t) seg->size));
                json_object_object_add(f, "sha256", json_object_new_string(hex));
                if (seg->corrupt_offset >= 0)
                        json_object_object_add(f, "served_sha256", served_video_sha(seg));
                if (seg->video_extra)
                        json_object_object_add(f, "object_size", json_object_new_int64((int64_t) (seg->size + seg->video_extra)));
        } else {
                served = camera_served_file(cam, seg, kind);
                p = served ? g_bytes_get_data(served, &len) : "";
                json_object_object_add(f, "size", json_object_new_int64((int64_t) len));
                json_object_object_add(f, "sha256", sha_json(p, len));
                if (kind == FILE_MAN && seg->manifest_altered) {
                        GBytes *signed_man = segment_manifest(cam, seg, FALSE);
                        p = g_bytes_get_data(signed_man, &len);
                        json_object_object_add(f, "signed_sha256", sha_json(p, len));
                }
        }
        add_fate(f, seg->files[kind]);
        return f;
}

/* on-camera, deleted (every file by DeleteObject), partially-deleted, lost or
 * replaced (some file gone without a DeleteObject), never-on-camera. */
static const char *segment_fate(Segment *seg)
{
        int total = 0, deleted = 0, lost = 0, replaced = 0;

        for (int k = 0; k < FILE_N; k++) {
                Object *o = seg->files[k];
                if (!o)
                        continue;
                total++;
                deleted += o->deleted && !o->lost && !o->replaced;
                lost += o->lost;
                replaced += o->replaced;
        }
        if (total == 0)
                return "never-on-camera";
        if (replaced)
                return "replaced";
        if (lost)
                return "lost";
        return deleted == 0 ? "on-camera" : deleted == total ? "deleted" : "partially-deleted";
}

static json_object *segment_faults_json(Segment *seg)
{
        static const char *const ext[FILE_N] = { "mp4", "man", "p7s" };
        json_object *faults = json_object_new_object(), *missing = json_object_new_array(), *padded = NULL;

        json_object_object_add(faults, "corrupt_offset", seg->corrupt_offset >= 0 ? json_object_new_int64(seg->corrupt_offset) : NULL);
        json_object_object_add(faults, "manifest_altered", json_object_new_boolean(seg->manifest_altered));
        json_object_object_add(faults, "chain_gap", json_object_new_boolean(seg->missing && !seg->elsewhere));
        json_object_object_add(faults, "offloaded_elsewhere", json_object_new_boolean(seg->elsewhere));
        json_object_object_add(faults, "broken_prev", json_object_new_boolean(seg->broken_prev));
        json_object_object_add(faults, "revoked_signer", json_object_new_boolean(seg->revoked_signer));
        json_object_object_add(faults, "delete_refused", seg->delete_refusal ? json_object_new_string(
                seg->delete_refusal == RC_Access_Denied ? "access-denied" : "write-protected") : NULL);
        json_object_object_add(faults, "oversized_video", seg->video_extra ? json_object_new_int64((int64_t) seg->video_extra) : NULL);
        for (int k = 0; k < FILE_N; k++) {
                if (seg->missing_file[k])
                        json_object_array_add(missing, json_object_new_string(ext[k]));
                if (seg->padded_size[k]) {
                        padded = padded ? padded : json_object_new_object();
                        json_object_object_add(padded, ext[k], json_object_new_int64((int64_t) seg->padded_size[k]));
                }
        }
        json_object_object_add(faults, "missing_files", missing);
        json_object_object_add(faults, "oversized_file", padded);
        return faults;
}

static json_object *segment_json(Camera *cam, Segment *seg)
{
        json_object *s = json_object_new_object(), *files = json_object_new_object();
        static const char *const ext[FILE_N] = { "mp4", "man", "p7s" };

        json_object_object_add(s, "recording_id", json_object_new_string(seg->recording->id));
        json_object_object_add(s, "index", json_object_new_int64(seg->index));
        json_object_object_add(s, "generation", json_object_new_int64(seg->generation));
        json_object_object_add(s, "start_unix", json_object_new_int64(seg->start));
        json_object_object_add(s, "end_unix", json_object_new_int64(seg->end));
        json_object_object_add(s, "fate", json_object_new_string(segment_fate(seg)));
        json_object_object_add(s, "faults", segment_faults_json(seg));
        for (int k = 0; k < FILE_N; k++)
                json_object_object_add(files, ext[k], file_json(cam, seg, k));
        json_object_object_add(s, "files", files);
        return s;
}

/* Summary mode lists only segments something happened to. */
static gboolean segment_touched(Segment *seg)
{
        for (int k = 0; k < FILE_N; k++)
                if (seg->files[k] && (seg->files[k]->reads || seg->files[k]->deleted))
                        return TRUE;
        return seg->missing || seg->corrupt_offset >= 0 || seg->manifest_altered || seg->video_extra ||
               seg->delete_refusal || seg->revoked_signer || seg->broken_prev;
}

static json_object *segments_json(Camera *cam, GPtrArray *segments, gboolean summary, json_object *counts)
{
        json_object *a = json_object_new_array();

        for (guint i = 0; i < segments->len; i++) {
                Segment *seg = segments->pdata[i];

                if (counts) {
                        const char *fate = segment_fate(seg);
                        json_object *n = json_object_object_get(counts, fate);
                        json_object_object_add(counts, fate, json_object_new_int64((n ? json_object_get_int64(n) : 0) + 1));
                }
                if (!summary || segment_touched(seg))
                        json_object_array_add(a, segment_json(cam, seg));
        }
        return a;
}

static json_object *recording_json(Camera *cam, Recording *rec, gboolean summary)
{
        json_object *o = json_object_new_object(), *prev = json_object_new_array();
        json_object *counts = summary ? json_object_new_object() : NULL;

        json_object_object_add(o, "id", json_object_new_string(rec->id));
        json_object_object_add(o, "officer_id", json_object_new_string(rec->officer));
        json_object_object_add(o, "categories", json_object_new_string(rec->categories));
        json_object_object_add(o, "generation", json_object_new_int64(rec->generation));
        json_object_object_add(o, "segments", segments_json(cam, rec->segments, summary, counts));
        json_object_object_add(o, "segments_total", json_object_new_int64(rec->segments->len));
        if (counts)
                json_object_object_add(o, "segments_by_fate", counts);
        for (guint g = 0; rec->previous && g < rec->previous->len; g++) {
                RecordingGeneration *gen = rec->previous->pdata[g];
                json_object *go = json_object_new_object();
                json_object_object_add(go, "generation", json_object_new_int64(gen->generation));
                json_object_object_add(go, "segments", segments_json(cam, gen->segments, summary, NULL));
                json_object_array_add(prev, go);
        }
        json_object_object_add(o, "previous_generations", prev);
        return o;
}

static json_object *battery_json(Camera *cam)
{
        Battery *b = &cam->battery;
        json_object *o = json_object_new_object();

        json_object_object_add(o, "design_mah", json_object_new_int64(b->design_mah));
        json_object_object_add(o, "full_mah", json_object_new_int64(b->full_mah));
        json_object_object_add(o, "health_pct", json_object_new_double(b->design_mah ? 100.0 * b->full_mah / b->design_mah : 0));
        json_object_object_add(o, "cycles", json_object_new_int64(b->cycles));
        json_object_object_add(o, "soc_pct", json_object_new_double(b->soc * 100));
        json_object_object_add(o, "temp_c", json_object_new_double(b->temp_dc / 10.0));
        json_object_object_add(o, "gauge_fault", json_object_new_boolean(b->gauge_fault));
        json_object_object_add(o, "charging", json_object_new_boolean(b->charging));
        return o;
}

static json_object *selftest_json(Camera *cam)
{
        json_object *o = json_object_new_object(), *comps = json_object_new_object();
        static const char *const results[] = { "pass", "fail", "not-fitted" };

        json_object_object_add(o, "duration_s", json_object_new_double(cam->selftest.duration_s));
        json_object_object_add(o, "state", json_object_new_int(cam->selftest.state));
        for (unsigned i = 1; i <= SELFTEST_COMPONENTS; i++) {
                SelfTestComponent *c = &cam->selftest.comp[i];
                json_object *e = json_object_new_object();
                json_object_object_add(e, "result", json_object_new_string(results[MIN(c->result, 2)]));
                json_object_object_add(e, "error_code", json_object_new_int64(c->error_code));
                json_object_object_add(e, "detail", str_or_null(c->detail));
                json_object_object_add(comps, selftest_component_name(i), e);
        }
        json_object_object_add(o, "components", comps);
        return o;
}

static json_object *triggers_json(Camera *cam)
{
        static const char *const kinds[] = { "unplug", "stall", "urb_error" };
        static const char *const mkinds[] = { "bad-length", "oversize", "truncated", "wrong-tid", "wrong-type" };
        json_object *a = json_object_new_array();

        for (guint i = 0; i < cam->triggers->len; i++) {
                Trigger *t = cam->triggers->pdata[i];
                json_object *o = json_object_new_object();
                g_autofree char *seg = t->segment ? g_strdup_printf("%s/%u", t->segment->recording->id, t->segment->index) : NULL;

                json_object_object_add(o, "kind", json_object_new_string(kinds[t->kind]));
                json_object_object_add(o, "segment", str_or_null(seg));
                json_object_object_add(o, "offset", json_object_new_int64((int64_t) t->offset));
                json_object_object_add(o, "opcode", t->segment ? NULL : json_object_new_int(t->opcode));
                json_object_object_add(o, "fired", json_object_new_boolean(t->fired));
                json_object_array_add(a, o);
        }
        for (guint i = 0; i < cam->malformed->len; i++) {
                Malformed *m = cam->malformed->pdata[i];
                json_object *o = json_object_new_object();
                json_object_object_add(o, "kind", json_object_new_string("malformed"));
                json_object_object_add(o, "malformed", json_object_new_string(mkinds[m->kind]));
                json_object_object_add(o, "opcode", json_object_new_int(m->opcode));
                json_object_object_add(o, "remaining", json_object_new_int(m->remaining));
                json_object_array_add(a, o);
        }
        return a;
}

static json_object *logs_json(Camera *cam, gboolean deletes)
{
        json_object *a = json_object_new_array();
        GPtrArray *log = deletes ? cam->delete_log : cam->clock_log;

        for (guint i = 0; i < log->len; i++) {
                json_object *o = json_object_new_object();
                if (deletes) {
                        DeleteRecord *r = log->pdata[i];
                        char code[8];
                        g_snprintf(code, sizeof code, "0x%04X", r->response);
                        json_object_object_add(o, "handle", json_object_new_int64(r->handle));
                        json_object_object_add(o, "name", str_or_null(r->name));
                        json_object_object_add(o, "response", json_object_new_string(code));
                        json_object_object_add(o, "response_name", json_object_new_string(response_name(r->response)));
                        json_object_object_add(o, "mono_us", json_object_new_int64(r->mono_us));
                        json_object_object_add(o, "real_us", json_object_new_int64(r->real_us));
                } else {
                        ClockRecord *r = log->pdata[i];
                        json_object_object_add(o, "value", json_object_new_string(r->value));
                        json_object_object_add(o, "accepted", json_object_new_boolean(r->accepted));
                        json_object_object_add(o, "camera_before_us", json_object_new_int64(r->camera_before_us));
                        json_object_object_add(o, "drift_before_s", json_object_new_double((r->camera_before_us - r->real_us) / 1e6));
                        json_object_object_add(o, "mono_us", json_object_new_int64(r->mono_us));
                        json_object_object_add(o, "real_us", json_object_new_int64(r->real_us));
                }
                json_object_array_add(a, o);
        }
        return a;
}

static gboolean truth_summary(Camera *cam)
{
        guint n = 0;

        if (cam->truth_mode != TRUTH_AUTO)
                return cam->truth_mode == TRUTH_SUMMARY;
        for (guint r = 0; r < cam->recordings->len; r++)
                n += ((Recording *) cam->recordings->pdata[r])->segments->len;
        return n > 10000;
}

static json_object *hostile_json(Camera *cam, json_object *c)
{
        json_object *raw = json_object_new_object(), *ops = json_object_new_object();
        DeviceIdentity *id = cam->identity;
        GHashTableIter it;
        gpointer k, v;

        json_object_object_add(c, "presented_serial", json_object_new_string(camera_presented_serial(cam)));
        json_object_object_add(c, "challenge", json_object_new_string(challenge_mode_to_string(cam->challenge)));
        json_object_object_add(c, "object_prop_list", json_object_new_boolean(!cam->no_object_prop_list));
        json_object_object_add(c, "extension", json_object_new_boolean(!cam->no_extension));
        json_object_object_add(c, "malformed_prop_list", json_object_new_string(prop_list_mode_to_string(cam->prop_list)));
        if (id) {
                g_autofree char *sn = NULL;
                BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(id->cert), NULL);
                char *hex = bn ? BN_bn2hex(bn) : NULL;
                sn = g_ascii_strdown(hex ? hex : "", -1);
                OPENSSL_free(hex);
                BN_free(bn);
                json_object_object_add(c, "certificate_serial", json_object_new_string(sn));
                json_object_object_add(c, "certificate_revoked", json_object_new_boolean(pki_is_revoked(cam->pki, id->cert)));
        }
        for (int i = 0; i < RAW_N; i++)
                if (cam->raw_spec[i])
                        json_object_object_add(raw, raw_field_key(i), json_object_new_string(cam->raw_spec[i]));
        if (cam->raw_officer)
                json_object_object_add(raw, "raw_officer", json_object_new_string(cam->raw_officer));
        json_object_object_add(c, "raw_strings", raw);
        g_hash_table_iter_init(&it, cam->op_counts);
        while (g_hash_table_iter_next(&it, &k, &v)) {
                char code[8];
                g_snprintf(code, sizeof code, "0x%04X", GPOINTER_TO_UINT(k));
                json_object_object_add(ops, code, json_object_new_int64(GPOINTER_TO_UINT(v)));
        }
        json_object_object_add(c, "operations", ops);
        return c;
}

static json_object *camera_json(Camera *cam)
{
        json_object *c = json_object_new_object(), *recs = json_object_new_array();
        gboolean summary = truth_summary(cam);

        json_object_object_add(c, "serial", json_object_new_string(cam->serial));
        json_object_object_add(c, "model", json_object_new_string(cam->model));
        json_object_object_add(c, "manufacturer", json_object_new_string(cam->manufacturer));
        json_object_object_add(c, "firmware", json_object_new_string(cam->firmware));
        json_object_object_add(c, "responder", json_object_new_string(cam->responder == CAMERA_UMTPRD ? "umtprd" : "vdock"));
        if (cam->umtprd_dir)
                json_object_object_add(c, "umtprd_dir", json_object_new_string(cam->umtprd_dir));
        json_object_object_add(c, "storage_bytes", json_object_new_int64((int64_t) cam->capacity));
        json_object_object_add(c, "usb3", json_object_new_boolean(cam->usb3));
        json_object_object_add(c, "link_mb_s", json_object_new_double(cam->link_mbps));
        json_object_object_add(c, "cert_fault", json_object_new_string(cert_fault_to_string(cam->cert_fault)));
        json_object_object_add(c, "clock_drift_s", json_object_new_double(cam->clock_drift_s));
        json_object_object_add(c, "clock_offset_now_s", json_object_new_double(cam->clock_offset_us / 1e6));
        json_object_object_add(c, "docked_bay", json_object_new_int(cam->docked_bay));
        json_object_object_add(c, "battery", battery_json(cam));
        json_object_object_add(c, "selftest", selftest_json(cam));
        json_object_object_add(c, "faults", triggers_json(cam));
        json_object_object_add(c, "truth", json_object_new_string(summary ? "summary" : "full"));
        hostile_json(cam, c);
        for (guint r = 0; r < cam->recordings->len; r++)
                json_object_array_add(recs, recording_json(cam, cam->recordings->pdata[r], summary));
        json_object_object_add(c, "recordings", recs);
        json_object_object_add(c, "deletes", logs_json(cam, TRUE));
        json_object_object_add(c, "clock_sets", logs_json(cam, FALSE));
        return c;
}

static json_object *history_json(GPtrArray *h, const char *what_key)
{
        json_object *a = json_object_new_array();

        for (guint i = 0; i < h->len; i++) {
                WorldEvent *e = h->pdata[i];
                json_object *o = json_object_new_object();
                json_object_object_add(o, what_key, json_object_new_string(e->what));
                json_object_object_add(o, "attr", json_object_new_string(e->attr));
                json_object_object_add(o, "value", json_object_new_string(e->value));
                json_object_object_add(o, "mono_us", json_object_new_int64(e->mono_us));
                json_object_object_add(o, "real_us", json_object_new_int64(e->real_us));
                json_object_array_add(a, o);
        }
        return a;
}

gboolean truth_write(World *w, const char *path, GError **error)
{
        Scenario *s = world_scenario(w);
        json_object *root = json_object_new_object(), *cams = json_object_new_array();
        const char *text;
        gboolean ok;

        g_rec_mutex_lock(world_lock(w));
        json_object_object_add(root, "schema", json_object_new_int(1));
        json_object_object_add(root, "mono_us", json_object_new_int64(g_get_monotonic_time()));
        json_object_object_add(root, "real_us", json_object_new_int64(g_get_real_time()));
        json_object_object_add(root, "bays", json_object_new_int((int) s->bays));
        for (guint i = 0; i < s->cameras->len; i++)
                json_object_array_add(cams, camera_json(s->cameras->pdata[i]));
        json_object_object_add(root, "cameras", cams);
        json_object_object_add(root, "led_history", history_json(world_led_history(w), "led"));
        json_object_object_add(root, "charger_history", history_json(world_charger_history(w), "charger"));
        json_object_object_add(root, "port_history", history_json(world_port_history(w), "port"));
        json_object_object_add(root, "dock_history", history_json(world_dock_history(w), "camera"));
        g_rec_mutex_unlock(world_lock(w));
        text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
        ok = g_file_set_contents(path, text, -1, error);
        json_object_put(root);
        return ok;
}
