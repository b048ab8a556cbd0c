/* content.c: the segment byte generator (content.h).
 * Word i (8 bytes, little-endian) of a stream is splitmix64(seed + i·γ): a
 * counter-based generator, so it is random-access and runs at several GB/s. */
#include "content.h"

#include <openssl/evp.h>
#include <string.h>

#define GAMMA UINT64_C(0x9E3779B97F4A7C15)

static inline uint64_t mix64(uint64_t z)
{
        z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
        return z ^ (z >> 31);
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
        for (; *s; s++) {
                h ^= (uint8_t) *s;
                h *= UINT64_C(0x100000001B3);
        }
        return h ^ 0xff; /* separator, so ("ab","c") != ("a","bc") */
}

uint64_t content_seed(const char *serial, const char *recording, unsigned index)
{
        uint64_t h = UINT64_C(0xCBF29CE484222325);

        h = fnv1a(h, serial);
        h = fnv1a(h, recording);
        return mix64(h + index);
}

static inline uint64_t word_at(uint64_t seed, uint64_t i)
{
        return mix64(seed + i * GAMMA);
}

void content_fill(uint64_t seed, uint64_t offset, uint8_t *buf, size_t len)
{
        uint64_t i = offset / 8;
        size_t skip = offset % 8;

        if (skip && len) {
                uint64_t w = word_at(seed, i++);
                size_t n = 8 - skip < len ? 8 - skip : len;

                memcpy(buf, (uint8_t *) &w + skip, n);
                buf += n;
                len -= n;
        }
        for (; len >= 8; len -= 8, buf += 8) {
                uint64_t w = word_at(seed, i++);
                memcpy(buf, &w, 8);
        }
        if (len) {
                uint64_t w = word_at(seed, i);
                memcpy(buf, &w, len);
        }
}

void content_sha256(uint64_t seed, uint64_t size, uint8_t ret_digest[32])
{
        enum { CHUNK = 1 << 20 };
        static __thread uint8_t buf[CHUNK];
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        unsigned int n = 32;

        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
        for (uint64_t off = 0; off < size; off += CHUNK) {
                size_t len = size - off < CHUNK ? size - off : CHUNK;

                content_fill(seed, off, buf, len);
                EVP_DigestUpdate(ctx, buf, len);
        }
        EVP_DigestFinal_ex(ctx, ret_digest, &n);
        EVP_MD_CTX_free(ctx);
}

void hex_encode(const uint8_t *bytes, size_t n, char *ret_hex)
{
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                ret_hex[2 * i] = digits[bytes[i] >> 4];
                ret_hex[2 * i + 1] = digits[bytes[i] & 15];
        }
        ret_hex[2 * n] = 0;
}
