/* SPDX-License-Identifier: Apache-2.0 */
/* usbfs-memory.h: the kernel's cap on the memory of all usbfs transfers in
 * flight (usbcore's usbfs_memory_mb, 16 MiB by default; 0: no cap). Each
 * camera keeps transfers_in_flight bulk-in transfers of transfer_size bytes
 * pinned; bays of them beyond the cap make submissions fail with ENOMEM, so
 * every bay's offload would fail at shift change, when all are docked. */
#pragma once

#include <stddef.h>

#include "macro.h"

#define USBFS_MEMORY_PARAM "/sys/module/usbcore/parameters/usbfs_memory_mb"

/* The kernel's own bookkeeping per transfer (struct async, struct urb, one
 * scatterlist entry per 16 KiB), rounded up; and per camera, its command,
 * interrupt and control transfers. */
#define USBFS_TRANSFER_OVERHEAD 4096
#define USBFS_CAMERA_OVERHEAD (64 * 1024)

/* The most transfers in flight per camera, at most want, that bays cameras
 * can keep within cap_mb MiB (0: want; at least 1, which may still not fit). */
unsigned usbfs_transfers_that_fit(unsigned long long cap_mb, unsigned bays, size_t transfer_size, unsigned want);
/* The MiB that bays cameras need with want transfers each, rounded up. */
unsigned long long usbfs_memory_needed_mb(unsigned bays, size_t transfer_size, unsigned want);
/* Read the cap at path (USBFS_MEMORY_PARAM) and lower *transfers_in_flight
 * to what fits, saying so in a warning that names the setting to raise.
 * No such file (no usbcore, a test bed): nothing changes. */
void usbfs_memory_fit(const char *path, unsigned bays, size_t transfer_size, unsigned *transfers_in_flight);
