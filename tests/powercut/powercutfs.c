/* SPDX-License-Identifier: Apache-2.0 */
/* powercutfs: a FUSE pass-through file system that can lose power (README.md).
 *
 *   powercutfs [--journal] --control SOCKET BACKING MOUNTPOINT
 *
 * BACKING/tree holds the live tree, BACKING/shadow the durable data. Control
 * socket: one command a line, one answer a line ("ok …" or "error …"):
 *   stats            the model's counters, one JSON object
 *   durable          the durable tree: path → "dir" or the SHA-256 of its data
 *   sync             make everything durable (as a file system's sync(2))
 *   freeze           power fails now: every request is held unanswered
 *   freeze-after N   power fails at the N-th changing or syncing request from now
 *   thaw             end a freeze without a power cut (a process crash): held
 *                    requests fail with EIO, nothing is dropped, serving goes on
 *   cut              drop every pending change: the tree is what was durable;
 *                    held requests fail with EIO, new ones too, until remount
 *   remount          after a cut: unmount (lazily) and mount again
 *   quit             unmount and exit
 * It prints "ready" on stdout once mounted and listening. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fs.h"

static const char *mountpoint;

static void *mount_loop(void *userdata) {
        Mount *mt = userdata;

        /* Ends when the kernel drops the connection: the lazily unmounted file
         * system's last user is gone. */
        fuse_session_loop(mt->session);
        fuse_session_destroy(mt->session);
        g_free(mt);
        return NULL;
}

static int mount_start(Fs *fs) {
        char *argv[] = { "powercutfs", "-o", "default_permissions,allow_other,fsname=powercutfs,subtype=powercut", NULL };
        struct fuse_args args = FUSE_ARGS_INIT(3, argv);
        Mount *mt = g_new0(Mount, 1);

        mt->fs = fs;
        mt->generation = fs->generation;
        mt->session = fuse_session_new(&args, &powercut_ops, sizeof powercut_ops, mt);
        if (!mt->session) {
                g_free(mt);
                return -EIO;
        }
        if (fuse_session_mount(mt->session, mountpoint) != 0) {
                fuse_session_destroy(mt->session);
                g_free(mt);
                return -EIO;
        }
        if (pthread_create(&mt->thread, NULL, mount_loop, mt) != 0)
                return -EAGAIN;
        pthread_detach(mt->thread);
        return 0;
}

static void fail_deferred(Fs *fs) {
        for (guint k = 0; k < fs->deferred->len; k++)
                fuse_reply_err(fs->deferred->pdata[k], EIO);
        g_ptr_array_set_size(fs->deferred, 0);
}

/* Runs one command under the lock; returns the answer line (without newline). */
static char *command(Fs *fs, const char *line) {
        uint64_t n;
        int r;

        if (strcmp(line, "stats") == 0) {
                g_autofree char *j = model_stats_json(fs->model, fs_state_to_string(fs->state), fs->deferred->len);
                return g_strdup_printf("ok %s", j);
        }
        if (strcmp(line, "durable") == 0) {
                g_autofree char *j = model_durable_json(fs->model);
                return g_strdup_printf("ok %s", j);
        }
        if (strcmp(line, "sync") == 0) {
                if (fs->state != FS_SERVING)
                        return g_strdup("error not serving");
                r = model_sync_all(fs->model);
                return r < 0 ? g_strdup_printf("error sync: %s", strerror(-r)) : g_strdup("ok");
        }
        if (strcmp(line, "freeze") == 0) {
                if (fs->state == FS_SERVING)
                        fs->state = FS_FROZEN;
                return g_strdup_printf("ok %s", fs_state_to_string(fs->state));
        }
        if (sscanf(line, "freeze-after %" SCNu64, &n) == 1 && n > 0) {
                fs->freeze_at = fs->model->stats.ops + n;
                return g_strdup_printf("ok freeze at op %" PRIu64, fs->freeze_at);
        }
        if (strcmp(line, "thaw") == 0) {
                if (fs->state == FS_CUT)
                        return g_strdup("error cut");
                fs->state = FS_SERVING;
                fs->freeze_at = 0;
                fail_deferred(fs);
                return g_strdup("ok");
        }
        if (strcmp(line, "cut") == 0) {
                if (fs->state == FS_CUT)
                        return g_strdup("error already cut");
                fs->state = FS_CUT;
                fs->freeze_at = 0;
                r = model_cut(fs->model);
                fail_deferred(fs);
                return r < 0 ? g_strdup_printf("error rebuilding the durable tree: %s", strerror(-r)) : g_strdup("ok");
        }
        if (strcmp(line, "remount") == 0) {
                if (fs->state != FS_CUT)
                        return g_strdup("error remount only after a cut");
                if (umount2(mountpoint, MNT_DETACH) < 0 && errno != EINVAL)
                        return g_strdup_printf("error unmount: %s", strerror(errno));
                fs->generation++;
                fs->state = FS_SERVING;
                r = mount_start(fs);
                return r < 0 ? g_strdup_printf("error mount: %s", strerror(-r)) : g_strdup("ok");
        }
        if (strcmp(line, "quit") == 0) {
                (void) umount2(mountpoint, MNT_DETACH);
                exit(EXIT_SUCCESS);
        }
        return g_strdup_printf("error unknown command: %s", line);
}

static void serve_client(Fs *fs, int c) {
        FILE *f = fdopen(c, "r+");
        char *line = NULL;
        size_t size = 0;
        ssize_t n;

        if (!f) {
                close(c);
                return;
        }
        while ((n = getline(&line, &size, f)) > 0) {
                g_autofree char *answer = NULL;

                line[strcspn(line, "\r\n")] = 0;
                pthread_mutex_lock(&fs->lock);
                answer = command(fs, line);
                pthread_mutex_unlock(&fs->lock);
                fprintf(f, "%s\n", answer);
                fflush(f);
        }
        free(line);
        fclose(f);
}

static void *control_loop(void *userdata) {
        Fs *fs = userdata;
        int l = fs->control_fd;

        for (;;) {
                int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);

                if (c >= 0)
                        serve_client(fs, c);
                else if (errno != EINTR && errno != ECONNABORTED)
                        return NULL;
        }
}

static int control_listen(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        (void) unlink(path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(fd, 4) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static void raise_fd_limit(void) {
        struct rlimit rl;

        /* One O_PATH descriptor per live inode. */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

static void usage(FILE *f) {
        fprintf(f, "usage: powercutfs [--journal] --control SOCKET BACKING MOUNTPOINT\n");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "journal", no_argument, NULL, 'j' },
                { "control", required_argument, NULL, 'c' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        Durability durability = DURABILITY_STRICT;
        const char *control = NULL;
        Fs fs = { .lock = PTHREAD_MUTEX_INITIALIZER, .generation = 1 };
        pthread_t control_thread;
        sigset_t mask;
        int c, r, sig;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'j':
                        durability = DURABILITY_JOURNAL;
                        break;
                case 'c':
                        control = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return EXIT_SUCCESS;
                default:
                        usage(stderr);
                        return 2;
                }
        if (!control || argc - optind != 2) {
                usage(stderr);
                return 2;
        }
        mountpoint = argv[optind + 1];

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &mask, NULL);   /* every thread inherits it; main waits */
        signal(SIGPIPE, SIG_IGN);
        raise_fd_limit();

        r = model_new(argv[optind], durability, &fs.model);
        if (r < 0) {
                fprintf(stderr, "powercutfs: cannot prepare %s: %s\n", argv[optind], strerror(-r));
                return EXIT_FAILURE;
        }
        fs.deferred = g_ptr_array_new();
        fs.control_fd = control_listen(control);
        if (fs.control_fd < 0) {
                fprintf(stderr, "powercutfs: cannot listen on %s: %s\n", control, strerror(-fs.control_fd));
                return EXIT_FAILURE;
        }
        if (mount_start(&fs) < 0) {
                fprintf(stderr, "powercutfs: cannot mount on %s\n", mountpoint);
                return EXIT_FAILURE;
        }
        if (pthread_create(&control_thread, NULL, control_loop, &fs) != 0)
                return EXIT_FAILURE;
        printf("ready\n");
        fflush(stdout);

        sigwait(&mask, &sig);
        (void) umount2(mountpoint, MNT_DETACH);
        return EXIT_SUCCESS;
}
