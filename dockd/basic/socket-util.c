/* SPDX-License-Identifier: Apache-2.0 */
/* socket-util.c: see socket-util.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "parse-util.h"
#include "socket-util.h"

int parse_listen_address(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len) {
        struct sockaddr_storage a = {};
        const char *colon;
        char host[INET6_ADDRSTRLEN + 2];
        unsigned port;
        size_t n;

        colon = strrchr(s, ':');
        if (!colon || parse_unsigned_range(colon + 1, 1, 65535, &port) < 0)
                return -EINVAL;
        n = (size_t) (colon - s);
        if (n == 0 || n >= sizeof host)
                return -EINVAL;
        memcpy(host, s, n);
        host[n] = 0;
        if (host[0] == '[') {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &a;
                if (n < 3 || host[n - 1] != ']')
                        return -EINVAL;
                host[n - 1] = 0;
                if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
                        return -EINVAL;
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons((uint16_t) port);
                *ret_len = sizeof *in6;
        } else {
                struct sockaddr_in *in = (struct sockaddr_in *) &a;
                if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
                        return -EINVAL;
                in->sin_family = AF_INET;
                in->sin_port = htons((uint16_t) port);
                *ret_len = sizeof *in;
        }
        *ret = a;
        return 0;
}
