/* content.h: deterministic, random-access pseudo-random segment bytes.
 * A segment's bytes are a pure function of (seed, offset), so a 64 GB camera
 * costs no memory or disk; any range can be produced without the ones before. */
#pragma once
#include <stddef.h>
#include <stdint.h>

uint64_t content_seed(const char *serial, const char *recording, unsigned index);
void content_fill(uint64_t seed, uint64_t offset, uint8_t *buf, size_t len);
/* SHA-256 of bytes [0, size) of the stream; ret_digest is 32 bytes. */
void content_sha256(uint64_t seed, uint64_t size, uint8_t ret_digest[32]);
void hex_encode(const uint8_t *bytes, size_t n, char *ret_hex /* 2n+1 */);
