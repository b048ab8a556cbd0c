/* preload-fork.c: umockdev's preload locks reset in forked children
 * (preload-fork.h). */
#include "preload-fork.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

/* The preload's own globals (exported by libumockdev-preload.so.0 0.17.16). */
static pthread_mutex_t *trap_path_lock, *ioctl_lock;

/* In the child, which has one thread: whoever held them is not there. */
static void reset_in_child(void)
{
        static const pthread_mutex_t unlocked = PTHREAD_MUTEX_INITIALIZER;

        *trap_path_lock = unlocked;
        if (ioctl_lock)
                *ioctl_lock = unlocked;
}

bool preload_fork_safe(void)
{
        trap_path_lock = dlsym(RTLD_DEFAULT, "trap_path_lock");
        ioctl_lock = dlsym(RTLD_DEFAULT, "ioctl_lock");
        if (!trap_path_lock)
                return false;
        return pthread_atfork(NULL, NULL, reset_in_child) == 0;
}
