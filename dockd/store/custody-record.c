/* SPDX-License-Identifier: Apache-2.0 */
/* custody-record.c: see custody-record.h. */
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <time.h>

#include "custody-record.h"
#include "hexdecoct.h"
#include "openssl-util.h"
#include "parse-util.h"

const char *const custody_reserved_keys[] = {
        "seq", "time", "dock", "event", "bay", "camera", "segment", "prev", "sig", NULL,
};

int custody_sha256_hex(const void *data, size_t size, char ret[static 65]) {
        uint8_t md[32];
        unsigned n = 0;

        if (EVP_Digest(data, size, md, &n, EVP_sha256(), NULL) != 1 || n != sizeof md)
                return -EIO;
        hexmem(md, sizeof md, ret);
        return 0;
}

bool custody_hex64_is_valid(const char *s) {
        uint8_t md[32];

        return unhexmem(s, md, sizeof md) >= 0;
}

bool custody_field_key_is_valid(const char *k) {
        if (isempty(k) || strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(k))
                return false;
        for (size_t i = 0; custody_reserved_keys[i]; i++)
                if (streq(k, custody_reserved_keys[i]))
                        return false;
        return true;
}

bool custody_string_is_valid(const char *s) {
        return s && utf8_is_valid(s, strlen(s));
}

/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ", nothing else. */
bool custody_time_is_valid(const char *s) {
        static const char pattern[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";

        if (strlen(s) != TIME_LEN)
                return false;
        for (size_t i = 0; i < TIME_LEN; i++)
                if (pattern[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pattern[i])
                        return false;
        return true;
}

int custody_format_time_now(char ret[static TIME_LEN + 1]) {
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

int custody_key_check_p256(EVP_PKEY *k) {
        char group[64];

        if (!EVP_PKEY_is_a(k, "EC") ||
            !EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, NULL) ||
            !streq(group, "prime256v1"))
                return -EKEYREJECTED;
        return 0;
}

int custody_key_from_pem(const void *pem, size_t size, bool private_key, EVP_PKEY **ret) {
        _cleanup_(BIO_freep) BIO *b = BIO_new_mem_buf(pem, (int) size);
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *k = NULL;
        int r;

        if (!b)
                return -ENOMEM;
        k = private_key ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
        if (!k)
                return -EBADMSG;
        r = custody_key_check_p256(k);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(k);
        return 0;
}

int custody_public_key_to_pem(EVP_PKEY *k, char **ret_pem, char ret_sha256[static 65]) {
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
        r = custody_sha256_hex(der, (size_t) der_size, ret_sha256);
        if (r < 0)
                return r;
        pem = strndup(data, (size_t) n);
        if (!pem)
                return -ENOMEM;
        *ret_pem = pem;
        return 0;
}

int custody_signature_verify(EVP_PKEY *k, const void *msg, size_t msg_size, const uint8_t *sig,
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
json_object *custody_line_parse(const char *line, size_t size) {
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
int custody_line_parse_seq(const char *line, size_t size, uint64_t *ret_seq) {
        _cleanup_(json_object_putp) json_object *o = custody_line_parse(line, size);
        json_object *seq, *prev, *sig;
        int64_t v;

        if (!o || !json_object_object_get_ex(o, "seq", &seq) || !json_object_is_type(seq, json_type_int) ||
            !json_object_object_get_ex(o, "prev", &prev) || !json_object_is_type(prev, json_type_string) ||
            !custody_hex64_is_valid(json_object_get_string(prev)) ||
            !json_object_object_get_ex(o, "sig", &sig) || !json_object_is_type(sig, json_type_string))
                return -EBADMSG;
        v = json_object_get_int64(seq);
        if (v < 0 || v == INT64_MAX)
                return -EBADMSG;
        *ret_seq = (uint64_t) v;
        return 0;
}

/* "<dock>-<first>-<last>.jsonl" (seqs zero-padded to 10 digits when written). */
bool custody_sealed_name_parse(const char *name, uint64_t *ret_first, uint64_t *ret_last) {
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
