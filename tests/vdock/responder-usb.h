/* responder-usb.h: vdock's own PTP responder (responder.h) as the device
 * behind an emulated usbfs node (usbdev.h). */
#pragma once
#include "responder.h"
#include "usbdev.h"

extern const UsbFunctionOps responder_usb_ops;
