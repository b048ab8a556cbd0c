/* SPDX-License-Identifier: Apache-2.0 */
/* seal-chain.h: the chain of the manifests this dock sealed for one camera
 * that does not sign (protocol §12.6, §13): the SHA-256 of the last one, kept
 * as <spool>/<serial>/.sealed-head (64 hex digits and a newline, replaced
 * atomically and durably), so that the chain goes on across restarts and
 * dockings. The spool's walks skip it (a dot file). */
#pragma once

#include "spool.h"

/* The head, or 32 zeros when this dock never sealed for serial (-ENOENT is
 * not an error); -EBADMSG when the file is damaged: never guessed, the
 * caller stops sealing for the camera. */
int seal_chain_head_load(Spool *s, const char *serial, uint8_t ret[32]);
int seal_chain_head_save(Spool *s, const char *serial, const uint8_t sha256[32]);
