/* SPDX-License-Identifier: Apache-2.0 */
/* socket-util.h: a listening address as configured: an IP literal and a port,
 * "127.0.0.1:9437" or "[::1]:9437". No host names: resolving one would make
 * the address depend on DNS at start. */
#pragma once

#include <sys/socket.h>

/* -EINVAL for anything else (a name, no port, port 0 or above 65535). */
int parse_listen_address(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len);
