/* SPDX-License-Identifier: Apache-2.0 */
/* main.c: dockd's entry point: arguments, configuration, the manager, the loop. */
#include <getopt.h>
#include <sys/stat.h>

#include "dockd-config.h"
#include "config.h"
#include "custody.h"
#include "log.h"
#include "manager-bus.h"

#define EXIT_CONFIG 2

static const char *arg_config = NULL;
static bool arg_check_config = false;
static bool arg_allow_root = false;
static int arg_log_level = -1;
static bool arg_verify_custody = false;
static const char *arg_custody_key = NULL;
static char *const *arg_files = NULL;
static size_t arg_n_files = 0;

static void help(void) {
        printf("Usage: dockd [OPTIONS]\n\n"
               "The docking station daemon for body-worn cameras.\n\n"
               "  -c --config FILE          Configuration file (default " DOCKD_CONFIG_FILE ",\n"
               "                            plus FILE.d/*.conf)\n"
               "     --check-config         Validate the configuration, print it, and exit\n"
               "     --log-level LEVEL      emerg..debug (overrides [log] level=)\n"
               "     --allow-root           Run as root (tests and the demo only)\n"
               "     --verify-custody FILE...|DIR\n"
               "                            Verify custody log files (sealed ones first, in\n"
               "                            order, then the current one), or the log kept in\n"
               "                            DIR, safely while dockd writes it; exit 0 valid, 1 not\n"
               "     --custody-key PUB.pem  The dock's public key for --verify-custody\n"
               "  -h --help                 Show this help\n"
               "     --version              Show the version\n");
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_CHECK_CONFIG = 0x100, ARG_LOG_LEVEL, ARG_ALLOW_ROOT, ARG_VERSION, ARG_VERIFY_CUSTODY,
               ARG_CUSTODY_KEY };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "allow-root", no_argument, NULL, ARG_ALLOW_ROOT },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "verify-custody", no_argument, NULL, ARG_VERIFY_CUSTODY },
                { "custody-key", required_argument, NULL, ARG_CUSTODY_KEY },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "c:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        arg_config = optarg;
                        break;
                case ARG_CHECK_CONFIG:
                        arg_check_config = true;
                        break;
                case ARG_LOG_LEVEL:
                        arg_log_level = log_level_from_string(optarg);
                        if (arg_log_level < 0) {
                                fprintf(stderr, "dockd: invalid log level '%s'\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case ARG_ALLOW_ROOT:
                        arg_allow_root = true;
                        break;
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("dockd %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_VERIFY_CUSTODY:
                        arg_verify_custody = true;
                        break;
                case ARG_CUSTODY_KEY:
                        arg_custody_key = optarg;
                        break;
                default:
                        return -EINVAL;
                }
        if (arg_verify_custody) {
                if (optind >= argc) {
                        fprintf(stderr, "dockd: --verify-custody needs at least one FILE, or a DIR\n");
                        return -EINVAL;
                }
                arg_files = argv + optind;
                arg_n_files = (size_t) (argc - optind);
                return 1;
        }
        if (arg_custody_key) {
                fprintf(stderr, "dockd: --custody-key is only meaningful with --verify-custody\n");
                return -EINVAL;
        }
        if (optind < argc) {
                fprintf(stderr, "dockd: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

static int verify_custody(void) {
        struct stat st;

        if (arg_n_files == 1 && stat(arg_files[0], &st) >= 0 && S_ISDIR(st.st_mode))
                return custody_verify_dir(arg_files[0], arg_custody_key, stdout);
        return custody_verify_files(arg_files, arg_n_files, arg_custody_key, stdout);
}

int main(int argc, char *argv[]) {
        _cleanup_(config_freep) DockdConfig *config = NULL;
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_free_ char *error = NULL;
        int r;

        log_setup(LOG_TARGET_AUTO, -1);
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_CONFIG : EXIT_SUCCESS;
        if (arg_verify_custody)
                return verify_custody() < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        config = config_new();
        if (!config)
                return log_oom(), EXIT_FAILURE;
        r = config_load(config, arg_config, &error);
        if (r >= 0)
                r = config_validate(config, &error);
        if (r < 0) {
                fprintf(stderr, "%s\n", error ?: "configuration: out of memory");
                return EXIT_CONFIG;
        }
        log_setup(config->log_target, arg_log_level >= 0 ? arg_log_level : config->log_level);

        if (arg_check_config) {
                config_dump(config, stdout);
                return EXIT_SUCCESS;
        }
        if (geteuid() == 0 && !arg_allow_root) {
                log_error("Refusing to run as root; run as user dockd (or pass --allow-root for tests).");
                return EXIT_FAILURE;
        }

        r = manager_new(config, &m);
        if (r < 0)
                return log_error_errno(r, "Cannot set up: %m"), EXIT_FAILURE;
        r = manager_start(m);
        if (r < 0)
                return EXIT_FAILURE;
        r = manager_bus_setup(m);
        if (r < 0)
                log_warning_errno(r, "D-Bus API unavailable, dockctl will not work: %m");
        r = manager_run(m);
        log_info("dockd stopped.");
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
