/* SPDX-License-Identifier: Apache-2.0 */
/* A camera's conversation (device/camera.h, device/ptp-transport.h) against a
 * camera of vdock's world (harness.h), with the [usb] settings a dock may be
 * given. Written from docs/camera-protocol.md §2, §3 and the README ("Filling
 * the camera's link"): bulk IN transfers queued ahead of a transaction take its
 * data and response, and every transaction still goes to the camera as Command,
 * then its own Data, in that order. */
#include <glib.h>
#include <stdlib.h>
#include <time.h>

#include "camera.h"
#include "harness.h"

#define SERIAL "BWC-C0001"
#define TIMEOUT 120   /* seconds: a safety net, never a speed requirement */

typedef struct CameraTest {
        Harness *h;
        Camera *camera;
        camera_done_t identified;   /* what the test does once the camera is identified */
        bool done;
        /* set-time */
        int64_t drift_before, drift_after;
        int set_error, read_error;
        uint16_t set_rc;
        /* left-while-recovering */
        unsigned n_recovered;
        int recover_error;
} CameraTest;

static void on_time_again(Camera *c, int error, uint16_t rc, time_t camera_time, void *userdata) {
        CameraTest *t = userdata;

        t->read_error = error;
        t->drift_after = (int64_t) camera_time - (int64_t) time(NULL);
        t->done = true;
}

static void on_time_set(Camera *c, int error, uint16_t rc, void *userdata) {
        CameraTest *t = userdata;

        t->set_error = error;
        t->set_rc = rc;
        if (error < 0) {
                t->done = true;
                return;
        }
        g_assert_cmpint(camera_get_time(c, on_time_again, t), >=, 0);
}

/* GetDevicePropValue(DateTime) leaves IN transfers queued (more are queued
 * than its data and response take); SetDevicePropValue follows at once, with
 * a data phase of its own. */
static void on_time(Camera *c, int error, uint16_t rc, time_t camera_time, void *userdata) {
        CameraTest *t = userdata;

        g_assert_cmpint(error, ==, 0);
        t->drift_before = (int64_t) camera_time - (int64_t) time(NULL);
        g_assert_cmpint(camera_set_time(c, time(NULL), on_time_set, t), >=, 0);
}

static void on_identified(Camera *c, int error, uint16_t rc, void *userdata) {
        CameraTest *t = userdata;

        g_assert_cmpint(error, ==, 0);
        g_assert_cmpstr(camera_serial(c), ==, SERIAL);
        g_assert_cmpint(camera_get_time(c, on_time, t), >=, 0);
}

static void release(CameraTest *t) {
        if (t->camera) {
                camera_abandon(t->camera);
                t->camera = camera_unref(t->camera);
        }
}

/* The camera of bay 1 arrived, the first time: open it and identify it. */
static void on_hotplug(Harness *h, libusb_device *dev, const char *port, bool arrived) {
        CameraTest *t = h->userdata;

        if (!g_str_equal(port, "1-1.1") || !arrived || t->camera)
                return;
        g_assert_cmpint(camera_open(h->ctx.usb, dev, port, h->config, &t->camera), >=, 0);
        g_assert_cmpint(camera_identify(t->camera, t->identified, t), >=, 0);
}

static bool test_done(Harness *h) {
        CameraTest *t = h->userdata;

        return t->done;
}

static void set_time_with(const char *usb_config) {
        CameraTest t = { .identified = on_identified, .set_error = 1, .read_error = 1 };

        t.h = harness_new(usb_config);
        t.h->userdata = &t;
        t.h->on_hotplug = on_hotplug;
        g_assert_true(harness_run_until(t.h, test_done, TIMEOUT));
        /* Set, accepted, and the camera's clock reads the dock's now. */
        g_assert_cmpint(t.set_error, ==, 0);
        g_assert_cmphex(t.set_rc, ==, 0x2001);
        g_assert_cmpint(t.read_error, ==, 0);
        g_assert_cmpint(llabs(t.drift_before + 300), <=, 2);
        g_assert_cmpint(llabs(t.drift_after), <=, 2);
        release(&t);
        harness_free(t.h);
}

static void test_set_time(void) {
        set_time_with(NULL);
}

static void test_set_time_four_in_flight(void) {
        set_time_with("[usb]\ntransfers_in_flight=4\n");
}

/* ---- a camera that leaves while a recovery starts ---- */

static void on_left_identified(Camera *c, int error, uint16_t rc, void *userdata) {
        CameraTest *t = userdata;

        g_assert_cmpint(error, ==, 0);
        t->done = true;
}

/* As the bay does (camera_failed()): a camera that is gone is left to hotplug. */
static void on_left_recovered(Camera *c, int error, uint16_t rc, void *userdata) {
        CameraTest *t = userdata;

        t->n_recovered++;
        t->recover_error = error;
}

/* The camera left, and the loop has not yet reaped what says so: the
 * recovery's first class request fails as it is submitted (the bay's second
 * attempt after a failed reset, with nothing left on the bulk endpoints). The
 * recovery reports the camera gone, once, and abandoning the camera (hotplug's
 * "device left") then releases it and nothing twice. One IN transfer in
 * flight: none is left queued after a transaction, so the recovery has nothing
 * to drain and goes straight to the class request. */
static void test_left_while_recovering(void) {
        CameraTest t = { .identified = on_left_identified, .recover_error = 1 };
        char *reply;
        int r;

        t.h = harness_new("[usb]\ntransfers_in_flight=1\n");
        t.h->userdata = &t;
        t.h->on_hotplug = on_hotplug;
        g_assert_true(harness_run_until(t.h, test_done, TIMEOUT));
        reply = vdock_command("undock 1");
        g_assert_true(g_str_has_prefix(reply, "ok"));
        g_free(reply);
        r = camera_recover(t.camera, on_left_recovered, &t);
        if (r >= 0)
                harness_run_for(t.h, 500);
        /* Refused at once, or reported once: the camera is gone either way. */
        g_assert_cmpuint(t.n_recovered, ==, r < 0 ? 0 : 1);
        g_assert_cmpint(r < 0 ? r : t.recover_error, ==, -ENODEV);
        release(&t);
        harness_run_for(t.h, 200);
        harness_free(t.h);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        log_setup(LOG_TARGET_CONSOLE, g_getenv("COMPONENT_DEBUG") ? LOG_DEBUG : LOG_INFO);
        g_test_add_func("/camera/set-time", test_set_time);
        g_test_add_func("/camera/set-time-four-in-flight", test_set_time_four_in_flight);
        g_test_add_func("/camera/left-while-recovering", test_left_while_recovering);
        return g_test_run();
}
