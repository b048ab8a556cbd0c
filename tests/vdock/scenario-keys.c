/* scenario-keys.c: the camera fault and property keys, shared by the
 * scenario file's [camera] groups and the control socket's `fault` command
 * (tests/vdock/README.md lists each with its effect). */
#include "scenario-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "camera-history.h"
#include "ptp.h"

static gboolean segment_arg(Camera *cam, char **argv, int argc, int i, Segment **ret, GError **error)
{
        if (i >= argc || !(*ret = camera_find_segment(cam, argv[i])))
                return scenario_fail(error, "no such segment '%s'", i < argc ? argv[i] : "");
        return TRUE;
}

static gboolean add_byte_trigger(Camera *cam, TriggerKind kind, char **argv, int argc, GError **error)
{
        Trigger t = { .kind = kind, .until = UNTIL_POWER, .urb_status = -EPROTO, .redock_after = -1 };

        if (argc >= 2 && g_str_equal(argv[0], "op") && kind == TRIG_STALL) {
                uint64_t op;
                if (!parse_u64(argv[1], &op) || op > 0xFFFF)
                        return scenario_fail(error, "bad op code '%s'", argv[1]);
                t.opcode = (uint16_t) op;
        } else if (!segment_arg(cam, argv, argc, 0, &t.segment, error)) {
                return FALSE;
        } else if (argc < 2 || !parse_u64(argv[1], &t.offset)) {
                return scenario_fail(error, "expected SEGMENT BYTE");
        }
        for (int i = 2; i < argc; i++) {
                const char *a = argv[i], *b = i + 1 < argc ? argv[i + 1] : "";
                if (g_str_equal(a, "redock") && parse_double(b, &t.redock_after))
                        i++;
                else if (g_str_equal(a, "until") && g_str_equal(b, "reset"))
                        t.until = UNTIL_RESET, i++;
                else if (g_str_equal(a, "until") && g_str_equal(b, "power"))
                        t.until = UNTIL_POWER, i++;
                else if (g_str_equal(a, "until") && g_str_equal(b, "never"))
                        t.until = UNTIL_NEVER, i++;
                else if (g_str_equal(a, "eproto")) t.urb_status = -EPROTO;
                else if (g_str_equal(a, "epipe")) t.urb_status = -EPIPE;
                else if (g_str_equal(a, "eio")) t.urb_status = -EIO;
                else if (g_str_equal(a, "etimedout")) t.urb_status = -ETIMEDOUT;
                else if (g_str_equal(a, "eoverflow")) t.urb_status = -EOVERFLOW;
                else
                        return scenario_fail(error, "unexpected '%s'", a);
        }
        g_ptr_array_add(cam->triggers, g_memdup2(&t, sizeof t));
        return TRUE;
}

static gboolean add_malformed(Camera *cam, char **argv, int argc, GError **error)
{
        static const char *const kinds[MALFORMED_N] = { "bad-length", "oversize", "truncated", "wrong-tid", "wrong-type" };
        Malformed m = { .kind = MALFORMED_N, .remaining = 1 };
        uint64_t op, count;

        for (int k = 0; argc > 0 && k < MALFORMED_N; k++)
                if (g_str_equal(argv[0], kinds[k]))
                        m.kind = k;
        if (m.kind == MALFORMED_N || argc < 2 || !parse_u64(argv[1], &op) || op > 0xFFFF)
                return scenario_fail(error, "expected KIND OPCODE [COUNT], KIND one of bad-length, oversize, truncated, wrong-tid, wrong-type");
        if (argc >= 3) {
                if (!parse_u64(argv[2], &count) || count > 1000000)
                        return scenario_fail(error, "bad count '%s'", argv[2]);
                m.remaining = count == 0 ? -1 : (int) count;
        }
        m.opcode = (uint16_t) op;
        g_ptr_array_add(cam->malformed, g_memdup2(&m, sizeof m));
        return TRUE;
}

static int file_kind(const char *s)
{
        static const char *const ext[FILE_N] = { "mp4", "man", "p7s" };

        for (int k = 0; k < FILE_N; k++)
                if (g_str_equal(s, ext[k]))
                        return k;
        return -1;
}

/* oversized_video SEG EXTRA | oversized_file SEG man|p7s SIZE | missing_file SEG mp4|man|p7s */
static gboolean apply_file_fault(Camera *cam, const char *key, Segment *seg, char **argv, int argc, gboolean runtime,
                                 GError **error)
{
        uint64_t v;
        int k;

        if (g_str_equal(key, "oversized_video")) {
                if (argc < 2 || !parse_size(argv[1], &v) || v == 0)
                        return scenario_fail(error, "expected SEGMENT EXTRA-BYTES");
                seg->video_extra = v;
                return TRUE;
        }
        k = argc >= 2 ? file_kind(argv[1]) : -1;
        if (g_str_equal(key, "oversized_file")) {
                if (k != FILE_MAN && k != FILE_P7S)
                        return scenario_fail(error, "expected SEGMENT man|p7s SIZE");
                if (argc < 3 || !parse_size(argv[2], &v) || v == 0 || v > (UINT64_C(1) << 32))
                        return scenario_fail(error, "expected SEGMENT man|p7s SIZE (at most 4G)");
                seg->padded_size[k] = v;
                return TRUE;
        }
        if (g_str_equal(key, "missing_file") && k >= 0) {
                seg->missing_file[k] = TRUE;
                if (runtime && seg->files[k] && !seg->files[k]->deleted) {
                        seg->files[k]->deleted = TRUE;
                        seg->files[k]->lost = TRUE;
                }
                return TRUE;
        }
        return scenario_fail(error, "unknown file fault %s", key);
}

static gboolean apply_segment_fault(Camera *cam, const char *key, char **argv, int argc, gboolean runtime, GError **error)
{
        Segment *seg = NULL;
        uint64_t off;

        if (argc >= 1 && g_str_equal(argv[0], "all")) {
                /* Every segment of every recording, one at a time. */
                for (guint r = 0; r < cam->recordings->len; r++) {
                        Recording *rec = cam->recordings->pdata[r];
                        for (guint i = 0; i < rec->segments->len; i++) {
                                Segment *x = rec->segments->pdata[i];
                                g_autofree char *spec = g_strdup_printf("%s/%u", rec->id, x->index);
                                char *one[8] = { spec };

                                for (int a = 1; a < argc && a < 7; a++)
                                        one[a] = argv[a];
                                if (!x->missing && !apply_segment_fault(cam, key, one, MIN(argc, 7), runtime, error))
                                        return FALSE;
                        }
                }
                return TRUE;
        }
        if (!segment_arg(cam, argv, argc, 0, &seg, error))
                return FALSE;
        if (g_str_equal(key, "corrupt")) {
                if (argc < 2 || !parse_u64(argv[1], &off) || off >= seg->size)
                        return scenario_fail(error, "expected SEGMENT OFFSET inside the video");
                seg->corrupt_offset = (gint64) off;
        } else if (g_str_equal(key, "manifest_altered")) {
                seg->manifest_altered = TRUE;
        } else if (g_str_equal(key, "chain_gap")) {
                if (runtime)
                        return scenario_fail(error, "chain_gap is only possible in a scenario file");
                seg->missing = TRUE;
        } else if (g_str_has_prefix(key, "oversized_") || g_str_equal(key, "missing_file")) {
                return apply_file_fault(cam, key, seg, argv, argc, runtime, error);
        } else if (g_str_equal(key, "revoked_signer")) {
                if (runtime)
                        return scenario_fail(error, "revoked_signer is only possible in a scenario file");
                seg->revoked_signer = TRUE;
        } else if (g_str_equal(key, "lose")) {
                if (!runtime)
                        return scenario_fail(error, "lose is a runtime fault (control or [timeline]); use chain_gap");
                camera_lose(cam, seg);
        } else {
                seg->delete_refusal = argc >= 2 && g_str_equal(argv[1], "access-denied") ? RC_Access_Denied
                                                                                         : RC_Object_WriteProtected;
        }
        return TRUE;
}

/* A detail written with escapes (wirestr.h): \, and \: do not split. */
static char *selftest_detail(const char *spec, GError **error)
{
        g_autoptr(GArray) units = wirestr_parse(spec, error);

        return units ? wirestr_to_utf8(units) : NULL;
}

static gboolean apply_selftest(Camera *cam, const char *key, const char *value, GError **error)
{
        g_autofree char *protected = NULL;
        g_auto(GStrv) items = NULL;
        GString *p = g_string_new(NULL);

        /* Escaped separators survive the splits below as \xHH escapes. */
        for (const char *c = value; *c; c++) {
                if (c[0] == '\\' && (c[1] == ',' || c[1] == ':' || c[1] == '\\')) {
                        g_string_append_printf(p, "\\x%02x", (unsigned) c[1]);
                        c++;
                } else
                        g_string_append_c(p, *c);
        }
        protected = g_string_free(p, FALSE);
        items = g_strsplit(protected, ",", -1);
        for (int i = 0; items[i]; i++) {
                g_auto(GStrv) f = g_strsplit(g_strstrip(items[i]), ":", 3);
                int id = f[0] ? selftest_component_id(f[0]) : -1;
                uint64_t code = 1;

                if (!f[0] || !*f[0])
                        continue;
                if (id < 0)
                        return scenario_fail(error, "unknown self-test component '%s'", f[0]);
                if (f[1] && !parse_u64(f[1], &code))
                        return scenario_fail(error, "bad error code '%s'", f[1]);
                cam->selftest.comp[id].result = g_str_equal(key, "selftest_fail") ? 1 : 2;
                cam->selftest.comp[id].error_code = (uint32_t) code;
                g_free(cam->selftest.comp[id].detail);
                cam->selftest.comp[id].detail = f[1] && f[2] ? selftest_detail(f[2], error) :
                        g_strdup(g_str_equal(key, "selftest_fail") ? "component failed its check" : "not fitted");
                if (!cam->selftest.comp[id].detail)
                        return FALSE;
        }
        return TRUE;
}

static gboolean apply_battery(Camera *cam, const char *key, const char *value, GError **error)
{
        Battery *b = &cam->battery;
        double v;

        if (g_str_equal(key, "battery_gauge_fault")) {
                b->gauge_fault = parse_bool(value);
                return TRUE;
        }
        if (!parse_double(value, &v) || v < -100 || v > 1e6)
                return scenario_fail(error, "bad number '%s'", value);
        if (g_str_equal(key, "battery_soc"))
                b->soc = CLAMP(v / 100.0, 0, 1);
        else if (g_str_equal(key, "battery_design_mah"))
                b->design_mah = (unsigned) v, b->full_mah = MIN(b->full_mah, b->design_mah);
        else if (g_str_equal(key, "battery_health"))
                b->full_mah = (unsigned) (b->design_mah * CLAMP(v, 1, 100) / 100.0);
        else if (g_str_equal(key, "battery_cycles"))
                b->cycles = (unsigned) v;
        else if (g_str_equal(key, "battery_temp"))
                b->temp_dc = (int) (v * 10);
        else if (g_str_equal(key, "battery_c_rate"))
                b->charge_c_rate = CLAMP(v, 0.01, 10);
        else
                return scenario_fail(error, "unknown key '%s'", key);
        return TRUE;
}

static gboolean apply_identity(Camera *cam, const char *key, const char *value, gboolean runtime, GError **error)
{
        char **field = g_str_equal(key, "model") ? &cam->model :
                       g_str_equal(key, "firmware") ? &cam->firmware : &cam->manufacturer;

        if (runtime)
                return scenario_fail(error, "%s is only settable in a scenario file", key);
        if (!*value || strlen(value) > 64)
                return scenario_fail(error, "%s must be 1-64 characters", key);
        for (const char *p = value; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return scenario_fail(error, "%s has a control character", key);
        if (cam->responder == CAMERA_UMTPRD && strchr(value, '"'))
                return scenario_fail(error, "%s: umtprd's config cannot quote '\"'", key);
        g_free(*field);
        *field = g_strdup(value);
        return TRUE;
}

static gboolean apply_cert(Camera *cam, const char *value, GError **error)
{
        static const char *const names[] = { "good", "unknown-ca", "serial-mismatch", "expired", "revoked" };

        for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
                if (g_str_equal(value, names[i])) {
                        cam->cert_fault = (CertFault) i;
                        camera_reset_identity(cam);
                        return TRUE;
                }
        }
        return scenario_fail(error, "cert must be good, unknown-ca, serial-mismatch, expired or revoked");
}

static const char *const raw_keys[RAW_N] = {
        "raw_manufacturer", "raw_model", "raw_firmware", "raw_serial",
        "raw_storage_description", "raw_volume_label", "raw_datetime",
};

/* raw_*: a string the camera sends verbatim (escapes as in wirestr.h). */
static gboolean apply_raw(Camera *cam, const char *key, const char *value, GError **error)
{
        g_autoptr(GArray) units = wirestr_parse(value, error);

        if (!units)
                return FALSE;
        if (g_str_equal(key, "raw_officer")) {
                g_free(cam->raw_officer);
                cam->raw_officer = wirestr_to_utf8(units);
                return TRUE;
        }
        for (int i = 0; i < RAW_N; i++) {
                if (!g_str_equal(key, raw_keys[i]))
                        continue;
                if (cam->raw[i])
                        g_array_unref(cam->raw[i]);
                cam->raw[i] = g_steal_pointer(&units);
                g_free(cam->raw_spec[i]);
                cam->raw_spec[i] = g_strdup(value);
                return TRUE;
        }
        return scenario_fail(error, "unknown key '%s'", key);
}

const char *raw_field_key(RawField f)
{
        return f < RAW_N ? raw_keys[f] : NULL;
}

static gboolean apply_challenge(Camera *cam, const char *value, GError **error)
{
        static const char *const names[CHALLENGE_N] = {
                "good", "unsupported", "error", "garbage", "replay", "unprefixed", "wrong-key",
        };

        for (int i = 0; i < CHALLENGE_N; i++)
                if (g_str_equal(value, names[i])) {
                        cam->challenge = (ChallengeMode) i;
                        return TRUE;
                }
        return scenario_fail(error, "challenge must be good, unsupported, error, garbage, replay, unprefixed or wrong-key");
}

static const char *const prop_list_names[PROP_LIST_N] = { "no", "count", "string" };

static gboolean apply_prop_list(Camera *cam, const char *value, GError **error)
{
        for (int i = 0; i < PROP_LIST_N; i++)
                if (g_str_equal(value, prop_list_names[i])) {
                        cam->prop_list = (PropListMode) i;
                        return TRUE;
                }
        return scenario_fail(error, "malformed_prop_list must be no, count or string");
}

const char *prop_list_mode_to_string(PropListMode m)
{
        return m < PROP_LIST_N ? prop_list_names[m] : "?";
}

const char *challenge_mode_to_string(ChallengeMode m)
{
        static const char *const names[CHALLENGE_N] = {
                "good", "unsupported", "error", "garbage", "replay", "unprefixed", "wrong-key",
        };
        return m < CHALLENGE_N ? names[m] : "?";
}

/* reuse_recording_id = [REC] [segments SIZES] [now|undock] */
static gboolean apply_reuse(Camera *cam, char **argv, int argc, gboolean runtime, GError **error)
{
        const char *rec = NULL, *sizes = NULL;
        gboolean now = runtime;

        for (int i = 0; i < argc; i++) {
                if (g_str_equal(argv[i], "now"))
                        now = TRUE;
                else if (g_str_equal(argv[i], "undock"))
                        now = FALSE;
                else if (g_str_equal(argv[i], "segments") && i + 1 < argc)
                        sizes = argv[++i];
                else if (!rec)
                        rec = argv[i];
                else
                        return scenario_fail(error, "expected [RECORDING] [segments SIZES] [now|undock]");
        }
        if (rec && !camera_find_recording(cam, rec))
                return scenario_fail(error, "no recording %s", rec);
        if (now && !runtime)
                return scenario_fail(error, "reuse_recording_id in a scenario fires at undock");
        if (now)
                return camera_reuse_recording(cam, rec, sizes, error);
        camera_arm_reuse(cam, rec, sizes);
        return TRUE;
}

/* record = SIZES [recording REC] [broken-chain] */
static gboolean apply_record(Camera *cam, char **argv, int argc, GError **error)
{
        const char *rec = NULL;
        gboolean broken = FALSE;

        if (argc < 1)
                return scenario_fail(error, "expected SIZES [recording REC] [broken-chain]");
        for (int i = 1; i < argc; i++) {
                if (g_str_equal(argv[i], "broken-chain"))
                        broken = TRUE;
                else if (g_str_equal(argv[i], "recording") && i + 1 < argc)
                        rec = argv[++i];
                else
                        return scenario_fail(error, "unexpected '%s'", argv[i]);
        }
        return camera_record(cam, rec, argv[0], broken, error);
}

/* first_segment = [REC/]N: segments below N were recorded and chained, then
 * taken elsewhere: they are not on the camera. */
static gboolean apply_first_segment(Camera *cam, const char *value, gboolean runtime, GError **error)
{
        Segment *first = camera_find_segment(cam, value);

        if (runtime)
                return scenario_fail(error, "first_segment is only possible in a scenario file");
        if (!first)
                return scenario_fail(error, "no such segment '%s'", value);
        for (guint i = 0; i < first->recording->segments->len; i++) {
                Segment *seg = first->recording->segments->pdata[i];
                if (seg->index >= first->index)
                        break;
                seg->missing = TRUE;
                seg->elsewhere = TRUE;
        }
        return TRUE;
}

static gboolean apply_impersonate(Camera *cam, const char *value, gboolean runtime, GError **error)
{
        if (runtime)
                return scenario_fail(error, "impersonate is only possible in a scenario file");
        if (!valid_serial(value) || g_str_equal(value, cam->serial))
                return scenario_fail(error, "impersonate needs another camera's serial (§12.1)");
        g_free(cam->presented_serial);
        cam->presented_serial = g_strdup(value);
        camera_reset_identity(cam);
        return TRUE;
}

static gboolean apply_truth(Camera *cam, const char *value, GError **error)
{
        if (g_str_equal(value, "auto"))
                cam->truth_mode = TRUTH_AUTO;
        else if (g_str_equal(value, "full"))
                cam->truth_mode = TRUTH_FULL;
        else if (g_str_equal(value, "summary"))
                cam->truth_mode = TRUTH_SUMMARY;
        else
                return scenario_fail(error, "truth must be auto, full or summary");
        return TRUE;
}

static gboolean is_argv_key(const char *key)
{
        static const char *const keys[] = {
                "unplug", "stall", "urb_error", "corrupt", "manifest_altered", "chain_gap", "delete_refused",
                "malformed", "oversized_video", "oversized_file", "missing_file", "revoked_signer", "lose",
                "reuse_recording_id", "record", NULL,
        };
        return g_strv_contains(keys, key);
}

static gboolean apply_one(Camera *cam, const char *key, const char *value, gboolean runtime, GError **error)
{
        g_auto(GStrv) argv = NULL;
        int argc = 0;
        gboolean ok;

        if (g_str_equal(key, "reuse_recording_id") && !*value)
                return apply_reuse(cam, NULL, 0, runtime, error);
        if (is_argv_key(key)) {
                if (!g_shell_parse_argv(value, &argc, &argv, NULL))
                        return scenario_fail(error, "%s: empty value", key);
                if (g_str_equal(key, "reuse_recording_id"))
                        return apply_reuse(cam, argv, argc, runtime, error);
                if (g_str_equal(key, "record"))
                        return apply_record(cam, argv, argc, error);
                if (g_str_equal(key, "malformed"))
                        return add_malformed(cam, argv, argc, error);
                if (g_str_equal(key, "unplug"))
                        return add_byte_trigger(cam, TRIG_UNPLUG, argv, argc, error);
                if (g_str_equal(key, "stall"))
                        return add_byte_trigger(cam, TRIG_STALL, argv, argc, error);
                if (g_str_equal(key, "urb_error"))
                        return add_byte_trigger(cam, TRIG_URB_ERROR, argv, argc, error);
                return apply_segment_fault(cam, key, argv, argc, runtime, error);
        }
        if (g_str_has_prefix(key, "battery_"))
                return apply_battery(cam, key, value, error);
        if (g_str_equal(key, "selftest_fail") || g_str_equal(key, "selftest_not_fitted"))
                return apply_selftest(cam, key, value, error);
        if (g_str_equal(key, "selftest_seconds"))
                return parse_double(value, &cam->selftest.duration_s) ? TRUE : scenario_fail(error, "bad number");
        if (g_str_equal(key, "clock_drift")) {
                ok = parse_double(value, &cam->clock_drift_s);
                if (ok && runtime)
                        cam->clock_offset_us = (gint64) (cam->clock_drift_s * G_USEC_PER_SEC);
                return ok ? TRUE : scenario_fail(error, "bad number '%s'", value);
        }
        if (g_str_equal(key, "cert"))
                return apply_cert(cam, value, error);
        if (g_str_equal(key, "link")) {
                cam->link_mbps = parse_link(value, &ok);
                return ok ? TRUE : scenario_fail(error, "link must be unlimited, usb2, usb3 or MB/s");
        }
        if (g_str_equal(key, "model") || g_str_equal(key, "firmware") || g_str_equal(key, "manufacturer"))
                return apply_identity(cam, key, value, runtime, error);
        if (g_str_equal(key, "challenge"))
                return apply_challenge(cam, value, error);
        if (g_str_equal(key, "get_object_prop_list")) {
                cam->no_object_prop_list = !parse_bool(value);
                return TRUE;
        }
        if (g_str_equal(key, "malformed_prop_list"))
                return apply_prop_list(cam, value, error);
        if (g_str_equal(key, "extension")) {
                /* What the camera holds is made once, from the scenario. */
                if (runtime)
                        return scenario_fail(error, "extension is only possible in a scenario file");
                cam->no_extension = !parse_bool(value);
                return TRUE;
        }
        if (g_str_equal(key, "first_segment"))
                return apply_first_segment(cam, value, runtime, error);
        if (g_str_equal(key, "impersonate"))
                return apply_impersonate(cam, value, runtime, error);
        if (g_str_equal(key, "truth"))
                return apply_truth(cam, value, error);
        return scenario_fail(error, "unknown key '%s'", key);
}

/* umtprd answers for itself: only what is outside its process applies. */
static gboolean umtprd_key(const char *key)
{
        return g_str_has_prefix(key, "battery_") || g_str_equal(key, "link") || g_str_equal(key, "model") ||
               g_str_equal(key, "firmware") || g_str_equal(key, "manufacturer");
}

gboolean camera_apply_key(Camera *cam, const char *key, const char *value, gboolean runtime, GError **error)
{
        g_auto(GStrv) items = NULL;

        if (cam->responder == CAMERA_UMTPRD && !umtprd_key(key))
                return scenario_fail(error, "%s: not with responder = umtprd", key);

        /* A raw string is one value, ';' and all. */
        if (g_str_has_prefix(key, "raw_"))
                return apply_raw(cam, key, value, error);
        if (!*value)
                return apply_one(cam, key, value, runtime, error);
        items = g_strsplit(value, ";", -1);

        /* Segment faults may be listed: "corrupt = 0 100; 2 5000" */
        for (int i = 0; items[i]; i++) {
                char *v = g_strstrip(items[i]);
                if (!*v && items[1])
                        continue;
                if (!apply_one(cam, key, v, runtime, error))
                        return FALSE;
        }
        return TRUE;
}

/* ---- the file ---- */
