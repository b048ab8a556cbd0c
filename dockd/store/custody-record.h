/* SPDX-License-Identifier: Apache-2.0 */
/* custody-record.h: one record of the custody log as docs/custody-log.md
 * defines it, for the writer and the verifier alike: a JSON object on one line,
 * its fields, its time, the SHA-256 that chains the next record to it, the
 * ECDSA P-256 signature over it, and the names of sealed files. */
#pragma once

#include <json-c/json.h>
#include <openssl/evp.h>

#include "macro.h"

/* No record is longer than this (newline included); the log-started record, the
 * longest the dock writes itself, is about 600 bytes. */
#define CUSTODY_LINE_MAX (64 * 1024)
#define CUSTODY_KEY_MAX (64 * 1024)
/* The signature is the last member: the signed bytes are the line up to it. */
#define SIG_SEPARATOR ",\"sig\":\""
/* prev of the first record of a log. */
#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
/* "2024-05-01T12:34:56.123456Z" */
#define TIME_LEN 27

/* The members every record has, which fields may not use as keys (NULL-terminated). */
extern const char *const custody_reserved_keys[];

static inline void json_object_putp(json_object **p) {
        json_object_put(*p);
}
static inline void json_tokener_freep(json_tokener **p) {
        if (*p)
                json_tokener_free(*p);
}

/* SHA-256 of data as 64 lower-case hex digits. */
int custody_sha256_hex(const void *data, size_t size, char ret[static 65]);
bool custody_hex64_is_valid(const char *s);
/* A field key: [a-z0-9_]+, none of the reserved members. */
bool custody_field_key_is_valid(const char *k);
/* A string value: valid UTF-8. */
bool custody_string_is_valid(const char *s);
/* "YYYY-MM-DDTHH:MM:SS.uuuuuuZ", nothing else. */
bool custody_time_is_valid(const char *s);
int custody_format_time_now(char ret[static TIME_LEN + 1]);

/* Keys: ECDSA on P-256 only (-EKEYREJECTED otherwise). */
int custody_key_check_p256(EVP_PKEY *k);
/* A private or public key from PEM bytes (-EBADMSG: not one). */
int custody_key_from_pem(const void *pem, size_t size, bool private_key, EVP_PKEY **ret);
/* The PEM of k's public key, and the SHA-256 of its DER (its fingerprint). */
int custody_public_key_to_pem(EVP_PKEY *k, char **ret_pem, char ret_sha256[static 65]);
/* 0 when sig is k's signature over msg; -EKEYREJECTED when not. */
int custody_signature_verify(EVP_PKEY *k, const void *msg, size_t msg_size, const uint8_t *sig, size_t sig_size);

/* Parse one line (without its newline) as a JSON object, strictly: valid UTF-8,
 * nothing after the object. NULL when it is not one. */
json_object *custody_line_parse(const char *line, size_t size);
/* What recovery needs to know of a line: that it is a whole record, and its seq. */
int custody_line_parse_seq(const char *line, size_t size, uint64_t *ret_seq);

/* "<dock>-<first>-<last>.jsonl" (seqs zero-padded to 10 digits when written). */
bool custody_sealed_name_parse(const char *name, uint64_t *ret_first, uint64_t *ret_last);
