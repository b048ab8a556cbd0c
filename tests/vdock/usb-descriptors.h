/* usb-descriptors.h: what a USB device answers on its default control pipe:
 * device and configuration descriptors (also sysfs "descriptors"), string
 * descriptors, standard requests, and the Microsoft OS 1.0 descriptors of
 * vdock's own cameras (protocol §1). */
#pragma once
#include <glib.h>
#include <stdint.h>

typedef struct {
        gboolean usb3;
        const char *manufacturer, *product, *serial;
} UsbIdentity;

enum { VDOCK_VID = 0x1209, VDOCK_PID = 0x0D0C, VDOCK_BCD = 0x0100 };
enum { USB_MAX_STRINGS = 16 };

typedef struct {
        GBytes *descriptors;               /* device descriptor, then the configuration descriptor */
        char *strings[USB_MAX_STRINGS];    /* string descriptor i (UTF-8); NULL: it stalls */
        gboolean ms_os;                    /* string 0xEE and the extended compat ID "MTP" */
        gboolean usb3;
} UsbDescriptors;

/* vdock's protocol cameras (§1). */
UsbDescriptors *usb_camera_descriptors(const UsbIdentity *id);
UsbDescriptors *usb_descriptors_new(GBytes *descriptors, gboolean usb3);
void usb_descriptors_free(UsbDescriptors *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(UsbDescriptors, usb_descriptors_free)

/* The first descriptor of this type in the configuration (or NULL); its
 * bLength bytes are inside the configuration. */
const uint8_t *usb_find_descriptor(const UsbDescriptors *d, uint8_t type);
/* Each endpoint descriptor of the configuration, in order. */
typedef void (*UsbEndpointFn)(const uint8_t *ep, gpointer user_data);
void usb_foreach_endpoint(const UsbDescriptors *d, UsbEndpointFn fn, gpointer user_data);

/* Hub descriptors for the dock hub and the root hub. */
GBytes *usb_hub_descriptors(gboolean root);
/* A standard request, or the MS OS vendor request when ms_os: bytes written
 * to data (≤ length), or -EPIPE (the request stalls). */
int usb_standard_request(const UsbDescriptors *d, uint8_t type, uint8_t request, uint16_t value,
                         uint16_t index, uint8_t *data, uint16_t length);
