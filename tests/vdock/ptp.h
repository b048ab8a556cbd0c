/* ptp.h: PTP codes and little-endian dataset packing used by the responder.
 * Codes follow docs/camera-protocol.md §5–§10 (PTP 1.0 / MTP 1.1 / Android). */
#pragma once
#include <glib.h>
#include <stdint.h>

enum {
        PTP_CONTAINER_COMMAND = 1,
        PTP_CONTAINER_DATA = 2,
        PTP_CONTAINER_RESPONSE = 3,
        PTP_CONTAINER_EVENT = 4,
        PTP_HEADER_SIZE = 12,
        PTP_MAX_COMMAND = 32,
        PTP_MAX_DATASET = 1 << 20,
};

enum {
        OC_GetDeviceInfo = 0x1001,
        OC_OpenSession = 0x1002,
        OC_CloseSession = 0x1003,
        OC_GetStorageIDs = 0x1004,
        OC_GetStorageInfo = 0x1005,
        OC_GetNumObjects = 0x1006,
        OC_GetObjectHandles = 0x1007,
        OC_GetObjectInfo = 0x1008,
        OC_GetObject = 0x1009,
        OC_DeleteObject = 0x100B,
        OC_GetDevicePropDesc = 0x1014,
        OC_GetDevicePropValue = 0x1015,
        OC_SetDevicePropValue = 0x1016,
        OC_GetPartialObject = 0x101B,
        OC_GetPartialObject64 = 0x95C1,
        OC_GetObjectPropsSupported = 0x9801,
        OC_GetObjectPropValue = 0x9803,
        OC_GetObjectPropList = 0x9805,
        OC_GetBatteryTelemetry = 0x9A01,
        OC_RunSelfTest = 0x9A02,
        OC_GetSelfTestResult = 0x9A03,
        OC_GetDeviceCertificates = 0x9A04,
        OC_SignChallenge = 0x9A05,
};

enum {
        RC_OK = 0x2001,
        RC_General_Error = 0x2002,
        RC_Session_Not_Open = 0x2003,
        RC_Invalid_TransactionID = 0x2004,
        RC_Operation_Not_Supported = 0x2005,
        RC_Parameter_Not_Supported = 0x2006,
        RC_Incomplete_Transfer = 0x2007,
        RC_Invalid_StorageID = 0x2008,
        RC_Invalid_ObjectHandle = 0x2009,
        RC_DeviceProp_Not_Supported = 0x200A,
        RC_Store_Full = 0x200C,
        RC_Object_WriteProtected = 0x200D,
        RC_Access_Denied = 0x200F,
        RC_Partial_Deletion = 0x2012,
        RC_Device_Busy = 0x2019,
        RC_Invalid_DeviceProp_Value = 0x201C,
        RC_Invalid_Parameter = 0x201D,
        RC_Session_Already_Open = 0x201E,
        RC_Transaction_Cancelled = 0x201F,
        RC_Specification_By_Group_Unsupported = 0xA807,
        RC_Specification_By_Depth_Unsupported = 0xA808,
        RC_ObjectProp_Not_Supported = 0xA80A,
};

enum {
        EC_ObjectAdded = 0x4002,
        EC_ObjectRemoved = 0x4003,
        EC_DevicePropChanged = 0x4006,
        EC_StoreFull = 0x400A,
        EC_SelfTestComplete = 0xC801,
};

enum {
        DPC_BatteryLevel = 0x5001,
        DPC_DateTime = 0x5011,
        OPC_StorageID = 0xDC01,
        OPC_ObjectFormat = 0xDC02,
        OPC_ProtectionStatus = 0xDC03,
        OPC_ObjectSize = 0xDC04,
        OPC_ObjectFileName = 0xDC07,
        OPC_ParentObject = 0xDC0B,
        DTC_UINT16 = 0x0004,
        DTC_UINT32 = 0x0006,
        DTC_UINT64 = 0x0008,
        DTC_STR = 0xFFFF,
        OFC_Undefined = 0x3000,
        OFC_Association = 0x3001,
        OFC_Text = 0x3004,
        OFC_Video = 0x300B,
        STORAGE_ID = 0x00010001,
};

/* Class requests, Still Image class 1.0 §5.2 (protocol §10). */
enum {
        SIC_REQ_CANCEL = 0x64,
        SIC_REQ_RESET = 0x66,
        SIC_REQ_STATUS = 0x67,
};

extern const uint16_t ptp_operations_supported[];
extern const size_t ptp_n_operations_supported;

static inline uint16_t get_u16(const uint8_t *p) { return (uint16_t) (p[0] | p[1] << 8); }
static inline uint32_t get_u32(const uint8_t *p)
{
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

void put_u8(GByteArray *a, uint8_t v);
void put_u16(GByteArray *a, uint16_t v);
void put_u32(GByteArray *a, uint32_t v);
void put_u64(GByteArray *a, uint64_t v);
/* PTP string: u8 count of UTF-16 units including NUL (0 for ""), then units. */
void put_str(GByteArray *a, const char *utf8);
void put_a16(GByteArray *a, const uint16_t *v, size_t n);
void header_pack(uint8_t out[12], uint32_t length, uint16_t type, uint16_t code, uint32_t tid);
/* Parse a PTP string at p (avail bytes); returns bytes consumed or -1. */
int parse_str(const uint8_t *p, size_t avail, char **ret_utf8);
