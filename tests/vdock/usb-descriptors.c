/* usb-descriptors.c: descriptors and standard requests (usb-descriptors.h).
 * USB 2.0 §9.6; Microsoft OS 1.0 descriptors (string 0xEE, extended compat
 * ID), which libmtp uses to recognise an MTP device. */
#include "usb-descriptors.h"

#include <errno.h>
#include <string.h>

enum { STR_MANUFACTURER = 1, STR_PRODUCT = 2, STR_SERIAL = 3, STR_INTERFACE = 4, MS_VENDOR_CODE = 0xFE };

static void append(GByteArray *a, const uint8_t *b, size_t n)
{
        g_byte_array_append(a, b, (guint) n);
}

static void add_endpoint(GByteArray *a, gboolean usb3, uint8_t addr, uint8_t attr, uint16_t mps, uint8_t interval)
{
        const uint8_t ep[7] = { 7, 5, addr, attr, mps & 0xff, mps >> 8, interval };
        const uint8_t companion[6] = { 6, 0x30, 0, 0, attr == 3 ? mps & 0xff : 0, 0 };

        append(a, ep, 7);
        if (usb3)
                append(a, companion, 6);
}

GBytes *usb_descriptors(const UsbIdentity *id)
{
        GByteArray *a = g_byte_array_new();
        const uint16_t bulk = id->usb3 ? 1024 : 512;
        const uint8_t dev[18] = {
                18, 1, 0x00, id->usb3 ? 0x03 : 0x02, 0, 0, 0, id->usb3 ? 9 : 64,
                VDOCK_VID & 0xff, VDOCK_VID >> 8, VDOCK_PID & 0xff, VDOCK_PID >> 8,
                VDOCK_BCD & 0xff, VDOCK_BCD >> 8, STR_MANUFACTURER, STR_PRODUCT, STR_SERIAL, 1,
        };
        const uint8_t iface[9] = { 9, 4, 0, 0, 3, 0x06, 0x01, 0x01, STR_INTERFACE };
        uint8_t conf[9] = { 9, 2, 0, 0, 1, 1, 0, 0xC0, id->usb3 ? 12 : 50 };
        guint conf_start;
        uint16_t total;

        append(a, dev, 18);
        conf_start = a->len;
        append(a, conf, 9);
        append(a, iface, 9);
        add_endpoint(a, id->usb3, 0x01, 2, bulk, 0);
        add_endpoint(a, id->usb3, 0x82, 2, bulk, 0);
        add_endpoint(a, id->usb3, 0x83, 3, 64, id->usb3 ? 9 : 8);
        total = (uint16_t) (a->len - conf_start);
        a->data[conf_start + 2] = total & 0xff;
        a->data[conf_start + 3] = total >> 8;
        return g_byte_array_free_to_bytes(a);
}

GBytes *usb_hub_descriptors(gboolean root)
{
        const uint8_t d[] = {
                18, 1, 0x00, 0x02, 0x09, 0, root ? 0 : 1, 64, root ? 0x6b : 0x09, root ? 0x1d : 0x12,
                root ? 0x02 : 0x0d, root ? 0x00 : 0x0d, 0x00, 0x01, 0, 0, 0, 1,
                9, 2, 25, 0, 1, 1, 0, 0xE0, 0,
                9, 4, 0, 0, 1, 0x09, 0, 0, 0,
                7, 5, 0x81, 3, 4, 0, 12,
        };
        return g_bytes_new(d, sizeof d);
}

static int string_descriptor(const char *s, uint8_t *data, uint16_t length)
{
        uint8_t buf[255];
        glong n = 0;
        g_autofree gunichar2 *u = g_utf8_to_utf16(s ? s : "", -1, NULL, &n, NULL);
        size_t len;

        n = MIN(n, 126);
        buf[0] = (uint8_t) (2 + 2 * n);
        buf[1] = 3;
        for (glong i = 0; u && i < n; i++) {
                buf[2 + 2 * i] = u[i] & 0xff;
                buf[3 + 2 * i] = u[i] >> 8;
        }
        len = MIN((size_t) buf[0], (size_t) length);
        memcpy(data, buf, len);
        return (int) len;
}

static int get_descriptor(const UsbIdentity *id, uint16_t value, uint8_t *data, uint16_t length)
{
        uint8_t type = value >> 8, index = value & 0xff;
        g_autoptr(GBytes) all = NULL;
        gsize size;
        const uint8_t *p;

        if (type == 1 || type == 2) {
                all = usb_descriptors(id);
                p = g_bytes_get_data(all, &size);
                if (type == 2) {
                        p += 18;
                        size -= 18;
                } else {
                        size = 18;
                }
                size = MIN(size, length);
                memcpy(data, p, size);
                return (int) size;
        }
        if (type != 3)
                return -EPIPE;
        switch (index) {
        case 0: {
                const uint8_t langs[4] = { 4, 3, 0x09, 0x04 };
                memcpy(data, langs, MIN(4, length));
                return MIN(4, length);
        }
        case STR_MANUFACTURER: return string_descriptor(id->manufacturer, data, length);
        case STR_PRODUCT: return string_descriptor(id->product, data, length);
        case STR_SERIAL: return string_descriptor(id->serial, data, length);
        case STR_INTERFACE: return string_descriptor("MTP", data, length);
        case 0xEE: {
                /* "MSFT100", then bMS_VendorCode and a pad byte */
                uint8_t os[18] = { 18, 3, 'M', 0, 'S', 0, 'F', 0, 'T', 0, '1', 0, '0', 0, '0', 0, MS_VENDOR_CODE, 0 };
                memcpy(data, os, MIN(18, length));
                return MIN(18, length);
        }
        default:
                return -EPIPE;
        }
}

static int extended_compat_id(uint8_t *data, uint16_t length)
{
        uint8_t d[40] = { 40, 0, 0, 0, 0x00, 0x01, 0x04, 0x00, 1 };

        d[16] = 0;        /* bFirstInterfaceNumber */
        d[17] = 1;        /* reserved, 1 */
        memcpy(d + 18, "MTP", 3);
        memcpy(data, d, MIN(40, length));
        return MIN(40, length);
}

int usb_standard_request(const UsbIdentity *id, uint8_t type, uint8_t request, uint16_t value,
                         uint16_t index, uint8_t *data, uint16_t length)
{
        if (type == 0x80 && request == 6)
                return get_descriptor(id, value, data, length);
        if ((type & 0x80) && request == 0 && (type & 0x60) == 0) { /* GET_STATUS */
                uint8_t st[2] = { 0, 0 };
                memcpy(data, st, MIN(2, length));
                return MIN(2, length);
        }
        if (type == 0x80 && request == 8) { /* GET_CONFIGURATION */
                if (length)
                        data[0] = 1;
                return MIN(1, length);
        }
        if ((type == 0x00 && (request == 9 || request == 1 || request == 3)) ||
            (type == 0x01 && (request == 11 || request == 1)) || (type == 0x02 && (request == 1 || request == 3)))
                return 0; /* SET_CONFIGURATION, SET_INTERFACE, CLEAR/SET_FEATURE */
        if ((type == 0xC0 || type == 0xC1) && request == MS_VENDOR_CODE && index == 4)
                return extended_compat_id(data, length);
        return -EPIPE;
}
