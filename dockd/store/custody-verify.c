/* SPDX-License-Identifier: Apache-2.0 */
/* custody-verify.c: the verifier behind `dockd --verify-custody` (custody.h):
 * every record of a chain of custody files parses, follows its predecessor and
 * carries a valid signature by the dock's key (docs/custody-log.md). It trusts
 * nothing it reads and writes nothing. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "custody-files.h"
#include "fileio.h"
#include "hexdecoct.h"
#include "openssl-util.h"

typedef struct Verifier {
        EVP_PKEY *key;
        char *key_pem;               /* as written in the key file or the log */
        const char *key_origin;      /* path, or NULL: the log's own key */
        uint64_t key_seq;
        bool started;
        uint64_t first_seq, next_seq, n_records;
        char prev[65];
        char first_time[TIME_LEN + 1], last_time[TIME_LEN + 1];
        /* the file being read */
        const char *path;
        unsigned line;
        bool anchored;               /* the file's name fixes its seq range */
        uint64_t anchor_first, anchor_last;
        char error[256];
        /* a live log's current file, opened before its directory was listed */
        int live_fd;
        const char *live_path;       /* the entry of paths that names it */
        size_t unfinished;           /* bytes of a record being written at its end */
} Verifier;

/* The file at path, or, for the live current file, the one opened before the
 * listing, read from its start. */
static FILE *verifier_open(Verifier *v, const char *path) {
        _cleanup_close_ int fd = -EBADF;
        FILE *f;

        if (v->live_fd < 0 || path != v->live_path)
                return fopen(path, "re");
        fd = fcntl(v->live_fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0 || lseek(fd, 0, SEEK_SET) < 0)
                return NULL;
        f = fdopen(fd, "r");
        if (f)
                TAKE_FD(fd);
        return f;
}

_printf_(2, 3) static int verifier_fail(Verifier *v, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        vsnprintf(v->error, sizeof v->error, format, ap);
        va_end(ap);
        return -EBADMSG;
}

static int record_check_keys(Verifier *v, json_object *o, const char **ret_event) {
        static const char *const head[] = { "seq", "time", "dock", "event" };
        static const char *const optional[] = { "bay", "camera", "segment" };
        size_t i = 0, opt = 0, n = (size_t) json_object_object_length(o);
        const char *event = NULL;

        if (n < ELEMENTSOF(head) + 2)
                return verifier_fail(v, "record has %zu keys, at least 6 expected", n);
        json_object_object_foreach(o, key, val) {
                const char *want = NULL;

                if (i < ELEMENTSOF(head))
                        want = head[i];
                else if (i == n - 2)
                        want = "prev";
                else if (i == n - 1)
                        want = "sig";
                if (want && !streq(key, want))
                        return verifier_fail(v, "key %zu is \"%s\", expected \"%s\"", i + 1, key, want);
                if (!want) {
                        /* bay, camera, segment: each at most once, in this order, before the extras */
                        while (opt < ELEMENTSOF(optional) && !streq(key, optional[opt]))
                                opt++;
                        if (opt < ELEMENTSOF(optional))
                                opt++;
                        else if (!custody_field_key_is_valid(key))
                                return verifier_fail(v, "key \"%s\" is not allowed here", key);
                        else
                                opt = ELEMENTSOF(optional);
                }
                if (i == 0 ? !json_object_is_type(val, json_type_int) : !json_object_is_type(val, json_type_string))
                        return verifier_fail(v, "\"%s\" has the wrong type", key);
                if (streq(key, "event"))
                        event = json_object_get_string(val);
                i++;
        }
        *ret_event = event;
        return 0;
}

/* A log-started record must name the very key its signatures are checked with. */
static int record_check_key(Verifier *v, json_object *o) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = NULL;
        json_object *pk;
        const char *pem;

        if (!json_object_object_get_ex(o, "public_key", &pk))
                return verifier_fail(v, "log-started record without public_key");
        pem = json_object_get_string(pk);
        if (streq(pem, v->key_pem))
                return 0;       /* the usual case, and much cheaper than decoding PEM */
        if (custody_key_from_pem(pem, strlen(pem), false, &k) < 0)
                return verifier_fail(v, "log-started record's public_key is not an EC P-256 public key");
        if (EVP_PKEY_eq(k, v->key) != 1)
                return verifier_fail(v, "log-started names another public key than the one verifying "
                                        "(the dock key changed here, or the record was altered)");
        return 0;
}

static int verifier_check_chain(Verifier *v, int64_t seq, const char *event, const char *prev) {
        if (v->started && (uint64_t) seq != v->next_seq)
                return verifier_fail(v, "seq %" PRId64 ", expected %" PRIu64, seq, v->next_seq);
        if (v->anchored && v->line == 1 && (uint64_t) seq != v->anchor_first)
                return verifier_fail(v, "seq %" PRId64 ", but the file name says it starts at %" PRIu64,
                                     seq, v->anchor_first);
        if (!v->started && seq == 0 && (!streq(prev, ZERO_HASH) || !streq(event, CUSTODY_LOG_STARTED)))
                return verifier_fail(v, "seq 0 must be a log-started record with an all-zero prev");
        if (!v->started && seq > 0 && !v->anchored)
                return verifier_fail(v, "the chain starts at seq %" PRId64 ", not 0, in a file whose name does "
                                     "not fix its range: give the earlier files first", seq);
        if (v->started && !streq(prev, v->prev))
                return verifier_fail(v, "prev does not match the SHA-256 of the previous record");
        return 0;
}

/* Over the line up to ,"sig":" followed by "}". */
static int verifier_check_signature(Verifier *v, const char *line, size_t size, const char *sig64) {
        _cleanup_free_ char *msg = NULL;
        const char *sep;
        uint8_t sig[128];
        size_t sig_size, body;
        int r;

        sep = memmem(line, size, SIG_SEPARATOR, strlen(SIG_SEPARATOR));
        if (!sep)
                return verifier_fail(v, "no ,\"sig\":\" in the line");
        body = (size_t) (sep - line);
        if (size - body != strlen(SIG_SEPARATOR) + strlen(sig64) + 2)
                return verifier_fail(v, "sig is not the last member, written plainly");
        if (unbase64mem(sig64, sig, sizeof sig, &sig_size) < 0)
                return verifier_fail(v, "sig is not canonical base64");
        msg = malloc(body + 1);
        if (!msg)
                return -ENOMEM;
        memcpy(msg, line, body);
        msg[body] = '}';
        r = custody_signature_verify(v->key, msg, body + 1, sig, sig_size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return verifier_fail(v, "signature does not verify with %s", v->key_origin ?: "the log's own key");
        return 0;
}

static int verifier_line(Verifier *v, const char *line, size_t size) {
        _cleanup_(json_object_putp) json_object *o = NULL;
        const char *event = NULL, *time, *prev;
        int64_t seq;
        int r;

        o = custody_line_parse(line, size);
        if (!o)
                return verifier_fail(v, "not a JSON object (or not UTF-8, or trailing bytes)");
        r = record_check_keys(v, o, &event);
        if (r < 0)
                return r;
        seq = json_object_get_int64(json_object_object_get(o, "seq"));
        time = json_object_get_string(json_object_object_get(o, "time"));
        prev = json_object_get_string(json_object_object_get(o, "prev"));
        if (seq < 0 || seq == INT64_MAX)
                return verifier_fail(v, "seq out of range");
        if (!custody_time_is_valid(time))
                return verifier_fail(v, "time \"%s\" is not YYYY-MM-DDTHH:MM:SS.uuuuuuZ", time);
        if (!custody_hex64_is_valid(prev))
                return verifier_fail(v, "prev is not 64 lower-case hex digits");
        r = verifier_check_chain(v, seq, event, prev);
        if (r < 0)
                return r;
        if (streq(event, CUSTODY_LOG_STARTED)) {
                r = record_check_key(v, o);
                if (r < 0)
                        return r;
        }
        r = verifier_check_signature(v, line, size, json_object_get_string(json_object_object_get(o, "sig")));
        if (r < 0)
                return r;

        r = custody_sha256_hex(line, size, v->prev);
        if (r < 0)
                return r;
        if (!v->started) {
                v->started = true;
                v->first_seq = (uint64_t) seq;
                memcpy(v->first_time, time, sizeof v->first_time);
        }
        memcpy(v->last_time, time, sizeof v->last_time);
        v->next_seq = (uint64_t) seq + 1;
        v->n_records++;
        return 0;
}

/* Reads one line of at most max bytes (newline included). Returns its length
 * (0 at end of file), -E2BIG if longer; *ret_newline tells whether it ended in one. */
static ssize_t read_line_bounded(FILE *f, char *buf, size_t max, bool *ret_newline) {
        size_t n = 0;
        int c;

        *ret_newline = false;
        while ((c = getc_unlocked(f)) != EOF) {
                if (n == max)
                        return -E2BIG;
                buf[n++] = (char) c;
                if (c == '\n') {
                        *ret_newline = true;
                        break;
                }
        }
        if (ferror(f))
                return -EIO;
        return (ssize_t) n;
}

static int verifier_file(Verifier *v, const char *path, char *buf) {
        _cleanup_fclose_ FILE *f = verifier_open(v, path);
        const char *name = strrchr(path, '/');
        uint64_t first_before = v->n_records;
        bool newline;

        if (!f)
                return -errno;
        v->path = path;
        v->line = 0;
        v->anchored = custody_sealed_name_parse(name ? name + 1 : path, &v->anchor_first, &v->anchor_last);
        for (;;) {
                ssize_t n = read_line_bounded(f, buf, CUSTODY_LINE_MAX, &newline);
                int r;

                if (n == 0)
                        break;
                v->line++;
                if (n == -E2BIG)
                        return verifier_fail(v, "line longer than %d bytes", CUSTODY_LINE_MAX);
                if (n < 0)
                        return (int) n;
                if (!newline && path == v->live_path) {
                        /* being appended: never acknowledged yet, so not a record yet */
                        v->unfinished = (size_t) n;
                        break;
                }
                if (!newline)
                        return verifier_fail(v, "last line has no newline: the file is truncated");
                if (n == 1)
                        return verifier_fail(v, "empty line");
                r = verifier_line(v, buf, (size_t) n - 1);
                if (r < 0)
                        return r;
        }
        v->line = 0;
        if (v->anchored && v->n_records == first_before)
                return verifier_fail(v, "empty, but the file name says it holds seq %" PRIu64 "..%" PRIu64,
                                     v->anchor_first, v->anchor_last);
        if (v->anchored && v->next_seq - 1 != v->anchor_last)
                return verifier_fail(v, "ends at seq %" PRIu64 ", but the file name says %" PRIu64
                                     ": records are missing at the end", v->next_seq - 1, v->anchor_last);
        return 0;
}

/* No key given: take the one the first log-started record names. */
static int verifier_find_key(Verifier *v, char *const *paths, size_t n, char *buf) {
        for (size_t i = 0; i < n; i++) {
                _cleanup_fclose_ FILE *f = verifier_open(v, paths[i]);
                bool newline;
                ssize_t k;

                v->path = paths[i];
                if (!f)
                        return -errno;
                while ((k = read_line_bounded(f, buf, CUSTODY_LINE_MAX, &newline)) > 0) {
                        _cleanup_(json_object_putp) json_object *o = custody_line_parse(buf, (size_t) k - newline);
                        json_object *ev, *pk, *seq;
                        const char *pem;

                        if (!o || !json_object_object_get_ex(o, "event", &ev) ||
                            !streq_ptr(json_object_get_string(ev), CUSTODY_LOG_STARTED) ||
                            !json_object_object_get_ex(o, "public_key", &pk))
                                continue;
                        pem = json_object_get_string(pk);
                        if (custody_key_from_pem(pem, strlen(pem), false, &v->key) < 0)
                                continue;
                        v->key_pem = strdup(pem);
                        if (!v->key_pem)
                                return -ENOMEM;
                        if (json_object_object_get_ex(o, "seq", &seq))
                                v->key_seq = (uint64_t) json_object_get_int64(seq);
                        return 0;
                }
        }
        return -ENOKEY;
}

static int verifier_load_key(Verifier *v, const char *path) {
        _cleanup_free_ char *pem = NULL;
        size_t size;
        int r;

        r = read_full_file(path, CUSTODY_KEY_MAX, &pem, &size);
        if (r < 0)
                return r;
        r = custody_key_from_pem(pem, size, false, &v->key);
        if (r < 0)
                return r;
        v->key_pem = TAKE_PTR(pem);
        v->key_origin = path;
        return 0;
}

static void verifier_done(Verifier *v) {
        EVP_PKEY_free(v->key);
        free(v->key_pem);
        safe_close(v->live_fd);
}

static int verifier_setup_key(Verifier *v, char *const *paths, size_t n, const char *public_key_path,
                              char *buf, FILE *out) {
        int r;

        if (public_key_path) {
                r = verifier_load_key(v, public_key_path);
                if (r < 0)
                        fprintf(out, "%s: cannot load an EC P-256 public key: %s\n", public_key_path,
                                strerror(-r));
                return r;
        }
        r = verifier_find_key(v, paths, n, buf);
        if (r == -ENOKEY) {
                fprintf(out, "no public key given and no log-started record names one: cannot check signatures\n");
                return -EBADMSG;
        }
        if (r < 0)
                fprintf(out, "%s: %s\n", v->path, strerror(-r));
        return r;
}

static void verifier_summary(Verifier *v, FILE *out) {
        fprintf(out, "valid: %" PRIu64 " records, seq %" PRIu64 "..%" PRIu64 ", %s to %s, ", v->n_records,
                v->first_seq, v->next_seq - 1, v->first_time, v->last_time);
        if (v->key_origin)
                fprintf(out, "signed by the key in %s", v->key_origin);
        else
                fprintf(out, "signed by the key named in the log itself (seq %" PRIu64 "): this proves "
                             "internal consistency only, not that the dock wrote it", v->key_seq);
        if (v->first_seq > 0)
                fprintf(out, "; the link to seq %" PRIu64 " and earlier was not checked", v->first_seq - 1);
        if (v->unfinished > 0)
                fprintf(out, "; the %zu bytes of a record being written at the end of %s were not checked",
                        v->unfinished, v->live_path);
        fputc('\n', out);
}

static int verifier_run(Verifier *v, char *const *paths, size_t n, const char *public_key_path, FILE *out) {
        _cleanup_free_ char *buf = NULL;
        int r;

        if (n == 0) {
                fprintf(out, "no custody log files given\n");
                return -EINVAL;
        }
        buf = malloc(CUSTODY_LINE_MAX);
        if (!buf)
                return -ENOMEM;
        r = verifier_setup_key(v, paths, n, public_key_path, buf, out);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                r = verifier_file(v, paths[i], buf);
                if (r == -EBADMSG && v->line > 0)
                        fprintf(out, "%s:%u: %s\n", v->path, v->line, v->error);
                else if (r == -EBADMSG)
                        fprintf(out, "%s: %s\n", v->path, v->error);
                else if (r < 0)
                        fprintf(out, "%s: %s\n", paths[i], strerror(-r));
                if (r < 0)
                        return r;
        }
        if (v->n_records == 0) {
                fprintf(out, "no records\n");
                return -EBADMSG;
        }
        verifier_summary(v, out);
        return 0;
}

int custody_verify_files(char *const *paths, size_t n, const char *public_key_path, FILE *out) {
        _cleanup_(verifier_done) Verifier v = { .live_fd = -EBADF };

        if (!out || (n > 0 && !paths))
                return -EINVAL;
        return verifier_run(&v, paths, n, public_key_path, out);
}

/* The seq of the current file's first record, if it has a whole one. */
static bool live_first_seq(int fd, uint64_t *ret_seq) {
        struct stat st;

        return fstat(fd, &st) >= 0 && st.st_size > 0 && custody_file_first_seq(fd, st.st_size, ret_seq) >= 0;
}

/* current.jsonl is opened before sealed/ is listed: every file sealed before the
 * open is in the listing (sealed files are never removed), and the ones sealed after
 * it begin at the current file's first record or later, so they are left out. The
 * writer links the sealed name before it replaces current.jsonl, so the name is
 * never missing. */
int custody_verify_dir(const char *dir, const char *public_key_path, FILE *out) {
        _cleanup_(verifier_done) Verifier v = { .live_fd = -EBADF };
        _cleanup_(custody_sealed_list_done) SealedList s = {};
        _cleanup_free_ char *current = NULL, *sealed_dir = NULL;
        _cleanup_free_ char **paths = NULL;
        uint64_t live_first;
        bool has_first;
        size_t n = 0;
        int r;

        if (!dir || !out)
                return -EINVAL;
        current = path_join(dir, CUSTODY_CURRENT);
        sealed_dir = path_join(dir, CUSTODY_SEALED);
        if (!current || !sealed_dir)
                return -ENOMEM;
        v.live_fd = open(current, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (v.live_fd < 0) {
                r = -errno;
                fprintf(out, "%s: %s\n", current, strerror(-r));
                return r;
        }
        r = custody_sealed_list_read(sealed_dir, false, &s);
        if (r < 0) {
                fprintf(out, "%s: %s\n", sealed_dir, strerror(-r));
                return r;
        }
        has_first = live_first_seq(v.live_fd, &live_first);
        paths = calloc(s.n + 1, sizeof *paths);
        if (!paths)
                return -ENOMEM;
        for (size_t i = 0; i < s.n && !(has_first && s.entries[i].first >= live_first); i++)
                paths[n++] = s.entries[i].path;
        paths[n++] = current;
        v.live_path = current;
        return verifier_run(&v, paths, n, public_key_path, out);
}
