/* SPDX-License-Identifier: Apache-2.0 */
/* backend-s3.h: central storage in an S3-compatible object store, multipart and resumable, SigV4-signed (backend-s3.c). */
#pragma once

#include "backend-ops.h"

int backend_s3_new(sd_event *event, const DockdConfig *config, Backend **ret, char **ret_error);
