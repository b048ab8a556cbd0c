/* SPDX-License-Identifier: Apache-2.0 */
/* backend-file.h: central storage in a directory (local disk or a NAS mount): written under a temporary name,
 * fsynced, renamed, read back and hashed (backend-file.c). */
#pragma once

#include "backend-ops.h"

int backend_file_new(sd_event *event, const DockdConfig *config, Backend **ret, char **ret_error);
