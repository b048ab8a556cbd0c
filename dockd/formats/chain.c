/* SPDX-License-Identifier: Apache-2.0 */
/* chain.c: see chain.h. */
#include "chain.h"

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
