/* SPDX-License-Identifier: Apache-2.0 */
/* curl-glue.h: libcurl's multi-socket interface on the sd-event loop (after
 * systemd's src/import/curl-util.c): CURLMOPT_SOCKETFUNCTION adds an io source per
 * socket, CURLMOPT_TIMERFUNCTION drives one timer, both feed
 * curl_multi_socket_action(), and finished transfers are handed back from a defer
 * source, outside of any libcurl call. */
#pragma once

#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct CurlGlue CurlGlue;

/* The transfer is over (result CURLE_OK or the failure) and already removed
 * from the multi handle: the callback may clean it up or add it again. */
typedef void (*curl_glue_done_t)(CurlGlue *g, CURL *c, CURLcode result, void *userdata);

int curl_glue_new(sd_event *event, CurlGlue **ret);
/* Transfers still running are removed without a callback. */
CurlGlue *curl_glue_free(CurlGlue *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(CurlGlue *, curl_glue_free);

/* Start c. Uses c's CURLOPT_PRIVATE. */
int curl_glue_add(CurlGlue *g, CURL *c, curl_glue_done_t done, void *userdata);
/* Stop c if it runs; its callback is not called. */
void curl_glue_remove(CurlGlue *g, CURL *c);
/* Transfers in progress. */
unsigned curl_glue_n_running(CurlGlue *g);
