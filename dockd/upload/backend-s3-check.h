/* SPDX-License-Identifier: Apache-2.0 */
/* backend-s3-check.h: the s3 backend's read side (backend-s3-check.c): list a
 * prefix, stat or read back an object (reconciliation), get a small one
 * (another dock's manifest, for the hash chain). */
#pragma once

#include "backend-ops.h"

int backend_s3_stat(Backend *b, const BackendStatSpec *spec, backend_stat_done_t cb, void *userdata,
                    BackendRequest **ret);
int backend_s3_list(Backend *b, const char *prefix, const char *continuation, backend_list_done_t cb,
                    void *userdata, BackendRequest **ret);
/* GET of key, at most max bytes kept (more: -EFBIG); 404: -ENOENT. */
int backend_s3_get(Backend *b, const char *key, size_t max, backend_get_done_t cb, void *userdata,
                   BackendRequest **ret);
void backend_s3_request_cancel(BackendRequest *q);
