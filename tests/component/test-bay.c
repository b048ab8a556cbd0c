/* SPDX-License-Identifier: Apache-2.0 */
/* A bay's state machine (dock/bay.h), against a camera of vdock's world, with
 * the rest of the dock as the daemon builds it (harness.h). Written from the
 * README ("What dockd does with a camera", "Status LEDs", [dock]
 * removal_debounce, [bay.N] enabled) and docs/malfunction-report.md: the states
 * a docking goes through, what the bay's LEDs show an officer, what is
 * reported, and that a camera which re-enumerates is the same docking. */
#include <glib.h>

#include "bay.h"
#include "harness.h"

#define TIMEOUT 180   /* seconds: a safety net, never a speed requirement */

typedef struct BayTest {
        Harness *h;
        Bay *bay;
        GPtrArray *states;          /* every state entered, in order */
} BayTest;

static void on_state_changed(Bay *b, BayState old, void *userdata) {
        BayTest *t = userdata;

        g_ptr_array_add(t->states, g_strdup(bay_state_to_string(b->state)));
}

static void on_hotplug(Harness *h, libusb_device *dev, const char *port, bool arrived) {
        BayTest *t = h->userdata;

        /* The manager's part: only the bay's own port is its business. */
        if (!g_str_equal(port, t->bay->config->port))
                return;
        if (arrived)
                bay_device_arrived(t->bay, dev, port);
        else
                bay_device_left(t->bay, dev);
}

static void on_confirmed(Harness *h, const SegmentId *id) {
        BayTest *t = h->userdata;

        if (t->bay->serial && g_str_equal(t->bay->serial, id->serial))
                bay_segment_confirmed(t->bay, id);
}

static void on_room(Harness *h) {
        BayTest *t = h->userdata;

        bay_spool_freed(t->bay);
}

static BayTest *bay_test_new(const char *extra_config) {
        static const BayCallbacks callbacks = { .state_changed = on_state_changed };
        BayTest *t = g_new0(BayTest, 1);

        t->states = g_ptr_array_new_with_free_func(g_free);
        t->h = harness_new(extra_config);
        t->h->userdata = t;
        t->h->on_hotplug = on_hotplug;
        t->h->on_confirmed = on_confirmed;
        t->h->on_room = on_room;
        g_assert_cmpint(bay_new(&t->h->ctx, 1, &callbacks, t, &t->bay), >=, 0);
        return t;
}

static void bay_test_free(BayTest *t) {
        bay_shutdown(t->bay);
        t->bay = bay_unref(t->bay);
        harness_free(t->h);
        g_ptr_array_unref(t->states);
        g_free(t);
}

static bool settled(Harness *h) {
        BayTest *t = h->userdata;

        return t->bay->state == BAY_READY || t->bay->state == BAY_FAULT;
}

static bool empty(Harness *h) {
        BayTest *t = h->userdata;

        return t->bay->state == BAY_EMPTY;
}

static bool ready(Harness *h) {
        BayTest *t = h->userdata;

        return t->bay->state == BAY_READY;
}

/* Where state first appears in the history; G_MAXUINT if never. */
static guint entered(BayTest *t, const char *state) {
        for (guint i = 0; i < t->states->len; i++)
                if (g_str_equal(t->states->pdata[i], state))
                        return i;
        return G_MAXUINT;
}

/* ---- the LEDs, as the kernel shows them (README, "Status LEDs") ---- */

typedef enum { LED_DARK, LED_LIT, LED_BLINKING } LedShows;

static char *led_attr(const char *led, const char *attr) {
        g_autofree char *p = g_strdup_printf("/sys/class/leds/%s/%s", led, attr);
        char *v = NULL;

        g_assert_true(g_file_get_contents(p, &v, NULL, NULL));
        return g_strstrip(v);
}

static LedShows led_shows(const char *led, unsigned *ret_on_ms) {
        g_autofree char *trigger = NULL, *brightness = NULL;

        /* The kernel shows a write once write(2) returns; vdock a moment
         * later. A control command is answered only once every write made
         * before it is applied (world_sync()). */
        g_free(vdock_command("status"));
        trigger = led_attr(led, "trigger");

        if (strstr(trigger, "[timer]")) {
                g_autofree char *on = led_attr(led, "delay_on");
                if (ret_on_ms)
                        *ret_on_ms = (unsigned) atoi(on);
                return LED_BLINKING;
        }
        brightness = led_attr(led, "brightness");
        return atoi(brightness) > 0 ? LED_LIT : LED_DARK;
}

static unsigned reports_filed(BayTest *t) {
        g_autofree char *dir = g_build_filename(t->h->dir, "state", "reports", NULL);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        unsigned n = 0;
        const char *name;

        while (d && (name = g_dir_read_name(d)))
                n += g_str_has_suffix(name, ".json");
        return n;
}

static bool report_has(BayTest *t, const char *needle) {
        g_autofree char *dir = g_build_filename(t->h->dir, "state", "reports", NULL);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *name;

        while (d && (name = g_dir_read_name(d))) {
                g_autofree char *p = g_build_filename(dir, name, NULL), *text = NULL;
                if (g_str_has_suffix(name, ".json") && g_file_get_contents(p, &text, NULL, NULL) &&
                    strstr(text, needle))
                        return true;
        }
        return false;
}

/* A member of the bay's status (dockctl bays), as JSON text. */
static bool status_says(BayTest *t, const char *member, const char *value) {
        struct json_object *o = bay_status_json(t->bay), *v;
        bool same = json_object_object_get_ex(o, member, &v) &&
                    g_str_equal(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), value);

        json_object_put(o);
        return same;
}

/* ---- cases ---- */

static void test_healthy_ends_ready(void) {
        BayTest *t = bay_test_new(NULL);

        g_assert_true(harness_run_until(t->h, settled, TIMEOUT));
        g_assert_cmpstr(bay_state_to_string(t->bay->state), ==, "ready");
        /* Identified and authenticated, clock checked, tested, offloaded... */
        g_assert_cmpuint(entered(t, "identifying"), <, entered(t, "syncing"));
        g_assert_cmpuint(entered(t, "syncing"), <, entered(t, "offloading"));
        g_assert_cmpuint(entered(t, "testing"), <, entered(t, "ready"));
        g_assert_cmpuint(entered(t, "offloading"), <, entered(t, "ready"));
        g_assert_cmpuint(entered(t, "fault"), ==, G_MAXUINT);
        /* ... and charged (what dockctl bays shows). */
        g_assert_true(status_says(t, "charged", "true"));
        /* Green: take this camera. */
        g_assert_cmpint(led_shows("dock:green:bay-1", NULL), ==, LED_LIT);
        g_assert_cmpint(led_shows("dock:red:bay-1", NULL), ==, LED_DARK);
        /* A healthy camera produces no report; its recordings left it. */
        g_assert_cmpuint(reports_filed(t), ==, 0);
        g_assert_cmpuint(custody_count(t->h, "docked", NULL), ==, 1);
        g_assert_cmpuint(custody_count(t->h, "identified", NULL), ==, 1);
        g_assert_cmpuint(custody_count(t->h, "deleted-from-camera", NULL), ==, 2);
        g_assert_cmpuint(vdock_objects_left("BWC-B0001"), ==, 0);
        bay_test_free(t);
}

static void test_untrusted_takes_nothing(void) {
        BayTest *t = bay_test_new(NULL);
        unsigned on_ms = 0;

        g_assert_true(harness_run_until(t->h, settled, TIMEOUT));
        g_assert_cmpstr(bay_state_to_string(t->bay->state), ==, "fault");
        /* Red flashing: take another camera, a supervisor must see this one. */
        g_assert_cmpint(led_shows("dock:green:bay-1", NULL), ==, LED_DARK);
        g_assert_cmpint(led_shows("dock:red:bay-1", &on_ms), ==, LED_BLINKING);
        g_assert_cmpuint(on_ms, ==, 250);
        g_assert_cmpuint(custody_count(t->h, "untrusted", NULL), ==, 1);
        g_assert_cmpuint(custody_count(t->h, "pulled", NULL), ==, 0);
        g_assert_true(report_has(t, "\"untrusted-camera\""));
        g_assert_true(report_has(t, "\"critical\""));
        /* Nothing was taken from it, nothing deleted. */
        g_assert_cmpuint(vdock_objects_left("BWC-B0001"), ==, 10);
        bay_test_free(t);
}

static void test_tampered_integrity_fault(void) {
        BayTest *t = bay_test_new(NULL);
        unsigned on_ms = 0;

        g_assert_true(harness_run_until(t->h, settled, TIMEOUT));
        g_assert_cmpstr(bay_state_to_string(t->bay->state), ==, "fault");
        g_assert_cmpint(led_shows("dock:red:bay-1", &on_ms), ==, LED_BLINKING);
        g_assert_cmpuint(on_ms, ==, 250);
        g_assert_true(report_has(t, "\"integrity\""));
        g_assert_cmpuint(custody_count(t->h, "quarantined", NULL), ==, 1);
        /* The recording is kept on the camera for review. */
        g_assert_cmpuint(custody_count(t->h, "deleted-from-camera", NULL), ==, 0);
        g_assert_cmpuint(vdock_objects_left("BWC-B0001"), ==, 10);
        bay_test_free(t);
}

static void test_leaves_after_debounce(void) {
        BayTest *t = bay_test_new(NULL);
        g_autofree char *reply = NULL;

        g_assert_true(harness_run_until(t->h, ready, TIMEOUT));
        reply = vdock_command("undock 1");
        g_assert_true(g_str_has_prefix(reply, "ok"));
        g_assert_true(harness_run_until(t->h, empty, TIMEOUT));
        g_assert_cmpuint(custody_count(t->h, "undocked", NULL), ==, 1);
        /* Dark: an empty bay. */
        g_assert_cmpint(led_shows("dock:green:bay-1", NULL), ==, LED_DARK);
        g_assert_cmpint(led_shows("dock:red:bay-1", NULL), ==, LED_DARK);
        bay_test_free(t);
}

static void test_back_within_debounce(void) {
        BayTest *t = bay_test_new("[dock]\nremoval_debounce=30s\n");
        g_autofree char *out = NULL, *in = NULL;

        g_assert_true(harness_run_until(t->h, ready, TIMEOUT));
        out = vdock_command("undock 1");
        g_assert_true(g_str_has_prefix(out, "ok"));
        harness_run_for(t->h, 500);
        in = vdock_command("dock BWC-B0001 1");
        g_assert_true(g_str_has_prefix(in, "ok"));
        g_assert_true(harness_run_until(t->h, ready, TIMEOUT));
        /* The same docking: docked once, never undocked. */
        g_assert_cmpuint(custody_count(t->h, "docked", NULL), ==, 1);
        g_assert_cmpuint(custody_count(t->h, "undocked", NULL), ==, 0);
        bay_test_free(t);
}

static void test_disabled_ignores(void) {
        BayTest *t = bay_test_new("[bay.1]\nenabled=no\n");

        harness_run_for(t->h, 3000);
        g_assert_cmpstr(bay_state_to_string(t->bay->state), ==, "empty");
        g_assert_cmpuint(custody_count(t->h, "docked", NULL), ==, 0);
        g_assert_cmpuint(vdock_objects_left("BWC-B0001"), ==, 10);
        bay_test_free(t);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        log_setup(LOG_TARGET_CONSOLE, g_getenv("COMPONENT_DEBUG") ? LOG_DEBUG : LOG_INFO);
        g_test_add_func("/bay/healthy-ends-ready", test_healthy_ends_ready);
        g_test_add_func("/bay/untrusted-takes-nothing", test_untrusted_takes_nothing);
        g_test_add_func("/bay/tampered-integrity-fault", test_tampered_integrity_fault);
        g_test_add_func("/bay/leaves-after-debounce", test_leaves_after_debounce);
        g_test_add_func("/bay/back-within-debounce", test_back_within_debounce);
        g_test_add_func("/bay/disabled-ignores", test_disabled_ignores);
        return g_test_run();
}
