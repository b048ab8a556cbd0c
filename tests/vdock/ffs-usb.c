/* ffs-usb.c: the host's side of a FunctionFS function (ffs.h): the gadget
 * configured or gone (ENABLE, DISABLE), transfers packet by packet against
 * the function's reads and writes, and the control requests that reach it
 * (Linux f_fs.c ffs_func_setup(), ffs_func_set_alt()). */
#define G_LOG_DOMAIN "vdock-ffs"
#include "ffs-private.h"

#include <errno.h>
#include <string.h>
#include <linux/usb/functionfs.h>

/* A camera runs its function on a CPU of its own: a thread that finished one
 * transfer starts the next within microseconds, long before the bus can
 * reset or go (a reset lasts 10 ms or more, a replug far longer). Here the
 * function shares the machine's CPUs with the host, and that gap can outlast
 * a reset. So an endpoint on which nothing waits is marked late: the next
 * I/O the function issues on it is taken as issued before the bus went and
 * ends ESHUTDOWN, until the function reads ENABLE (ep_io(), read_events()).
 * Without it umtprd 1.3.10's I/O thread, between a response and its next
 * read at DISABLE, would wait for the next ENABLE and serve the host's next
 * command to a session the DISABLE handler drops just after (README). */
void ffs_disable_endpoints(Ffs *f)
{
        for (unsigned i = 1; i <= f->n_eps; i++) {
                f->ep[i].late = g_queue_is_empty(&f->ep[i].ios);
                ffs_fail_queue(&f->ep[i].ios, -ESHUTDOWN);
                f->ep[i].halted = FALSE;
        }
}

static gboolean disable_unread(Ffs *f)
{
        for (unsigned i = 0; i < f->n_events; i++)
                if (f->events[i] == FUNCTIONFS_DISABLE)
                        return TRUE;
        return FALSE;
}

/* The host configures the gadget. After a DISABLE the function has not read
 * yet (a reset, or docked again at once), ENABLE waits until it has: a reset
 * or a replug takes the bus far longer than a camera takes to see the gadget
 * go, and an ENABLE would drop the unread DISABLE (__ffs_event_add()). */
void ffs_connect(Ffs *f)
{
        if (f->state != ACTIVE)
                return;
        if (disable_unread(f)) {
                f->enable_after_disable = TRUE;
                return;
        }
        f->enabled = TRUE;
        ffs_event_add(f, FUNCTIONFS_ENABLE);
}

void ffs_disconnect(Ffs *f)
{
        f->enable_after_disable = FALSE;
        if (!f->enabled)
                return;
        ffs_disable_endpoints(f);
        f->enabled = FALSE;
        ffs_clear_control(f);
        ffs_event_add(f, FUNCTIONFS_DISABLE);
}

static Endpoint *endpoint(Ffs *f, uint8_t address)
{
        for (unsigned i = 1; i <= f->n_eps; i++)
                if (f->ep[i].address == address)
                        return &f->ep[i];
        return NULL;
}

static unsigned file_of(Ffs *f, uint8_t address)
{
        Endpoint *ep = endpoint(f, address);
        return ep ? (unsigned) (ep - f->ep) : 0;
}

/* Device → host: the function's writes, packet by packet. */
static ssize_t usb_in(gpointer fn, uint8_t address, uint8_t *buf, size_t maxlen, gboolean *ended)
{
        Ffs *f = fn;
        Endpoint *ep = endpoint(f, address);
        size_t total = 0;
        FfsIo *io;

        *ended = FALSE;
        if (!ep || ep->halted)
                return -EPIPE;
        if (!f->enabled)
                return -EAGAIN;
        while (total < maxlen && (io = g_queue_peek_head(&ep->ios))) {
                size_t rest = io->len - io->pos, n = MIN(rest, maxlen - total);
                gboolean short_end = io->len % ep->mps != 0 || io->len == 0;

                if (n < rest && n % ep->mps) {
                        n -= n % ep->mps;
                        if (n == 0 && total == 0) { /* the next packet does not fit: babble */
                                io->pos += MIN(rest, ep->mps);
                                if (io->pos == io->len)
                                        ffs_end_io(g_queue_pop_head(&ep->ios), (ssize_t) io->len);
                                return -EOVERFLOW;
                        }
                        if (n == 0)
                                break;
                }
                if (n) /* a zero-length write has no buffer */
                        memcpy(buf + total, io->buf + io->pos, n);
                io->pos += n;
                total += n;
                if (io->pos < io->len)
                        continue;
                ffs_end_io(g_queue_pop_head(&ep->ios), (ssize_t) io->len);
                if (short_end) {
                        *ended = TRUE;
                        break;
                }
        }
        return total || *ended ? (ssize_t) total : -EAGAIN;
}

/* Host → device: into the function's reads; a short packet ends a read. */
static ssize_t usb_out(gpointer fn, uint8_t address, const uint8_t *data, size_t len, gboolean end)
{
        Ffs *f = fn;
        Endpoint *ep = endpoint(f, address);
        size_t taken = 0;
        FfsIo *io;

        if (!ep || ep->halted)
                return -EPIPE;
        if (!f->enabled)
                return -EAGAIN;
        if (len == 0) { /* a zero-length packet */
                io = g_queue_pop_head(&ep->ios);
                if (!io)
                        return -EAGAIN;
                ffs_end_io(io, (ssize_t) io->pos);
                return 0;
        }
        while (taken < len && (io = g_queue_peek_head(&ep->ios))) {
                size_t n = MIN(len - taken, io->len - io->pos);

                memcpy(io->buf + io->pos, data + taken, n);
                io->pos += n;
                taken += n;
                if (io->pos == io->len || (taken == len && end))
                        ffs_end_io(g_queue_pop_head(&ep->ios), (ssize_t) io->pos);
        }
        return taken ? (ssize_t) taken : -EAGAIN;
}

void ffs_cancel_control(Ffs *f)
{
        unsigned out = 0;

        if (!f->ctrl.active)
                return;
        /* still queued: it never reaches the function */
        for (unsigned i = 0; i < f->n_events; i++)
                if (f->events[i] != FUNCTIONFS_SETUP)
                        f->events[out++] = f->events[i];
        f->n_events = out;
        if (f->setup_state == SETUP_PENDING)
                f->setup_state = SETUP_CANCELLED;
        ffs_clear_control(f);
}

/* ffs_func_setup(): requests to the function's interfaces and endpoints
 * (to the device too with FUNCTIONFS_ALL_CTRL_RECIP), wIndex renumbered. */
static int usb_control(gpointer fn, const uint8_t setup[8], uint8_t *data, uint16_t length)
{
        Ffs *f = fn;
        uint8_t ev[8];
        uint16_t index = le16(setup + 4);

        if (f->state != ACTIVE || !f->enabled)
                return -EPIPE;
        memcpy(ev, setup, 8);
        switch (setup[0] & 0x1f) {
        case 1: /* interface: one function, so the numbers are the gadget's */
                if ((index & 0xff) >= f->interfaces)
                        return -EPIPE;
                index &= 0xff;
                break;
        case 2: { /* endpoint: its file number, or its address with VIRTUAL_ADDR */
                unsigned file = file_of(f, (uint8_t) index);
                if (!file)
                        return -EPIPE;
                index = f->flags & FUNCTIONFS_VIRTUAL_ADDR ? (uint16_t) (index & 0xff) : (uint16_t) file;
                break;
        }
        default:
                if (!(f->flags & FUNCTIONFS_ALL_CTRL_RECIP))
                        return -EPIPE;
                break;
        }
        ev[4] = index & 0xff;
        ev[5] = index >> 8;
        g_debug("control %02x %02x wValue %04x wIndex %04x wLength %u to the function", setup[0], setup[1],
                le16(setup + 2), index, length);
        ffs_cancel_control(f);
        f->ctrl.active = TRUE;
        memcpy(f->ctrl.setup, setup, 8);
        f->ctrl.data = g_malloc0(MAX(length, 1));
        if (!(setup[0] & 0x80))
                memcpy(f->ctrl.data, data, length);
        memcpy(f->event_setup, ev, 8);
        ffs_event_add(f, FUNCTIONFS_SETUP);
        return -EINPROGRESS;
}

static int usb_control_poll(gpointer fn, uint8_t *data, uint16_t length)
{
        Ffs *f = fn;
        int r;

        if (!f->ctrl.active)
                return -EPIPE; /* the gadget went away meanwhile */
        if (!f->ctrl.answered)
                return -EINPROGRESS;
        r = MIN(f->ctrl.result, (int) length);
        if (r > 0)
                memcpy(data, f->ctrl.data, (size_t) r);
        ffs_clear_control(f);
        return r;
}

static void usb_cancel(gpointer fn, uint8_t address)
{
        if (address == 0)
                ffs_cancel_control(fn);
}

static gboolean usb_clear_halt(gpointer fn, uint8_t address)
{
        Endpoint *ep = endpoint(fn, address);

        if (ep)
                ep->halted = FALSE;
        return FALSE;
}

/* A port reset: the gadget is disconnected, then configured again. */
static void usb_reset(gpointer fn)
{
        Ffs *f = fn;
        gboolean on_bus = f->enabled || f->enable_after_disable;

        g_debug("port reset");
        ffs_disconnect(f);
        if (on_bus)
                ffs_connect(f);
}

/* ffs_func_set_alt(): the endpoints restart, ENABLE, no DISABLE. */
static void usb_reconfigure(gpointer fn)
{
        Ffs *f = fn;

        if (!f->enabled)
                return;
        g_debug("SET_CONFIGURATION or SET_INTERFACE: the endpoints restart");
        ffs_disable_endpoints(f);
        ffs_event_add(f, FUNCTIONFS_ENABLE);
}

static void usb_set_kick(gpointer fn, void (*kick)(gpointer data), gpointer data)
{
        Ffs *f = fn;

        f->kick = kick;
        f->kick_data = data;
}

const UsbFunctionOps ffs_usb_ops = {
        .out = usb_out,
        .in = usb_in,
        .control = usb_control,
        .control_poll = usb_control_poll,
        .cancel = usb_cancel,
        .clear_halt = usb_clear_halt,
        .reset = usb_reset,
        .reconfigure = usb_reconfigure,
        .set_kick = usb_set_kick,
};
