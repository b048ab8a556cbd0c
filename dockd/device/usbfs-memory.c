/* SPDX-License-Identifier: Apache-2.0 */
/* usbfs-memory.c: see usbfs-memory.h. */
#include <errno.h>

#include "log.h"
#include "sysfs.h"
#include "usbfs-memory.h"

static unsigned long long camera_bytes(size_t transfer_size, unsigned n) {
        return (unsigned long long) n * (transfer_size + USBFS_TRANSFER_OVERHEAD) + USBFS_CAMERA_OVERHEAD;
}

unsigned long long usbfs_memory_needed_mb(unsigned bays, size_t transfer_size, unsigned want) {
        unsigned long long bytes = (unsigned long long) bays * camera_bytes(transfer_size, want);

        return (bytes + (1ULL << 20) - 1) >> 20;
}

unsigned usbfs_transfers_that_fit(unsigned long long cap_mb, unsigned bays, size_t transfer_size, unsigned want) {
        unsigned long long per_camera;

        if (cap_mb == 0 || bays == 0 || want <= 1)
                return want;   /* no cap; or nothing to lower */
        per_camera = (cap_mb << 20) / bays;
        if (per_camera < camera_bytes(transfer_size, 1))
                return 1;
        return (unsigned) MIN((unsigned long long) want,
                              (per_camera - USBFS_CAMERA_OVERHEAD) / (transfer_size + USBFS_TRANSFER_OVERHEAD));
}

void usbfs_memory_fit(const char *path, unsigned bays, size_t transfer_size, unsigned *transfers_in_flight) {
        unsigned want = *transfers_in_flight, fit;
        long long cap;
        int r;

        r = sysfs_read_int(path, &cap);
        if (r == -ENOENT)
                return;
        if (r < 0 || cap < 0) {
                log_warning_errno(r < 0 ? r : -EINVAL, "Cannot read %s (%m): the kernel may cap the memory of USB "
                                  "transfers below what %u bays need.", path, bays);
                return;
        }
        fit = usbfs_transfers_that_fit((unsigned long long) cap, bays, transfer_size, want);
        if (fit == want && (cap == 0 || usbfs_memory_needed_mb(bays, transfer_size, want) <= (unsigned long long) cap))
                return;
        log_warning("The kernel caps all USB transfers in flight at %lld MiB (usbcore.usbfs_memory_mb); %u bays "
                    "with %u transfers of %zu bytes each need %llu MiB, and beyond the cap every camera's "
                    "transfers fail. Using %u transfer(s) in flight per camera%s. Set "
                    "usbcore.usbfs_memory_mb=%llu (kernel command line, or %s at boot) for full speed.",
                    cap, bays, want, transfer_size, usbfs_memory_needed_mb(bays, transfer_size, want), fit,
                    usbfs_memory_needed_mb(bays, transfer_size, fit) > (unsigned long long) cap
                            ? ", and even that does not fit: lower [usb] transfer_size" : "",
                    MAX(64ULL, usbfs_memory_needed_mb(bays, transfer_size, want)), path);
        *transfers_in_flight = fit;
}
