/* SPDX-License-Identifier: Apache-2.0 */
/* filehash.h: hashing a range of a spool file in the worker pool, so that the
 * event loop never reads a part's worth of disk: SHA-256 (and MD5, for S3's
 * Content-MD5 and ETags) of the range, and optionally the same bytes fed into a
 * running whole-object SHA-256 (ranges of one object hashed in order). */
#pragma once

#include <openssl/evp.h>

#include "worker.h"

typedef struct FileHash {
        int fd;                    /* borrowed */
        uint64_t offset;
        uint64_t length;
        bool md5;                  /* also MD5 */
        EVP_MD_CTX *chain;         /* optional, borrowed: also fed the bytes */
        /* set by filehash_submit() */
        worker_done_t done;
        void *userdata;
        /* results */
        uint8_t sha256[32];
        uint8_t md5_digest[16];
} FileHash;

/* A file of any size (a manifest, a signature, a custody file, a report)
 * hashed on the loop as it is read, a buffer at a time: no limit at which such
 * a file would stay local, no copy in memory. */
int sha256_file(const char *path, uint64_t *ret_size, uint8_t ret[32]);

/* done(result, userdata) runs on the loop: 0, -ENODATA if the file is shorter
 * than the range, or another negative errno. h must stay alive until then. */
int filehash_submit(WorkerPool *pool, FileHash *h, worker_done_t done, void *userdata, WorkerJob **ret);
