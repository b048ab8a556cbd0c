/* SPDX-License-Identifier: Apache-2.0 */
/* usb.h: libusb driven from the sd-event loop: its pollfds become io sources, and
 * hotplug arrivals and departures are delivered from a defer source, never from
 * inside libusb's own callback. The UsbManager also keeps the books of the PTP
 * transports on its context (ptp-transport.h): shutdown waits until each has its
 * transfers back. */
#pragma once

#include <libusb.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct UsbManager UsbManager;

/* arrived=false: the device left. The device is referenced for the call only. */
typedef void (*usb_hotplug_t)(UsbManager *u, libusb_device *dev, bool arrived, void *userdata);

int usb_manager_new(sd_event *event, usb_hotplug_t cb, void *userdata, UsbManager **ret);
UsbManager *usb_manager_free(UsbManager *u);
DEFINE_TRIVIAL_CLEANUP_FUNC(UsbManager *, usb_manager_free);

libusb_context *usb_manager_context(UsbManager *u);
sd_event *usb_manager_event(UsbManager *u);

/* Run libusb's event handling until every transport released its transfers,
 * or timeout passed (shutdown). */
void usb_manager_drain(UsbManager *u, usec_t timeout);

/* What the transports report: a transport is counted from its creation to its
 * destruction. */
void usb_manager_transport_added(UsbManager *u);
void usb_manager_transport_removed(UsbManager *u);

/* A transport whose transfers are all back is buried, and destroyed by
 * usb_manager_reap() outside libusb's callbacks: libusb_close() takes the event
 * lock that a callback holds. */
typedef struct UsbGrave {
        void (*destroy)(struct UsbGrave *g);
        struct UsbGrave *next;
} UsbGrave;
void usb_manager_bury(UsbManager *u, UsbGrave *g);
void usb_manager_reap(UsbManager *u);

/* "BUS-PORT[.PORT…]" as the kernel names the device, e.g. "1-1.3". */
int usb_device_port_path(libusb_device *dev, char *buf, size_t size);

/* libusb error to negative errno. */
int usb_error_to_errno(int libusb_error);
