/* SPDX-License-Identifier: Apache-2.0 */
/* hexdecoct.c: see hexdecoct.h. */
#include <openssl/evp.h>

#include "hexdecoct.h"

char *hexmem(const void *data, size_t n, char *buf) {
        static const char digits[] = "0123456789abcdef";
        const uint8_t *p = data;

        for (size_t i = 0; i < n; i++) {
                buf[2 * i] = digits[p[i] >> 4];
                buf[2 * i + 1] = digits[p[i] & 15];
        }
        buf[2 * n] = 0;
        return buf;
}

static int unhex_digit(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -EINVAL;    /* upper case too: one spelling only */
}

int unhexmem(const char *s, void *ret, size_t n) {
        uint8_t *p = ret;

        if (!s || strlen(s) != 2 * n)
                return -EINVAL;
        for (size_t i = 0; i < 2 * n; i++)
                if (unhex_digit(s[i]) < 0)
                        return -EINVAL;
        for (size_t i = 0; i < n; i++)
                p[i] = (uint8_t) (unhex_digit(s[2 * i]) << 4 | unhex_digit(s[2 * i + 1]));
        return 0;
}

char *base64mem(const void *data, size_t n, char *buf) {
        (void) EVP_EncodeBlock((unsigned char *) buf, data, (int) n);
        return buf;
}

int unbase64mem(const char *s, void *ret, size_t max, size_t *ret_size) {
        size_t len = strlen(s), pad;
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_free_ char *again = NULL;
        int n;

        if (len == 0 || len % 4 != 0 || len / 4 * 3 > max + 2)
                return -EBADMSG;
        buf = malloc(len / 4 * 3);
        again = malloc(len + 1);
        if (!buf || !again)
                return -ENOMEM;
        n = EVP_DecodeBlock(buf, (const unsigned char *) s, (int) len);
        if (n < 0)
                return -EBADMSG;
        pad = (s[len - 1] == '=') + (s[len - 2] == '=');
        if ((size_t) n < pad || (size_t) n - pad > max)
                return -EBADMSG;
        n -= (int) pad;
        /* Canonical only: the same bytes encode back to exactly s. */
        if (!streq(base64mem(buf, (size_t) n, again), s))
                return -EBADMSG;
        memcpy(ret, buf, (size_t) n);
        *ret_size = (size_t) n;
        return 0;
}
