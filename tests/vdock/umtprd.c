/* umtprd.c: umtprd's process and configuration (umtprd.h). Its config
 * file is the one Debian ships, pointed at vdock's files: FunctionFS mode,
 * ep0 then ep1 (bulk IN), ep2 (bulk OUT), ep3 (interrupt IN), in the order
 * of the endpoint descriptors it writes (usb_gadget.c). */
#include "umtprd.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ffs-mount.h"
#include "ffs-zero.h"
#include "gadget.h"

struct Umtprd {
        Camera *cam;
        char *dir, *mnt, *conf, *log;
        GRecMutex *lock;
        Ffs *ffs;
        FfsMount *mount;
        GPid pid;
        guint child_watch;
        void (*changed)(gpointer user_data);
        gpointer user_data;
};

static void on_bound(Ffs *f, gpointer user_data)
{
        Umtprd *u = user_data;

        u->changed(u->user_data);
}

static void on_wake(Ffs *f, gpointer user_data)
{
        Umtprd *u = user_data;

        if (u->mount)
                ffs_mount_wake(u->mount);
}

static const FfsHooks hooks = { .bound = on_bound, .unbound = on_bound, .wake = on_wake };

static gboolean write_config(Umtprd *u, GError **error)
{
        Camera *cam = u->cam;
        g_autofree char *text = g_strdup_printf(
                "# written by vdock for camera %s\n"
                "loop_on_disconnect 1\n"
                /* umtprd 1.3.10's inotify thread crashes on an event it reads after a DISABLE
                 * dropped its handle database (README "umtprd 1.3.10 as a host sees it") */
                "no_inotify 1\n"
                "storage \"%s\" \"%s\" \"%s\"\n"
                "manufacturer \"%s\"\nproduct \"%s\"\nserial \"%s\"\nfirmware_version \"%s\"\ninterface \"MTP\"\n"
                "usb_vendor_id 0x%04X\nusb_product_id 0x%04X\nusb_class 0x6\nusb_subclass 0x1\nusb_protocol 0x1\n"
                "usb_functionfs_mode 0x1\n"
                "usb_dev_path \"%s/ep0\"\nusb_epin_path \"%s/ep1\"\nusb_epout_path \"%s/ep2\"\nusb_epint_path \"%s/ep3\"\n"
                "usb_max_packet_size 0x200\n"
                /* 64 KiB a read(2) or write(2) instead of 8 KiB: fewer FUSE round trips, same bytes on the bus */
                "usb_max_rd_buffer_size 0x10000\nusb_max_wr_buffer_size 0x10000\n",
                cam->serial, cam->umtprd_dir, "Internal storage", cam->umtprd_readonly ? "ro" : "rw",
                cam->manufacturer, cam->model, cam->serial, cam->firmware, cam->usb_vid, cam->usb_pid, u->mnt, u->mnt,
                u->mnt, u->mnt);

        return g_file_set_contents(u->conf, text, -1, error);
}

static void on_umtprd_exit(GPid pid, gint status, gpointer user_data)
{
        Umtprd *u = user_data;

        g_printerr("vdock: umtprd of %s exited (%s %d), see %s\n", u->cam->serial,
                   WIFEXITED(status) ? "status" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                   u->log);
        g_spawn_close_pid(pid);
        u->pid = 0;
        u->child_watch = 0;
}

/* In the child: umtprd goes when vdock goes, and runs under the filter. */
static void child_setup(gpointer sock)
{
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
                _exit(126);
        ffs_zero_child_setup(sock);
}

/* umtprd under the zero-length-I/O filter; returns the filter's listener. */
static int spawn(Umtprd *u, GError **error)
{
        char *argv[] = { (char *) "umtprd", (char *) "-conf", u->conf, NULL };
        /* not vdock's environment: no umockdev preload for the camera */
        char *envp[] = { (char *) "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
        int sv[2], log, listener;
        gboolean ok;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
                g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "socketpair: %s", g_strerror(errno));
                return -1;
        }
        log = open(u->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        ok = log >= 0 && g_spawn_async_with_fds(u->dir, argv, envp,
                                                G_SPAWN_SEARCH_PATH_FROM_ENVP | G_SPAWN_DO_NOT_REAP_CHILD |
                                                        G_SPAWN_STDIN_FROM_DEV_NULL,
                                                child_setup, GINT_TO_POINTER(sv[1]), &u->pid, -1, log, log,
                                                error);
        if (log < 0)
                g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "%s: %s", u->log, g_strerror(errno));
        if (log >= 0)
                close(log);
        close(sv[1]);
        listener = ok ? ffs_zero_receive(sv[0]) : -1;
        close(sv[0]);
        if (ok && listener < 0)
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "umtprd: no seccomp listener (see %s)", u->log);
        if (ok)
                u->child_watch = g_child_watch_add(u->pid, on_umtprd_exit, u);
        return listener;
}

Umtprd *umtprd_start(Camera *cam, const char *world_dir, GRecMutex *lock, void (*changed)(gpointer user_data),
                     gpointer user_data, GError **error)
{
        Umtprd *u = g_new0(Umtprd, 1);
        int listener;

        u->cam = cam;
        u->lock = lock;
        u->changed = changed;
        u->user_data = user_data;
        u->dir = g_strdup_printf("%s/umtprd-%s", world_dir, cam->serial);
        u->mnt = g_build_filename(u->dir, "ffs", NULL);
        u->conf = g_build_filename(u->dir, "umtprd.conf", NULL);
        u->log = g_build_filename(u->dir, "umtprd.log", NULL);
        u->ffs = ffs_new(&hooks, u);
        if (g_mkdir_with_parents(u->mnt, 0700) < 0) {
                g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "%s: %s", u->mnt, g_strerror(errno));
                umtprd_stop(u);
                return NULL;
        }
        if (!write_config(u, error) || !(u->mount = ffs_mount_new(u->ffs, lock, u->mnt, error))) {
                umtprd_stop(u);
                return NULL;
        }
        listener = spawn(u, error);
        if (listener < 0) {
                umtprd_stop(u);
                return NULL;
        }
        ffs_mount_start(u->mount, listener);
        return u;
}

void umtprd_stop(Umtprd *u)
{
        if (!u)
                return;
        if (u->child_watch)
                g_source_remove(u->child_watch);
        if (u->pid > 0) {
                kill(u->pid, SIGTERM);
                (void) waitpid(u->pid, NULL, 0);
                g_spawn_close_pid(u->pid);
        }
        ffs_mount_stop(u->mount);
        /* ios still waiting end now, through the still mounted FUSE session */
        g_rec_mutex_lock(u->lock);
        ffs_free(u->ffs);
        g_rec_mutex_unlock(u->lock);
        ffs_mount_free(u->mount);
        if (u->mnt)
                g_rmdir(u->mnt);
        g_free(u->dir);
        g_free(u->mnt);
        g_free(u->conf);
        g_free(u->log);
        g_free(u);
}

Ffs *umtprd_ffs(Umtprd *u)
{
        return u->ffs;
}

UsbDescriptors *umtprd_descriptors(Umtprd *u)
{
        GadgetIdentity id = { u->cam->usb_vid, u->cam->usb_pid, u->cam->manufacturer, u->cam->model, u->cam->serial };

        return gadget_descriptors(u->ffs, &id);
}
