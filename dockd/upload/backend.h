/* SPDX-License-Identifier: Apache-2.0 */
/* backend.h: the central storage backend [storage] backend= names (file, s3,
 * tus), behind the one interface of backend-ops.h. */
#pragma once

#include "backend-ops.h"

/* On failure *ret_error says why (for "Cannot set up central storage: …"). */
int backend_new(sd_event *event, const DockdConfig *config, Backend **ret, char **ret_error);
Backend *backend_free(Backend *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Backend *, backend_free);
