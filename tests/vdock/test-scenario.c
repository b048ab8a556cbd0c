/* test-scenario.c: every shipped scenario parses; bad input is rejected
 * with a message naming the place. */
#include <glib/gstdio.h>
#include <string.h>

#include "scenario.h"

static void test_shipped(void)
{
        const char *dir = g_getenv("VDOCK_SCENARIOS");
        g_autoptr(GDir) d = NULL;
        const char *name;
        int n = 0;

        g_assert_nonnull(dir);
        d = g_dir_open(dir, 0, NULL);
        g_assert_nonnull(d);
        while ((name = g_dir_read_name(d))) {
                g_autofree char *path = g_build_filename(dir, name, NULL);
                g_autoptr(GError) error = NULL;
                Scenario *s;

                if (!g_str_has_suffix(name, ".ini"))
                        continue;
                s = scenario_load(path, &error);
                g_assert_no_error(error);
                g_assert_cmpuint(s->cameras->len, >=, 1);
                scenario_free(s);
                n++;
        }
        g_assert_cmpint(n, >=, 20);
}

static void test_demo(void)
{
        g_autofree char *path = g_build_filename(g_getenv("VDOCK_SCENARIOS"), "demo.ini", NULL);
        g_autoptr(GError) error = NULL;
        Scenario *s = scenario_load(path, &error);
        Camera *c2, *c3;
        Segment *seg;

        g_assert_no_error(error);
        g_assert_cmpuint(s->bays, ==, 4);
        g_assert_cmpuint(s->cameras->len, ==, 4);
        c2 = scenario_camera(s, "BWC-0002");
        g_assert_cmpuint(c2->battery.full_mah * 100 / c2->battery.design_mah, ==, 55);
        g_assert_cmpuint(c2->selftest.comp[2].result, ==, 1);
        c3 = scenario_camera(s, "BWC-0003");
        seg = camera_find_segment(c3, "2");
        g_assert_cmpint(seg->corrupt_offset, ==, 1234567);
        g_assert_cmpuint(((Recording *) scenario_camera(s, "BWC-0001")->recordings->pdata[1])->segments->len, ==, 2);
        g_assert_cmpuint(s->timeline->len, ==, 4);
        scenario_free(s);
}

static void test_rejects(void)
{
        static const char *const bad[] = {
                "[dock]\nbays=0\n",
                "[dock]\nbays=16\n",
                "[dock]\nbays=1\n[camera bwc-lower]\n",
                "[dock]\nbays=1\n[camera BWC-1]\nbay=2\n",
                "[dock]\nbays=1\n[camera BWC-1]\nsegments=1M\ncorrupt=7 1\n",
                "[dock]\nbays=1\n[camera BWC-1]\nsegments=1M\ncorrupt=0 99999999\n",
                "[dock]\nbays=1\n[camera BWC-1]\nsegments=zz\n",
                "[dock]\nbays=1\n[camera BWC-1]\nofficer=no spaces\n",
                "[dock]\nbays=1\n[camera BWC-1]\ncert=maybe\n",
                "[dock]\nbays=1\n[camera BWC-1]\nselftest_fail=tail\n",
                "[dock]\nbays=1\n[camera BWC-1]\nmalformed=weird 0x1001\n",
                "[dock]\nbays=1\n[camera BWC-1]\nno_such_key=1\n",
                "[dock]\nbays=1\n[camera BWC-1]\n[recording BWC-2/x]\n",
                "[dock]\nbays=1\n[camera BWC-1]\n[recording BWC-1/a..b]\n",
                "[dock]\nbays=1\n[camera BWC-1]\nsegments=1M\nstart=yesterday\n",
                "[dock]\nbays=1\n[bay 3]\ncharger=overtemp\n",
                "[dock]\nbays=1\n[timeline]\nsoon=dock X 1\n",
                "[dock]\nbays=1\n[mystery]\n",
                "not a key file",
        };

        for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autoptr(GError) error = NULL;
                Scenario *s = scenario_parse(bad[i], strlen(bad[i]), "bad", &error);

                if (s)
                        g_error("accepted: %s", bad[i]);
                g_assert_nonnull(error);
                g_assert_true(g_str_has_prefix(error->message, "bad: "));
        }
}

/* responder = umtprd: its keys, and what umtprd answers for itself refused. */
static void test_umtprd(void)
{
        g_autofree char *dir = g_dir_make_tmp("vdock-scenario-XXXXXX", NULL);
        g_autofree char *good = g_strdup_printf("[dock]\nbays=1\n[camera AND-1]\nresponder=umtprd\numtprd_dir=%s\n"
                                                "umtprd_storage=ro\nusb_id=18d1:4EE1\nbattery_soc=40\n", dir);
        g_autofree char *prefix = g_strdup_printf("[dock]\nbays=1\n[camera AND-1]\nresponder=umtprd\numtprd_dir=%s\n", dir);
        const char *const bad[] = {
                "segments=1M\n", "usb=3\n", "corrupt=0 1\n", "stall=op 0x1009\n", "umtprd_storage=maybe\n",
                "usb_id=18d1\n", "usb_id=18d1:10000\n", "model=say \"cheese\"\n", "[recording AND-1/r]\n",
        };
        g_autoptr(GError) error = NULL;
        Scenario *s = scenario_parse(good, strlen(good), "good", &error);
        Camera *cam;

        g_assert_no_error(error);
        cam = scenario_camera(s, "AND-1");
        g_assert_cmpint(cam->responder, ==, CAMERA_UMTPRD);
        g_assert_cmpstr(cam->umtprd_dir, ==, dir);
        g_assert_true(cam->umtprd_readonly);
        g_assert_cmpuint(cam->usb_vid, ==, 0x18d1);
        g_assert_cmpuint(cam->usb_pid, ==, 0x4ee1);
        g_assert_false(camera_apply_key(cam, "unplug", "0 100", TRUE, NULL)); /* control socket too */
        scenario_free(s);
        for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autofree char *text = g_strconcat(prefix, bad[i], NULL);
                g_autoptr(GError) e = NULL;

                if ((s = scenario_parse(text, strlen(text), "bad", &e)))
                        g_error("accepted: %s", text);
        }
        for (unsigned i = 0; i < 2; i++) {
                const char *text = i ? "[dock]\nbays=1\n[camera AND-1]\numtprd_dir=/tmp\n"
                                     : "[dock]\nbays=1\n[camera AND-1]\nresponder=umtprd\numtprd_dir=/no/such/dir\n";
                g_autoptr(GError) e = NULL;

                if ((s = scenario_parse(text, strlen(text), "bad", &e)))
                        g_error("accepted: %s", text);
        }
        g_rmdir(dir);
}

static void test_sizes(void)
{
        uint64_t v;

        g_assert_true(parse_size("64G", &v) && v == UINT64_C(64) << 30);
        g_assert_true(parse_size("300001", &v) && v == 300001);
        g_assert_true(parse_size("2MiB", &v) && v == 2 << 20);
        g_assert_false(parse_size("99999999999T", &v));
        g_assert_false(parse_size("", &v));
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/scenario/shipped", test_shipped);
        g_test_add_func("/scenario/demo", test_demo);
        g_test_add_func("/scenario/rejects", test_rejects);
        g_test_add_func("/scenario/sizes", test_sizes);
        g_test_add_func("/scenario/umtprd", test_umtprd);
        return g_test_run();
}
