/* test-history.c: what a camera does between dockings (camera-history.h):
 * a reused recording id, new segments (chained or not), lost segments, a
 * recording that starts on the camera after index 0. */
#include <openssl/evp.h>
#include <string.h>

#include "camera-history.h"
#include "content.h"
#include "ptp.h"
#include "test-util.h"

static Recording *first_recording(Fixture *f)
{
        return f->cam->recordings->pdata[0];
}

static char *prev_of(Camera *cam, Segment *seg)
{
        GBytes *m = segment_manifest(cam, seg, TRUE);
        const char *p = strstr(g_bytes_get_data(m, NULL), "\nprev=");

        g_assert_nonnull(p);
        return g_strndup(p + 6, 64);
}

static char *manifest_hash(Camera *cam, Segment *seg)
{
        GBytes *m = segment_manifest(cam, seg, TRUE);
        uint8_t md[32];
        unsigned n = 32;
        char *hex = g_malloc(65);

        EVP_Digest(g_bytes_get_data(m, NULL), g_bytes_get_size(m), md, &n, EVP_sha256(), NULL);
        hex_encode(md, 32, hex);
        return hex;
}

static void test_reuse_now(void)
{
        Fixture f;
        Recording *rec;
        Segment *old0, *new0;
        uint32_t old_handle;
        g_autofree char *old_hash = NULL, *new_hash = NULL;
        g_autoptr(GError) error = NULL;

        fixture_init(&f, "[dock]\nbays=1\n[camera BWC-U0001]\nsegments=3x4096\n");
        rec = first_recording(&f);
        old0 = rec->segments->pdata[0];
        old_handle = old0->files[FILE_MP4]->handle;
        old_hash = manifest_hash(f.cam, old0);
        g_assert_true(camera_apply_key(f.cam, "reuse_recording_id", "", TRUE, &error));
        g_assert_no_error(error);
        g_assert_cmpuint(rec->generation, ==, 1);
        g_assert_cmpuint(rec->previous->len, ==, 1);
        new0 = rec->segments->pdata[0];
        g_assert_true(new0 != old0);
        g_assert_cmpuint(new0->generation, ==, 1);
        g_assert_cmpuint(new0->size, ==, 4096);
        /* the old files are overwritten; the new ones have other handles */
        g_assert_true(old0->files[FILE_MP4]->replaced);
        g_assert_null(camera_object(f.cam, old_handle));
        g_assert_nonnull(camera_object(f.cam, new0->files[FILE_MP4]->handle));
        g_assert_cmpuint(new0->files[FILE_MP4]->handle, >, old_handle);
        g_assert_cmpstr(new0->files[FILE_MAN]->name, ==, old0->files[FILE_MAN]->name);
        new_hash = manifest_hash(f.cam, new0);
        g_assert_cmpstr(new_hash, !=, old_hash);
        g_assert_cmpuint(new0->seed, !=, old0->seed);
        fixture_clear(&f);
}

static void test_reuse_at_undock(void)
{
        Fixture f;
        Recording *rec;
        g_autoptr(GError) error = NULL;

        fixture_init(&f, "[dock]\nbays=1\n[camera BWC-U0002]\nsegments=2x4096\n"
                         "reuse_recording_id=segments 3x8K\n");
        rec = first_recording(&f);
        g_assert_cmpuint(rec->generation, ==, 0);
        /* everything deleted by a dock, as after a complete offload */
        for (guint i = 0; i < f.cam->objects->len; i++)
                ((Object *) f.cam->objects->pdata[i])->deleted = TRUE;
        camera_undocked(f.cam);
        g_assert_cmpuint(rec->generation, ==, 1);
        g_assert_cmpuint(rec->segments->len, ==, 3);
        g_assert_cmpuint(((Segment *) rec->segments->pdata[2])->size, ==, 8192);
        /* the emptied folder is made again */
        g_assert_false(rec->folder->deleted);
        g_assert_nonnull(camera_object(f.cam, ((Segment *) rec->segments->pdata[2])->files[FILE_P7S]->handle));
        /* once only */
        camera_undocked(f.cam);
        g_assert_cmpuint(rec->generation, ==, 1);
        g_assert_false(camera_apply_key(f.cam, "reuse_recording_id", "no-such-recording", TRUE, &error));
        fixture_clear(&f);
}

static void test_record_and_lose(void)
{
        Fixture f;
        Recording *rec;
        Segment *s1, *s2, *s3;
        g_autoptr(GError) error = NULL;
        g_autofree char *p2 = NULL, *h1 = NULL, *p3 = NULL, *h2 = NULL;

        fixture_init(&f, "[dock]\nbays=1\n[camera BWC-U0003]\nsegments=2x4096\n");
        rec = first_recording(&f);
        g_assert_true(camera_apply_key(f.cam, "record", "1000", TRUE, &error));
        g_assert_true(camera_apply_key(f.cam, "record", "1000 broken-chain", TRUE, &error));
        g_assert_no_error(error);
        g_assert_cmpuint(rec->segments->len, ==, 4);
        s1 = rec->segments->pdata[1];
        s2 = rec->segments->pdata[2];
        s3 = rec->segments->pdata[3];
        g_assert_cmpuint(s3->index, ==, 3);
        p2 = prev_of(f.cam, s2);
        h1 = manifest_hash(f.cam, s1);
        g_assert_cmpstr(p2, ==, h1);
        p3 = prev_of(f.cam, s3);
        h2 = manifest_hash(f.cam, s2);
        g_assert_cmpstr(p3, !=, h2);
        g_assert_true(camera_apply_key(f.cam, "lose", "2", TRUE, &error));
        g_assert_true(s2->files[FILE_MP4]->lost && s2->files[FILE_P7S]->lost);
        g_assert_null(camera_object(f.cam, s2->files[FILE_MAN]->handle));
        g_assert_false(camera_apply_key(f.cam, "lose", "7", TRUE, &error));
        fixture_clear(&f);
}

static void test_first_segment(void)
{
        Fixture f;
        Recording *rec;
        Segment *s2, *s3;
        g_autofree char *p3 = NULL, *h2 = NULL;

        fixture_init(&f, "[dock]\nbays=1\n[camera BWC-U0004]\nsegments=5x4096\nfirst_segment=3\n");
        rec = first_recording(&f);
        s2 = rec->segments->pdata[2];
        s3 = rec->segments->pdata[3];
        g_assert_true(s2->missing && s2->elsewhere);
        g_assert_null(s2->files[FILE_MP4]);
        g_assert_nonnull(s3->files[FILE_MP4]);
        /* the first segment on the camera still chains to the one taken elsewhere */
        p3 = prev_of(f.cam, s3);
        h2 = manifest_hash(f.cam, s2);
        g_assert_cmpstr(p3, ==, h2);
        fixture_clear(&f);
}

/* 87,382 segments: more than 262,143 objects, still cheap. */
static void test_many_objects(void)
{
        Fixture f;

        fixture_init(&f, "[dock]\nbays=1\n[camera BWC-U0005]\nsegments=87382x1K\n");
        g_assert_cmpuint(f.cam->objects->len, ==, 1 + 3 * 87382);
        g_assert_cmpuint(f.cam->objects->len, >, 262143);
        fixture_clear(&f);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/history/reuse-now", test_reuse_now);
        g_test_add_func("/history/reuse-at-undock", test_reuse_at_undock);
        g_test_add_func("/history/record-and-lose", test_record_and_lose);
        g_test_add_func("/history/first-segment", test_first_segment);
        g_test_add_func("/history/many-objects", test_many_objects);
        return g_test_run();
}
