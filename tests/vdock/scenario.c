/* scenario.c: scenario key file parser (scenario.h) and the camera fault
 * keys shared with the control socket. */
#include "scenario.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ptp.h"

#define SCENARIO_ERROR g_quark_from_static_string("vdock-scenario")

static gboolean fail(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static gboolean fail(GError **error, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        if (error)
                *error = g_error_new_valist(SCENARIO_ERROR, 1, fmt, ap);
        va_end(ap);
        return FALSE;
}

static gboolean matches(const char *s, const char *first, const char *rest, size_t min, size_t max)
{
        size_t n = strlen(s);

        if (n < min || n > max || !strchr(first, s[0]))
                return FALSE;
        for (size_t i = 1; i < n; i++)
                if (!strchr(rest, s[i]))
                        return FALSE;
        return TRUE;
}

#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define DIGIT "0123456789"

/* §12.1 grammars */
gboolean valid_serial(const char *s)
{
        return matches(s, UPPER DIGIT, UPPER DIGIT "-", 3, 32);
}

gboolean valid_recording_id(const char *s)
{
        return matches(s, UPPER LOWER DIGIT, UPPER LOWER DIGIT "._-", 1, 64) && !strstr(s, "..");
}

static gboolean valid_officer(const char *s)
{
        return s[0] && matches(s, UPPER LOWER DIGIT "._-", UPPER LOWER DIGIT "._-", 1, 32);
}

static gboolean valid_categories(const char *s)
{
        g_auto(GStrv) parts = NULL;

        if (!*s)
                return TRUE;
        parts = g_strsplit(s, ",", -1);
        for (int i = 0; parts[i]; i++) {
                if (!matches(parts[i], LOWER DIGIT, LOWER DIGIT "-", 1, 32))
                        return FALSE;
                for (int j = 0; j < i; j++)
                        if (strcmp(parts[i], parts[j]) == 0)
                                return FALSE;
        }
        return TRUE;
}

gboolean parse_size(const char *s, uint64_t *ret)
{
        char *end = NULL;
        guint64 v;
        int shift = 0;

        errno = 0;
        v = g_ascii_strtoull(s, &end, 10);
        if (end == s || errno)
                return FALSE;
        switch (*end) {
        case 'K': case 'k': shift = 10; end++; break;
        case 'M': case 'm': shift = 20; end++; break;
        case 'G': case 'g': shift = 30; end++; break;
        case 'T': case 't': shift = 40; end++; break;
        default: break;
        }
        if (shift && end[0] == 'i' && end[1] == 'B')
                end += 2;
        else if (*end == 'B')
                end++;
        if (*end || (shift && v > (UINT64_MAX >> shift)))
                return FALSE;
        *ret = v << shift;
        return TRUE;
}

double parse_link(const char *s, gboolean *ret_ok)
{
        char *end = NULL;
        double v;

        *ret_ok = TRUE;
        if (g_str_equal(s, "unlimited"))
                return 0;
        if (g_str_equal(s, "usb2"))
                return 40;
        if (g_str_equal(s, "usb3"))
                return 400;
        v = g_ascii_strtod(s, &end);
        *ret_ok = end != s && v > 0 && (g_str_equal(end, "") || g_str_equal(end, "MB/s"));
        return v;
}

gboolean parse_charger_fault(const char *value, ChargerFault *ret)
{
        if (g_str_equal(value, "ok") || g_str_equal(value, "none"))
                *ret = CHARGER_OK;
        else if (g_str_equal(value, "overtemp"))
                *ret = CHARGER_OVERTEMP;
        else if (g_str_equal(value, "fault"))
                *ret = CHARGER_FAULT;
        else
                return FALSE;
        return TRUE;
}

static gboolean parse_u64(const char *s, uint64_t *ret)
{
        char *end = NULL;

        errno = 0;
        *ret = g_ascii_strtoull(s, &end, 0);
        return end != s && !*end && !errno;
}

static gboolean parse_double(const char *s, double *ret)
{
        char *end = NULL;

        *ret = g_ascii_strtod(s, &end);
        return end != s && !*end;
}

static gboolean parse_bool(const char *s)
{
        return g_str_equal(s, "true") || g_str_equal(s, "1") || g_str_equal(s, "yes");
}

/* "[REC/]INDEX OFFSET ..." → segment and byte offset */
static gboolean segment_arg(Camera *cam, char **argv, int argc, int i, Segment **ret, GError **error)
{
        if (i >= argc || !(*ret = camera_find_segment(cam, argv[i])))
                return fail(error, "no such segment '%s'", i < argc ? argv[i] : "");
        return TRUE;
}

static gboolean add_byte_trigger(Camera *cam, TriggerKind kind, char **argv, int argc, GError **error)
{
        Trigger t = { .kind = kind, .until = UNTIL_POWER, .urb_status = -EPROTO, .redock_after = -1 };

        if (argc >= 2 && g_str_equal(argv[0], "op") && kind == TRIG_STALL) {
                uint64_t op;
                if (!parse_u64(argv[1], &op) || op > 0xFFFF)
                        return fail(error, "bad op code '%s'", argv[1]);
                t.opcode = (uint16_t) op;
        } else if (!segment_arg(cam, argv, argc, 0, &t.segment, error)) {
                return FALSE;
        } else if (argc < 2 || !parse_u64(argv[1], &t.offset)) {
                return fail(error, "expected SEGMENT BYTE");
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
                        return fail(error, "unexpected '%s'", a);
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
                return fail(error, "expected KIND OPCODE [COUNT], KIND one of bad-length, oversize, truncated, wrong-tid, wrong-type");
        if (argc >= 3) {
                if (!parse_u64(argv[2], &count) || count > 1000000)
                        return fail(error, "bad count '%s'", argv[2]);
                m.remaining = count == 0 ? -1 : (int) count;
        }
        m.opcode = (uint16_t) op;
        g_ptr_array_add(cam->malformed, g_memdup2(&m, sizeof m));
        return TRUE;
}

static gboolean apply_segment_fault(Camera *cam, const char *key, char **argv, int argc, gboolean runtime, GError **error)
{
        Segment *seg = NULL;
        uint64_t off;

        if (g_str_equal(key, "delete_refused") && argc >= 1 && g_str_equal(argv[0], "all")) {
                for (guint r = 0; r < cam->recordings->len; r++) {
                        Recording *rec = cam->recordings->pdata[r];
                        for (guint s = 0; s < rec->segments->len; s++)
                                ((Segment *) rec->segments->pdata[s])->delete_refusal =
                                        argc >= 2 && g_str_equal(argv[1], "access-denied") ? RC_Access_Denied : RC_Object_WriteProtected;
                }
                return TRUE;
        }
        if (!segment_arg(cam, argv, argc, 0, &seg, error))
                return FALSE;
        if (g_str_equal(key, "corrupt")) {
                if (argc < 2 || !parse_u64(argv[1], &off) || off >= seg->size)
                        return fail(error, "expected SEGMENT OFFSET inside the video");
                seg->corrupt_offset = (gint64) off;
        } else if (g_str_equal(key, "manifest_altered")) {
                seg->manifest_altered = TRUE;
        } else if (g_str_equal(key, "chain_gap")) {
                if (runtime)
                        return fail(error, "chain_gap is only possible in a scenario file");
                seg->missing = TRUE;
        } else {
                seg->delete_refusal = argc >= 2 && g_str_equal(argv[1], "access-denied") ? RC_Access_Denied
                                                                                         : RC_Object_WriteProtected;
        }
        return TRUE;
}

static gboolean apply_selftest(Camera *cam, const char *key, const char *value, GError **error)
{
        g_auto(GStrv) items = g_strsplit(value, ",", -1);

        for (int i = 0; items[i]; i++) {
                g_auto(GStrv) f = g_strsplit(g_strstrip(items[i]), ":", 3);
                int id = f[0] ? selftest_component_id(f[0]) : -1;
                uint64_t code = 1;

                if (!f[0] || !*f[0])
                        continue;
                if (id < 0)
                        return fail(error, "unknown self-test component '%s'", f[0]);
                if (f[1] && !parse_u64(f[1], &code))
                        return fail(error, "bad error code '%s'", f[1]);
                cam->selftest.comp[id].result = g_str_equal(key, "selftest_fail") ? 1 : 2;
                cam->selftest.comp[id].error_code = (uint32_t) code;
                g_free(cam->selftest.comp[id].detail);
                cam->selftest.comp[id].detail = g_strdup(f[1] && f[2] ? f[2] :
                        g_str_equal(key, "selftest_fail") ? "component failed its check" : "not fitted");
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
                return fail(error, "bad number '%s'", value);
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
                return fail(error, "unknown key '%s'", key);
        return TRUE;
}

static gboolean apply_identity(Camera *cam, const char *key, const char *value, gboolean runtime, GError **error)
{
        char **field = g_str_equal(key, "model") ? &cam->model :
                       g_str_equal(key, "firmware") ? &cam->firmware : &cam->manufacturer;

        if (runtime)
                return fail(error, "%s is only settable in a scenario file", key);
        if (!*value || strlen(value) > 64)
                return fail(error, "%s must be 1-64 characters", key);
        for (const char *p = value; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return fail(error, "%s has a control character", key);
        if (cam->responder == CAMERA_UMTPRD && strchr(value, '"'))
                return fail(error, "%s: umtprd's config cannot quote '\"'", key);
        g_free(*field);
        *field = g_strdup(value);
        return TRUE;
}

static gboolean apply_cert(Camera *cam, const char *value, GError **error)
{
        static const char *const names[] = { "good", "unknown-ca", "serial-mismatch", "expired" };

        for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
                if (g_str_equal(value, names[i])) {
                        cam->cert_fault = (CertFault) i;
                        camera_reset_identity(cam);
                        return TRUE;
                }
        }
        return fail(error, "cert must be good, unknown-ca, serial-mismatch or expired");
}

/* umtprd answers for itself: only what is outside its process applies. */
static gboolean umtprd_key(const char *key)
{
        return g_str_has_prefix(key, "battery_") || g_str_equal(key, "link") || g_str_equal(key, "model") ||
               g_str_equal(key, "firmware") || g_str_equal(key, "manufacturer");
}

static gboolean apply_one(Camera *cam, const char *key, const char *value, gboolean runtime, GError **error)
{
        g_auto(GStrv) argv = NULL;
        int argc = 0;
        gboolean ok;

        if (cam->responder == CAMERA_UMTPRD && !umtprd_key(key))
                return fail(error, "%s: not with responder = umtprd", key);

        if (g_str_equal(key, "unplug") || g_str_equal(key, "stall") || g_str_equal(key, "urb_error") ||
            g_str_equal(key, "corrupt") || g_str_equal(key, "manifest_altered") ||
            g_str_equal(key, "chain_gap") || g_str_equal(key, "delete_refused") || g_str_equal(key, "malformed")) {
                if (!g_shell_parse_argv(value, &argc, &argv, NULL))
                        return fail(error, "%s: empty value", key);
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
                return parse_double(value, &cam->selftest.duration_s) ? TRUE : fail(error, "bad number");
        if (g_str_equal(key, "clock_drift")) {
                ok = parse_double(value, &cam->clock_drift_s);
                if (ok && runtime)
                        cam->clock_offset_us = (gint64) (cam->clock_drift_s * G_USEC_PER_SEC);
                return ok ? TRUE : fail(error, "bad number '%s'", value);
        }
        if (g_str_equal(key, "cert"))
                return apply_cert(cam, value, error);
        if (g_str_equal(key, "link")) {
                cam->link_mbps = parse_link(value, &ok);
                return ok ? TRUE : fail(error, "link must be unlimited, usb2, usb3 or MB/s");
        }
        if (g_str_equal(key, "model") || g_str_equal(key, "firmware") || g_str_equal(key, "manufacturer"))
                return apply_identity(cam, key, value, runtime, error);
        return fail(error, "unknown key '%s'", key);
}

gboolean camera_apply_key(Camera *cam, const char *key, const char *value, gboolean runtime, GError **error)
{
        g_auto(GStrv) items = g_strsplit(value, ";", -1);

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

static const char *const camera_plain_keys[] = {
        "storage", "officer", "bay", "usb", "segments", "start", "segment_seconds", "categories",
        "responder", "umtprd_dir", "umtprd_storage", "usb_id", NULL,
};

static gint64 parse_rfc3339(const char *s)
{
        g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(s, NULL);
        return dt ? g_date_time_to_unix(dt) : -1;
}

/* "3x1M, 512K" → sizes */
static gboolean add_segments(Recording *rec, const char *spec, GError **error)
{
        g_auto(GStrv) items = g_strsplit(spec, ",", -1);

        for (int i = 0; items[i]; i++) {
                char *item = g_strstrip(items[i]), *x = strchr(item, 'x');
                uint64_t count = 1, size;

                if (x) {
                        *x = 0;
                        if (!parse_u64(item, &count) || count > 100000)
                                return fail(error, "bad segment count '%s'", item);
                        item = x + 1;
                }
                if (!parse_size(item, &size) || size > (UINT64_C(1) << 62))
                        return fail(error, "bad segment size '%s'", item);
                while (count-- > 0 && rec->segments->len < 1000000)
                        recording_add_segment(rec, size);
        }
        return TRUE;
}

static gboolean parse_recording(GKeyFile *kf, const char *group, Recording *rec, GError **error)
{
        g_autofree char *segs = g_key_file_get_string(kf, group, "segments", NULL);
        g_autofree char *officer = g_key_file_get_string(kf, group, "officer", NULL);
        g_autofree char *cats = g_key_file_get_string(kf, group, "categories", NULL);

        if (officer) {
                if (!valid_officer(officer))
                        return fail(error, "[%s] officer '%s' breaks §12.1", group, officer);
                g_free(rec->officer);
                rec->officer = g_steal_pointer(&officer);
        }
        if (cats) {
                if (!valid_categories(cats))
                        return fail(error, "[%s] categories '%s' break §12.1", group, cats);
                g_free(rec->categories);
                rec->categories = g_steal_pointer(&cats);
        }
        if (segs && !add_segments(rec, segs, error))
                return FALSE;
        return TRUE;
}

static Recording *new_recording(Camera *cam, GKeyFile *kf, const char *group, const char *id,
                                const char *officer, GError **error)
{
        g_autofree char *start_s = g_key_file_get_string(kf, group, "start", NULL);
        gint64 start = start_s ? parse_rfc3339(start_s) : 1795299300; /* 2026-11-21T22:15:00Z */
        int seconds = g_key_file_get_integer(kf, group, "segment_seconds", NULL);
        g_autofree char *default_id = NULL;

        if (start < 0) {
                fail(error, "[%s] start '%s' is not RFC 3339", group, start_s);
                return NULL;
        }
        if (seconds < 0 || seconds > 86400) {
                fail(error, "[%s] bad segment_seconds", group);
                return NULL;
        }
        if (!id) {
                g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(start);
                default_id = g_date_time_format(dt, "%Y%m%dT%H%M%SZ-0001");
                id = default_id;
        }
        return camera_add_recording(cam, id, start, (unsigned) seconds, officer, NULL);
}

static gboolean parse_usb_id(const char *s, uint16_t *vid, uint16_t *pid)
{
        char *end = NULL;
        guint64 v = g_ascii_strtoull(s, &end, 16), p;

        if (end == s || *end != ':' || v > 0xFFFF)
                return FALSE;
        s = end + 1;
        p = g_ascii_strtoull(s, &end, 16);
        if (end == s || *end || p > 0xFFFF)
                return FALSE;
        *vid = (uint16_t) v;
        *pid = (uint16_t) p;
        return TRUE;
}

/* responder = umtprd: a folder served by umtprd through the FunctionFS bridge. */
static gboolean parse_responder(GKeyFile *kf, const char *group, Camera *cam, GError **error)
{
        g_autofree char *responder = g_key_file_get_string(kf, group, "responder", NULL);
        g_autofree char *dir = g_key_file_get_string(kf, group, "umtprd_dir", NULL);
        g_autofree char *storage = g_key_file_get_string(kf, group, "umtprd_storage", NULL);
        g_autofree char *usb_id = g_key_file_get_string(kf, group, "usb_id", NULL);

        if (!responder || g_str_equal(responder, "vdock")) {
                if (dir || storage || usb_id)
                        return fail(error, "[%s] umtprd_dir, umtprd_storage and usb_id need responder = umtprd", group);
                return TRUE;
        }
        if (!g_str_equal(responder, "umtprd"))
                return fail(error, "[%s] responder must be vdock or umtprd", group);
        cam->responder = CAMERA_UMTPRD;
        if (!dir || !g_file_test(dir, G_FILE_TEST_IS_DIR))
                return fail(error, "[%s] umtprd_dir must name a folder", group);
        if (strchr(dir, '"'))
                return fail(error, "[%s] umtprd's config cannot quote '\"'", group);
        cam->umtprd_dir = g_canonicalize_filename(dir, NULL);
        if (storage && !g_str_equal(storage, "rw") && !g_str_equal(storage, "ro"))
                return fail(error, "[%s] umtprd_storage must be rw or ro", group);
        cam->umtprd_readonly = storage && g_str_equal(storage, "ro");
        cam->usb_vid = 0x1D6B; /* umtprd's example configuration: Linux Foundation, PTP gadget */
        cam->usb_pid = 0x0100;
        if (usb_id && !parse_usb_id(usb_id, &cam->usb_vid, &cam->usb_pid))
                return fail(error, "[%s] usb_id must be VID:PID in hex", group);
        if (g_key_file_has_key(kf, group, "segments", NULL))
                return fail(error, "[%s] segments: umtprd serves umtprd_dir", group);
        if (g_key_file_get_integer(kf, group, "usb", NULL) == 3)
                return fail(error, "[%s] usb = 3: umtprd writes no SuperSpeed descriptors", group);
        return TRUE;
}

/* Pass 1: the camera, its identity and its own recording (key "segments"). */
static gboolean parse_camera(Scenario *s, GKeyFile *kf, const char *group, const char *serial, GError **error)
{
        g_autofree char *officer = g_key_file_get_string(kf, group, "officer", NULL);
        g_autofree char *storage = g_key_file_get_string(kf, group, "storage", NULL);
        Camera *cam;
        Recording *rec;
        int bay;

        if (!valid_serial(serial))
                return fail(error, "[%s] serial breaks §12.1", group);
        if (scenario_camera(s, serial))
                return fail(error, "[%s] defined twice", group);
        if (officer && !valid_officer(officer))
                return fail(error, "[%s] officer '%s' breaks §12.1", group, officer);
        cam = camera_new(serial);
        g_ptr_array_add(s->cameras, cam);
        if (officer) {
                g_free(cam->officer);
                cam->officer = g_strdup(officer);
        }
        cam->link_mbps = s->default_link_mbps;
        cam->battery.time_scale = s->time_scale;
        cam->usb3 = g_key_file_get_integer(kf, group, "usb", NULL) == 3;
        if (!parse_responder(kf, group, cam, error))
                return FALSE;
        if (storage && !parse_size(storage, &cam->capacity))
                return fail(error, "[%s] bad storage '%s'", group, storage);
        if (g_key_file_has_key(kf, group, "segments", NULL)) {
                rec = new_recording(cam, kf, group, NULL, officer, error);
                if (!rec || !parse_recording(kf, group, rec, error))
                        return FALSE;
        }
        bay = g_key_file_get_integer(kf, group, "bay", NULL);
        if (bay < 0 || bay > (int) s->bays)
                return fail(error, "[%s] bay %d outside 1..%u", group, bay, s->bays);
        if (bay > 0) {
                TimedCommand *tc = g_new0(TimedCommand, 1);
                tc->at = 0;
                tc->command = g_strdup_printf("dock %s %d", serial, bay);
                tc->docked = TRUE;
                g_ptr_array_add(s->timeline, tc);
        }
        return TRUE;
}

/* Pass 3: everything else in [camera X] is a fault or property key. */
static gboolean parse_camera_keys(Scenario *s, GKeyFile *kf, const char *group, Camera *cam, GError **error)
{
        g_auto(GStrv) keys = g_key_file_get_keys(kf, group, NULL, NULL);

        for (int i = 0; keys && keys[i]; i++) {
                g_autofree char *v = NULL;
                g_autoptr(GError) e = NULL;

                if (g_strv_contains(camera_plain_keys, keys[i]))
                        continue;
                v = g_key_file_get_string(kf, group, keys[i], NULL);
                if (!camera_apply_key(cam, keys[i], v ? v : "", FALSE, &e))
                        return fail(error, "[%s] %s: %s", group, keys[i], e->message);
        }
        return TRUE;
}

/* Pass 2: [recording SERIAL/ID] */
static gboolean parse_recording_group(Scenario *s, GKeyFile *kf, const char *group, const char *name, GError **error)
{
        g_auto(GStrv) parts = g_strsplit(name, "/", 2);
        Camera *cam = parts[0] ? scenario_camera(s, parts[0]) : NULL;
        Recording *rec;

        if (!cam || !parts[1])
                return fail(error, "[%s]: expected [recording SERIAL/ID] of a defined camera", group);
        if (cam->responder == CAMERA_UMTPRD)
                return fail(error, "[%s]: umtprd serves umtprd_dir, not recordings", group);
        if (!valid_recording_id(parts[1]))
                return fail(error, "[%s]: recording id breaks §12.1", group);
        for (guint i = 0; i < cam->recordings->len; i++)
                if (g_str_equal(((Recording *) cam->recordings->pdata[i])->id, parts[1]))
                        return fail(error, "[%s] defined twice", group);
        rec = new_recording(cam, kf, group, parts[1], cam->officer, error);
        return rec && parse_recording(kf, group, rec, error);
}

static gboolean parse_dock(Scenario *s, GKeyFile *kf, GError **error)
{
        g_autofree char *link = g_key_file_get_string(kf, "dock", "link", NULL);
        g_autofree char *scale = g_key_file_get_string(kf, "dock", "time_scale", NULL);
        gboolean ok = TRUE;
        int bays = g_key_file_get_integer(kf, "dock", "bays", NULL);

        if (bays < 1 || bays > MAX_BAYS)
                return fail(error, "[dock] bays must be 1..%d", MAX_BAYS);
        s->bays = (unsigned) bays;
        if (link)
                s->default_link_mbps = parse_link(link, &ok);
        if (!ok)
                return fail(error, "[dock] link must be unlimited, usb2, usb3 or a number of MB/s");
        if (scale && (!parse_double(scale, &s->time_scale) || s->time_scale <= 0 || s->time_scale > 1e6))
                return fail(error, "[dock] bad time_scale");
        return TRUE;
}

static gboolean parse_bay(Scenario *s, GKeyFile *kf, const char *group, const char *name, GError **error)
{
        g_autofree char *charger = g_key_file_get_string(kf, group, "charger", NULL);
        int bay = atoi(name);

        if (bay < 1 || bay > (int) s->bays)
                return fail(error, "[%s]: no such bay", group);
        if (charger && !parse_charger_fault(charger, &s->charger[bay]))
                return fail(error, "[%s] charger must be ok, overtemp or fault", group);
        return TRUE;
}

static int timed_cmp(gconstpointer a, gconstpointer b)
{
        const TimedCommand *x = *(TimedCommand *const *) a, *y = *(TimedCommand *const *) b;
        return x->at < y->at ? -1 : x->at > y->at;
}

static gboolean parse_timeline(Scenario *s, GKeyFile *kf, GError **error)
{
        g_auto(GStrv) keys = g_key_file_get_keys(kf, "timeline", NULL, NULL);

        for (int i = 0; keys && keys[i]; i++) {
                g_autofree char *v = g_key_file_get_string(kf, "timeline", keys[i], NULL);
                g_auto(GStrv) cmds = g_strsplit(v ? v : "", ";", -1);
                double at;

                if (!parse_double(keys[i], &at) || at < 0)
                        return fail(error, "[timeline] key '%s' is not a time in seconds", keys[i]);
                for (int j = 0; cmds[j]; j++) {
                        TimedCommand *tc;
                        if (!*g_strstrip(cmds[j]))
                                continue;
                        tc = g_new0(TimedCommand, 1);
                        tc->at = at;
                        tc->command = g_strdup(cmds[j]);
                        g_ptr_array_add(s->timeline, tc);
                }
        }
        g_ptr_array_sort(s->timeline, timed_cmp);
        return TRUE;
}

typedef gboolean (*GroupFn)(Scenario *, GKeyFile *, const char *, const char *, GError **);

static gboolean for_groups(Scenario *s, GKeyFile *kf, const char *prefix, GroupFn fn, GError **error)
{
        g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);

        for (int i = 0; groups[i]; i++)
                if (g_str_has_prefix(groups[i], prefix) && !fn(s, kf, groups[i], groups[i] + strlen(prefix), error))
                        return FALSE;
        return TRUE;
}

static gboolean camera_keys_cb(Scenario *s, GKeyFile *kf, const char *group, const char *serial, GError **error)
{
        return parse_camera_keys(s, kf, group, scenario_camera(s, serial), error);
}

static gboolean check_groups(GKeyFile *kf, GError **error)
{
        static const char *const prefixes[] = { "camera ", "recording ", "bay " };
        g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);

        for (int i = 0; groups[i]; i++) {
                gboolean known = g_str_equal(groups[i], "dock") || g_str_equal(groups[i], "timeline");
                for (unsigned p = 0; p < G_N_ELEMENTS(prefixes); p++)
                        known = known || g_str_has_prefix(groups[i], prefixes[p]);
                if (!known)
                        return fail(error, "unknown group [%s]", groups[i]);
        }
        return TRUE;
}

Scenario *scenario_parse(const char *data, gsize len, const char *origin, GError **error)
{
        g_autoptr(GKeyFile) kf = g_key_file_new();
        Scenario *s = g_new0(Scenario, 1);
        g_autoptr(GError) e = NULL;

        s->cameras = g_ptr_array_new_with_free_func((GDestroyNotify) camera_free);
        s->timeline = g_ptr_array_new();
        s->time_scale = 1.0;
        if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &e) || !check_groups(kf, &e) ||
            !parse_dock(s, kf, &e) || !for_groups(s, kf, "camera ", parse_camera, &e) ||
            !for_groups(s, kf, "recording ", parse_recording_group, &e) ||
            !for_groups(s, kf, "camera ", camera_keys_cb, &e) ||
            !for_groups(s, kf, "bay ", parse_bay, &e) || !parse_timeline(s, kf, &e)) {
                g_set_error(error, SCENARIO_ERROR, 1, "%s: %s", origin, e->message);
                scenario_free(s);
                return NULL;
        }
        return s;
}

Scenario *scenario_load(const char *path, GError **error)
{
        g_autofree char *data = NULL;
        gsize len;

        if (!g_file_get_contents(path, &data, &len, error))
                return NULL;
        return scenario_parse(data, len, path, error);
}

void scenario_free(Scenario *s)
{
        if (!s)
                return;
        for (guint i = 0; i < s->timeline->len; i++) {
                TimedCommand *tc = s->timeline->pdata[i];
                g_free(tc->command);
                g_free(tc);
        }
        g_ptr_array_unref(s->timeline);
        g_ptr_array_unref(s->cameras);
        g_free(s);
}

Camera *scenario_camera(Scenario *s, const char *serial)
{
        for (guint i = 0; i < s->cameras->len; i++)
                if (g_str_equal(((Camera *) s->cameras->pdata[i])->serial, serial))
                        return s->cameras->pdata[i];
        return NULL;
}
