/* SPDX-License-Identifier: Apache-2.0 */
/* metrics-http.h: serves the metrics text at GET /metrics ([metrics] listen=)
 * from the event loop. Deliberately the least HTTP that Prometheus' scraper
 * needs: only the request line is looked at, every answer closes the
 * connection, and requests, clients and idle time are bounded (README,
 * "Metrics for Prometheus", says why no HTTP library is linked for it). */
#pragma once

#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct MetricsHttp MetricsHttp;

/* The text to serve now, or NULL when there is none yet (503). The server
 * copies it at once. */
typedef const char *(*metrics_http_text_t)(void *userdata);

/* Listen on addr. Returns -EADDRINUSE and friends as bind() does; does not log. */
int metrics_http_new(sd_event *event, const struct sockaddr *addr, socklen_t addr_len, metrics_http_text_t text,
                     void *userdata, MetricsHttp **ret);
/* Closes the listener and every client. */
MetricsHttp *metrics_http_free(MetricsHttp *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(MetricsHttp *, metrics_http_free);

/* What a request line asks for: 200 (serve the text), 400, 404 or 405. head
 * (optional) is set for HEAD. line is the request line without its end of line. */
int metrics_http_route(const char *line, bool *ret_head);
