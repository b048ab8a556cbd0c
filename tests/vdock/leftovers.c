/* leftovers.c: what COMMAND leaves running ends with it (leftovers.h). */
#include "leftovers.h"

#include <errno.h>
#include <gio/gio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* vdock's children now (zombies included), from /proc. */
static GArray *children(void)
{
        GArray *a = g_array_new(FALSE, FALSE, sizeof(pid_t));
        g_autoptr(GDir) d = g_dir_open("/proc", 0, NULL);
        const char *name;

        while (d && (name = g_dir_read_name(d))) {
                g_autofree char *path = NULL, *stat = NULL;
                const char *fields;
                int ppid;

                if (!g_ascii_isdigit(name[0]))
                        continue;
                path = g_strdup_printf("/proc/%s/stat", name);
                if (!g_file_get_contents(path, &stat, NULL, NULL))
                        continue;   /* gone meanwhile */
                /* comm may hold spaces and ')': the fields follow the last ')' */
                fields = strrchr(stat, ')');
                if (fields && sscanf(fields + 1, " %*c %d", &ppid) == 1 && ppid == getpid()) {
                        pid_t pid = (pid_t) atoi(name);
                        g_array_append_val(a, pid);
                }
        }
        return a;
}

static gboolean contains(const GArray *pids, pid_t pid)
{
        for (guint i = 0; i < pids->len; i++)
                if (g_array_index(pids, pid_t, i) == pid)
                        return TRUE;
        return FALSE;
}

GArray *leftovers_adopt(GError **error)
{
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
                g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "PR_SET_CHILD_SUBREAPER: %s",
                            g_strerror(errno));
                return NULL;
        }
        return children();
}

unsigned leftovers_end(const GArray *own)
{
        unsigned ended = 0, killed;

        do {
                g_autoptr(GArray) kids = children();

                killed = 0;
                for (guint i = 0; i < kids->len; i++) {
                        pid_t pid = g_array_index(kids, pid_t, i);

                        if (contains(own, pid))
                                continue;
                        (void) kill(pid, SIGKILL);
                        /* by the time it can be reaped, its children are vdock's */
                        (void) waitpid(pid, NULL, 0);
                        killed++;
                }
                ended += killed;
        } while (killed);
        return ended;
}
