/* SPDX-License-Identifier: Apache-2.0 */
/* chain.h: the hash chain of each recording across dockings (protocol §13). The
 * head (index and manifest hash of the last trusted segment before the one being
 * checked) is derived from the spool's segment states: spool_chain_head(). */
#pragma once

#include "macro.h"

typedef struct ChainHead {
        uint32_t index;
        uint8_t manifest_sha256[32];
} ChainHead;

/* Does a manifest with index and prev continue head (NULL: nothing known)?
 * Returns 0 if it links, -ENOENT if it cannot be checked from here (head unknown
 * and index > 0, e.g. earlier segments went through another dock), or
 * -EBADMSG with *ret_reason set when the chain is broken. */
int chain_check(const ChainHead *head, uint32_t index, const uint8_t prev[32], const char **ret_reason);
