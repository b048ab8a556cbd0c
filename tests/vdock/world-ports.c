/* world-ports.c: the dock hub's port "disable" attributes
 * (1-1:1.0/1-1-port<B>/disable), as FIFOs.
 *
 * The kernel handles every write to "disable" in the write(2) itself: 1
 * disconnects the device and cuts the power before the call returns, 0 powers
 * the port again. A regular file watched with inotify only shows what it holds
 * when vdock gets round to reading it: a host that writes 1 and, a second
 * later, 0 leaves "0" behind, and a vdock that was slow to run saw neither
 * write (the camera never left). A FIFO keeps every write, in order: each 0 or
 * 1 is acted on, so an off always comes before the on written after it. What
 * it cannot keep is the kernel's synchronicity: write(2) returns before vdock
 * has acted, and the attribute cannot be read back (see README.md). */
#include "world-private.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char *port_dir(World *w, unsigned bay)
{
        return g_strdup_printf("%s" HUB_PATH "/1-1:1.0/1-1-port%u", w->sys_dir, bay);
}

/* Every character is one value: a writer that does not end its value with a
 * newline must not glue two writes into one unknown word. */
static void port_disable_written(World *w, Bay *bay, const char *buf, gssize len)
{
        for (gssize i = 0; i < len; i++) {
                g_autoptr(GError) error = NULL;

                if (g_ascii_isspace(buf[i]))
                        continue;
                if (buf[i] != '0' && buf[i] != '1') {
                        g_warning("bay %u: port disable: %#x is neither 0 nor 1, ignored", bay->index, (guchar) buf[i]);
                        continue;
                }
                if (!world_port_power(w, bay->index, buf[i] == '0', "sysfs", &error))
                        g_warning("port power: %s", error->message);
        }
}

static gboolean on_port_fifo(gint fd, GIOCondition cond, gpointer data)
{
        Bay *bay = data;
        char buf[256];
        gssize n;

        while ((n = read(fd, buf, sizeof buf)) > 0)
                port_disable_written(bay->world, bay, buf, n);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
                g_warning("bay %u: port disable: %s", bay->index, g_strerror(errno));
        return G_SOURCE_CONTINUE;
}

static gboolean add_port(World *w, Bay *bay, GError **error)
{
        g_autofree char *dir = port_dir(w, bay->index);
        g_autofree char *path = g_build_filename(dir, "disable", NULL);

        g_mkdir_with_parents(dir, 0755);
        if (mkfifo(path, 0644) < 0) {
                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "mkfifo %s: %s", path, g_strerror(errno));
                return FALSE;
        }
        /* Our own writer end keeps the FIFO from reading EOF (and polling HUP)
         * between the host's writes. */
        bay->port_fifo = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        bay->port_fifo_writer = bay->port_fifo < 0 ? -1 : open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (bay->port_fifo_writer < 0) {
                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno), "open %s: %s", path, g_strerror(errno));
                return FALSE;
        }
        bay->port_source = g_unix_fd_add(bay->port_fifo, G_IO_IN, on_port_fifo, bay);
        return TRUE;
}

gboolean ports_init(World *w, GError **error)
{
        for (unsigned b = 1; b <= w->scenario->bays; b++)
                if (!add_port(w, &w->bays[b], error))
                        return FALSE;
        return TRUE;
}

/* Every write to a port's disable made before the call, applied. */
void ports_sync(World *w)
{
        for (unsigned b = 1; b <= w->scenario->bays; b++)
                if (w->bays[b].port_fifo >= 0)
                        (void) on_port_fifo(w->bays[b].port_fifo, G_IO_IN, &w->bays[b]);
}

void ports_fini(World *w)
{
        for (unsigned b = 1; b <= MAX_BAYS; b++) {
                Bay *bay = &w->bays[b];

                if (bay->port_source)
                        g_source_remove(bay->port_source);
                bay->port_source = 0;
                if (bay->port_fifo >= 0)
                        close(bay->port_fifo);
                if (bay->port_fifo_writer >= 0)
                        close(bay->port_fifo_writer);
                bay->port_fifo = bay->port_fifo_writer = -1;
        }
}
