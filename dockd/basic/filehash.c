/* SPDX-License-Identifier: Apache-2.0 */
/* filehash.c: see filehash.h. */
#include <fcntl.h>

#include "filehash.h"
#include "fileio.h"
#include "openssl-util.h"

#define FILEHASH_BUFFER (1024 * 1024)

static int filehash_work(void *userdata, volatile bool *cancelled) {
        FileHash *h = userdata;
        _cleanup_free_ uint8_t *buf = malloc(FILEHASH_BUFFER);
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *sha = EVP_MD_CTX_new();
        _cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md5 = h->md5 ? EVP_MD_CTX_new() : NULL;
        uint64_t done = 0;

        if (!buf || !sha || (h->md5 && !md5))
                return -ENOMEM;
        if (!EVP_DigestInit_ex(sha, EVP_sha256(), NULL) || (md5 && !EVP_DigestInit_ex(md5, EVP_md5(), NULL)))
                return -EIO;
        /* Read ahead of ourselves: the sender reads the same range right after. */
        (void) posix_fadvise(h->fd, (off_t) h->offset, (off_t) h->length, POSIX_FADV_WILLNEED);
        while (done < h->length) {
                size_t want = (size_t) MIN((uint64_t) FILEHASH_BUFFER, h->length - done);
                ssize_t n = pread_all(h->fd, buf, want, (off_t) (h->offset + done));

                if (n < 0)
                        return (int) n;
                if ((size_t) n < want)
                        return -ENODATA;
                if (!EVP_DigestUpdate(sha, buf, want) || (md5 && !EVP_DigestUpdate(md5, buf, want)) ||
                    (h->chain && !EVP_DigestUpdate(h->chain, buf, want)))
                        return -EIO;
                done += want;
                if (*cancelled)
                        return -ECANCELED;
        }
        if (!EVP_DigestFinal_ex(sha, h->sha256, NULL) || (md5 && !EVP_DigestFinal_ex(md5, h->md5_digest, NULL)))
                return -EIO;
        return 0;
}

int sha256_file(const char *path, uint64_t *ret_size, uint8_t ret[32]) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        _cleanup_free_ uint8_t *buf = malloc(MiB);
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        uint64_t total = 0;
        int r = 0;

        if (fd < 0)
                r = -errno;
        else if (!buf || !ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
                r = -ENOMEM;
        while (r >= 0) {
                ssize_t n = pread_all(fd, buf, MiB, (off_t) total);
                if (n < 0)
                        r = (int) n;
                else if (n == 0)
                        break;
                else if (!EVP_DigestUpdate(ctx, buf, (size_t) n))
                        r = -EIO;
                else
                        total += (uint64_t) n;
        }
        if (r >= 0 && !EVP_DigestFinal_ex(ctx, ret, NULL))
                r = -EIO;
        EVP_MD_CTX_free(ctx);
        if (r >= 0)
                *ret_size = total;
        return r;
}

static void filehash_done(int result, void *userdata) {
        FileHash *h = userdata;

        h->done(result, h->userdata);
}

int filehash_submit(WorkerPool *pool, FileHash *h, worker_done_t done, void *userdata, WorkerJob **ret) {
        h->done = done;
        h->userdata = userdata;
        return worker_pool_submit(pool, filehash_work, filehash_done, h, ret);
}
