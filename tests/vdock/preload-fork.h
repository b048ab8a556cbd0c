/* preload-fork.h: children vdock forks do not inherit umockdev's preload
 * locks taken.
 *
 * vdock runs under libumockdev-preload, whose wrappers of path calls (open,
 * stat, chdir, mkdir, opendir ...) take one global mutex, trap_path_lock, with
 * every signal blocked, and hold it across the real call. umockdev 0.17
 * (Debian 12) does not reset it in a forked child: a child forked while
 * another thread is inside such a call (GIO's threads load modules while the
 * world is built) inherits it locked, and its first wrapped call (GLib's
 * chdir() for umtprd's working directory, open("/dev/null"), libfuse's
 * fusermount3 child) waits forever, every signal blocked: the parent waits in
 * g_spawn for an exec that never comes, and the test hangs without a line.
 * umockdev 0.19.6 resets its locks in the child itself (upstream 15ddf35). */
#pragma once
#include <stdbool.h>

/* Once, before the first thread starts: from now on a forked child gets the
 * preload's locks unlocked. False if no preload with those locks is loaded
 * (then there is nothing to reset). */
bool preload_fork_safe(void);
