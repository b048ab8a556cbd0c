/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz.h: what every fuzz target defines (libFuzzer's interface), a check
 * that aborts, so that a broken invariant is a finding like a crash is, and
 * the files of targets whose input is read from disk. */
#pragma once

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define fuzz_check(expr)                                                              \
        do {                                                                          \
                if (!(expr)) {                                                        \
                        fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,    \
                                __LINE__, #expr);                                     \
                        abort();                                                      \
                }                                                                     \
        } while (0)

/* A private directory for the input's files: in memory (/dev/shm) where there
 * is one, else /tmp. It outlives the process (it is small). */
static inline char *fuzz_tmpdir(const char *name) {
        char *p;

        if (asprintf(&p, "/dev/shm/%s-XXXXXX", name) < 0)
                abort();
        if (!mkdtemp(p)) {
                free(p);
                if (asprintf(&p, "/tmp/%s-XXXXXX", name) < 0 || !mkdtemp(p))
                        abort();
        }
        return p;
}

/* path holds exactly data now. */
static inline void fuzz_write_file(const char *path, const uint8_t *data, size_t size) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        if (fd < 0)
                abort();
        if (size > 0 && write(fd, data, size) != (ssize_t) size)
                abort();
        close(fd);
}
