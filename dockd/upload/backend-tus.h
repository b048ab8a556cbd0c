/* SPDX-License-Identifier: Apache-2.0 */
/* backend-tus.h: central storage in a tus 1.0 server (creation, termination), resumable (backend-tus.c). */
#pragma once

#include "backend-ops.h"

int backend_tus_new(sd_event *event, const DockdConfig *config, Backend **ret, char **ret_error);
