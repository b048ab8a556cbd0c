/* SPDX-License-Identifier: Apache-2.0 */
/* crl.c: see crl.h. "Changed" is judged by a SHA-256 over each file's name,
 * inode, size and modification time: a stat per file per check, cheap enough to
 * do before every verification, and an atomic rename (how CRLs are published)
 * always changes the inode. */
#include <dirent.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include "crl.h"
#include "fileio.h"
#include "openssl-util.h"

#define CRL_FILE_MAX_SIZE (64 * 1024 * 1024)
#define CRL_DIR_MAX_FILES 1024

struct CrlSet {
        char *path;
        uint8_t fingerprint[32];
        STACK_OF(X509_CRL) *crls;
};

static void crl_stack_free(STACK_OF(X509_CRL) *sk) {
        sk_X509_CRL_pop_free(sk, X509_CRL_free);
}

static void crl_stack_freep(STACK_OF(X509_CRL) **sk) {
        crl_stack_free(*sk);
}

CrlSet *crl_set_free(CrlSet *s) {
        if (!s)
                return NULL;
        crl_stack_free(s->crls);
        free(s->path);
        free(s);
        return NULL;
}

_printf_(3, 4)
static int fail(int r, char **ret_error, const char *fmt, ...) {
        va_list ap;

        ERR_clear_error();
        if (ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return r;
}

/* The CRLs of one file, appended to sk. */
static int load_file(const char *path, STACK_OF(X509_CRL) *sk, char **ret_error) {
        _cleanup_(x509_info_stack_freep) STACK_OF(X509_INFO) *infos = NULL;
        _cleanup_(BIO_freep) BIO *bio = NULL;
        _cleanup_free_ char *data = NULL;
        size_t size = 0, n = 0;
        int k;

        k = read_full_file(path, CRL_FILE_MAX_SIZE, &data, &size);
        if (k < 0)
                return fail(k, ret_error, "%s: %s", path, strerror(-k));
        if (size > 0 && (uint8_t) data[0] == 0x30) {
                const unsigned char *p = (const unsigned char *) data;
                X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long) size);

                if (!crl || p != (const unsigned char *) data + size || !sk_X509_CRL_push(sk, crl)) {
                        X509_CRL_free(crl);
                        return fail(-EBADMSG, ret_error, "%s: not a DER CRL", path);
                }
                return 0;
        }
        bio = BIO_new_mem_buf(data, (int) size);
        if (!bio)
                return -ENOMEM;
        infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
        if (!infos)
                return fail(-EBADMSG, ret_error, "%s: not a PEM file", path);
        for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
                X509_INFO *info = sk_X509_INFO_value(infos, i);

                if (!info->crl)
                        continue;
                if (!sk_X509_CRL_push(sk, info->crl))
                        return -ENOMEM;
                info->crl = NULL;
                n++;
        }
        if (n == 0)
                return fail(-EBADMSG, ret_error, "%s: no CRL in it", path);
        return 0;
}

static int name_cmp(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The files a path stands for, sorted: itself, or the regular files of the
 * directory that do not start with a dot. */
static int list_files(const char *path, char ***ret) {
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_(strv_freep) char **v = NULL;
        struct dirent *e;
        struct stat st;
        size_t n = 0;

        if (stat(path, &st) < 0)
                return -errno;
        v = calloc(CRL_DIR_MAX_FILES + 1, sizeof *v);
        if (!v)
                return -ENOMEM;
        if (!S_ISDIR(st.st_mode)) {
                v[0] = strdup(path);
                if (!v[0])
                        return -ENOMEM;
                *ret = TAKE_PTR(v);
                return 0;
        }
        d = opendir(path);
        if (!d)
                return -errno;
        while ((e = readdir(d))) {
                _cleanup_free_ char *p = NULL;

                if (e->d_name[0] == '.')
                        continue;
                p = path_join(path, e->d_name);
                if (!p)
                        return -ENOMEM;
                if (stat(p, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                if (n == CRL_DIR_MAX_FILES)
                        return -E2BIG;
                v[n++] = TAKE_PTR(p);
        }
        qsort(v, n, sizeof *v, name_cmp);
        *ret = TAKE_PTR(v);
        return 0;
}

static int fingerprint(char **files, uint8_t ret[32]) {
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *h = EVP_MD_CTX_new();

        if (!h || !EVP_DigestInit_ex(h, EVP_sha256(), NULL))
                return -ENOMEM;
        for (char **f = files; *f; f++) {
                struct stat st;

                if (stat(*f, &st) < 0)
                        return -errno;
                EVP_DigestUpdate(h, *f, strlen(*f) + 1);
                EVP_DigestUpdate(h, &st.st_ino, sizeof st.st_ino);
                EVP_DigestUpdate(h, &st.st_size, sizeof st.st_size);
                EVP_DigestUpdate(h, &st.st_mtim, sizeof st.st_mtim);
        }
        return EVP_DigestFinal_ex(h, ret, NULL) ? 0 : -ENOMEM;
}

int crl_set_refresh(CrlSet *s, char **ret_error) {
        _cleanup_(strv_freep) char **files = NULL;
        _cleanup_(crl_stack_freep) STACK_OF(X509_CRL) *sk = NULL;
        uint8_t fp[32];
        int k;

        k = list_files(s->path, &files);
        if (k >= 0)
                k = fingerprint(files, fp);
        if (k < 0)
                return fail(k, ret_error, "%s: %s", s->path, strerror(-k));
        if (s->crls && memcmp(fp, s->fingerprint, 32) == 0)
                return 0;
        memcpy(s->fingerprint, fp, 32);   /* a bad change is reported once */
        sk = sk_X509_CRL_new_null();
        if (!sk)
                return -ENOMEM;
        for (char **f = files; *f; f++) {
                k = load_file(*f, sk, ret_error);
                if (k < 0)
                        return k;
        }
        crl_stack_free(s->crls);
        s->crls = TAKE_PTR(sk);
        ERR_clear_error();
        return 1;
}

STACK_OF(X509_CRL) *crl_set_current(CrlSet *s) {
        return s->crls;
}

int crl_set_new(const char *path, CrlSet **ret, char **ret_error) {
        _cleanup_(crl_set_freep) CrlSet *s = NULL;
        int k;

        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->path = strdup(path);
        if (!s->path)
                return -ENOMEM;
        k = crl_set_refresh(s, ret_error);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(s);
        return 0;
}
