/* test-preload-fork.c: a child vdock forks can make path calls even if it was
 * forked while another thread was inside one (preload-fork.h). Runs under
 * libumockdev-preload, as vdock does; a child that deadlocks hangs the test
 * until meson's timeout ends it. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "preload-fork.h"

/* In a thread: the preload's open() takes its path lock and holds it until
 * a writer opens the FIFO. */
static gpointer open_fifo(gpointer path)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        g_assert_cmpint(fd, >=, 0);
        close(fd);
        return NULL;
}

/* Until the thread is inside open(): the lock is taken. */
static void wait_taken(pthread_mutex_t *lock)
{
        while (pthread_mutex_trylock(lock) == 0) {
                pthread_mutex_unlock(lock);
                g_usleep(1000);
        }
}

static void test_fork_inside_path_call(void)
{
        pthread_mutex_t *lock = dlsym(RTLD_DEFAULT, "trap_path_lock");
        g_autofree char *dir = g_dir_make_tmp("vdock-preload-fork-XXXXXX", NULL);
        g_autofree char *fifo = g_build_filename(dir, "fifo", NULL);
        GThread *t;
        int status, writer;
        pid_t pid;

        g_assert_nonnull(lock);   /* run under libumockdev-preload (meson.build) */
        g_assert_true(preload_fork_safe());   /* as vdock's main() does */
        g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
        t = g_thread_new("holder", open_fifo, fifo);
        wait_taken(lock);
        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0)
                _exit(chdir("/") == 0 ? 0 : 1);   /* a wrapped path call, as GLib's spawn makes */
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        /* the raw syscall: the preload's open() would wait for the lock the holder has */
        writer = (int) syscall(SYS_openat, AT_FDCWD, fifo, O_WRONLY | O_CLOEXEC);
        g_assert_cmpint(writer, >=, 0);
        g_thread_join(t);
        close(writer);
        g_unlink(fifo);
        g_rmdir(dir);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/preload-fork/fork-inside-path-call", test_fork_inside_path_call);
        return g_test_run();
}
