/* SPDX-License-Identifier: Apache-2.0 */
/* The custody log: record format and signatures checked independently of the
 * writer, durability and recovery (torn lines, every crash state of a seal),
 * upload markers, key handling, hostile input, and a verifier that fails on any
 * single changed byte, removed, reordered or spliced line, and truncation. */
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "config.h"
#include "custody.h"
#include "fileio.h"

typedef struct Fixture {
        char *tmp;
        char *dir;      /* the log directory */
        char *key;      /* the private key */
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data) {
        umask(022);
        f->tmp = g_dir_make_tmp("dockd-test-custody-XXXXXX", NULL);
        g_assert_nonnull(f->tmp);
        f->dir = g_build_filename(f->tmp, "custody", NULL);
        f->key = g_build_filename(f->tmp, "keys", "dock-key.pem", NULL);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        g_autofree char *cmd = g_strdup_printf("chmod -R u+w '%s' && rm -rf '%s'", f->tmp, f->tmp);

        g_assert_cmpint(system(cmd), ==, 0);
        g_free(f->tmp);
        g_free(f->dir);
        g_free(f->key);
}

static CustodyLog *log_open(Fixture *f) {
        CustodyLog *l = NULL;

        g_assert_cmpint(custody_log_open(f->dir, f->key, "dock-1", &l), ==, 0);
        g_assert_nonnull(l);
        return l;
}

static void append_segment(CustodyLog *l, unsigned i) {
        g_autofree char *seg = g_strdup_printf("REC-1/%06u", i);
        const LogField fields[] = { { "size", "1048576" }, { "sha256", "ab" }, {} };

        g_assert_cmpint(custody_log_append(l, CUSTODY_PULLED, "2", "BWC-0001", seg, fields), ==, 0);
}

static char *current_path(Fixture *f) {
        return g_build_filename(f->dir, "current.jsonl", NULL);
}

static char *read_text(const char *path, gsize *ret_size) {
        char *s = NULL;

        g_assert_true(g_file_get_contents(path, &s, ret_size, NULL));
        return s;
}

/* Replace a file's contents in place (no fsync: the verifier tests do this often). */
static void write_text(const char *path, const char *data, gsize size) {
        g_autofree char *parent = g_path_get_dirname(path);
        int fd;

        g_assert_cmpint(g_mkdir_with_parents(parent, 0755), ==, 0);
        (void) chmod(path, 0644);
        /* not O_TRUNC: ext4 would flush on close (auto_da_alloc), thousands of times */
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(write(fd, data, size), ==, (ssize_t) size);
        g_assert_cmpint(ftruncate(fd, (off_t) size), ==, 0);
        g_assert_cmpint(close(fd), ==, 0);
}

static char **read_lines(const char *path) {
        g_autofree char *s = read_text(path, NULL);
        char **lines;
        guint n;

        g_assert_true(*s == 0 || g_str_has_suffix(s, "\n"));
        lines = g_strsplit(s, "\n", -1);
        n = g_strv_length(lines);
        g_free(lines[n - 1]);       /* the empty string after the last newline */
        lines[n - 1] = NULL;
        return lines;
}

/* Run the verifier; returns its result and its one line of output. */
static int verify(char **paths, size_t n, const char *key, char **ret_out) {
        char *buf = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&buf, &size);
        int r;

        g_assert_nonnull(out);
        r = custody_verify_files(paths, n, key, out);
        g_assert_cmpint(fclose(out), ==, 0);
        g_assert_true(size > 0 && buf[size - 1] == '\n');
        g_assert_null(memchr(buf, '\n', size - 1));
        if (ret_out)
                *ret_out = buf;
        else
                free(buf);
        return r;
}

static int verify1(const char *path, const char *key, char **ret_out) {
        char *paths[] = { (char *) path };

        return verify(paths, 1, key, ret_out);
}

static char *pub_path(Fixture *f) {
        return g_build_filename(f->dir, "dock-key.pub.pem", NULL);
}

static json_object *parse(const char *line) {
        json_object *o = json_tokener_parse(line);

        g_assert_nonnull(o);
        return o;
}

static const char *get(json_object *o, const char *key) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v))
                return NULL;
        return json_object_get_string(v);
}

static char *sha256_hex(const char *data, size_t size) {
        return g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *) data, size);
}

/* The rule of docs/custody-log.md, implemented from the document and not from
 * custody-writer.c: signed bytes = line up to ,"sig":" then "}"; sig = base64 DER ECDSA. */
static void check_signature_independently(const char *line, const char *pubkey_path) {
        const char *sep = strstr(line, ",\"sig\":\"");
        g_autofree char *msg = NULL, *sig64 = NULL, *pem = NULL;
        g_autofree guchar *sig = NULL;
        gsize sig_size;
        EVP_PKEY *k;
        EVP_MD_CTX *ctx;
        BIO *b;

        g_assert_nonnull(sep);
        g_assert_true(g_str_has_suffix(line, "\"}"));
        msg = g_strdup_printf("%.*s}", (int) (sep - line), line);
        sig64 = g_strndup(sep + 8, strlen(sep + 8) - 2);
        sig = g_base64_decode(sig64, &sig_size);
        pem = read_text(pubkey_path, NULL);
        b = BIO_new_mem_buf(pem, -1);
        k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
        g_assert_nonnull(k);
        ctx = EVP_MD_CTX_new();
        g_assert_cmpint(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k), ==, 1);
        g_assert_cmpint(EVP_DigestVerify(ctx, sig, sig_size, (const guchar *) msg, strlen(msg)), ==, 1);
        EVP_MD_CTX_free(ctx);
        EVP_PKEY_free(k);
        BIO_free(b);
}

/* ---- writing ---- */

static void test_record_format(Fixture *f, gconstpointer data) {
        _cleanup_(custody_log_freep) CustodyLog *l = log_open(f);
        g_autofree char *cur = current_path(f), *pub = pub_path(f), *pem = NULL;
        g_auto(GStrv) lines = NULL;
        g_autoptr(GRegex) re = NULL;
        json_object *o;

        g_assert_cmpuint(custody_log_next_seq(l), ==, 1);
        append_segment(l, 7);
        g_assert_cmpint(custody_log_append(l, CUSTODY_DOCKED, "1", NULL, NULL, NULL), ==, 0);
        g_assert_cmpstr(custody_log_public_key_path(l), ==, pub);

        lines = read_lines(cur);
        g_assert_cmpuint(g_strv_length(lines), ==, 3);
        re = g_regex_new("^\\{\"seq\":1,\"time\":\"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}Z\","
                         "\"dock\":\"dock-1\",\"event\":\"pulled\",\"bay\":\"2\",\"camera\":\"BWC-0001\","
                         "\"segment\":\"REC-1/000007\",\"size\":\"1048576\",\"sha256\":\"ab\","
                         "\"prev\":\"[0-9a-f]{64}\",\"sig\":\"[A-Za-z0-9+/]+=*\"\\}$", 0, 0, NULL);
        g_assert_true(g_regex_match(re, lines[1], 0, NULL));
        g_assert_true(g_str_has_prefix(lines[2], "{\"seq\":2,"));
        g_assert_nonnull(strstr(lines[2], "\"event\":\"docked\",\"bay\":\"1\",\"prev\":"));

        /* log-started: dock name, public key, not a continuation, genesis prev */
        o = parse(lines[0]);
        pem = read_text(pub, NULL);
        g_assert_cmpstr(get(o, "event"), ==, "log-started");
        g_assert_cmpstr(get(o, "dock"), ==, "dock-1");
        g_assert_cmpstr(get(o, "public_key"), ==, pem);
        g_assert_cmpstr(get(o, "continues"), ==, "false");
        g_assert_cmpstr(get(o, "prev"), ==, "0000000000000000000000000000000000000000000000000000000000000000");
        json_object_put(o);

        /* chain and signatures, by the documented rule */
        for (unsigned i = 0; lines[i]; i++) {
                check_signature_independently(lines[i], pub);
                if (i > 0) {
                        g_autofree char *h = sha256_hex(lines[i - 1], strlen(lines[i - 1]));
                        o = parse(lines[i]);
                        g_assert_cmpstr(get(o, "prev"), ==, h);
                        json_object_put(o);
                }
        }
}

static void test_open_append_reopen(Fixture *f, gconstpointer data) {
        g_autofree char *cur = current_path(f), *pub = pub_path(f), *out = NULL;
        g_auto(GStrv) lines = NULL;
        CustodyLog *l = log_open(f);
        json_object *o;

        for (unsigned i = 0; i < 3; i++)
                append_segment(l, i);
        g_assert_cmpuint(custody_log_next_seq(l), ==, 4);
        custody_log_free(l);

        l = log_open(f);
        g_assert_cmpuint(custody_log_next_seq(l), ==, 5);
        append_segment(l, 3);
        custody_log_free(l);

        lines = read_lines(cur);
        g_assert_cmpuint(g_strv_length(lines), ==, 6);
        o = parse(lines[4]);
        g_assert_cmpint(json_object_get_int64(json_object_object_get(o, "seq")), ==, 4);
        g_assert_cmpstr(get(o, "event"), ==, "log-started");
        g_assert_cmpstr(get(o, "continues"), ==, "true");
        json_object_put(o);

        g_assert_cmpint(verify1(cur, pub, &out), ==, 0);
        g_assert_true(g_str_has_prefix(out, "valid: 6 records, seq 0..5, "));
}

static void test_lock(Fixture *f, gconstpointer data) {
        _cleanup_(custody_log_freep) CustodyLog *l = log_open(f);
        CustodyLog *l2 = NULL;

        g_assert_nonnull(l);
        g_assert_cmpint(custody_log_open(f->dir, f->key, "dock-1", &l2), ==, -EBUSY);
        g_assert_null(l2);
        g_assert_cmpint(custody_log_open(f->dir, f->key, "../x", &l2), ==, -EINVAL);
}

static void test_bad_field_keys(Fixture *f, gconstpointer data) {
        _cleanup_(custody_log_freep) CustodyLog *l = log_open(f);
        static const char *const bad[] = {
                "", "Size", "a-b", "a b", "a.b", "\xc3\xa4", "seq", "time", "dock", "event",
                "bay", "camera", "segment", "prev", "sig", "a\"b",
        };
        const LogField dup[] = { { "a", "1" }, { "a", "2" }, {} };
        const LogField good[] = { { "a_1", "x" }, { "z9", "" }, {} };

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                const LogField fields[] = { { bad[i], "v" }, {} };
                g_assert_cmpint(custody_log_append(l, "x", NULL, NULL, NULL, fields), ==, -EINVAL);
        }
        g_assert_cmpint(custody_log_append(l, "x", NULL, NULL, NULL, dup), ==, -EINVAL);
        g_assert_cmpint(custody_log_append(l, NULL, NULL, NULL, NULL, NULL), ==, -EINVAL);
        g_assert_cmpint(custody_log_append(l, "", NULL, NULL, NULL, NULL), ==, -EINVAL);
        g_assert_cmpint(custody_log_append(l, CUSTODY_LOG_STARTED, NULL, NULL, NULL, NULL), ==, -EINVAL);
        {
                const LogField null_value[] = { { "a", NULL }, {} };
                g_assert_cmpint(custody_log_append(l, "x", NULL, NULL, NULL, null_value), ==, -EINVAL);
        }
        g_assert_cmpuint(custody_log_next_seq(l), ==, 1);
        g_assert_cmpint(custody_log_append(l, "x", NULL, NULL, NULL, good), ==, 0);
        g_assert_cmpuint(custody_log_next_seq(l), ==, 2);
}

static void test_hostile_strings(Fixture *f, gconstpointer data) {
        g_autofree char *cur = current_path(f), *pub = pub_path(f), *huge = g_malloc(70000);
        g_auto(GStrv) lines = NULL;
        CustodyLog *l = log_open(f);
        static const char *const hostile[] = {
                "say \"hi\"", "back\\slash\\", "two\nlines\r\n", ",\"sig\":\"AAAA\"}\n{\"seq\":99}",
                "\x01\x02\x1f\x7f", "\\u0000", "caf\xc3\xa9 \xf0\x9f\x98\x80", "</script>/", "",
        };
        static const char *const not_utf8[] = {
                "\xff", "a\xc0\x80", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80", "\x80",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(hostile); i++) {
                const LogField fields[] = { { "note", hostile[i] }, {} };
                g_assert_cmpint(custody_log_append(l, hostile[i][0] ? hostile[i] : "e", hostile[i], hostile[i],
                                                   hostile[i], fields), ==, 0);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(not_utf8); i++) {
                const LogField fields[] = { { "note", not_utf8[i] }, {} };
                g_assert_cmpint(custody_log_append(l, not_utf8[i], NULL, NULL, NULL, NULL), ==, -EINVAL);
                g_assert_cmpint(custody_log_append(l, "e", not_utf8[i], NULL, NULL, NULL), ==, -EINVAL);
                g_assert_cmpint(custody_log_append(l, "e", NULL, not_utf8[i], NULL, NULL), ==, -EINVAL);
                g_assert_cmpint(custody_log_append(l, "e", NULL, NULL, not_utf8[i], NULL), ==, -EINVAL);
                g_assert_cmpint(custody_log_append(l, "e", NULL, NULL, NULL, fields), ==, -EINVAL);
        }
        memset(huge, 'x', 69999);
        huge[69999] = 0;
        g_assert_cmpint(custody_log_append(l, "e", huge, NULL, NULL, NULL), ==, -E2BIG);
        g_assert_cmpuint(custody_log_next_seq(l), ==, 1 + G_N_ELEMENTS(hostile));
        custody_log_free(l);

        /* one record per line, every value back exactly */
        lines = read_lines(cur);
        g_assert_cmpuint(g_strv_length(lines), ==, 1 + G_N_ELEMENTS(hostile));
        for (size_t i = 0; i < G_N_ELEMENTS(hostile); i++) {
                json_object *o = parse(lines[i + 1]);
                g_assert_cmpstr(get(o, "bay"), ==, hostile[i]);
                g_assert_cmpstr(get(o, "camera"), ==, hostile[i]);
                g_assert_cmpstr(get(o, "segment"), ==, hostile[i]);
                g_assert_cmpstr(get(o, "note"), ==, hostile[i]);
                g_assert_cmpint(json_object_object_length(o), ==, 10);
                json_object_put(o);
                check_signature_independently(lines[i + 1], pub);
        }
        g_assert_cmpint(verify1(cur, pub, NULL), ==, 0);
}

/* The dock's certificate (protocol §12.6): made at the first open, kept while
 * it certifies the key for this dock, and what stock OpenSSL verifies a
 * manifest the dock sealed against. */
static void test_dock_certificate(Fixture *f, gconstpointer data) {
        g_autofree char *cert = g_build_filename(f->dir, "dock-cert.pem", NULL);
        g_autofree char *man = g_build_filename(f->tmp, "x.man", NULL), *p7s = g_build_filename(f->tmp, "x.p7s", NULL);
        g_autofree char *pem1 = NULL, *pem2 = NULL, *cmd = NULL, *subject = NULL;
        static const char text[] = "format=1\n";
        _cleanup_free_ uint8_t *der = NULL;
        CustodyLog *l = log_open(f);
        size_t der_size;
        int status;

        g_assert_cmpstr(custody_log_certificate_path(l), ==, cert);
        g_assert_cmpint(custody_log_seal_sign(l, (const uint8_t *) text, strlen(text), &der, &der_size), ==, 0);
        custody_log_free(l);
        pem1 = read_text(cert, NULL);
        g_assert_true(g_str_has_prefix(pem1, "-----BEGIN CERTIFICATE-----\n"));
        g_assert_true(g_file_set_contents(man, text, -1, NULL));
        g_assert_true(g_file_set_contents(p7s, (const char *) der, (gssize) der_size, NULL));
        cmd = g_strdup_printf("openssl cms -verify -binary -inform DER -in '%s' -content '%s' -CAfile '%s' "
                              "-purpose any -out /dev/null 2>/dev/null", p7s, man, cert);
        g_assert_cmpint(system(cmd), ==, 0);
        g_free(cmd);
        /* It certifies the custody key: its public key is dock-key.pub.pem. */
        cmd = g_strdup_printf("openssl x509 -in '%s' -noout -pubkey | cmp -s - '%s/dock-key.pub.pem'", cert, f->dir);
        g_assert_cmpint(system(cmd), ==, 0);
        g_free(cmd);
        cmd = g_strdup_printf("openssl x509 -in '%s' -noout -subject -nameopt RFC2253", cert);
        g_assert_true(g_spawn_command_line_sync(cmd, &subject, NULL, &status, NULL));
        g_assert_nonnull(strstr(subject, "serialNumber=dock-1"));

        /* Reopened: the same certificate, not a new one. */
        l = log_open(f);
        custody_log_free(l);
        pem2 = read_text(cert, NULL);
        g_assert_cmpstr(pem1, ==, pem2);

        /* Damaged: made again. */
        g_assert_true(g_file_set_contents(cert, "garbage", -1, NULL));
        l = log_open(f);
        custody_log_free(l);
        g_free(pem2);
        pem2 = read_text(cert, NULL);
        g_assert_true(g_str_has_prefix(pem2, "-----BEGIN CERTIFICATE-----\n"));
}

static void test_key_generation(Fixture *f, gconstpointer data) {
        g_autofree char *pub = pub_path(f), *pem1 = NULL, *pem2 = NULL, *key1 = NULL, *key2 = NULL;
        g_autofree char *keydir = g_path_get_dirname(f->key);
        CustodyLog *l = NULL;
        struct stat st;
        EVP_PKEY *k;
        BIO *b;

        l = log_open(f);
        custody_log_free(l);
        g_assert_cmpint(stat(f->key, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0600);
        g_assert_cmpint(stat(pub, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0644);
        g_assert_cmpint(stat(keydir, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 07777, ==, 0700);

        /* a P-256 private key, whose public half is the .pub.pem */
        key1 = read_text(f->key, NULL);
        pem1 = read_text(pub, NULL);
        g_assert_true(g_str_has_prefix(key1, "-----BEGIN PRIVATE KEY-----\n"));
        g_assert_true(g_str_has_prefix(pem1, "-----BEGIN PUBLIC KEY-----\n"));
        b = BIO_new_mem_buf(key1, -1);
        k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
        BIO_free(b);
        g_assert_nonnull(k);
        {
                char group[64];
                BIO *m = BIO_new(BIO_s_mem());
                char *data_;
                long n;

                g_assert_true(EVP_PKEY_get_utf8_string_param(k, "group", group, sizeof group, NULL));
                g_assert_cmpstr(group, ==, "prime256v1");
                g_assert_cmpint(PEM_write_bio_PUBKEY(m, k), ==, 1);
                n = BIO_get_mem_data(m, &data_);
                g_assert_cmpmem(data_, n, pem1, strlen(pem1));
                BIO_free(m);
        }
        EVP_PKEY_free(k);

        /* kept across restarts */
        l = log_open(f);
        custody_log_free(l);
        key2 = read_text(f->key, NULL);
        pem2 = read_text(pub, NULL);
        g_assert_cmpstr(key1, ==, key2);
        g_assert_cmpstr(pem1, ==, pem2);

        /* an unreadable or foreign key is refused, never replaced */
        write_text(f->key, "garbage", 7);
        g_assert_cmpint(custody_log_open(f->dir, f->key, "dock-1", &l), ==, -EBADMSG);
        g_free(key2);
        key2 = read_text(f->key, NULL);
        g_assert_cmpstr(key2, ==, "garbage");
        {
                EVP_PKEY *p384 = EVP_EC_gen("P-384");
                BIO *m = BIO_new(BIO_s_mem());
                char *data_;
                long n;

                g_assert_cmpint(PEM_write_bio_PrivateKey(m, p384, NULL, NULL, 0, NULL, NULL), ==, 1);
                n = BIO_get_mem_data(m, &data_);
                write_text(f->key, data_, (gsize) n);
                BIO_free(m);
                EVP_PKEY_free(p384);
        }
        g_assert_cmpint(custody_log_open(f->dir, f->key, "dock-1", &l), ==, -EKEYREJECTED);
}

/* ---- recovery ---- */

static void append_raw(const char *path, const char *data, size_t size) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);

        g_assert_cmpint(fd, >=, 0);
        g_assert_cmpint(write(fd, data, size), ==, (ssize_t) size);
        close(fd);
}

static unsigned count_torn_files(Fixture *f) {
        g_autoptr(GDir) d = g_dir_open(f->dir, 0, NULL);
        const char *name;
        unsigned n = 0;

        while ((name = g_dir_read_name(d)))
                n += g_str_has_prefix(name, "torn-");
        return n;
}

static void test_torn_line(Fixture *f, gconstpointer data) {
        g_autofree char *cur = current_path(f), *pub = pub_path(f), *text = NULL;
        g_auto(GStrv) lines = NULL;
        CustodyLog *l = log_open(f);
        gsize size;
        json_object *o;
        int r;

        append_segment(l, 0);
        append_segment(l, 1);
        custody_log_free(l);

        /* power lost in the middle of the last append: half a record, no newline */
        text = read_text(cur, &size);
        g_assert_cmpint(truncate(cur, (off_t) size - 40), ==, 0);
        l = NULL;
        r = custody_log_open(f->dir, f->key, "dock-1", &l);
        g_assert_cmpint(r, ==, 1);
        g_assert_cmpuint(custody_log_next_seq(l), ==, 3);   /* seq 2 was never acknowledged */
        custody_log_free(l);
        g_assert_cmpuint(count_torn_files(f), ==, 1);
        g_assert_cmpint(verify1(cur, pub, NULL), ==, 0);
        lines = read_lines(cur);
        g_assert_cmpuint(g_strv_length(lines), ==, 3);
        o = parse(lines[2]);
        g_assert_cmpstr(get(o, "event"), ==, "log-started");
        g_assert_nonnull(get(o, "torn_bytes"));
        g_assert_true(g_str_has_prefix(get(o, "torn_file"), "torn-"));
        json_object_put(o);

        /* a garbage block without a newline */
        append_raw(cur, "\0\0\0\0", 4);
        g_assert_cmpint(custody_log_open(f->dir, f->key, "dock-1", &l), ==, 1);
        custody_log_free(l);
        /* a complete but unparseable last line */
        append_raw(cur, "{\"seq\":5,\"ti\n", 13);
        g_assert_cmpint(custody_log_open(f->dir, f->key, "dock-1", &l), ==, 1);
        g_assert_cmpuint(custody_log_next_seq(l), ==, 5);
        custody_log_free(l);
        g_assert_cmpint(verify1(cur, pub, NULL), ==, 0);
        g_assert_cmpuint(count_torn_files(f), ==, 3);

        /* a file that is nothing but a torn line */
        g_assert_cmpint(truncate(cur, 0), ==, 0);
        append_raw(cur, "{\"se", 4);
        g_assert_cmpint(custody_log_open(f->dir, f->key, "dock-1", &l), ==, 1);
        g_assert_cmpuint(custody_log_next_seq(l), ==, 1);
        custody_log_free(l);
}

static void test_corrupt_refused(Fixture *f, gconstpointer data) {
        g_autofree char *cur = current_path(f), *copy = NULL;
        g_autofree char *text = NULL;
        CustodyLog *l = log_open(f);
        char *path = NULL;
        gsize size;

        append_segment(l, 0);
        custody_log_free(l);
        text = read_text(cur, &size);

        /* two damaged lines are not a crash: refuse rather than guess */
        append_raw(cur, "x\ny\n", 4);
        g_assert_cmpint(custody_log_open(f->dir, f->key, "dock-1", &l), ==, -EBADMSG);
        write_text(cur, text, size);

        /* a sealed file that does not join up with the current one */
        l = log_open(f);
        g_assert_cmpint(custody_log_seal(l, &path), ==, 0);
        append_segment(l, 1);
        custody_log_free(l);
        g_assert_cmpint(g_unlink(path), ==, 0);
        copy = g_strdup(path);
        copy[strlen(copy) - strlen("0000000002.jsonl")] = 0;
        g_free(path);
        path = g_strconcat(copy, "0000000001.jsonl", NULL);  /* ends one before the truth */
        write_text(path, text, size);
        g_assert_cmpint(custody_log_open(f->dir, f->key, "dock-1", &l), ==, -EBADMSG);
        g_free(path);
}

/* ---- sealing ---- */

static void test_seal_continue(Fixture *f, gconstpointer data) {
        g_autofree char *cur = current_path(f), *pub = pub_path(f), *s1 = NULL, *s2 = NULL, *s3 = NULL;
        g_autofree char *out = NULL, *want = NULL, *last = NULL;
        g_auto(GStrv) sealed_lines = NULL, cur_lines = NULL;
        CustodyLog *l = log_open(f);
        struct stat st;
        json_object *o;

        append_segment(l, 0);
        append_segment(l, 1);
        g_assert_cmpint(custody_log_seal(l, &s1), ==, 0);
        want = g_build_filename(f->dir, "sealed", "dock-1-0000000000-0000000002.jsonl", NULL);
        g_assert_cmpstr(s1, ==, want);
        g_assert_cmpint(stat(s1, &st), ==, 0);
        g_assert_cmpint(st.st_mode & 0222, ==, 0);
        g_assert_cmpint(stat(cur, &st), ==, 0);
        g_assert_cmpint(st.st_size, ==, 0);

        /* nothing to seal */
        s3 = (char *) 0x1;
        g_assert_cmpint(custody_log_seal(l, &s3), ==, 0);
        g_assert_null(s3);

        append_segment(l, 2);
        g_assert_cmpuint(custody_log_next_seq(l), ==, 4);
        g_assert_cmpint(custody_log_seal(l, &s2), ==, 0);
        g_assert_true(g_str_has_suffix(s2, "/dock-1-0000000003-0000000003.jsonl"));
        custody_log_free(l);

        /* the chain continues from the newest sealed file */
        l = log_open(f);
        g_assert_cmpuint(custody_log_next_seq(l), ==, 5);
        custody_log_free(l);
        sealed_lines = read_lines(s2);
        cur_lines = read_lines(cur);
        last = sha256_hex(sealed_lines[0], strlen(sealed_lines[0]));
        o = parse(cur_lines[0]);
        g_assert_cmpstr(get(o, "prev"), ==, last);
        g_assert_cmpstr(get(o, "continues"), ==, "true");
        json_object_put(o);

        {
                char *all[] = { s1, s2, cur };
                g_assert_cmpint(verify(all, 3, pub, &out), ==, 0);
                g_assert_true(g_str_has_prefix(out, "valid: 5 records, seq 0..4, "));
                g_free(out);
                /* a sealed file alone: its name fixes its range */
                g_assert_cmpint(verify(all + 1, 2, NULL, &out), ==, 0);
                g_assert_nonnull(strstr(out, "seq 3..4"));
                g_assert_nonnull(strstr(out, "link to seq 2 and earlier was not checked"));
                g_free(out);
                /* the current file alone starts mid-chain with nothing to anchor it */
                g_assert_cmpint(verify(all + 2, 1, pub, &out), ==, -EBADMSG);
                g_assert_nonnull(strstr(out, ":1: the chain starts at seq 4"));
                g_free(out);
                out = NULL;
        }
}

static void test_list_mark_uploaded(Fixture *f, gconstpointer data) {
        char *s[3] = {};
        g_auto(GStrv) list = NULL;
        CustodyLog *l = log_open(f);

        for (unsigned i = 0; i < 3; i++) {
                append_segment(l, i);
                g_assert_cmpint(custody_log_seal(l, &s[i]), ==, 0);
        }
        g_assert_cmpint(custody_log_list_sealed(l, &list), ==, 3);
        for (unsigned i = 0; i < 3; i++)
                g_assert_cmpstr(list[i], ==, s[i]);
        g_assert_null(list[3]);
        g_clear_pointer(&list, g_strfreev);

        g_assert_cmpint(custody_log_mark_uploaded(l, s[1]), ==, 0);
        g_assert_cmpint(custody_log_mark_uploaded(l, s[1]), ==, 0);
        g_assert_cmpint(custody_log_mark_uploaded(l, "/etc/passwd"), ==, -EINVAL);
        g_assert_cmpint(custody_log_mark_uploaded(l, "dock-1-0000000100-0000000200.jsonl"), ==, -ENOENT);
        custody_log_free(l);

        /* markers survive a restart; the oldest first */
        l = log_open(f);
        g_assert_cmpint(custody_log_list_sealed(l, &list), ==, 2);
        g_assert_cmpstr(list[0], ==, s[0]);
        g_assert_cmpstr(list[1], ==, s[2]);
        g_clear_pointer(&list, g_strfreev);
        g_assert_cmpint(custody_log_mark_uploaded(l, s[0]), ==, 0);
        g_assert_cmpint(custody_log_mark_uploaded(l, s[2]), ==, 0);
        g_assert_cmpint(custody_log_list_sealed(l, &list), ==, 0);
        g_assert_null(list[0]);
        custody_log_free(l);
        for (unsigned i = 0; i < 3; i++)
                g_free(s[i]);
}

static int compare_str_ptr(gconstpointer a, gconstpointer b) {
        return g_strcmp0(*(char *const *) a, *(char *const *) b);
}

/* The sealed files in order, then the current one. */
static char **all_files(Fixture *f, size_t *ret_n) {
        g_autofree char *sealed = g_build_filename(f->dir, "sealed", NULL);
        g_autoptr(GDir) d = g_dir_open(sealed, 0, NULL);
        GPtrArray *a = g_ptr_array_new();
        const char *name;

        while ((name = g_dir_read_name(d)))
                if (g_str_has_suffix(name, ".jsonl"))
                        g_ptr_array_add(a, g_build_filename(sealed, name, NULL));
        g_ptr_array_sort(a, compare_str_ptr);
        g_ptr_array_add(a, current_path(f));
        *ret_n = a->len;
        g_ptr_array_add(a, NULL);
        return (char **) g_ptr_array_free(a, FALSE);
}

static void check_opens_and_verifies(Fixture *f, uint64_t expect_next) {
        g_autofree char *pub = pub_path(f), *out = NULL;
        g_auto(GStrv) files = NULL;
        CustodyLog *l = log_open(f);
        size_t n;

        g_assert_cmpuint(custody_log_next_seq(l), ==, expect_next);
        append_segment(l, 99);
        custody_log_free(l);
        files = all_files(f, &n);
        if (verify(files, n, pub, &out) != 0)
                g_error("%s", out);
}

/* Every state a crash can leave in custody_log_seal(), built on disk. */
static void test_crash_in_seal(Fixture *f, gconstpointer data) {
        g_autofree char *cur = current_path(f), *s1 = NULL;
        CustodyLog *l = log_open(f);

        append_segment(l, 0);
        custody_log_free(l);
        /* 1. before the link: nothing happened (seq 0,1 + log-started 2) */
        check_opens_and_verifies(f, 3);

        /* 2. linked: current.jsonl is also the newest sealed file, not yet read-only */
        l = log_open(f);                                     /* seq 4 */
        g_assert_cmpint(custody_log_seal(l, &s1), ==, 0);
        custody_log_free(l);
        g_assert_cmpint(g_unlink(cur), ==, 0);
        g_assert_cmpint(chmod(s1, 0640), ==, 0);
        g_assert_cmpint(link(s1, cur), ==, 0);
        check_opens_and_verifies(f, 6);

        /* 3. linked, and the next current file made but not renamed into place */
        l = log_open(f);
        g_clear_pointer(&s1, g_free);
        g_assert_cmpint(custody_log_seal(l, &s1), ==, 0);
        custody_log_free(l);
        g_assert_cmpint(g_unlink(cur), ==, 0);
        g_assert_cmpint(chmod(s1, 0640), ==, 0);
        g_assert_cmpint(link(s1, cur), ==, 0);
        {
                g_autofree char *next = g_strconcat(cur, ".new", NULL);
                write_text(next, "", 0);
                check_opens_and_verifies(f, 9);
                g_assert_false(g_file_test(next, G_FILE_TEST_EXISTS));
        }

        /* 4. no current file at all (what an earlier dockd left between its rename and
         *    create, or an operator moving it aside): the chain goes on from the newest
         *    sealed file */
        l = log_open(f);
        g_clear_pointer(&s1, g_free);
        g_assert_cmpint(custody_log_seal(l, &s1), ==, 0);
        custody_log_free(l);
        g_assert_cmpint(g_unlink(cur), ==, 0);
        check_opens_and_verifies(f, 12);

        /* 5. sealed completely */
        l = log_open(f);
        g_clear_pointer(&s1, g_free);
        g_assert_cmpint(custody_log_seal(l, &s1), ==, 0);
        custody_log_free(l);
        check_opens_and_verifies(f, 15);
}

/* What the daemon does around a seal; run in a child process (--seal-run) so that
 * DOCKD_FAILPOINTS is read afresh. */
static int seal_run(const char *dir, const char *key) {
        CustodyLog *l = NULL;
        char *path = NULL;

        if (custody_log_open(dir, key, "dock-1", &l) < 0)
                return 3;
        append_segment(l, 1);
        if (custody_log_seal(l, &path) < 0)
                return 4;
        free(path);
        append_segment(l, 2);
        custody_log_free(l);
        return 0;
}

/* The same with real kills when built with -Dfailpoints=true (scripts/test). */
static void test_crash_failpoints(Fixture *f, gconstpointer data) {
        static const char *const points[] = {
                "atomic-after-rename", "custody-append-before-sync",
                "custody-seal-link-before-sync", "custody-seal-after-link", "custody-seal-after-create",
                "custody-seal-rename-before-sync", "custody-seal-after-rename",
        };
        g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);

        g_assert_nonnull(self);
        for (size_t i = 0; i < G_N_ELEMENTS(points); i++) {
                const char *argv[] = { self, "--seal-run", f->dir, f->key, NULL };
                g_auto(GStrv) env = g_environ_setenv(g_get_environ(), "DOCKD_FAILPOINTS", points[i], TRUE);
                g_autoptr(GError) error = NULL;
                uint64_t next;
                int status;

                g_assert_true(g_spawn_sync(NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
                                           &status, &error));
                g_test_message("%s: %s", points[i], WIFSIGNALED(status) ? "killed" : "ran to the end");
#if ENABLE_FAILPOINTS
                g_assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
#else
                g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
#endif
                {
                        CustodyLog *l = log_open(f);
                        next = custody_log_next_seq(l);
                        custody_log_free(l);
                }
                check_opens_and_verifies(f, next + 1);
        }
}

/* ---- the verifier ---- */

/* A small log in two files: sealed (log-started, 2 records) and current (2). */
static void small_log(Fixture *f, char ***ret_files, size_t *ret_n) {
        CustodyLog *l = log_open(f);
        g_autofree char *s = NULL;

        append_segment(l, 0);
        g_assert_cmpint(custody_log_append(l, CUSTODY_CONFIRMED, NULL, NULL, NULL, NULL), ==, 0);
        g_assert_cmpint(custody_log_seal(l, &s), ==, 0);
        append_segment(l, 1);
        g_assert_cmpint(custody_log_append(l, CUSTODY_UNDOCKED, "1", NULL, NULL, NULL), ==, 0);
        custody_log_free(l);
        *ret_files = all_files(f, ret_n);
        g_assert_cmpuint(*ret_n, ==, 2);
}

/* Copies of the log's files under mut/, same names, so that changes can be made. */
static char **mutable_copy(Fixture *f, char **files, size_t n) {
        char **copy = g_new0(char *, n + 1);

        for (size_t i = 0; i < n; i++) {
                g_autofree char *base = g_path_get_basename(files[i]), *text = NULL;
                gsize size;

                copy[i] = g_build_filename(f->tmp, "mut", base, NULL);
                text = read_text(files[i], &size);
                write_text(copy[i], text, size);
        }
        return copy;
}

static void test_verify_valid(Fixture *f, gconstpointer data) {
        g_autofree char *pub = pub_path(f), *out = NULL;
        g_auto(GStrv) files = NULL;
        size_t n;

        small_log(f, &files, &n);
        g_assert_cmpint(verify(files, n, pub, &out), ==, 0);
        g_assert_true(g_str_has_prefix(out, "valid: 5 records, seq 0..4, 20"));
        g_assert_nonnull(strstr(out, "signed by the key in "));
        g_assert_null(strstr(out, "not checked"));
        g_free(out);
        g_assert_cmpint(verify(files, n, NULL, &out), ==, 0);
        g_assert_nonnull(strstr(out, "internal consistency only"));
        g_free(out);
        g_assert_cmpint(verify(files, 0, NULL, &out), ==, -EINVAL);
        g_free(out);
        out = NULL;
}

/* Change every byte of one of the files (data: 0 sealed, 1 current), several
 * ways: each change must fail. */
static void test_verify_every_byte(Fixture *f, gconstpointer data) {
        g_autofree char *pub = pub_path(f);
        g_auto(GStrv) files = NULL, mut = NULL;
        static const uint8_t masks[] = { 0x01, 0x04, 0x20, 0x80 };
        size_t n, checked = 0, i = GPOINTER_TO_UINT(data);
        g_autofree char *text = NULL;
        gsize size;

        small_log(f, &files, &n);
        mut = mutable_copy(f, files, n);
        g_assert_cmpint(verify(mut, n, pub, NULL), ==, 0);
        text = read_text(files[i], &size);
        for (gsize pos = 0; pos < size; pos++)
                for (size_t m = 0; m < G_N_ELEMENTS(masks); m++) {
                        /* no key: the key from the log itself (one mask, it is slower) */
                        bool own_key = m == 0;

                        text[pos] ^= masks[m];
                        write_text(mut[i], text, size);
                        if (verify(mut, n, pub, NULL) >= 0 || (own_key && verify(mut, n, NULL, NULL) >= 0))
                                g_error("%s: byte %zu ^ 0x%02x still verifies", files[i], (size_t) pos, masks[m]);
                        text[pos] ^= masks[m];
                        checked++;
                }
        g_test_message("%zu single-byte changes, all detected", checked);
}

/* Write the files back from lines, some changed. */
static void lines_write(char **mut, size_t n, char ***per_file) {
        for (size_t i = 0; i < n; i++) {
                g_autoptr(GString) s = g_string_new(NULL);

                for (char **l = per_file[i]; *l; l++)
                        g_string_append_printf(s, "%s\n", *l);
                write_text(mut[i], s->str, s->len);
        }
}

static void test_verify_remove_reorder(Fixture *f, gconstpointer data) {
        g_autofree char *pub = pub_path(f), *out = NULL;
        g_auto(GStrv) files = NULL, mut = NULL;
        size_t n;

        small_log(f, &files, &n);
        mut = mutable_copy(f, files, n);
        for (size_t i = 0; i < n; i++) {
                g_auto(GStrv) orig = read_lines(files[i]);
                size_t k = g_strv_length(orig);

                for (size_t j = 0; j < k; j++) {
                        char **per_file[2];
                        g_auto(GStrv) removed = g_strdupv(orig), swapped = g_strdupv(orig);
                        bool tail_of_live_file = i == n - 1 && j == k - 1;

                        for (size_t x = 0; x < n; x++)
                                per_file[x] = x == i ? NULL : read_lines(files[x]);

                        /* remove line j */
                        g_free(removed[j]);
                        memmove(removed + j, removed + j + 1, (k - j) * sizeof(char *));
                        per_file[i] = removed;
                        lines_write(mut, n, per_file);
                        if (tail_of_live_file)
                                /* Nothing after it to notice: indistinguishable from a crash
                                 * before the append (docs/custody-log.md, "Limits"). */
                                g_assert_cmpint(verify(mut, n, pub, NULL), ==, 0);
                        else
                                g_assert_cmpint(verify(mut, n, pub, NULL), ==, -EBADMSG);

                        /* swap lines j and j+1 */
                        if (j + 1 < k) {
                                char *t = swapped[j];
                                swapped[j] = swapped[j + 1];
                                swapped[j + 1] = t;
                                per_file[i] = swapped;
                                lines_write(mut, n, per_file);
                                g_assert_cmpint(verify(mut, n, pub, NULL), ==, -EBADMSG);
                        }
                        /* duplicate line j */
                        {
                                g_auto(GStrv) dup = g_new0(char *, k + 2);
                                for (size_t x = 0, y = 0; x < k; x++) {
                                        dup[y++] = g_strdup(orig[x]);
                                        if (x == j)
                                                dup[y++] = g_strdup(orig[x]);
                                }
                                per_file[i] = dup;
                                lines_write(mut, n, per_file);
                                g_assert_cmpint(verify(mut, n, pub, NULL), ==, -EBADMSG);
                        }
                        for (size_t x = 0; x < n; x++)
                                if (x != i)
                                        g_strfreev(per_file[x]);
                }
        }
        /* files in the wrong order */
        {
                char *rev[] = { files[1], files[0] };
                g_assert_cmpint(verify(rev, 2, pub, &out), ==, -EBADMSG);
                g_free(out);
                out = NULL;
        }
        /* a sealed file left out */
        g_assert_cmpint(verify(files + 1, 1, pub, NULL), ==, -EBADMSG);
}

static int verify_dir(Fixture *f, char **ret_out) {
        g_autofree char *pub = pub_path(f);
        char *buf = NULL;
        size_t size = 0;
        FILE *out = open_memstream(&buf, &size);
        int r;

        g_assert_nonnull(out);
        r = custody_verify_dir(f->dir, pub, out);
        g_assert_cmpint(fclose(out), ==, 0);
        g_assert_true(size > 0 && buf[size - 1] == '\n');
        *ret_out = buf;
        return r;
}

/* The directory as a reader finds it at every step of a seal, and while a record is
 * being appended. */
static void test_verify_dir_live(Fixture *f, gconstpointer data) {
        static const char half[] = "{\"seq\":6,\"time\":\"20";
        g_autofree char *cur = current_path(f), *s1 = NULL, *out = NULL, *want = NULL;
        g_auto(GStrv) files = NULL;
        FILE *tail;
        size_t n;

        small_log(f, &files, &n);
        g_assert_cmpint(verify_dir(f, &out), ==, 0);
        g_assert_true(g_str_has_prefix(out, "valid: 5 records, seq 0..4, 20"));
        g_clear_pointer(&out, g_free);

        /* linked, not yet replaced: the new sealed file is the current one */
        {
                CustodyLog *l = log_open(f);                 /* log-started, seq 5 */
                g_assert_cmpint(custody_log_seal(l, &s1), ==, 0);
                custody_log_free(l);
        }
        g_assert_cmpint(g_unlink(cur), ==, 0);
        g_assert_cmpint(link(s1, cur), ==, 0);
        g_assert_cmpint(verify_dir(f, &out), ==, 0);
        g_assert_true(g_str_has_prefix(out, "valid: 6 records, seq 0..5, 20"));
        g_clear_pointer(&out, g_free);

        /* replaced: an empty current file after the sealed ones */
        g_assert_cmpint(g_unlink(cur), ==, 0);
        write_text(cur, "", 0);
        g_assert_cmpint(verify_dir(f, &out), ==, 0);
        g_assert_true(g_str_has_prefix(out, "valid: 6 records, seq 0..5, 20"));
        g_clear_pointer(&out, g_free);

        /* half a record being appended: not checked, and said so */
        tail = fopen(cur, "ae");
        g_assert_nonnull(tail);
        fputs(half, tail);
        g_assert_cmpint(fclose(tail), ==, 0);
        g_assert_cmpint(verify_dir(f, &out), ==, 0);
        g_assert_true(g_str_has_prefix(out, "valid: 6 records, seq 0..5, 20"));
        want = g_strdup_printf("the %zu bytes of a record being written", strlen(half));
        g_assert_nonnull(strstr(out, want));
        g_clear_pointer(&out, g_free);
        /* the file form still calls that a truncated file */
        g_strfreev(files);
        files = all_files(f, &n);
        g_assert_cmpint(verify(files, n, NULL, &out), ==, -EBADMSG);
        g_assert_nonnull(strstr(out, "truncated"));
        g_clear_pointer(&out, g_free);

        /* a missing current file is an error, not an empty log */
        g_assert_cmpint(g_unlink(cur), ==, 0);
        g_assert_cmpint(verify_dir(f, &out), ==, -ENOENT);
        g_assert_nonnull(strstr(out, "current.jsonl"));
}

/* With a seal size, every append that reaches it seals the file. */
static void test_seal_size(Fixture *f, gconstpointer data) {
        g_autofree char *out = NULL, *sealed = g_build_filename(f->dir, "sealed", NULL);
        CustodyLog *l = log_open(f);
        g_autoptr(GDir) d = NULL;
        unsigned count = 0;

        custody_log_set_seal_size(l, 1);
        for (unsigned i = 0; i < 5; i++)
                g_assert_cmpint(custody_log_append(l, CUSTODY_UNDOCKED, "1", NULL, NULL, NULL), ==, 0);
        custody_log_free(l);
        d = g_dir_open(sealed, 0, NULL);
        for (const char *name; (name = g_dir_read_name(d));)
                count += g_str_has_suffix(name, ".jsonl");
        g_assert_cmpuint(count, ==, 5);                      /* log-started joins the first */
        g_assert_cmpint(verify_dir(f, &out), ==, 0);
        g_assert_true(g_str_has_prefix(out, "valid: 6 records, seq 0..5, 20"));
}

static void test_verify_truncate(Fixture *f, gconstpointer data) {
        g_autofree char *pub = pub_path(f);
        g_auto(GStrv) files = NULL, mut = NULL;
        size_t n;

        small_log(f, &files, &n);
        mut = mutable_copy(f, files, n);
        for (size_t i = 0; i < n; i++) {
                g_autofree char *text = NULL;
                gsize size;

                text = read_text(files[i], &size);
                for (gsize len = 0; len < size; len++) {
                        bool at_line_end = len == 0 || text[len - 1] == '\n';

                        write_text(mut[i], text, len);
                        /* Only whole lines off the end of the live file go unnoticed. */
                        if (i == n - 1 && at_line_end)
                                g_assert_cmpint(verify(mut, n, pub, NULL), ==, 0);
                        else if (verify(mut, n, pub, NULL) != -EBADMSG)
                                g_error("%s truncated to %zu bytes still verifies", files[i], (size_t) len);
                }
                write_text(mut[i], text, size);
        }
}

static void test_verify_splice(Fixture *f, gconstpointer data) {
        g_autofree char *pub = pub_path(f), *other_dir = g_build_filename(f->tmp, "other", NULL);
        g_autofree char *other_key = g_build_filename(f->tmp, "other-key.pem", NULL);
        g_autofree char *out = NULL, *other_cur = NULL, *splice = NULL;
        g_auto(GStrv) files = NULL, a = NULL, b = NULL;
        CustodyLog *l = NULL;
        size_t n;

        small_log(f, &files, &n);

        /* another log by the same dock key, and one by another dock */
        for (unsigned pass = 0; pass < 2; pass++) {
                g_autofree char *dir = g_strdup_printf("%s%u", other_dir, pass);
                g_assert_cmpint(custody_log_open(dir, pass == 0 ? f->key : other_key, "dock-1", &l), ==, 0);
                append_segment(l, 0);
                append_segment(l, 1);
                append_segment(l, 2);
                custody_log_free(l);
                g_free(other_cur);
                other_cur = g_build_filename(dir, "current.jsonl", NULL);

                /* whole files */
                {
                        char *mix[] = { files[0], other_cur };
                        g_assert_cmpint(verify(mix, 2, pub, NULL), ==, -EBADMSG);
                        g_assert_cmpint(verify(mix, 2, NULL, NULL), ==, -EBADMSG);
                }
                /* lines: the first two of ours, then the rest of the other's */
                a = read_lines(files[0]);
                b = read_lines(other_cur);
                g_free(splice);
                splice = g_strdup_printf("%s\n%s\n%s\n%s\n", a[0], a[1], b[2], b[3]);
                {
                        g_autofree char *p = g_build_filename(f->tmp, "splice.jsonl", NULL);
                        write_text(p, splice, strlen(splice));
                        g_assert_cmpint(verify1(p, pub, &out), ==, -EBADMSG);
                        g_assert_nonnull(strstr(out, "splice.jsonl:3: "));
                        g_clear_pointer(&out, free);
                        g_assert_cmpint(verify1(p, NULL, NULL), ==, -EBADMSG);
                }
                g_clear_pointer(&a, g_strfreev);
                g_clear_pointer(&b, g_strfreev);
        }
}

static void test_verify_messages(Fixture *f, gconstpointer data) {
        g_autofree char *pub = pub_path(f), *out = NULL, *other = g_build_filename(f->tmp, "o.pem", NULL);
        g_autofree char *text = NULL, *changed = NULL, *tail = NULL;
        g_auto(GStrv) files = NULL, mut = NULL;
        size_t n;
        gsize size;

        small_log(f, &files, &n);
        mut = mutable_copy(f, files, n);

        /* a value changed in the second line of the current file */
        text = read_text(files[1], &size);
        changed = g_strdup(text);
        *strstr(changed, "REC-1") = 'X';
        write_text(mut[1], changed, size);
        g_assert_cmpint(verify(mut, n, pub, &out), ==, -EBADMSG);
        tail = g_strdup_printf("%s:1: signature does not verify with %s\n", mut[1], pub);
        g_assert_cmpstr(out, ==, tail);
        g_clear_pointer(&out, free);
        write_text(mut[1], text, size);

        /* a sealed file whose last record was removed */
        {
                g_auto(GStrv) lines = read_lines(files[0]);
                g_autofree char *s = g_strdup_printf("%s\n%s\n", lines[0], lines[1]);
                g_autofree char *p = g_build_filename(f->tmp, "m2", "dock-1-0000000000-0000000002.jsonl", NULL);
                write_text(p, s, strlen(s));
                g_assert_cmpint(verify1(p, pub, &out), ==, -EBADMSG);
                g_assert_nonnull(strstr(out, "ends at seq 1, but the file name says 2"));
                g_clear_pointer(&out, free);
        }

        /* another key */
        {
                EVP_PKEY *k = EVP_EC_gen("P-256");
                FILE *w = fopen(other, "we");
                g_assert_cmpint(PEM_write_PUBKEY(w, k), ==, 1);
                fclose(w);
                EVP_PKEY_free(k);
        }
        g_assert_cmpint(verify(files, n, other, &out), ==, -EBADMSG);
        g_assert_nonnull(strstr(out, ":1: log-started names another public key"));
        g_clear_pointer(&out, free);

        /* unusable key files and missing log files */
        g_assert_cmpint(verify(files, n, files[0], &out), <, 0);
        g_assert_nonnull(strstr(out, "cannot load an EC P-256 public key"));
        g_clear_pointer(&out, free);
        {
                char *missing[] = { (char *) "/nonexistent/x.jsonl" };
                g_assert_cmpint(verify(missing, 1, pub, &out), ==, -ENOENT);
                g_clear_pointer(&out, free);
        }
}

/* A new key (the old one lost): the chain goes on, the verifier names the spot. */
static void test_key_change(Fixture *f, gconstpointer data) {
        g_autofree char *pub = pub_path(f), *old_pub = NULL, *old = NULL, *out = NULL;
        g_auto(GStrv) files = NULL;
        CustodyLog *l = log_open(f);
        size_t n;

        append_segment(l, 0);
        custody_log_free(l);
        old = read_text(pub, NULL);
        old_pub = g_build_filename(f->tmp, "old.pub.pem", NULL);
        write_text(old_pub, old, strlen(old));
        g_assert_cmpint(g_unlink(f->key), ==, 0);
        l = log_open(f);
        custody_log_free(l);

        files = all_files(f, &n);
        g_assert_cmpint(verify(files, n, old_pub, &out), ==, -EBADMSG);
        g_assert_nonnull(strstr(out, "current.jsonl:3: log-started names another public key"));
}

static void test_perf(Fixture *f, gconstpointer data) {
        _cleanup_(custody_log_freep) CustodyLog *l = log_open(f);
        const unsigned n = 300;
        gint64 start = g_get_monotonic_time(), us;
        double rate;

        for (unsigned i = 0; i < n; i++)
                append_segment(l, i);
        us = g_get_monotonic_time() - start;
        rate = n * 1e6 / (double) MAX(us, 1);
        g_test_message("%u appends with fdatasync in %.3f s: %.0f appends/s (%s)", n, us / 1e6, rate, f->dir);
        printf("# custody appends/s: %.0f\n", rate);
        /* a segment takes ~6 records; even a slow SD card must keep well ahead of USB */
        g_assert_cmpfloat(rate, >, 20);
}

/* For tests/integration/test_custody.py: a log written by this code, for stock tools. */
static int write_sample(const char *dir) {
        g_autofree char *key = g_build_filename(dir, "dock-key.pem", NULL);
        g_autofree char *logdir = g_build_filename(dir, "custody", NULL);
        const LogField fields[] = { { "note", "quote \" backslash \\ newline \n caf\xc3\xa9" }, {} };
        CustodyLog *l = NULL;
        char *path = NULL;

        if (custody_log_open(logdir, key, "precinct-7.dock-2", &l) < 0)
                return 1;
        for (unsigned i = 0; i < 3; i++)
                append_segment(l, i);
        if (custody_log_seal(l, &path) < 0)
                return 1;
        free(path);
        if (custody_log_append(l, CUSTODY_UNDOCKED, "2", "BWC-0001", NULL, fields) < 0)
                return 1;
        custody_log_free(l);
        return 0;
}

#define ADD(name, fn) g_test_add(name, Fixture, NULL, fixture_setup, fn, fixture_teardown)

int main(int argc, char *argv[]) {
        if (argc == 3 && g_str_equal(argv[1], "--write-sample"))
                return write_sample(argv[2]);
        if (argc == 4 && g_str_equal(argv[1], "--seal-run"))
                return seal_run(argv[2], argv[3]);

        g_test_init(&argc, &argv, NULL);
        ADD("/custody/record-format", test_record_format);
        ADD("/custody/open-append-reopen", test_open_append_reopen);
        ADD("/custody/lock", test_lock);
        ADD("/custody/bad-field-keys", test_bad_field_keys);
        ADD("/custody/hostile-strings", test_hostile_strings);
        ADD("/custody/key-generation", test_key_generation);
        ADD("/custody/dock-certificate", test_dock_certificate);
        ADD("/custody/torn-line", test_torn_line);
        ADD("/custody/corrupt-refused", test_corrupt_refused);
        ADD("/custody/seal-continue", test_seal_continue);
        ADD("/custody/list-mark-uploaded", test_list_mark_uploaded);
        ADD("/custody/crash-in-seal", test_crash_in_seal);
        ADD("/custody/crash-failpoints", test_crash_failpoints);
        ADD("/custody/verify-valid", test_verify_valid);
        g_test_add("/custody/verify-every-byte/sealed", Fixture, GUINT_TO_POINTER(0), fixture_setup,
                   test_verify_every_byte, fixture_teardown);
        g_test_add("/custody/verify-every-byte/current", Fixture, GUINT_TO_POINTER(1), fixture_setup,
                   test_verify_every_byte, fixture_teardown);
        ADD("/custody/verify-remove-reorder", test_verify_remove_reorder);
        ADD("/custody/verify-truncate", test_verify_truncate);
        ADD("/custody/verify-dir-live", test_verify_dir_live);
        ADD("/custody/seal-size", test_seal_size);
        ADD("/custody/verify-splice", test_verify_splice);
        ADD("/custody/verify-messages", test_verify_messages);
        ADD("/custody/key-change", test_key_change);
        ADD("/custody/perf", test_perf);
        return g_test_run();
}
