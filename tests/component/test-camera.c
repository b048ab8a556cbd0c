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

typedef struct ClockTest {
        Harness *h;
        Camera *camera;
        int64_t drift_before, drift_after;
        int set_error, read_error;
        uint16_t set_rc;
        bool done;
} ClockTest;

static void on_time_again(Camera *c, int error, uint16_t rc, time_t camera_time, void *userdata) {
        ClockTest *t = userdata;

        t->read_error = error;
        t->drift_after = (int64_t) camera_time - (int64_t) time(NULL);
        t->done = true;
}

static void on_time_set(Camera *c, int error, uint16_t rc, void *userdata) {
        ClockTest *t = userdata;

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
        ClockTest *t = userdata;

        g_assert_cmpint(error, ==, 0);
        t->drift_before = (int64_t) camera_time - (int64_t) time(NULL);
        g_assert_cmpint(camera_set_time(c, time(NULL), on_time_set, t), >=, 0);
}

static void on_identified(Camera *c, int error, uint16_t rc, void *userdata) {
        ClockTest *t = userdata;

        g_assert_cmpint(error, ==, 0);
        g_assert_cmpstr(camera_serial(c), ==, SERIAL);
        g_assert_cmpint(camera_get_time(c, on_time, t), >=, 0);
}

static void release(ClockTest *t) {
        if (t->camera) {
                camera_abandon(t->camera);
                t->camera = camera_unref(t->camera);
        }
}

static void on_hotplug(Harness *h, libusb_device *dev, const char *port, bool arrived) {
        ClockTest *t = h->userdata;

        if (!g_str_equal(port, "1-1.1") || !arrived || t->camera)
                return;
        g_assert_cmpint(camera_open(h->ctx.usb, dev, port, h->config, &t->camera), >=, 0);
        g_assert_cmpint(camera_identify(t->camera, on_identified, t), >=, 0);
}

static bool clock_done(Harness *h) {
        ClockTest *t = h->userdata;

        return t->done;
}

static void set_time_with(const char *usb_config) {
        ClockTest t = { .set_error = 1, .read_error = 1 };

        t.h = harness_new(usb_config);
        t.h->userdata = &t;
        t.h->on_hotplug = on_hotplug;
        g_assert_true(harness_run_until(t.h, clock_done, TIMEOUT));
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

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        log_setup(LOG_TARGET_CONSOLE, g_getenv("COMPONENT_DEBUG") ? LOG_DEBUG : LOG_INFO);
        g_test_add_func("/camera/set-time", test_set_time);
        g_test_add_func("/camera/set-time-four-in-flight", test_set_time_four_in_flight);
        return g_test_run();
}
