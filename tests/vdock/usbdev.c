/* usbdev.c: usbfs ioctls over a UsbFunction (usbdev.h). URBs are kept in
 * submission order; on each endpoint a URB waits behind the one before it.
 * IN and OUT URBs stay pending while the device NAKs, control URBs while a
 * function has not answered, and none completes earlier than the link cap
 * allows.
 *
 * The device node is a FIFO whose POLLOUT says what usbfs's does: a URB is
 * there to reap (usbdev_poll(): EPOLLOUT while async_completed is not empty).
 * vdock keeps the FIFO full (no POLLOUT) until a completed URB's link time has
 * come, then empties it. So a host waits in poll() or epoll like on real
 * hardware, and sees a completion when it happens, not at its next look.
 * Pending URBs move when the host submits or reaps, when the function says
 * it has news (an external gadget's write), and on the function's tick. */
#include "usbdev.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <linux/usbdevice_fs.h>
#include <string.h>
#include <unistd.h>

#define NODE_PAGE 4096
#define TICK_USEC (20 * 1000) /* the function's own clock (a self-test ending) */

typedef struct {
        UMockdevIoctlClient *client; /* the process that submitted it */
        UMockdevIoctlData *data; /* the client's struct usbdevfs_urb, resolved */
        UMockdevIoctlData *buffer;
        gboolean done;
        gboolean started;   /* control: handed to the device */
        gboolean zlp_taken; /* OUT: the zero-length packet that ends it */
        int status;
        int actual;
        gint64 moved_at;    /* when the function first gave or took its bytes; 0: not yet */
        gint64 ready_at;
} Urb;

struct UsbDev {
        GRecMutex *lock;
        const UsbFunctionOps *ops;
        gpointer fn;
        const UsbDescriptors *desc;
        UMockdevIoctlBase *handler;
        double rate; /* bytes/s; 0 unlimited */
        gint64 link_free_at;
        GQueue urbs; /* Urb*, submission order */
        gboolean gone;
        gboolean stalled_urb; /* a TRIG_STALL froze the head bulk IN URB */
        uint16_t mps[32];     /* wMaxPacketSize by ep_index(); 0: no such endpoint */
        UsbDevUnplugFn unplug;
        gpointer user_data;
        /* The device node as a FIFO (usbdev_serve_node()), and when it is next due. */
        int node_fd;          /* our end; -1: none */
        unsigned node_pages;  /* pages in it: 0 means the host sees POLLOUT */
        GMainContext *ctx;    /* umockdev's worker thread, where ioctls run */
        int timer_fd;
        GSource *timer;
        gint64 due;           /* the armed time, 0: none */
        gint kicked;          /* an on_kick() is queued */
};

static void update_node(UsbDev *dev);

static unsigned ep_index(uint8_t ep)
{
        return (ep & 0x0f) | (ep & 0x80 ? 16 : 0);
}

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

/* The function gave (IN) or took (OUT) bytes of u: from then on the link can
 * carry them. */
static void moved(Urb *u, ssize_t n)
{
        if (n > 0 && !u->moved_at)
                u->moved_at = g_get_monotonic_time();
}

static void finish(UsbDev *dev, Urb *u, int status, int actual)
{
        /* The link carries a URB's bytes once it is free and the bytes are
         * there: no earlier than the function had them (a URB queued ahead of
         * time waits for its data), no later (a URB waiting behind another
         * starts when the link frees, however late this pass comes). No
         * credit: a host that submits late leaves the link idle, as a host
         * controller would, so the link rate a benchmark sees is the host's. */
        gint64 now = g_get_monotonic_time(), start = MAX(u->moved_at ? u->moved_at : now, dev->link_free_at);

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
        Trigger *t = dev->ops->take_trigger ? dev->ops->take_trigger(dev->fn) : NULL;

        if (!t) {
                finish(dev, u, 0, n);
                return;
        }
        switch (t->kind) {
        case TRIG_URB_ERROR:
                finish(dev, u, t->urb_status, n);
                if (t->urb_status == -EPIPE && dev->ops->stall)
                        dev->ops->stall(dev->fn);
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

static int control_urb(UsbDev *dev, uint8_t *buf, int len)
{
        uint8_t type = buf[0], request = buf[1];
        uint16_t value = buf[2] | buf[3] << 8, index = buf[4] | buf[5] << 8, length = buf[6] | buf[7] << 8;

        if (len < 8 || length > len - 8)
                return -EINVAL;
        if ((type & 0x60) == 0x00 || ((type & 0x60) == 0x40 && dev->desc->ms_os)) {
                if (type == 0x02 && request == 1 && value == 0)
                        dev->ops->clear_halt(dev->fn, (uint8_t) index);
                else if (type == 0x01 && request == 11 && dev->ops->reconfigure)
                        dev->ops->reconfigure(dev->fn);
                return usb_standard_request(dev->desc, type, request, value, index, buf + 8, length);
        }
        return dev->ops->control(dev->fn, buf, buf + 8, length);
}

/* Each advance_*() returns FALSE while the URB waits for the device. */
static gboolean advance_control(UsbDev *dev, Urb *u)
{
        struct usbdevfs_urb *urb = urb_of(u);
        uint8_t *buf = urb->buffer;
        int n;

        if (!u->started) {
                u->started = TRUE;
                n = control_urb(dev, buf, urb->buffer_length);
        } else {
                n = dev->ops->control_poll(dev->fn, buf + 8, (uint16_t) (buf[6] | buf[7] << 8));
        }
        if (n == -EINPROGRESS)
                return FALSE;
        finish(dev, u, n < 0 ? n : 0, n < 0 ? 0 : n);
        return TRUE;
}

static gboolean advance_out(UsbDev *dev, Urb *u)
{
        struct usbdevfs_urb *urb = urb_of(u);
        size_t len = (size_t) urb->buffer_length;
        uint16_t mps = dev->mps[ep_index(urb->endpoint)];
        gboolean short_end = len % mps != 0;
        /* A host controller adds the zero-length packet only when the transfer
         * fills its last packet (usbfs, USBDEVFS_URB_ZERO_PACKET). */
        gboolean zlp = len == 0 || (!short_end && (urb->flags & USBDEVFS_URB_ZERO_PACKET));
        ssize_t n;

        while ((size_t) u->actual < len) {
                n = dev->ops->out(dev->fn, urb->endpoint, (uint8_t *) urb->buffer + u->actual,
                                  len - (size_t) u->actual, short_end);
                if (n == -EAGAIN || n == 0)
                        return FALSE;
                if (n < 0) {
                        finish(dev, u, (int) n, u->actual);
                        return TRUE;
                }
                moved(u, n);
                u->actual += (int) n;
        }
        if (zlp && !u->zlp_taken) {
                n = dev->ops->out(dev->fn, urb->endpoint, NULL, 0, TRUE);
                if (n == -EAGAIN)
                        return FALSE;
                if (n < 0) {
                        finish(dev, u, (int) n, u->actual);
                        return TRUE;
                }
                u->zlp_taken = TRUE;
        }
        finish(dev, u, 0, u->actual);
        return TRUE;
}

/* cut: a bulk IN transfer ended short, so its continuation URBs fail. */
static gboolean advance_in(UsbDev *dev, Urb *u, gboolean *cut)
{
        struct usbdevfs_urb *urb = urb_of(u);
        gboolean bulk = urb->type == USBDEVFS_URB_TYPE_BULK, ended = FALSE;
        ssize_t n;

        if (bulk && dev->stalled_urb)
                return FALSE;
        if (bulk && *cut && (urb->flags & USBDEVFS_URB_BULK_CONTINUATION)) {
                /* like the kernel: the rest of a transfer cut short fails */
                finish(dev, u, -EREMOTEIO, 0);
                return TRUE;
        }
        n = dev->ops->in(dev->fn, urb->endpoint, (uint8_t *) urb->buffer + u->actual,
                         (size_t) (urb->buffer_length - u->actual), &ended);
        if (n == -EAGAIN)
                return FALSE;
        if (n < 0) {
                finish(dev, u, (int) n, u->actual);
                return TRUE;
        }
        moved(u, n);
        u->actual += (int) n;
        if (!ended && u->actual < urb->buffer_length)
                return FALSE; /* the device has more packets of this transfer to send */
        if (!bulk) {
                finish(dev, u, 0, u->actual);
                return TRUE;
        }
        *cut = u->actual < urb->buffer_length;
        handle_trigger(dev, u, u->actual);
        return TRUE;
}

static gboolean advance(UsbDev *dev, Urb *u, gboolean *cut)
{
        struct usbdevfs_urb *urb = urb_of(u);

        if (urb->type == USBDEVFS_URB_TYPE_CONTROL)
                return advance_control(dev, u);
        if (urb->endpoint & 0x80)
                return advance_in(dev, u, cut);
        return advance_out(dev, u);
}

/* One pass over the pending URBs, in order; TRUE if one completed. */
static gboolean pump_pass(UsbDev *dev)
{
        guint32 waiting = 0; /* endpoints whose earlier URB still waits */
        gboolean cut = FALSE, completed = FALSE;

        for (GList *l = dev->urbs.head; l && !dev->gone; l = l->next) {
                Urb *u = l->data;
                guint32 bit = 1u << ep_index(urb_of(u)->endpoint);

                if (u->done || (waiting & bit))
                        continue;
                if (advance(dev, u, &cut))
                        completed = completed || u->done;
                else
                        waiting |= bit;
        }
        return completed;
}

/* Until nothing moves: an OUT command lets the device answer an IN URB
 * submitted before it. */
static void pump(UsbDev *dev)
{
        if (dev->ops->tick)
                dev->ops->tick(dev->fn);
        for (int i = 0; i < 4 && pump_pass(dev); i++)
                ;
}

static void complete(UMockdevIoctlClient *client, long res, int err)
{
        umockdev_ioctl_client_complete(client, res, err);
}

static gboolean valid_urb(UsbDev *dev, struct usbdevfs_urb *urb)
{
        if (urb->buffer_length < 0 || urb->buffer_length > (64 << 20))
                return FALSE;
        if (urb->type == USBDEVFS_URB_TYPE_CONTROL)
                return urb->endpoint == 0 && urb->buffer_length >= 8;
        return urb->type == USBDEVFS_URB_TYPE_BULK || urb->type == USBDEVFS_URB_TYPE_INTERRUPT;
}

static void submit_urb(UsbDev *dev, UMockdevIoctlClient *client)
{
        UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
        Urb *u = g_new0(Urb, 1);
        struct usbdevfs_urb *urb;

        u->client = g_object_ref(client);
        u->data = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), NULL);
        if (!u->data) {
                g_object_unref(u->client);
                g_free(u);
                complete(client, -1, EFAULT);
                return;
        }
        urb = urb_of(u);
        if (!valid_urb(dev, urb)) {
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
        if (urb->type != USBDEVFS_URB_TYPE_CONTROL && !dev->mps[ep_index(urb->endpoint)])
                finish(dev, u, -EINVAL, 0);
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

/* The host gives up on a URB that has not completed. */
static void abandon(UsbDev *dev, Urb *u)
{
        struct usbdevfs_urb *urb = urb_of(u);

        if (urb->type == USBDEVFS_URB_TYPE_BULK && (urb->endpoint & 0x80))
                dev->stalled_urb = FALSE;
        if (!dev->gone && (urb->type != USBDEVFS_URB_TYPE_CONTROL || u->started))
                dev->ops->cancel(dev->fn, urb->endpoint);
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
                if (!u->done)
                        abandon(dev, u);
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
                d = umockdev_ioctl_data_resolve(arg, 0, sizeof(unsigned int), NULL);
                if (d) {
                        gboolean hung = dev->ops->clear_halt(dev->fn, (uint8_t) *(unsigned int *) d->data);
                        dev->stalled_urb = dev->stalled_urb && hung;
                }
                complete(client, d ? 0 : -1, d ? 0 : EFAULT);
                return;
        case USBDEVFS_RESET:
                dev->ops->reset(dev->fn);
                dev->stalled_urb = FALSE;
                complete(client, 0, 0);
                return;
        case USBDEVFS_GET_SPEED:
                complete(client, dev->desc->usb3 ? 5 : 3, 0);
                return;
        case USBDEVFS_GETDRIVER:
        case USBDEVFS_IOCTL:
                complete(client, -1, ENODATA);
                return;
        case USBDEVFS_SETINTERFACE:
        case USBDEVFS_SETCONFIGURATION:
                /* The kernel sends SET_INTERFACE or SET_CONFIGURATION (usb_reset_configuration). */
                if (dev->ops->reconfigure)
                        dev->ops->reconfigure(dev->fn);
                complete(client, 0, 0);
                return;
        case USBDEVFS_CLAIMINTERFACE:
        case USBDEVFS_RELEASEINTERFACE:
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
        if (!dev->ctx)
                dev->ctx = g_main_context_ref_thread_default();
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
        update_node(dev);
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
                        if (!u->done)
                                abandon(dev, u);
                        g_queue_delete_link(&dev->urbs, l);
                        urb_free(u);
                }
                l = next;
        }
        update_node(dev);
        g_rec_mutex_unlock(dev->lock);
}

/* ---- the device node: POLLOUT while a URB is there to reap ---- */

/* The FIFO full (pages > 0: no POLLOUT) or empty. */
static void node_set(UsbDev *dev, gboolean reapable)
{
        static const uint8_t page[NODE_PAGE];
        uint8_t buf[NODE_PAGE];

        if (dev->node_fd < 0)
                return;
        if (reapable) {
                while (dev->node_pages > 0 && read(dev->node_fd, buf, sizeof buf) == (ssize_t) sizeof buf)
                        dev->node_pages--;
                dev->node_pages = 0;
                return;
        }
        if (dev->node_pages > 0)
                return;
        /* Full: the pipe takes no more (one page when F_SETPIPE_SZ took). */
        while (write(dev->node_fd, page, sizeof page) == (ssize_t) sizeof page)
                dev->node_pages++;
}

static gboolean on_due(gint fd, GIOCondition cond, gpointer user_data)
{
        UsbDev *dev = user_data;
        uint64_t expirations;

        (void) !read(fd, &expirations, sizeof expirations);
        g_rec_mutex_lock(dev->lock);
        dev->due = 0;
        if (!dev->gone)
                pump(dev);
        update_node(dev);
        g_rec_mutex_unlock(dev->lock);
        return G_SOURCE_CONTINUE;
}

static void arm(UsbDev *dev, gint64 at)
{
        struct itimerspec its = {};

        if (dev->timer_fd < 0 || at == dev->due)
                return;
        if (!dev->timer && dev->ctx) {
                dev->timer = g_unix_fd_source_new(dev->timer_fd, G_IO_IN);
                g_source_set_callback(dev->timer, (GSourceFunc) (void (*)(void)) on_due, dev, NULL);
                g_source_attach(dev->timer, dev->ctx);
        }
        dev->due = at;
        if (at) {
                its.it_value.tv_sec = at / G_USEC_PER_SEC;
                its.it_value.tv_nsec = (at % G_USEC_PER_SEC) * 1000;
        }
        (void) timerfd_settime(dev->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* After anything that may change what the host can reap (world lock held):
 * POLLOUT now, or a wakeup when the next URB's link time comes. */
static void update_node(UsbDev *dev)
{
        gint64 now = g_get_monotonic_time(), next = 0;
        gboolean reapable = FALSE, pending = FALSE;

        for (GList *l = dev->urbs.head; l; l = l->next) {
                Urb *u = l->data;

                if (!u->done)
                        pending = TRUE;
                else if (u->ready_at <= now)
                        reapable = TRUE;
                else if (!next || u->ready_at < next)
                        next = u->ready_at;
        }
        if (dev->gone) /* every URB ends (ESHUTDOWN), then the node is quiet: reaping says ENODEV */
                reapable = !g_queue_is_empty(&dev->urbs);
        else if (pending && dev->ops->tick && (!next || next > now + TICK_USEC))
                next = now + TICK_USEC;
        node_set(dev, reapable);
        arm(dev, reapable ? 0 : next);
}

/* From any thread: the function has something new for the host. Handled in
 * the worker thread, later (never inside the caller, which may hold state
 * pump() walks), once however often it was called meanwhile. */
static gboolean on_kick(gpointer user_data)
{
        UsbDev *dev = user_data;

        g_atomic_int_set(&dev->kicked, 0);
        g_rec_mutex_lock(dev->lock);
        if (!dev->gone)
                pump(dev);
        update_node(dev);
        g_rec_mutex_unlock(dev->lock);
        return G_SOURCE_REMOVE;
}

static void kick(gpointer user_data)
{
        UsbDev *dev = user_data;
        GSource *s;

        if (!dev->ctx || !g_atomic_int_compare_and_exchange(&dev->kicked, 0, 1))
                return;
        s = g_idle_source_new();
        g_source_set_callback(s, on_kick, dev, NULL);
        g_source_attach(s, dev->ctx);
        g_source_unref(s);
}

gboolean usbdev_serve_node(UsbDev *dev, const char *path, GError **error)
{
        int fd;

        (void) unlink(path);
        if (mkfifo(path, 0666) < 0 || (fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
                g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "device node %s: %s", path,
                            g_strerror(errno));
                return FALSE;
        }
        (void) fcntl(fd, F_SETPIPE_SZ, NODE_PAGE); /* one page: a write fills it, a read empties it */
        dev->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (dev->timer_fd < 0) {
                close(fd);
                g_set_error(error, G_IO_ERROR, g_io_error_from_errno(errno), "timerfd: %s", g_strerror(errno));
                return FALSE;
        }
        g_rec_mutex_lock(dev->lock);
        dev->node_fd = fd;
        node_set(dev, FALSE);
        g_rec_mutex_unlock(dev->lock);
        return TRUE;
}

static void note_endpoint(const uint8_t *ep, gpointer user_data)
{
        UsbDev *dev = user_data;

        dev->mps[ep_index(ep[2])] = (ep[4] | ep[5] << 8) & 0x7ff;
}

UsbDev *usbdev_new(GRecMutex *lock, const UsbFunctionOps *ops, gpointer fn, const UsbDescriptors *desc,
                   double link_bytes_per_s, UsbDevUnplugFn unplug, gpointer user_data)
{
        UsbDev *dev = g_new0(UsbDev, 1);

        dev->lock = lock;
        dev->ops = ops;
        dev->fn = fn;
        dev->desc = desc;
        dev->rate = link_bytes_per_s;
        dev->unplug = unplug;
        dev->user_data = user_data;
        dev->node_fd = dev->timer_fd = -1;
        if (ops->set_kick)
                ops->set_kick(fn, kick, dev);
        dev->mps[0] = dev->mps[16] = desc->usb3 ? 512 : 64;
        usb_foreach_endpoint(desc, note_endpoint, dev);
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
        if (dev->ops->set_kick)
                dev->ops->set_kick(dev->fn, NULL, NULL);
        for (GList *l = dev->urbs.head; l; l = l->next) {
                Urb *u = l->data;
                if (!u->done) {
                        u->done = TRUE;
                        u->status = -ESHUTDOWN;
                        u->ready_at = 0;
                }
        }
        update_node(dev);
}

gboolean usbdev_gone(UsbDev *dev)
{
        return dev->gone;
}

GMainContext *usbdev_context(UsbDev *dev)
{
        GMainContext *ctx;

        g_rec_mutex_lock(dev->lock);
        ctx = dev->ctx;
        g_rec_mutex_unlock(dev->lock);
        return ctx;
}
