/* SPDX-License-Identifier: Apache-2.0 */
/* ptp.c: PTP containers and datasets (docs/camera-protocol.md §2, §4, §6, §8).
 * Builds what the dock sends and parses, defensively, everything a camera sends.
 *
 * Rules every parser here follows:
 * - every count and length is checked against the bytes left before it is used;
 *   a dataset is at most PTP_DATASET_MAX_SIZE (§2), except the handle list,
 *   which its item maximum bounds (§2, Listings);
 * - arrays have maxima (PTP_MAX_A16_ITEMS, PTP_MAX_SELF_TEST_ENTRIES,
 *   PTP_MAX_CERTIFICATES; handles capped by the caller's max);
 * - trailing bytes: a dataset must end exactly where its last field ends, except
 *   BatteryTelemetry, whose receivers ignore bytes past the fields they know
 *   (§8.1: "later versions only append"). No other section allows extra bytes, so
 *   anything else with trailing bytes is malformed;
 * - on failure the output is untouched (results are built in locals and moved
 *   out last) and nothing leaks. Errors: -EBADMSG for malformed input, -ENOMEM. */
#include <assert.h>
#include <limits.h>

#include "ptp.h"

/* Sane maxima. A DeviceInfo array holds distinct u16 codes, so more than 65535
 * is nonsense; the self-test has at most 32 components (bits of ComponentMask). */
#define PTP_MAX_A16_ITEMS 65535u
#define PTP_MAX_SELF_TEST_ENTRIES 32u
#define PTP_SELF_TEST_DETAIL_MAX 127u      /* §8.2, UTF-16 code units */
#define PTP_CERTIFICATE_MAX_SIZE 16384u    /* §8.3 */
#define PTP_BATTERY_TELEMETRY_SIZE 28u     /* §8.1 */

/* ---- little-endian helpers ---- */

static void put_le16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v) {
        for (unsigned i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

/* A cursor over untrusted bytes: every read checks what is left first. */
typedef struct Reader {
        const uint8_t *p;
        size_t left;
} Reader;

static int reader_init_max(Reader *r, const uint8_t *data, size_t len, size_t max) {
        if (!data && len > 0)
                return -EBADMSG;
        if (len > max)
                return -EBADMSG;
        *r = (Reader) { .p = data, .left = len };
        return 0;
}

static int reader_init(Reader *r, const uint8_t *data, size_t len) {
        return reader_init_max(r, data, len, PTP_DATASET_MAX_SIZE);
}

static int read_bytes(Reader *r, size_t n, const uint8_t **ret) {
        if (r->left < n)
                return -EBADMSG;
        *ret = r->p;
        r->p += n;
        r->left -= n;
        return 0;
}

static inline uint8_t ptp_le8(const uint8_t *p) {
        return p[0];
}

/* read_u8() … read_u64(): a little-endian integer (§3). */
#define DEFINE_READ_UINT(bits)                                          \
        static int read_u##bits(Reader *r, uint##bits##_t *ret) {       \
                const uint8_t *p;                                       \
                if (read_bytes(r, bits / 8, &p) < 0)                    \
                        return -EBADMSG;                                \
                *ret = ptp_le##bits(p);                                     \
                return 0;                                               \
        }
DEFINE_READ_UINT(8)
DEFINE_READ_UINT(16)
DEFINE_READ_UINT(32)
DEFINE_READ_UINT(64)

/* A dataset that is an array: its element count first (§4). */
static int reader_init_count(Reader *r, const uint8_t *data, size_t len, uint32_t *ret_n) {
        if (reader_init(r, data, len) < 0 || read_u32(r, ret_n) < 0)
                return -EBADMSG;
        return 0;
}

static int read_end(const Reader *r) {
        return r->left == 0 ? 0 : -EBADMSG;
}

/* ---- strings (§4: u8 N code units including the NUL, then the units) ---- */

static size_t utf8_put(char *out, uint32_t c) {
        if (c < 0x80) {
                out[0] = (char) c;
                return 1;
        }
        if (c < 0x800) {
                out[0] = (char) (0xC0 | (c >> 6));
                out[1] = (char) (0x80 | (c & 0x3F));
                return 2;
        }
        if (c < 0x10000) {
                out[0] = (char) (0xE0 | (c >> 12));
                out[1] = (char) (0x80 | ((c >> 6) & 0x3F));
                out[2] = (char) (0x80 | (c & 0x3F));
                return 3;
        }
        out[0] = (char) (0xF0 | (c >> 18));
        out[1] = (char) (0x80 | ((c >> 12) & 0x3F));
        out[2] = (char) (0x80 | ((c >> 6) & 0x3F));
        out[3] = (char) (0x80 | (c & 0x3F));
        return 4;
}

/* A C0 or C1 control or DEL: what a terminal, a log line or a key=value file
 * would take for an instruction. */
static bool is_control(uint32_t c) {
        return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F);
}

/* n UTF-16LE code units, the last of which must be the only NUL. Control
 * characters become '?': a camera's text is shown, logged and filed, never
 * obeyed (§4). */
static int utf16_to_utf8(const uint8_t *units, size_t n, char **ret) {
        _cleanup_free_ char *s = NULL;
        size_t k = 0;

        if (n == 0 || ptp_le16(units + 2 * (n - 1)) != 0)
                return -EBADMSG;            /* missing terminator */

        /* A BMP unit gives at most 3 bytes, a surrogate pair (2 units) 4. */
        s = malloc(3 * n + 1);
        if (!s)
                return -ENOMEM;

        for (size_t i = 0; i < n - 1; i++) {
                uint32_t c = ptp_le16(units + 2 * i);

                if (c == 0)
                        return -EBADMSG;    /* embedded NUL */
                if (c >= 0xDC00 && c <= 0xDFFF)
                        return -EBADMSG;    /* lone low surrogate */
                if (c >= 0xD800 && c <= 0xDBFF) {
                        uint32_t lo;

                        if (i + 1 >= n - 1)
                                return -EBADMSG;    /* high surrogate at the end */
                        lo = ptp_le16(units + 2 * (i + 1));
                        if (lo < 0xDC00 || lo > 0xDFFF)
                                return -EBADMSG;    /* high surrogate without low */
                        c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                        i++;
                }
                k += utf8_put(s + k, is_control(c) ? '?' : c);
        }
        s[k] = 0;
        *ret = TAKE_PTR(s);
        return 0;
}

/* Cut s after max characters (not bytes: never inside one). */
static void utf8_truncate(char *s, size_t max) {
        size_t chars = 0;

        for (char *p = s; *p; p++)
                if (((uint8_t) *p & 0xC0) != 0x80 && chars++ == max) {
                        *p = 0;
                        return;
                }
}

/* max_units: the largest N allowed, including the NUL. */
static int read_str_max(Reader *r, size_t max_units, char **ret) {
        const uint8_t *units;
        uint8_t n;
        char *s;
        Reader saved = *r;
        int k;

        if (read_u8(r, &n) < 0)
                goto fail;
        if (n > max_units)
                goto fail;
        if (n == 0) {
                /* §4: the empty string has no NUL. */
                s = strdup("");
                if (!s)
                        return -ENOMEM;
                *ret = s;
                return 0;
        }
        if (read_bytes(r, 2 * (size_t) n, &units) < 0)
                goto fail;
        k = utf16_to_utf8(units, n, ret);
        if (k < 0) {
                *r = saved;
                return k;
        }
        return 0;
fail:
        *r = saved;
        return -EBADMSG;
}

static int read_str(Reader *r, char **ret) {
        return read_str_max(r, UINT8_MAX, ret);
}

/* Skip a string whose content we do not keep, validating it all the same. */
static int skip_str(Reader *r) {
        _cleanup_free_ char *s = NULL;
        return read_str(r, &s);
}

/* §4 a16: u32 count, then count u16 elements. */
static int read_a16(Reader *r, uint16_t **ret, size_t *ret_n) {
        _cleanup_free_ uint16_t *v = NULL;
        const uint8_t *p;
        uint32_t n;

        if (read_u32(r, &n) < 0)
                return -EBADMSG;
        if (n > PTP_MAX_A16_ITEMS || (size_t) n > r->left / 2)
                return -EBADMSG;
        if (read_bytes(r, 2 * (size_t) n, &p) < 0)
                return -EBADMSG;
        if (n > 0) {
                v = malloc(sizeof(uint16_t) * n);
                if (!v)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        v[i] = ptp_le16(p + 2 * i);
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

int ptp_string_parse(const uint8_t *data, size_t len, char **ret) {
        _cleanup_free_ char *s = NULL;
        Reader r;
        int k;

        if (reader_init(&r, data, len) < 0)
                return -EBADMSG;
        k = read_str(&r, &s);
        if (k < 0)
                return k;
        if (read_end(&r) < 0)
                return -EBADMSG;
        *ret = TAKE_PTR(s);
        return 0;
}

/* Decode one UTF-8 sequence (strictly: no overlong forms, no surrogates, nothing
 * above U+10FFFF). Returns its length or -EINVAL. */
static int utf8_get(const uint8_t *p, uint32_t *ret) {
        uint32_t c;
        int n;

        if (p[0] < 0x80) {
                *ret = p[0];
                return 1;
        }
        if ((p[0] & 0xE0) == 0xC0) {
                n = 2;
                c = p[0] & 0x1F;
        } else if ((p[0] & 0xF0) == 0xE0) {
                n = 3;
                c = p[0] & 0x0F;
        } else if ((p[0] & 0xF8) == 0xF0) {
                n = 4;
                c = p[0] & 0x07;
        } else
                return -EINVAL;
        for (int i = 1; i < n; i++) {
                if ((p[i] & 0xC0) != 0x80)  /* also stops at the NUL */
                        return -EINVAL;
                c = (c << 6) | (p[i] & 0x3F);
        }
        if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
            (c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
                return -EINVAL;
        *ret = c;
        return n;
}

/* Returns the bytes written; -EINVAL for bad UTF-8 or more than 254 code units,
 * -ENOBUFS if size is too small. Nothing is written on failure. */
ssize_t ptp_string_build(uint8_t *buf, size_t size, const char *utf8) {
        uint16_t units[UINT8_MAX];
        size_t n = 0, total;

        if (!utf8)
                return -EINVAL;
        for (const uint8_t *p = (const uint8_t *) utf8; *p;) {
                uint32_t c;
                int k = utf8_get(p, &c);

                if (k < 0)
                        return -EINVAL;
                p += k;
                if (c >= 0x10000) {
                        if (n + 2 > UINT8_MAX - 1)
                                return -EINVAL;
                        c -= 0x10000;
                        units[n++] = (uint16_t) (0xD800 | (c >> 10));
                        units[n++] = (uint16_t) (0xDC00 | (c & 0x3FF));
                } else {
                        if (n + 1 > UINT8_MAX - 1)
                                return -EINVAL;
                        units[n++] = (uint16_t) c;
                }
        }

        /* The empty string is a single 0 count byte (§4). */
        total = n == 0 ? 1 : 1 + 2 * (n + 1);
        if (!buf || size < total)
                return -ENOBUFS;
        if (n == 0) {
                buf[0] = 0;
                return 1;
        }
        buf[0] = (uint8_t) (n + 1);
        for (size_t i = 0; i < n; i++)
                put_le16(buf + 1 + 2 * i, units[i]);
        put_le16(buf + 1 + 2 * n, 0);
        return (ssize_t) total;
}

/* ---- containers (§2) ---- */

size_t ptp_container_build(uint8_t buf[PTP_COMMAND_MAX_SIZE], uint16_t type, uint16_t code,
                           uint32_t transaction_id, const uint32_t *params, unsigned n_params) {
        size_t size;

        assert(n_params <= PTP_MAX_PARAMS);
        assert(params || n_params == 0);
        n_params = MIN(n_params, (unsigned) PTP_MAX_PARAMS);
        size = PTP_HEADER_SIZE + 4 * (size_t) n_params;

        put_le32(buf, (uint32_t) size);
        put_le16(buf + 4, type);
        put_le16(buf + 6, code);
        put_le32(buf + 8, transaction_id);
        for (unsigned i = 0; i < n_params; i++)
                put_le32(buf + PTP_HEADER_SIZE + 4 * i, params[i]);
        return size;
}

void ptp_data_header_build(uint8_t buf[PTP_HEADER_SIZE], uint16_t code, uint32_t transaction_id,
                           uint64_t payload_size) {
        /* §2: ContainerLength 0xFFFFFFFF when header plus payload exceeds 0xFFFFFFFE. */
        uint32_t length = payload_size > UINT64_C(0xFFFFFFFE) - PTP_HEADER_SIZE
                ? PTP_LENGTH_UNKNOWN
                : (uint32_t) (payload_size + PTP_HEADER_SIZE);

        put_le32(buf, length);
        put_le16(buf + 4, PTP_TYPE_DATA);
        put_le16(buf + 6, code);
        put_le32(buf + 8, transaction_id);
}

int ptp_header_parse(const uint8_t *buf, size_t len, PtpContainer *ret) {
        PtpContainer c = {};

        if (!buf || len < PTP_HEADER_SIZE)
                return -EBADMSG;
        c.length = ptp_le32(buf);
        c.type = ptp_le16(buf + 4);
        c.code = ptp_le16(buf + 6);
        c.transaction_id = ptp_le32(buf + 8);
        /* §2: a length shorter than the header is malformed, and only four types exist. */
        if (c.length < PTP_HEADER_SIZE)
                return -EBADMSG;
        if (c.type < PTP_TYPE_COMMAND || c.type > PTP_TYPE_EVENT)
                return -EBADMSG;
        *ret = c;
        return 0;
}

static int parameter_container_parse(const uint8_t *buf, size_t len, uint16_t type,
                                     unsigned max_params, PtpContainer *ret) {
        PtpContainer c;

        if (ptp_header_parse(buf, len, &c) < 0)
                return -EBADMSG;
        if (c.type != type)
                return -EBADMSG;
        /* §2: ContainerLength is 12 + 4·n exactly, n within the limit, and the
         * bytes we hold are exactly that container. */
        if (c.length != len)
                return -EBADMSG;
        if ((len - PTP_HEADER_SIZE) % 4 != 0)
                return -EBADMSG;
        c.n_params = (unsigned) ((len - PTP_HEADER_SIZE) / 4);
        if (c.n_params > max_params)
                return -EBADMSG;
        for (unsigned i = 0; i < c.n_params; i++)
                c.params[i] = ptp_le32(buf + PTP_HEADER_SIZE + 4 * i);
        *ret = c;
        return 0;
}

int ptp_response_parse(const uint8_t *buf, size_t len, PtpContainer *ret) {
        return parameter_container_parse(buf, len, PTP_TYPE_RESPONSE, PTP_MAX_PARAMS, ret);
}

int ptp_event_parse(const uint8_t *buf, size_t len, PtpContainer *ret) {
        return parameter_container_parse(buf, len, PTP_TYPE_EVENT, PTP_MAX_EVENT_PARAMS, ret);
}

/* ---- names for logs; NULL for codes we do not know ---- */

typedef struct CodeName {
        uint16_t code;
        const char *name;
} CodeName;

static const char *code_lookup(const CodeName *table, size_t n, uint16_t code) {
        for (size_t i = 0; i < n; i++)
                if (table[i].code == code)
                        return table[i].name;
        return NULL;
}

const char *ptp_response_to_string(uint16_t code) {
        static const CodeName table[] = {
                { PTP_RC_OK, "OK" },
                { PTP_RC_GENERAL_ERROR, "General_Error" },
                { PTP_RC_SESSION_NOT_OPEN, "Session_Not_Open" },
                { PTP_RC_INVALID_TRANSACTION_ID, "Invalid_TransactionID" },
                { PTP_RC_OPERATION_NOT_SUPPORTED, "Operation_Not_Supported" },
                { PTP_RC_PARAMETER_NOT_SUPPORTED, "Parameter_Not_Supported" },
                { PTP_RC_INCOMPLETE_TRANSFER, "Incomplete_Transfer" },
                { PTP_RC_INVALID_STORAGE_ID, "Invalid_StorageID" },
                { PTP_RC_INVALID_OBJECT_HANDLE, "Invalid_ObjectHandle" },
                { PTP_RC_DEVICE_PROP_NOT_SUPPORTED, "DeviceProp_Not_Supported" },
                { PTP_RC_STORE_FULL, "Store_Full" },
                { PTP_RC_OBJECT_WRITE_PROTECTED, "Object_WriteProtected" },
                { PTP_RC_ACCESS_DENIED, "Access_Denied" },
                { PTP_RC_PARTIAL_DELETION, "Partial_Deletion" },
                { PTP_RC_DEVICE_BUSY, "Device_Busy" },
                { PTP_RC_INVALID_DEVICE_PROP_VALUE, "Invalid_DeviceProp_Value" },
                { PTP_RC_INVALID_PARAMETER, "Invalid_Parameter" },
                { PTP_RC_SESSION_ALREADY_OPEN, "Session_Already_Open" },
                { PTP_RC_TRANSACTION_CANCELLED, "Transaction_Cancelled" },
                { PTP_RC_MTP_OBJECT_PROP_NOT_SUPPORTED, "ObjectProp_Not_Supported" },
        };
        return code_lookup(table, ELEMENTSOF(table), code);
}

const char *ptp_operation_to_string(uint16_t code) {
        static const CodeName table[] = {
                { PTP_OC_GET_DEVICE_INFO, "GetDeviceInfo" },
                { PTP_OC_OPEN_SESSION, "OpenSession" },
                { PTP_OC_CLOSE_SESSION, "CloseSession" },
                { PTP_OC_GET_STORAGE_IDS, "GetStorageIDs" },
                { PTP_OC_GET_STORAGE_INFO, "GetStorageInfo" },
                { PTP_OC_GET_NUM_OBJECTS, "GetNumObjects" },
                { PTP_OC_GET_OBJECT_HANDLES, "GetObjectHandles" },
                { PTP_OC_GET_OBJECT_INFO, "GetObjectInfo" },
                { PTP_OC_GET_OBJECT, "GetObject" },
                { PTP_OC_DELETE_OBJECT, "DeleteObject" },
                { PTP_OC_GET_DEVICE_PROP_DESC, "GetDevicePropDesc" },
                { PTP_OC_GET_DEVICE_PROP_VALUE, "GetDevicePropValue" },
                { PTP_OC_SET_DEVICE_PROP_VALUE, "SetDevicePropValue" },
                { PTP_OC_GET_PARTIAL_OBJECT, "GetPartialObject" },
                { PTP_OC_GET_PARTIAL_OBJECT_64, "GetPartialObject64" },
                { PTP_OC_MTP_GET_OBJECT_PROPS_SUPPORTED, "GetObjectPropsSupported" },
                { PTP_OC_MTP_GET_OBJECT_PROP_VALUE, "GetObjectPropValue" },
                { PTP_OC_MTP_GET_OBJECT_PROP_LIST, "GetObjectPropList" },
                { PTP_OC_BWC_GET_BATTERY_TELEMETRY, "GetBatteryTelemetry" },
                { PTP_OC_BWC_RUN_SELF_TEST, "RunSelfTest" },
                { PTP_OC_BWC_GET_SELF_TEST_RESULT, "GetSelfTestResult" },
                { PTP_OC_BWC_GET_DEVICE_CERTIFICATES, "GetDeviceCertificates" },
                { PTP_OC_BWC_SIGN_CHALLENGE, "SignChallenge" },
        };
        return code_lookup(table, ELEMENTSOF(table), code);
}

const char *ptp_self_test_component_to_string(uint16_t component) {
        static const char *const names[] = {
                [1] = "sensor", [2] = "microphone", [3] = "storage",
                [4] = "rtc", [5] = "gps", [6] = "battery",
        };
        if (component >= ELEMENTSOF(names))
                return NULL;
        return names[component];
}

/* ---- DeviceInfo (§4.1) ---- */

void ptp_device_info_done(PtpDeviceInfo *info) {
        if (!info)
                return;
        free(info->vendor_extension_desc);
        free(info->operations);
        free(info->events);
        free(info->properties);
        free(info->capture_formats);
        free(info->playback_formats);
        free(info->manufacturer);
        free(info->model);
        free(info->device_version);
        free(info->serial);
        *info = (PtpDeviceInfo) {};
}

DEFINE_DONE_CLEANUP_FUNC(PtpDeviceInfo, ptp_device_info_done);

int ptp_device_info_parse(const uint8_t *data, size_t len, PtpDeviceInfo *ret) {
        _cleanup_(ptp_device_info_donep) PtpDeviceInfo d = {};
        Reader r;
        int k;

        if (reader_init(&r, data, len) < 0)
                return -EBADMSG;
        if (read_u16(&r, &d.standard_version) < 0 ||
            read_u32(&r, &d.vendor_extension_id) < 0 ||
            read_u16(&r, &d.vendor_extension_version) < 0)
                return -EBADMSG;
        if ((k = read_str(&r, &d.vendor_extension_desc)) < 0)
                return k;
        if (read_u16(&r, &d.functional_mode) < 0)
                return -EBADMSG;
        if ((k = read_a16(&r, &d.operations, &d.n_operations)) < 0 ||
            (k = read_a16(&r, &d.events, &d.n_events)) < 0 ||
            (k = read_a16(&r, &d.properties, &d.n_properties)) < 0 ||
            (k = read_a16(&r, &d.capture_formats, &d.n_capture_formats)) < 0 ||
            (k = read_a16(&r, &d.playback_formats, &d.n_playback_formats)) < 0)
                return k;
        if ((k = read_str(&r, &d.manufacturer)) < 0 ||
            (k = read_str(&r, &d.model)) < 0 ||
            (k = read_str(&r, &d.device_version)) < 0 ||
            (k = read_str(&r, &d.serial)) < 0)
                return k;
        if (read_end(&r) < 0)
                return -EBADMSG;
        /* Kept, shown and filed: bounded as a manifest bounds them (§12.2). */
        utf8_truncate(d.manufacturer, PTP_DEVICE_STRING_MAX);
        utf8_truncate(d.model, PTP_DEVICE_STRING_MAX);
        utf8_truncate(d.device_version, PTP_DEVICE_STRING_MAX);

        *ret = d;
        d = (PtpDeviceInfo) {};
        return 0;
}

static bool codes_have(const uint16_t *codes, size_t n, uint16_t code) {
        for (size_t i = 0; i < n; i++)
                if (codes[i] == code)
                        return true;
        return false;
}

bool ptp_device_info_has_operation(const PtpDeviceInfo *info, uint16_t code) {
        return info && codes_have(info->operations, info->n_operations, code);
}

bool ptp_device_info_has_property(const PtpDeviceInfo *info, uint16_t code) {
        return info && codes_have(info->properties, info->n_properties, code);
}

/* "name: 1.0; other: 2.1" (§4.1). An entry is "name: version", version being
 * digits, then any number of '.' and more digits; entries that do not have this
 * shape never match. */
int ptp_device_info_extension(const PtpDeviceInfo *info, const char *name) {
        size_t name_len;
        const char *p;

        if (!info || !info->vendor_extension_desc || isempty(name))
                return -ENOENT;
        name_len = strlen(name);

        for (p = info->vendor_extension_desc; *p;) {
                const char *entry, *end, *v;
                unsigned long major = 0;

                p += strspn(p, " ");
                entry = p;
                end = strchrnul(p, ';');
                p = *end ? end + 1 : end;

                if ((size_t) (end - entry) < name_len + 2 ||
                    memcmp(entry, name, name_len) != 0 || entry[name_len] != ':')
                        continue;
                v = entry + name_len + 1;
                v += strspn(v, " ");
                if (v >= end || *v < '0' || *v > '9')
                        continue;
                for (; v < end && *v >= '0' && *v <= '9'; v++)
                        major = MIN(major * 10 + (unsigned long) (*v - '0'), (unsigned long) INT_MAX);
                while (v < end && *v == '.' && v + 1 < end && v[1] >= '0' && v[1] <= '9')
                        for (v++; v < end && *v >= '0' && *v <= '9'; v++)
                                ;
                while (v < end && *v == ' ')
                        v++;
                if (v != end)
                        continue;
                return (int) major;
        }
        return -ENOENT;
}

/* ---- StorageInfo (§4.3) ---- */

void ptp_storage_info_done(PtpStorageInfo *info) {
        if (!info)
                return;
        free(info->description);
        free(info->volume_label);
        *info = (PtpStorageInfo) {};
}

DEFINE_DONE_CLEANUP_FUNC(PtpStorageInfo, ptp_storage_info_done);

int ptp_storage_info_parse(const uint8_t *data, size_t len, PtpStorageInfo *ret) {
        _cleanup_(ptp_storage_info_donep) PtpStorageInfo s = {};
        Reader r;
        int k;

        if (reader_init(&r, data, len) < 0)
                return -EBADMSG;
        if (read_u16(&r, &s.storage_type) < 0 ||
            read_u16(&r, &s.filesystem_type) < 0 ||
            read_u16(&r, &s.access_capability) < 0 ||
            read_u64(&r, &s.max_capacity) < 0 ||
            read_u64(&r, &s.free_space) < 0 ||
            read_u32(&r, &s.free_objects) < 0)
                return -EBADMSG;
        if ((k = read_str(&r, &s.description)) < 0 ||
            (k = read_str(&r, &s.volume_label)) < 0)
                return k;
        if (read_end(&r) < 0)
                return -EBADMSG;

        *ret = s;
        s = (PtpStorageInfo) {};
        return 0;
}

/* ---- ObjectInfo (§4.4) ---- */

void ptp_object_info_done(PtpObjectInfo *info) {
        if (!info)
                return;
        free(info->filename);
        free(info->capture_date);
        free(info->modification_date);
        *info = (PtpObjectInfo) {};
}

DEFINE_DONE_CLEANUP_FUNC(PtpObjectInfo, ptp_object_info_done);

int ptp_object_info_parse(const uint8_t *data, size_t len, PtpObjectInfo *ret) {
        _cleanup_(ptp_object_info_donep) PtpObjectInfo o = {};
        const uint8_t *skip;
        uint32_t association_desc;
        Reader r;
        int k;

        if (reader_init(&r, data, len) < 0)
                return -EBADMSG;
        if (read_u32(&r, &o.storage_id) < 0 ||
            read_u16(&r, &o.format) < 0 ||
            read_u16(&r, &o.protection) < 0 ||
            read_u32(&r, &o.compressed_size) < 0 ||
            /* ThumbFormat u16, Thumb{CompressedSize,PixWidth,PixHeight} 3×u32,
             * Image{PixWidth,PixHeight,BitDepth} 3×u32: informative, not kept. */
            read_bytes(&r, 2 + 3 * 4 + 3 * 4, &skip) < 0 ||
            read_u32(&r, &o.parent) < 0 ||
            read_u16(&r, &o.association_type) < 0 ||
            read_u32(&r, &association_desc) < 0 ||
            read_u32(&r, &o.sequence_number) < 0)
                return -EBADMSG;
        if ((k = read_str(&r, &o.filename)) < 0 ||
            (k = read_str(&r, &o.capture_date)) < 0 ||
            (k = read_str(&r, &o.modification_date)) < 0 ||
            (k = skip_str(&r)) < 0)             /* Keywords */
                return k;
        if (read_end(&r) < 0)
                return -EBADMSG;

        *ret = o;
        o = (PtpObjectInfo) {};
        return 0;
}

/* ---- simple values ---- */

int ptp_u32_array_parse(const uint8_t *data, size_t len, size_t max, uint32_t **ret, size_t *ret_n) {
        _cleanup_free_ uint32_t *v = NULL;
        const uint8_t *p;
        uint32_t n;
        Reader r;

        /* Bounded by max items, not by the dataset limit (§2, Listings). */
        if (max > (SIZE_MAX - 4) / 4 || reader_init_max(&r, data, len, 4 + 4 * max) < 0 || read_u32(&r, &n) < 0)
                return -EBADMSG;
        if (n > max || (size_t) n > r.left / 4)
                return -EBADMSG;
        if (read_bytes(&r, 4 * (size_t) n, &p) < 0 || read_end(&r) < 0)
                return -EBADMSG;
        if (n > 0) {
                v = malloc(sizeof(uint32_t) * n);
                if (!v)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        v[i] = ptp_le32(p + 4 * i);
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

int ptp_uint_parse(const uint8_t *data, size_t len, size_t size, uint64_t *ret) {
        if (!data || len != size)
                return -EBADMSG;
        switch (size) {
        case 1:
                *ret = data[0];
                return 0;
        case 2:
                *ret = ptp_le16(data);
                return 0;
        case 4:
                *ret = ptp_le32(data);
                return 0;
        case 8:
                *ret = ptp_le64(data);
                return 0;
        default:
                return -EINVAL;    /* a caller bug, not the camera's */
        }
}

/* ---- an object's date ---- */

void ptp_object_info_date(const PtpObjectInfo *info, time_t *ret, bool *ret_unzoned) {
        const char *dates[] = { info->capture_date, info->modification_date };

        *ret_unzoned = false;
        for (size_t i = 0; i < ELEMENTSOF(dates); i++)
                if (ptp_datetime_parse(dates[i], ret) >= 0)
                        return;
        *ret_unzoned = true;
        for (size_t i = 0; i < ELEMENTSOF(dates); i++)
                if (ptp_datetime_parse_unzoned(dates[i], ret) >= 0)
                        return;
        *ret = 0;
        *ret_unzoned = false;
}

/* ---- vendor extension (§8) ---- */

int ptp_battery_telemetry_parse(const uint8_t *data, size_t len, PtpBatteryTelemetry *ret) {
        PtpBatteryTelemetry b = {};
        uint32_t current;
        uint16_t temperature, reserved;
        Reader r;

        if (reader_init(&r, data, len) < 0)
                return -EBADMSG;
        /* §8.1: shorter than 28 bytes is malformed; bytes beyond are a later
         * version's additions, which we ignore. */
        if (len < PTP_BATTERY_TELEMETRY_SIZE)
                return -EBADMSG;
        if (read_u16(&r, &b.version) < 0 ||
            read_u16(&r, &b.flags) < 0 ||
            read_u16(&r, &b.state_of_charge) < 0 ||
            read_u16(&r, &b.cycle_count) < 0 ||
            read_u32(&r, &b.voltage_mv) < 0 ||
            read_u32(&r, &current) < 0 ||
            read_u16(&r, &temperature) < 0 ||
            read_u16(&r, &reserved) < 0 ||
            read_u32(&r, &b.full_charge_mah) < 0 ||
            read_u32(&r, &b.design_mah) < 0)
                return -EBADMSG;
        if (b.version == 0)
                return -EBADMSG;
        if (b.state_of_charge > 1000)
                return -EBADMSG;    /* per mille */
        b.current_ma = (int32_t) current;
        b.temperature_decic = (int16_t) temperature;

        *ret = b;
        return 0;
}

void ptp_self_test_result_done(PtpSelfTestResult *r) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n_entries; i++)
                free(r->entries[i].detail);
        free(r->entries);
        *r = (PtpSelfTestResult) {};
}

DEFINE_DONE_CLEANUP_FUNC(PtpSelfTestResult, ptp_self_test_result_done);

int ptp_self_test_result_parse(const uint8_t *data, size_t len, PtpSelfTestResult *ret) {
        _cleanup_(ptp_self_test_result_donep) PtpSelfTestResult t = {};
        uint32_t n;
        Reader r;
        int k;

        if (reader_init(&r, data, len) < 0)
                return -EBADMSG;
        if (read_u16(&r, &t.version) < 0 ||
            read_u16(&r, &t.state) < 0 ||
            read_u32(&r, &t.completed_at) < 0 ||
            read_u32(&r, &n) < 0)
                return -EBADMSG;
        if (t.version == 0 || t.state > PTP_SELF_TEST_COMPLETE)
                return -EBADMSG;
        /* An entry is at least 9 bytes (u16, u16, u32, an empty str). */
        if (n > PTP_MAX_SELF_TEST_ENTRIES || (size_t) n > r.left / 9)
                return -EBADMSG;
        if (n > 0) {
                t.entries = calloc(n, sizeof(PtpSelfTestEntry));
                if (!t.entries)
                        return -ENOMEM;
        }
        for (uint32_t i = 0; i < n; i++) {
                PtpSelfTestEntry *e = &t.entries[i];

                if (read_u16(&r, &e->component) < 0 ||
                    read_u16(&r, &e->result) < 0 ||
                    read_u32(&r, &e->error_code) < 0)
                        return -EBADMSG;
                if (e->result > PTP_SELF_TEST_NOT_RUN)
                        return -EBADMSG;
                /* Count the entry before its string, so that done() frees it. */
                t.n_entries++;
                k = read_str_max(&r, PTP_SELF_TEST_DETAIL_MAX + 1, &e->detail);
                if (k < 0)
                        return k;
        }
        if (read_end(&r) < 0)
                return -EBADMSG;

        *ret = t;
        t = (PtpSelfTestResult) {};
        return 0;
}

int ptp_certificates_parse(const uint8_t *data, size_t len, PtpCertificate ret[PTP_MAX_CERTIFICATES],
                           size_t *ret_n) {
        PtpCertificate certs[PTP_MAX_CERTIFICATES] = {};
        uint32_t n;
        Reader r;

        if (reader_init_count(&r, data, len, &n) < 0)
                return -EBADMSG;
        if (n < 1 || n > PTP_MAX_CERTIFICATES)
                return -EBADMSG;
        for (uint32_t i = 0; i < n; i++) {
                uint32_t size;

                if (read_u32(&r, &size) < 0)
                        return -EBADMSG;
                if (size < 1 || size > PTP_CERTIFICATE_MAX_SIZE)
                        return -EBADMSG;
                if (read_bytes(&r, size, &certs[i].der) < 0)
                        return -EBADMSG;
                certs[i].size = size;
        }
        if (read_end(&r) < 0)
                return -EBADMSG;

        memcpy(ret, certs, sizeof(PtpCertificate) * n);
        *ret_n = n;
        return 0;
}
