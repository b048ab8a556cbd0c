/* ffs.c: the FunctionFS model (ffs.h), after Linux f_fs.c: the files,
 * ffs_ep0_write() and ffs_ep0_read() (descriptors, strings, events, the
 * control data stage), __ffs_event_add() (the event queue) and
 * ffs_epfile_io() (endpoint I/O). The host's side is in ffs-usb.c, the
 * checks of what the function writes first in ffs-descriptors.c. */
#define G_LOG_DOMAIN "vdock-ffs"
#include "ffs-private.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <linux/usb/functionfs.h>

Ffs *ffs_new(const FfsHooks *hooks, gpointer user_data)
{
        Ffs *f = g_new0(Ffs, 1);

        f->hooks = *hooks;
        f->user_data = user_data;
        f->strings = g_ptr_array_new_with_free_func(g_free);
        g_queue_init(&f->readers);
        for (unsigned i = 0; i <= MAX_ENDPOINTS; i++)
                g_queue_init(&f->ep[i].ios);
        return f;
}

void ffs_end_io(FfsIo *io, ssize_t result)
{
        io->complete(io, result);
}

void ffs_fail_queue(GQueue *q, ssize_t err)
{
        FfsIo *io;

        while ((io = g_queue_pop_head(q)))
                ffs_end_io(io, err);
}

void ffs_clear_control(Ffs *f)
{
        g_clear_pointer(&f->ctrl.data, g_free);
        memset(&f->ctrl, 0, sizeof f->ctrl);
}

/* ffs_data_reset(): back to waiting for descriptors. */
static void reset(Ffs *f)
{
        gboolean was_active = f->state == ACTIVE;

        ffs_fail_queue(&f->readers, -ESHUTDOWN);
        for (unsigned i = 1; i <= MAX_ENDPOINTS; i++) {
                ffs_fail_queue(&f->ep[i].ios, -ESHUTDOWN);
                f->ep[i].address = 0;
                f->ep[i].halted = f->ep[i].late = FALSE;
        }
        for (unsigned s = 0; s < SPEEDS; s++)
                g_clear_pointer(&f->descs[s], g_bytes_unref);
        g_ptr_array_set_size(f->strings, 0);
        ffs_clear_control(f);
        f->state = READ_DESCRIPTORS;
        f->flags = f->interfaces = f->n_eps = f->strings_needed = f->n_events = 0;
        f->setup_state = NO_SETUP;
        f->enabled = f->enable_after_disable = FALSE;
        if (was_active && f->hooks.unbound)
                f->hooks.unbound(f, f->user_data);
}

void ffs_free(Ffs *f)
{
        if (!f)
                return;
        f->hooks.unbound = NULL;
        reset(f);
        g_ptr_array_unref(f->strings);
        g_free(f);
}

/* ---- events (__ffs_event_add) ---- */

static ssize_t read_events(Ffs *f, FfsIo *io);

static void wake(Ffs *f)
{
        FfsIo *io;

        while (f->n_events && (io = g_queue_pop_head(&f->readers)))
                ffs_end_io(io, read_events(f, io));
        if (f->hooks.wake)
                f->hooks.wake(f, f->user_data);
}

static const char *event_name(uint8_t type)
{
        static const char *const names[] = { "BIND", "UNBIND", "ENABLE", "DISABLE", "SETUP", "SUSPEND", "RESUME" };
        return type < G_N_ELEMENTS(names) ? names[type] : "?";
}

void ffs_event_add(Ffs *f, uint8_t type)
{
        uint8_t rem1 = type, rem2 = type;
        gboolean neg = FALSE;
        unsigned out = 0;

        if (f->setup_state == SETUP_PENDING)
                f->setup_state = SETUP_CANCELLED; /* an unanswered setup is aborted */
        if (type == FUNCTIONFS_RESUME) {
                rem2 = FUNCTIONFS_SUSPEND;
        } else if (type != FUNCTIONFS_SUSPEND && type != FUNCTIONFS_SETUP) {
                /* BIND, UNBIND, ENABLE, DISABLE discard all but power management */
                rem1 = FUNCTIONFS_SUSPEND;
                rem2 = FUNCTIONFS_RESUME;
                neg = TRUE;
        }
        for (unsigned i = 0; i < f->n_events; i++)
                if ((f->events[i] == rem1 || f->events[i] == rem2) == neg)
                        f->events[out++] = f->events[i];
        f->n_events = out;
        f->events[f->n_events++] = type;
        g_debug("event %s (%u queued)", event_name(type), f->n_events);
        wake(f);
}

static ssize_t read_events(Ffs *f, FfsIo *io)
{
        unsigned n = MIN((unsigned) (io->len / EVENT_SIZE), f->n_events);
        gboolean disabled = FALSE;

        memset(io->buf, 0, n * EVENT_SIZE);
        for (unsigned i = 0; i < n; i++) {
                uint8_t *ev = io->buf + i * EVENT_SIZE;

                ev[8] = f->events[i];
                if (f->events[i] == FUNCTIONFS_SETUP) {
                        memcpy(ev, f->event_setup, 8);
                        f->setup_state = SETUP_PENDING;
                }
                disabled = disabled || f->events[i] == FUNCTIONFS_DISABLE;
                for (unsigned e = 1; e <= MAX_ENDPOINTS && f->events[i] == FUNCTIONFS_ENABLE; e++)
                        f->ep[e].late = FALSE; /* the function knows the bus is back */
        }
        memmove(f->events, f->events + n, f->n_events - n);
        f->n_events -= n;
        if (disabled && f->enable_after_disable) {
                f->enable_after_disable = FALSE;
                ffs_connect(f);
        }
        return (ssize_t) (n * EVENT_SIZE);
}

/* ---- ep0 ---- */

static void answer(Ffs *f, int result, const uint8_t *data, size_t len)
{
        f->setup_state = NO_SETUP;
        if (!f->ctrl.active)
                return;
        f->ctrl.answered = TRUE;
        f->ctrl.result = result;
        if (data && len)
                memcpy(f->ctrl.data, data, len);
}

static ssize_t stall(Ffs *f)
{
        answer(f, -EPIPE, NULL, 0);
        return -EL2HLT;
}

static size_t setup_length(Ffs *f, size_t len)
{
        return MIN(len, (size_t) le16(f->event_setup + 6));
}

static void activate(Ffs *f)
{
        f->state = ACTIVE;
        f->binds++;
        if (f->hooks.bound)
                f->hooks.bound(f, f->user_data);
        /* The gadget binds at once: its UDC is written when the function is ready. */
        ffs_event_add(f, FUNCTIONFS_BIND);
}

static ssize_t ep0_write(Ffs *f, FfsIo *io)
{
        int r;

        if (f->state != ACTIVE) {
                if (io->len < 16)
                        return -EINVAL;
                r = f->state == READ_DESCRIPTORS ? ffs_got_descriptors(f, io->buf, io->len)
                                                 : ffs_got_strings(f, io->buf, io->len);
                if (r < 0)
                        return r;
                if (f->state == READ_DESCRIPTORS)
                        f->state = READ_STRINGS;
                else
                        activate(f);
                return (ssize_t) io->len;
        }
        switch (f->setup_state) {
        case SETUP_CANCELLED:
                f->setup_state = NO_SETUP;
                return -EIDRM;
        case NO_SETUP:
                return -ESRCH;
        case SETUP_PENDING:
                break;
        }
        if (!(f->event_setup[0] & 0x80))
                return stall(f);
        answer(f, (int) setup_length(f, io->len), io->buf, setup_length(f, io->len));
        return (ssize_t) setup_length(f, io->len);
}

static ssize_t ep0_read(Ffs *f, FfsIo *io)
{
        size_t n;

        if (f->state != ACTIVE)
                return -EBADFD;
        switch (f->setup_state) {
        case SETUP_CANCELLED:
                f->setup_state = NO_SETUP;
                return -EIDRM;
        case NO_SETUP:
                if (io->len < EVENT_SIZE)
                        return -EINVAL;
                if (f->n_events)
                        return read_events(f, io);
                if (io->nonblock)
                        return -EAGAIN;
                g_queue_push_tail(&f->readers, io);
                return -EINPROGRESS;
        case SETUP_PENDING:
                break;
        }
        if (f->event_setup[0] & 0x80)
                return stall(f);
        /* The data stage from the host, then the status stage. */
        n = setup_length(f, io->len);
        if (n && f->ctrl.active)
                memcpy(io->buf, f->ctrl.data, n);
        answer(f, 0, NULL, 0);
        return (ssize_t) n;
}

/* ---- endpoint files (ffs_epfile_io) ---- */

static ssize_t ep_io(Ffs *f, FfsIo *io)
{
        Endpoint *ep;

        if (f->state != ACTIVE || io->file > f->n_eps)
                return -ENODEV;
        ep = &f->ep[io->file];
        if (!f->enabled && io->nonblock)
                return -EAGAIN;
        if (io->read == !!(ep->address & 0x80)) { /* the wrong direction halts the endpoint */
                ep->halted = ep->halted || f->enabled;
                return -EBADMSG;
        }
        if (ep->late) { /* issued before the bus went, on a camera's own CPU (ffs_disable_endpoints) */
                ep->late = FALSE;
                return -ESHUTDOWN;
        }
        /* Waits for ENABLE if need be, then for the host. */
        g_queue_push_tail(&ep->ios, io);
        return -EINPROGRESS;
}

unsigned ffs_endpoints(Ffs *f)
{
        return f->state == ACTIVE ? f->n_eps : 0;
}

int ffs_open(Ffs *f, unsigned file)
{
        if (file > ffs_endpoints(f))
                return -ENODEV;
        f->opened++;
        return 0;
}

void ffs_release(Ffs *f, unsigned file)
{
        if (f->opened > 0 && --f->opened == 0)
                reset(f);
}

ssize_t ffs_io(Ffs *f, FfsIo *io)
{
        ssize_t r = io->file == 0 ? (io->read ? ep0_read(f, io) : ep0_write(f, io)) : ep_io(f, io);

        if (f->kick) /* the host may see bytes, room or an answer now */
                f->kick(f->kick_data);
        return r;
}

static gboolean take_io(GQueue *q, gpointer token, FfsIo **ret)
{
        for (GList *l = q->head; l; l = l->next) {
                FfsIo *io = l->data;
                if (io->token == token) {
                        g_queue_delete_link(q, l);
                        *ret = io;
                        return TRUE;
                }
        }
        return FALSE;
}

void ffs_interrupt(Ffs *f, gpointer token)
{
        FfsIo *io = NULL;
        gboolean found = take_io(&f->readers, token, &io);

        for (unsigned i = 1; i <= MAX_ENDPOINTS && !found; i++)
                found = take_io(&f->ep[i].ios, token, &io);
        if (found)
                ffs_end_io(io, -EINTR);
}

unsigned ffs_poll(Ffs *f, unsigned file)
{
        if (file > 0)
                return POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM; /* no poll of their own */
        if (f->state != ACTIVE)
                return POLLWRNORM | POLLOUT;
        if (f->setup_state != NO_SETUP)
                return POLLWRNORM | POLLIN | POLLOUT;
        return POLLWRNORM | (f->n_events ? POLLIN : 0);
}

/* ---- the host's side ---- */

gboolean ffs_is_bound(Ffs *f)
{
        return f->state == ACTIVE;
}

unsigned ffs_binds(Ffs *f)
{
        return f->binds;
}

unsigned ffs_strings(Ffs *f)
{
        return f->strings->len;
}

const char *ffs_string(Ffs *f, unsigned index)
{
        return index >= 1 && index <= f->strings->len ? f->strings->pdata[index - 1] : NULL;
}
