/* SPDX-License-Identifier: Apache-2.0 */
/* bus-listen: a plain D-Bus client that subscribes to every signal
 * org.dockd.Dock1 sends on the system bus ($DBUS_SYSTEM_BUS_ADDRESS) and
 * prints each as one JSON line, for the operations tests:
 *   {"t": MONOTONIC_US, "path": …, "interface": …, "member": …, "body": [ARGS]}
 * An ordinary match rule (not eavesdropping, not a monitor), so the bus's
 * receive policy applies to it as to any client. It prints {"ready": true}
 * once the bus has its match rule, and exits on SIGTERM, SIGINT or EOF on
 * stdin. A line on stdin makes it ask the bus a question and print
 * {"synced": true} with the answer: every signal the bus queued for this
 * client before the question is printed before that line. */
#include <gio/gio.h>
#include <glib-unix.h>
#include <stdio.h>
#include <unistd.h>

#define DOCKD_BUS_NAME "org.dockd.Dock1"

static void json_string(GString *out, const char *s) {
        g_string_append_c(out, '"');
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        g_string_append_printf(out, "\\%c", *p);
                else if (*p < 0x20 || *p == 0x7f)
                        g_string_append_printf(out, "\\u%04x", *p);
                else
                        g_string_append_c(out, (char) *p);
        }
        g_string_append_c(out, '"');
}

/* Typed D-Bus values as JSON: numbers, booleans and strings as themselves,
 * variants as their content, dictionaries as objects, arrays and structs as
 * arrays. */
static void json_value(GString *out, GVariant *v) {
        const GVariantType *t = g_variant_get_type(v);

        if (g_variant_type_equal(t, G_VARIANT_TYPE_BOOLEAN))
                g_string_append(out, g_variant_get_boolean(v) ? "true" : "false");
        else if (g_variant_type_equal(t, G_VARIANT_TYPE_BYTE))
                g_string_append_printf(out, "%u", g_variant_get_byte(v));
        else if (g_variant_type_equal(t, G_VARIANT_TYPE_INT16))
                g_string_append_printf(out, "%d", g_variant_get_int16(v));
        else if (g_variant_type_equal(t, G_VARIANT_TYPE_UINT16))
                g_string_append_printf(out, "%u", g_variant_get_uint16(v));
        else if (g_variant_type_equal(t, G_VARIANT_TYPE_INT32))
                g_string_append_printf(out, "%d", g_variant_get_int32(v));
        else if (g_variant_type_equal(t, G_VARIANT_TYPE_UINT32))
                g_string_append_printf(out, "%u", g_variant_get_uint32(v));
        else if (g_variant_type_equal(t, G_VARIANT_TYPE_INT64))
                g_string_append_printf(out, "%" G_GINT64_FORMAT, g_variant_get_int64(v));
        else if (g_variant_type_equal(t, G_VARIANT_TYPE_UINT64))
                g_string_append_printf(out, "%" G_GUINT64_FORMAT, g_variant_get_uint64(v));
        else if (g_variant_type_equal(t, G_VARIANT_TYPE_DOUBLE))
                g_string_append_printf(out, "%.17g", g_variant_get_double(v));
        else if (g_variant_type_equal(t, G_VARIANT_TYPE_STRING) || g_variant_type_equal(t, G_VARIANT_TYPE_OBJECT_PATH) ||
                 g_variant_type_equal(t, G_VARIANT_TYPE_SIGNATURE))
                json_string(out, g_variant_get_string(v, NULL));
        else if (g_variant_type_is_variant(t)) {
                g_autoptr(GVariant) inner = g_variant_get_variant(v);
                json_value(out, inner);
        } else if (g_variant_type_is_array(t) && g_variant_type_is_dict_entry(g_variant_type_element(t))) {
                gsize n = g_variant_n_children(v);
                g_string_append_c(out, '{');
                for (gsize i = 0; i < n; i++) {
                        g_autoptr(GVariant) e = g_variant_get_child_value(v, i);
                        g_autoptr(GVariant) k = g_variant_get_child_value(e, 0);
                        g_autoptr(GVariant) val = g_variant_get_child_value(e, 1);
                        g_autofree char *ks = g_variant_is_of_type(k, G_VARIANT_TYPE_STRING) ?
                                g_variant_dup_string(k, NULL) : g_variant_print(k, FALSE);
                        if (i)
                                g_string_append_c(out, ',');
                        json_string(out, ks);
                        g_string_append_c(out, ':');
                        json_value(out, val);
                }
                g_string_append_c(out, '}');
        } else if (g_variant_is_container(v)) {
                gsize n = g_variant_n_children(v);
                g_string_append_c(out, '[');
                for (gsize i = 0; i < n; i++) {
                        g_autoptr(GVariant) c = g_variant_get_child_value(v, i);
                        if (i)
                                g_string_append_c(out, ',');
                        json_value(out, c);
                }
                g_string_append_c(out, ']');
        } else {
                g_autofree char *s = g_variant_print(v, TRUE);
                json_string(out, s);
        }
}

static void on_signal(GDBusConnection *bus, const char *sender, const char *path, const char *interface,
                      const char *member, GVariant *body, gpointer userdata) {
        g_autoptr(GString) out = g_string_new(NULL);

        g_string_append_printf(out, "{\"t\":%" G_GINT64_FORMAT ",\"path\":", g_get_monotonic_time());
        json_string(out, path);
        g_string_append(out, ",\"interface\":");
        json_string(out, interface);
        g_string_append(out, ",\"member\":");
        json_string(out, member);
        g_string_append(out, ",\"body\":");
        json_value(out, body);
        g_string_append(out, "}\n");
        fputs(out->str, stdout);
        fflush(stdout);
}

static gboolean on_quit(gpointer userdata) {
        g_main_loop_quit(userdata);
        return G_SOURCE_REMOVE;
}

static GMainLoop *loop;

static void on_synced(GObject *bus, GAsyncResult *res, gpointer userdata) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GVariant) reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(bus), res, &error);

        printf("{\"synced\":%s,\"t\":%" G_GINT64_FORMAT "}\n", reply ? "true" : "false", g_get_monotonic_time());
        fflush(stdout);
}

static gboolean on_stdin(gint fd, GIOCondition cond, gpointer userdata) {
        GDBusConnection *bus = userdata;
        char buf[256];
        ssize_t n = read(fd, buf, sizeof buf);

        if (n <= 0) {
                g_main_loop_quit(loop);
                return G_SOURCE_REMOVE;
        }
        for (ssize_t i = 0; i < n; i++)
                if (buf[i] == '\n')
                        g_dbus_connection_call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                               "org.freedesktop.DBus", "GetId", NULL, G_VARIANT_TYPE("(s)"),
                                               G_DBUS_CALL_FLAGS_NONE, 10000, NULL, on_synced, NULL);
        return G_SOURCE_CONTINUE;
}

int main(int argc, char *argv[]) {
        g_autoptr(GError) error = NULL;
        g_autoptr(GDBusConnection) bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
        g_autoptr(GVariant) id = NULL;

        if (!bus) {
                fprintf(stderr, "bus-listen: %s\n", error->message);
                return 1;
        }
        loop = g_main_loop_new(NULL, FALSE);
        g_dbus_connection_signal_subscribe(bus, DOCKD_BUS_NAME, NULL, NULL, NULL, NULL,
                                           G_DBUS_SIGNAL_FLAGS_NONE, on_signal, NULL, NULL);
        /* The bus handles messages in order: once it answered this, it has the
         * match rule (AddMatch went out before it). */
        id = g_dbus_connection_call_sync(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                         "org.freedesktop.DBus", "GetId", NULL, G_VARIANT_TYPE("(s)"),
                                         G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
        if (!id) {
                fprintf(stderr, "bus-listen: %s\n", error->message);
                return 1;
        }
        printf("{\"ready\":true,\"t\":%" G_GINT64_FORMAT "}\n", g_get_monotonic_time());
        fflush(stdout);
        g_unix_signal_add(SIGTERM, on_quit, loop);
        g_unix_signal_add(SIGINT, on_quit, loop);
        g_unix_fd_add(0, G_IO_IN | G_IO_HUP, on_stdin, bus);
        g_main_loop_run(loop);
        g_main_loop_unref(loop);
        return 0;
}
