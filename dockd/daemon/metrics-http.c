/* SPDX-License-Identifier: Apache-2.0 */
/* metrics-http.c: see metrics-http.h.
 *
 * A client's bytes are read into a fixed buffer until the blank line that ends
 * the request head (RFC 9112 §2.1); a byte that cannot be in a request head,
 * a full buffer or 10 s of silence ends it early. Only the request line is
 * parsed (§3: method SP request-target SP HTTP-version), the header fields are
 * skipped unread. The answer is written from a copy of the text, then the
 * connection is closed. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "metrics-http.h"

#define HTTP_HEAD_MAX (8 * 1024)    /* a scraper sends a few hundred bytes */
#define HTTP_CLIENTS_MAX 16
#define HTTP_IDLE_USEC (10 * USEC_PER_SEC)

typedef struct Client Client;

struct MetricsHttp {
        sd_event *event;
        int fd;
        sd_event_source *listen_source;
        metrics_http_text_t text;
        void *userdata;
        Client *clients;
        unsigned n_clients;
};

struct Client {
        MetricsHttp *server;
        int fd;
        sd_event_source *io, *timer;
        char head[HTTP_HEAD_MAX];
        size_t n_head;
        char *out;                 /* the answer, once decided */
        size_t n_out, written;
        Client *prev, *next;
};

static Client *client_free(Client *c) {
        if (!c)
                return NULL;
        if (c->prev)
                c->prev->next = c->next;
        else
                c->server->clients = c->next;
        if (c->next)
                c->next->prev = c->prev;
        c->server->n_clients--;
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->timer);
        safe_close(c->fd);
        free(c->out);
        free(c);
        return NULL;
}

int metrics_http_route(const char *line, bool *ret_head) {
        const char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        size_t n_method, n_path;

        if (!sp1 || !sp2 || strchr(sp2 + 1, ' ') || !startswith(sp2 + 1, "HTTP/1."))
                return 400;
        n_method = (size_t) (sp1 - line);
        n_path = strcspn(sp1 + 1, "? ");
        if (n_method == 0 || sp1[1] != '/')
                return 400;
        if (ret_head)
                *ret_head = n_method == 4 && strneq(line, "HEAD", 4);
        if (!(n_method == 3 && strneq(line, "GET", 3)) && !(n_method == 4 && strneq(line, "HEAD", 4)))
                return 405;
        if (n_path != strlen("/metrics") || !strneq(sp1 + 1, "/metrics", n_path))
                return 404;
        return 200;
}

static const char *status_text(int status) {
        switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 431: return "Request Header Fields Too Large";
        default: return "Service Unavailable";
        }
}

/* Decide the answer and start writing it. */
static int client_answer(Client *c, int status, bool head) {
        const char *body = NULL;
        _cleanup_free_ char *copy = NULL;
        int n;

        if (status == 200) {
                body = c->server->text(c->server->userdata);
                if (!body)
                        status = 503;
        }
        if (status != 200)
                body = status == 503 ? "No metrics yet.\n" : status_text(status);
        copy = strdup(body);
        if (!copy)
                return -ENOMEM;
        n = asprintf(&c->out,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "%s"
                     "Cache-Control: no-store\r\n"
                     "Connection: close\r\n\r\n%s%s",
                     status, status_text(status),
                     status == 200 ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8",
                     strlen(copy) + (status == 200 ? 0 : 1), status == 405 ? "Allow: GET, HEAD\r\n" : "",
                     head ? "" : copy, head || status == 200 ? "" : "\n");
        if (n < 0)
                return -ENOMEM;
        c->n_out = (size_t) n;
        (void) shutdown(c->fd, SHUT_RD);
        return sd_event_source_set_io_events(c->io, EPOLLOUT);
}

/* 0: need more; else the status to answer with. */
static int client_parse(Client *c, bool *ret_head) {
        char *end;

        for (size_t i = 0; i < c->n_head; i++) {
                unsigned char ch = (unsigned char) c->head[i];
                if ((ch < 0x20 && ch != '\r' && ch != '\n' && ch != '\t') || ch == 0x7f)
                        return 400;   /* not a request head: TLS, binary, a NUL */
        }
        c->head[c->n_head] = 0;
        if (!strstr(c->head, "\r\n\r\n") && !strstr(c->head, "\n\n"))
                return c->n_head >= sizeof c->head - 1 ? 431 : 0;
        end = c->head + strcspn(c->head, "\r\n");
        *end = 0;
        return metrics_http_route(c->head, ret_head);
}

static int client_write(Client *c) {
        while (c->written < c->n_out) {
                ssize_t k = send(c->fd, c->out + c->written, c->n_out - c->written, MSG_NOSIGNAL);
                if (k < 0)
                        return errno == EAGAIN ? 0 : -errno;
                c->written += (size_t) k;
        }
        client_free(c);
        return 1;
}

static int on_client_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Client *c = userdata;
        bool head = false;
        ssize_t k;
        int status, r;

        if (c->out) {
                if (client_write(c) < 0)
                        client_free(c);
                return 0;
        }
        k = recv(c->fd, c->head + c->n_head, sizeof c->head - 1 - c->n_head, 0);
        if (k < 0 && errno == EAGAIN)
                return 0;
        if (k <= 0) {   /* gone, or closed before a whole request */
                client_free(c);
                return 0;
        }
        c->n_head += (size_t) k;
        status = client_parse(c, &head);
        if (status == 0)
                return 0;
        r = client_answer(c, status, head);
        if (r < 0 || client_write(c) < 0)
                client_free(c);
        return 0;
}

static int on_client_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        client_free(userdata);
        return 0;
}

static int client_new(MetricsHttp *h, int fd) {
        Client *c = calloc(1, sizeof *c);
        int r;

        if (!c) {
                safe_close(fd);
                return -ENOMEM;
        }
        c->server = h;
        c->fd = fd;
        c->next = h->clients;
        if (h->clients)
                h->clients->prev = c;
        h->clients = c;
        h->n_clients++;
        r = sd_event_add_io(h->event, &c->io, fd, EPOLLIN, on_client_io, c);
        if (r >= 0)
                r = sd_event_add_time_relative(h->event, &c->timer, CLOCK_MONOTONIC, HTTP_IDLE_USEC, 0,
                                               on_client_timeout, c);
        if (r < 0)
                client_free(c);
        return r;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        MetricsHttp *h = userdata;
        int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (cfd < 0) {
                if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                        log_debug_errno(errno, "Metrics: accept() failed: %m");
                return 0;
        }
        /* Full: the client that has waited longest without sending a whole
         * request makes room, so that connections left open (on purpose or
         * not) cannot keep a scraper out for long. */
        if (h->n_clients >= HTTP_CLIENTS_MAX) {
                Client *oldest = NULL;
                for (Client *c = h->clients; c; c = c->next)
                        if (!c->out)
                                oldest = c;   /* the list is newest first */
                if (!oldest) {
                        safe_close(cfd);
                        return 0;
                }
                client_free(oldest);
        }
        if (client_new(h, cfd) < 0)
                log_debug("Metrics: cannot serve a client.");
        return 0;
}

int metrics_http_new(sd_event *event, const struct sockaddr *addr, socklen_t addr_len, metrics_http_text_t text,
                     void *userdata, MetricsHttp **ret) {
        _cleanup_(metrics_http_freep) MetricsHttp *h = NULL;
        int one = 1, r;

        h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        h->event = sd_event_ref(event);
        h->text = text;
        h->userdata = userdata;
        h->fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (h->fd < 0)
                return -errno;
        (void) setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (addr->sa_family == AF_INET6)
                (void) setsockopt(h->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        if (bind(h->fd, addr, addr_len) < 0 || listen(h->fd, HTTP_CLIENTS_MAX) < 0)
                return -errno;
        r = sd_event_add_io(event, &h->listen_source, h->fd, EPOLLIN, on_accept, h);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(h);
        return 0;
}

MetricsHttp *metrics_http_free(MetricsHttp *h) {
        if (!h)
                return NULL;
        while (h->clients)
                client_free(h->clients);
        sd_event_source_disable_unref(h->listen_source);
        safe_close(h->fd);
        sd_event_unref(h->event);
        free(h);
        return NULL;
}
