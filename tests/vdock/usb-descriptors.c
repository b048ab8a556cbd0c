/* usb-descriptors.c: descriptors and standard requests (usb-descriptors.h).
 * USB 2.0 §9.4 and §9.6; Microsoft OS 1.0 descriptors (string 0xEE,
 * extended compat ID), which libmtp uses to recognise an MTP device. */
#include "usb-descriptors.h"

#include <errno.h>
#include <string.h>

enum { STR_MANUFACTURER = 1, STR_PRODUCT = 2, STR_SERIAL = 3, STR_INTERFACE = 4, MS_VENDOR_CODE = 0xFE };
enum { DEVICE_SIZE = 18 };

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

static GBytes *camera_descriptor_bytes(const UsbIdentity *id)
{
        GByteArray *a = g_byte_array_new();
        const uint16_t bulk = id->usb3 ? 1024 : 512;
        const uint8_t dev[DEVICE_SIZE] = {
                18, 1, 0x00, id->usb3 ? 0x03 : 0x02, 0, 0, 0, id->usb3 ? 9 : 64,
                VDOCK_VID & 0xff, VDOCK_VID >> 8, VDOCK_PID & 0xff, VDOCK_PID >> 8,
                VDOCK_BCD & 0xff, VDOCK_BCD >> 8, STR_MANUFACTURER, STR_PRODUCT, STR_SERIAL, 1,
        };
        const uint8_t iface[9] = { 9, 4, 0, 0, 3, 0x06, 0x01, 0x01, STR_INTERFACE };
        uint8_t conf[9] = { 9, 2, 0, 0, 1, 1, 0, 0xC0, id->usb3 ? 12 : 50 };
        guint conf_start;
        uint16_t total;

        append(a, dev, DEVICE_SIZE);
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

UsbDescriptors *usb_descriptors_new(GBytes *descriptors, gboolean usb3)
{
        UsbDescriptors *d = g_new0(UsbDescriptors, 1);

        d->descriptors = g_bytes_ref(descriptors);
        d->usb3 = usb3;
        return d;
}

UsbDescriptors *usb_camera_descriptors(const UsbIdentity *id)
{
        g_autoptr(GBytes) bytes = camera_descriptor_bytes(id);
        UsbDescriptors *d = usb_descriptors_new(bytes, id->usb3);

        d->strings[STR_MANUFACTURER] = g_strdup(id->manufacturer ? id->manufacturer : "");
        d->strings[STR_PRODUCT] = g_strdup(id->product ? id->product : "");
        d->strings[STR_SERIAL] = g_strdup(id->serial ? id->serial : "");
        d->strings[STR_INTERFACE] = g_strdup("MTP");
        d->ms_os = TRUE;
        return d;
}

void usb_descriptors_free(UsbDescriptors *d)
{
        if (!d)
                return;
        g_bytes_unref(d->descriptors);
        for (unsigned i = 0; i < USB_MAX_STRINGS; i++)
                g_free(d->strings[i]);
        g_free(d);
}

/* The configuration: after the device descriptor, wTotalLength bytes (cut to what is there). */
static const uint8_t *configuration(const UsbDescriptors *d, size_t *ret_len)
{
        gsize n;
        const uint8_t *p = g_bytes_get_data(d->descriptors, &n);

        if (n < DEVICE_SIZE + 9) {
                *ret_len = 0;
                return NULL;
        }
        *ret_len = MIN((size_t) (p[DEVICE_SIZE + 2] | p[DEVICE_SIZE + 3] << 8), n - DEVICE_SIZE);
        return p + DEVICE_SIZE;
}

static const uint8_t *next_descriptor(const uint8_t *conf, size_t len, size_t *pos)
{
        const uint8_t *p;

        if (*pos + 2 > len || conf[*pos] < 2 || *pos + conf[*pos] > len)
                return NULL;
        p = conf + *pos;
        *pos += p[0];
        return p;
}

const uint8_t *usb_find_descriptor(const UsbDescriptors *d, uint8_t type)
{
        size_t len, pos = 0;
        const uint8_t *conf = configuration(d, &len), *p;

        while (conf && (p = next_descriptor(conf, len, &pos)))
                if (p[1] == type)
                        return p;
        return NULL;
}

void usb_foreach_endpoint(const UsbDescriptors *d, UsbEndpointFn fn, gpointer user_data)
{
        size_t len, pos = 0;
        const uint8_t *conf = configuration(d, &len), *p;

        while (conf && (p = next_descriptor(conf, len, &pos)))
                if (p[1] == 5 && p[0] >= 7)
                        fn(p, user_data);
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

static int reply(uint8_t *data, uint16_t length, const void *src, size_t n)
{
        n = MIN(n, (size_t) length);
        memcpy(data, src, n);
        return (int) n;
}

static int string_descriptor(const char *s, uint8_t *data, uint16_t length)
{
        uint8_t buf[255];
        glong n = 0;
        g_autofree gunichar2 *u = g_utf8_to_utf16(s, -1, NULL, &n, NULL);

        n = MIN(n, 126);
        buf[0] = (uint8_t) (2 + 2 * n);
        buf[1] = 3;
        for (glong i = 0; u && i < n; i++) {
                buf[2 + 2 * i] = u[i] & 0xff;
                buf[3 + 2 * i] = u[i] >> 8;
        }
        return reply(data, length, buf, buf[0]);
}

static int get_descriptor(const UsbDescriptors *d, uint16_t value, uint8_t *data, uint16_t length)
{
        uint8_t type = value >> 8, index = value & 0xff;
        gsize size;
        const uint8_t *p = g_bytes_get_data(d->descriptors, &size);

        if (type == 1)
                return reply(data, length, p, MIN(size, DEVICE_SIZE));
        if (type == 2 && index == 0) {
                const uint8_t *conf = configuration(d, &size);
                return conf ? reply(data, length, conf, size) : -EPIPE;
        }
        if (type != 3)
                return -EPIPE;
        if (index == 0) {
                const uint8_t langs[4] = { 4, 3, 0x09, 0x04 };
                return reply(data, length, langs, sizeof langs);
        }
        if (index == 0xEE && d->ms_os) {
                /* "MSFT100", then bMS_VendorCode and a pad byte */
                const uint8_t os[18] = { 18, 3, 'M', 0, 'S', 0, 'F', 0, 'T', 0, '1', 0, '0', 0, '0', 0, MS_VENDOR_CODE, 0 };
                return reply(data, length, os, sizeof os);
        }
        if (index < USB_MAX_STRINGS && d->strings[index])
                return string_descriptor(d->strings[index], data, length);
        return -EPIPE;
}

static int extended_compat_id(uint8_t *data, uint16_t length)
{
        uint8_t d[40] = { 40, 0, 0, 0, 0x00, 0x01, 0x04, 0x00, 1 };

        d[16] = 0;        /* bFirstInterfaceNumber */
        d[17] = 1;        /* reserved, 1 */
        memcpy(d + 18, "MTP", 3);
        return reply(data, length, d, sizeof d);
}

int usb_standard_request(const UsbDescriptors *d, uint8_t type, uint8_t request, uint16_t value,
                         uint16_t index, uint8_t *data, uint16_t length)
{
        if (type == 0x80 && request == 6)
                return get_descriptor(d, value, data, length);
        if ((type & 0x80) && request == 0 && (type & 0x60) == 0) { /* GET_STATUS */
                const uint8_t st[2] = { 0, 0 };
                return reply(data, length, st, sizeof st);
        }
        if (type == 0x80 && request == 8) { /* GET_CONFIGURATION */
                const uint8_t config = 1;
                return reply(data, length, &config, 1);
        }
        if (type == 0x81 && request == 10) { /* GET_INTERFACE */
                const uint8_t alt = 0;
                return reply(data, length, &alt, 1);
        }
        if ((type == 0x00 && (request == 9 || request == 1 || request == 3)) ||
            (type == 0x01 && (request == 11 || request == 1)) || (type == 0x02 && (request == 1 || request == 3)))
                return 0; /* SET_CONFIGURATION, SET_INTERFACE, CLEAR/SET_FEATURE */
        if (d->ms_os && (type == 0xC0 || type == 0xC1) && request == MS_VENDOR_CODE && index == 4)
                return extended_compat_id(data, length);
        return -EPIPE;
}
