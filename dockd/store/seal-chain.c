/* SPDX-License-Identifier: Apache-2.0 */
/* seal-chain.c: see seal-chain.h. */
#include "fileio.h"
#include "manifest.h"
#include "seal-chain.h"

#define SEAL_HEAD_FILE ".sealed-head"

static char *head_path(Spool *s, const char *serial) {
        char *p;

        if (asprintf(&p, "%s/%s/%s", spool_dir(s), serial, SEAL_HEAD_FILE) < 0)
                return NULL;
        return p;
}

int seal_chain_head_load(Spool *s, const char *serial, uint8_t ret[32]) {
        _cleanup_free_ char *p = head_path(s, serial), *data = NULL;
        size_t size;
        int r;

        if (!p)
                return -ENOMEM;
        r = read_full_file(p, 128, &data, &size);
        if (r == -ENOENT) {
                memset(ret, 0, 32);
                return 0;
        }
        if (r < 0)
                return r;
        if (size != 65 || data[64] != '\n')
                return -EBADMSG;
        data[64] = 0;
        return unhex_sha256(data, ret) < 0 ? -EBADMSG : 0;
}

int seal_chain_head_save(Spool *s, const char *serial, const uint8_t sha256[32]) {
        _cleanup_free_ char *p = head_path(s, serial), *dir = NULL;
        char line[66];
        int r;

        if (!p)
                return -ENOMEM;
        dir = path_dirname(p);
        if (!dir)
                return -ENOMEM;
        r = mkdir_p_durable(dir, 0750);
        if (r < 0)
                return r;
        hex_sha256(sha256, line);
        line[64] = '\n';
        line[65] = 0;
        return write_file_atomic(p, line, 65, 0640);
}
