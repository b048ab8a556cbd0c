/* SPDX-License-Identifier: Apache-2.0 */
/* sysfs.h: reading and writing kernel attributes (LEDs, chargers, USB ports). */
#pragma once

#include "macro.h"

/* A device of a sysfs class, /sys/class/<class>/<name> (an LED, a charger),
 * its attributes read and written by name. */
typedef struct SysfsDevice {
        char *name;
        char *dir;
} SysfsDevice;

/* -ENOENT (or another negative errno) when there is no such device. */
int sysfs_device_open(const char *class, const char *name, SysfsDevice *ret);
void sysfs_device_done(SysfsDevice *d);
/* The path of an attribute; NULL when out of memory. */
char *sysfs_device_attr(const SysfsDevice *d, const char *attr);
int sysfs_device_write(const SysfsDevice *d, const char *attr, const char *value);
int sysfs_device_read(const SysfsDevice *d, const char *attr, char **ret);
int sysfs_device_read_int(const SysfsDevice *d, const char *attr, long long *ret);

/* Write value and a newline, truncating: the kernel sees exactly one value. */
int sysfs_write(const char *path, const char *value);
/* Read an attribute, without its trailing newline. */
int sysfs_read(const char *path, char **ret);
int sysfs_read_int(const char *path, long long *ret);

/* The "disable" attribute of the hub port a device at port path hangs off:
 * "1-1.3" → /sys/bus/usb/devices/1-1:1.0/1-1-port3/disable;
 * "1-3"   → /sys/bus/usb/devices/1-0:1.0/usb1-port3/disable. */
char *usb_port_disable_path(const char *port);
