/* SPDX-License-Identifier: Apache-2.0 */
/* backend-tus-check.h: the tus backend's read side, for reconciliation
 * (backend-tus-check.c). The tus protocol has no listing: an upload is found
 * again only by the URL the custody log recorded when it was confirmed. */
#pragma once

#include "backend-ops.h"

int backend_tus_stat(Backend *b, const BackendStatSpec *spec, backend_stat_done_t cb, void *userdata,
                     BackendRequest **ret);
void backend_tus_request_cancel(BackendRequest *q);
