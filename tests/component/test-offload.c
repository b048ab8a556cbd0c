/* SPDX-License-Identifier: Apache-2.0 */
/* The offload of one docking (dock/offload.h), against a camera of vdock's
 * world, with the rest of the dock as the daemon builds it (harness.h).
 * Written from docs/design.md ("The one promise", the order of durable steps),
 * docs/camera-protocol.md §13 and §14 and the README ("What dockd does with a
 * camera"): every segment ends in central storage with the bytes its manifest
 * hashes, with its custody records; only then is it deleted from the camera;
 * what fails verification is quarantined and its recording kept; a camera that
 * leaves mid-pull is resumed where the spool's copy ends. */
#include <glib.h>

#include "camera.h"
#include "harness.h"
#include "manifest.h"
#include "offload.h"

#define SERIAL "BWC-C0001"
#define TIMEOUT 120   /* seconds: a safety net, never a speed requirement */

typedef struct OffloadTest {
        Harness *h;
        Camera *camera;
        Offload *offload;
        bool done;
        int error;
        OffloadSummary summary;
        unsigned failures;
        GPtrArray *quarantined;     /* "segment: reason" */
        GPtrArray *refused;         /* "segment 0xRC" */
        char *officer;
        bool saw_spool_full;
} OffloadTest;

/* ---- the offload's callbacks ---- */

static void on_officer(const char *officer_id, void *userdata) {
        OffloadTest *t = userdata;

        g_free(t->officer);
        t->officer = g_strdup(officer_id);
}

static void on_quarantined(const char *segment, const char *reason, void *userdata) {
        OffloadTest *t = userdata;

        g_ptr_array_add(t->quarantined, g_strdup_printf("%s: %s", segment, reason));
}

static void on_delete_refused(const char *segment, uint16_t rc, void *userdata) {
        OffloadTest *t = userdata;

        g_ptr_array_add(t->refused, g_strdup_printf("%s 0x%04x", segment, rc));
}

static void on_done(Offload *o, int error, const OffloadSummary *s, void *userdata) {
        OffloadTest *t = userdata;

        if (error < 0) {
                /* The camera failed (left the bus): the next docking starts anew. */
                t->failures++;
                return;
        }
        t->done = true;
        t->error = error;
        t->summary = *s;
}

static const OffloadCallbacks callbacks = {
        .officer = on_officer,
        .quarantined = on_quarantined,
        .delete_refused = on_delete_refused,
        .done = on_done,
};

/* ---- the camera comes and goes ---- */

static void release(OffloadTest *t) {
        t->offload = offload_free(t->offload);
        if (t->camera) {
                camera_abandon(t->camera);
                t->camera = camera_unref(t->camera);
        }
}

static void on_identified(Camera *c, int error, uint16_t rc, void *userdata) {
        OffloadTest *t = userdata;

        g_assert_cmpint(error, ==, 0);
        g_assert_cmpstr(camera_serial(c), ==, SERIAL);
        g_assert_cmpint(offload_start(&t->h->ctx, c, "1", camera_serial(c), &callbacks, t, &t->offload), >=, 0);
}

static void on_hotplug(Harness *h, libusb_device *dev, const char *port, bool arrived) {
        OffloadTest *t = h->userdata;

        if (!g_str_equal(port, "1-1.1"))
                return;
        if (!arrived) {
                if (t->camera && t->camera->device == dev)
                        release(t);
                return;
        }
        release(t);
        g_assert_cmpint(camera_open(h->ctx.usb, dev, port, h->config, &t->camera), >=, 0);
        g_assert_cmpint(camera_identify(t->camera, on_identified, t), >=, 0);
}

static void on_confirmed(Harness *h, const SegmentId *id) {
        OffloadTest *t = h->userdata;

        offload_segment_confirmed(t->offload, id);
}

static void on_room(Harness *h) {
        OffloadTest *t = h->userdata;

        offload_spool_freed(t->offload);
}

static OffloadTest *offload_test_new(const char *extra_config) {
        OffloadTest *t = g_new0(OffloadTest, 1);

        t->h = harness_new(extra_config);
        t->h->userdata = t;
        t->h->on_hotplug = on_hotplug;
        t->h->on_confirmed = on_confirmed;
        t->h->on_room = on_room;
        t->quarantined = g_ptr_array_new_with_free_func(g_free);
        t->refused = g_ptr_array_new_with_free_func(g_free);
        return t;
}

static void offload_test_free(OffloadTest *t) {
        release(t);
        harness_free(t->h);
        g_ptr_array_unref(t->quarantined);
        g_ptr_array_unref(t->refused);
        g_free(t->officer);
        g_free(t);
}

static bool offload_done(Harness *h) {
        OffloadTest *t = h->userdata;

        if (t->offload) {
                OffloadProgress p;
                offload_get_progress(t->offload, &p);
                t->saw_spool_full |= p.spool_full;
        }
        return t->done;
}

/* ---- what a user can check ---- */

/* The camera's only recording: the one folder under central/<area>/<serial>/. */
static char *recording_in(OffloadTest *t, const char *area) {
        g_autofree char *dir = g_build_filename(t->h->dir, "central", area, SERIAL, NULL);
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);

        g_assert_nonnull(d);
        return g_strdup(g_dir_read_name(d));
}

/* Central storage holds the segment's three objects under area. */
static void assert_objects(OffloadTest *t, const char *area, const char *recording, unsigned index) {
        static const char *const exts[] = { "mp4", "man", "p7s" };

        for (size_t i = 0; i < G_N_ELEMENTS(exts); i++) {
                g_autofree char *p = g_strdup_printf("%s/central/%s/%s/%s/%06u.%s", t->h->dir, area, SERIAL,
                                                     recording, index, exts[i]);
                g_assert_true(g_file_test(p, G_FILE_TEST_IS_REGULAR));
        }
}

/* ... and the video there hashes to what its (signed) manifest says. */
static void assert_in_central(OffloadTest *t, const char *area, const char *recording, unsigned index) {
        g_autofree char *base = g_strdup_printf("central/%s/%s/%s/%06u", area, SERIAL, recording, index);
        g_autofree char *mp4 = g_strconcat(base, ".mp4", NULL), *man = g_strconcat(base, ".man", NULL);
        g_autofree char *video = NULL, *manifest = NULL, *sha = NULL;
        _cleanup_(manifest_freep) Manifest *m = NULL;
        gsize video_size, manifest_size;
        char hex[65];

        assert_objects(t, area, recording, index);
        video = harness_read(t->h, mp4, &video_size);
        manifest = harness_read(t->h, man, &manifest_size);
        g_assert_nonnull(video);
        g_assert_nonnull(manifest);
        g_assert_cmpint(manifest_parse((const uint8_t *) manifest, manifest_size, &m, NULL), ==, 0);
        sha = sha256_hex_of(video, video_size);
        g_assert_cmpuint(video_size, ==, m->size);
        g_assert_cmpstr(sha, ==, hex_sha256(m->sha256, hex));
}

static char *segment_name(const char *recording, unsigned index) {
        return g_strdup_printf("%s/%06u", recording, index);
}

/* ---- cases ---- */

static void test_all_confirmed_then_deleted(void) {
        OffloadTest *t = offload_test_new(NULL);
        g_autofree char *rec = NULL;

        g_assert_true(harness_run_until(t->h, offload_done, TIMEOUT));
        g_assert_cmpint(t->error, ==, 0);
        g_assert_cmpuint(t->summary.segments, ==, 3);
        g_assert_cmpuint(t->summary.pulled, ==, 3);
        g_assert_cmpuint(t->summary.verified, ==, 3);
        g_assert_cmpuint(t->summary.quarantined, ==, 0);
        g_assert_cmpuint(t->summary.deleted, ==, 3);
        g_assert_cmpuint(t->quarantined->len, ==, 0);
        g_assert_cmpstr(t->officer, ==, "4711");

        rec = recording_in(t, "evidence");
        for (unsigned i = 0; i < 3; i++) {
                g_autofree char *seg = segment_name(rec, i);

                assert_in_central(t, "evidence", rec, i);
                /* Each step has its record: pulled, verified, three objects
                 * uploaded, confirmed, and only then deleted. */
                g_assert_cmpuint(custody_count(t->h, "pulled", seg), ==, 1);
                g_assert_cmpuint(custody_count(t->h, "verified", seg), ==, 1);
                g_assert_cmpuint(custody_count(t->h, "uploaded", seg), ==, 3);
                g_assert_cmpuint(custody_count(t->h, "confirmed", seg), ==, 1);
                g_assert_cmpuint(custody_count(t->h, "deleted-from-camera", seg), ==, 1);
        }
        /* Nothing of it is left on the camera. */
        g_assert_cmpuint(vdock_objects_left(SERIAL), ==, 0);
        offload_test_free(t);
}

static void test_tampered_quarantined(void) {
        OffloadTest *t = offload_test_new(NULL);
        g_autofree char *rec = NULL, *seg = NULL;

        g_assert_true(harness_run_until(t->h, offload_done, TIMEOUT));
        g_assert_cmpint(t->error, ==, 0);
        g_assert_cmpuint(t->summary.pulled, ==, 3);
        g_assert_cmpuint(t->summary.verified, ==, 2);
        g_assert_cmpuint(t->summary.quarantined, ==, 1);
        g_assert_cmpuint(t->summary.held_recordings, ==, 1);
        g_assert_cmpuint(t->summary.deleted, ==, 0);

        rec = recording_in(t, "quarantine");
        seg = segment_name(rec, 1);
        g_assert_cmpuint(t->quarantined->len, ==, 1);
        g_assert_true(g_str_has_prefix(t->quarantined->pdata[0], seg));
        g_assert_nonnull(strstr(t->quarantined->pdata[0], "SHA-256"));
        g_assert_cmpuint(custody_count(t->h, "quarantined", seg), ==, 1);
        /* The quarantined copy is uploaded too, under quarantine/; the others as evidence. */
        assert_objects(t, "quarantine", rec, 1);
        assert_in_central(t, "evidence", rec, 0);
        assert_in_central(t, "evidence", rec, 2);
        /* The whole recording stays on the camera for review: its folder, 3 segments of 3 files. */
        g_assert_cmpuint(custody_count(t->h, "deleted-from-camera", NULL), ==, 0);
        g_assert_cmpuint(vdock_objects_left(SERIAL), ==, 10);
        offload_test_free(t);
}

static void test_delete_refused(void) {
        OffloadTest *t = offload_test_new(NULL);
        g_autofree char *rec = NULL, *seg = NULL, *expect = NULL;

        g_assert_true(harness_run_until(t->h, offload_done, TIMEOUT));
        g_assert_cmpint(t->error, ==, 0);
        g_assert_cmpuint(t->summary.delete_refused, ==, 1);
        g_assert_cmpuint(t->summary.deleted, ==, 2);
        rec = recording_in(t, "evidence");
        seg = segment_name(rec, 0);
        expect = g_strdup_printf("%s 0x200d", seg);   /* Object_WriteProtected */
        g_assert_cmpuint(t->refused->len, ==, 1);
        g_assert_cmpstr(t->refused->pdata[0], ==, expect);
        g_assert_cmpuint(custody_count(t->h, "delete-refused", seg), ==, 1);
        g_assert_cmpuint(custody_count(t->h, "deleted-from-camera", seg), ==, 0);
        /* It is safe in central storage all the same. */
        assert_in_central(t, "evidence", rec, 0);
        offload_test_free(t);
}

static void test_unplug_resumes(void) {
        OffloadTest *t = offload_test_new(NULL);
        g_autofree char *rec = NULL;

        g_assert_true(harness_run_until(t->h, offload_done, TIMEOUT));
        g_assert_cmpint(t->error, ==, 0);
        /* The camera left in the middle of segment 0 and came back: the pull went
         * on from the spool's copy instead of from zero. */
        g_assert_cmpuint(t->summary.bytes_resumed, >, 0);
        g_assert_cmpuint(t->summary.pulled, >=, 1);
        rec = recording_in(t, "evidence");
        for (unsigned i = 0; i < 2; i++) {
                g_autofree char *seg = segment_name(rec, i);

                assert_in_central(t, "evidence", rec, i);
                g_assert_cmpuint(custody_count(t->h, "pulled", seg), ==, 1);
                g_assert_cmpuint(custody_count(t->h, "deleted-from-camera", seg), ==, 1);
        }
        g_assert_cmpuint(vdock_objects_left(SERIAL), ==, 0);
        offload_test_free(t);
}

static void test_spool_full_pauses(void) {
        OffloadTest *t = offload_test_new(NULL);
        g_autofree char *rec = NULL;

        /* Room for one 1 MiB segment at a time: the next pull waits until central
         * storage confirmed one and its spool copy was dropped. */
        spool_set_limits(t->h->ctx.spool, 1536 * 1024, 0);
        g_assert_true(harness_run_until(t->h, offload_done, TIMEOUT));
        g_assert_cmpint(t->error, ==, 0);
        g_assert_true(t->saw_spool_full);
        g_assert_false(spool_is_full(t->h->ctx.spool));
        g_assert_cmpuint(t->summary.deleted, ==, 4);
        rec = recording_in(t, "evidence");
        for (unsigned i = 0; i < 4; i++)
                assert_in_central(t, "evidence", rec, i);
        offload_test_free(t);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        log_setup(LOG_TARGET_CONSOLE, g_getenv("COMPONENT_DEBUG") ? LOG_DEBUG : LOG_INFO);
        g_test_add_func("/offload/all-confirmed-then-deleted", test_all_confirmed_then_deleted);
        g_test_add_func("/offload/tampered-quarantined", test_tampered_quarantined);
        g_test_add_func("/offload/delete-refused", test_delete_refused);
        g_test_add_func("/offload/unplug-resumes", test_unplug_resumes);
        g_test_add_func("/offload/spool-full-pauses", test_spool_full_pauses);
        return g_test_run();
}
