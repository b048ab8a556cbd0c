/* SPDX-License-Identifier: Apache-2.0 */
/* dockd-upload: dockd's own uploader and central storage backend, without the
 * docking station around them: uploads files with a dockd configuration and
 * exits when central storage confirmed every one. For the upload benchmark
 * (same files, same store as rclone) and for backend tests that need no camera.
 *
 *   dockd-upload --config FILE [--state-dir DIR] [--prefix P] [--give-up-after N]
 *                [--retain-until UNIX-SECONDS] [--legal-hold] FILE...
 *
 * Each FILE is uploaded as <prefix>/<basename>, with its resume state in
 * DIR/<basename>.upload (default: no resume). Prints "confirmed KEY" per object,
 * then "bytes: N" and "seconds: S". Exit 0 all confirmed, 1 an object was given
 * up, 3 when central storage kept failing for N seconds (--give-up-after N), 2 usage.
 * --retain-until and --legal-hold go on every object as the daemon sets them from a
 * recording's categories (with [s3] object_lock=yes, the Object Lock headers). */
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "backend.h"
#include "dockd-config.h"
#include "fileio.h"
#include "log.h"
#include "uploader.h"

static unsigned n_left, give_up_after;
static usec_t failing_since;
static int exit_status;
static sd_event *event;

static void on_object(UploadJob *j, const UploadObjectSpec *o, const BackendConfirmation *conf, void *userdata) {
        printf("confirmed %s\n", o->key);
        fflush(stdout);
}

static void on_job(UploadJob *j, int error, const char *message, void *userdata) {
        if (error < 0) {
                fprintf(stderr, "dockd-upload: %s given up: %s\n", (char *) userdata, message ?: strerror(-error));
                exit_status = 1;
        }
        if (--n_left == 0)
                sd_event_exit(event, 0);
}

static int on_check(sd_event_source *s, uint64_t usec, void *userdata) {
        Uploader *u = userdata;
        UploaderStats st;

        uploader_get_stats(u, &st);
        if (!st.failing)
                failing_since = 0;
        else if (failing_since == 0)
                failing_since = usec;
        if (give_up_after > 0 && failing_since > 0 && usec - failing_since >= give_up_after * USEC_PER_SEC) {
                fprintf(stderr, "dockd-upload: central storage kept failing for %us: %s\n", give_up_after,
                        strna(st.last_error));
                exit_status = 3;
                return sd_event_exit(event, 0);
        }
        (void) sd_event_source_set_time(s, usec + 20 * USEC_PER_MSEC);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int sha256_path(const char *path, uint64_t *ret_size, uint8_t ret[32]) {
        _cleanup_free_ uint8_t *buf = malloc(1 << 20);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        FILE *f = fopen(path, "re");
        uint64_t total = 0;
        size_t n;

        if (!buf || !ctx || !f || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
                EVP_MD_CTX_free(ctx);
                if (f)
                        fclose(f);
                return -errno ?: -ENOMEM;
        }
        while ((n = fread(buf, 1, 1 << 20, f)) > 0) {
                EVP_DigestUpdate(ctx, buf, n);
                total += n;
        }
        fclose(f);
        EVP_DigestFinal_ex(ctx, ret, NULL);
        EVP_MD_CTX_free(ctx);
        *ret_size = total;
        return 0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "state-dir", required_argument, NULL, 's' },
                { "prefix", required_argument, NULL, 'p' },
                { "give-up-after", required_argument, NULL, 'g' },
                { "retain-until", required_argument, NULL, 'r' },
                { "legal-hold", no_argument, NULL, 'l' },
                {}
        };
        _cleanup_(config_freep) DockdConfig *config = config_new();
        _cleanup_(backend_freep) Backend *backend = NULL;
        _cleanup_(uploader_freep) Uploader *u = NULL;
        _cleanup_free_ char *error = NULL;
        const char *config_path = NULL, *state_dir = NULL, *prefix = "";
        sd_event_source *check = NULL;
        struct timespec t0, t1;
        uint64_t total = 0;
        usec_t retain_until = 0;
        bool legal_hold = false;
        int c, r;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'c': config_path = optarg; break;
                case 's': state_dir = optarg; break;
                case 'p': prefix = optarg; break;
                case 'g': give_up_after = (unsigned) strtoul(optarg, NULL, 10); break;
                case 'r': retain_until = (usec_t) strtoull(optarg, NULL, 10) * USEC_PER_SEC; break;
                case 'l': legal_hold = true; break;
                default: return 2;
                }
        if (!config_path || optind >= argc || !config) {
                fprintf(stderr, "usage: dockd-upload --config FILE [--state-dir DIR] [--prefix P] FILE...\n");
                return 2;
        }
        log_setup(LOG_TARGET_CONSOLE, -1);
        r = config_load(config, config_path, &error);
        if (r >= 0)
                r = config_validate(config, &error);
        if (r < 0) {
                fprintf(stderr, "%s\n", strna(error));
                return 2;
        }
        log_setup(LOG_TARGET_CONSOLE, config->log_level);
        signal(SIGPIPE, SIG_IGN);
        if (sd_event_default(&event) < 0)
                return 1;
        r = backend_new(event, config, &backend, &error);
        if (r < 0) {
                fprintf(stderr, "dockd-upload: %s\n", strna(error));
                return 1;
        }
        if (uploader_new(event, config, backend, &u) < 0)
                return 1;
        for (int i = optind; i < argc; i++) {
                _cleanup_free_ char *copy = strdup(argv[i]), *key = NULL, *state = NULL;
                const char *base = basename(copy);
                UploadJobSpec spec = { .name = argv[i], .group = "bench", .priority = UPLOAD_PRIORITY_NORMAL,
                                       .object_done = on_object, .done = on_job, .userdata = strdup(argv[i]),
                                       .destroy = free };
                UploadObjectSpec *o = &spec.objects[0];

                if (asprintf(&key, "%s%s%s", prefix, *prefix ? "/" : "", base) < 0 ||
                    (state_dir && asprintf(&state, "%s/%s.upload", state_dir, base) < 0))
                        return 1;
                *o = (UploadObjectSpec) { .key = key, .path = argv[i], .content_type = "application/octet-stream",
                                          .state_path = state, .retain_until = retain_until,
                                          .legal_hold = legal_hold };
                r = sha256_path(argv[i], &o->size, o->sha256);
                if (r < 0) {
                        fprintf(stderr, "dockd-upload: %s: %s\n", argv[i], strerror(-r));
                        return 2;
                }
                total += o->size;
                spec.n_objects = 1;
                if (uploader_add(u, &spec, NULL) < 0)
                        return 1;
                n_left++;
        }
        (void) sd_event_add_time_relative(event, &check, CLOCK_MONOTONIC, 20 * USEC_PER_MSEC, 0, on_check, u);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = sd_event_loop(event);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("bytes: %" PRIu64 "\nseconds: %.3f\n", total,
               (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9);
        sd_event_source_disable_unref(check);
        u = uploader_free(u);
        backend = backend_free(backend);
        sd_event_unref(event);
        return r < 0 ? 1 : exit_status;
}
