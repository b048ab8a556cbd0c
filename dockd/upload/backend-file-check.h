/* SPDX-License-Identifier: Apache-2.0 */
/* backend-file-check.h: the file backend's read side, for reconciliation
 * (backend-file-check.c), and what it needs of backend-file.c. */
#pragma once

#include "backend-ops.h"
#include "worker.h"

/* The directory objects live under, and the pool that hashes read-backs. */
const char *backend_file_root(Backend *b);
WorkerPool *backend_file_pool(Backend *b);

int backend_file_stat(Backend *b, const BackendStatSpec *spec, backend_stat_done_t cb, void *userdata,
                      BackendRequest **ret);
void backend_file_request_cancel(BackendRequest *q);
