/* responder-usb.c: the Responder behind a UsbDev (responder-usb.h). The
 * responder answers whole transfers: each IN call ends one. */
#include "responder-usb.h"

#include <errno.h>

static ssize_t r_out(gpointer fn, uint8_t ep, const uint8_t *data, size_t len, gboolean end)
{
        int r;

        if (ep != EP_BULK_OUT)
                return -EINVAL;
        r = responder_bulk_out(fn, data, len);
        return r < 0 ? r : (ssize_t) len;
}

static ssize_t r_in(gpointer fn, uint8_t ep, uint8_t *buf, size_t maxlen, gboolean *ended)
{
        *ended = TRUE;
        if (ep == EP_INTR_IN)
                return responder_interrupt_in(fn, buf, maxlen);
        if (ep == EP_BULK_IN)
                return responder_bulk_in(fn, buf, maxlen);
        return -EINVAL;
}

static int r_control(gpointer fn, const uint8_t setup[8], uint8_t *data, uint16_t length)
{
        if ((setup[0] & 0x60) != 0x20)
                return -EPIPE;
        return responder_class_request(fn, setup[0], setup[1], (uint16_t) (setup[2] | setup[3] << 8),
                                       (uint16_t) (setup[4] | setup[5] << 8), data, length);
}

static int r_control_poll(gpointer fn, uint8_t *data, uint16_t length)
{
        return -EPIPE; /* never in progress */
}

static void r_cancel(gpointer fn, uint8_t ep)
{
}

static gboolean r_clear_halt(gpointer fn, uint8_t ep)
{
        responder_clear_halt(fn, ep);
        return responder_hung(fn);
}

static void r_reset(gpointer fn)
{
        responder_power_cycle(fn);
}

static void r_tick(gpointer fn)
{
        responder_tick(fn);
}

static Trigger *r_take_trigger(gpointer fn)
{
        return responder_take_trigger(fn);
}

static void r_stall(gpointer fn)
{
        responder_stall(fn);
}

const UsbFunctionOps responder_usb_ops = {
        .out = r_out,
        .in = r_in,
        .control = r_control,
        .control_poll = r_control_poll,
        .cancel = r_cancel,
        .clear_halt = r_clear_halt,
        .reset = r_reset,
        .tick = r_tick,
        .take_trigger = r_take_trigger,
        .stall = r_stall,
};
