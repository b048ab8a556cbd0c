/* SPDX-License-Identifier: Apache-2.0 */
/* challenge.h: the proof that a camera holds the key of its device certificate
 * (protocol §8.4, SignChallenge): the bytes it signs and the check of its
 * answer. Pure; no logging above debug. */
#pragma once

#include "macro.h"

#define CHALLENGE_NONCE_SIZE 16
#define CHALLENGE_PREFIX "dockd.org/bwc challenge v1"
/* The ChallengeSignature dataset: 8 bytes of header and at most 512 of signature. */
#define CHALLENGE_DATASET_MAX (8 + 512)

/* M of §8.4: prefix, NUL, nonce, length of the serial, serial. buf holds at
 * least 27 + 16 + 1 + 255 bytes. Returns its length, or -EINVAL for a serial
 * longer than 255 bytes. */
int challenge_message(const uint8_t nonce[CHALLENGE_NONCE_SIZE], const char *serial, uint8_t *buf, size_t size);

/* Does dataset (the ChallengeSignature the camera answered) carry a signature
 * over M(nonce, serial) by the key of the DER device certificate cert? 0 yes;
 * -EBADMSG (malformed) or -EKEYREJECTED (does not verify), with a reason. */
int challenge_verify(const uint8_t *cert, size_t cert_size, const uint8_t nonce[CHALLENGE_NONCE_SIZE],
                     const char *serial, const uint8_t *dataset, size_t dataset_size, char **ret_reason);
