/* gadget.c: the gadget around a FunctionFS function (gadget.h). Values are
 * configfs defaults on Debian 12 (Linux 6.1): bcdDevice is the kernel
 * version, bmAttributes 0x80; bMaxPower from MaxPower = 120 mA as in
 * umtprd's example script. String ids: 1-3 the gadget's, then the
 * function's. */
#include "gadget.h"

#include <string.h>

enum { BCD_DEVICE = 0x0601, MAX_POWER_MA = 120, FIRST_FUNCTION_STRING = 4 };

UsbDescriptors *gadget_descriptors(Ffs *f, const GadgetIdentity *id)
{
        g_autoptr(GBytes) function = NULL, all = NULL;
        GByteArray *a;
        UsbDescriptors *d;
        gsize n;
        uint16_t total;
        const uint8_t dev[18] = {
                18, 1, 0x00, 0x02, 0, 0, 0, 64, id->vid & 0xff, id->vid >> 8, id->pid & 0xff, id->pid >> 8,
                BCD_DEVICE & 0xff, BCD_DEVICE >> 8, 1, 2, 3, 1,
        };
        uint8_t conf[9] = { 9, 2, 0, 0, 0, 1, 0, 0x80, MAX_POWER_MA / 2 };

        if (!ffs_is_bound(f))
                return NULL;
        function = ffs_function_descriptors(f, FIRST_FUNCTION_STRING);
        g_bytes_get_data(function, &n);
        total = (uint16_t) (sizeof conf + n);
        conf[2] = total & 0xff;
        conf[3] = total >> 8;
        conf[4] = 0;
        for (gsize pos = 0; pos + 2 <= n;) { /* bNumInterfaces */
                const uint8_t *p = (const uint8_t *) g_bytes_get_data(function, NULL) + pos;
                if (p[1] == 4 && p[3] == 0)
                        conf[4]++;
                pos += p[0];
        }
        a = g_byte_array_new();
        g_byte_array_append(a, dev, sizeof dev);
        g_byte_array_append(a, conf, sizeof conf);
        g_byte_array_append(a, g_bytes_get_data(function, NULL), (guint) n);
        all = g_byte_array_free_to_bytes(a);
        d = usb_descriptors_new(all, FALSE);
        d->strings[1] = g_strdup(id->manufacturer);
        d->strings[2] = g_strdup(id->product);
        d->strings[3] = g_strdup(id->serial);
        for (unsigned i = 1; i <= ffs_strings(f) && FIRST_FUNCTION_STRING + i - 1 < USB_MAX_STRINGS; i++)
                d->strings[FIRST_FUNCTION_STRING + i - 1] = g_strdup(ffs_string(f, i));
        return d;
}
