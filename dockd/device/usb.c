/* SPDX-License-Identifier: Apache-2.0 */
/* usb.c: libusb inside sd-event (systemd's curl-util.c pattern, for libusb): each
 * libusb pollfd is an io source; activity runs libusb_handle_events_timeout with
 * a zero timeout. libusb on Linux keeps its timeouts on a timerfd that is one of
 * those pollfds, so no separate timer is needed. A usbfs device node polls
 * (POLLOUT while a completed URB waits to be reaped), so a completion wakes the
 * loop when it happens; there is no polling timer, which would add its period to
 * every transfer's latency (vdock's emulated nodes poll like usbfs too). Hotplug
 * callbacks only queue the event; a defer source hands it to the manager on the
 * main loop, where opening the device is safe. */
#include <poll.h>

#include "log.h"
#include "usb.h"

typedef struct UsbFd {
        int fd;
        sd_event_source *source;
        struct UsbFd *next;
} UsbFd;

typedef struct HotplugEvent {
        libusb_device *device;
        bool arrived;
        struct HotplugEvent *next;
} HotplugEvent;

struct UsbManager {
        sd_event *event;
        libusb_context *ctx;
        libusb_hotplug_callback_handle hotplug_handle;
        bool hotplug_registered;
        UsbFd *fds;
        HotplugEvent *queue_head, *queue_tail;
        sd_event_source *defer;
        unsigned transports_alive;
        UsbGrave *graves;
        usb_hotplug_t cb;
        void *userdata;
};

int usb_error_to_errno(int e) {
        switch (e) {
        case LIBUSB_SUCCESS: return 0;
        case LIBUSB_ERROR_IO: return -EIO;
        case LIBUSB_ERROR_INVALID_PARAM: return -EINVAL;
        case LIBUSB_ERROR_ACCESS: return -EACCES;
        case LIBUSB_ERROR_NO_DEVICE: return -ENODEV;
        case LIBUSB_ERROR_NOT_FOUND: return -ENOENT;
        case LIBUSB_ERROR_BUSY: return -EBUSY;
        case LIBUSB_ERROR_TIMEOUT: return -ETIMEDOUT;
        case LIBUSB_ERROR_OVERFLOW: return -EOVERFLOW;
        case LIBUSB_ERROR_PIPE: return -EPIPE;
        case LIBUSB_ERROR_INTERRUPTED: return -EINTR;
        case LIBUSB_ERROR_NO_MEM: return -ENOMEM;
        case LIBUSB_ERROR_NOT_SUPPORTED: return -EOPNOTSUPP;
        default: return -EIO;
        }
}

int usb_device_port_path(libusb_device *dev, char *buf, size_t size) {
        uint8_t ports[8];
        int n = libusb_get_port_numbers(dev, ports, (int) ELEMENTSOF(ports));
        size_t off;

        if (n < 0)
                return usb_error_to_errno(n);
        off = (size_t) snprintf(buf, size, "%u", libusb_get_bus_number(dev));
        for (int i = 0; i < n && off < size; i++)
                off += (size_t) snprintf(buf + off, size - off, "%c%u", i == 0 ? '-' : '.', ports[i]);
        if (n == 0 || off >= size)
                return -EINVAL;   /* a root hub, or too deep */
        return 0;
}

static int on_usb_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        UsbManager *u = userdata;
        struct timeval zero = {};
        int r;

        r = libusb_handle_events_timeout_completed(u->ctx, &zero, NULL);
        if (r < 0 && r != LIBUSB_ERROR_INTERRUPTED)
                log_warning("libusb event handling failed: %s", libusb_error_name(r));
        return 0;
}

static void pollfd_added(int fd, short events, void *userdata) {
        UsbManager *u = userdata;
        UsbFd *f = calloc(1, sizeof *f);
        uint32_t ev = 0;
        int r;

        if (!f) {
                log_oom();
                return;
        }
        if (events & POLLIN)
                ev |= EPOLLIN;
        if (events & POLLOUT)
                ev |= EPOLLOUT;
        r = sd_event_add_io(u->event, &f->source, fd, ev, on_usb_io, u);
        if (r < 0) {
                /* -EPERM: a regular file, not a usbfs node. Its transfers would
                 * never be seen to complete; they time out and the camera is
                 * recovered, then reported. */
                log_error_errno(r, "Cannot watch libusb fd %d (not a usbfs device node?): %m", fd);
                free(f);
                return;
        }
        f->fd = fd;
        f->next = u->fds;
        u->fds = f;
}

static void pollfd_removed(int fd, void *userdata) {
        UsbManager *u = userdata;

        for (UsbFd **p = &u->fds; *p; p = &(*p)->next)
                if ((*p)->fd == fd) {
                        UsbFd *f = *p;
                        *p = f->next;
                        sd_event_source_disable_unref(f->source);
                        free(f);
                        return;
                }
}

static int on_defer(sd_event_source *s, void *userdata) {
        UsbManager *u = userdata;

        while (u->queue_head) {
                HotplugEvent *e = u->queue_head;

                u->queue_head = e->next;
                if (!u->queue_head)
                        u->queue_tail = NULL;
                u->cb(u, e->device, e->arrived, u->userdata);
                libusb_unref_device(e->device);
                free(e);
        }
        return sd_event_source_set_enabled(s, SD_EVENT_OFF);
}

static int on_hotplug(libusb_context *ctx, libusb_device *dev, libusb_hotplug_event event, void *userdata) {
        UsbManager *u = userdata;
        HotplugEvent *e = calloc(1, sizeof *e);

        if (!e) {
                log_oom();
                return 0;
        }
        e->device = libusb_ref_device(dev);
        e->arrived = event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED;
        if (u->queue_tail)
                u->queue_tail->next = e;
        else
                u->queue_head = e;
        u->queue_tail = e;
        (void) sd_event_source_set_enabled(u->defer, SD_EVENT_ONESHOT);
        return 0;   /* stay registered */
}

int usb_manager_new(sd_event *event, usb_hotplug_t cb, void *userdata, UsbManager **ret) {
        _cleanup_(usb_manager_freep) UsbManager *u = NULL;
        const struct libusb_pollfd **fds;
        int r;

        u = calloc(1, sizeof *u);
        if (!u)
                return -ENOMEM;
        u->event = sd_event_ref(event);
        u->cb = cb;
        u->userdata = userdata;

        r = libusb_init(&u->ctx);
        if (r < 0)
                return usb_error_to_errno(r);
        if (!libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG))
                return -EOPNOTSUPP;
        if (!libusb_pollfds_handle_timeouts(u->ctx))
                return -EOPNOTSUPP;   /* Linux always has timerfd; refuse to run half-working */

        libusb_set_pollfd_notifiers(u->ctx, pollfd_added, pollfd_removed, u);
        fds = libusb_get_pollfds(u->ctx);
        if (!fds)
                return -ENOMEM;
        for (size_t i = 0; fds[i]; i++)
                pollfd_added(fds[i]->fd, fds[i]->events, u);
        libusb_free_pollfds(fds);

        r = sd_event_add_defer(event, &u->defer, on_defer, u);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(u->defer, SD_EVENT_OFF);

        /* ENUMERATE: devices already present arrive like new ones. */
        r = libusb_hotplug_register_callback(u->ctx,
                                             LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT,
                                             LIBUSB_HOTPLUG_ENUMERATE, LIBUSB_HOTPLUG_MATCH_ANY,
                                             LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
                                             on_hotplug, u, &u->hotplug_handle);
        if (r < 0)
                return usb_error_to_errno(r);
        u->hotplug_registered = true;

        *ret = TAKE_PTR(u);
        return 0;
}

UsbManager *usb_manager_free(UsbManager *u) {
        if (!u)
                return NULL;
        if (u->hotplug_registered)
                libusb_hotplug_deregister_callback(u->ctx, u->hotplug_handle);
        while (u->queue_head) {
                HotplugEvent *e = u->queue_head;
                u->queue_head = e->next;
                libusb_unref_device(e->device);
                free(e);
        }
        sd_event_source_disable_unref(u->defer);
        if (u->ctx) {
                libusb_set_pollfd_notifiers(u->ctx, NULL, NULL, NULL);
                while (u->fds)
                        pollfd_removed(u->fds->fd, u);
                libusb_exit(u->ctx);
        }
        sd_event_unref(u->event);
        free(u);
        return NULL;
}

void usb_manager_drain(UsbManager *u, usec_t timeout) {
        struct timespec start, now;

        clock_gettime(CLOCK_MONOTONIC, &start);
        usb_manager_reap(u);
        while (u->transports_alive > 0) {
                struct timeval tv = { .tv_usec = 50000 };

                (void) libusb_handle_events_timeout_completed(u->ctx, &tv, NULL);
                usb_manager_reap(u);
                clock_gettime(CLOCK_MONOTONIC, &now);
                if ((usec_t) (now.tv_sec - start.tv_sec) * USEC_PER_SEC +
                    (usec_t) ((now.tv_nsec - start.tv_nsec) / 1000) > timeout) {
                        log_warning("%u USB transport(s) still busy at exit.", u->transports_alive);
                        break;
                }
        }
}

libusb_context *usb_manager_context(UsbManager *u) {
        return u->ctx;
}

sd_event *usb_manager_event(UsbManager *u) {
        return u->event;
}

/* ---- the transports' books ---- */

void usb_manager_transport_added(UsbManager *u) {
        u->transports_alive++;
}

void usb_manager_transport_removed(UsbManager *u) {
        u->transports_alive--;
}

void usb_manager_bury(UsbManager *u, UsbGrave *g) {
        g->next = u->graves;
        u->graves = g;
}

void usb_manager_reap(UsbManager *u) {
        while (u->graves) {
                UsbGrave *g = u->graves;
                u->graves = g->next;
                g->destroy(g);
        }
}
