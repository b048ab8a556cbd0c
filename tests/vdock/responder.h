/* responder.h: the camera side of PTP over USB (docs/camera-protocol.md),
 * transport-free: bytes in, bytes out, clock injected. The umockdev glue
 * (usbdev.c) feeds it URBs; unit tests feed it hostile bytes directly. */
#pragma once
#include <sys/types.h>

#include "camera.h"
#include "vclock.h"

enum {
        EP_BULK_OUT = 0x01,
        EP_BULK_IN = 0x82,
        EP_INTR_IN = 0x83,
};

typedef struct Responder Responder;

Responder *responder_new(Camera *cam, const VClock *clock, unsigned max_packet);
void responder_free(Responder *r);

/* One host → device bulk OUT transfer. Returns 0, or -EPIPE if halted. */
int responder_bulk_out(Responder *r, const uint8_t *data, size_t len);
/* One device → host bulk IN transfer of at most maxlen bytes: returns the
 * number of bytes (0 is a zero-length packet), -EAGAIN when the device has
 * nothing to send (NAK), -EPIPE when the endpoint is halted. */
ssize_t responder_bulk_in(Responder *r, uint8_t *buf, size_t maxlen);
/* Interrupt IN: one event container, or -EAGAIN. */
ssize_t responder_interrupt_in(Responder *r, uint8_t *buf, size_t maxlen);
/* Class requests of §10. Returns bytes of IN data, 0, or -EPIPE (request error). */
int responder_class_request(Responder *r, uint8_t request_type, uint8_t request, uint16_t value,
                            uint16_t index, uint8_t *data, uint16_t length);
/* §10: discard the transaction, halt both bulk endpoints. */
void responder_stall(Responder *r);
gboolean responder_halted(Responder *r, uint8_t ep);
void responder_clear_halt(Responder *r, uint8_t ep);
/* Work that depends on time (self-test completion). */
void responder_tick(Responder *r);
/* A byte/operation trigger that fired during the last call, or NULL. */
Trigger *responder_take_trigger(Responder *r);
gboolean responder_session_open(Responder *r);
gboolean responder_hung(Responder *r);
/* A port power cycle or disconnect: the camera forgets session and phases. */
void responder_power_cycle(Responder *r);
