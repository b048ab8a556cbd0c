/* SPDX-License-Identifier: Apache-2.0 */
/* macro.h: cleanup attributes, ownership transfer and small helpers used everywhere. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _pure_ __attribute__((pure))
#define _fallthrough_ __attribute__((fallthrough))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#undef MIN
#undef MAX
#undef CLAMP
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define CLAMP(x, lo, hi) MIN(MAX((x), (lo)), (hi))

#define STRINGIFY(x) #x
#define XSTRINGIFY(x) STRINGIFY(x)

/* Take ownership of a pointer: returns it and leaves NULL behind, so the
 * cleanup attribute of the variable it came from does nothing. */
#define TAKE_PTR(p)                        \
        ({                                 \
                typeof(p) *_pp_ = &(p);    \
                typeof(p) _p_ = *_pp_;     \
                *_pp_ = NULL;              \
                _p_;                       \
        })

#define TAKE_FD(fd)                        \
        ({                                 \
                int *_fdp_ = &(fd);        \
                int _fd_ = *_fdp_;         \
                *_fdp_ = -EBADF;           \
                _fd_;                      \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}
static inline void closep(int *fd) {
        safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline void strv_free(char **l) {
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)

/* Define a foo_freep()/foo_unrefp() for a type whose destructor returns NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)       \
        static inline void func##p(type *p) {         \
                if (*p)                               \
                        func(*p);                     \
        }

/* Define a foo_donep() for a struct whose members foo_done() frees (the struct
 * itself lives on the stack). */
#define DEFINE_DONE_CLEANUP_FUNC(type, func)          \
        static inline void func##p(type *p) {         \
                func(p);                              \
        }

/* Reference counting boilerplate for structs with an "unsigned n_ref" field
 * and a static type##_free() destructor. */
#define DEFINE_REF_UNREF_FUNC(type, name)                         \
        type *name##_ref(type *p) {                               \
                if (!p)                                           \
                        return NULL;                              \
                p->n_ref++;                                       \
                return p;                                         \
        }                                                         \
        type *name##_unref(type *p) {                             \
                if (!p)                                           \
                        return NULL;                              \
                if (--p->n_ref > 0)                               \
                        return NULL;                              \
                return name##_free(p);                            \
        }

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
#define streq(a, b) (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)
#define isempty(s) (!(s) || !*(s))
#define strna(s) ((s) ?: "n/a")
#define strempty(s) ((s) ?: "")

static inline const char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

static inline const char *endswith(const char *s, const char *suffix) {
        size_t ls = strlen(s), lx = strlen(suffix);
        return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0 ? s + ls - lx : NULL;
}

/* Free and replace: frees *p and takes ownership of q. */
#define free_and_replace(a, b)          \
        ({                              \
                free(a);                \
                (a) = TAKE_PTR(b);      \
                0;                      \
        })

static inline void *memdup(const void *p, size_t n) {
        void *q = malloc(n > 0 ? n : 1);
        if (q && n > 0)
                memcpy(q, p, n);
        return q;
}

static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

#define RET_NERRNO(expr)                        \
        ({                                      \
                long _r_ = (long) (expr);       \
                _r_ < 0 ? negative_errno() : (int) _r_; \
        })

#define USEC_PER_SEC ((uint64_t) 1000000ULL)
#define USEC_PER_MSEC ((uint64_t) 1000ULL)
#define NSEC_PER_USEC ((uint64_t) 1000ULL)
#define USEC_INFINITY ((uint64_t) UINT64_MAX)
typedef uint64_t usec_t;

#define KiB (UINT64_C(1024))
#define MiB (UINT64_C(1024) * KiB)
#define GiB (UINT64_C(1024) * MiB)
