/* test-ffs.c: the FunctionFS model (ffs.c) and its gadget (gadget.c), driven
 * from both sides: the function's reads and writes on ep0..ep3 as umtprd
 * makes them, and the host's transfers through ffs_usb_ops. */
#include <errno.h>
#include <glib.h>
#include <linux/usb/functionfs.h>
#include <poll.h>
#include <string.h>

#include "ffs.h"
#include "gadget.h"

typedef struct {
        FfsIo io;
        gboolean done;
        ssize_t result;
} TestIo;

typedef struct {
        Ffs *ffs;
        unsigned bound, unbound;
} Fixture;

static void on_bound(Ffs *f, gpointer data) { ((Fixture *) data)->bound++; }
static void on_unbound(Ffs *f, gpointer data) { ((Fixture *) data)->unbound++; }
static const FfsHooks hooks = { .bound = on_bound, .unbound = on_unbound };

static void io_done(FfsIo *io, ssize_t result)
{
        TestIo *t = (TestIo *) io;
        t->done = TRUE;
        t->result = result;
}

/* An io on file; write: data/len copied; read: room for len. */
static TestIo *io_new(unsigned file, gboolean read, const void *data, size_t len)
{
        TestIo *t = g_new0(TestIo, 1);

        t->io.complete = io_done;
        t->io.token = t;
        t->io.file = file;
        t->io.read = read;
        t->io.buf = read ? g_malloc0(MAX(len, 1)) : g_memdup2(data, len);
        t->io.len = len;
        return t;
}

static void io_free(TestIo *t)
{
        g_free(t->io.buf);
        g_free(t);
}

/* An io that must end at once; returns its result. */
static ssize_t io_now(Fixture *fx, unsigned file, gboolean read, const void *data, size_t len, uint8_t *ret)
{
        TestIo *t = io_new(file, read, data, len);
        ssize_t r = ffs_io(fx->ffs, &t->io);

        g_assert_cmpint(r, !=, -EINPROGRESS);
        if (ret && r > 0)
                memcpy(ret, t->io.buf, (size_t) r);
        io_free(t);
        return r;
}

/* umtprd 1.3.10 usb_gadget.c: V2 header, FS and HS sets of one interface and three endpoints. */
static GByteArray *umtprd_descriptors(void)
{
        static const uint8_t set[] = {
                9, 4, 0, 0, 3, 6, 1, 1, 1,
                7, 5, 0x81, 2, 0x00, 0x02, 0,
                7, 5, 0x02, 2, 0x00, 0x02, 0,
                7, 5, 0x83, 3, 28, 0, 6,
        };
        const uint32_t head[5] = { GUINT32_TO_LE(FUNCTIONFS_DESCRIPTORS_MAGIC_V2), GUINT32_TO_LE(20 + 2 * sizeof set),
                                   GUINT32_TO_LE(FUNCTIONFS_HAS_FS_DESC | FUNCTIONFS_HAS_HS_DESC), GUINT32_TO_LE(4),
                                   GUINT32_TO_LE(4) };
        GByteArray *a = g_byte_array_new();

        g_byte_array_append(a, (const uint8_t *) head, sizeof head);
        g_byte_array_append(a, set, sizeof set);
        g_byte_array_append(a, set, sizeof set);
        return a;
}

static GByteArray *strings(const char *s)
{
        const uint32_t head[4] = { GUINT32_TO_LE(FUNCTIONFS_STRINGS_MAGIC), GUINT32_TO_LE((uint32_t) (18 + strlen(s) + 1)),
                                   GUINT32_TO_LE(1), GUINT32_TO_LE(1) };
        const uint8_t lang[2] = { 0x09, 0x04 };
        GByteArray *a = g_byte_array_new();

        g_byte_array_append(a, (const uint8_t *) head, sizeof head);
        g_byte_array_append(a, lang, 2);
        g_byte_array_append(a, (const uint8_t *) s, (guint) strlen(s) + 1);
        return a;
}

static void fixture_up(Fixture *fx, gboolean connect)
{
        g_autoptr(GByteArray) d = umtprd_descriptors(), s = strings("MTP");
        uint8_t ev[12];

        fx->ffs = ffs_new(&hooks, fx);
        g_assert_cmpint(ffs_open(fx->ffs, 0), ==, 0);
        g_assert_cmpint(ffs_open(fx->ffs, 1), ==, -ENODEV); /* no endpoint files yet */
        g_assert_cmpint(io_now(fx, 0, FALSE, d->data, d->len, NULL), ==, d->len);
        g_assert_cmpint(io_now(fx, 0, FALSE, s->data, s->len, NULL), ==, s->len);
        g_assert_cmpuint(fx->bound, ==, 1);
        g_assert_cmpuint(ffs_endpoints(fx->ffs), ==, 3);
        for (unsigned i = 1; i <= 3; i++)
                g_assert_cmpint(ffs_open(fx->ffs, i), ==, 0);
        g_assert_cmpint(io_now(fx, 0, TRUE, NULL, sizeof ev, ev), ==, 12);
        g_assert_cmpuint(ev[8], ==, FUNCTIONFS_BIND);
        if (!connect)
                return;
        ffs_connect(fx->ffs);
        g_assert_cmpint(io_now(fx, 0, TRUE, NULL, sizeof ev, ev), ==, 12);
        g_assert_cmpuint(ev[8], ==, FUNCTIONFS_ENABLE);
}

static void fixture_down(Fixture *fx)
{
        ffs_free(fx->ffs);
}

static void test_descriptors(void)
{
        Fixture fx = { 0 };
        GadgetIdentity id = { 0x1d6b, 0x0100, "Acme", "Cam", "AND-0001" };
        g_autoptr(UsbDescriptors) d = NULL;
        const uint8_t *p, *itf;
        gsize n;

        fixture_up(&fx, FALSE);
        d = gadget_descriptors(fx.ffs, &id);
        p = g_bytes_get_data(d->descriptors, &n);
        g_assert_cmpuint(n, ==, 18 + 9 + 30);
        g_assert_cmpuint(p[8] | p[9] << 8, ==, 0x1d6b);
        g_assert_cmpuint(p[18 + 2] | p[18 + 3] << 8, ==, 39); /* wTotalLength */
        g_assert_cmpuint(p[18 + 4], ==, 1);                    /* bNumInterfaces */
        itf = usb_find_descriptor(d, 4);
        g_assert_nonnull(itf);
        g_assert_cmpuint(itf[8], ==, 4); /* the function's string 1 after the gadget's three */
        g_assert_cmpstr(d->strings[itf[8]], ==, "MTP");
        g_assert_cmpstr(d->strings[3], ==, "AND-0001");
        g_assert_false(d->ms_os);
        fixture_down(&fx);
}

static void expect_rejected(const GByteArray *desc, int err)
{
        Fixture fx = { 0 };

        fx.ffs = ffs_new(&hooks, &fx);
        ffs_open(fx.ffs, 0);
        g_assert_cmpint(io_now(&fx, 0, FALSE, desc->data, desc->len, NULL), ==, err);
        g_assert_cmpuint(ffs_endpoints(fx.ffs), ==, 0);
        fixture_down(&fx);
}

static void test_bad_descriptors(void)
{
        g_autoptr(GByteArray) d = umtprd_descriptors();
        GByteArray *x;

        x = g_byte_array_new();
        g_byte_array_append(x, d->data, d->len - 1); /* wrong length */
        expect_rejected(x, -EINVAL);
        g_byte_array_unref(x);
        x = g_byte_array_new();
        g_byte_array_append(x, d->data, 12); /* too short */
        expect_rejected(x, -EINVAL);
        g_byte_array_unref(x);
        x = umtprd_descriptors();
        x->data[8] |= FUNCTIONFS_EVENTFD; /* an eventfd cannot cross FUSE */
        expect_rejected(x, -ENOSYS);
        g_byte_array_unref(x);
        x = umtprd_descriptors();
        x->data[20 + 9 + 2] = 0x80; /* endpoint number 0 */
        expect_rejected(x, -EINVAL);
        g_byte_array_unref(x);
        x = umtprd_descriptors();
        x->data[20 + 30 + 9 + 7 + 2] = 0x04; /* high speed's second endpoint differs */
        expect_rejected(x, -EINVAL);
        g_byte_array_unref(x);
        x = umtprd_descriptors();
        x->data[20 + 9] = 40; /* an endpoint descriptor running past the end */
        expect_rejected(x, -EINVAL);
        g_byte_array_unref(x);
}

static void test_bad_strings(void)
{
        g_autoptr(GByteArray) d = umtprd_descriptors(), s = strings("MTP");
        Fixture fx = { 0 };

        fx.ffs = ffs_new(&hooks, &fx);
        ffs_open(fx.ffs, 0);
        g_assert_cmpint(io_now(&fx, 0, FALSE, d->data, d->len, NULL), ==, d->len);
        s->data[s->len - 1] = 'X'; /* not terminated */
        g_assert_cmpint(io_now(&fx, 0, FALSE, s->data, s->len, NULL), ==, -EINVAL);
        s->data[s->len - 1] = 0;
        s->data[8] = 0; /* no strings, though the interface names string 1 */
        s->data[12] = 0;
        g_assert_cmpint(io_now(&fx, 0, FALSE, s->data, s->len, NULL), ==, -EINVAL);
        g_assert_cmpuint(fx.bound, ==, 0);
        fixture_down(&fx);
}

static void test_events(void)
{
        Fixture fx = { 0 };
        uint8_t ev[48];
        TestIo *wait;

        fixture_up(&fx, TRUE);
        /* Unplugged and docked again before the function read DISABLE: a replug
         * takes the bus longer than a camera takes to see the unplug, so ENABLE
         * waits until DISABLE is read (else __ffs_event_add would drop it). */
        ffs_disconnect(fx.ffs);
        ffs_connect(fx.ffs);
        g_assert_cmpint(io_now(&fx, 0, TRUE, NULL, sizeof ev, ev), ==, 12);
        g_assert_cmpuint(ev[8], ==, FUNCTIONFS_DISABLE);
        g_assert_cmpint(io_now(&fx, 0, TRUE, NULL, sizeof ev, ev), ==, 12);
        g_assert_cmpuint(ev[8], ==, FUNCTIONFS_ENABLE);
        /* and undocked again meanwhile: no ENABLE */
        ffs_disconnect(fx.ffs);
        ffs_connect(fx.ffs);
        ffs_disconnect(fx.ffs);
        g_assert_cmpint(io_now(&fx, 0, TRUE, NULL, sizeof ev, ev), ==, 12);
        g_assert_cmpuint(ev[8], ==, FUNCTIONFS_DISABLE);
        g_assert_cmpuint(ffs_poll(fx.ffs, 0) & POLLIN, ==, 0);
        ffs_connect(fx.ffs);
        io_now(&fx, 0, TRUE, NULL, sizeof ev, ev);
        /* a blocked event read ends with the next event */
        wait = io_new(0, TRUE, NULL, sizeof ev);
        g_assert_cmpint(ffs_io(fx.ffs, &wait->io), ==, -EINPROGRESS);
        ffs_disconnect(fx.ffs);
        g_assert_true(wait->done);
        g_assert_cmpint(wait->result, ==, 12);
        g_assert_cmpuint(wait->io.buf[8], ==, FUNCTIONFS_DISABLE);
        io_free(wait);
        /* a port reset: DISABLE, and ENABLE once the function read it */
        ffs_connect(fx.ffs);
        io_now(&fx, 0, TRUE, NULL, sizeof ev, ev);
        ffs_usb_ops.reset(fx.ffs);
        g_assert_cmpint(io_now(&fx, 0, TRUE, NULL, sizeof ev, ev), ==, 12);
        g_assert_cmpuint(ev[8], ==, FUNCTIONFS_DISABLE);
        g_assert_cmpint(io_now(&fx, 0, TRUE, NULL, sizeof ev, ev), ==, 12);
        g_assert_cmpuint(ev[8], ==, FUNCTIONFS_ENABLE);
        g_assert_cmpint(io_now(&fx, 0, TRUE, NULL, 11, NULL), ==, -EINVAL); /* less than one event */
        fixture_down(&fx);
}

static void test_control_in(void)
{
        Fixture fx = { 0 };
        const uint8_t get_status[8] = { 0xA1, 0x67, 0, 0, 0, 0, 4, 0 }; /* MTP GET_DEVICE_STATUS */
        const uint8_t answer[4] = { 4, 0, 0x01, 0x20 };
        uint8_t ev[12], data[4] = { 0 };

        fixture_up(&fx, TRUE);
        g_assert_cmpint(ffs_usb_ops.control(fx.ffs, get_status, data, 4), ==, -EINPROGRESS);
        g_assert_cmpint(ffs_usb_ops.control_poll(fx.ffs, data, 4), ==, -EINPROGRESS);
        g_assert_cmpint(io_now(&fx, 0, FALSE, answer, 4, NULL), ==, -ESRCH); /* the SETUP is not read yet */
        g_assert_cmpint(io_now(&fx, 0, TRUE, NULL, sizeof ev, ev), ==, 12);
        g_assert_cmpuint(ev[8], ==, FUNCTIONFS_SETUP);
        g_assert_cmpmem(ev, 8, get_status, 8);
        g_assert_cmpint(io_now(&fx, 0, FALSE, answer, 4, NULL), ==, 4);
        g_assert_cmpint(ffs_usb_ops.control_poll(fx.ffs, data, 4), ==, 4);
        g_assert_cmpmem(data, 4, answer, 4);
        /* umtprd's stall of an IN request: read(ep0, buf, 0) */
        g_assert_cmpint(ffs_usb_ops.control(fx.ffs, get_status, data, 4), ==, -EINPROGRESS);
        io_now(&fx, 0, TRUE, NULL, sizeof ev, ev);
        g_assert_cmpint(io_now(&fx, 0, TRUE, NULL, 0, NULL), ==, -EL2HLT);
        g_assert_cmpint(ffs_usb_ops.control_poll(fx.ffs, data, 4), ==, -EPIPE);
        fixture_down(&fx);
}

static void test_control_out(void)
{
        Fixture fx = { 0 };
        const uint8_t cancel[8] = { 0x21, 0x64, 0, 0, 0, 0, 6, 0 }; /* MTP Cancel Request */
        const uint8_t vendor[8] = { 0xC0, 0xFE, 0, 0, 4, 0, 40, 0 }; /* MS OS, to the device */
        uint8_t data[6] = { 0x01, 0x40, 7, 0, 0, 0 }, ev[12], got[6];

        fixture_up(&fx, TRUE);
        g_assert_cmpint(ffs_usb_ops.control(fx.ffs, vendor, data, 40), ==, -EPIPE);
        g_assert_cmpint(ffs_usb_ops.control(fx.ffs, cancel, data, 6), ==, -EINPROGRESS);
        io_now(&fx, 0, TRUE, NULL, sizeof ev, ev);
        g_assert_cmpint(io_now(&fx, 0, TRUE, NULL, 6, got), ==, 6); /* the data stage */
        g_assert_cmpmem(got, 6, data, 6);
        g_assert_cmpint(ffs_usb_ops.control_poll(fx.ffs, got, 6), ==, 0);
        /* the host gives up before the function answers: its answer gets EIDRM */
        g_assert_cmpint(ffs_usb_ops.control(fx.ffs, cancel, data, 6), ==, -EINPROGRESS);
        io_now(&fx, 0, TRUE, NULL, sizeof ev, ev);
        ffs_usb_ops.cancel(fx.ffs, 0);
        g_assert_cmpint(io_now(&fx, 0, TRUE, NULL, 0, NULL), ==, -EIDRM);
        g_assert_cmpuint(ffs_poll(fx.ffs, 0) & POLLIN, ==, 0); /* and no event is left */
        fixture_down(&fx);
}

static void test_bulk_in(void)
{
        Fixture fx = { 0 };
        uint8_t big[1024], buf[4096];
        TestIo *a, *b, *zlp;
        gboolean ended;

        for (unsigned i = 0; i < sizeof big; i++)
                big[i] = (uint8_t) i;
        fixture_up(&fx, TRUE);
        g_assert_cmpint(ffs_usb_ops.in(fx.ffs, 0x81, buf, sizeof buf, &ended), ==, -EAGAIN); /* NAK */
        /* two full packets do not end the transfer; the next write's short packet does */
        a = io_new(1, FALSE, big, 1024);
        g_assert_cmpint(ffs_io(fx.ffs, &a->io), ==, -EINPROGRESS);
        g_assert_cmpint(ffs_usb_ops.in(fx.ffs, 0x81, buf, sizeof buf, &ended), ==, 1024);
        g_assert_false(ended);
        g_assert_true(a->done && a->result == 1024);
        b = io_new(1, FALSE, big, 100);
        ffs_io(fx.ffs, &b->io);
        g_assert_cmpint(ffs_usb_ops.in(fx.ffs, 0x81, buf + 1024, sizeof buf - 1024, &ended), ==, 100);
        g_assert_true(ended && b->done);
        g_assert_cmpmem(buf, 1024, big, 1024);
        /* a ZLP after a full packet (umtprd's check_and_send_USB_ZLP, via ffs-zero.c) */
        io_free(a);
        io_free(b);
        a = io_new(1, FALSE, big, 512);
        zlp = io_new(1, FALSE, NULL, 0);
        ffs_io(fx.ffs, &a->io);
        ffs_io(fx.ffs, &zlp->io);
        g_assert_cmpint(ffs_usb_ops.in(fx.ffs, 0x81, buf, sizeof buf, &ended), ==, 512);
        g_assert_true(ended && zlp->done && zlp->result == 0);
        /* a URB of one packet takes a packet at a time */
        io_free(a);
        a = io_new(1, FALSE, big, 1000);
        ffs_io(fx.ffs, &a->io);
        g_assert_cmpint(ffs_usb_ops.in(fx.ffs, 0x81, buf, 512, &ended), ==, 512);
        g_assert_false(ended || a->done);
        /* less room than the next packet: babble */
        g_assert_cmpint(ffs_usb_ops.in(fx.ffs, 0x81, buf, 100, &ended), ==, -EOVERFLOW);
        g_assert_true(a->done);
        io_free(a);
        io_free(zlp);
        fixture_down(&fx);
}

static void test_bulk_out(void)
{
        Fixture fx = { 0 };
        uint8_t cmd[24] = { 24, 0, 0, 0, 1, 0, 0x07, 0x10 }, packets[1024] = { 0 };
        TestIo *r = io_new(2, TRUE, NULL, 65536);

        fixture_up(&fx, TRUE);
        g_assert_cmpint(ffs_usb_ops.out(fx.ffs, 0x02, cmd, sizeof cmd, FALSE), ==, -EAGAIN); /* no read: NAK */
        ffs_io(fx.ffs, &r->io);
        g_assert_cmpint(ffs_usb_ops.out(fx.ffs, 0x02, cmd, sizeof cmd, TRUE), ==, 24); /* a short packet ends the read */
        g_assert_true(r->done && r->result == 24);
        g_assert_cmpmem(r->io.buf, 24, cmd, 24);
        io_free(r);
        /* full packets, then a ZLP */
        r = io_new(2, TRUE, NULL, 65536);
        ffs_io(fx.ffs, &r->io);
        g_assert_cmpint(ffs_usb_ops.out(fx.ffs, 0x02, packets, 1024, FALSE), ==, 1024);
        g_assert_false(r->done);
        g_assert_cmpint(ffs_usb_ops.out(fx.ffs, 0x02, NULL, 0, TRUE), ==, 0);
        g_assert_true(r->done && r->result == 1024);
        io_free(r);
        /* a read smaller than the transfer ends full; the rest waits for the next read */
        r = io_new(2, TRUE, NULL, 512);
        ffs_io(fx.ffs, &r->io);
        g_assert_cmpint(ffs_usb_ops.out(fx.ffs, 0x02, packets, 1024, FALSE), ==, 512);
        g_assert_true(r->done && r->result == 512);
        io_free(r);
        fixture_down(&fx);
}

static void test_halt_interrupt_disconnect(void)
{
        Fixture fx = { 0 };
        uint8_t buf[512];
        gboolean ended;
        TestIo *r = io_new(2, TRUE, NULL, 512), *w = io_new(1, FALSE, buf, 16);

        fixture_up(&fx, TRUE);
        /* reading an IN endpoint halts it (ffs_epfile_io) */
        g_assert_cmpint(io_now(&fx, 1, TRUE, NULL, 16, NULL), ==, -EBADMSG);
        g_assert_cmpint(ffs_usb_ops.in(fx.ffs, 0x81, buf, sizeof buf, &ended), ==, -EPIPE);
        g_assert_false(ffs_usb_ops.clear_halt(fx.ffs, 0x81));
        g_assert_cmpint(ffs_usb_ops.in(fx.ffs, 0x81, buf, sizeof buf, &ended), ==, -EAGAIN);
        /* a signal ends a waiting read */
        ffs_io(fx.ffs, &r->io);
        ffs_interrupt(fx.ffs, r);
        g_assert_true(r->done && r->result == -EINTR);
        /* DISABLE ends what waits with ESHUTDOWN */
        ffs_io(fx.ffs, &w->io);
        ffs_disconnect(fx.ffs);
        g_assert_true(w->done && w->result == -ESHUTDOWN);
        /* closing every file unbinds */
        for (unsigned i = 0; i <= 3; i++)
                ffs_release(fx.ffs, i);
        g_assert_cmpuint(fx.unbound, ==, 1);
        g_assert_cmpuint(ffs_endpoints(fx.ffs), ==, 0);
        io_free(r);
        io_free(w);
        fixture_down(&fx);
}

/* umtprd's I/O thread between two transfers when the bus goes (it wrote a
 * response and has not read the next command yet): on a camera it reads
 * again within microseconds, before any reset or unplug, and that read ends
 * ESHUTDOWN. Here it may come later, even after the host is back: it ends
 * ESHUTDOWN all the same, once per endpoint; after the function read ENABLE,
 * I/O waits for the host. */
static void test_disconnect_between_transfers(void)
{
        Fixture fx = { 0 };
        uint8_t ev[12], cmd[12] = { 12, 0, 0, 0, 1, 0, 0x02, 0x10 };
        TestIo *r;

        fixture_up(&fx, TRUE);
        /* a port reset: ENABLE follows at once, and the late read still ends */
        ffs_usb_ops.reset(fx.ffs);
        io_now(&fx, 0, TRUE, NULL, sizeof ev, ev); /* DISABLE */
        g_assert_cmpuint(ev[8], ==, FUNCTIONFS_DISABLE);
        g_assert_cmpint(io_now(&fx, 2, TRUE, NULL, 512, NULL), ==, -ESHUTDOWN);
        g_assert_cmpint(io_now(&fx, 1, FALSE, cmd, 12, NULL), ==, -ESHUTDOWN);
        io_now(&fx, 0, TRUE, NULL, sizeof ev, ev);
        g_assert_cmpuint(ev[8], ==, FUNCTIONFS_ENABLE);
        r = io_new(2, TRUE, NULL, 512);
        g_assert_cmpint(ffs_io(fx.ffs, &r->io), ==, -EINPROGRESS);
        g_assert_cmpint(ffs_usb_ops.out(fx.ffs, 0x02, cmd, sizeof cmd, TRUE), ==, 12);
        g_assert_true(r->done && r->result == 12);
        io_free(r);
        /* a read that waited when the bus went ends at once; nothing is left late */
        r = io_new(2, TRUE, NULL, 512);
        ffs_io(fx.ffs, &r->io);
        ffs_disconnect(fx.ffs);
        g_assert_true(r->done && r->result == -ESHUTDOWN);
        io_free(r);
        io_now(&fx, 0, TRUE, NULL, sizeof ev, ev);
        ffs_connect(fx.ffs);
        io_now(&fx, 0, TRUE, NULL, sizeof ev, ev);
        g_assert_cmpuint(ev[8], ==, FUNCTIONFS_ENABLE);
        r = io_new(2, TRUE, NULL, 512);
        g_assert_cmpint(ffs_io(fx.ffs, &r->io), ==, -EINPROGRESS);
        g_assert_false(r->done);
        ffs_interrupt(fx.ffs, r);
        io_free(r);
        fixture_down(&fx);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/ffs/descriptors", test_descriptors);
        g_test_add_func("/ffs/bad-descriptors", test_bad_descriptors);
        g_test_add_func("/ffs/bad-strings", test_bad_strings);
        g_test_add_func("/ffs/events", test_events);
        g_test_add_func("/ffs/control-in", test_control_in);
        g_test_add_func("/ffs/control-out", test_control_out);
        g_test_add_func("/ffs/bulk-in", test_bulk_in);
        g_test_add_func("/ffs/bulk-out", test_bulk_out);
        g_test_add_func("/ffs/halt-interrupt-disconnect", test_halt_interrupt_disconnect);
        g_test_add_func("/ffs/disconnect-between-transfers", test_disconnect_between_transfers);
        return g_test_run();
}
