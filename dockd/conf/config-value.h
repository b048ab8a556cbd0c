/* SPDX-License-Identifier: Apache-2.0 */
/* config-value.h: one value of the configuration by its type (README,
 * "Configuration reference": sizes, durations, booleans, names, paths, URLs …):
 * parsed strictly from a file's text, with the reason when it is wrong, and
 * printed back for --check-config with secrets masked. */
#pragma once

#include "log.h"
#include "macro.h"

typedef enum ConfigType {
        CT_STRING,      /* printable text */
        CT_NAME,        /* [A-Za-z0-9._-], goes into object keys */
        CT_PATH,        /* absolute path */
        CT_URL,         /* http:// or https://, no credentials in it */
        CT_SECRET_URL,  /* like CT_URL, but masked in dumps (tokens in webhooks) */
        CT_PREFIX,      /* object key prefix: names separated by '/' */
        CT_BUCKET,      /* S3 bucket name */
        CT_PORT,        /* USB port path */
        CT_LISTEN,      /* IP address and port: 127.0.0.1:9437, [::1]:9437 */
        CT_NAME_LIST,   /* names (CT_NAME) separated by spaces: camera serials */
        CT_GLOB_LIST,   /* path patterns (glob-match.h) separated by spaces */
        CT_SIZE,
        CT_DURATION,
        CT_BOOL,
        CT_UINT,
        CT_PERCENT,
        CT_ENUM,
        CT_LOG_LEVEL,
        CT_LOG_TARGET,
        CT_USB_ID,      /* "VVVV:PPPP" in hex, kept as (vendor << 16 | product) in a uint32_t */
} ConfigType;

/* What a value must be: its type, its range (sizes, durations, numbers,
 * percentages) or its names (enumerations, NULL-terminated). */
typedef struct ConfigValueType {
        ConfigType type;
        uint64_t min, max;
        const char *const *enum_values;
} ConfigValueType;

/* Text types are kept as allocated strings (char *). */
static inline bool config_type_is_string(ConfigType t) {
        return t <= CT_GLOB_LIST;
}

/* Parse value into dst (of the type's C type; a string replaces the old one).
 * On failure, *ret_why says why, to follow "FILE:LINE: [section] key=value ". */
int config_value_parse(const ConfigValueType *type, const char *value, void *dst, char **ret_why);
void config_value_print(const ConfigValueType *type, const void *p, FILE *f);
