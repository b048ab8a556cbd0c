/* SPDX-License-Identifier: Apache-2.0 */
/* backend-tus-check.h: the tus backend's read side (backend-tus-check.c). The
 * tus protocol has no listing and no lookup by key: an upload is found again
 * by the URL the custody log recorded when it was confirmed, or, where the
 * deployment names uploads by key, by that key. */
#pragma once

#include "backend-ops.h"

int backend_tus_stat(Backend *b, const BackendStatSpec *spec, backend_stat_done_t cb, void *userdata,
                     BackendRequest **ret);
/* An object by key, where the deployment names uploads by key ([tus]
 * uploads_named_by_key; backend-tus-check.c): complete, at most max bytes.
 * -EAGAIN while it is still being uploaded. */
int backend_tus_get(Backend *b, const char *key, size_t max, backend_get_done_t cb, void *userdata,
                    BackendRequest **ret);
void backend_tus_request_cancel(BackendRequest *q);
