/* SPDX-License-Identifier: Apache-2.0 */
/* backend-tus-check.h: what the tus backend's two files share: backend-tus.c (puts)
 * and backend-tus-check.c (stat, for reconciliation). The tus protocol has no
 * listing: an object is found again only by the upload URL recorded in the
 * custody log when it was confirmed. */
#pragma once

#include "backend.h"
#include "http.h"

HttpClient *backend_tus_http_client(Backend *b);
/* Is url one this backend would have accepted as an upload URL (same scheme
 * as the endpoint: an https endpoint never leads to http)? */
bool backend_tus_url_acceptable(Backend *b, const char *url);

int backend_tus_stat(Backend *b, const BackendStatSpec *spec, backend_stat_done_t cb, void *userdata,
                     BackendRequest **ret);
void backend_tus_request_cancel(BackendRequest *q);
