/* SPDX-License-Identifier: Apache-2.0 */
/* u32-set.c: see u32-set.h. */
#include <errno.h>
#include <stdlib.h>

#include "u32-set.h"

static size_t slot_of(const U32Set *s, uint32_t v) {
        /* Fibonacci hashing: handles are often consecutive numbers. */
        return (size_t) (v * UINT32_C(2654435761)) & (s->capacity - 1);
}

static void put(U32Set *s, uint32_t v) {
        size_t i = slot_of(s, v);

        while (s->slots[i] != 0)
                i = (i + 1) & (s->capacity - 1);
        s->slots[i] = v;
        s->n++;
}

static int grow(U32Set *s) {
        U32Set bigger = { .capacity = s->capacity ? s->capacity * 2 : 64 };

        bigger.slots = calloc(bigger.capacity, sizeof *bigger.slots);
        if (!bigger.slots)
                return -ENOMEM;
        for (size_t i = 0; i < s->capacity; i++)
                if (s->slots[i] != 0)
                        put(&bigger, s->slots[i]);
        free(s->slots);
        *s = bigger;
        return 0;
}

int u32_set_add(U32Set *s, uint32_t v) {
        size_t i;
        int r;

        if (v == 0)
                return -EINVAL;
        if ((s->n + 1) * 2 > s->capacity) {
                r = grow(s);
                if (r < 0)
                        return r;
        }
        for (i = slot_of(s, v); s->slots[i] != 0; i = (i + 1) & (s->capacity - 1))
                if (s->slots[i] == v)
                        return 0;
        s->slots[i] = v;
        s->n++;
        return 1;
}

void u32_set_done(U32Set *s) {
        free(s->slots);
        *s = (U32Set) {};
}
