/* control.c: control socket and command dispatcher (control.h). */
#include "control.h"

#include <stdlib.h>
#include <unistd.h>
#include <gio/gunixsocketaddress.h>
#include <string.h>

#include "truth.h"

struct Control {
        World *world;
        GSocketService *service;
        char *path;
};

static gboolean parse_uint(const char *s, unsigned *ret)
{
        char *end = NULL;
        guint64 v = g_ascii_strtoull(s, &end, 10);

        if (end == s || *end || v > 1000)
                return FALSE;
        *ret = (unsigned) v;
        return TRUE;
}

static char *ok_or_error(gboolean ok, GError *error)
{
        return ok ? g_strdup("ok") : g_strdup_printf("error %s", error ? error->message : "failed");
}

/* fault CAMERA KEY VALUE... | fault bay N charger ok|overtemp|fault */
static char *cmd_fault(World *w, int argc, char **argv)
{
        g_autoptr(GError) error = NULL;
        g_autofree char *value = NULL;
        Camera *cam;
        unsigned bay;
        gboolean ok;

        if (argc >= 5 && g_str_equal(argv[1], "bay") && parse_uint(argv[2], &bay)) {
                value = g_strjoinv(" ", argv + 4);
                ok = world_bay_fault(w, bay, argv[3], value, &error);
                return ok_or_error(ok, error);
        }
        if (argc < 3)
                return g_strdup("error usage: fault CAMERA KEY VALUE... | fault bay N charger KIND");
        cam = scenario_camera(world_scenario(w), argv[1]);
        if (!cam)
                return g_strdup_printf("error no camera %s", argv[1]);
        value = g_strjoinv(" ", argv + 3);
        g_rec_mutex_lock(world_lock(w));
        ok = camera_apply_key(cam, argv[2], value, TRUE, &error);
        g_rec_mutex_unlock(world_lock(w));
        return ok_or_error(ok, error);
}

char *control_execute(World *w, const char *line)
{
        g_auto(GStrv) argv = g_strsplit_set(line, " \t", -1);
        g_autoptr(GError) error = NULL;
        g_autofree char *joined = NULL;
        int argc;
        unsigned bay, on;
        gboolean ok;

        world_sync(w);
        /* drop empty tokens from repeated spaces */
        joined = g_strjoinv("\x1f", argv);
        g_strfreev(argv);
        argv = g_strsplit(joined, "\x1f", -1);
        argc = 0;
        for (int i = 0; argv[i]; i++)
                if (*argv[i])
                        argv[argc++] = argv[i];
                else
                        g_free(argv[i]);
        argv[argc] = NULL;

        if (argc == 0)
                return g_strdup("error empty command");
        if (g_str_equal(argv[0], "dock") && argc == 3 && parse_uint(argv[2], &bay))
                ok = world_dock(w, argv[1], bay, &error);
        else if (g_str_equal(argv[0], "undock") && argc == 2 && parse_uint(argv[1], &bay))
                ok = world_undock(w, bay, &error);
        else if (g_str_equal(argv[0], "port-power") && argc == 3 && parse_uint(argv[1], &bay) &&
                 parse_uint(argv[2], &on) && on <= 1)
                ok = world_port_power(w, bay, on == 1, "control", &error);
        else if (g_str_equal(argv[0], "truth") && argc == 2)
                ok = truth_write(w, argv[1], &error);
        else if (g_str_equal(argv[0], "revoke") && argc == 2)
                ok = world_revoke(w, argv[1], &error);
        else if (g_str_equal(argv[0], "crl") && argc == 2)
                ok = world_write_crl(w, argv[1], &error);
        else if (g_str_equal(argv[0], "status") && argc == 1) {
                g_autofree char *status = world_status(w);
                return g_strdup_printf("ok %s", status);
        }
        else if (g_str_equal(argv[0], "fault"))
                return cmd_fault(w, argc, argv);
        else if (g_str_equal(argv[0], "help"))
                return g_strdup("ok dock CAMERA BAY | undock BAY | port-power BAY 0|1 | truth PATH | status | "
                                "fault CAMERA KEY VALUE | fault bay N charger ok|overtemp|fault | "
                                "revoke CAMERA | crl PATH");
        else
                return g_strdup_printf("error unknown command or bad arguments: %s", line);
        return ok_or_error(ok, error);
}

typedef struct {
        World *world;
        GDataInputStream *in;
        GOutputStream *out;
        GSocketConnection *conn;
} Session;

static void session_free(Session *s)
{
        g_object_unref(s->in);
        g_object_unref(s->conn);
        g_free(s);
}

static void on_line(GObject *src, GAsyncResult *res, gpointer data)
{
        Session *s = data;
        gsize len;
        g_autofree char *line = g_data_input_stream_read_line_finish(s->in, res, &len, NULL);
        g_autofree char *reply = NULL, *out = NULL;

        if (!line) {
                session_free(s);
                return;
        }
        reply = control_execute(s->world, g_strstrip(line));
        out = g_strconcat(reply, "\n", NULL);
        if (!g_output_stream_write_all(s->out, out, strlen(out), NULL, NULL, NULL)) {
                session_free(s);
                return;
        }
        g_data_input_stream_read_line_async(s->in, G_PRIORITY_DEFAULT, NULL, on_line, s);
}

static gboolean on_incoming(GSocketService *service, GSocketConnection *conn, GObject *src, gpointer data)
{
        Control *c = data;
        Session *s = g_new0(Session, 1);

        s->world = c->world;
        s->conn = g_object_ref(conn);
        s->in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(conn)));
        g_buffered_input_stream_set_buffer_size(G_BUFFERED_INPUT_STREAM(s->in), 4096);
        s->out = g_io_stream_get_output_stream(G_IO_STREAM(conn));
        g_data_input_stream_read_line_async(s->in, G_PRIORITY_DEFAULT, NULL, on_line, s);
        return TRUE;
}

Control *control_listen(World *w, const char *socket_path, GError **error)
{
        Control *c = g_new0(Control, 1);
        g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(socket_path);

        c->world = w;
        c->path = g_strdup(socket_path);
        c->service = g_socket_service_new();
        unlink(socket_path);
        if (!g_socket_listener_add_address(G_SOCKET_LISTENER(c->service), addr, G_SOCKET_TYPE_STREAM,
                                           G_SOCKET_PROTOCOL_DEFAULT, NULL, NULL, error)) {
                control_free(c);
                return NULL;
        }
        g_signal_connect(c->service, "incoming", G_CALLBACK(on_incoming), c);
        g_socket_service_start(c->service);
        return c;
}

void control_free(Control *c)
{
        if (!c)
                return;
        g_socket_service_stop(c->service);
        g_socket_listener_close(G_SOCKET_LISTENER(c->service));
        g_object_unref(c->service);
        unlink(c->path);
        g_free(c->path);
        g_free(c);
}
