/* SPDX-License-Identifier: Apache-2.0 */
/* backend-file-check.h: what the file backend's two files share: backend-file.c
 * (puts) and backend-file-check.c (stat with read-back, for reconciliation). */
#pragma once

#include "backend.h"
#include "worker.h"

/* The directory objects live under, and the pool that hashes read-backs. */
const char *backend_file_root(Backend *b);
WorkerPool *backend_file_pool(Backend *b);

int backend_file_stat(Backend *b, const BackendStatSpec *spec, backend_stat_done_t cb, void *userdata,
                      BackendRequest **ret);
void backend_file_request_cancel(BackendRequest *q);
