/* SPDX-License-Identifier: Apache-2.0 */
/* backend-s3-check.h: the s3 backend's side for objects already stored
 * (backend-s3-check.c): list a prefix, stat or read back an object
 * (reconciliation), get a small one (another dock's manifest, for the hash
 * chain), and a legal hold set after the upload (a preservation request). */
#pragma once

#include "backend-ops.h"

int backend_s3_stat(Backend *b, const BackendStatSpec *spec, backend_stat_done_t cb, void *userdata,
                    BackendRequest **ret);
int backend_s3_list(Backend *b, const char *prefix, const char *continuation, backend_list_done_t cb,
                    void *userdata, BackendRequest **ret);
/* GET of key, at most max bytes kept (more: -EFBIG); 404: -ENOENT. */
int backend_s3_get(Backend *b, const char *key, size_t max, backend_get_done_t cb, void *userdata,
                   BackendRequest **ret);
/* GetObjectLockConfiguration: 0 when the bucket reports Object Lock enabled,
 * -EOPNOTSUPP when it does not (Swift's s3api answers a bucket listing). */
int backend_s3_object_lock_enabled(Backend *b, backend_done_t cb, void *userdata, BackendRequest **ret);
/* PutObjectLegalHold ON. Only after object_lock_enabled said so: a store
 * without the API may take it for an overwrite of the object. */
int backend_s3_set_legal_hold(Backend *b, const char *key, backend_done_t cb, void *userdata, BackendRequest **ret);
void backend_s3_request_cancel(BackendRequest *q);

/* The members of the s3 backend's BackendOps that this side provides. */
#define BACKEND_S3_CHECK_OPS                                              \
        .stat = backend_s3_stat, .list = backend_s3_list,                 \
        .get = backend_s3_get, .request_cancel = backend_s3_request_cancel, \
        .object_lock_enabled = backend_s3_object_lock_enabled,            \
        .set_legal_hold = backend_s3_set_legal_hold
