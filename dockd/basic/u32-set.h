/* SPDX-License-Identifier: Apache-2.0 */
/* u32-set.h: a set of non-zero 32-bit numbers (open addressing, linear
 * probing), for telling in O(1) whether a camera named an object before:
 * a folder walk over a camera's word must see each handle once. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct U32Set {
        uint32_t *slots;          /* 0: empty */
        size_t n, capacity;       /* capacity: 0 or a power of two, at most half full */
} U32Set;

/* 1 if v was added, 0 if it was there, -EINVAL for v == 0, -ENOMEM. */
int u32_set_add(U32Set *s, uint32_t v);
void u32_set_done(U32Set *s);
