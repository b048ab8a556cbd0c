/* SPDX-License-Identifier: Apache-2.0 */
/* credentials.c: see credentials.h. Errors name the file and the line, never a
 * value: a typo in a secret must not end up in the journal. */
#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "credentials.h"
#include "fileio.h"

#define CREDENTIALS_FILE_MAX (64 * KiB)

static void erase_free(char *s) {
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}

Credentials *credentials_free(Credentials *c) {
        if (!c)
                return NULL;
        free(c->path);
        free(c->access_key_id);
        erase_free(c->secret_access_key);
        for (size_t i = 0; i < c->n_headers; i++)
                erase_free(c->headers[i]);
        free(c->headers);
        free(c);
        return NULL;
}

_printf_(2, 3) static int fail(char **ret_error, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(ret_error, fmt, ap) < 0)
                *ret_error = NULL;
        va_end(ap);
        return -EINVAL;
}

int credentials_resolve(const char *name, char **ret, char **ret_error) {
        const char *dir;
        char *p;

        if (isempty(name))
                return fail(ret_error, "no credentials file given");
        if (name[0] == '/')
                p = strdup(name);
        else {
                dir = getenv("CREDENTIALS_DIRECTORY");
                if (isempty(dir))
                        return fail(ret_error,
                                    "credentials '%s' is a relative name, but $CREDENTIALS_DIRECTORY is not set "
                                    "(use LoadCredential= in the unit, or an absolute path)", name);
                if (strchr(name, '/'))
                        return fail(ret_error, "credentials '%s': a relative name must not contain '/'", name);
                p = path_join(dir, name);
        }
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

static char *strip(char *s) {
        char *e;

        while (isspace((unsigned char) *s))
                s++;
        e = s + strlen(s);
        while (e > s && isspace((unsigned char) e[-1]))
                *--e = 0;
        return s;
}

static int parse_s3_line(Credentials *c, char *line, unsigned n, char **ret_error) {
        char *eq = strchr(line, '='), *key, *value, **dst;

        if (!eq)
                return fail(ret_error, "%s:%u: expected key=value", c->path, n);
        *eq = 0;
        key = strip(line);
        value = strip(eq + 1);
        if (streq(key, "access_key_id"))
                dst = &c->access_key_id;
        else if (streq(key, "secret_access_key"))
                dst = &c->secret_access_key;
        else
                return fail(ret_error, "%s:%u: unknown key (expected access_key_id= or secret_access_key=)", c->path, n);
        if (*dst)
                return fail(ret_error, "%s:%u: %s given twice", c->path, n, key);
        if (!*value)
                return fail(ret_error, "%s:%u: %s is empty", c->path, n, key);
        for (const char *p = value; *p; p++)
                if ((unsigned char) *p < 0x21 || (unsigned char) *p >= 0x7f)
                        return fail(ret_error, "%s:%u: %s contains spaces or non-ASCII characters", c->path, n, key);
        *dst = strdup(value);
        return *dst ? 0 : -ENOMEM;
}

static bool header_name_valid(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("!#$%&'*+-.^_`|~", s[i]))
                        return false;
        return true;
}

static int parse_header_line(Credentials *c, char *line, unsigned n, char **ret_error) {
        char *colon = strchr(line, ':'), **h;
        size_t name_len;

        line = strip(line);
        colon = strchr(line, ':');
        name_len = colon ? (size_t) (colon - line) : 0;
        if (!colon || !header_name_valid(line, name_len))
                return fail(ret_error, "%s:%u: expected an HTTP header line \"Name: value\"", c->path, n);
        for (const char *p = line; *p; p++)
                if ((unsigned char) *p < 0x20 && *p != '\t')
                        return fail(ret_error, "%s:%u: contains control characters", c->path, n);
        h = realloc(c->headers, (c->n_headers + 2) * sizeof *h);
        if (!h)
                return -ENOMEM;
        c->headers = h;
        h[c->n_headers] = strdup(line);
        if (!h[c->n_headers])
                return -ENOMEM;
        h[++c->n_headers] = NULL;
        return 0;
}

int credentials_load(const char *name, CredentialsKind kind, Credentials **ret, char **ret_error) {
        _cleanup_(credentials_freep) Credentials *c = NULL;
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *data = NULL;
        size_t size;
        struct stat st;
        unsigned n = 0;
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        r = credentials_resolve(name, &c->path, ret_error);
        if (r < 0)
                return r;
        fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0) {
                r = -errno;
                return fail(ret_error, "cannot open credentials %s: %s", c->path, strerror(-r)), r;
        }
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return fail(ret_error, "credentials %s is not a regular file", c->path);
        if (st.st_mode & (S_IROTH | S_IWOTH))
                return fail(ret_error,
                            "credentials %s is accessible to every user (mode %04o); refusing to use it: "
                            "chmod o-rwx %s", c->path, (unsigned) (st.st_mode & 07777), c->path), -EPERM;
        r = read_full_fd(fd, CREDENTIALS_FILE_MAX, &data, &size);
        if (r < 0)
                return fail(ret_error, "cannot read credentials %s: %s", c->path,
                            r == -EFBIG ? "larger than 64 KiB" : strerror(-r)), r;
        if (memchr(data, 0, size))
                return fail(ret_error, "credentials %s contains a NUL byte", c->path);

        for (char *line = data, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                n++;
                line[strcspn(line, "\r")] = 0;
                if (*strip(line) == 0 || *strip(line) == '#')
                        continue;
                r = kind == CREDENTIALS_S3_KEYS ? parse_s3_line(c, line, n, ret_error)
                                                : parse_header_line(c, line, n, ret_error);
                if (r < 0)
                        break;
        }
        explicit_bzero(data, size);
        if (r < 0)
                return r;
        if (kind == CREDENTIALS_S3_KEYS && (!c->access_key_id || !c->secret_access_key))
                return fail(ret_error, "credentials %s lacks %s", c->path,
                            !c->access_key_id ? "access_key_id=" : "secret_access_key=");
        *ret = TAKE_PTR(c);
        return 0;
}
