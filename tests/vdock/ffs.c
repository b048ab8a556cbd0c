/* ffs.c: the FunctionFS model (ffs.h), after Linux f_fs.c: ffs_ep0_write()
 * and ffs_ep0_read() (descriptors, strings, events, the control data
 * stage), __ffs_event_add() (the event queue), ffs_epfile_io() (endpoint
 * I/O) and ffs_func_setup() (which control requests reach the function).
 * Bytes written by the function's program are checked like the kernel does. */
#define G_LOG_DOMAIN "vdock-ffs"
#include "ffs.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <linux/usb/functionfs.h>

enum { MAX_ENDPOINTS = 15, MAX_EVENTS = 4, EVENT_SIZE = 12, SPEEDS = 3 };

typedef enum { READ_DESCRIPTORS, READ_STRINGS, ACTIVE } State;
typedef enum { NO_SETUP, SETUP_PENDING, SETUP_CANCELLED } SetupState;

typedef struct {
        uint8_t address;
        uint16_t mps;      /* of the descriptors the host sees */
        gboolean halted;
        GQueue ios;        /* FfsIo*: the function's reads or writes, in order */
} Endpoint;

/* The host's control transfer handed to the function (a SETUP event). */
typedef struct {
        gboolean active, answered;
        uint8_t setup[8];
        uint8_t *data;     /* wLength bytes: the host's (OUT) or the function's answer (IN) */
        int result;
} Control;

struct Ffs {
        FfsHooks hooks;
        gpointer user_data;
        State state;
        unsigned opened;
        uint32_t flags;          /* FUNCTIONFS_* of the descriptors */
        GBytes *descs[SPEEDS];   /* full, high, super speed; NULL if absent */
        unsigned interfaces, n_eps, strings_needed;
        GPtrArray *strings;      /* char*: the first language's */
        Endpoint ep[MAX_ENDPOINTS + 1]; /* 1-based, as the files */
        uint8_t events[MAX_EVENTS];
        unsigned n_events;
        uint8_t event_setup[8];  /* of the SETUP event, wIndex as the function numbers it */
        SetupState setup_state;
        GQueue readers;          /* FfsIo*: event reads waiting on ep0 */
        gboolean enabled;
        gboolean enable_after_disable;
        unsigned binds;
        Control ctrl;
};

typedef struct {
        unsigned interfaces, strings, n_eps;
        uint8_t eps[MAX_ENDPOINTS];
        uint16_t mps[MAX_ENDPOINTS];
} DescInfo;

static uint32_t le32(const uint8_t *p)
{
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
        return (uint16_t) (p[0] | p[1] << 8);
}

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

static void end_io(FfsIo *io, ssize_t result)
{
        io->complete(io, result);
}

static void fail_queue(GQueue *q, ssize_t err)
{
        FfsIo *io;

        while ((io = g_queue_pop_head(q)))
                end_io(io, err);
}

static void clear_control(Ffs *f)
{
        g_clear_pointer(&f->ctrl.data, g_free);
        memset(&f->ctrl, 0, sizeof f->ctrl);
}

/* ffs_data_reset(): back to waiting for descriptors. */
static void reset(Ffs *f)
{
        gboolean was_active = f->state == ACTIVE;

        fail_queue(&f->readers, -ESHUTDOWN);
        for (unsigned i = 1; i <= MAX_ENDPOINTS; i++) {
                fail_queue(&f->ep[i].ios, -ESHUTDOWN);
                f->ep[i].address = 0;
                f->ep[i].halted = FALSE;
        }
        for (unsigned s = 0; s < SPEEDS; s++)
                g_clear_pointer(&f->descs[s], g_bytes_unref);
        g_ptr_array_set_size(f->strings, 0);
        clear_control(f);
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

/* ---- descriptors and strings (__ffs_data_got_descs, __ffs_data_got_strings) ---- */

static ssize_t parse_speed(const uint8_t *p, size_t len, uint32_t count, DescInfo *info)
{
        size_t pos = 0;

        for (uint32_t i = 0; i < count; i++) {
                const uint8_t *d = p + pos;

                if (len - pos < 2 || d[0] < 2 || d[0] > len - pos)
                        return -EINVAL;
                switch (d[1]) {
                case 1: case 2: case 6: case 7: /* device, configuration, qualifier: not a function's */
                        return -EINVAL;
                case 4: /* interface */
                        if (d[0] != 9)
                                return -EINVAL;
                        info->interfaces = MAX(info->interfaces, d[2] + 1u);
                        info->strings = MAX(info->strings, d[8]);
                        break;
                case 5: /* endpoint */
                        if ((d[0] != 7 && d[0] != 9) || !(d[2] & 0x0f) || info->n_eps == MAX_ENDPOINTS)
                                return -EINVAL;
                        info->eps[info->n_eps] = d[2];
                        info->mps[info->n_eps++] = le16(d + 4) & 0x7ff;
                        break;
                case 0x0b: /* interface association */
                        if (d[0] != 8)
                                return -EINVAL;
                        info->strings = MAX(info->strings, d[7]);
                        break;
                default:
                        break;
                }
                pos += d[0];
        }
        return (ssize_t) pos;
}

/* Every speed has the same interfaces and endpoints, in the same order. */
static gboolean same_function(const DescInfo *a, const DescInfo *b)
{
        return a->interfaces == b->interfaces && a->n_eps == b->n_eps && memcmp(a->eps, b->eps, a->n_eps) == 0;
}

static int skip_os_descriptors(const uint8_t *p, size_t len, uint32_t count, size_t *pos)
{
        for (uint32_t i = 0; i < count; i++) {
                uint32_t n;

                if (len - *pos < 16)
                        return -EINVAL;
                n = le32(p + *pos + 1);
                if (n < 16 || n > len - *pos)
                        return -EINVAL;
                *pos += n;
        }
        return 0;
}

static int read_header(const uint8_t *p, size_t len, uint32_t *flags, uint32_t counts[SPEEDS], uint32_t *os_count,
                       size_t *pos)
{
        const uint32_t known = FUNCTIONFS_HAS_FS_DESC | FUNCTIONFS_HAS_HS_DESC | FUNCTIONFS_HAS_SS_DESC |
                               FUNCTIONFS_HAS_MS_OS_DESC | FUNCTIONFS_VIRTUAL_ADDR | FUNCTIONFS_ALL_CTRL_RECIP |
                               FUNCTIONFS_CONFIG0_SETUP;

        if (le32(p + 4) != len)
                return -EINVAL;
        if (le32(p) == FUNCTIONFS_DESCRIPTORS_MAGIC) { /* before Linux 3.15: fs_count, hs_count */
                *flags = FUNCTIONFS_HAS_FS_DESC | FUNCTIONFS_HAS_HS_DESC;
                *pos = 8;
        } else if (le32(p) == FUNCTIONFS_DESCRIPTORS_MAGIC_V2) {
                *flags = le32(p + 8);
                *pos = 12;
                /* An eventfd cannot cross FUSE: unsupported here, like an unknown flag. */
                if (*flags & ~known)
                        return -ENOSYS;
        } else {
                return -EINVAL;
        }
        for (unsigned s = 0; s < SPEEDS; s++) {
                counts[s] = 0;
                if (!(*flags & (1u << s)))
                        continue;
                if (len - *pos < 4)
                        return -EINVAL;
                counts[s] = le32(p + *pos);
                *pos += 4;
        }
        *os_count = 0;
        if (*flags & FUNCTIONFS_HAS_MS_OS_DESC) {
                if (len - *pos < 4)
                        return -EINVAL;
                *os_count = le32(p + *pos);
                *pos += 4;
        }
        return 0;
}

static int got_descriptors(Ffs *f, const uint8_t *p, size_t len)
{
        uint32_t flags, counts[SPEEDS], os_count;
        DescInfo info[SPEEDS] = { 0 };
        const DescInfo *first = NULL;
        GBytes *descs[SPEEDS] = { NULL };
        size_t pos, start;
        int r = read_header(p, len, &flags, counts, &os_count, &pos);

        if (r < 0)
                return r;
        start = pos;
        for (unsigned s = 0; s < SPEEDS && r >= 0; s++) {
                ssize_t n = counts[s] ? parse_speed(p + pos, len - pos, counts[s], &info[s]) : 0;

                if (n < 0 || (counts[s] && first && !same_function(first, &info[s])))
                        r = -EINVAL;
                else if (counts[s]) {
                        first = first ? first : &info[s];
                        descs[s] = g_bytes_new(p + pos, (gsize) n);
                        pos += (size_t) n;
                }
        }
        if (r >= 0)
                r = skip_os_descriptors(p, len, os_count, &pos);
        if (r >= 0 && (pos == start || pos != len || !first))
                r = -EINVAL; /* no descriptors, or bytes left over */
        if (r < 0) {
                for (unsigned s = 0; s < SPEEDS; s++)
                        g_clear_pointer(&descs[s], g_bytes_unref);
                return r;
        }
        memcpy(f->descs, descs, sizeof descs);
        f->flags = flags;
        f->interfaces = first->interfaces;
        f->n_eps = first->n_eps;
        f->strings_needed = MAX(MAX(info[0].strings, info[1].strings), info[2].strings);
        for (unsigned i = 0; i < f->n_eps; i++) {
                /* The host sees high speed when the function has it, else full speed. */
                const DescInfo *seen = counts[1] ? &info[1] : first;
                f->ep[i + 1].address = first->eps[i];
                f->ep[i + 1].mps = MAX(seen->mps[i], 1);
        }
        return 0;
}

static int got_strings(Ffs *f, const uint8_t *p, size_t len)
{
        uint32_t str_count, lang_count;
        size_t pos = 16;

        if (le32(p) != FUNCTIONFS_STRINGS_MAGIC || le32(p + 4) != len)
                return -EINVAL;
        str_count = le32(p + 8);
        lang_count = le32(p + 12);
        if (!str_count != !lang_count || str_count < f->strings_needed)
                return -EINVAL;
        if (!f->strings_needed)
                return 0; /* the kernel ignores the rest */
        for (uint32_t l = 0; l < lang_count; l++) {
                if (len - pos < 3)
                        return -EINVAL;
                pos += 2; /* language code */
                for (uint32_t s = 0; s < str_count; s++) {
                        size_t n = strnlen((const char *) p + pos, len - pos);

                        if (n == len - pos)
                                return -EINVAL;
                        if (l == 0 && s < f->strings_needed)
                                g_ptr_array_add(f->strings, g_strndup((const char *) p + pos, n));
                        pos += n + 1;
                }
        }
        if (pos != len) {
                g_ptr_array_set_size(f->strings, 0);
                return -EINVAL;
        }
        return 0;
}

/* ---- events (__ffs_event_add) ---- */

static ssize_t read_events(Ffs *f, FfsIo *io);

static void wake(Ffs *f)
{
        FfsIo *io;

        while (f->n_events && (io = g_queue_pop_head(&f->readers)))
                end_io(io, read_events(f, io));
        if (f->hooks.wake)
                f->hooks.wake(f, f->user_data);
}

static const char *event_name(uint8_t type)
{
        static const char *const names[] = { "BIND", "UNBIND", "ENABLE", "DISABLE", "SETUP", "SUSPEND", "RESUME" };
        return type < G_N_ELEMENTS(names) ? names[type] : "?";
}

static void event_add(Ffs *f, uint8_t type)
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
        }
        memmove(f->events, f->events + n, f->n_events - n);
        f->n_events -= n;
        if (disabled && f->enable_after_disable) {
                /* A port reset lasts 10 ms or more: the host configures the
                 * gadget again after the function saw it go. */
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
        event_add(f, FUNCTIONFS_BIND);
}

static ssize_t ep0_write(Ffs *f, FfsIo *io)
{
        int r;

        if (f->state != ACTIVE) {
                if (io->len < 16)
                        return -EINVAL;
                r = f->state == READ_DESCRIPTORS ? got_descriptors(f, io->buf, io->len)
                                                 : got_strings(f, io->buf, io->len);
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
        if (io->file == 0)
                return io->read ? ep0_read(f, io) : ep0_write(f, io);
        return ep_io(f, io);
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
                end_io(io, -EINTR);
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

GBytes *ffs_function_descriptors(Ffs *f, unsigned string_base)
{
        GBytes *src = f->descs[1] ? f->descs[1] : f->descs[0];
        gsize len = 0;
        const uint8_t *p = src ? g_bytes_get_data(src, &len) : NULL;
        uint8_t *d = g_memdup2(p, len);

        /* __ffs_func_bind_do_nums(): the function's string indexes become the gadget's ids */
        for (gsize pos = 0; d && pos + 2 <= len && d[pos] >= 2; pos += d[pos]) {
                uint8_t *s = d[pos + 1] == 4 ? &d[pos + 8] : d[pos + 1] == 0x0b ? &d[pos + 7] : NULL;
                if (s && *s)
                        *s = (uint8_t) (string_base + *s - 1);
        }
        return g_bytes_new_take(d, len);
}

static void disable_endpoints(Ffs *f)
{
        for (unsigned i = 1; i <= f->n_eps; i++) {
                fail_queue(&f->ep[i].ios, -ESHUTDOWN);
                f->ep[i].halted = FALSE;
        }
}

void ffs_connect(Ffs *f)
{
        if (f->state != ACTIVE)
                return;
        f->enabled = TRUE;
        event_add(f, FUNCTIONFS_ENABLE);
}

void ffs_disconnect(Ffs *f)
{
        if (!f->enabled)
                return;
        disable_endpoints(f);
        f->enabled = FALSE;
        f->enable_after_disable = FALSE;
        clear_control(f);
        event_add(f, FUNCTIONFS_DISABLE);
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
                                        end_io(g_queue_pop_head(&ep->ios), (ssize_t) io->len);
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
                end_io(g_queue_pop_head(&ep->ios), (ssize_t) io->len);
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
                end_io(io, (ssize_t) io->pos);
                return 0;
        }
        while (taken < len && (io = g_queue_peek_head(&ep->ios))) {
                size_t n = MIN(len - taken, io->len - io->pos);

                memcpy(io->buf + io->pos, data + taken, n);
                io->pos += n;
                taken += n;
                if (io->pos == io->len || (taken == len && end))
                        end_io(g_queue_pop_head(&ep->ios), (ssize_t) io->pos);
        }
        return taken ? (ssize_t) taken : -EAGAIN;
}

static void cancel_control(Ffs *f)
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
        clear_control(f);
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
        cancel_control(f);
        f->ctrl.active = TRUE;
        memcpy(f->ctrl.setup, setup, 8);
        f->ctrl.data = g_malloc0(MAX(length, 1));
        if (!(setup[0] & 0x80))
                memcpy(f->ctrl.data, data, length);
        memcpy(f->event_setup, ev, 8);
        event_add(f, FUNCTIONFS_SETUP);
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
        clear_control(f);
        return r;
}

static void usb_cancel(gpointer fn, uint8_t address)
{
        if (address == 0)
                cancel_control(fn);
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

        g_debug("port reset");
        ffs_disconnect(f);
        f->enable_after_disable = f->state == ACTIVE;
}

/* ffs_func_set_alt(): the endpoints restart, ENABLE, no DISABLE. */
static void usb_reconfigure(gpointer fn)
{
        Ffs *f = fn;

        if (!f->enabled)
                return;
        g_debug("SET_CONFIGURATION or SET_INTERFACE: the endpoints restart");
        disable_endpoints(f);
        event_add(f, FUNCTIONFS_ENABLE);
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
};
