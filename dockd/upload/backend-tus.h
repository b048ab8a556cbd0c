/* SPDX-License-Identifier: Apache-2.0 */
/* backend-tus.h: central storage in a tus 1.0 server (creation, termination), resumable (backend-tus.c). */
#pragma once

#include "backend-remote.h"

int backend_tus_new(sd_event *event, const DockdConfig *config, Backend **ret, char **ret_error);

/* The upload URL the resume state of p (an earlier run's) names, if it is for
 * p's key and size; NULL when there is none that fits (or no memory). */
char *tus_state_read(RemotePut *p);
