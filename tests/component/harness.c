/* SPDX-License-Identifier: Apache-2.0 */
/* harness.c: see harness.h. */
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "fileio.h"
#include "harness.h"

static void on_hotplug(UsbManager *u, libusb_device *dev, bool arrived, void *userdata) {
        Harness *h = userdata;
        char port[64];

        if (usb_device_port_path(dev, port, sizeof port) >= 0 && h->on_hotplug)
                h->on_hotplug(h, dev, port, arrived);
}

static void on_confirmed(const SegmentId *id, void *userdata) {
        Harness *h = userdata;

        if (h->on_confirmed)
                h->on_confirmed(h, id);
}

static int on_room_defer(sd_event_source *s, void *userdata) {
        Harness *h = userdata;

        if (h->on_room)
                h->on_room(h);
        return 0;
}

static void on_room(Spool *s, void *userdata) {
        Harness *h = userdata;

        (void) sd_event_source_set_enabled(h->room, SD_EVENT_ONESHOT);
}

Harness *harness_new(const char *extra_config) {
        g_autoptr(GError) error = NULL;
        g_autofree char *conf = NULL, *text = NULL, *state = NULL, *spool = NULL, *custody = NULL, *key = NULL;
        g_autofree char *dropin = NULL;
        _cleanup_free_ char *why = NULL;
        const char *ca = g_getenv("VDOCK_CA");
        Harness *h = g_new0(Harness, 1);

        g_assert_nonnull(ca);
        h->dir = g_dir_make_tmp("dockd-component-XXXXXX", &error);
        g_assert_no_error(error);
        state = g_build_filename(h->dir, "state", NULL);
        conf = g_build_filename(h->dir, "dockd.conf", NULL);
        text = g_strdup_printf("[dock]\nname=component\nstate_dir=%s\ntrust_anchors=%s\nbays=%s\n"
                               "removal_debounce=2s\n[storage]\nbackend=file\nretry_initial=100ms\n"
                               "[file]\npath=%s/central\n",
                               state, ca, g_getenv("VDOCK_BAYS") ?: "1", h->dir);
        g_assert_true(g_file_set_contents(conf, text, -1, &error));

        h->config = config_new();
        g_assert_nonnull(h->config);
        g_assert_cmpint(config_load_file(h->config, conf, &why), >=, 0);
        if (extra_config) {
                /* A drop-in: later files override earlier ones. */
                dropin = g_build_filename(h->dir, "extra.conf", NULL);
                g_assert_true(g_file_set_contents(dropin, extra_config, -1, &error));
                g_assert_cmpint(config_load_file(h->config, dropin, &why), >=, 0);
        }
        g_assert_cmpint(config_validate(h->config, &why), >=, 0);
        g_assert_cmpint(mkdir_p_durable(state, 0750), >=, 0);

        g_assert_cmpint(sd_event_new(&h->event), >=, 0);
        h->ctx = (DockContext) { .event = h->event, .config = h->config };
        g_assert_cmpint(trust_store_load(ca, &h->ctx.trust, &why), >=, 0);
        custody = g_build_filename(state, "custody", NULL);
        key = g_build_filename(state, "dock-key.pem", NULL);
        g_assert_cmpint(custody_log_open(custody, key, h->config->dock_name, &h->ctx.custody), >=, 0);
        spool = g_build_filename(state, "spool", NULL);
        g_assert_cmpint(spool_open(spool, &h->ctx.spool), >=, 0);
        spool_set_limits(h->ctx.spool, h->config->spool_quota, h->config->spool_min_free);
        spool_set_room_handler(h->ctx.spool, on_room, h);
        g_assert_cmpint(sd_event_add_defer(h->event, &h->room, on_room_defer, h), >=, 0);
        (void) sd_event_source_set_enabled(h->room, SD_EVENT_OFF);
        g_assert_cmpint(worker_pool_new(h->event, 2, &h->ctx.workers), >=, 0);
        g_assert_cmpint(central_new(h->event, h->config, h->ctx.spool, h->ctx.custody, &h->ctx.central), >=, 0);
        central_set_confirmed_handler(h->ctx.central, on_confirmed, h);
        g_assert_cmpint(report_outbox_new(h->event, h->config, central_uploader(h->ctx.central), &h->ctx.reports),
                        >=, 0);
        g_assert_cmpint(usb_manager_new(h->event, on_hotplug, h, &h->ctx.usb), >=, 0);
        return h;
}

static int remove_tree(const char *path) {
        g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
        const char *name;

        while (d && (name = g_dir_read_name(d))) {
                g_autofree char *p = g_build_filename(path, name, NULL);
                if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
                        remove_tree(p);
                else
                        (void) g_unlink(p);
        }
        return g_rmdir(path);
}

void harness_free(Harness *h) {
        if (h->ctx.usb)
                usb_manager_drain(h->ctx.usb, 2 * USEC_PER_SEC);
        central_free(h->ctx.central);
        report_outbox_free(h->ctx.reports);
        worker_pool_free(h->ctx.workers);
        usb_manager_free(h->ctx.usb);
        spool_free(h->ctx.spool);
        custody_log_free(h->ctx.custody);
        trust_store_free(h->ctx.trust);
        sd_event_source_disable_unref(h->room);
        sd_event_unref(h->event);
        config_free(h->config);
        (void) remove_tree(h->dir);
        g_free(h->dir);
        g_free(h);
}

bool harness_run_until(Harness *h, bool (*done)(Harness *h), unsigned timeout) {
        gint64 end = g_get_monotonic_time() + (gint64) timeout * G_USEC_PER_SEC;

        while (!done(h)) {
                if (g_get_monotonic_time() > end)
                        return false;
                g_assert_cmpint(sd_event_run(h->event, 100 * USEC_PER_MSEC), >=, 0);
        }
        return true;
}

void harness_run_for(Harness *h, unsigned msec) {
        gint64 end = g_get_monotonic_time() + (gint64) msec * 1000;

        while (g_get_monotonic_time() < end)
                g_assert_cmpint(sd_event_run(h->event, 50 * USEC_PER_MSEC), >=, 0);
}

char *vdock_command(const char *fmt, ...) {
        g_autofree char *cmd = NULL;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        GString *reply = g_string_new(NULL);
        const char *path = g_getenv("VDOCK_CONTROL");
        va_list ap;
        char c;
        int fd;

        g_assert_nonnull(path);
        va_start(ap, fmt);
        cmd = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        g_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(connect(fd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
        g_assert_cmpint(write_all(fd, cmd, strlen(cmd)), ==, 0);
        g_assert_cmpint(write_all(fd, "\n", 1), ==, 0);
        while (read(fd, &c, 1) == 1 && c != '\n')
                g_string_append_c(reply, c);
        close(fd);
        return g_string_free(reply, FALSE);
}

unsigned vdock_objects_left(const char *serial) {
        g_autofree char *reply = vdock_command("status");
        struct json_object *o, *cams;
        unsigned left = UINT_MAX;

        g_assert_true(g_str_has_prefix(reply, "ok "));
        o = json_tokener_parse(reply + 3);
        g_assert_nonnull(o);
        g_assert_true(json_object_object_get_ex(o, "cameras", &cams));
        for (size_t i = 0; i < json_object_array_length(cams); i++) {
                struct json_object *c = json_object_array_get_idx(cams, i), *v;
                if (json_object_object_get_ex(c, "serial", &v) && g_str_equal(json_object_get_string(v), serial) &&
                    json_object_object_get_ex(c, "objects_left", &v))
                        left = (unsigned) json_object_get_int(v);
        }
        json_object_put(o);
        return left;
}

unsigned custody_count(Harness *h, const char *event, const char *segment) {
        g_autofree char *text = harness_read(h, "state/custody/current.jsonl", NULL);
        g_auto(GStrv) lines = NULL;
        unsigned n = 0;

        if (!text)
                return 0;
        lines = g_strsplit(text, "\n", -1);
        for (char **l = lines; *l; l++) {
                struct json_object *o = json_tokener_parse(*l), *v;
                if (!o)
                        continue;
                if (json_object_object_get_ex(o, "event", &v) && g_str_equal(json_object_get_string(v), event) &&
                    (!segment || (json_object_object_get_ex(o, "segment", &v) &&
                                  g_str_equal(json_object_get_string(v), segment))))
                        n++;
                json_object_put(o);
        }
        return n;
}

char *harness_read(Harness *h, const char *relative, gsize *ret_size) {
        g_autofree char *p = g_build_filename(h->dir, relative, NULL);
        char *data = NULL;

        if (!g_file_get_contents(p, &data, ret_size, NULL))
                return NULL;
        return data;
}

char *sha256_hex_of(const void *data, gsize size) {
        return g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, size);
}
