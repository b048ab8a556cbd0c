/* SPDX-License-Identifier: Apache-2.0 */
/* A libFuzzer stand-in for builds without clang (scripts/test uses gcc): runs a
 * fuzz target's LLVMFuzzerTestOneInput over its seed corpus, then over N
 * pseudo-random mutations of the seeds. Deterministic for a given seed, so a
 * failure can be replayed; the failing input is written out for the real fuzzer.
 * Usage: fuzz-X-standalone [-n N] [-s SEED] [-o CRASH_FILE] FILE|DIR… */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_MAX_INPUT (64 * 1024)

typedef struct Input {
        uint8_t *data;
        size_t size;
} Input;

static Input *seeds;
static size_t n_seeds;
static const uint8_t *current;
static size_t current_size;
static const char *crash_file = "fuzz-standalone-crash";

static uint64_t rng_state;

/* xorshift64*: small, fast, and the same everywhere. */
static uint64_t rnd(void) {
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * UINT64_C(2685821657736338717);
}

static size_t rnd_below(size_t n) {
        return n ? (size_t) (rnd() % n) : 0;
}

static void add_seed(const char *path) {
        FILE *f = fopen(path, "rbe");
        uint8_t *buf;
        size_t n;

        if (!f) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                exit(2);
        }
        buf = malloc(FUZZ_MAX_INPUT);
        if (!buf)
                abort();
        n = fread(buf, 1, FUZZ_MAX_INPUT, f);
        fclose(f);
        seeds = realloc(seeds, (n_seeds + 1) * sizeof(Input));
        if (!seeds)
                abort();
        seeds[n_seeds++] = (Input) { buf, n };
}

static void add_path(const char *path) {
        struct stat st;
        DIR *d;
        struct dirent *de;

        if (stat(path, &st) < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                exit(2);
        }
        if (!S_ISDIR(st.st_mode)) {
                add_seed(path);
                return;
        }
        d = opendir(path);
        if (!d)
                exit(2);
        while ((de = readdir(d))) {
                char *p;

                if (de->d_name[0] == '.')
                        continue;
                if (asprintf(&p, "%s/%s", path, de->d_name) < 0)
                        abort();
                add_path(p);
                free(p);
        }
        closedir(d);
}

/* On a crash or abort, leave the input behind so that it can be replayed. */
static void on_fatal(int sig) {
        FILE *f = fopen(crash_file, "wbe");

        if (f) {
                fwrite(current, 1, current_size, f);
                fclose(f);
                fprintf(stderr, "fuzz-standalone: signal %d, input written to %s\n", sig, crash_file);
        }
        signal(sig, SIG_DFL);
        raise(sig);
}

static void run(const uint8_t *data, size_t size) {
        /* A private copy of exactly size bytes, so that overreads hit the redzone. */
        uint8_t *copy = malloc(size ? size : 1);

        if (!copy)
                abort();
        if (size > 0)
                memcpy(copy, data, size);
        current = copy;
        current_size = size;
        LLVMFuzzerTestOneInput(copy, size);
        free(copy);
}

static size_t mutate(uint8_t *buf, size_t size, size_t max) {
        static const uint8_t interesting[] = { 0x00, 0x01, 0x02, 0x7F, 0x80, 0xFE, 0xFF, 0x0A, 0x0D, 0x2C,
                                               0x3D, 0x30, 0x39, 0x2D, 0xD8, 0xDC, 0xC0, 0xEF };
        unsigned n = 1 + (unsigned) rnd_below(4);

        for (unsigned i = 0; i < n; i++) {
                switch (rnd_below(9)) {
                case 0:         /* flip a bit */
                        if (size)
                                buf[rnd_below(size)] ^= (uint8_t) (1u << rnd_below(8));
                        break;
                case 1:         /* an interesting byte */
                        if (size)
                                buf[rnd_below(size)] = interesting[rnd_below(sizeof interesting)];
                        break;
                case 2:         /* a random byte */
                        if (size)
                                buf[rnd_below(size)] = (uint8_t) rnd();
                        break;
                case 3:         /* an interesting 32-bit length/count */
                        if (size >= 4) {
                                static const uint32_t counts[] = { 0, 1, 2, 4, 5, 0x7F, 0xFF, 0x100, 0xFFFF,
                                                                   0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF };
                                uint32_t v = counts[rnd_below(sizeof counts / sizeof counts[0])];
                                size_t at = rnd_below(size - 3);
                                for (int k = 0; k < 4; k++)
                                        buf[at + k] = (uint8_t) (v >> (8 * k));
                        }
                        break;
                case 4:         /* truncate */
                        size = rnd_below(size + 1);
                        break;
                case 5:         /* delete a run */
                        if (size) {
                                size_t at = rnd_below(size), len = 1 + rnd_below(MIN(size - at, 16));
                                memmove(buf + at, buf + at + len, size - at - len);
                                size -= len;
                        }
                        break;
                case 6:         /* insert a run of random bytes */
                        if (size < max) {
                                size_t at = rnd_below(size + 1), len = 1 + rnd_below(MIN(max - size, 16));
                                memmove(buf + at + len, buf + at, size - at);
                                for (size_t k = 0; k < len; k++)
                                        buf[at + k] = (uint8_t) rnd();
                                size += len;
                        }
                        break;
                case 7:         /* duplicate a run (repeated lines, repeated records) */
                        if (size && size < max) {
                                size_t at = rnd_below(size), len = 1 + rnd_below(MIN(MIN(size - at, max - size), 64));
                                memmove(buf + at + len, buf + at, size - at);
                                size += len;
                        }
                        break;
                case 8:         /* splice in the tail of another seed */
                        if (n_seeds) {
                                const Input *o = &seeds[rnd_below(n_seeds)];
                                size_t at = rnd_below(size + 1), from = rnd_below(o->size + 1);
                                size_t len = MIN(o->size - from, max - at);
                                memcpy(buf + at, o->data + from, len);
                                size = at + len;
                        }
                        break;
                }
        }
        return size;
}

int main(int argc, char *argv[]) {
        unsigned long runs = 10000;
        uint64_t seed = 1;
        uint8_t *buf;
        int c;

        while ((c = getopt(argc, argv, "n:s:o:")) >= 0)
                switch (c) {
                case 'n':
                        runs = strtoul(optarg, NULL, 10);
                        break;
                case 's':
                        seed = strtoull(optarg, NULL, 10);
                        break;
                case 'o':
                        crash_file = optarg;
                        break;
                default:
                        fprintf(stderr, "usage: %s [-n RUNS] [-s SEED] [-o CRASH_FILE] FILE|DIR…\n", argv[0]);
                        return 2;
                }
        for (int i = optind; i < argc; i++)
                add_path(argv[i]);
        if (n_seeds == 0) {
                fprintf(stderr, "no seeds\n");
                return 2;
        }

        signal(SIGABRT, on_fatal);
        signal(SIGSEGV, on_fatal);
        signal(SIGBUS, on_fatal);
        signal(SIGFPE, on_fatal);
        if (LLVMFuzzerInitialize)
                LLVMFuzzerInitialize(&argc, &argv);

        for (size_t i = 0; i < n_seeds; i++)
                run(seeds[i].data, seeds[i].size);
        run(NULL, 0);

        rng_state = seed * UINT64_C(0x9E3779B97F4A7C15) | 1;
        buf = malloc(FUZZ_MAX_INPUT);
        if (!buf)
                abort();
        for (unsigned long i = 0; i < runs; i++) {
                const Input *s = &seeds[rnd_below(n_seeds)];
                size_t size = s->size;

                memcpy(buf, s->data, size);
                size = mutate(buf, size, FUZZ_MAX_INPUT);
                run(buf, size);
        }
        printf("%zu seeds, %lu mutated inputs, seed %llu: no findings\n", n_seeds, runs,
               (unsigned long long) seed);
        free(buf);
        for (size_t i = 0; i < n_seeds; i++)
                free(seeds[i].data);
        free(seeds);
        return 0;
}
