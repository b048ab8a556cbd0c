/* SPDX-License-Identifier: Apache-2.0 */
/* custody-writer.c: the custody log's writer (custody.h, docs/custody-log.md):
 * the dock key, formatting and signing a record, durable appends, and opening
 * the log (which recovers what a crash left, custody-files.c). */
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include "config.h"
#include "custody-files.h"
#include "failpoint.h"
#include "fileio.h"
#include "hexdecoct.h"
#include "message-ids.h"
#include "openssl-util.h"
#include "parse-util.h"

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
        size_t size;
        int r;

        r = read_full_file(key_path, CUSTODY_KEY_MAX, &data, &size);
        if (r == -ENOENT)
                return dock_key_generate(key_path, ret);
        if (r < 0)
                return r;
        r = custody_key_from_pem(data, size, true, ret);
        OPENSSL_cleanse(data, size);
        return r;
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
        if (isempty(event) || !custody_string_is_valid(event) || streq(event, CUSTODY_LOG_STARTED))
                return -EINVAL;
        if ((bay && !custody_string_is_valid(bay)) || (camera && !custody_string_is_valid(camera)) ||
            (segment && !custody_string_is_valid(segment)))
                return -EINVAL;
        for (const LogField *f = fields; f && f->key; f++) {
                if (!custody_field_key_is_valid(f->key) || !custody_string_is_valid(f->value))
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

        r = custody_format_time_now(now);
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
        b64 = malloc(BASE64_SIZE(sig_size));
        if (!b64)
                return -ENOMEM;
        base64mem(sig, sig_size, b64);
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
static int record_write(CustodyLog *l, const char *event, const char *line, size_t size) {
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
        failpoint_detail("custody-append-before-sync", event);
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
        r = custody_sha256_hex(line, size - 1, hash);
        if (r < 0)
                return r;
        r = record_write(l, event, line, size);
        if (r < 0)
                return r;
        if (l->current_size == 0)
                l->current_first_seq = l->next_seq;
        l->current_size += (off_t) size;
        l->next_seq++;
        memcpy(l->prev, hash, sizeof l->prev);
        if (l->observer)
                l->observer(l->next_seq - 1, event, camera, segment, fields, l->observer_userdata);
        return 0;
}

void custody_log_set_observer(CustodyLog *l, custody_observer_t cb, void *userdata) {
        l->observer = cb;
        l->observer_userdata = userdata;
}

usec_t custody_log_last_seal(CustodyLog *l) {
        return l ? l->last_seal : 0;
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
        r = custody_log_append_internal(l, event, bay, camera, segment, fields);
        if (r < 0)
                return r;
        if (l->seal_size > 0 && (uint64_t) l->current_size >= l->seal_size) {
                _cleanup_free_ char *sealed = NULL;

                /* The record is durable: that is what the caller waits for. A seal that
                 * fails half-way marks the log broken, and the next append says so. */
                (void) custody_log_seal(l, &sealed);
        }
        return 0;
}

int custody_log_record(CustodyLog *l, const char *event, const char *bay, const char *camera,
                       const char *segment, const LogField *fields) {
        int r = custody_log_append(l, event, bay, camera, segment, fields);

        if (r < 0) {
                char reason[128];
                if (l)
                        l->failing = true;
                snprintf(reason, sizeof reason, "%s", strerror(-r));
                log_full_errno_ctx(LOG_CRIT, r,
                                   (&(LogContext) {
                                           .bay = bay, .serial = camera, .segment = segment,
                                           .message_id = DOCKD_MESSAGE_CUSTODY_FAILURE,
                                           .fields = (const LogField[]) { { "DOCKD_REASON", reason }, {} },
                                   }),
                                   "Custody log cannot be written (%s record): %m. Nothing depending on it happens.",
                                   event);
        }
        return r;
}

bool custody_log_failing(CustodyLog *l) {
        return l && l->failing;
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
        r = custody_dir_open_locked(dir, &l->dir_fd);
        if (r < 0)
                return r;
        l->sealed_fd = open(l->sealed_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (l->sealed_fd < 0)
                return -errno;
        /* A crash inside a seal can leave names that are not durable yet: the sealed
         * file's link, current.jsonl's replacement. The chain head is about to be
         * taken from them and the seal perhaps finished (which replaces
         * current.jsonl durably): sync sealed/ first, as the seal does, then the log
         * directory and its own name. */
        if (fsync(l->sealed_fd) < 0 || fsync(l->dir_fd) < 0)
                return -errno;
        r = fsync_directory_of(dir);
        if (r < 0)
                return r;

        r = dock_key_load_or_generate(key_path, &l->key);
        if (r < 0)
                return r;
        r = custody_public_key_to_pem(l->key, &l->public_key_pem, l->key_sha256);
        if (r < 0)
                return r;
        r = public_key_file_update(l);
        if (r < 0)
                return r;
        r = custody_dock_certificate_setup(l);
        if (r < 0)
                return r;

        r = custody_chain_recover(l, &torn, &torn_file);
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
        X509_free(l->certificate);
        free(l->certificate_path);
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
