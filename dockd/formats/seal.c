/* SPDX-License-Identifier: Apache-2.0 */
/* seal.c: see seal.h. The manifest is written and then read back with the
 * strict parser, so that the dock never signs text a verifier could read two
 * ways. */
#include <inttypes.h>
#include <openssl/cms.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "hexdecoct.h"
#include "manifest.h"
#include "openssl-util.h"
#include "parse-util.h"
#include "seal.h"

#define SEAL_CERT_YEARS 30

int seal_recording_id(const char *source_path, uint64_t size, time_t capture_time, char buf[static 18]) {
        uint8_t md[SHA256_DIGEST_LENGTH];
        char hex[65], num[64];
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        int n = snprintf(num, sizeof num, "%" PRIu64 "%c%" PRIi64, size, 0, (int64_t) capture_time);

        if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
            EVP_DigestUpdate(ctx, source_path, strlen(source_path) + 1) != 1 ||
            EVP_DigestUpdate(ctx, num, (size_t) n) != 1 || EVP_DigestFinal_ex(ctx, md, NULL) != 1)
                return -ENOMEM;
        hexmem(md, sizeof md, hex);
        buf[0] = 'G';
        memcpy(buf + 1, hex, 16);
        buf[17] = 0;
        return 0;
}

static bool path_byte_plain(unsigned char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("._/-", c);
}

char *seal_source_path_encode(const char *path) {
        size_t n = strlen(path);
        char *out = malloc(n * 3 + 1), *o = out;

        if (!out)
                return NULL;
        for (const unsigned char *p = (const unsigned char *) path; *p; p++)
                if (path_byte_plain(*p))
                        *o++ = (char) *p;
                else
                        o += sprintf(o, "%%%02X", *p);
        *o = 0;
        return out;
}

static char *format_time(time_t t, char buf[static 32]) {
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return NULL;
        return buf;
}

/* A camera's model or firmware as a §12.2 value: 1..64 printable ASCII characters,
 * else "unknown" (the strict choice: no escape or C1 control reaches a reader). */
static const char *plain_or_unknown(const char *s) {
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > 64)
                return "unknown";
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p >= 0x7f)
                        return "unknown";
        return s;
}

int seal_manifest_format(const SealInput *in, char **ret, size_t *ret_size) {
        _cleanup_free_ char *text = NULL, *path = NULL, *why = NULL;
        _cleanup_(manifest_freep) Manifest *check = NULL;
        char sha[65], prev[65], capture[32], sealed[32];
        int n;

        if (!serial_is_valid(in->device_serial) || !recording_id_is_valid(in->recording_id) ||
            !name_is_valid(in->dock_name, 64) || isempty(in->source_path) || in->size > INT64_MAX)
                return -EINVAL;
        path = seal_source_path_encode(in->source_path);
        if (!path)
                return -ENOMEM;
        if (!format_time(in->capture_time, capture) || !format_time(in->sealed_time, sealed))
                return -EINVAL;
        n = asprintf(&text,
                     "format=1\ndevice_serial=%s\nmodel=%s\nfirmware=%s\nrecording_id=%s\n"
                     "segment_index=0\nfile_name=000000.mp4\nsize=%" PRIu64 "\nsha256=%s\nprev=%s\n"
                     "start_time=%s\nend_time=%s\nofficer_id=unknown\ncategories=\n"
                     "sealed_by=%s\nsealed_time=%s\nsource_path=%s\n",
                     in->device_serial, plain_or_unknown(in->model), plain_or_unknown(in->firmware),
                     in->recording_id, in->size, hex_sha256(in->sha256, sha), hex_sha256(in->prev, prev),
                     capture, capture, in->dock_name, sealed, path);
        if (n < 0) {
                text = NULL;
                return -ENOMEM;
        }
        /* Fail closed: only text the strict reader takes back is sealed. */
        if (manifest_parse_sealed((const uint8_t *) text, (size_t) n, &check, &why) < 0)
                return -EINVAL;
        *ret_size = (size_t) n;
        *ret = TAKE_PTR(text);
        return 0;
}

int seal_sign(EVP_PKEY *key, X509 *cert, const uint8_t *manifest, size_t size, uint8_t **ret, size_t *ret_size) {
        _cleanup_(BIO_freep) BIO *in = BIO_new_mem_buf(manifest, (int) size);
        _cleanup_(CMS_ContentInfo_freep) CMS_ContentInfo *cms = NULL;
        unsigned char *der = NULL;
        int n;

        if (!in || size > INT_MAX)
                return -ENOMEM;
        /* CMS_BINARY: the bytes as they are (no MIME canonicalisation of LF);
         * signed attributes (content type, digest, signing time) as §12.3. */
        cms = CMS_sign(cert, key, NULL, in, CMS_DETACHED | CMS_BINARY);
        if (!cms)
                return -EIO;
        n = i2d_CMS_ContentInfo(cms, &der);
        if (n <= 0)
                return -EIO;
        *ret = memdup(der, (size_t) n);
        OPENSSL_free(der);
        if (!*ret)
                return -ENOMEM;
        *ret_size = (size_t) n;
        return 0;
}

static int add_ext(X509 *x, int nid, const char *value) {
        X509V3_CTX ctx;
        X509_EXTENSION *ext;
        int ok;

        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
        if (!ext)
                return -EIO;
        ok = X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
        return ok ? 0 : -EIO;
}

int seal_dock_certificate(EVP_PKEY *key, const char *dock_name, time_t now, X509 **ret) {
        _cleanup_(X509_freep) X509 *x = X509_new();
        _cleanup_free_ char *cn = NULL;
        uint8_t serial[16];
        BIGNUM *bn;
        X509_NAME *name;

        if (!x || !name_is_valid(dock_name, 64))
                return !x ? -ENOMEM : -EINVAL;
        if (asprintf(&cn, "dockd dock %s", dock_name) < 0)
                return -ENOMEM;
        if (RAND_bytes(serial, sizeof serial) != 1)
                return -EIO;
        serial[0] &= 0x7f;   /* a positive INTEGER */
        bn = BN_bin2bn(serial, sizeof serial, NULL);
        if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x))) {
                BN_free(bn);
                return -EIO;
        }
        BN_free(bn);
        name = X509_get_subject_name(x);
        if (X509_set_version(x, 2) != 1 ||
            !X509_time_adj_ex(X509_getm_notBefore(x), -1, 0, &now) ||
            !X509_time_adj_ex(X509_getm_notAfter(x), SEAL_CERT_YEARS * 365, 0, &now) ||
            !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *) "dockd", -1, -1, 0) ||
            !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *) cn, -1, -1, 0) ||
            !X509_NAME_add_entry_by_txt(name, "serialNumber", MBSTRING_UTF8, (const unsigned char *) dock_name, -1, -1, 0) ||
            X509_set_issuer_name(x, name) != 1 || X509_set_pubkey(x, key) != 1)
                return -EIO;
        if (add_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
            add_ext(x, NID_key_usage, "critical,digitalSignature") < 0 ||
            add_ext(x, NID_subject_key_identifier, "hash") < 0)
                return -EIO;
        if (X509_sign(x, key, EVP_sha256()) <= 0)
                return -EIO;
        *ret = TAKE_PTR(x);
        return 0;
}
