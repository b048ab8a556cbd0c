/* SPDX-License-Identifier: Apache-2.0 */
/* chain.c: see chain.h. State lives in <state_dir>/chains/<serial>/<recording>. */
#include <inttypes.h>

#include "chain.h"
#include "fileio.h"
#include "manifest.h"
#include "parse-util.h"

static char *chain_path(const char *state_dir, const char *serial, const char *recording) {
        char *p;

        if (asprintf(&p, "%s/chains/%s/%s", state_dir, serial, recording) < 0)
                return NULL;
        return p;
}

int chain_load(const char *state_dir, const char *serial, const char *recording, ChainHead *ret) {
        _cleanup_free_ char *p = chain_path(state_dir, serial, recording), *text = NULL;
        char hex[65];
        unsigned long long idx;
        ChainHead h;
        int r;

        if (!p)
                return -ENOMEM;
        r = read_full_file(p, 256, &text, NULL);
        if (r < 0)
                return r;
        if (sscanf(text, "index=%llu\nmanifest_sha256=%64s\n", &idx, hex) != 2 || idx > UINT32_MAX ||
            unhex_sha256(hex, h.manifest_sha256) < 0)
                return -EBADMSG;
        h.index = (uint32_t) idx;
        *ret = h;
        return 0;
}

int chain_save(const char *state_dir, const char *serial, const char *recording, const ChainHead *head) {
        _cleanup_free_ char *p = chain_path(state_dir, serial, recording), *text = NULL;
        char hex[65];
        int n, r;

        if (!p)
                return -ENOMEM;
        r = mkdir_parents_durable(p, 0750);
        if (r < 0)
                return r;
        n = asprintf(&text, "index=%" PRIu32 "\nmanifest_sha256=%s\n", head->index,
                     hex_sha256(head->manifest_sha256, hex));
        if (n < 0)
                return -ENOMEM;
        return write_file_atomic(p, text, (size_t) n, 0640);
}

int chain_check(const ChainHead *head, uint32_t index, const uint8_t prev[32], const char **ret_reason) {
        static const uint8_t zero[32] = {};

        if (index == 0) {
                if (memcmp(prev, zero, 32) != 0) {
                        *ret_reason = "first segment of its recording, but prev is not all zeros";
                        return -EBADMSG;
                }
                if (head) {
                        *ret_reason = "segment 0 again: the recording was restarted or replaced";
                        return -EBADMSG;
                }
                return 0;
        }
        if (!head)
                return -ENOENT;
        if (index <= head->index) {
                *ret_reason = "segment index goes backwards: replayed or reordered segment";
                return -EBADMSG;
        }
        if (index != head->index + 1) {
                *ret_reason = "segment missing from the chain (index gap)";
                return -EBADMSG;
        }
        if (memcmp(prev, head->manifest_sha256, 32) != 0) {
                *ret_reason = "prev does not match the previous segment's manifest";
                return -EBADMSG;
        }
        return 0;
}
