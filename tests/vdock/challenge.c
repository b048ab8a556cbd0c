/* challenge.c: the signed bytes of SignChallenge (challenge.h). */
#include "challenge.h"

#include <string.h>

GBytes *challenge_message(const uint8_t nonce[CHALLENGE_NONCE_SIZE], const char *serial)
{
        GByteArray *m = g_byte_array_new();
        size_t n = MIN(strlen(serial), 255);
        uint8_t len = (uint8_t) n;

        g_byte_array_append(m, (const guint8 *) CHALLENGE_PREFIX, sizeof CHALLENGE_PREFIX); /* with its NUL */
        g_byte_array_append(m, nonce, CHALLENGE_NONCE_SIZE);
        g_byte_array_append(m, &len, 1);
        g_byte_array_append(m, (const guint8 *) serial, (guint) n);
        return g_byte_array_free_to_bytes(m);
}
