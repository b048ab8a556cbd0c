/* SPDX-License-Identifier: Apache-2.0 */
/* sysfs.h: reading and writing kernel attributes (LEDs, chargers, USB ports). */
#pragma once

#include "macro.h"

/* Write value and a newline, truncating: the kernel sees exactly one value. */
int sysfs_write(const char *path, const char *value);
/* Read an attribute, without its trailing newline. */
int sysfs_read(const char *path, char **ret);
int sysfs_read_int(const char *path, long long *ret);

/* The "disable" attribute of the hub port a device at port path hangs off:
 * "1-1.3" → /sys/bus/usb/devices/1-1:1.0/1-1-port3/disable;
 * "1-3"   → /sys/bus/usb/devices/1-0:1.0/usb1-port3/disable. */
char *usb_port_disable_path(const char *port);
