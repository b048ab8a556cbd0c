/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz.h: what every fuzz target defines (libFuzzer's interface), and a check
 * that aborts, so that a broken invariant is a finding like a crash is. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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
