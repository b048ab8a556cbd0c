/* SPDX-License-Identifier: Apache-2.0 */
/* ptp-transport.h: PTP transactions over USB bulk endpoints with libusb's
 * asynchronous API (protocol §2, §3, §10): one transaction at a time, data-in
 * streamed to a sink or buffered, data-out, response, events on the interrupt
 * endpoint, stall detection, and recovery with the class requests. */
#pragma once

#include <libusb.h>
#include <systemd/sd-event.h>

#include "ptp.h"
#include "usb.h"

typedef struct PtpTransport PtpTransport;

typedef struct PtpEndpoints {
        int interface;
        uint8_t bulk_in;
        uint8_t bulk_out;
        uint8_t interrupt_in;      /* 0: none */
        uint16_t max_packet;       /* of bulk in */
} PtpEndpoints;

typedef struct PtpTransportConfig {
        usec_t command_timeout;    /* command and response phases */
        usec_t stall_timeout;      /* no progress in a data phase */
        size_t transfer_size;      /* bytes per bulk IN transfer */
        unsigned transfers_in_flight;
} PtpTransportConfig;

/* Object data as it arrives, in order. Return < 0 to abort the transaction
 * (the transport then needs ptp_transport_recover()). */
typedef int (*ptp_sink_t)(const uint8_t *data, size_t size, void *userdata);

typedef struct PtpTransaction {
        uint16_t code;
        uint32_t params[PTP_MAX_PARAMS];
        unsigned n_params;
        bool tid_zero;             /* GetDeviceInfo/OpenSession outside a session */
        const uint8_t *data_out;   /* data-out payload, NULL for none */
        size_t data_out_size;
        ptp_sink_t sink;           /* data-in: streamed here; NULL: buffered */
        void *sink_userdata;
        size_t max_data_in;        /* buffered data-in limit; sinks: max payload */
} PtpTransaction;

/* error: 0 and response set (check response->code); or -ENODEV (gone), -ETIMEDOUT
 * (stalled), -EPROTO (malformed container or wrong phase; message in log at debug),
 * -EMSGSIZE (more data than allowed: read to its end and dropped, the transport
 * stays usable), -ECANCELED (sink aborted), -EPIPE (endpoint
 * stalled). data/size: the buffered data-in payload, valid during the call. */
typedef void (*ptp_done_t)(PtpTransport *t, int error, const PtpContainer *response,
                           const uint8_t *data, size_t size, void *userdata);
typedef void (*ptp_event_t)(PtpTransport *t, const PtpContainer *event, void *userdata);
typedef void (*ptp_recovered_t)(PtpTransport *t, int error, void *userdata);

/* Takes ownership of handle (with the interface claimed): closed when the
 * transport is finally gone. Runs on usb's event loop and reports to it. */
int ptp_transport_new(UsbManager *usb, libusb_device_handle *handle, const PtpEndpoints *ep,
                      const PtpTransportConfig *config, PtpTransport **ret);
/* Cancels everything; the callbacks are not called. Transfers still owned by
 * libusb are released as they come back; the handle closes after the last one. */
PtpTransport *ptp_transport_free(PtpTransport *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(PtpTransport *, ptp_transport_free);

int ptp_transport_submit(PtpTransport *t, const PtpTransaction *tx, ptp_done_t cb, void *userdata);
bool ptp_transport_busy(PtpTransport *t);
/* A transaction failed and ptp_transport_recover() has not yet fixed it. */
bool ptp_transport_broken(PtpTransport *t);
/* After a failed transaction: discard queued transfers, Cancel the transaction if
 * one was in flight, clear halted endpoints, Device Reset (which closes the PTP
 * session). 0: under way, cb is called later, from the loop, once; < 0 (the
 * camera is gone, busy, or its first request cannot be sent): nothing started,
 * cb is never called. */
int ptp_transport_recover(PtpTransport *t, ptp_recovered_t cb, void *userdata);
/* Transaction IDs: after OpenSession the next ID is 1. */
void ptp_transport_session_opened(PtpTransport *t);
void ptp_transport_set_event_handler(PtpTransport *t, ptp_event_t cb, void *userdata);
/* Bytes of data-in received in total (statistics: bytes pulled). */
uint64_t ptp_transport_bytes_in(PtpTransport *t);

/* Find the still-image interface of a device: class 06/01/01 with bulk in, bulk
 * out and optionally interrupt in endpoints. */
int ptp_find_endpoints(libusb_device *dev, PtpEndpoints *ret);
