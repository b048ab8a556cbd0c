/* SPDX-License-Identifier: Apache-2.0 */
/* s3-protocol.c: see s3-protocol.h. */
#include <ctype.h>
#include <openssl/evp.h>
#include <time.h>

#include "hexdecoct.h"
#include "s3-protocol.h"

/* path style: https://host[:port][/path]/bucket; virtual host: https://bucket.host[:port][/path] */
char *s3_bucket_url(const DockdConfig *c) {
        const char *e = c->s3_endpoint, *rest = strstr(e, "://");
        size_t n = strlen(e);
        char *u;

        while (n > 0 && e[n - 1] == '/')
                n--;
        if (c->s3_url_style == S3_URL_STYLE_VIRTUAL && rest) {
                if (asprintf(&u, "%.*s%s.%.*s", (int) (rest + 3 - e), e, c->s3_bucket,
                             (int) (n - (size_t) (rest + 3 - e)), rest + 3) < 0)
                        return NULL;
        } else if (asprintf(&u, "%.*s/%s", (int) n, e, c->s3_bucket) < 0)
                return NULL;
        return u;
}

/* RFC 3986 unreserved characters stay, everything else is %XX: SigV4's rule
 * for query values, and for object keys ('/' kept). libcurl signs the URL as
 * given, so it must be in canonical form already. Our keys are made of
 * [A-Za-z0-9._-/] (config-value.c, object-key.c) and pass unchanged. */
char *s3_uri_escape(const char *s, bool keep_slash) {
        char *out = malloc(strlen(s) * 3 + 1), *o = out;

        if (!out)
                return NULL;
        for (const unsigned char *c = (const unsigned char *) s; *c; c++)
                if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
                    (*c && strchr("-._~", *c)) || (keep_slash && *c == '/'))
                        *o++ = (char) *c;
                else
                        o += sprintf(o, "%%%02X", *c);
        *o = 0;
        return out;
}

bool s3_etag_equal(const char *header, const char *want) {
        size_t n;

        if (!header)
                return false;
        if (*header == '"')
                header++;
        n = strcspn(header, "\"");
        return strlen(want) == n && strncasecmp(header, want, n) == 0;
}

void s3_describe_error(HttpRequest *r, char *code, size_t code_size, char *buf, size_t size) {
        size_t n;
        const char *body = http_request_body(r, &n);

        s3_error_describe(http_request_status(r), body, n, code, code_size, buf, size);
}

/* What a refusal means for the uploader. */
int s3_status_error(long status, const char *code) {
        if (status == 401 || status == 403)
                return -EACCES;
        if (status == 404 && streq(code, "NoSuchBucket"))
                return -ENXIO;
        if (status == 503 || status == 429)
                return -EBUSY;
        if (status >= 500)
                return -EREMOTEIO;
        /* A request the store refuses as such (400 InvalidRequest for Object Lock
         * on a bucket without it, 405, 411, 413, …): the same request will be
         * refused again. 404, 408, 409 and 412 can pass. */
        if (status >= 400 && status != 404 && status != 408 && status != 409 && status != 412)
                return -EPERM;
        return -EPROTO;
}

int s3_add_payload_hash(HttpRequest *r, const uint8_t sha256[32]) {
        char hex[65];

        return http_request_add_header(r, "x-amz-content-sha256: %s",
                                       sha256 ? hexmem(sha256, 32, hex) : S3_EMPTY_SHA256);
}

static int format_date(usec_t t, char date[static 32]) {
        time_t sec = (time_t) (t / USEC_PER_SEC);
        struct tm tm;

        if (!gmtime_r(&sec, &tm) || strftime(date, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return -EINVAL;
        return 0;
}

static const char *lock_mode(const DockdConfig *c) {
        return c->s3_object_lock_mode == OBJECT_LOCK_GOVERNANCE ? "GOVERNANCE" : "COMPLIANCE";
}

int s3_lock_document(const DockdConfig *c, usec_t retain_until, bool legal_hold, char **ret) {
        char date[32];
        int k;

        if (legal_hold)
                k = asprintf(ret, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LegalHold xmlns=\"%s\">"
                             "<Status>ON</Status></LegalHold>\n", S3_XMLNS);
        else if (format_date(retain_until, date) < 0)
                return -EINVAL;
        else
                k = asprintf(ret, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Retention xmlns=\"%s\">"
                             "<Mode>%s</Mode><RetainUntilDate>%s</RetainUntilDate></Retention>\n",
                             S3_XMLNS, lock_mode(c), date);
        return k < 0 ? -ENOMEM : 0;
}

int s3_lock_request_body(HttpRequest *r, const DockdConfig *c, usec_t retain_until, bool legal_hold) {
        _cleanup_free_ char *doc = NULL;
        uint8_t sha[32], md5[16];
        char b64md5[25];
        int k;

        k = s3_lock_document(c, retain_until, legal_hold, &doc);
        if (k >= 0 && (!EVP_Digest(doc, strlen(doc), sha, NULL, EVP_sha256(), NULL) ||
                       !EVP_Digest(doc, strlen(doc), md5, NULL, EVP_md5(), NULL)))
                k = -EIO;
        if (k >= 0)
                k = s3_add_payload_hash(r, sha);
        if (k >= 0)
                k = http_request_add_header(r, "Content-MD5: %s", base64mem(md5, 16, b64md5));
        if (k >= 0)
                k = http_request_add_header(r, "Content-Type: application/xml");
        if (k >= 0)
                k = http_request_set_body(r, doc, strlen(doc));
        return k;
}

int s3_add_object_headers(HttpRequest *r, const DockdConfig *c, const char *content_type, const uint8_t sha256[32],
                          usec_t retain_until, bool legal_hold) {
        char hex[65];
        int k;

        k = http_request_add_header(r, "Content-Type: %s", content_type ?: "application/octet-stream");
        if (k >= 0)
                k = http_request_add_header(r, "x-amz-meta-sha256: %s", hexmem(sha256, 32, hex));
        if (k >= 0 && c->s3_object_lock && retain_until > 0) {
                char date[32];

                if (format_date(retain_until, date) < 0)
                        return -EINVAL;
                k = http_request_add_header(r, "x-amz-object-lock-mode: %s", lock_mode(c));
                if (k >= 0)
                        k = http_request_add_header(r, "x-amz-object-lock-retain-until-date: %s", date);
        }
        if (k >= 0 && c->s3_object_lock && legal_hold)
                k = http_request_add_header(r, "x-amz-object-lock-legal-hold: ON");
        return k;
}

int s3_complete_document(size_t n_parts, s3_part_digests_t part, void *userdata, bool with_checksums, char **ret,
                         size_t *ret_size) {
        _cleanup_free_ char *xml = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&xml, &size);

        if (!f)
                return -ENOMEM;
        fputs("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">", f);
        for (size_t i = 0; i < n_parts; i++) {
                const uint8_t *md5, *sha256;
                char hex[33], b64[45];
                unsigned number;

                part(i, &number, &md5, &sha256, userdata);
                fprintf(f, "<Part><PartNumber>%u</PartNumber><ETag>\"%s\"</ETag>", number, hexmem(md5, 16, hex));
                if (with_checksums)
                        fprintf(f, "<ChecksumSHA256>%s</ChecksumSHA256>", base64mem(sha256, 32, b64));
                fputs("</Part>", f);
        }
        fputs("</CompleteMultipartUpload>", f);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(xml);
        *ret_size = size;
        return 0;
}
