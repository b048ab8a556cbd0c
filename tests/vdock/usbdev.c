/* usbdev.c: usbfs ioctls over a Responder (usbdev.h). URBs are kept in
 * submission order; bulk IN and interrupt URBs stay pending until the
 * responder has bytes (a NAK), and complete no earlier than the link cap
 * allows. Reaping is polled (REAPURBNDELAY), as libusb does. */
#include "usbdev.h"

#include <errno.h>
#include <sys/ioctl.h>
#include <linux/usbdevice_fs.h>
#include <string.h>

typedef struct {
        UMockdevIoctlClient *client; /* the process that submitted it */
        UMockdevIoctlData *data; /* the client's struct usbdevfs_urb, resolved */
        UMockdevIoctlData *buffer;
        gboolean done;
        int status;
        int actual;
        gint64 ready_at;
} Urb;

struct UsbDev {
        GRecMutex *lock;
        Responder *r;
        UsbIdentity id;
        UMockdevIoctlBase *handler;
        double rate; /* bytes/s; 0 unlimited */
        gint64 link_free_at;
        GQueue urbs; /* Urb*, submission order */
        gboolean gone;
        gboolean stalled_urb; /* a TRIG_STALL froze the head IN URB */
        UsbDevUnplugFn unplug;
        gpointer user_data;
};

static struct usbdevfs_urb *urb_of(Urb *u)
{
        return (struct usbdevfs_urb *) u->data->data;
}

static void urb_free(Urb *u)
{
        g_clear_object(&u->client);
        g_clear_object(&u->buffer);
        g_clear_object(&u->data);
        g_free(u);
}

static void finish(UsbDev *dev, Urb *u, int status, int actual)
{
        /* A token bucket with 10 ms of credit: the host's own gaps between
         * URBs (emulation overhead) do not lower the link's rate. */
        gint64 now = g_get_monotonic_time(), start = MAX(now - 10000, dev->link_free_at);

        u->done = TRUE;
        u->status = status;
        u->actual = actual;
        u->ready_at = now;
        if (dev->rate > 0 && actual > 0 && status == 0) {
                dev->link_free_at = start + (gint64) (actual / dev->rate * 1e6);
                u->ready_at = dev->link_free_at;
        }
}

static void handle_trigger(UsbDev *dev, Urb *u, int n)
{
        Trigger *t = responder_take_trigger(dev->r);

        if (!t) {
                finish(dev, u, 0, n);
                return;
        }
        switch (t->kind) {
        case TRIG_URB_ERROR:
                finish(dev, u, t->urb_status, n);
                if (t->urb_status == -EPIPE)
                        responder_stall(dev->r);
                break;
        case TRIG_STALL:
                u->actual = n; /* stays pending: the camera went silent */
                dev->stalled_urb = TRUE;
                break;
        case TRIG_UNPLUG:
                finish(dev, u, -ESHUTDOWN, n);
                dev->unplug(dev, t, dev->user_data);
                break;
        }
}

/* Give pending IN URBs whatever the responder has, in order. */
static void pump(UsbDev *dev)
{
        gboolean cut = FALSE;

        responder_tick(dev->r);
        for (GList *l = dev->urbs.head; l && !dev->gone; l = l->next) {
                Urb *u = l->data;
                struct usbdevfs_urb *urb = urb_of(u);
                ssize_t n;

                if (u->done || !(urb->endpoint & 0x80))
                        continue;
                if (urb->type == USBDEVFS_URB_TYPE_INTERRUPT) {
                        n = responder_interrupt_in(dev->r, urb->buffer, (size_t) urb->buffer_length);
                        if (n >= 0)
                                finish(dev, u, 0, (int) n);
                        continue;
                }
                if (dev->stalled_urb)
                        return;
                if (cut && (urb->flags & USBDEVFS_URB_BULK_CONTINUATION)) {
                        /* like the kernel: the rest of a transfer cut short fails */
                        finish(dev, u, -EREMOTEIO, 0);
                        continue;
                }
                n = responder_bulk_in(dev->r, urb->buffer, (size_t) urb->buffer_length);
                cut = n >= 0 && n < urb->buffer_length;
                if (n == -EAGAIN)
                        return; /* NAK: later IN URBs wait behind this one */
                if (n < 0)
                        finish(dev, u, (int) n, 0);
                else
                        handle_trigger(dev, u, (int) n);
        }
}

static int control_urb(UsbDev *dev, uint8_t *buf, int len)
{
        uint8_t type = buf[0], request = buf[1];
        uint16_t value = buf[2] | buf[3] << 8, index = buf[4] | buf[5] << 8, length = buf[6] | buf[7] << 8;

        if (len < 8 || length > len - 8)
                return -EINVAL;
        if ((type & 0x60) == 0x20) /* class: §10 */
                return responder_class_request(dev->r, type, request, value, index, buf + 8, length);
        if (type == 0x02 && request == 1 && value == 0)
                responder_clear_halt(dev->r, (uint8_t) index);
        return usb_standard_request(&dev->id, type, request, value, index, buf + 8, length);
}

static void complete(UMockdevIoctlClient *client, long res, int err)
{
        umockdev_ioctl_client_complete(client, res, err);
}

static void submit_urb(UsbDev *dev, UMockdevIoctlClient *client)
{
        UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
        Urb *u = g_new0(Urb, 1);
        struct usbdevfs_urb *urb;
        int n;

        u->client = g_object_ref(client);
        u->data = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), NULL);
        if (!u->data) {
                g_object_unref(u->client);
                g_free(u);
                complete(client, -1, EFAULT);
                return;
        }
        urb = urb_of(u);
        if (urb->buffer_length < 0 || urb->buffer_length > (64 << 20) ||
            (urb->type != USBDEVFS_URB_TYPE_BULK && urb->type != USBDEVFS_URB_TYPE_CONTROL &&
             urb->type != USBDEVFS_URB_TYPE_INTERRUPT)) {
                urb_free(u);
                complete(client, -1, EINVAL);
                return;
        }
        if (urb->buffer_length > 0) {
                u->buffer = umockdev_ioctl_data_resolve(u->data, G_STRUCT_OFFSET(struct usbdevfs_urb, buffer),
                                                        (gsize) urb->buffer_length, NULL);
        }
        urb->actual_length = 0;
        g_queue_push_tail(&dev->urbs, u);
        if (urb->type == USBDEVFS_URB_TYPE_CONTROL) {
                n = control_urb(dev, urb->buffer, urb->buffer_length);
                finish(dev, u, n < 0 ? n : 0, n < 0 ? 0 : n);
        } else if (!(urb->endpoint & 0x80)) {
                n = urb->endpoint != 0x01 ? -EINVAL
                                          : responder_bulk_out(dev->r, urb->buffer, (size_t) urb->buffer_length);
                /* A host controller adds the zero-length packet only when the transfer
                 * fills its last packet (usbfs, USBDEVFS_URB_ZERO_PACKET). */
                if (n == 0 && (urb->flags & USBDEVFS_URB_ZERO_PACKET) && urb->buffer_length > 0 &&
                    urb->buffer_length % (dev->id.usb3 ? 1024 : 512) == 0)
                        n = responder_bulk_out(dev->r, NULL, 0); /* the ZLP that ends the phase */
                finish(dev, u, n, n < 0 ? 0 : urb->buffer_length);
        } else if (urb->endpoint != 0x82 && urb->endpoint != 0x83) {
                finish(dev, u, -EINVAL, 0);
        }
        pump(dev);
        complete(client, 0, 0);
}

static void reap_urb(UsbDev *dev, UMockdevIoctlClient *client)
{
        UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
        gint64 now = g_get_monotonic_time();

        pump(dev);
        for (GList *l = dev->urbs.head; l; l = l->next) {
                Urb *u = l->data;
                struct usbdevfs_urb *urb = urb_of(u);
                UMockdevIoctlData *ptr;

                if (!u->done || u->ready_at > now || u->client != client)
                        continue;   /* usbfs: each process reaps only its own URBs */
                urb->status = u->status;
                urb->actual_length = u->actual;
                ptr = umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer), NULL);
                if (ptr) {
                        umockdev_ioctl_data_set_ptr(ptr, 0, u->data);
                        g_object_unref(ptr);
                }
                g_queue_delete_link(&dev->urbs, l);
                complete(client, 0, 0);
                urb_free(u);
                return;
        }
        complete(client, -1, dev->gone ? ENODEV : EAGAIN);
}

static void discard_urb(UsbDev *dev, UMockdevIoctlClient *client)
{
        UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
        gulong addr = *(gulong *) arg->data;

        for (GList *l = dev->urbs.head; l; l = l->next) {
                Urb *u = l->data;

                if (u->data->client_addr != addr || u->client != client)
                        continue;
                if (u->done && u->ready_at <= g_get_monotonic_time()) {
                        complete(client, -1, EINVAL); /* already completed */
                        return;
                }
                if (!u->done && urb_of(u)->endpoint == 0x82)
                        dev->stalled_urb = FALSE;
                u->done = TRUE;
                u->status = -ENOENT;
                u->ready_at = 0;
                complete(client, 0, 0);
                return;
        }
        complete(client, -1, EINVAL);
}

static void simple_ioctl(UsbDev *dev, UMockdevIoctlClient *client, gulong request)
{
        UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
        g_autoptr(UMockdevIoctlData) d = NULL;

        switch (request) {
        case USBDEVFS_GET_CAPABILITIES:
                d = umockdev_ioctl_data_resolve(arg, 0, sizeof(guint32), NULL);
                if (d)
                        /* No BULK_CONTINUATION: libusb would then split transfers
                         * into 16 KiB URBs; with SCATTER_GATHER it sends one URB. */
                        *(guint32 *) d->data = USBDEVFS_CAP_BULK_SCATTER_GATHER | USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
                                               USBDEVFS_CAP_REAP_AFTER_DISCONNECT | USBDEVFS_CAP_ZERO_PACKET;
                complete(client, d ? 0 : -1, d ? 0 : EFAULT);
                return;
        case USBDEVFS_CLEAR_HALT:
                g_clear_object(&d);
                d = umockdev_ioctl_data_resolve(arg, 0, sizeof(unsigned int), NULL);
                if (d) {
                        responder_clear_halt(dev->r, (uint8_t) *(unsigned int *) d->data);
                        dev->stalled_urb = dev->stalled_urb && responder_hung(dev->r);
                }
                complete(client, d ? 0 : -1, d ? 0 : EFAULT);
                return;
        case USBDEVFS_RESET:
                responder_power_cycle(dev->r);
                dev->stalled_urb = FALSE;
                complete(client, 0, 0);
                return;
        case USBDEVFS_GET_SPEED:
                complete(client, dev->id.usb3 ? 5 : 3, 0);
                return;
        case USBDEVFS_GETDRIVER:
        case USBDEVFS_IOCTL:
                complete(client, -1, ENODATA);
                return;
        case USBDEVFS_CLAIMINTERFACE:
        case USBDEVFS_RELEASEINTERFACE:
        case USBDEVFS_SETINTERFACE:
        case USBDEVFS_SETCONFIGURATION:
        case USBDEVFS_RESETEP:
        case USBDEVFS_DISCONNECT_CLAIM:
                complete(client, 0, 0);
                return;
        default:
                complete(client, -1, ENOTTY);
                return;
        }
}

static gboolean on_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, UsbDev *dev)
{
        gulong request = umockdev_ioctl_client_get_request(client);

        g_rec_mutex_lock(dev->lock);
        if (request == USBDEVFS_REAPURB || request == USBDEVFS_REAPURBNDELAY)
                reap_urb(dev, client);
        else if (dev->gone)
                complete(client, -1, ENODEV);
        else if (request == USBDEVFS_SUBMITURB)
                submit_urb(dev, client);
        else if (request == USBDEVFS_DISCARDURB)
                discard_urb(dev, client);
        else
                simple_ioctl(dev, client, request);
        g_rec_mutex_unlock(dev->lock);
        return TRUE;
}

/* A process closed the device or died (kill -9) with URBs submitted: like the
 * kernel, drop them, so that the next process is served from a clean queue. */
static void on_client_vanished(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, UsbDev *dev)
{
        g_rec_mutex_lock(dev->lock);
        for (GList *l = dev->urbs.head; l;) {
                GList *next = l->next;
                Urb *u = l->data;

                if (u->client == client) {
                        g_queue_delete_link(&dev->urbs, l);
                        urb_free(u);
                }
                l = next;
        }
        g_rec_mutex_unlock(dev->lock);
}

UsbDev *usbdev_new(GRecMutex *lock, Responder *r, const UsbIdentity *id, double link_bytes_per_s,
                   UsbDevUnplugFn unplug, gpointer user_data)
{
        UsbDev *dev = g_new0(UsbDev, 1);

        dev->lock = lock;
        dev->r = r;
        dev->id = *id;
        dev->rate = link_bytes_per_s;
        dev->unplug = unplug;
        dev->user_data = user_data;
        g_queue_init(&dev->urbs);
        dev->handler = umockdev_ioctl_base_new();
        g_signal_connect(dev->handler, "handle-ioctl", G_CALLBACK(on_ioctl), dev);
        g_signal_connect(dev->handler, "client-vanished", G_CALLBACK(on_client_vanished), dev);
        return dev;
}

UMockdevIoctlBase *usbdev_handler(UsbDev *dev)
{
        return dev->handler;
}

void usbdev_disconnect(UsbDev *dev)
{
        dev->gone = TRUE;
        for (GList *l = dev->urbs.head; l; l = l->next) {
                Urb *u = l->data;
                if (!u->done) {
                        u->done = TRUE;
                        u->status = -ESHUTDOWN;
                        u->ready_at = 0;
                }
        }
}

gboolean usbdev_gone(UsbDev *dev)
{
        return dev->gone;
}
