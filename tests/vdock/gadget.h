/* gadget.h: a configfs USB gadget with one configuration holding one
 * FunctionFS function, as the host sees it: the device descriptor and
 * strings come from the gadget, the interfaces and endpoints from the
 * function (Linux composite.c). */
#pragma once
#include "ffs.h"
#include "usb-descriptors.h"

typedef struct {
        uint16_t vid, pid;
        const char *manufacturer, *product, *serial;
} GadgetIdentity;

/* NULL while the function has no descriptors. */
UsbDescriptors *gadget_descriptors(Ffs *f, const GadgetIdentity *id);
