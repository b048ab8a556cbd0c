/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzz every PTP parser (ptp.h, object-prop-list.h). The first byte picks the parser, the rest is
 * what the camera sent. Beyond "no crash, no leak, no overread", it checks the
 * contract: a failed parse leaves its output untouched, strings and DateTimes
 * survive a round trip through their builders. */
#include <string.h>

#include "fuzz.h"
#include "object-prop-list.h"
#include "parse-util.h"
#include "ptp.h"

enum {
        FUZZ_HEADER,
        FUZZ_RESPONSE,
        FUZZ_EVENT,
        FUZZ_DEVICE_INFO,
        FUZZ_STORAGE_INFO,
        FUZZ_OBJECT_INFO,
        FUZZ_U32_ARRAY,
        FUZZ_UINT,
        FUZZ_STRING,
        FUZZ_DATETIME,
        FUZZ_BATTERY,
        FUZZ_SELF_TEST,
        FUZZ_CERTIFICATES,
        FUZZ_PROP_LIST,
        _FUZZ_MAX,
};

/* Fill *out with a pattern before a parse; after a failure it must still be there. */
#define SENTINEL 0xA5
static void fill(void *p, size_t n) {
        memset(p, SENTINEL, n);
}
static bool untouched(const void *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (((const uint8_t *) p)[i] != SENTINEL)
                        return false;
        return true;
}

#define PARSE(call, out)                                                        \
        ({                                                                      \
                int _r;                                                         \
                fill(&(out), sizeof(out));                                      \
                _r = (call);                                                    \
                if (_r < 0) {                                                   \
                        fuzz_check(_r == -EBADMSG);                             \
                        fuzz_check(untouched(&(out), sizeof(out)));             \
                }                                                               \
                _r;                                                             \
        })

static void check_string(const char *s) {
        fuzz_check(s);
        fuzz_check(utf8_is_valid(s, strlen(s)));
        /* No control character gets past the boundary (C0, DEL, C1 as UTF-8). */
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                fuzz_check(*p >= 0x20 && *p != 0x7F && !(p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F));
}

static void fuzz_string(const uint8_t *d, size_t n) {
        uint8_t buf[1 + 2 * 255];
        char *s, *back = NULL;
        ssize_t k;

        if (PARSE(ptp_string_parse(d, n, &s), s) < 0)
                return;
        check_string(s);
        /* Round trip: what we decoded encodes back and decodes to the same. */
        k = ptp_string_build(buf, sizeof buf, s);
        fuzz_check(k > 0);
        fuzz_check(ptp_string_parse(buf, (size_t) k, &back) == 0);
        fuzz_check(strcmp(s, back) == 0);
        /* The encoding is the input's, except that "" has two spellings (§4) and
         * control characters were replaced by '?' at the boundary. */
        fuzz_check(*s == 0 || strchr(s, '?') || ((size_t) k == n && memcmp(buf, d, n) == 0));
        free(back);
        free(s);
}

static void fuzz_datetime(const uint8_t *d, size_t n) {
        char s[32], out[17];
        time_t t, back;

        if (n >= sizeof s)
                return;
        memcpy(s, d, n);
        s[n] = 0;
        /* Without zone: the same instant as with "Z" appended, read as UTC. */
        if (PARSE(ptp_datetime_parse_unzoned(s, &t), t) >= 0) {
                ptp_datetime_format(t, out);
                fuzz_check(strncmp(out, s, 15) == 0);
        }
        if (PARSE(ptp_datetime_parse(s, &t), t) < 0)
                return;
        ptp_datetime_format(t, out);
        fuzz_check(ptp_datetime_parse(out, &back) == 0);
        fuzz_check(back == t);
        fuzz_check(strncmp(out, s, 15) == 0);
}

static void fuzz_device_info(const uint8_t *d, size_t n) {
        PtpDeviceInfo info;

        if (PARSE(ptp_device_info_parse(d, n, &info), info) < 0)
                return;
        check_string(info.vendor_extension_desc);
        check_string(info.manufacturer);
        check_string(info.model);
        check_string(info.device_version);
        check_string(info.serial);
        (void) ptp_device_info_has_operation(&info, PTP_OC_GET_PARTIAL_OBJECT_64);
        fuzz_check(ptp_device_info_extension(&info, PTP_EXTENSION_BWC) >= -ENOENT);
        for (size_t i = 0; i < info.n_operations; i++)
                (void) ptp_operation_to_string(info.operations[i]);
        ptp_device_info_done(&info);
}

static void fuzz_object_info(const uint8_t *d, size_t n) {
        PtpObjectInfo o;
        time_t t;

        if (PARSE(ptp_object_info_parse(d, n, &o), o) < 0)
                return;
        check_string(o.filename);
        check_string(o.capture_date);
        check_string(o.modification_date);
        (void) ptp_datetime_parse(o.capture_date, &t);
        ptp_object_info_done(&o);
}

static void fuzz_self_test(const uint8_t *d, size_t n) {
        PtpSelfTestResult r;

        if (PARSE(ptp_self_test_result_parse(d, n, &r), r) < 0)
                return;
        fuzz_check(r.n_entries <= 32);
        for (size_t i = 0; i < r.n_entries; i++) {
                check_string(r.entries[i].detail);
                (void) ptp_self_test_component_to_string(r.entries[i].component);
        }
        ptp_self_test_result_done(&r);
}

static void fuzz_certificates(const uint8_t *d, size_t n) {
        struct {
                PtpCertificate c[PTP_MAX_CERTIFICATES];
                size_t n;
        } out;
        size_t total = 4;

        if (PARSE(ptp_certificates_parse(d, n, out.c, &out.n), out) < 0)
                return;
        fuzz_check(out.n >= 1 && out.n <= PTP_MAX_CERTIFICATES);
        for (size_t i = 0; i < out.n; i++) {
                fuzz_check(out.c[i].der >= d && out.c[i].der + out.c[i].size <= d + n);
                total += 4 + out.c[i].size;
        }
        fuzz_check(total == n);
}

/* ObjectPropList: the first byte says where the stream is split in two (the
 * transport hands the parser transfers of any size); the result must be the
 * whole dataset's. Objects ascend, names are clean and bounded. */
static void fuzz_prop_list(const uint8_t *d, size_t n) {
        struct {
                PtpObjectProps *o;
                size_t n;
        } whole, split;
        _cleanup_(ptp_prop_list_parser_freep) PtpPropListParser *p = NULL;
        size_t cut;
        int r, k;

        if (n < 1)
                return;
        cut = MIN((size_t) d[0], n - 1);
        d++, n--;
        r = PARSE(ptp_object_prop_list_parse(d, n, 64, &whole.o, &whole.n), whole);
        fuzz_check(ptp_prop_list_parser_new(64, &p) == 0);
        k = ptp_prop_list_parser_feed(p, d, cut);
        if (k == 0)
                k = ptp_prop_list_parser_feed(p, d + cut, n - cut);
        if (k == 0)
                k = PARSE(ptp_prop_list_parser_finish(p, &split.o, &split.n), split);
        fuzz_check((r == 0) == (k == 0));
        if (r < 0)
                return;
        fuzz_check(whole.n == split.n && whole.n <= 64);
        for (size_t i = 0; i < whole.n; i++) {
                fuzz_check(whole.o[i].handle != 0 && whole.o[i].handle != UINT32_MAX);
                fuzz_check(i == 0 || whole.o[i - 1].handle < whole.o[i].handle);
                fuzz_check(whole.o[i].handle == split.o[i].handle && whole.o[i].size == split.o[i].size &&
                           whole.o[i].parent == split.o[i].parent && whole.o[i].format == split.o[i].format);
                check_string(whole.o[i].filename);
                fuzz_check(strcmp(whole.o[i].filename, split.o[i].filename) == 0);
                fuzz_check(strlen(whole.o[i].filename) <= 4 * PTP_OBJECT_NAME_MAX);
        }
        ptp_object_props_free(whole.o, whole.n);
        ptp_object_props_free(split.o, split.n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const uint8_t *d;
        size_t n;

        if (size < 1)
                return 0;
        d = data + 1;
        n = size - 1;

        switch (data[0] % _FUZZ_MAX) {
        case FUZZ_HEADER: {
                PtpContainer c;
                if (PARSE(ptp_header_parse(d, n, &c), c) == 0)
                        fuzz_check(c.length >= PTP_HEADER_SIZE && c.type >= 1 && c.type <= 4);
                break;
        }
        case FUZZ_RESPONSE:
        case FUZZ_EVENT: {
                bool event = data[0] % _FUZZ_MAX == FUZZ_EVENT;
                PtpContainer c;
                int r = event ? PARSE(ptp_event_parse(d, n, &c), c)
                              : PARSE(ptp_response_parse(d, n, &c), c);
                if (r == 0) {
                        uint8_t buf[PTP_COMMAND_MAX_SIZE];
                        fuzz_check(c.n_params <= (event ? PTP_MAX_EVENT_PARAMS : PTP_MAX_PARAMS));
                        fuzz_check(c.length == n);
                        /* Rebuilding gives the same bytes. */
                        fuzz_check(ptp_container_build(buf, c.type, c.code, c.transaction_id, c.params,
                                                       c.n_params) == n);
                        fuzz_check(memcmp(buf, d, n) == 0);
                        (void) ptp_response_to_string(c.code);
                }
                break;
        }
        case FUZZ_DEVICE_INFO:
                fuzz_device_info(d, n);
                break;
        case FUZZ_STORAGE_INFO: {
                PtpStorageInfo s;
                if (PARSE(ptp_storage_info_parse(d, n, &s), s) == 0) {
                        check_string(s.description);
                        check_string(s.volume_label);
                        ptp_storage_info_done(&s);
                }
                break;
        }
        case FUZZ_OBJECT_INFO:
                fuzz_object_info(d, n);
                break;
        case FUZZ_U32_ARRAY: {
                struct {
                        uint32_t *v;
                        size_t n;
                } a;
                if (PARSE(ptp_u32_array_parse(d, n, 4096, &a.v, &a.n), a) == 0) {
                        fuzz_check(a.n <= 4096 && n == 4 + 4 * a.n);
                        free(a.v);
                }
                break;
        }
        case FUZZ_UINT: {
                uint64_t v;
                if (n >= 1)
                        (void) PARSE(ptp_uint_parse(d + 1, n - 1, (size_t) 1 << (d[0] & 3), &v), v);
                break;
        }
        case FUZZ_STRING:
                fuzz_string(d, n);
                break;
        case FUZZ_DATETIME:
                fuzz_datetime(d, n);
                break;
        case FUZZ_BATTERY: {
                PtpBatteryTelemetry b;
                if (PARSE(ptp_battery_telemetry_parse(d, n, &b), b) == 0)
                        fuzz_check(n >= 28 && b.version != 0 && b.state_of_charge <= 1000);
                break;
        }
        case FUZZ_SELF_TEST:
                fuzz_self_test(d, n);
                break;
        case FUZZ_CERTIFICATES:
                fuzz_certificates(d, n);
                break;
        case FUZZ_PROP_LIST:
                fuzz_prop_list(d, n);
                break;
        }
        return 0;
}
