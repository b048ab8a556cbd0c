/* challenge.h: the bytes a camera signs for SignChallenge (protocol §8.4):
 * "dockd.org/bwc challenge v1", a NUL, the 16 nonce bytes as sent, one byte
 * of serial length and the serial DeviceInfo names. */
#pragma once
#include <glib.h>
#include <stdint.h>

#define CHALLENGE_PREFIX "dockd.org/bwc challenge v1"
enum {
        CHALLENGE_NONCE_SIZE = 16,
        CHALLENGE_ALG_ECDSA_P256_SHA256 = 1,
};

GBytes *challenge_message(const uint8_t nonce[CHALLENGE_NONCE_SIZE], const char *serial);
