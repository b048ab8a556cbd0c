/* usbdev.h: usbfs emulation of one enumerated camera: the umockdev ioctl
 * handler for /dev/bus/usb/001/NNN, a thin layer that turns URBs into
 * Responder calls and applies the link speed cap and URB-level faults. */
#pragma once
#include <umockdev.h>

#include "responder.h"
#include "usb-descriptors.h"

typedef struct UsbDev UsbDev;

/* Called (in the ioctl worker thread, world lock held) when a byte trigger
 * asks for the camera to leave the bus. */
typedef void (*UsbDevUnplugFn)(UsbDev *dev, Trigger *t, gpointer user_data);

UsbDev *usbdev_new(GRecMutex *lock, Responder *r, const UsbIdentity *id, double link_bytes_per_s,
                   UsbDevUnplugFn unplug, gpointer user_data);
UMockdevIoctlBase *usbdev_handler(UsbDev *dev);
/* The device left the bus: URBs in flight end with -ESHUTDOWN, then ENODEV.
 * Call with the world lock held. */
void usbdev_disconnect(UsbDev *dev);
gboolean usbdev_gone(UsbDev *dev);
