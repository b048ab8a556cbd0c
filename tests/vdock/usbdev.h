/* usbdev.h: usbfs emulation of one enumerated device: the umockdev ioctl
 * handler for /dev/bus/usb/001/NNN. URBs go to a UsbFunction (vdock's own
 * PTP responder, responder-usb.c, or an external gadget, ffs.c); this layer
 * keeps them in order, applies the link speed cap and URB-level faults. */
#pragma once
#include <sys/types.h>
#include <umockdev.h>

#include "camera.h"
#include "usb-descriptors.h"

typedef struct UsbDev UsbDev;

/* The device side of the bus, as the host controller sees it. Called with
 * the world lock held; fn is the function's own pointer. */
typedef struct {
        /* OUT transfer bytes offered to the device: returns how many it took now
         * (the URB completes once all are), -EAGAIN when it takes none (NAK), or
         * a negative errno that fails the URB. end: the last of these bytes ends
         * the transfer with a short packet. A zero-length packet is offered as
         * (NULL, 0, TRUE) and returns 0 once taken. */
        ssize_t (*out)(gpointer fn, uint8_t ep, const uint8_t *data, size_t len, gboolean end);
        /* IN: up to maxlen bytes into buf; *ended when the device ended the
         * transfer (short or zero-length packet). -EAGAIN: nothing yet (NAK). */
        ssize_t (*in)(gpointer fn, uint8_t ep, uint8_t *buf, size_t maxlen, gboolean *ended);
        /* A control request that is not standard (class, vendor): IN bytes written
         * to data, 0, -EPIPE (stall), or -EINPROGRESS: control_poll answers later. */
        int (*control)(gpointer fn, const uint8_t setup[8], uint8_t *data, uint16_t length);
        int (*control_poll)(gpointer fn, uint8_t *data, uint16_t length);
        /* The host gave up on the transfer pending on ep (discarded, or its process died). */
        void (*cancel)(gpointer fn, uint8_t ep);
        /* CLEAR_FEATURE(ENDPOINT_HALT); returns TRUE while the device still hangs. */
        gboolean (*clear_halt)(gpointer fn, uint8_t ep);
        /* Port reset (USBDEVFS_RESET), then the host configures the device again. */
        void (*reset)(gpointer fn);
        /* SET_CONFIGURATION of the active configuration, or SET_INTERFACE. May be NULL. */
        void (*reconfigure)(gpointer fn);
        /* Optional: time passes; a fault trigger fired by the last call; halt both bulk endpoints. */
        void (*tick)(gpointer fn);
        Trigger *(*take_trigger)(gpointer fn);
        void (*stall)(gpointer fn);
        /* Optional, for a function that changes on its own (another thread):
         * call kick(data), from any thread, when the host may have something
         * new to see. kick NULL: stop. */
        void (*set_kick)(gpointer fn, void (*kick)(gpointer data), gpointer data);
} UsbFunctionOps;

/* Called (in the ioctl worker thread, world lock held) when a byte trigger
 * asks for the camera to leave the bus. */
typedef void (*UsbDevUnplugFn)(UsbDev *dev, Trigger *t, gpointer user_data);

/* desc is borrowed and must outlive the UsbDev. */
UsbDev *usbdev_new(GRecMutex *lock, const UsbFunctionOps *ops, gpointer fn, const UsbDescriptors *desc,
                   double link_bytes_per_s, UsbDevUnplugFn unplug, gpointer user_data);
UMockdevIoctlBase *usbdev_handler(UsbDev *dev);
/* Make path (the device node in the testbed, before its uevent) a FIFO that
 * polls like usbfs: POLLOUT while a URB is there to reap. */
gboolean usbdev_serve_node(UsbDev *dev, const char *path, GError **error);
/* The device left the bus: URBs in flight end with -ESHUTDOWN, then ENODEV.
 * Call with the world lock held. */
void usbdev_disconnect(UsbDev *dev);
gboolean usbdev_gone(UsbDev *dev);
/* The context the device's ioctls and timers run in (umockdev's worker
 * thread's), known once the first ioctl came; NULL before. */
GMainContext *usbdev_context(UsbDev *dev);
