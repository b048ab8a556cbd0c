/* usb-descriptors.h: the camera's USB descriptors (protocol §1): device and
 * configuration descriptors for sysfs, and answers to standard and vendor
 * control requests (string descriptors, Microsoft OS descriptors). */
#pragma once
#include <glib.h>
#include <stdint.h>

typedef struct {
        gboolean usb3;
        const char *manufacturer, *product, *serial;
} UsbIdentity;

enum { VDOCK_VID = 0x1209, VDOCK_PID = 0x0D0C, VDOCK_BCD = 0x0100 };

/* Device descriptor followed by the configuration descriptor (sysfs "descriptors"). */
GBytes *usb_descriptors(const UsbIdentity *id);
/* Hub descriptors for the dock hub and the root hub. */
GBytes *usb_hub_descriptors(gboolean root);
/* Standard or vendor control request: bytes written to data (≤ length),
 * or -EPIPE (the request stalls). Class requests are not handled here. */
int usb_standard_request(const UsbIdentity *id, uint8_t type, uint8_t request, uint16_t value,
                         uint16_t index, uint8_t *data, uint16_t length);
