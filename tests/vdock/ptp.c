/* ptp.c: little-endian dataset packing (ptp.h). */
#include "ptp.h"

#include <string.h>

const uint16_t ptp_operations_supported[] = {
        OC_GetDeviceInfo, OC_OpenSession, OC_CloseSession, OC_GetStorageIDs,
        OC_GetStorageInfo, OC_GetNumObjects, OC_GetObjectHandles, OC_GetObjectInfo,
        OC_GetObject, OC_DeleteObject, OC_GetDevicePropDesc, OC_GetDevicePropValue,
        OC_SetDevicePropValue, OC_GetPartialObject, OC_GetPartialObject64,
        OC_GetObjectPropsSupported, OC_GetObjectPropValue, OC_GetObjectPropList, OC_GetBatteryTelemetry,
        OC_RunSelfTest, OC_GetSelfTestResult, OC_GetDeviceCertificates, OC_SignChallenge,
};
const size_t ptp_n_operations_supported = G_N_ELEMENTS(ptp_operations_supported);

void put_u8(GByteArray *a, uint8_t v)
{
        g_byte_array_append(a, &v, 1);
}

void put_u16(GByteArray *a, uint16_t v)
{
        uint8_t b[2] = { v & 0xff, v >> 8 };
        g_byte_array_append(a, b, 2);
}

void put_u32(GByteArray *a, uint32_t v)
{
        uint8_t b[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };
        g_byte_array_append(a, b, 4);
}

void put_u64(GByteArray *a, uint64_t v)
{
        put_u32(a, (uint32_t) v);
        put_u32(a, (uint32_t) (v >> 32));
}

void put_str(GByteArray *a, const char *utf8)
{
        glong n = 0;
        g_autofree gunichar2 *u = g_utf8_to_utf16(utf8 ? utf8 : "", -1, NULL, &n, NULL);

        if (!u || n == 0) {
                put_u8(a, 0);
                return;
        }
        if (n > 254)
                n = 254;
        put_u8(a, (uint8_t) (n + 1));
        for (glong i = 0; i < n; i++)
                put_u16(a, u[i]);
        put_u16(a, 0);
}

void put_a16(GByteArray *a, const uint16_t *v, size_t n)
{
        put_u32(a, (uint32_t) n);
        for (size_t i = 0; i < n; i++)
                put_u16(a, v[i]);
}

void header_pack(uint8_t out[12], uint32_t length, uint16_t type, uint16_t code, uint32_t tid)
{
        const uint8_t h[12] = {
                length & 0xff, (length >> 8) & 0xff, (length >> 16) & 0xff, length >> 24,
                type & 0xff, type >> 8, code & 0xff, code >> 8,
                tid & 0xff, (tid >> 8) & 0xff, (tid >> 16) & 0xff, tid >> 24,
        };
        memcpy(out, h, 12);
}

int parse_str(const uint8_t *p, size_t avail, char **ret_utf8)
{
        gunichar2 units[256];
        size_t n;

        if (avail < 1)
                return -1;
        n = p[0];
        if (avail < 1 + 2 * n)
                return -1;
        for (size_t i = 0; i < n; i++)
                units[i] = get_u16(p + 1 + 2 * i);
        if (n > 0 && units[n - 1] != 0)
                return -1; /* §4: N includes the terminating NUL */
        *ret_utf8 = g_utf16_to_utf8(units, n ? (glong) n - 1 : 0, NULL, NULL, NULL);
        if (!*ret_utf8)
                return -1;
        return (int) (1 + 2 * n);
}
