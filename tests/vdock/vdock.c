/* vdock.c: the dock simulator's main: build the world from a scenario, run
 * COMMAND inside it, play the timeline, exit with COMMAND's status.
 * Usage: vdock --scenario FILE [--ground-truth OUT.json] [--pki-dir DIR]
 *              [--world-dir DIR] [--time-scale N] -- COMMAND [ARGS...] */
#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <glib-unix.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "control.h"
#include "preload-fork.h"
#include "truth.h"
#include "world.h"

typedef struct {
        World *world;
        GMainLoop *loop;
        GPid child;
        int status;
        gint64 start_us;
} Run;

static void on_child_exit(GPid pid, gint status, gpointer data)
{
        Run *run = data;

        run->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        g_spawn_close_pid(pid);
        run->child = 0;
        g_main_loop_quit(run->loop);
}

static gboolean on_signal(gpointer data)
{
        Run *run = data;

        if (run->child)
                kill(run->child, SIGTERM);
        return G_SOURCE_CONTINUE;
}

typedef struct {
        World *world;
        char *command;
} Timed;

static gboolean run_timed(gpointer data)
{
        Timed *t = data;
        g_autofree char *reply = control_execute(t->world, t->command);

        if (!g_str_has_prefix(reply, "ok"))
                g_printerr("vdock: timeline '%s': %s\n", t->command, reply);
        g_free(t->command);
        g_free(t);
        return G_SOURCE_REMOVE;
}

/* Cameras docked from the start (`bay =`) are on the bus, their uevents sent,
 * before COMMAND runs: a program that enumerates once at start-up finds them. */
static gboolean dock_initial(World *w, Scenario *s)
{
        for (guint i = 0; i < s->timeline->len; i++) {
                TimedCommand *tc = s->timeline->pdata[i];
                g_autofree char *reply = NULL;

                if (!tc->docked)
                        continue;
                reply = control_execute(w, tc->command);
                if (!g_str_has_prefix(reply, "ok")) {
                        g_printerr("vdock: '%s': %s\n", tc->command, reply);
                        return FALSE;
                }
        }
        return TRUE;
}

static void schedule_timeline(World *w, Scenario *s)
{
        for (guint i = 0; i < s->timeline->len; i++) {
                TimedCommand *tc = s->timeline->pdata[i];
                Timed *t;

                if (tc->docked)
                        continue;
                t = g_new0(Timed, 1);

                t->world = w;
                t->command = g_strdup(tc->command);
                /* priority orders same-time events as written */
                g_timeout_add_full(G_PRIORITY_DEFAULT + (int) MIN(i, 50), (guint) (tc->at * 1000), run_timed, t, NULL);
        }
}

static char **child_env(World *w, const char *pki_ca, const char *control, const char *world_dir, unsigned bays)
{
        char **env = g_get_environ();
        const char *old = g_environ_getenv(env, "LD_PRELOAD");
        g_autofree char *preload = old && strstr(old, "libumockdev-preload") ? g_strdup(old) :
                                   old && *old ? g_strdup_printf("libumockdev-preload.so.0 %s", old)
                                               : g_strdup("libumockdev-preload.so.0");
        g_autofree char *nbays = g_strdup_printf("%u", bays);

        env = g_environ_unsetenv(env, "VDOCK_PRELOADED");
        env = g_environ_setenv(env, "UMOCKDEV_DIR", world_root(w), TRUE);
        env = g_environ_setenv(env, "LD_PRELOAD", preload, TRUE);
        env = g_environ_setenv(env, "VDOCK_CA", pki_ca, TRUE);
        env = g_environ_setenv(env, "VDOCK_CRL", world_crl_path(w), TRUE);
        env = g_environ_setenv(env, "VDOCK_CONTROL", control, TRUE);
        env = g_environ_setenv(env, "VDOCK_BAYS", nbays, TRUE);
        env = g_environ_setenv(env, "VDOCK_WORLD", world_dir, TRUE);
        return env;
}

/* umockdev sends uevents through its preload library's view of /sys, so
 * vdock itself must run preloaded; re-execute once with it. */
static void ensure_preloaded(char **argv)
{
        const char *old = g_getenv("LD_PRELOAD");
        g_autofree char *preload = NULL;

        if (g_getenv("VDOCK_PRELOADED") || (old && strstr(old, "libumockdev-preload")))
                return;
        preload = old && *old ? g_strdup_printf("libumockdev-preload.so.0 %s", old) : g_strdup("libumockdev-preload.so.0");
        g_setenv("LD_PRELOAD", preload, TRUE);
        g_setenv("VDOCK_PRELOADED", "1", TRUE);
        execv("/proc/self/exe", argv);
        g_printerr("vdock: re-exec: %s\n", g_strerror(errno));
}

static int split_command(int *argc, char ***argv, char ***ret_cmd)
{
        for (int i = 1; i < *argc; i++) {
                if (g_str_equal((*argv)[i], "--")) {
                        *ret_cmd = *argv + i + 1;
                        (*argv)[i] = NULL;
                        *argc = i;
                        return 0;
                }
        }
        return -1;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        (void) st;
        (void) ftw;
        return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 && errno != ENOENT ? -1 : 0;
}

int main(int argc, char **argv)
{
        g_autofree char *scenario_path = NULL, *truth_path = NULL, *pki_dir = NULL, *world_dir = NULL;
        double time_scale = 0;
        const GOptionEntry options[] = {
                { "scenario", 0, 0, G_OPTION_ARG_FILENAME, &scenario_path, "Scenario file", "FILE" },
                { "ground-truth", 0, 0, G_OPTION_ARG_FILENAME, &truth_path, "Write ground truth JSON here at exit", "OUT.json" },
                { "pki-dir", 0, 0, G_OPTION_ARG_FILENAME, &pki_dir, "Test CA directory (reused if it holds ca.pem+ca.key)", "DIR" },
                { "world-dir", 0, 0, G_OPTION_ARG_FILENAME, &world_dir, "World directory (default: a new temporary one)", "DIR" },
                { "time-scale", 0, 0, G_OPTION_ARG_DOUBLE, &time_scale, "Battery model speed, overriding [dock] time_scale", "N" },
                { NULL },
        };
        g_autoptr(GOptionContext) ctx = g_option_context_new("-- COMMAND [ARGS...]");
        g_autoptr(GError) error = NULL;
        g_autofree char *control_path = NULL;
        g_auto(GStrv) env = NULL;
        char **command = NULL;
        Scenario *scenario;
        Control *control;
        Pki *pki;
        Run run = { 0 };
        bool own_world_dir;

        ensure_preloaded(argv);
        /* before any thread: umtprd's spawn and libfuse's fusermount3 fork */
        if (!preload_fork_safe()) {
                g_printerr("vdock: umockdev's preload is not loaded, or its locks are not where vdock resets them "
                           "in forked children\n");
                return 2;
        }

        if (split_command(&argc, &argv, &command) < 0 || !command[0]) {
                g_printerr("usage: vdock --scenario FILE [--ground-truth OUT.json] [--pki-dir DIR] [--world-dir DIR] "
                           "[--time-scale N] -- COMMAND [ARGS...]\n");
                return 2;
        }
        g_option_context_add_main_entries(ctx, options, NULL);
        if (!g_option_context_parse(ctx, &argc, &argv, &error) || !scenario_path) {
                g_printerr("vdock: %s\n", error ? error->message : "--scenario is required");
                return 2;
        }
        scenario = scenario_load(scenario_path, &error);
        if (!scenario) {
                g_printerr("vdock: %s\n", error->message);
                return 2;
        }
        if (time_scale < 0 || time_scale > 1e6) {
                g_printerr("vdock: --time-scale must be between 0 and 1000000\n");
                return 2;
        }
        if (time_scale > 0) {
                /* A test that is not about charging need not wait hours for one. */
                scenario->time_scale = time_scale;
                for (guint i = 0; i < scenario->cameras->len; i++)
                        ((Camera *) scenario->cameras->pdata[i])->battery.time_scale = time_scale;
        }
        own_world_dir = !world_dir;
        if (own_world_dir)
                world_dir = g_dir_make_tmp("vdock-XXXXXX", &error);
        else if (g_mkdir_with_parents(world_dir, 0755) < 0)
                g_clear_pointer(&world_dir, g_free);
        if (!world_dir) {
                g_printerr("vdock: world dir: %s\n", error ? error->message : "cannot create");
                return 2;
        }
        if (!pki_dir)
                pki_dir = g_build_filename(world_dir, "pki", NULL);
        pki = pki_open(pki_dir, &error);
        if (!pki) {
                g_printerr("vdock: %s\n", error->message);
                return 2;
        }
        run.world = world_new(scenario, world_dir, pki, &error);
        if (!run.world) {
                g_printerr("vdock: %s\n", error->message);
                return 2;
        }
        control_path = g_build_filename(world_dir, "control.sock", NULL);
        control = control_listen(run.world, control_path, &error);
        if (!control) {
                g_printerr("vdock: control socket: %s\n", error->message);
                return 2;
        }
        if (!dock_initial(run.world, scenario))
                return 2;
        env = child_env(run.world, pki_ca_path(pki), control_path, world_dir, scenario->bays);
        if (!g_spawn_async(NULL, command, env, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                           G_SPAWN_CHILD_INHERITS_STDIN, NULL, NULL, &run.child, &error)) {
                g_printerr("vdock: %s: %s\n", command[0], error->message);
                return 127;
        }
        run.loop = g_main_loop_new(NULL, FALSE);
        g_child_watch_add(run.child, on_child_exit, &run);
        g_unix_signal_add(SIGTERM, on_signal, &run);
        g_unix_signal_add(SIGINT, on_signal, &run);
        schedule_timeline(run.world, scenario);
        g_main_loop_run(run.loop);
        /* umockdev's worker thread serves the devices' ioctls (a camera signs
         * there) and is never joined: stop it before the world is freed and
         * before exit() runs OpenSSL's cleanup under it. */
        if (!world_quiesce(run.world, 30000)) {
                g_printerr("vdock: an ioctl handler did not return within 30 s; exiting without tearing the "
                           "world down\n");
                if (own_world_dir)
                        (void) nftw(world_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
                _exit(run.status ? run.status : 1);
        }
        if (truth_path && !truth_write(run.world, truth_path, &error)) {
                g_printerr("vdock: ground truth: %s\n", error->message);
                run.status = run.status ? run.status : 1;
        }
        control_free(control);
        world_free(run.world);
        scenario_free(scenario);
        pki_free(pki);
        g_main_loop_unref(run.loop);
        /* A world nobody asked to keep leaves nothing behind (its CA key included). */
        if (own_world_dir && nftw(world_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
                g_printerr("vdock: cannot remove %s: %s\n", world_dir, g_strerror(errno));
        return run.status;
}
