/* SPDX-License-Identifier: Apache-2.0 */
/* custody.c: the chain-of-custody log (custody.h, docs/custody-log.md): record
 * formatting and signing, durable appends, recovery at open, sealing, upload
 * markers, and the verifier behind `dockd --verify-custody`. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "config.h"
#include "custody.h"
#include "failpoint.h"
#include "fileio.h"
#include "parse-util.h"

/* No record is longer than this (newline included); the log-started record, the
 * longest the dock writes itself, is about 600 bytes. */
#define CUSTODY_LINE_MAX (64 * 1024)
#define CUSTODY_KEY_MAX (64 * 1024)
#define CUSTODY_CURRENT "current.jsonl"
#define CUSTODY_SEALED "sealed"
#define CUSTODY_PUBLIC_KEY "dock-key.pub.pem"
#define CUSTODY_UPLOADED_SUFFIX ".uploaded"
#define SIG_SEPARATOR ",\"sig\":\""
#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
/* "2024-05-01T12:34:56.123456Z" */
#define TIME_LEN 27

struct CustodyLog {
        char *dir;
        char *dock;
        char *current_path;
        char *sealed_dir;
        char *public_key_path;
        int dir_fd;                  /* holds the flock against a second writer */
        int sealed_fd;
        int fd;                      /* current file, O_APPEND */
        EVP_PKEY *key;
        char *public_key_pem;
        char key_sha256[65];

        uint64_t next_seq;
        char prev[65];               /* SHA-256 of the last record's line */
        uint64_t current_first_seq;  /* valid when current_size > 0 */
        off_t current_size;
        int broken;                  /* negative errno: state on disk unknown, reopen */
};

static inline void EVP_PKEY_freep(EVP_PKEY **p) {
        EVP_PKEY_free(*p);
}
static inline void EVP_MD_CTX_freep(EVP_MD_CTX **p) {
        EVP_MD_CTX_free(*p);
}
static inline void BIO_freep(BIO **p) {
        BIO_free(*p);
}
static inline void OPENSSL_freep(void *p) {
        OPENSSL_free(*(void **) p);
}
static inline void json_object_putp(json_object **p) {
        json_object_put(*p);
}
static inline void json_tokener_freep(json_tokener **p) {
        if (*p)
                json_tokener_free(*p);
}
static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

static const char *const reserved_keys[] = {
        "seq", "time", "dock", "event", "bay", "camera", "segment", "prev", "sig",
};

/* ---- small helpers shared by the writer and the verifier ---- */

static int sha256_hex(const void *data, size_t size, char ret[static 65]) {
        uint8_t md[32];
        unsigned n = 0;

        if (EVP_Digest(data, size, md, &n, EVP_sha256(), NULL) != 1 || n != sizeof md)
                return -EIO;
        for (size_t i = 0; i < sizeof md; i++)
                sprintf(ret + 2 * i, "%02x", md[i]);
        return 0;
}

static bool hex64_is_valid(const char *s) {
        if (strlen(s) != 64)
                return false;
        for (const char *p = s; *p; p++)
                if (!strchr("0123456789abcdef", *p))
                        return false;
        return true;
}

static bool field_key_is_valid(const char *k) {
        if (isempty(k) || strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(k))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(reserved_keys); i++)
                if (streq(k, reserved_keys[i]))
                        return false;
        return true;
}

static bool string_is_valid(const char *s) {
        return s && utf8_is_valid(s, strlen(s));
}

/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ", nothing else. */
static bool time_is_valid(const char *s) {
        static const char pattern[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";

        if (strlen(s) != TIME_LEN)
                return false;
        for (size_t i = 0; i < TIME_LEN; i++)
                if (pattern[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pattern[i])
                        return false;
        return true;
}

static int format_time_now(char ret[static TIME_LEN + 1]) {
        struct timespec ts;
        struct tm tm;
        char buf[64];

        if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
                return -errno;
        if (!gmtime_r(&ts.tv_sec, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
                return -ERANGE;
        if (snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000) != TIME_LEN)
                return -ERANGE;
        memcpy(ret, buf, TIME_LEN + 1);
        return 0;
}

/* Standard base64 with padding; decoding accepts only the canonical form, so
 * that no two strings decode to the same signature. */
static char *base64_encode(const uint8_t *data, size_t size) {
        char *s = malloc(4 * ((size + 2) / 3) + 1);

        if (s)
                EVP_EncodeBlock((unsigned char *) s, data, (int) size);
        return s;
}

static int base64_decode(const char *s, uint8_t *ret, size_t max, size_t *ret_size) {
        size_t len = strlen(s), pad = 0;
        _cleanup_free_ char *again = NULL;
        uint8_t buf[4 * 64];
        int n;

        if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof buf)
                return -EBADMSG;
        n = EVP_DecodeBlock(buf, (const unsigned char *) s, (int) len);
        if (n < 0)
                return -EBADMSG;
        pad = (s[len - 1] == '=') + (s[len - 2] == '=');
        if ((size_t) n < pad || (size_t) n - pad > max)
                return -EBADMSG;
        n -= (int) pad;
        again = base64_encode(buf, (size_t) n);
        if (!again)
                return -ENOMEM;
        if (!streq(again, s))
                return -EBADMSG;
        memcpy(ret, buf, (size_t) n);
        *ret_size = (size_t) n;
        return 0;
}

static int pkey_check_p256(EVP_PKEY *k) {
        char group[64];

        if (!EVP_PKEY_is_a(k, "EC") ||
            !EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, NULL) ||
            !streq(group, "prime256v1"))
                return -EKEYREJECTED;
        return 0;
}

static int public_key_from_pem(const char *pem, size_t size, EVP_PKEY **ret) {
        _cleanup_(BIO_freep) BIO *b = BIO_new_mem_buf(pem, (int) size);
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = NULL;
        int r;

        if (!b)
                return -ENOMEM;
        k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
        if (!k)
                return -EBADMSG;
        r = pkey_check_p256(k);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(k);
        return 0;
}

static int public_key_to_pem(EVP_PKEY *k, char **ret_pem, char ret_sha256[static 65]) {
        _cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());
        _cleanup_(OPENSSL_freep) uint8_t *der = NULL;
        char *data, *pem;
        long n;
        int der_size, r;

        if (!b || PEM_write_bio_PUBKEY(b, k) != 1)
                return -ENOMEM;
        n = BIO_get_mem_data(b, &data);
        if (n <= 0)
                return -EIO;
        der_size = i2d_PUBKEY(k, (unsigned char **) &der);
        if (der_size <= 0)
                return -EIO;
        r = sha256_hex(der, (size_t) der_size, ret_sha256);
        if (r < 0)
                return r;
        pem = strndup(data, (size_t) n);
        if (!pem)
                return -ENOMEM;
        *ret_pem = pem;
        return 0;
}

static int signature_verify(EVP_PKEY *k, const void *msg, size_t msg_size, const uint8_t *sig,
                            size_t sig_size) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();

        if (!ctx)
                return -ENOMEM;
        if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k) != 1)
                return -EIO;
        return EVP_DigestVerify(ctx, sig, sig_size, msg, msg_size) == 1 ? 0 : -EKEYREJECTED;
}

/* Parse one line (without its newline) as a JSON object, strictly: valid UTF-8,
 * nothing after the object. */
static json_object *line_parse(const char *line, size_t size) {
        _cleanup_(json_tokener_freep) json_tokener *tok = json_tokener_new();
        json_object *o;

        if (!tok || size > INT_MAX || memchr(line, 0, size))
                return NULL;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        o = json_tokener_parse_ex(tok, line, (int) size);
        if (o && (json_tokener_get_error(tok) != json_tokener_success ||
                  json_tokener_get_parse_end(tok) != size || !json_object_is_type(o, json_type_object))) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

/* What recovery needs to know of a line: that it is a whole record, and its seq. */
static int line_parse_seq(const char *line, size_t size, uint64_t *ret_seq) {
        _cleanup_(json_object_putp) json_object *o = line_parse(line, size);
        json_object *seq, *prev, *sig;
        int64_t v;

        if (!o || !json_object_object_get_ex(o, "seq", &seq) || !json_object_is_type(seq, json_type_int) ||
            !json_object_object_get_ex(o, "prev", &prev) || !json_object_is_type(prev, json_type_string) ||
            !hex64_is_valid(json_object_get_string(prev)) ||
            !json_object_object_get_ex(o, "sig", &sig) || !json_object_is_type(sig, json_type_string))
                return -EBADMSG;
        v = json_object_get_int64(seq);
        if (v < 0 || v == INT64_MAX)
                return -EBADMSG;
        *ret_seq = (uint64_t) v;
        return 0;
}

/* "<dock>-<first>-<last>.jsonl" (seqs zero-padded to 10 digits when written). */
static bool sealed_name_parse(const char *name, uint64_t *ret_first, uint64_t *ret_last) {
        const char *end = endswith(name, ".jsonl"), *p;
        uint64_t v[2];

        if (!end || strchr(name, '/'))
                return false;
        p = end;
        for (int i = 1; i >= 0; i--) {
                const char *digits = p;
                char *e;

                while (digits > name && digits[-1] >= '0' && digits[-1] <= '9')
                        digits--;
                if (digits == p || p - digits > 20 || digits == name || digits[-1] != '-')
                        return false;
                errno = 0;
                v[i] = strtoull(digits, &e, 10);
                if (errno != 0 || e != p)
                        return false;
                p = digits - 1;
        }
        if (p == name || v[0] > v[1])
                return false;
        *ret_first = v[0];
        *ret_last = v[1];
        return true;
}

/* ---- the dock key ---- */

static int dock_key_generate(const char *key_path, EVP_PKEY **ret) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = EVP_EC_gen("P-256");
        _cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_secmem());
        char *data;
        long n;
        int r;

        if (!k || !b)
                return -ENOMEM;
        if (PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1)
                return -EIO;
        n = BIO_get_mem_data(b, &data);
        if (n <= 0)
                return -EIO;
        r = mkdir_parents_durable(key_path, 0700);
        if (r < 0)
                return r;
        r = write_file_atomic(key_path, data, (size_t) n, 0600);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(k);
        return 0;
}

static int dock_key_load_or_generate(const char *key_path, EVP_PKEY **ret) {
        _cleanup_free_ char *data = NULL;
        _cleanup_(BIO_freep) BIO *b = NULL;
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = NULL;
        size_t size;
        int r;

        r = read_full_file(key_path, CUSTODY_KEY_MAX, &data, &size);
        if (r == -ENOENT)
                return dock_key_generate(key_path, ret);
        if (r < 0)
                return r;
        b = BIO_new_mem_buf(data, (int) size);
        if (!b)
                return -ENOMEM;
        k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
        OPENSSL_cleanse(data, size);
        if (!k)
                return -EBADMSG;
        r = pkey_check_p256(k);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(k);
        return 0;
}

/* dir/dock-key.pub.pem, rewritten only when it differs. */
static int public_key_file_update(CustodyLog *l) {
        _cleanup_free_ char *old = NULL;
        int r;

        r = read_full_file(l->public_key_path, CUSTODY_KEY_MAX, &old, NULL);
        if (r >= 0 && streq(old, l->public_key_pem))
                return 0;
        if (r < 0 && r != -ENOENT)
                return r;
        return write_file_atomic(l->public_key_path, l->public_key_pem, strlen(l->public_key_pem), 0644);
}

/* ---- writing records ---- */

static int json_string_write(FILE *f, const char *s) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_string(s);
        const char *q;

        if (!o)
                return -ENOMEM;
        q = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!q)
                return -ENOMEM;
        fputs(q, f);
        return 0;
}

static int fields_check(const char *event, const char *bay, const char *camera, const char *segment,
                        const LogField *fields) {
        /* log-started is the log's own record (it must carry the key): not for callers */
        if (isempty(event) || !string_is_valid(event) || streq(event, CUSTODY_LOG_STARTED))
                return -EINVAL;
        if ((bay && !string_is_valid(bay)) || (camera && !string_is_valid(camera)) ||
            (segment && !string_is_valid(segment)))
                return -EINVAL;
        for (const LogField *f = fields; f && f->key; f++) {
                if (!field_key_is_valid(f->key) || !string_is_valid(f->value))
                        return -EINVAL;
                for (const LogField *g = fields; g != f; g++)
                        if (streq(g->key, f->key))
                                return -EINVAL;
        }
        return 0;
}

/* Everything of the line but the closing "}" and the signature:
 * {"seq":N,"time":…,"dock":…,"event":…[,"bay":…][,"camera":…][,"segment":…][,"k":"v"…],"prev":… */
static int record_body(CustodyLog *l, const char *event, const char *bay, const char *camera,
                       const char *segment, const LogField *fields, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        char now[TIME_LEN + 1];
        size_t size = 0;
        int r;

        r = format_time_now(now);
        if (r < 0)
                return r;
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f, "{\"seq\":%" PRIu64 ",\"time\":\"%s\",\"dock\":", l->next_seq, now);
        r = json_string_write(f, l->dock);
        fputs(",\"event\":", f);
        if (r >= 0)
                r = json_string_write(f, event);
        const struct { const char *key, *value; } fixed[] = {
                { "bay", bay }, { "camera", camera }, { "segment", segment },
        };
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(fixed); i++)
                if (fixed[i].value) {
                        fprintf(f, ",\"%s\":", fixed[i].key);
                        r = json_string_write(f, fixed[i].value);
                }
        for (const LogField *x = fields; r >= 0 && x && x->key; x++) {
                fprintf(f, ",\"%s\":", x->key);
                r = json_string_write(f, x->value);
        }
        if (r < 0)
                return r;
        fprintf(f, ",\"prev\":\"%s\"", l->prev);
        if (fflush(f) != 0 || ferror(f))
                return -ENOMEM;
        fclose(TAKE_PTR(f));
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

/* The signed message is the body followed by "}"; the line is the body followed
 * by ,"sig":"BASE64"} and a newline. */
static int record_sign(CustodyLog *l, const char *body, size_t body_size, char **ret, size_t *ret_size) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        _cleanup_free_ char *msg = NULL, *b64 = NULL, *line = NULL;
        uint8_t sig[128];
        size_t sig_size = sizeof sig;
        int n;

        if (!ctx)
                return -ENOMEM;
        msg = malloc(body_size + 1);
        if (!msg)
                return -ENOMEM;
        memcpy(msg, body, body_size);
        msg[body_size] = '}';
        if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, l->key) != 1 ||
            EVP_DigestSign(ctx, sig, &sig_size, (const uint8_t *) msg, body_size + 1) != 1)
                return -EIO;
        b64 = base64_encode(sig, sig_size);
        if (!b64)
                return -ENOMEM;
        n = asprintf(&line, "%.*s" SIG_SEPARATOR "%s\"}\n", (int) body_size, body, b64);
        if (n < 0)
                return -ENOMEM;
        if ((size_t) n > CUSTODY_LINE_MAX)
                return -E2BIG;
        *ret = TAKE_PTR(line);
        *ret_size = (size_t) n;
        return 0;
}

/* One write() of the whole line, then fdatasync(). A short write is cut back off so
 * that the file never keeps a partial record we know about; if even that fails, or
 * the sync fails, the state on disk is unknown and the log refuses further appends
 * (reopening recovers from what is really there). */
static int record_write(CustodyLog *l, const char *line, size_t size) {
        ssize_t k;
        int r;

        do
                k = write(l->fd, line, size);
        while (k < 0 && errno == EINTR);
        if (k < 0 || (size_t) k != size) {
                r = k < 0 ? -errno : -EIO;
                if (k > 0 && ftruncate(l->fd, l->current_size) < 0)
                        l->broken = r;
                return r;
        }
        failpoint("custody-append-before-sync");
        if (fdatasync(l->fd) < 0)
                return (l->broken = -errno);
        return 0;
}

static int custody_log_append_internal(CustodyLog *l, const char *event, const char *bay,
                                       const char *camera, const char *segment, const LogField *fields) {
        _cleanup_free_ char *body = NULL, *line = NULL;
        size_t body_size, size;
        char hash[65];
        int r;

        r = record_body(l, event, bay, camera, segment, fields, &body, &body_size);
        if (r < 0)
                return r;
        r = record_sign(l, body, body_size, &line, &size);
        if (r < 0)
                return r;
        r = sha256_hex(line, size - 1, hash);
        if (r < 0)
                return r;
        r = record_write(l, line, size);
        if (r < 0)
                return r;
        if (l->current_size == 0)
                l->current_first_seq = l->next_seq;
        l->current_size += (off_t) size;
        l->next_seq++;
        memcpy(l->prev, hash, sizeof l->prev);
        return 0;
}

int custody_log_append(CustodyLog *l, const char *event, const char *bay, const char *camera,
                       const char *segment, const LogField *fields) {
        int r;

        if (!l)
                return -EINVAL;
        if (l->broken < 0)
                return l->broken;
        r = fields_check(event, bay, camera, segment, fields);
        if (r < 0)
                return r;
        return custody_log_append_internal(l, event, bay, camera, segment, fields);
}

/* ---- opening: find the head of the chain ---- */

static int pread_exact(int fd, off_t offset, size_t size, char **ret) {
        _cleanup_free_ char *buf = malloc(size + 1);
        ssize_t n;

        if (!buf)
                return -ENOMEM;
        n = pread_all(fd, buf, size, offset);
        if (n < 0)
                return (int) n;
        if ((size_t) n != size)
                return -EIO;
        buf[size] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* The last newline-terminated line of buf[0..end) (buf[end-1] is '\n'). If the
 * line may begin before the window (window_start > 0) it is too long. */
static int window_last_line(const char *buf, size_t end, off_t window_start, size_t *ret_start) {
        const char *q = memrchr(buf, '\n', end - 1);

        if (!q && window_start > 0)
                return -EBADMSG;
        *ret_start = q ? (size_t) (q - buf) + 1 : 0;
        return 0;
}

/* Seq and SHA-256 of the last line of a file that must end in a complete record. */
static int file_last_record(int fd, uint64_t *ret_seq, char ret_hash[static 65]) {
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t win, start;
        int r;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_size == 0)
                return -ENODATA;
        win = (size_t) MIN(st.st_size, (off_t) CUSTODY_LINE_MAX + 1);
        r = pread_exact(fd, st.st_size - (off_t) win, win, &buf);
        if (r < 0)
                return r;
        if (buf[win - 1] != '\n')
                return -EBADMSG;
        r = window_last_line(buf, win, st.st_size - (off_t) win, &start);
        if (r < 0)
                return r;
        r = line_parse_seq(buf + start, win - 1 - start, ret_seq);
        if (r < 0)
                return r;
        return sha256_hex(buf + start, win - 1 - start, ret_hash);
}

static int file_first_seq(int fd, off_t size, uint64_t *ret_seq) {
        _cleanup_free_ char *buf = NULL;
        size_t win = (size_t) MIN(size, (off_t) CUSTODY_LINE_MAX + 1);
        const char *nl;
        int r;

        r = pread_exact(fd, 0, win, &buf);
        if (r < 0)
                return r;
        nl = memchr(buf, '\n', win);
        if (!nl)
                return -EBADMSG;
        return line_parse_seq(buf, (size_t) (nl - buf), ret_seq);
}

/* The newest sealed file gives the chain head when the current file is empty. */
static int sealed_newest(CustodyLog *l, bool *ret_found, uint64_t *ret_last, char ret_hash[static 65],
                         struct stat *ret_st) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_free_ char *newest = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint64_t best = 0, seq;
        struct dirent *de;
        int r;

        d = opendir(l->sealed_dir);
        if (!d)
                return -errno;
        while ((errno = 0, de = readdir(d))) {
                uint64_t first, last;

                if (!sealed_name_parse(de->d_name, &first, &last) || (newest && last <= best))
                        continue;
                free(newest);
                newest = strdup(de->d_name);
                if (!newest)
                        return -ENOMEM;
                best = last;
        }
        if (errno != 0)
                return -errno;
        if (!newest) {
                *ret_found = false;
                return 0;
        }
        fd = openat(l->sealed_fd, newest, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        r = file_last_record(fd, &seq, ret_hash);
        if (r < 0)
                return r == -ENODATA ? -EBADMSG : r;
        if (seq != best)
                return -EBADMSG;
        if (fstat(fd, ret_st) < 0)
                return -errno;
        *ret_found = true;
        *ret_last = best;
        return 0;
}

static int torn_bytes_save(CustodyLog *l, const char *data, size_t size, char **ret_name) {
        _cleanup_free_ char *name = NULL, *path = NULL;
        struct timespec ts;
        int r;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        if (asprintf(&name, "torn-%" PRIu64 ".bin",
                     (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC) < 0)
                return -ENOMEM;
        path = path_join(l->dir, name);
        if (!path)
                return -ENOMEM;
        r = write_file_atomic(path, data, size, 0640);
        if (r < 0)
                return r;
        *ret_name = TAKE_PTR(name);
        return 0;
}

/* Cut an unterminated tail (what a crash in the middle of a write leaves) and, if
 * the last terminated line is not a record either, that line. The bytes cut are
 * kept in dir/torn-USEC.bin. Sets next_seq/prev when the file has records. */
static int current_recover(CustodyLog *l, size_t *ret_torn, char **ret_torn_file) {
        _cleanup_free_ char *buf = NULL, *torn_file = NULL;
        size_t win, end, start = 0;
        off_t size, wstart, keep;
        struct stat st;
        uint64_t seq = 0;
        bool found = false;
        int r;

        if (fstat(l->fd, &st) < 0)
                return -errno;
        size = st.st_size;
        *ret_torn = 0;
        if (size == 0)
                return 0;
        win = (size_t) MIN(size, 3 * ((off_t) CUSTODY_LINE_MAX + 1));
        wstart = size - (off_t) win;
        r = pread_exact(l->fd, wstart, win, &buf);
        if (r < 0)
                return r;
        end = win;
        if (buf[end - 1] != '\n') {
                const char *nl = memrchr(buf, '\n', end);

                if (!nl && wstart > 0)
                        return -EBADMSG;
                end = nl ? (size_t) (nl - buf) + 1 : 0;
        }
        for (unsigned bad = 0; end > 0 && !found; bad++) {
                r = window_last_line(buf, end, wstart, &start);
                if (r < 0)
                        return r;
                if (line_parse_seq(buf + start, end - 1 - start, &seq) >= 0)
                        found = true;
                else if (bad > 0)
                        return -EBADMSG;   /* more than the last line is damaged: not a crash */
                else
                        end = start;
        }
        keep = wstart + (off_t) end;
        if (keep < size) {
                r = torn_bytes_save(l, buf + end, win - end, &torn_file);
                if (r < 0)
                        return r;
                if (ftruncate(l->fd, keep) < 0 || fsync(l->fd) < 0)
                        return -errno;
        }
        l->current_size = keep;
        if (found) {
                r = sha256_hex(buf + start, end - 1 - start, l->prev);
                if (r < 0)
                        return r;
                l->next_seq = seq + 1;
                r = file_first_seq(l->fd, keep, &l->current_first_seq);
                if (r < 0)
                        return r;
                if (l->current_first_seq > seq)
                        return -EBADMSG;
        }
        *ret_torn = (size_t) (size - keep);
        *ret_torn_file = TAKE_PTR(torn_file);
        return 0;
}

static int current_open(CustodyLog *l) {
        l->fd = openat(l->dir_fd, CUSTODY_CURRENT, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
        if (l->fd >= 0)
                return 0;
        if (errno != ENOENT)
                return -errno;
        l->fd = openat(l->dir_fd, CUSTODY_CURRENT, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                       0640);
        if (l->fd < 0)
                return -errno;
        return fsync(l->dir_fd) < 0 ? -errno : 0;
}

/* A seal renames current.jsonl into sealed/, then fsyncs sealed/ and the log
 * directory. Power lost between the two leaves one file under both names (a
 * rename between directories is made durable one directory at a time): the
 * seal committed, so finish it. */
static int seal_finish(CustodyLog *l, const struct stat *sealed) {
        struct stat st;

        if (fstatat(l->dir_fd, CUSTODY_CURRENT, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (st.st_dev != sealed->st_dev || st.st_ino != sealed->st_ino)
                return 0;
        if (unlinkat(l->dir_fd, CUSTODY_CURRENT, 0) < 0)
                return -errno;
        return fsync(l->dir_fd) < 0 ? -errno : 0;
}

static int chain_recover(CustodyLog *l, size_t *ret_torn, char **ret_torn_file) {
        char sealed_hash[65];
        uint64_t sealed_last = 0;
        bool sealed = false;
        struct stat sealed_st;
        int r;

        r = sealed_newest(l, &sealed, &sealed_last, sealed_hash, &sealed_st);
        if (r < 0)
                return r;
        if (sealed) {
                r = seal_finish(l, &sealed_st);
                if (r < 0)
                        return r;
        }
        r = current_open(l);
        if (r < 0)
                return r;
        r = current_recover(l, ret_torn, ret_torn_file);
        if (r < 0)
                return r;
        if (l->current_size > 0) {
                /* A sealed file and the current one must join up. */
                if (sealed && l->current_first_seq != sealed_last + 1)
                        return -EBADMSG;
                return 0;
        }
        if (sealed) {
                l->next_seq = sealed_last + 1;
                memcpy(l->prev, sealed_hash, sizeof l->prev);
        } else {
                l->next_seq = 0;
                memcpy(l->prev, ZERO_HASH, sizeof l->prev);
        }
        return 0;
}

static int log_started(CustodyLog *l, size_t torn, const char *torn_file) {
        char torn_str[32];
        LogField fields[] = {
                { "continues", l->next_seq > 0 ? "true" : "false" },
                { "public_key", l->public_key_pem },
                { "key_sha256", l->key_sha256 },
                { "version", PACKAGE_VERSION },
                /* only after a crash: a NULL key ends the list here otherwise */
                { torn > 0 ? "torn_bytes" : NULL, torn_str },
                { "torn_file", torn_file },
                {},
        };

        snprintf(torn_str, sizeof torn_str, "%zu", torn);
        return custody_log_append_internal(l, CUSTODY_LOG_STARTED, NULL, NULL, NULL, fields);
}

static int dir_open_locked(const char *path, int *ret_fd) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int custody_log_open(const char *dir, const char *key_path, const char *dock_name, CustodyLog **ret) {
        _cleanup_(custody_log_freep) CustodyLog *l = NULL;
        _cleanup_free_ char *torn_file = NULL;
        size_t torn = 0;
        int r;

        if (isempty(dir) || isempty(key_path) || !name_is_valid(dock_name, 64) || !ret)
                return -EINVAL;
        l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        *l = (CustodyLog) { .dir_fd = -EBADF, .sealed_fd = -EBADF, .fd = -EBADF };
        l->dir = strdup(dir);
        l->dock = strdup(dock_name);
        l->current_path = path_join(dir, CUSTODY_CURRENT);
        l->sealed_dir = path_join(dir, CUSTODY_SEALED);
        l->public_key_path = path_join(dir, CUSTODY_PUBLIC_KEY);
        if (!l->dir || !l->dock || !l->current_path || !l->sealed_dir || !l->public_key_path)
                return -ENOMEM;

        r = mkdir_p_durable(l->sealed_dir, 0750);
        if (r < 0)
                return r;
        r = dir_open_locked(dir, &l->dir_fd);
        if (r < 0)
                return r;
        l->sealed_fd = open(l->sealed_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (l->sealed_fd < 0)
                return -errno;
        /* A crash between a seal's rename and its fsyncs leaves the sealed file's
         * name not yet durable; the chain head is about to be taken from it, so
         * make it durable first (sealed/ before the log directory, as the seal
         * does), and the log directory's own name with it. */
        if (fsync(l->sealed_fd) < 0 || fsync(l->dir_fd) < 0)
                return -errno;
        r = fsync_directory_of(dir);
        if (r < 0)
                return r;

        r = dock_key_load_or_generate(key_path, &l->key);
        if (r < 0)
                return r;
        r = public_key_to_pem(l->key, &l->public_key_pem, l->key_sha256);
        if (r < 0)
                return r;
        r = public_key_file_update(l);
        if (r < 0)
                return r;

        r = chain_recover(l, &torn, &torn_file);
        if (r < 0)
                return r;
        r = log_started(l, torn, torn_file);
        if (r < 0)
                return r;
        if (torn > 0)
                log_warning("Custody log %s: cut off %zu bytes of an unfinished record (never acknowledged), "
                            "kept in %s.", l->current_path, torn, torn_file);
        *ret = TAKE_PTR(l);
        return torn > 0;
}

CustodyLog *custody_log_free(CustodyLog *l) {
        if (!l)
                return NULL;
        safe_close(l->fd);
        safe_close(l->sealed_fd);
        safe_close(l->dir_fd);
        EVP_PKEY_free(l->key);
        free(l->public_key_pem);
        free(l->dir);
        free(l->dock);
        free(l->current_path);
        free(l->sealed_dir);
        free(l->public_key_path);
        free(l);
        return NULL;
}

const char *custody_log_public_key_path(CustodyLog *l) {
        return l ? l->public_key_path : NULL;
}

uint64_t custody_log_next_seq(CustodyLog *l) {
        return l ? l->next_seq : 0;
}

/* ---- sealing and uploads ---- */

static int rename_noreplace(CustodyLog *l, const char *name) {
        if (renameat2(l->dir_fd, CUSTODY_CURRENT, l->sealed_fd, name, RENAME_NOREPLACE) >= 0)
                return 0;
        if (errno != EINVAL && errno != ENOSYS)
                return -errno;
        /* File systems without RENAME_NOREPLACE (NFS): we hold the lock, check then rename. */
        if (faccessat(l->sealed_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                return -EEXIST;
        return RET_NERRNO(renameat(l->dir_fd, CUSTODY_CURRENT, l->sealed_fd, name));
}

/* rename(current, sealed/NAME) is the commit point: before it the records are in
 * the current file, after it in the sealed one, and open() finds the chain head in
 * whichever holds the newest record. The new current file is created only once
 * the rename is durable, so no state has records in both or neither. */
int custody_log_seal(CustodyLog *l, char **ret_path) {
        _cleanup_free_ char *name = NULL, *path = NULL;
        _cleanup_close_ int old = -EBADF;
        int r;

        if (!l || !ret_path)
                return -EINVAL;
        if (l->broken < 0)
                return l->broken;
        if (l->current_size == 0) {
                *ret_path = NULL;
                return 0;
        }
        if (asprintf(&name, "%s-%010" PRIu64 "-%010" PRIu64 ".jsonl", l->dock, l->current_first_seq,
                     l->next_seq - 1) < 0)
                return -ENOMEM;
        path = path_join(l->sealed_dir, name);
        if (!path)
                return -ENOMEM;
        r = rename_noreplace(l, name);
        if (r < 0)
                return r;

        /* From here on the file is sealed whatever happens; on error, reopen. */
        old = TAKE_FD(l->fd);
        l->current_size = 0;
        failpoint("custody-seal-after-rename");
        if (fsync(l->sealed_fd) < 0)
                return (l->broken = -errno);
        failpoint("custody-seal-between-syncs");
        if (fsync(l->dir_fd) < 0)
                return (l->broken = -errno);
        (void) fchmod(old, 0440);
        (void) fsync(old);
        r = current_open(l);
        if (r < 0)
                return (l->broken = r);
        failpoint("custody-seal-after-create");
        *ret_path = TAKE_PTR(path);
        return 0;
}

typedef struct SealedEntry {
        uint64_t first;
        char *path;
} SealedEntry;

typedef struct SealedList {
        SealedEntry *entries;
        size_t n, allocated;
} SealedList;

static void sealed_list_done(SealedList *s) {
        for (size_t i = 0; i < s->n; i++)
                free(s->entries[i].path);
        free(s->entries);
}

static int sealed_list_add(SealedList *s, uint64_t first, char *path) {
        if (!path)
                return -ENOMEM;
        if (s->n == s->allocated) {
                size_t a = s->allocated * 2 + 8;
                SealedEntry *e = reallocarray(s->entries, a, sizeof *e);

                if (!e) {
                        free(path);
                        return -ENOMEM;
                }
                s->entries = e;
                s->allocated = a;
        }
        s->entries[s->n++] = (SealedEntry) { first, path };
        return 0;
}

static int sealed_entry_compare(const void *a, const void *b) {
        const SealedEntry *x = a, *y = b;

        return x->first < y->first ? -1 : x->first > y->first;
}

int custody_log_list_sealed(CustodyLog *l, char ***ret_paths) {
        _cleanup_(sealed_list_done) SealedList s = {};
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        char **paths;
        int r;

        if (!l || !ret_paths)
                return -EINVAL;
        d = opendir(l->sealed_dir);
        if (!d)
                return -errno;
        while ((errno = 0, de = readdir(d))) {
                _cleanup_free_ char *marker = NULL;
                uint64_t first, last;

                if (!sealed_name_parse(de->d_name, &first, &last))
                        continue;
                if (asprintf(&marker, "%s" CUSTODY_UPLOADED_SUFFIX, de->d_name) < 0)
                        return -ENOMEM;
                if (faccessat(l->sealed_fd, marker, F_OK, AT_SYMLINK_NOFOLLOW) >= 0)
                        continue;
                r = sealed_list_add(&s, first, path_join(l->sealed_dir, de->d_name));
                if (r < 0)
                        return r;
        }
        if (errno != 0)
                return -errno;
        paths = calloc(s.n + 1, sizeof *paths);
        if (!paths)
                return -ENOMEM;
        if (s.n > 0)
                qsort(s.entries, s.n, sizeof *s.entries, sealed_entry_compare);
        for (size_t i = 0; i < s.n; i++)
                paths[i] = TAKE_PTR(s.entries[i].path);
        *ret_paths = paths;
        return (int) MIN(s.n, (size_t) INT_MAX);
}

int custody_log_mark_uploaded(CustodyLog *l, const char *sealed_path) {
        _cleanup_free_ char *marker = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *name;
        uint64_t first, last;

        if (!l || isempty(sealed_path))
                return -EINVAL;
        name = strrchr(sealed_path, '/');
        name = name ? name + 1 : sealed_path;
        if (!sealed_name_parse(name, &first, &last))
                return -EINVAL;
        if (faccessat(l->sealed_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (asprintf(&marker, "%s" CUSTODY_UPLOADED_SUFFIX, name) < 0)
                return -ENOMEM;
        fd = openat(l->sealed_fd, marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0 || fsync(l->sealed_fd) < 0)
                return -errno;
        return 0;
}

/* ---- the verifier ---- */

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
} Verifier;

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
                        else if (!field_key_is_valid(key))
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
        if (public_key_from_pem(pem, strlen(pem), &k) < 0)
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
        if (base64_decode(sig64, sig, sizeof sig, &sig_size) < 0)
                return verifier_fail(v, "sig is not canonical base64");
        msg = malloc(body + 1);
        if (!msg)
                return -ENOMEM;
        memcpy(msg, line, body);
        msg[body] = '}';
        r = signature_verify(v->key, msg, body + 1, sig, sig_size);
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

        o = line_parse(line, size);
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
        if (!time_is_valid(time))
                return verifier_fail(v, "time \"%s\" is not YYYY-MM-DDTHH:MM:SS.uuuuuuZ", time);
        if (!hex64_is_valid(prev))
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

        r = sha256_hex(line, size, v->prev);
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
        _cleanup_fclose_ FILE *f = fopen(path, "re");
        const char *name = strrchr(path, '/');
        uint64_t first_before = v->n_records;
        bool newline;

        if (!f)
                return -errno;
        v->path = path;
        v->line = 0;
        v->anchored = sealed_name_parse(name ? name + 1 : path, &v->anchor_first, &v->anchor_last);
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
                _cleanup_fclose_ FILE *f = fopen(paths[i], "re");
                bool newline;
                ssize_t k;

                if (!f)
                        return -errno;
                while ((k = read_line_bounded(f, buf, CUSTODY_LINE_MAX, &newline)) > 0) {
                        _cleanup_(json_object_putp) json_object *o = line_parse(buf, (size_t) k - newline);
                        json_object *ev, *pk, *seq;
                        const char *pem;

                        if (!o || !json_object_object_get_ex(o, "event", &ev) ||
                            !streq_ptr(json_object_get_string(ev), CUSTODY_LOG_STARTED) ||
                            !json_object_object_get_ex(o, "public_key", &pk))
                                continue;
                        pem = json_object_get_string(pk);
                        if (public_key_from_pem(pem, strlen(pem), &v->key) < 0)
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
        r = public_key_from_pem(pem, size, &v->key);
        if (r < 0)
                return r;
        v->key_pem = TAKE_PTR(pem);
        v->key_origin = path;
        return 0;
}

static void verifier_done(Verifier *v) {
        EVP_PKEY_free(v->key);
        free(v->key_pem);
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
                fprintf(out, "cannot read the log: %s\n", strerror(-r));
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
        fputc('\n', out);
}

int custody_verify_files(char *const *paths, size_t n, const char *public_key_path, FILE *out) {
        _cleanup_(verifier_done) Verifier v = {};
        _cleanup_free_ char *buf = NULL;
        int r;

        if (!out || (n > 0 && !paths))
                return -EINVAL;
        if (n == 0) {
                fprintf(out, "no custody log files given\n");
                return -EINVAL;
        }
        buf = malloc(CUSTODY_LINE_MAX);
        if (!buf)
                return -ENOMEM;
        r = verifier_setup_key(&v, paths, n, public_key_path, buf, out);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                r = verifier_file(&v, paths[i], buf);
                if (r == -EBADMSG && v.line > 0)
                        fprintf(out, "%s:%u: %s\n", v.path, v.line, v.error);
                else if (r == -EBADMSG)
                        fprintf(out, "%s: %s\n", v.path, v.error);
                else if (r < 0)
                        fprintf(out, "%s: %s\n", paths[i], strerror(-r));
                if (r < 0)
                        return r;
        }
        if (v.n_records == 0) {
                fprintf(out, "no records\n");
                return -EBADMSG;
        }
        verifier_summary(&v, out);
        return 0;
}
