/* scenario.c: scenario key file parser (scenario.h): dock, cameras,
 * recordings, bays and the timeline. Camera keys are in scenario-keys.c. */
#include "scenario-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const camera_plain_keys[] = {
        "storage", "officer", "bay", "usb", "segments", "start", "segment_seconds", "categories",
        "responder", "umtprd_dir", "umtprd_storage", "usb_id", NULL,
};

static gint64 parse_rfc3339(const char *s)
{
        g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(s, NULL);
        return dt ? g_date_time_to_unix(dt) : -1;
}

static gboolean parse_recording(GKeyFile *kf, const char *group, Recording *rec, GError **error)
{
        g_autofree char *segs = g_key_file_get_string(kf, group, "segments", NULL);
        g_autofree char *officer = g_key_file_get_string(kf, group, "officer", NULL);
        g_autofree char *cats = g_key_file_get_string(kf, group, "categories", NULL);

        if (officer) {
                if (!valid_officer(officer))
                        return scenario_fail(error, "[%s] officer '%s' breaks §12.1", group, officer);
                g_free(rec->officer);
                rec->officer = g_steal_pointer(&officer);
        }
        if (cats) {
                if (!valid_categories(cats))
                        return scenario_fail(error, "[%s] categories '%s' break §12.1", group, cats);
                g_free(rec->categories);
                rec->categories = g_steal_pointer(&cats);
        }
        if (segs && !recording_add_sizes(rec, segs, error))
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
                scenario_fail(error, "[%s] start '%s' is not RFC 3339", group, start_s);
                return NULL;
        }
        if (seconds < 0 || seconds > 86400) {
                scenario_fail(error, "[%s] bad segment_seconds", group);
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
                        return scenario_fail(error, "[%s] umtprd_dir, umtprd_storage and usb_id need responder = umtprd", group);
                return TRUE;
        }
        if (!g_str_equal(responder, "umtprd"))
                return scenario_fail(error, "[%s] responder must be vdock or umtprd", group);
        cam->responder = CAMERA_UMTPRD;
        if (!dir || !g_file_test(dir, G_FILE_TEST_IS_DIR))
                return scenario_fail(error, "[%s] umtprd_dir must name a folder", group);
        if (strchr(dir, '"'))
                return scenario_fail(error, "[%s] umtprd's config cannot quote '\"'", group);
        cam->umtprd_dir = g_canonicalize_filename(dir, NULL);
        if (storage && !g_str_equal(storage, "rw") && !g_str_equal(storage, "ro"))
                return scenario_fail(error, "[%s] umtprd_storage must be rw or ro", group);
        cam->umtprd_readonly = storage && g_str_equal(storage, "ro");
        cam->usb_vid = 0x1D6B; /* umtprd's example configuration: Linux Foundation, PTP gadget */
        cam->usb_pid = 0x0100;
        if (usb_id && !parse_usb_id(usb_id, &cam->usb_vid, &cam->usb_pid))
                return scenario_fail(error, "[%s] usb_id must be VID:PID in hex", group);
        if (g_key_file_has_key(kf, group, "segments", NULL))
                return scenario_fail(error, "[%s] segments: umtprd serves umtprd_dir", group);
        if (g_key_file_get_integer(kf, group, "usb", NULL) == 3)
                return scenario_fail(error, "[%s] usb = 3: umtprd writes no SuperSpeed descriptors", group);
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
                return scenario_fail(error, "[%s] serial breaks §12.1", group);
        if (scenario_camera(s, serial))
                return scenario_fail(error, "[%s] defined twice", group);
        if (officer && !valid_officer(officer))
                return scenario_fail(error, "[%s] officer '%s' breaks §12.1", group, officer);
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
                return scenario_fail(error, "[%s] bad storage '%s'", group, storage);
        if (g_key_file_has_key(kf, group, "segments", NULL)) {
                rec = new_recording(cam, kf, group, NULL, officer, error);
                if (!rec || !parse_recording(kf, group, rec, error))
                        return FALSE;
        }
        bay = g_key_file_get_integer(kf, group, "bay", NULL);
        if (bay < 0 || bay > (int) s->bays)
                return scenario_fail(error, "[%s] bay %d outside 1..%u", group, bay, s->bays);
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
                v = g_key_file_get_value(kf, group, keys[i], NULL);
                if (!camera_apply_key(cam, keys[i], v ? v : "", FALSE, &e))
                        return scenario_fail(error, "[%s] %s: %s", group, keys[i], e->message);
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
                return scenario_fail(error, "[%s]: expected [recording SERIAL/ID] of a defined camera", group);
        if (cam->responder == CAMERA_UMTPRD)
                return scenario_fail(error, "[%s]: umtprd serves umtprd_dir, not recordings", group);
        if (!valid_recording_id(parts[1]))
                return scenario_fail(error, "[%s]: recording id breaks §12.1", group);
        for (guint i = 0; i < cam->recordings->len; i++)
                if (g_str_equal(((Recording *) cam->recordings->pdata[i])->id, parts[1]))
                        return scenario_fail(error, "[%s] defined twice", group);
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
                return scenario_fail(error, "[dock] bays must be 1..%d", MAX_BAYS);
        s->bays = (unsigned) bays;
        if (link)
                s->default_link_mbps = parse_link(link, &ok);
        if (!ok)
                return scenario_fail(error, "[dock] link must be unlimited, usb2, usb3 or a number of MB/s");
        if (scale && (!parse_double(scale, &s->time_scale) || s->time_scale <= 0 || s->time_scale > 1e6))
                return scenario_fail(error, "[dock] bad time_scale");
        return TRUE;
}

static gboolean parse_bay(Scenario *s, GKeyFile *kf, const char *group, const char *name, GError **error)
{
        g_autofree char *charger = g_key_file_get_string(kf, group, "charger", NULL);
        int bay = atoi(name);

        if (bay < 1 || bay > (int) s->bays)
                return scenario_fail(error, "[%s]: no such bay", group);
        if (charger && !parse_charger_fault(charger, &s->charger[bay]))
                return scenario_fail(error, "[%s] charger must be ok, overtemp or fault", group);
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
                        return scenario_fail(error, "[timeline] key '%s' is not a time in seconds", keys[i]);
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
                        return scenario_fail(error, "unknown group [%s]", groups[i]);
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
