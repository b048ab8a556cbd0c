/* SPDX-License-Identifier: Apache-2.0 */
/* curl-glue.c: see curl-glue.h. */
#include <sys/epoll.h>

#include "curl-glue.h"
#include "event-priority.h"
#include "log.h"

typedef struct CurlTransfer CurlTransfer;
struct CurlTransfer {
        CURL *curl;
        curl_glue_done_t done;
        void *userdata;
        CurlTransfer *next, *prev;
};

struct CurlGlue {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        sd_event_source *defer;
        CurlTransfer *transfers;
        unsigned n_running;
};

static void transfer_unlink(CurlGlue *g, CurlTransfer *t) {
        if (t->prev)
                t->prev->next = t->next;
        else
                g->transfers = t->next;
        if (t->next)
                t->next->prev = t->prev;
        g->n_running--;
}

static void schedule_drain(CurlGlue *g) {
        (void) sd_event_source_set_enabled(g->defer, SD_EVENT_ONESHOT);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        CurlGlue *g = userdata;
        int action = 0, running = 0;

        if ((revents & (EPOLLIN | EPOLLOUT)) == (EPOLLIN | EPOLLOUT))
                action = CURL_POLL_INOUT;
        else if (revents & EPOLLIN)
                action = CURL_POLL_IN;
        else if (revents & EPOLLOUT)
                action = CURL_POLL_OUT;
        /* EPOLLERR/EPOLLHUP alone: action 0 lets curl find out itself. */
        if (curl_multi_socket_action(g->multi, fd, action, &running) != CURLM_OK)
                log_debug("curl_multi_socket_action() failed on fd %d.", fd);
        schedule_drain(g);
        return 0;
}

static int on_socket(CURL *c, curl_socket_t fd, int action, void *userdata, void *socketp) {
        CurlGlue *g = userdata;
        sd_event_source *io = socketp;
        uint32_t events;
        int r;

        if (action == CURL_POLL_REMOVE) {
                if (io) {
                        sd_event_source_disable_unref(io);
                        (void) curl_multi_assign(g->multi, fd, NULL);
                }
                return 0;
        }
        events = action == CURL_POLL_IN    ? EPOLLIN
                 : action == CURL_POLL_OUT ? EPOLLOUT
                 : action == CURL_POLL_INOUT ? EPOLLIN | EPOLLOUT
                                             : 0;
        if (io) {
                r = sd_event_source_set_io_events(io, events);
                if (r >= 0)
                        r = sd_event_source_set_enabled(io, SD_EVENT_ON);
        } else {
                r = sd_event_add_io(g->event, &io, fd, events, on_io, g);
                if (r >= 0) {
                        (void) sd_event_source_set_description(io, "curl-io");
                        if (sd_event_source_set_priority(io, EVENT_PRIORITY_UPLINK) < 0 ||
                            curl_multi_assign(g->multi, fd, io) != CURLM_OK) {
                                sd_event_source_disable_unref(io);
                                r = -EIO;
                        }
                }
        }
        if (r < 0) {
                log_debug_errno(r, "Cannot watch curl socket %d: %m", (int) fd);
                return -1;
        }
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        CurlGlue *g = userdata;
        int running = 0;

        if (curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0, &running) != CURLM_OK)
                log_debug("curl_multi_socket_action() failed on the timeout.");
        schedule_drain(g);
        return 0;
}

static int on_timer_change(CURLM *multi, long timeout_ms, void *userdata) {
        CurlGlue *g = userdata;
        usec_t now;

        if (timeout_ms < 0)
                return sd_event_source_set_enabled(g->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        if (sd_event_now(g->event, CLOCK_MONOTONIC, &now) < 0)
                return -1;
        /* Round up: firing early only makes curl ask again. */
        if (sd_event_source_set_time(g->timer, now + (usec_t) timeout_ms * USEC_PER_MSEC + USEC_PER_MSEC - 1) < 0 ||
            sd_event_source_set_enabled(g->timer, SD_EVENT_ONESHOT) < 0)
                return -1;
        return 0;
}

static int on_drain(sd_event_source *s, void *userdata) {
        CurlGlue *g = userdata;
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(g->multi, &left))) {
                CurlTransfer *t = NULL;
                CURL *c = msg->easy_handle;
                CURLcode result = msg->data.result;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                (void) curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **) &t);
                (void) curl_multi_remove_handle(g->multi, c);
                (void) curl_easy_setopt(c, CURLOPT_PRIVATE, NULL);
                if (t) {
                        transfer_unlink(g, t);
                        curl_glue_done_t done = t->done;
                        void *ud = t->userdata;
                        free(t);
                        done(g, c, result, ud);
                }
        }
        return 0;
}

int curl_glue_new(sd_event *event, CurlGlue **ret) {
        CurlGlue *g;
        int r;

        g = calloc(1, sizeof *g);
        if (!g)
                return -ENOMEM;
        g->event = sd_event_ref(event);
        g->multi = curl_multi_init();
        if (!g->multi) {
                curl_glue_free(g);
                return -ENOMEM;
        }
        /* Accuracy 1µs: the default (250ms) would delay every request start. */
        r = sd_event_add_time(event, &g->timer, CLOCK_MONOTONIC, 0, 1, on_timer, g);
        if (r >= 0)
                r = sd_event_add_defer(event, &g->defer, on_drain, g);
        if (r >= 0)
                r = sd_event_source_set_priority(g->timer, EVENT_PRIORITY_UPLINK);
        if (r >= 0)
                r = sd_event_source_set_priority(g->defer, EVENT_PRIORITY_UPLINK);
        if (r < 0) {
                curl_glue_free(g);
                return r;
        }
        (void) sd_event_source_set_description(g->timer, "curl-timer");
        (void) sd_event_source_set_description(g->defer, "curl-drain");
        (void) sd_event_source_set_enabled(g->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(g->defer, SD_EVENT_OFF);
        if (curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, on_timer_change) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g) != CURLM_OK) {
                curl_glue_free(g);
                return -EIO;
        }
        *ret = g;
        return 0;
}

CurlGlue *curl_glue_free(CurlGlue *g) {
        if (!g)
                return NULL;
        while (g->transfers)
                curl_glue_remove(g, g->transfers->curl);
        if (g->multi)
                curl_multi_cleanup(g->multi);
        sd_event_source_disable_unref(g->timer);
        sd_event_source_disable_unref(g->defer);
        sd_event_unref(g->event);
        free(g);
        return NULL;
}

int curl_glue_add(CurlGlue *g, CURL *c, curl_glue_done_t done, void *userdata) {
        CurlTransfer *t = calloc(1, sizeof *t);

        if (!t)
                return -ENOMEM;
        t->curl = c;
        t->done = done;
        t->userdata = userdata;
        if (curl_easy_setopt(c, CURLOPT_PRIVATE, t) != CURLE_OK ||
            curl_multi_add_handle(g->multi, c) != CURLM_OK) {
                (void) curl_easy_setopt(c, CURLOPT_PRIVATE, NULL);
                free(t);
                return -EIO;
        }
        t->next = g->transfers;
        if (t->next)
                t->next->prev = t;
        g->transfers = t;
        g->n_running++;
        return 0;
}

void curl_glue_remove(CurlGlue *g, CURL *c) {
        CurlTransfer *t = NULL;

        if (!c)
                return;
        (void) curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **) &t);
        if (!t)
                return;   /* not ours, or already finished */
        (void) curl_multi_remove_handle(g->multi, c);
        (void) curl_easy_setopt(c, CURLOPT_PRIVATE, NULL);
        transfer_unlink(g, t);
        free(t);
}

unsigned curl_glue_n_running(CurlGlue *g) {
        return g->n_running;
}
