/* SPDX-License-Identifier: Apache-2.0 */
/* ptp.h: PTP containers and datasets as docs/camera-protocol.md defines them
 * (sections 2, 4, 8): building commands, parsing everything a camera sends.
 * Pure functions: no I/O, no logging above debug. Every length is checked; a
 * parse either fills its output completely or returns -EBADMSG and fills nothing. */
#pragma once

#include <time.h>

#include "macro.h"
#include "ptp-datetime.h"

#define PTP_HEADER_SIZE 12
#define PTP_MAX_PARAMS 5
/* Characters kept of DeviceInfo's Manufacturer, Model and DeviceVersion. */
#define PTP_DEVICE_STRING_MAX 64
#define PTP_MAX_EVENT_PARAMS 3
#define PTP_COMMAND_MAX_SIZE (PTP_HEADER_SIZE + 4 * PTP_MAX_PARAMS)
#define PTP_DATASET_MAX_SIZE (1024 * 1024)
/* Protocol §2: a camera holds at most this many objects. The two listings are
 * bounded by it, not by PTP_DATASET_MAX_SIZE: GetObjectHandles sends 4 bytes a
 * handle (262,144 objects already exceed 1 MiB), GetObjectPropList at most
 * PTP_OBJECT_PROP_LIST_MAX_PER_OBJECT a listed object. The one place that
 * names the bound: the dock's listing code and the parsers take it from here. */
#define PTP_MAX_OBJECTS 1000000
#define PTP_OBJECT_HANDLES_MAX_SIZE (4 + 4 * (size_t) PTP_MAX_OBJECTS)
#define PTP_OBJECT_PROP_LIST_MAX_PER_OBJECT 200
#define PTP_OBJECT_PROP_LIST_MAX_SIZE (4 + PTP_OBJECT_PROP_LIST_MAX_PER_OBJECT * (size_t) PTP_MAX_OBJECTS)
#define PTP_LENGTH_UNKNOWN UINT32_C(0xFFFFFFFF)

/* §2: integers on the wire are little-endian. */
static inline uint16_t ptp_le16(const uint8_t *p) {
        return (uint16_t) (p[0] | (uint16_t) p[1] << 8);
}

static inline uint32_t ptp_le32(const uint8_t *p) {
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static inline uint64_t ptp_le64(const uint8_t *p) {
        return (uint64_t) ptp_le32(p) | (uint64_t) ptp_le32(p + 4) << 32;
}

enum {
        PTP_TYPE_COMMAND = 1,
        PTP_TYPE_DATA = 2,
        PTP_TYPE_RESPONSE = 3,
        PTP_TYPE_EVENT = 4,
};

/* Operations (protocol §5, §8). */
enum {
        PTP_OC_GET_DEVICE_INFO = 0x1001,
        PTP_OC_OPEN_SESSION = 0x1002,
        PTP_OC_CLOSE_SESSION = 0x1003,
        PTP_OC_GET_STORAGE_IDS = 0x1004,
        PTP_OC_GET_STORAGE_INFO = 0x1005,
        PTP_OC_GET_NUM_OBJECTS = 0x1006,
        PTP_OC_GET_OBJECT_HANDLES = 0x1007,
        PTP_OC_GET_OBJECT_INFO = 0x1008,
        PTP_OC_GET_OBJECT = 0x1009,
        PTP_OC_DELETE_OBJECT = 0x100B,
        PTP_OC_GET_DEVICE_PROP_DESC = 0x1014,
        PTP_OC_GET_DEVICE_PROP_VALUE = 0x1015,
        PTP_OC_SET_DEVICE_PROP_VALUE = 0x1016,
        PTP_OC_GET_PARTIAL_OBJECT = 0x101B,
        PTP_OC_GET_PARTIAL_OBJECT_64 = 0x95C1,
        PTP_OC_MTP_GET_OBJECT_PROPS_SUPPORTED = 0x9801,
        PTP_OC_MTP_GET_OBJECT_PROP_VALUE = 0x9803,
        PTP_OC_MTP_GET_OBJECT_PROP_LIST = 0x9805,
        PTP_OC_BWC_GET_BATTERY_TELEMETRY = 0x9A01,
        PTP_OC_BWC_RUN_SELF_TEST = 0x9A02,
        PTP_OC_BWC_GET_SELF_TEST_RESULT = 0x9A03,
        PTP_OC_BWC_GET_DEVICE_CERTIFICATES = 0x9A04,
        PTP_OC_BWC_SIGN_CHALLENGE = 0x9A05,
};

/* Responses (protocol §9). */
enum {
        PTP_RC_OK = 0x2001,
        PTP_RC_GENERAL_ERROR = 0x2002,
        PTP_RC_SESSION_NOT_OPEN = 0x2003,
        PTP_RC_INVALID_TRANSACTION_ID = 0x2004,
        PTP_RC_OPERATION_NOT_SUPPORTED = 0x2005,
        PTP_RC_PARAMETER_NOT_SUPPORTED = 0x2006,
        PTP_RC_INCOMPLETE_TRANSFER = 0x2007,
        PTP_RC_INVALID_STORAGE_ID = 0x2008,
        PTP_RC_INVALID_OBJECT_HANDLE = 0x2009,
        PTP_RC_DEVICE_PROP_NOT_SUPPORTED = 0x200A,
        PTP_RC_STORE_FULL = 0x200C,
        PTP_RC_OBJECT_WRITE_PROTECTED = 0x200D,
        PTP_RC_STORE_READ_ONLY = 0x200E,
        PTP_RC_ACCESS_DENIED = 0x200F,
        PTP_RC_PARTIAL_DELETION = 0x2012,
        PTP_RC_DEVICE_BUSY = 0x2019,
        PTP_RC_INVALID_PARENT_OBJECT = 0x201A,
        PTP_RC_INVALID_DEVICE_PROP_VALUE = 0x201C,
        PTP_RC_INVALID_PARAMETER = 0x201D,
        PTP_RC_SESSION_ALREADY_OPEN = 0x201E,
        PTP_RC_TRANSACTION_CANCELLED = 0x201F,
        PTP_RC_MTP_OBJECT_PROP_NOT_SUPPORTED = 0xA80A,
};

/* Events (protocol §7). */
enum {
        PTP_EC_OBJECT_ADDED = 0x4002,
        PTP_EC_OBJECT_REMOVED = 0x4003,
        PTP_EC_DEVICE_PROP_CHANGED = 0x4006,
        PTP_EC_STORE_FULL = 0x400A,
        PTP_EC_BWC_SELF_TEST_COMPLETE = 0xC801,
};

/* Device properties, object formats, MTP object properties. */
enum {
        PTP_DPC_BATTERY_LEVEL = 0x5001,
        PTP_DPC_DATE_TIME = 0x5011,
        PTP_OFC_UNDEFINED = 0x3000,
        PTP_OFC_ASSOCIATION = 0x3001,
        PTP_OFC_TEXT = 0x3004,
        PTP_OFC_MPEG = 0x300B,
        PTP_OPC_STORAGE_ID = 0xDC01,
        PTP_OPC_OBJECT_FORMAT = 0xDC02,
        PTP_OPC_PROTECTION_STATUS = 0xDC03,
        PTP_OPC_OBJECT_SIZE = 0xDC04,
        PTP_OPC_OBJECT_FILE_NAME = 0xDC07,
        PTP_OPC_PARENT_OBJECT = 0xDC0B,
};

/* USB still image class requests (protocol §10). */
enum {
        PTP_CLASS_CANCEL = 0x64,
        PTP_CLASS_DEVICE_RESET = 0x66,
        PTP_CLASS_GET_DEVICE_STATUS = 0x67,
        PTP_CANCELLATION_CODE = 0x4001,
};

#define PTP_EXTENSION_BWC "dockd.org/bwc"

typedef struct PtpContainer {
        uint32_t length;
        uint16_t type;
        uint16_t code;
        uint32_t transaction_id;
        uint32_t params[PTP_MAX_PARAMS];
        unsigned n_params;
} PtpContainer;

/* Encode a command (or, for tests, any parameter container) into buf; returns its size. */
size_t ptp_container_build(uint8_t buf[PTP_COMMAND_MAX_SIZE], uint16_t type, uint16_t code,
                           uint32_t transaction_id, const uint32_t *params, unsigned n_params);
/* The 12-byte header of a data-out phase with payload_size bytes following. */
void ptp_data_header_build(uint8_t buf[PTP_HEADER_SIZE], uint16_t code, uint32_t transaction_id,
                           uint64_t payload_size);

/* Parse the 12-byte header at the start of buf (len >= 12), any type. */
int ptp_header_parse(const uint8_t *buf, size_t len, PtpContainer *ret);
/* A complete response or event container: type matches, length == len, params fit
 * (≤ 5 for responses, ≤ 3 for events), length a multiple of 4 past the header. */
int ptp_response_parse(const uint8_t *buf, size_t len, PtpContainer *ret);
int ptp_event_parse(const uint8_t *buf, size_t len, PtpContainer *ret);

const char *ptp_response_to_string(uint16_t code);
const char *ptp_operation_to_string(uint16_t code);

/* Datasets. Strings come out as NUL-terminated UTF-8; a string with invalid
 * UTF-16 (lone surrogates), embedded NULs or without its terminating NUL is
 * rejected. */
typedef struct PtpDeviceInfo {
        uint16_t standard_version;
        uint32_t vendor_extension_id;
        uint16_t vendor_extension_version;
        char *vendor_extension_desc;
        uint16_t functional_mode;
        uint16_t *operations;
        size_t n_operations;
        uint16_t *events;
        size_t n_events;
        uint16_t *properties;
        size_t n_properties;
        uint16_t *capture_formats;
        size_t n_capture_formats;
        uint16_t *playback_formats;
        size_t n_playback_formats;
        char *manufacturer, *model, *device_version, *serial;
} PtpDeviceInfo;

int ptp_device_info_parse(const uint8_t *data, size_t len, PtpDeviceInfo *ret);
void ptp_device_info_done(PtpDeviceInfo *info);
bool ptp_device_info_has_operation(const PtpDeviceInfo *info, uint16_t code);
/* Does DevicePropertiesSupported list code? */
bool ptp_device_info_has_property(const PtpDeviceInfo *info, uint16_t code);
/* Does the VendorExtensionDesc ("a: 1.0; b: 2.1") list name? Returns its major
 * version (>= 0), or -ENOENT. */
int ptp_device_info_extension(const PtpDeviceInfo *info, const char *name);

typedef struct PtpStorageInfo {
        uint16_t storage_type;
        uint16_t filesystem_type;
        uint16_t access_capability;
        uint64_t max_capacity;
        uint64_t free_space;
        uint32_t free_objects;
        char *description;
        char *volume_label;
} PtpStorageInfo;

int ptp_storage_info_parse(const uint8_t *data, size_t len, PtpStorageInfo *ret);
void ptp_storage_info_done(PtpStorageInfo *info);

typedef struct PtpObjectInfo {
        uint32_t storage_id;
        uint16_t format;
        uint16_t protection;
        uint32_t compressed_size;      /* 0xFFFFFFFF: >= 4 GiB, ask ObjectSize */
        uint32_t parent;
        uint16_t association_type;
        uint32_t sequence_number;
        char *filename, *capture_date, *modification_date;
} PtpObjectInfo;

int ptp_object_info_parse(const uint8_t *data, size_t len, PtpObjectInfo *ret);
void ptp_object_info_done(PtpObjectInfo *info);
/* The object's date, the camera's word: CaptureDate, else ModificationDate, in
 * UTC (ptp_datetime_parse()); else the first of them without zone
 * (ptp_datetime_parse_unzoned(); then *ret_unzoned). *ret 0: none told. */
void ptp_object_info_date(const PtpObjectInfo *info, time_t *ret, bool *ret_unzoned);

/* An a32 (u32 count + elements) that must fill the data exactly; at most max
 * items. Bounded by max, not by PTP_DATASET_MAX_SIZE: this is also the
 * GetObjectHandles listing (max PTP_MAX_OBJECTS). */
int ptp_u32_array_parse(const uint8_t *data, size_t len, size_t max, uint32_t **ret, size_t *ret_n);
/* A value of a single integer type (u8, u16, u32, u64), exactly that size. */
int ptp_uint_parse(const uint8_t *data, size_t len, size_t size, uint64_t *ret);
/* A PTP string filling the data exactly (GetDevicePropValue of a string property). */
int ptp_string_parse(const uint8_t *data, size_t len, char **ret);
/* Encode UTF-8 as a PTP string; returns bytes written or -EINVAL (too long, bad UTF-8). */
ssize_t ptp_string_build(uint8_t *buf, size_t size, const char *utf8);

typedef struct PtpBatteryTelemetry {
        uint16_t version;
        uint16_t flags;                /* PTP_BATTERY_* */
        uint16_t state_of_charge;      /* per mille */
        uint16_t cycle_count;
        uint32_t voltage_mv;
        int32_t current_ma;            /* positive into the battery */
        int16_t temperature_decic;     /* 0.1 °C */
        uint32_t full_charge_mah;
        uint32_t design_mah;
} PtpBatteryTelemetry;

enum {
        PTP_BATTERY_CHARGING = 1 << 0,
        PTP_BATTERY_EXTERNAL_POWER = 1 << 1,
        PTP_BATTERY_FAULT = 1 << 2,
};

int ptp_battery_telemetry_parse(const uint8_t *data, size_t len, PtpBatteryTelemetry *ret);

enum {
        PTP_SELF_TEST_NEVER_RUN = 0,
        PTP_SELF_TEST_RUNNING = 1,
        PTP_SELF_TEST_COMPLETE = 2,
};

enum {
        PTP_SELF_TEST_PASS = 0,
        PTP_SELF_TEST_FAIL = 1,
        PTP_SELF_TEST_NOT_FITTED = 2,
        PTP_SELF_TEST_NOT_RUN = 3,
};

typedef struct PtpSelfTestEntry {
        uint16_t component;            /* 1 sensor … 6 battery */
        uint16_t result;
        uint32_t error_code;
        char *detail;
} PtpSelfTestEntry;

typedef struct PtpSelfTestResult {
        uint16_t version;
        uint16_t state;
        uint32_t completed_at;
        PtpSelfTestEntry *entries;
        size_t n_entries;
} PtpSelfTestResult;

int ptp_self_test_result_parse(const uint8_t *data, size_t len, PtpSelfTestResult *ret);
void ptp_self_test_result_done(PtpSelfTestResult *r);
const char *ptp_self_test_component_to_string(uint16_t component);

/* GetDeviceCertificates (§8.3): 1..4 DER certificates of 1..16384 bytes. The
 * returned pointers point into data. */
typedef struct PtpCertificate {
        const uint8_t *der;
        size_t size;
} PtpCertificate;

#define PTP_MAX_CERTIFICATES 4
int ptp_certificates_parse(const uint8_t *data, size_t len, PtpCertificate ret[PTP_MAX_CERTIFICATES],
                           size_t *ret_n);
