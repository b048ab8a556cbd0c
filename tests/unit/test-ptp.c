/* SPDX-License-Identifier: Apache-2.0 */
/* PTP codec: containers, every dataset of protocol §4 and §8, strings, DateTime.
 * Each dataset is also cut at every length, given a byte too many, and fed
 * impossible counts; a failed parse must leave its output exactly as it was. */
#include <glib.h>

#include "object-prop-list.h"
#include "ptp.h"

/* ---- building test datasets ---- */

static void put_u8(GByteArray *a, uint8_t v) {
        g_byte_array_append(a, &v, 1);
}

static void put_u16(GByteArray *a, uint16_t v) {
        uint8_t b[2] = { (uint8_t) v, (uint8_t) (v >> 8) };
        g_byte_array_append(a, b, 2);
}

static void put_u32(GByteArray *a, uint32_t v) {
        uint8_t b[4] = { (uint8_t) v, (uint8_t) (v >> 8), (uint8_t) (v >> 16), (uint8_t) (v >> 24) };
        g_byte_array_append(a, b, 4);
}

static void put_u64(GByteArray *a, uint64_t v) {
        put_u32(a, (uint32_t) v);
        put_u32(a, (uint32_t) (v >> 32));
}

static void put_str(GByteArray *a, const char *s) {
        uint8_t buf[1 + 2 * 255];
        ssize_t n = ptp_string_build(buf, sizeof buf, s);

        g_assert_cmpint(n, >, 0);
        g_byte_array_append(a, buf, (guint) n);
}

/* A string from raw code units: count, then the units as given. */
static void put_units(GByteArray *a, uint8_t count, const uint16_t *units, size_t n) {
        put_u8(a, count);
        for (size_t i = 0; i < n; i++)
                put_u16(a, units[i]);
}

static void put_a16(GByteArray *a, const uint16_t *v, size_t n) {
        put_u32(a, (uint32_t) n);
        for (size_t i = 0; i < n; i++)
                put_u16(a, v[i]);
}

static const uint16_t test_operations[] = {
        0x1001, 0x1002, 0x1003, 0x1004, 0x1005, 0x1006, 0x1007, 0x1008, 0x1009, 0x100B,
        0x1014, 0x1015, 0x1016, 0x101B, 0x95C1, 0x9801, 0x9803, 0x9A01, 0x9A02, 0x9A03, 0x9A04,
};
static const uint16_t test_events[] = { 0x4002, 0x4003, 0x4006, 0x400A, 0xC801 };
static const uint16_t test_props[] = { 0x5001, 0x5011 };
static const uint16_t test_formats[] = { 0x3001, 0x3004, 0x300B, 0x3000 };

static GByteArray *device_info_build(const char *serial) {
        GByteArray *a = g_byte_array_new();

        put_u16(a, 100);
        put_u32(a, 6);
        put_u16(a, 100);
        put_str(a, "microsoft.com: 1.0; android.com: 1.0; dockd.org/bwc: 1.0");
        put_u16(a, 0);
        put_a16(a, test_operations, G_N_ELEMENTS(test_operations));
        put_a16(a, test_events, G_N_ELEMENTS(test_events));
        put_a16(a, test_props, G_N_ELEMENTS(test_props));
        put_a16(a, NULL, 0);
        put_a16(a, test_formats, G_N_ELEMENTS(test_formats));
        put_str(a, "Acme Séc");
        put_str(a, "Sentinel V3");
        put_str(a, "3.2.1");
        put_str(a, serial);
        return a;
}

static GByteArray *storage_info_build(void) {
        GByteArray *a = g_byte_array_new();

        put_u16(a, 0x0003);
        put_u16(a, 0x0002);
        put_u16(a, 0x0002);
        put_u64(a, UINT64_C(64) << 30);
        put_u64(a, UINT64_C(0x123456789A));
        put_u32(a, 0xFFFFFFFF);
        put_str(a, "Internal storage");
        put_str(a, "");
        return a;
}

static GByteArray *object_info_build(void) {
        GByteArray *a = g_byte_array_new();

        put_u32(a, 0x00010001);
        put_u16(a, PTP_OFC_MPEG);
        put_u16(a, 0x0001);
        put_u32(a, 0xFFFFFFFF);
        put_u16(a, 0);                                   /* ThumbFormat */
        put_u32(a, 0), put_u32(a, 0), put_u32(a, 0);     /* thumb */
        put_u32(a, 1920), put_u32(a, 1080), put_u32(a, 0);
        put_u32(a, 7);                                   /* ParentObject */
        put_u16(a, 0);
        put_u32(a, 0);                                   /* AssociationDesc */
        put_u32(a, 42);
        put_str(a, "000042.mp4");
        put_str(a, "20261121T221500Z");
        put_str(a, "20261121T222500.5Z");
        put_str(a, "");                                  /* Keywords */
        return a;
}

static GByteArray *battery_build(void) {
        GByteArray *a = g_byte_array_new();

        put_u16(a, 1);
        put_u16(a, PTP_BATTERY_CHARGING | PTP_BATTERY_EXTERNAL_POWER);
        put_u16(a, 874);
        put_u16(a, 312);
        put_u32(a, 4012);
        put_u32(a, (uint32_t) -250);
        put_u16(a, (uint16_t) -55);
        put_u16(a, 0);
        put_u32(a, 2870);
        put_u32(a, 3200);
        return a;
}

static GByteArray *self_test_build(void) {
        GByteArray *a = g_byte_array_new();

        put_u16(a, 1);
        put_u16(a, PTP_SELF_TEST_COMPLETE);
        put_u32(a, 1795299300);
        put_u32(a, 3);
        put_u16(a, 1), put_u16(a, PTP_SELF_TEST_PASS), put_u32(a, 0), put_str(a, "");
        put_u16(a, 2), put_u16(a, PTP_SELF_TEST_FAIL), put_u32(a, 0x51), put_str(a, "noise floor −12 dB high");
        put_u16(a, 5), put_u16(a, PTP_SELF_TEST_NOT_FITTED), put_u32(a, 0), put_str(a, "no GPS");
        return a;
}

static GByteArray *certificates_build(size_t n, const size_t *sizes) {
        GByteArray *a = g_byte_array_new();

        put_u32(a, (uint32_t) n);
        for (size_t i = 0; i < n; i++) {
                put_u32(a, (uint32_t) sizes[i]);
                for (size_t j = 0; j < sizes[i]; j++)
                        put_u8(a, (uint8_t) (0x30 + i + j));
        }
        return a;
}

/* ---- a generic harness: every prefix fails, a byte more fails (or not), the
 * output is untouched on failure ---- */

typedef struct Parser {
        const char *name;
        int (*parse)(const uint8_t *d, size_t len, void *out);
        void (*done)(void *out);
        size_t out_size;
        bool accepts_trailing;
} Parser;

static int parse_device_info(const uint8_t *d, size_t len, void *out) {
        return ptp_device_info_parse(d, len, out);
}
static void done_device_info(void *out) {
        ptp_device_info_done(out);
}
static int parse_storage_info(const uint8_t *d, size_t len, void *out) {
        return ptp_storage_info_parse(d, len, out);
}
static void done_storage_info(void *out) {
        ptp_storage_info_done(out);
}
static int parse_object_info(const uint8_t *d, size_t len, void *out) {
        return ptp_object_info_parse(d, len, out);
}
static void done_object_info(void *out) {
        ptp_object_info_done(out);
}
static int parse_battery(const uint8_t *d, size_t len, void *out) {
        return ptp_battery_telemetry_parse(d, len, out);
}
static int parse_self_test(const uint8_t *d, size_t len, void *out) {
        return ptp_self_test_result_parse(d, len, out);
}
static void done_self_test(void *out) {
        ptp_self_test_result_done(out);
}
typedef struct CertOut {
        PtpCertificate certs[PTP_MAX_CERTIFICATES];
        size_t n;
} CertOut;
static int parse_certificates(const uint8_t *d, size_t len, void *out) {
        CertOut *c = out;
        return ptp_certificates_parse(d, len, c->certs, &c->n);
}
typedef struct ArrayOut {
        uint32_t *v;
        size_t n;
} ArrayOut;
static int parse_u32_array(const uint8_t *d, size_t len, void *out) {
        ArrayOut *a = out;
        return ptp_u32_array_parse(d, len, 1000, &a->v, &a->n);
}
static void done_u32_array(void *out) {
        g_free(((ArrayOut *) out)->v);
}
static int parse_string(const uint8_t *d, size_t len, void *out) {
        return ptp_string_parse(d, len, out);
}
static void done_string(void *out) {
        free(*(char **) out);
}

static const Parser parser_device_info = { "DeviceInfo", parse_device_info, done_device_info, sizeof(PtpDeviceInfo), false };
static const Parser parser_storage_info = { "StorageInfo", parse_storage_info, done_storage_info, sizeof(PtpStorageInfo), false };
static const Parser parser_object_info = { "ObjectInfo", parse_object_info, done_object_info, sizeof(PtpObjectInfo), false };
static const Parser parser_battery = { "BatteryTelemetry", parse_battery, NULL, sizeof(PtpBatteryTelemetry), true };
static const Parser parser_self_test = { "SelfTestResult", parse_self_test, done_self_test, sizeof(PtpSelfTestResult), false };
static const Parser parser_certificates = { "CertificateList", parse_certificates, NULL, sizeof(CertOut), false };
static const Parser parser_u32_array = { "a32", parse_u32_array, done_u32_array, sizeof(ArrayOut), false };
static const Parser parser_string = { "str", parse_string, done_string, sizeof(char *), false };

/* Run one parse on a private copy of exactly len bytes (so that ASan/valgrind see
 * any read past the end). Asserts the output is untouched when it fails. */
static int run_parser(const Parser *p, const uint8_t *data, size_t len) {
        g_autofree uint8_t *copy = g_memdup2(data, len ? len : 1);
        g_autofree uint8_t *out = g_malloc(p->out_size), *sentinel = g_malloc(p->out_size);
        int r;

        memset(out, 0xA5, p->out_size);
        memset(sentinel, 0xA5, p->out_size);
        r = p->parse(len ? copy : NULL, len, out);
        if (r < 0) {
                g_assert_cmpint(r, ==, -EBADMSG);
                if (memcmp(out, sentinel, p->out_size) != 0)
                        g_error("%s: output modified by a failed parse (len %zu)", p->name, len);
        } else if (p->done)
                p->done(out);
        return r;
}

static void check_dataset_bounds(const Parser *p, const GByteArray *a) {
        g_autofree uint8_t *longer = g_malloc(a->len + 16);

        for (size_t i = 0; i < a->len; i++)
                if (run_parser(p, a->data, i) != -EBADMSG)
                        g_error("%s: accepted a %zu-byte prefix of %u bytes", p->name, i, a->len);
        g_assert_cmpint(run_parser(p, a->data, a->len), ==, 0);

        memcpy(longer, a->data, a->len);
        memset(longer + a->len, 0, 16);
        for (size_t extra = 1; extra <= 16; extra++)
                g_assert_cmpint(run_parser(p, longer, a->len + extra), ==,
                                p->accepts_trailing ? 0 : -EBADMSG);
}

/* ---- containers ---- */

static void test_container_roundtrip(void) {
        const uint32_t params[PTP_MAX_PARAMS] = { 1, 0xFFFFFFFF, 0x80000000, 42, 7 };

        for (unsigned n = 0; n <= PTP_MAX_PARAMS; n++) {
                uint8_t buf[PTP_COMMAND_MAX_SIZE];
                PtpContainer c;
                size_t size = ptp_container_build(buf, PTP_TYPE_COMMAND, PTP_OC_GET_PARTIAL_OBJECT_64,
                                                  0x01020304, params, n);

                g_assert_cmpuint(size, ==, 12 + 4 * n);
                g_assert_cmpint(ptp_header_parse(buf, size, &c), ==, 0);
                g_assert_cmpuint(c.length, ==, size);
                g_assert_cmpuint(c.type, ==, PTP_TYPE_COMMAND);
                g_assert_cmpuint(c.code, ==, PTP_OC_GET_PARTIAL_OBJECT_64);
                g_assert_cmpuint(c.transaction_id, ==, 0x01020304);
                g_assert_cmpuint(c.n_params, ==, 0);

                /* The same bytes as a response: every parameter comes back. */
                size = ptp_container_build(buf, PTP_TYPE_RESPONSE, PTP_RC_OK, 9, params, n);
                g_assert_cmpint(ptp_response_parse(buf, size, &c), ==, 0);
                g_assert_cmpuint(c.n_params, ==, n);
                g_assert_cmpuint(c.code, ==, PTP_RC_OK);
                for (unsigned i = 0; i < n; i++)
                        g_assert_cmpuint(c.params[i], ==, params[i]);
                /* Wrong type for the phase. */
                g_assert_cmpint(ptp_event_parse(buf, size, &c), ==, -EBADMSG);
        }

        /* Little-endian on the wire (§1). */
        {
                uint8_t buf[PTP_COMMAND_MAX_SIZE];
                const uint32_t p = 0x11223344;
                const uint8_t expect[] = { 16, 0, 0, 0, 1, 0, 0x02, 0x10, 1, 0, 0, 0, 0x44, 0x33, 0x22, 0x11 };

                g_assert_cmpuint(ptp_container_build(buf, PTP_TYPE_COMMAND, PTP_OC_OPEN_SESSION, 1, &p, 1), ==, 16);
                g_assert_cmpmem(buf, 16, expect, sizeof expect);
        }
}

static void test_data_header(void) {
        uint8_t buf[PTP_HEADER_SIZE];
        PtpContainer c;

        ptp_data_header_build(buf, PTP_OC_SET_DEVICE_PROP_VALUE, 5, 36);
        g_assert_cmpint(ptp_header_parse(buf, sizeof buf, &c), ==, 0);
        g_assert_cmpuint(c.length, ==, 48);
        g_assert_cmpuint(c.type, ==, PTP_TYPE_DATA);
        g_assert_cmpuint(c.code, ==, PTP_OC_SET_DEVICE_PROP_VALUE);
        g_assert_cmpuint(c.transaction_id, ==, 5);

        ptp_data_header_build(buf, PTP_OC_GET_OBJECT, 5, 0);
        g_assert_cmpint(ptp_header_parse(buf, sizeof buf, &c), ==, 0);
        g_assert_cmpuint(c.length, ==, 12);

        /* §2: the largest that fits, and the first that does not. */
        ptp_data_header_build(buf, PTP_OC_GET_OBJECT, 5, UINT64_C(0xFFFFFFFE) - 12);
        g_assert_cmpint(ptp_header_parse(buf, sizeof buf, &c), ==, 0);
        g_assert_cmpuint(c.length, ==, 0xFFFFFFFE);
        ptp_data_header_build(buf, PTP_OC_GET_OBJECT, 5, UINT64_C(0xFFFFFFFE) - 11);
        g_assert_cmpint(ptp_header_parse(buf, sizeof buf, &c), ==, 0);
        g_assert_cmpuint(c.length, ==, PTP_LENGTH_UNKNOWN);
        ptp_data_header_build(buf, PTP_OC_GET_OBJECT, 5, UINT64_MAX);
        g_assert_cmpint(ptp_header_parse(buf, sizeof buf, &c), ==, 0);
        g_assert_cmpuint(c.length, ==, PTP_LENGTH_UNKNOWN);
}

static void test_container_malformed(void) {
        const uint32_t params[6] = { 1, 2, 3, 4, 5, 6 };
        uint8_t buf[64];
        PtpContainer c, sentinel;
        size_t size;

        memset(&sentinel, 0x5A, sizeof sentinel);

        /* Every prefix of a valid response and event is rejected, output untouched. */
        size = ptp_container_build(buf, PTP_TYPE_RESPONSE, PTP_RC_OK, 3, params, 5);
        for (size_t i = 0; i < size; i++) {
                g_autofree uint8_t *copy = g_memdup2(buf, i ? i : 1);
                c = sentinel;
                g_assert_cmpint(ptp_response_parse(copy, i, &c), ==, -EBADMSG);
                g_assert_cmpmem(&c, sizeof c, &sentinel, sizeof sentinel);
                if (i < PTP_HEADER_SIZE)
                        g_assert_cmpint(ptp_header_parse(copy, i, &c), ==, -EBADMSG);
        }

        /* Six parameters: 36 bytes, beyond the 32-byte limit. */
        size = ptp_container_build(buf, PTP_TYPE_RESPONSE, PTP_RC_OK, 3, params, 5);
        memcpy(buf + size, &params[5], 4);
        buf[0] = (uint8_t) (size + 4);
        c = sentinel;
        g_assert_cmpint(ptp_response_parse(buf, size + 4, &c), ==, -EBADMSG);
        g_assert_cmpmem(&c, sizeof c, &sentinel, sizeof sentinel);

        /* umtprd 1.3.10's SessionAlreadyOpen: its length counts the one
         * parameter as one byte (13 bytes, the session ID's low byte), not a
         * container of 0 or 1 parameters; never read as either. */
        {
                static const uint8_t umtprd[13] = { 13, 0, 0, 0, 3, 0, 0x1E, 0x20, 0, 0, 0, 0, 1 };
                c = sentinel;
                g_assert_cmpint(ptp_response_parse(umtprd, sizeof umtprd, &c), ==, -EBADMSG);
                g_assert_cmpmem(&c, sizeof c, &sentinel, sizeof sentinel);
        }

        /* Events: at most 3 parameters. */
        size = ptp_container_build(buf, PTP_TYPE_EVENT, PTP_EC_OBJECT_ADDED, 0xFFFFFFFF, params, 3);
        g_assert_cmpint(ptp_event_parse(buf, size, &c), ==, 0);
        g_assert_cmpuint(c.n_params, ==, 3);
        g_assert_cmpuint(c.params[2], ==, 3);
        size = ptp_container_build(buf, PTP_TYPE_EVENT, PTP_EC_OBJECT_ADDED, 0xFFFFFFFF, params, 4);
        c = sentinel;
        g_assert_cmpint(ptp_event_parse(buf, size, &c), ==, -EBADMSG);
        g_assert_cmpmem(&c, sizeof c, &sentinel, sizeof sentinel);

        /* Length field disagreeing with the bytes, in both directions. */
        size = ptp_container_build(buf, PTP_TYPE_RESPONSE, PTP_RC_OK, 3, params, 2);
        buf[0] = (uint8_t) (size + 4);
        g_assert_cmpint(ptp_response_parse(buf, size, &c), ==, -EBADMSG);
        buf[0] = (uint8_t) (size - 4);
        g_assert_cmpint(ptp_response_parse(buf, size, &c), ==, -EBADMSG);
        buf[0] = (uint8_t) size;
        buf[3] = 0x80;                                  /* 2 GiB */
        g_assert_cmpint(ptp_response_parse(buf, size, &c), ==, -EBADMSG);
        buf[3] = 0;

        /* Not a whole number of parameters. */
        size = ptp_container_build(buf, PTP_TYPE_RESPONSE, PTP_RC_OK, 3, params, 1);
        buf[size] = 0;
        buf[0] = (uint8_t) (size + 1);
        g_assert_cmpint(ptp_response_parse(buf, size + 1, &c), ==, -EBADMSG);

        /* Announced length shorter than the header; unknown and wrong types. */
        size = ptp_container_build(buf, PTP_TYPE_RESPONSE, PTP_RC_OK, 3, NULL, 0);
        for (uint32_t l = 0; l < 12; l++) {
                buf[0] = (uint8_t) l;
                g_assert_cmpint(ptp_header_parse(buf, size, &c), ==, -EBADMSG);
                g_assert_cmpint(ptp_response_parse(buf, size, &c), ==, -EBADMSG);
        }
        buf[0] = 12;
        for (uint16_t t = 0; t < 8; t++) {
                buf[4] = (uint8_t) t;
                g_assert_cmpint(ptp_header_parse(buf, size, &c), ==, t >= 1 && t <= 4 ? 0 : -EBADMSG);
                g_assert_cmpint(ptp_response_parse(buf, size, &c), ==, t == PTP_TYPE_RESPONSE ? 0 : -EBADMSG);
                g_assert_cmpint(ptp_event_parse(buf, size, &c), ==, t == PTP_TYPE_EVENT ? 0 : -EBADMSG);
        }
        buf[4] = PTP_TYPE_RESPONSE;
        buf[5] = 1;                                     /* type 0x0103 */
        g_assert_cmpint(ptp_header_parse(buf, size, &c), ==, -EBADMSG);

        /* A data header with the unknown length parses (§2). */
        ptp_data_header_build(buf, PTP_OC_GET_OBJECT, 1, UINT64_MAX);
        g_assert_cmpint(ptp_header_parse(buf, 12, &c), ==, 0);
        g_assert_cmpint(ptp_response_parse(buf, 12, &c), ==, -EBADMSG);
        g_assert_cmpint(ptp_header_parse(NULL, 0, &c), ==, -EBADMSG);
}

static void test_to_string(void) {
        g_assert_cmpstr(ptp_response_to_string(PTP_RC_OK), ==, "OK");
        g_assert_cmpstr(ptp_response_to_string(PTP_RC_INVALID_TRANSACTION_ID), ==, "Invalid_TransactionID");
        g_assert_cmpstr(ptp_response_to_string(PTP_RC_MTP_OBJECT_PROP_NOT_SUPPORTED), ==, "ObjectProp_Not_Supported");
        g_assert_null(ptp_response_to_string(0x2000));
        g_assert_null(ptp_response_to_string(0xFFFF));
        g_assert_cmpstr(ptp_operation_to_string(PTP_OC_GET_PARTIAL_OBJECT_64), ==, "GetPartialObject64");
        g_assert_cmpstr(ptp_operation_to_string(PTP_OC_BWC_GET_DEVICE_CERTIFICATES), ==, "GetDeviceCertificates");
        g_assert_null(ptp_operation_to_string(0x1000));
        g_assert_cmpstr(ptp_self_test_component_to_string(1), ==, "sensor");
        g_assert_cmpstr(ptp_self_test_component_to_string(6), ==, "battery");
        g_assert_null(ptp_self_test_component_to_string(0));
        g_assert_null(ptp_self_test_component_to_string(7));
        g_assert_null(ptp_self_test_component_to_string(0xFFFF));
}

/* ---- strings ---- */

static char *string_from_units(uint8_t count, const uint16_t *units, size_t n, int *ret) {
        g_autoptr(GByteArray) a = g_byte_array_new();
        char *s = NULL;

        put_units(a, count, units, n);
        *ret = run_parser(&parser_string, a->data, a->len);
        if (*ret == 0)
                g_assert_cmpint(ptp_string_parse(a->data, a->len, &s), ==, 0);
        return s;
}

static void test_string(void) {
        static const char *const samples[] = {
                "", "a", "BWC-0001", "Acme Séc", "€ 10", "video 🎥 ok", "日本語",
        };
        uint8_t buf[1 + 2 * 255];
        char *s;
        int r;

        /* Round trips through the builder. */
        for (size_t i = 0; i < G_N_ELEMENTS(samples); i++) {
                g_autofree char *out = NULL;
                ssize_t n = ptp_string_build(buf, sizeof buf, samples[i]);

                g_assert_cmpint(n, >, 0);
                g_assert_cmpint(ptp_string_parse(buf, (size_t) n, &out), ==, 0);
                g_assert_cmpstr(out, ==, samples[i]);
                /* Cut short at every length. */
                for (ssize_t k = 0; k < n; k++)
                        g_assert_cmpint(run_parser(&parser_string, buf, (size_t) k), ==, -EBADMSG);
        }
        /* §4: the empty string is a single 0; a surrogate pair is two units. */
        g_assert_cmpint(ptp_string_build(buf, sizeof buf, ""), ==, 1);
        g_assert_cmpuint(buf[0], ==, 0);
        g_assert_cmpint(ptp_string_build(buf, sizeof buf, "🎥"), ==, 1 + 2 * 3);
        g_assert_cmpuint(buf[0], ==, 3);
        g_assert_cmpuint(buf[1] | buf[2] << 8, ==, 0xD83C);
        g_assert_cmpuint(buf[3] | buf[4] << 8, ==, 0xDFA5);

        /* Builder limits: 254 units plus the NUL fit; 255 do not; bad UTF-8. */
        {
                char long_s[300];
                memset(long_s, 'x', 254);
                long_s[254] = 0;
                g_assert_cmpint(ptp_string_build(buf, sizeof buf, long_s), ==, 1 + 2 * 255);
                g_assert_cmpint(ptp_string_build(buf, 1 + 2 * 255 - 1, long_s), ==, -ENOBUFS);
                long_s[254] = 'x';
                long_s[255] = 0;
                g_assert_cmpint(ptp_string_build(buf, sizeof buf, long_s), ==, -EINVAL);
                /* 253 BMP units then an astral character: 255 units, too long. */
                memset(long_s, 'x', 253);
                strcpy(long_s + 253, "🎥");
                g_assert_cmpint(ptp_string_build(buf, sizeof buf, long_s), ==, -EINVAL);
        }
        g_assert_cmpint(ptp_string_build(buf, sizeof buf, "\xC3"), ==, -EINVAL);
        g_assert_cmpint(ptp_string_build(buf, sizeof buf, "\xC0\xAF"), ==, -EINVAL);       /* overlong */
        g_assert_cmpint(ptp_string_build(buf, sizeof buf, "\xED\xA0\x80"), ==, -EINVAL);   /* surrogate */
        g_assert_cmpint(ptp_string_build(buf, sizeof buf, "\xF4\x90\x80\x80"), ==, -EINVAL); /* > U+10FFFF */
        g_assert_cmpint(ptp_string_build(buf, sizeof buf, "\xFF"), ==, -EINVAL);
        g_assert_cmpint(ptp_string_build(buf, 0, "a"), ==, -ENOBUFS);
        g_assert_cmpint(ptp_string_build(buf, sizeof buf, NULL), ==, -EINVAL);

        /* Count 1: just the NUL, the empty string. */
        s = string_from_units(1, (const uint16_t[]) { 0 }, 1, &r);
        g_assert_cmpint(r, ==, 0);
        g_assert_cmpstr(s, ==, "");
        g_free(s);

        /* Bad UTF-16 and bad counts. */
        struct {
                const char *what;
                uint8_t count;
                uint16_t units[4];
                size_t n;
        } bad[] = {
                { "missing terminator", 2, { 'a', 'b' }, 2 },
                { "embedded NUL", 3, { 'a', 0, 0 }, 3 },
                { "NUL first", 2, { 0, 0 }, 2 },
                { "lone high surrogate", 3, { 0xD800, 'a', 0 }, 3 },
                { "high surrogate at end", 2, { 0xDBFF, 0 }, 2 },
                { "lone low surrogate", 2, { 0xDC00, 0 }, 2 },
                { "reversed pair", 3, { 0xDC00, 0xD800, 0 }, 3 },
                { "two highs", 3, { 0xD800, 0xD800, 0 }, 3 },
                { "count beyond the bytes", 4, { 'a', 0 }, 2 },
                { "count 255, 1 unit", 255, { 0 }, 1 },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                s = string_from_units(bad[i].count, bad[i].units, bad[i].n, &r);
                if (r != -EBADMSG)
                        g_error("accepted bad string: %s", bad[i].what);
                g_assert_null(s);
        }

        /* Trailing bytes after a whole string value (GetDevicePropValue) are malformed. */
        {
                g_autoptr(GByteArray) a = g_byte_array_new();
                put_str(a, "x");
                put_u8(a, 0);
                g_assert_cmpint(run_parser(&parser_string, a->data, a->len), ==, -EBADMSG);
        }
        /* A valid pair decodes to one astral character. */
        s = string_from_units(3, (const uint16_t[]) { 0xD83D, 0xDE00, 0 }, 3, &r);
        g_assert_cmpint(r, ==, 0);
        g_assert_cmpstr(s, ==, "😀");
        g_free(s);
}

/* ---- datasets ---- */

static void test_device_info(void) {
        g_autoptr(GByteArray) a = device_info_build("BWC-0001");
        PtpDeviceInfo info;

        g_assert_cmpint(ptp_device_info_parse(a->data, a->len, &info), ==, 0);
        g_assert_cmpuint(info.standard_version, ==, 100);
        g_assert_cmpuint(info.vendor_extension_id, ==, 6);
        g_assert_cmpuint(info.vendor_extension_version, ==, 100);
        g_assert_cmpstr(info.vendor_extension_desc, ==, "microsoft.com: 1.0; android.com: 1.0; dockd.org/bwc: 1.0");
        g_assert_cmpuint(info.n_operations, ==, G_N_ELEMENTS(test_operations));
        g_assert_cmpmem(info.operations, info.n_operations * 2, test_operations, sizeof test_operations);
        g_assert_cmpmem(info.events, info.n_events * 2, test_events, sizeof test_events);
        g_assert_cmpmem(info.properties, info.n_properties * 2, test_props, sizeof test_props);
        g_assert_cmpuint(info.n_capture_formats, ==, 0);
        g_assert_cmpmem(info.playback_formats, info.n_playback_formats * 2, test_formats, sizeof test_formats);
        g_assert_cmpstr(info.manufacturer, ==, "Acme Séc");
        g_assert_cmpstr(info.model, ==, "Sentinel V3");
        g_assert_cmpstr(info.device_version, ==, "3.2.1");
        g_assert_cmpstr(info.serial, ==, "BWC-0001");
        g_assert_true(ptp_device_info_has_operation(&info, PTP_OC_BWC_GET_DEVICE_CERTIFICATES));
        g_assert_true(ptp_device_info_has_operation(&info, PTP_OC_GET_DEVICE_INFO));
        g_assert_false(ptp_device_info_has_operation(&info, 0x100A));
        /* What a generic camera's survey asks only when announced. */
        g_assert_true(ptp_device_info_has_property(&info, PTP_DPC_BATTERY_LEVEL));
        g_assert_true(ptp_device_info_has_property(&info, PTP_DPC_DATE_TIME));
        g_assert_false(ptp_device_info_has_property(&info, PTP_OC_GET_DEVICE_INFO));
        g_assert_cmpint(ptp_device_info_extension(&info, PTP_EXTENSION_BWC), ==, 1);
        g_assert_cmpint(ptp_device_info_extension(&info, "microsoft.com"), ==, 1);
        g_assert_cmpint(ptp_device_info_extension(&info, "dockd.org"), ==, -ENOENT);
        ptp_device_info_done(&info);
        g_assert_null(info.serial);
        ptp_device_info_done(&info);            /* twice is harmless */

        check_dataset_bounds(&parser_device_info, a);
}

static void test_device_info_counts(void) {
        /* The operations array (offset: 2+4+2+str+2) with impossible counts. */
        static const uint32_t counts[] = { 22, 100, 65535, 65536, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF };
        g_autoptr(GByteArray) a = device_info_build("BWC-0001");
        size_t off = 2 + 4 + 2 + 1 + 2 * (size_t) a->data[8] + 2;

        g_assert_cmpuint(a->data[off], ==, G_N_ELEMENTS(test_operations));
        for (size_t i = 0; i < G_N_ELEMENTS(counts); i++) {
                g_autoptr(GByteArray) b = g_byte_array_new();
                g_byte_array_append(b, a->data, a->len);
                b->data[off] = (uint8_t) counts[i];
                b->data[off + 1] = (uint8_t) (counts[i] >> 8);
                b->data[off + 2] = (uint8_t) (counts[i] >> 16);
                b->data[off + 3] = (uint8_t) (counts[i] >> 24);
                g_assert_cmpint(run_parser(&parser_device_info, b->data, b->len), ==, -EBADMSG);
        }

        /* 65535 operations is the most accepted, 65536 is rejected even with the bytes. */
        for (uint32_t n = 65535; n <= 65536; n++) {
                g_autoptr(GByteArray) b = g_byte_array_new();
                g_autofree uint16_t *ops = g_new0(uint16_t, n);

                put_u16(b, 100), put_u32(b, 6), put_u16(b, 100), put_str(b, ""), put_u16(b, 0);
                put_a16(b, ops, n);
                for (int k = 0; k < 4; k++)
                        put_a16(b, NULL, 0);
                for (int k = 0; k < 4; k++)
                        put_str(b, "x");
                g_assert_cmpint(run_parser(&parser_device_info, b->data, b->len), ==,
                                n == 65535 ? 0 : -EBADMSG);
        }

        /* A bad string in the last field fails the whole dataset. */
        {
                g_autoptr(GByteArray) b = g_byte_array_new();
                g_byte_array_append(b, a->data, a->len - (1 + 2 * 9));   /* drop the serial */
                put_units(b, 2, (const uint16_t[]) { 0xDC00, 0 }, 2);
                g_assert_cmpint(run_parser(&parser_device_info, b->data, b->len), ==, -EBADMSG);
        }
        /* Datasets beyond 1 MiB (§2) are refused before parsing. */
        {
                g_autofree uint8_t *big = g_malloc0(PTP_DATASET_MAX_SIZE + 1);
                memcpy(big, a->data, a->len);
                g_assert_cmpint(run_parser(&parser_device_info, big, PTP_DATASET_MAX_SIZE + 1), ==, -EBADMSG);
        }
}

static void test_extension(void) {
        static const struct {
                const char *desc;
                int expect;
        } cases[] = {
                { "dockd.org/bwc: 1.0", 1 },
                { "microsoft.com: 1.0; android.com: 1.0; dockd.org/bwc: 1.0", 1 },
                { "dockd.org/bwc: 2.3", 2 },
                { "dockd.org/bwc: 1", 1 },
                { "dockd.org/bwc:1.0", 1 },
                { "dockd.org/bwc: 1.0 ", 1 },
                { "a: 1.0;dockd.org/bwc: 12.0;b: 1.0", 12 },
                { "dockd.org/bwc: 0.9", 0 },
                { "dockd.org/bwc: 99999999999.0", INT_MAX },
                { "", -ENOENT },
                { "dockd.org/bwc", -ENOENT },
                { "dockd.org/bwc:", -ENOENT },
                { "dockd.org/bwc: ", -ENOENT },
                { "dockd.org/bwc: x", -ENOENT },
                { "dockd.org/bwc: 1.", -ENOENT },
                { "dockd.org/bwc: 1.0.0", 1 },
                { "dockd.org/bwc: 1.0beta", -ENOENT },
                { "dockd.org/bwcx: 1.0", -ENOENT },
                { "xdockd.org/bwc: 1.0", -ENOENT },
                { "Dockd.org/bwc: 1.0", -ENOENT },
                { "dockd.org/bwc 1.0", -ENOENT },
                { ";;;", -ENOENT },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                PtpDeviceInfo info = { .vendor_extension_desc = (char *) cases[i].desc };
                int r = ptp_device_info_extension(&info, PTP_EXTENSION_BWC);

                if (r != cases[i].expect)
                        g_error("\"%s\": got %d, expected %d", cases[i].desc, r, cases[i].expect);
        }
        g_assert_cmpint(ptp_device_info_extension(NULL, PTP_EXTENSION_BWC), ==, -ENOENT);
        g_assert_cmpint(ptp_device_info_extension(&(PtpDeviceInfo) {}, PTP_EXTENSION_BWC), ==, -ENOENT);
        g_assert_false(ptp_device_info_has_operation(&(PtpDeviceInfo) {}, PTP_OC_GET_DEVICE_INFO));
        g_assert_false(ptp_device_info_has_property(&(PtpDeviceInfo) {}, PTP_DPC_BATTERY_LEVEL));
        g_assert_false(ptp_device_info_has_property(NULL, PTP_DPC_BATTERY_LEVEL));
}

static void test_storage_info(void) {
        g_autoptr(GByteArray) a = storage_info_build();
        PtpStorageInfo s;

        g_assert_cmpint(ptp_storage_info_parse(a->data, a->len, &s), ==, 0);
        g_assert_cmpuint(s.storage_type, ==, 3);
        g_assert_cmpuint(s.filesystem_type, ==, 2);
        g_assert_cmpuint(s.access_capability, ==, 2);
        g_assert_cmpuint(s.max_capacity, ==, UINT64_C(64) << 30);
        g_assert_cmpuint(s.free_space, ==, UINT64_C(0x123456789A));
        g_assert_cmpuint(s.free_objects, ==, 0xFFFFFFFF);
        g_assert_cmpstr(s.description, ==, "Internal storage");
        g_assert_cmpstr(s.volume_label, ==, "");
        ptp_storage_info_done(&s);

        check_dataset_bounds(&parser_storage_info, a);
}

static void test_object_info(void) {
        g_autoptr(GByteArray) a = object_info_build();
        PtpObjectInfo o;
        time_t t;

        g_assert_cmpint(ptp_object_info_parse(a->data, a->len, &o), ==, 0);
        g_assert_cmpuint(o.storage_id, ==, 0x00010001);
        g_assert_cmpuint(o.format, ==, PTP_OFC_MPEG);
        g_assert_cmpuint(o.protection, ==, 1);
        g_assert_cmpuint(o.compressed_size, ==, 0xFFFFFFFF);
        g_assert_cmpuint(o.parent, ==, 7);
        g_assert_cmpuint(o.association_type, ==, 0);
        g_assert_cmpuint(o.sequence_number, ==, 42);
        g_assert_cmpstr(o.filename, ==, "000042.mp4");
        g_assert_cmpstr(o.capture_date, ==, "20261121T221500Z");
        g_assert_cmpint(ptp_datetime_parse(o.capture_date, &t), ==, 0);
        g_assert_cmpint(t, ==, 1795299300);
        g_assert_cmpint(ptp_datetime_parse(o.modification_date, &t), ==, 0);
        g_assert_cmpint(t, ==, 1795299300 + 600);
        ptp_object_info_done(&o);

        /* The object's date: a UTC one first (capture, then modification), else one without zone. */
        {
                static const struct {
                        const char *capture, *modification;
                        time_t t;
                        bool unzoned;
                } dates[] = {
                        { "20261121T221500Z", "20261121T222500Z", 1795299300, false },
                        { "", "20261121T222500Z", 1795299900, false },
                        { "20261121T221500", "20261121T222500Z", 1795299900, false },
                        { "20261121T221500", "20261121T222500", 1795299300, true },
                        { "bogus", "20261121T222500", 1795299900, true },
                        { NULL, "20261121T222500+0100", 0, false },
                };
                for (size_t i = 0; i < G_N_ELEMENTS(dates); i++) {
                        PtpObjectInfo d = { .capture_date = (char *) dates[i].capture,
                                            .modification_date = (char *) dates[i].modification };
                        bool unzoned = !dates[i].unzoned;

                        ptp_object_info_date(&d, &t, &unzoned);
                        g_assert_cmpint(t, ==, dates[i].t);
                        g_assert_true(unzoned == dates[i].unzoned);
                }
        }

        check_dataset_bounds(&parser_object_info, a);

        /* Keywords must be a valid string too. */
        {
                g_autoptr(GByteArray) b = g_byte_array_new();
                g_byte_array_append(b, a->data, a->len - 1);
                put_units(b, 2, (const uint16_t[]) { 'k', 'w' }, 2);
                g_assert_cmpint(run_parser(&parser_object_info, b->data, b->len), ==, -EBADMSG);
        }
}

static void test_u32_array(void) {
        g_autoptr(GByteArray) a = g_byte_array_new();
        uint32_t *v = NULL;
        size_t n = 0;

        put_u32(a, 3), put_u32(a, 0x00010001), put_u32(a, 2), put_u32(a, 0xFFFFFFFF);
        g_assert_cmpint(ptp_u32_array_parse(a->data, a->len, 3, &v, &n), ==, 0);
        g_assert_cmpuint(n, ==, 3);
        g_assert_cmpuint(v[0], ==, 0x00010001);
        g_assert_cmpuint(v[2], ==, 0xFFFFFFFF);
        g_free(v);
        v = NULL;
        /* The caller's max caps the count. */
        g_assert_cmpint(ptp_u32_array_parse(a->data, a->len, 2, &v, &n), ==, -EBADMSG);
        g_assert_null(v);
        check_dataset_bounds(&parser_u32_array, a);

        /* Empty. */
        g_byte_array_set_size(a, 0);
        put_u32(a, 0);
        n = 99;
        g_assert_cmpint(ptp_u32_array_parse(a->data, a->len, 0, &v, &n), ==, 0);
        g_assert_cmpuint(n, ==, 0);
        g_free(v);

        /* Huge counts with few bytes. */
        static const uint32_t counts[] = { 3, 4, 1000, 0x3FFFFFFF, 0x40000000, 0x40000001, 0x80000000, 0xFFFFFFFF };
        for (size_t i = 0; i < G_N_ELEMENTS(counts); i++) {
                g_byte_array_set_size(a, 0);
                put_u32(a, counts[i]), put_u32(a, 1), put_u32(a, 2);
                g_assert_cmpint(ptp_u32_array_parse(a->data, a->len, SIZE_MAX, &v, &n), ==, -EBADMSG);
        }
}

static void test_uint(void) {
        const uint8_t d[8] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x88 };
        uint64_t v = 7;

        g_assert_cmpint(ptp_uint_parse(d, 1, 1, &v), ==, 0);
        g_assert_cmpuint(v, ==, 0x01);
        g_assert_cmpint(ptp_uint_parse(d, 2, 2, &v), ==, 0);
        g_assert_cmpuint(v, ==, 0x0201);
        g_assert_cmpint(ptp_uint_parse(d, 4, 4, &v), ==, 0);
        g_assert_cmpuint(v, ==, 0x04030201);
        g_assert_cmpint(ptp_uint_parse(d, 8, 8, &v), ==, 0);
        g_assert_cmpuint(v, ==, UINT64_C(0x8807060504030201));
        v = 7;
        for (size_t size = 1; size <= 8; size *= 2)
                for (size_t len = 0; len <= 8; len++)
                        if (len != size)
                                g_assert_cmpint(ptp_uint_parse(d, len, size, &v), ==, -EBADMSG);
        g_assert_cmpuint(v, ==, 7);
        g_assert_cmpint(ptp_uint_parse(d, 3, 3, &v), <, 0);
}

static void test_datetime(void) {
        static const struct {
                const char *s;
                int64_t t;          /* -1: must be rejected */
        } cases[] = {
                { "20261121T221500Z", 1795299300 },
                { "20261121T221500.9Z", 1795299300 },
                { "19700101T000000Z", 0 },
                { "20000229T120000Z", 951825600 },
                { "20240229T235959Z", 1709251199 },
                { "99991231T235959Z", INT64_C(253402300799) },
                { "00000101T000000Z", INT64_C(-62167219200) },
                { "20261121T221500", -1 },
                { "20261121T221500+0100", -1 },
                { "20261121T221500.5", -1 },
                { "20261121T221500.Z", -1 },
                { "20261121T221500.55Z", -1 },
                { "20261121T221500z", -1 },
                { "20261121 221500Z", -1 },
                { "2026-11-21T22:15:00Z", -1 },
                { "20230229T000000Z", -1 },
                { "21000229T000000Z", -1 },
                { "20260230T000000Z", -1 },
                { "20260431T000000Z", -1 },
                { "20261300T000000Z", -1 },
                { "20260001T000000Z", -1 },
                { "20260100T000000Z", -1 },
                { "20260101T240000Z", -1 },
                { "20260101T006000Z", -1 },
                { "20260101T000060Z", -1 },
                { "2026010 T000000Z", -1 },
                { "+0260101T000000Z", -1 },
                { "", -1 },
                { "Z", -1 },
        };
        char buf[17];

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                time_t t = 12345;
                int r = ptp_datetime_parse(cases[i].s, &t);

                if (cases[i].t == -1) {
                        if (r != -EBADMSG || t != 12345)
                                g_error("accepted DateTime \"%s\"", cases[i].s);
                        continue;
                }
                if (r != 0 || (int64_t) t != cases[i].t)
                        g_error("DateTime \"%s\": r=%d t=%" G_GINT64_FORMAT, cases[i].s, r, (gint64) t);
                ptp_datetime_format(t, buf);
                if (!strchr(cases[i].s, '.'))
                        g_assert_cmpstr(buf, ==, cases[i].s);
        }
        g_assert_cmpint(ptp_datetime_parse(NULL, &(time_t) { 0 }), ==, -EBADMSG);

        /* Without a zone (umtprd's dates): read as if UTC; a zone of any kind, or a bad date, is refused. */
        static const struct {
                const char *s;
                int64_t t;
        } unzoned[] = {
                { "20261121T221500", 1795299300 },
                { "20261121T221500.5", 1795299300 },
                { "20261121T221500Z", -1 },
                { "20261121T221500+0100", -1 },
                { "20261121T221500.", -1 },
                { "20230229T000000", -1 },
                { "2026112T221500", -1 },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(unzoned); i++) {
                time_t t = 12345;
                int r = ptp_datetime_parse_unzoned(unzoned[i].s, &t);

                if (unzoned[i].t == -1)
                        g_assert_true(r == -EBADMSG && t == 12345);
                else
                        g_assert_true(r == 0 && (int64_t) t == unzoned[i].t);
        }
        g_assert_cmpint(ptp_datetime_parse_unzoned(NULL, &(time_t) { 0 }), ==, -EBADMSG);

        /* Format agrees with gmtime over a range of instants, and round trips. */
        for (int64_t t = INT64_C(-62167219200); t < INT64_C(253402300800); t += 7777777) {
                struct tm tm;
                char expect[32];
                time_t back;

                ptp_datetime_format((time_t) t, buf);
                g_assert_nonnull(gmtime_r(&(time_t) { (time_t) t }, &tm));
                g_snprintf(expect, sizeof expect, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900,
                           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
                g_assert_cmpstr(buf, ==, expect);
                g_assert_cmpint(ptp_datetime_parse(buf, &back), ==, 0);
                g_assert_cmpint(back, ==, t);
        }
        /* Outside four-digit years: clamped. */
        ptp_datetime_format((time_t) INT64_C(-99999999999999), buf);
        g_assert_cmpstr(buf, ==, "00000101T000000Z");
        ptp_datetime_format((time_t) INT64_MAX, buf);
        g_assert_cmpstr(buf, ==, "99991231T235959Z");
        ptp_datetime_format((time_t) INT64_MIN, buf);
        g_assert_cmpstr(buf, ==, "00000101T000000Z");
}

static void test_battery(void) {
        g_autoptr(GByteArray) a = battery_build();
        PtpBatteryTelemetry b;

        g_assert_cmpuint(a->len, ==, 28);
        g_assert_cmpint(ptp_battery_telemetry_parse(a->data, a->len, &b), ==, 0);
        g_assert_cmpuint(b.version, ==, 1);
        g_assert_cmpuint(b.flags, ==, PTP_BATTERY_CHARGING | PTP_BATTERY_EXTERNAL_POWER);
        g_assert_cmpuint(b.state_of_charge, ==, 874);
        g_assert_cmpuint(b.cycle_count, ==, 312);
        g_assert_cmpuint(b.voltage_mv, ==, 4012);
        g_assert_cmpint(b.current_ma, ==, -250);
        g_assert_cmpint(b.temperature_decic, ==, -55);
        g_assert_cmpuint(b.full_charge_mah, ==, 2870);
        g_assert_cmpuint(b.design_mah, ==, 3200);

        /* §8.1: shorter is rejected; bytes past the known fields are ignored. */
        check_dataset_bounds(&parser_battery, a);

        /* A later version's additions. */
        a->data[0] = 2;
        put_u32(a, 0xDEADBEEF);
        g_assert_cmpint(run_parser(&parser_battery, a->data, a->len), ==, 0);
        a->data[0] = 0;                               /* DatasetVersion 0 */
        g_assert_cmpint(run_parser(&parser_battery, a->data, a->len), ==, -EBADMSG);
        a->data[0] = 1;
        a->data[4] = 0xE9, a->data[5] = 0x03;        /* 1001 per mille */
        g_assert_cmpint(run_parser(&parser_battery, a->data, a->len), ==, -EBADMSG);
        a->data[4] = 0xE8;                            /* 1000 */
        g_assert_cmpint(run_parser(&parser_battery, a->data, a->len), ==, 0);
}

static void test_self_test(void) {
        g_autoptr(GByteArray) a = self_test_build();
        PtpSelfTestResult r;

        g_assert_cmpint(ptp_self_test_result_parse(a->data, a->len, &r), ==, 0);
        g_assert_cmpuint(r.version, ==, 1);
        g_assert_cmpuint(r.state, ==, PTP_SELF_TEST_COMPLETE);
        g_assert_cmpuint(r.completed_at, ==, 1795299300);
        g_assert_cmpuint(r.n_entries, ==, 3);
        g_assert_cmpuint(r.entries[1].component, ==, 2);
        g_assert_cmpuint(r.entries[1].result, ==, PTP_SELF_TEST_FAIL);
        g_assert_cmpuint(r.entries[1].error_code, ==, 0x51);
        g_assert_cmpstr(r.entries[1].detail, ==, "noise floor −12 dB high");
        g_assert_cmpstr(r.entries[0].detail, ==, "");
        g_assert_cmpstr(r.entries[2].detail, ==, "no GPS");
        ptp_self_test_result_done(&r);

        check_dataset_bounds(&parser_self_test, a);

        /* Never run: no entries. */
        {
                g_autoptr(GByteArray) b = g_byte_array_new();
                put_u16(b, 1), put_u16(b, PTP_SELF_TEST_NEVER_RUN), put_u32(b, 0), put_u32(b, 0);
                g_assert_cmpint(ptp_self_test_result_parse(b->data, b->len, &r), ==, 0);
                g_assert_cmpuint(r.n_entries, ==, 0);
                ptp_self_test_result_done(&r);
                b->data[0] = 0;                       /* DatasetVersion 0 */
                g_assert_cmpint(run_parser(&parser_self_test, b->data, b->len), ==, -EBADMSG);
                b->data[0] = 1;
                b->data[2] = 3;                       /* State 3 */
                g_assert_cmpint(run_parser(&parser_self_test, b->data, b->len), ==, -EBADMSG);
        }
        /* Counts: huge, over the 32-entry maximum, more than the bytes hold. */
        {
                static const uint32_t counts[] = { 4, 33, 1000, 0x10000000, 0xFFFFFFFF };
                for (size_t i = 0; i < G_N_ELEMENTS(counts); i++) {
                        g_autoptr(GByteArray) b = g_byte_array_new();
                        g_byte_array_append(b, a->data, a->len);
                        b->data[8] = (uint8_t) counts[i];
                        b->data[9] = (uint8_t) (counts[i] >> 8);
                        b->data[10] = (uint8_t) (counts[i] >> 16);
                        b->data[11] = (uint8_t) (counts[i] >> 24);
                        g_assert_cmpint(run_parser(&parser_self_test, b->data, b->len), ==, -EBADMSG);
                }
        }
        /* 32 entries is the maximum. */
        for (uint32_t n = 32; n <= 33; n++) {
                g_autoptr(GByteArray) b = g_byte_array_new();
                put_u16(b, 1), put_u16(b, 2), put_u32(b, 0), put_u32(b, n);
                for (uint32_t i = 0; i < n; i++)
                        put_u16(b, (uint16_t) i), put_u16(b, 0), put_u32(b, 0), put_str(b, "ok");
                g_assert_cmpint(run_parser(&parser_self_test, b->data, b->len), ==, n == 32 ? 0 : -EBADMSG);
        }
        /* Detail: 127 code units at most (§8.2); a bad result value; a bad detail in the last entry. */
        for (size_t len = 127; len <= 128; len++) {
                g_autoptr(GByteArray) b = g_byte_array_new();
                g_autofree char *detail = g_strnfill(len, 'd');
                put_u16(b, 1), put_u16(b, 2), put_u32(b, 0), put_u32(b, 1);
                put_u16(b, 1), put_u16(b, 1), put_u32(b, 9), put_str(b, detail);
                g_assert_cmpint(run_parser(&parser_self_test, b->data, b->len), ==, len == 127 ? 0 : -EBADMSG);
                b->data[14] = 4;                      /* Result 4 */
                g_assert_cmpint(run_parser(&parser_self_test, b->data, b->len), ==, -EBADMSG);
        }
        {
                g_autoptr(GByteArray) b = g_byte_array_new();
                g_byte_array_append(b, a->data, a->len - (1 + 2 * 7));   /* drop "no GPS" */
                put_units(b, 3, (const uint16_t[]) { 'n', 0xD800, 0 }, 3);
                g_assert_cmpint(run_parser(&parser_self_test, b->data, b->len), ==, -EBADMSG);
        }
}

static void test_certificates(void) {
        const size_t sizes[] = { 600, 1, 16384, 900 };

        for (size_t n = 1; n <= PTP_MAX_CERTIFICATES; n++) {
                g_autoptr(GByteArray) a = certificates_build(n, sizes);
                PtpCertificate certs[PTP_MAX_CERTIFICATES];
                size_t got = 0, off = 4;

                g_assert_cmpint(ptp_certificates_parse(a->data, a->len, certs, &got), ==, 0);
                g_assert_cmpuint(got, ==, n);
                for (size_t i = 0; i < n; i++) {
                        off += 4;
                        g_assert_true(certs[i].der == a->data + off);
                        g_assert_cmpuint(certs[i].size, ==, sizes[i]);
                        off += sizes[i];
                }
                if (n <= 2)     /* every prefix: quadratic, so on the smaller lists */
                        check_dataset_bounds(&parser_certificates, a);
        }

        /* Counts 0 and 5, lengths 0 and 16385, a huge length. */
        {
                g_autoptr(GByteArray) a = g_byte_array_new();
                put_u32(a, 0);
                g_assert_cmpint(run_parser(&parser_certificates, a->data, a->len), ==, -EBADMSG);
        }
        {
                const size_t five[] = { 1, 1, 1, 1, 1 };
                g_autoptr(GByteArray) a = certificates_build(5, five);
                g_assert_cmpint(run_parser(&parser_certificates, a->data, a->len), ==, -EBADMSG);
        }
        {
                const size_t bad[] = { 0 }, big[] = { 16385 };
                g_autoptr(GByteArray) a = certificates_build(1, bad);
                g_autoptr(GByteArray) b = certificates_build(1, big);
                g_assert_cmpint(run_parser(&parser_certificates, a->data, a->len), ==, -EBADMSG);
                g_assert_cmpint(run_parser(&parser_certificates, b->data, b->len), ==, -EBADMSG);
        }
        {
                g_autoptr(GByteArray) a = g_byte_array_new();
                put_u32(a, 1), put_u32(a, 0xFFFFFFFF), put_u32(a, 0);
                g_assert_cmpint(run_parser(&parser_certificates, a->data, a->len), ==, -EBADMSG);
                g_byte_array_set_size(a, 0);
                put_u32(a, 0xFFFFFFFF), put_u32(a, 1), put_u8(a, 0x30);
                g_assert_cmpint(run_parser(&parser_certificates, a->data, a->len), ==, -EBADMSG);
        }
}

/* ---- GetObjectHandles beyond 1 MiB (§2, Listings) ---- */

static void test_u32_array_large(void) {
        g_autoptr(GByteArray) a = g_byte_array_new();
        uint32_t *v = NULL;
        size_t n = 0;

        /* 262,147 handles: 1,048,592 bytes, more than a dataset may be. */
        put_u32(a, 262147);
        for (uint32_t i = 1; i <= 262147; i++)
                put_u32(a, i);
        g_assert_cmpuint(a->len, >, PTP_DATASET_MAX_SIZE);
        g_assert_cmpint(ptp_u32_array_parse(a->data, a->len, PTP_MAX_OBJECTS, &v, &n), ==, 0);
        g_assert_cmpuint(n, ==, 262147);
        g_assert_cmpuint(v[262146], ==, 262147);
        g_free(v);
        v = NULL;
        /* The object bound still holds. */
        g_assert_cmpint(ptp_u32_array_parse(a->data, a->len, 262146, &v, &n), ==, -EBADMSG);
        g_assert_null(v);
}

/* ---- ObjectPropList (§5.11) ---- */

enum { DT_U8 = 0x0002, DT_U16 = 0x0004, DT_U32 = 0x0006, DT_U64 = 0x0008, DT_U128 = 0x000A, DT_STR = 0xFFFF,
       DT_AU16 = 0x4004 };

static void put_element(GByteArray *a, uint32_t handle, uint16_t code, uint16_t type) {
        put_u32(a, handle);
        put_u16(a, code);
        put_u16(a, type);
}

/* One object's six elements; returns how many. */
static unsigned put_object(GByteArray *a, uint32_t handle, uint16_t format, uint64_t size, const char *name,
                           uint32_t parent) {
        put_element(a, handle, PTP_OPC_STORAGE_ID, DT_U32), put_u32(a, 0x00010001);
        put_element(a, handle, PTP_OPC_OBJECT_FORMAT, DT_U16), put_u16(a, format);
        put_element(a, handle, PTP_OPC_PROTECTION_STATUS, DT_U16), put_u16(a, handle == 3);
        put_element(a, handle, PTP_OPC_OBJECT_SIZE, DT_U64), put_u64(a, size);
        put_element(a, handle, PTP_OPC_OBJECT_FILE_NAME, DT_STR), put_str(a, name);
        put_element(a, handle, PTP_OPC_PARENT_OBJECT, DT_U32), put_u32(a, parent);
        return 6;
}

/* A folder and three files, one of them with two properties a fuller MTP
 * camera adds (skipped), and larger than 4 GiB. */
static GByteArray *prop_list_build(void) {
        GByteArray *a = g_byte_array_new();
        unsigned n = 0;

        put_u32(a, 0);
        n += put_object(a, 1, PTP_OFC_ASSOCIATION, 0, "20261121T221500Z-0001", 0);
        n += put_object(a, 2, PTP_OFC_MPEG, UINT64_C(5) << 32, "000000.mp4", 1);
        put_element(a, 2, 0xDC41, DT_U128);   /* PersistentUniqueObjectIdentifier */
        g_byte_array_append(a, (const uint8_t *) "0123456789abcdef", 16);
        put_element(a, 2, 0xDC09, DT_STR), put_str(a, "20261121T221500Z");   /* DateModified */
        n += 2;
        n += put_object(a, 3, PTP_OFC_TEXT, 383, "000000.man", 1);
        n += put_object(a, 7, PTP_OFC_UNDEFINED, 2000, "000000.p7s", 1);
        a->data[0] = (uint8_t) n;
        return a;
}

static void test_object_prop_list(void) {
        g_autoptr(GByteArray) a = prop_list_build();
        g_autofree uint8_t *longer = g_malloc0(a->len + 1);
        PtpObjectProps *o = NULL;
        size_t n = 0;

        g_assert_cmpint(ptp_object_prop_list_parse(a->data, a->len, PTP_MAX_OBJECTS, &o, &n), ==, 0);
        g_assert_cmpuint(n, ==, 4);
        g_assert_cmpuint(o[0].handle, ==, 1);
        g_assert_cmpuint(o[0].format, ==, PTP_OFC_ASSOCIATION);
        g_assert_cmpstr(o[0].filename, ==, "20261121T221500Z-0001");
        g_assert_cmpuint(o[1].size, ==, UINT64_C(5) << 32);
        g_assert_cmpuint(o[1].parent, ==, 1);
        g_assert_cmpuint(o[2].protection, ==, 1);
        g_assert_cmpstr(o[3].filename, ==, "000000.p7s");
        g_assert_cmpuint(o[3].handle, ==, 7);
        ptp_object_props_free(o, n);

        /* Every prefix is incomplete; a byte more is malformed. */
        for (size_t i = 0; i < a->len; i++) {
                o = NULL;
                g_assert_cmpint(ptp_object_prop_list_parse(a->data, i, PTP_MAX_OBJECTS, &o, &n), ==, -EBADMSG);
                g_assert_null(o);
        }
        memcpy(longer, a->data, a->len);
        g_assert_cmpint(ptp_object_prop_list_parse(longer, a->len + 1, PTP_MAX_OBJECTS, &o, &n), ==, -EBADMSG);

        /* Split anywhere (and once in single bytes): the same objects. */
        for (size_t cut = 0; cut <= a->len; cut++) {
                _cleanup_(ptp_prop_list_parser_freep) PtpPropListParser *p = NULL;

                g_assert_cmpint(ptp_prop_list_parser_new(PTP_MAX_OBJECTS, &p), ==, 0);
                g_assert_cmpint(ptp_prop_list_parser_feed(p, a->data, cut), ==, 0);
                if (cut == 7)
                        for (size_t i = cut; i < a->len; i++)
                                g_assert_cmpint(ptp_prop_list_parser_feed(p, a->data + i, 1), ==, 0);
                else
                        g_assert_cmpint(ptp_prop_list_parser_feed(p, a->data + cut, a->len - cut), ==, 0);
                g_assert_cmpint(ptp_prop_list_parser_finish(p, &o, &n), ==, 0);
                g_assert_cmpuint(n, ==, 4);
                g_assert_cmpstr(o[1].filename, ==, "000000.mp4");
                g_assert_cmpuint(o[3].size, ==, 2000);
                ptp_object_props_free(o, n);
        }

        /* The object maximum. */
        o = NULL;
        g_assert_cmpint(ptp_object_prop_list_parse(a->data, a->len, 3, &o, &n), ==, -EBADMSG);
        g_assert_null(o);
        /* Empty. */
        g_byte_array_set_size(a, 0);
        put_u32(a, 0);
        g_assert_cmpint(ptp_object_prop_list_parse(a->data, a->len, 0, &o, &n), ==, 0);
        g_assert_cmpuint(n, ==, 0);
        ptp_object_props_free(o, n);
}

/* The object build() makes, then a valid one after it (handle 50). The
 * outputs stay untouched on failure. */
static int prop_list_one(void (*build)(GByteArray *a, unsigned *n)) {
        g_autoptr(GByteArray) a = g_byte_array_new();
        PtpObjectProps *sentinel = (PtpObjectProps *) a, *o = sentinel;
        size_t n_out = 99;
        unsigned n = 0;
        int r;

        put_u32(a, 0);
        build(a, &n);
        n += put_object(a, 50, PTP_OFC_TEXT, 1, "000001.man", 1);
        a->data[0] = (uint8_t) n;
        r = ptp_object_prop_list_parse(a->data, a->len, PTP_MAX_OBJECTS, &o, &n_out);
        if (r == 0)
                ptp_object_props_free(o, n_out);
        else
                g_assert_true(o == sentinel && n_out == 99);
        return r;
}

static void skipped_u8(GByteArray *a, unsigned *n) {
        *n += put_object(a, 5, PTP_OFC_TEXT, 1, "000000.man", 1);
        put_element(a, 5, 0xDC99, DT_U8), put_u8(a, 1), (*n)++;
}
static void bad_type(GByteArray *a, unsigned *n) {
        *n += put_object(a, 5, PTP_OFC_TEXT, 1, "000000.man", 1);
        a->data[a->len - 6] = DT_U16;   /* ParentObject (4 bytes) said to be a u16 */
}
static void twice(GByteArray *a, unsigned *n) {
        *n += put_object(a, 5, PTP_OFC_TEXT, 1, "000000.man", 1);
        put_element(a, 5, PTP_OPC_OBJECT_SIZE, DT_U64), put_u64(a, 2), (*n)++;
}
static void descending(GByteArray *a, unsigned *n) {
        *n += put_object(a, 60, PTP_OFC_TEXT, 1, "000000.man", 1);
}
static void interleaved(GByteArray *a, unsigned *n) {
        *n += put_object(a, 5, PTP_OFC_TEXT, 1, "000000.man", 1);
        *n += put_object(a, 6, PTP_OFC_TEXT, 1, "000000.p7s", 1);
        put_element(a, 5, 0xDC09, DT_STR), put_str(a, "x"), (*n)++;
}
static void handle_zero(GByteArray *a, unsigned *n) {
        *n += put_object(a, 0, PTP_OFC_TEXT, 1, "000000.man", 1);
}
static void handle_all(GByteArray *a, unsigned *n) {
        *n += put_object(a, 0xFFFFFFFF, PTP_OFC_TEXT, 1, "000000.man", 1);
}
static void no_parent(GByteArray *a, unsigned *n) {
        *n += put_object(a, 5, PTP_OFC_TEXT, 1, "000000.man", 1) - 1;
        g_byte_array_set_size(a, a->len - 12);
}
static void array_type(GByteArray *a, unsigned *n) {
        *n += put_object(a, 5, PTP_OFC_TEXT, 1, "000000.man", 1);
        put_element(a, 5, 0xDC99, DT_AU16), put_u32(a, 1), put_u16(a, 7), (*n)++;
}
static void unknown_type(GByteArray *a, unsigned *n) {
        *n += put_object(a, 5, PTP_OFC_TEXT, 1, "000000.man", 1);
        put_element(a, 5, 0xDC99, 0x0011), put_u32(a, 1), (*n)++;
}
static void bad_string(GByteArray *a, unsigned *n) {
        static const uint16_t lone[] = { 0xD800, 0 };
        *n += put_object(a, 5, PTP_OFC_TEXT, 1, "000000.man", 1);
        put_element(a, 5, 0xDC09, DT_STR), put_units(a, 2, lone, 2), (*n)++;
}

static void test_object_prop_list_malformed(void) {
        static const uint32_t counts[] = { 33, 0x80000000, 0xFFFFFFFF };
        g_autoptr(GByteArray) a = g_byte_array_new();
        g_autofree char *long_name = g_strnfill(PTP_OBJECT_NAME_MAX + 1, 'a');
        PtpObjectProps *o = NULL;
        size_t n = 0;

        g_assert_cmpint(prop_list_one(skipped_u8), ==, 0);
        g_assert_cmpint(prop_list_one(bad_type), ==, -EBADMSG);
        g_assert_cmpint(prop_list_one(twice), ==, -EBADMSG);
        g_assert_cmpint(prop_list_one(descending), ==, -EBADMSG);
        g_assert_cmpint(prop_list_one(interleaved), ==, -EBADMSG);
        g_assert_cmpint(prop_list_one(handle_zero), ==, -EBADMSG);
        g_assert_cmpint(prop_list_one(handle_all), ==, -EBADMSG);
        g_assert_cmpint(prop_list_one(no_parent), ==, -EBADMSG);
        g_assert_cmpint(prop_list_one(array_type), ==, -EBADMSG);
        g_assert_cmpint(prop_list_one(unknown_type), ==, -EBADMSG);
        g_assert_cmpint(prop_list_one(bad_string), ==, -EBADMSG);

        /* A name longer than any a dock uses: checked, kept as "". */
        put_u32(a, 6);
        put_object(a, 4, PTP_OFC_ASSOCIATION, 0, long_name, 0);
        g_assert_cmpint(ptp_object_prop_list_parse(a->data, a->len, 1, &o, &n), ==, 0);
        g_assert_cmpstr(o[0].filename, ==, "");
        ptp_object_props_free(o, n);

        /* Counts the object maximum cannot reach. */
        for (size_t i = 0; i < G_N_ELEMENTS(counts); i++) {
                g_byte_array_set_size(a, 0);
                put_u32(a, counts[i]);
                o = NULL;
                g_assert_cmpint(ptp_object_prop_list_parse(a->data, a->len, 1, &o, &n), ==, -EBADMSG);
                g_assert_null(o);
        }
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/ptp/container-roundtrip", test_container_roundtrip);
        g_test_add_func("/ptp/data-header", test_data_header);
        g_test_add_func("/ptp/container-malformed", test_container_malformed);
        g_test_add_func("/ptp/to-string", test_to_string);
        g_test_add_func("/ptp/string", test_string);
        g_test_add_func("/ptp/device-info", test_device_info);
        g_test_add_func("/ptp/device-info-counts", test_device_info_counts);
        g_test_add_func("/ptp/extension", test_extension);
        g_test_add_func("/ptp/storage-info", test_storage_info);
        g_test_add_func("/ptp/object-info", test_object_info);
        g_test_add_func("/ptp/u32-array", test_u32_array);
        g_test_add_func("/ptp/uint", test_uint);
        g_test_add_func("/ptp/datetime", test_datetime);
        g_test_add_func("/ptp/battery-telemetry", test_battery);
        g_test_add_func("/ptp/self-test-result", test_self_test);
        g_test_add_func("/ptp/certificates", test_certificates);
        g_test_add_func("/ptp/u32-array-large", test_u32_array_large);
        g_test_add_func("/ptp/object-prop-list", test_object_prop_list);
        g_test_add_func("/ptp/object-prop-list-malformed", test_object_prop_list_malformed);
        return g_test_run();
}
