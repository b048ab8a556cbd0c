/* SPDX-License-Identifier: Apache-2.0 */
/* s3-lock.h: Object Lock on an object the s3 backend put as a multipart
 * upload, whose CreateMultipartUpload headers not every store applies:
 * PutObjectRetention, then PutObjectLegalHold. */
#pragma once

#include "s3-put.h"

/* The object is confirmed; a multipart one gets its retention and legal hold
 * (again) where the store has the API for it. Ends the put: s3_put_finish()
 * with 0 once both are set, or with the store's refusal. */
void s3_put_lock(BackendPut *p);
