/* SPDX-License-Identifier: Apache-2.0 */
/* ptp-transport.c: PTP over USB bulk transfers (protocol §2, §3, §10).
 *
 * The bulk IN endpoint is treated as a stream of phases: a transaction expects a
 * Data container (optional) and then a Response container. IN transfers are
 * kept queued (transfers_in_flight of them, each transfer_size bytes) while a
 * transaction needs IN bytes, and completions are consumed strictly in order. A
 * phase ends at the length its header announced or at a short packet; a
 * zero-length packet after a full-sized phase is skipped. Everything read from the
 * camera is checked before use: header length, type, code, transaction ID, and the
 * data length against the caller's limit. Any failure leaves the transport
 * "broken" until ptp_transport_recover() (Cancel, Get Device Status, clear halts,
 * Device Reset) brings the camera back to a known state. */
#include <libusb.h>

#include "failpoint.h"
#include "log.h"
#include "ptp-transport.h"
#include "usb.h"

typedef enum InState {
        IN_IDLE,
        IN_HEADER,     /* expecting a Data or Response container */
        IN_DATA,       /* inside the data phase */
        IN_RESPONSE,   /* expecting the Response container */
} InState;

typedef enum RecoverStep {
        RECOVER_NONE,
        RECOVER_DRAIN,
        RECOVER_CANCEL,
        RECOVER_STATUS,
        RECOVER_RESET,
} RecoverStep;

typedef struct InTransfer {
        struct libusb_transfer *xfer;
        uint64_t seq;
        bool busy;
} InTransfer;

struct PtpTransport {
        sd_event *event;
        libusb_device_handle *handle;
        PtpEndpoints ep;
        PtpTransportConfig cfg;

        InTransfer *in;
        uint64_t in_submit_seq, in_complete_seq;
        struct libusb_transfer *out;
        uint8_t *out_buf;
        size_t out_alloc;
        bool out_busy;
        /* A command waiting for the previous OUT transfer to come back: the camera's
         * response can be reaped before our command's own OUT completion. */
        uint8_t queued_cmd[PTP_COMMAND_MAX_SIZE];
        size_t queued_cmd_size;
        uint16_t queued_code;       /* its operation */
        bool oversize;              /* this data phase is more than max_data_in: dropped */
        uint16_t out_code;          /* operation of the command in the out transfer, 0: not a command */
        /* The out transfer carries the command or data of the transaction in
         * flight, not the command of one that has already been answered: only
         * its completion may send the data phase or fail the transaction. */
        bool out_current;
        struct libusb_transfer *intr;
        bool intr_busy;
        struct libusb_transfer *ctrl;
        bool ctrl_busy;
        unsigned n_busy;

        /* the transaction in flight */
        bool active;
        PtpTransaction tx;
        ptp_done_t cb;
        void *userdata;
        uint32_t tid, next_tid;
        bool data_out_pending;
        InState in_state;
        uint64_t data_len;       /* payload bytes announced; UINT64_MAX unknown */
        uint64_t data_got;
        uint8_t *buf;
        size_t buf_size, buf_alloc;
        uint32_t failed_tid;
        bool failed_mid_transaction;

        sd_event_source *timer;
        bool broken, gone, dying, halted;
        uint64_t bytes_in;

        RecoverStep recover_step;
        unsigned recover_tries;
        ptp_recovered_t recover_cb;
        void *recover_userdata;

        ptp_event_t event_cb;
        void *event_userdata;

        sd_event_source *reap;      /* destroys us outside libusb's callbacks */
        sd_event_source *top_up;    /* queues IN transfers again, from the loop */
        sd_event_source *kick;      /* sends a submitted transaction's command, from the loop */
        bool command_pending;
        UsbManager *usb;            /* keeps the books; buries us */
        UsbGrave grave;
};

static void transport_destroy(PtpTransport *t) {
        for (unsigned i = 0; t->in && i < t->cfg.transfers_in_flight; i++)
                if (t->in[i].xfer) {
                        free(t->in[i].xfer->buffer);
                        libusb_free_transfer(t->in[i].xfer);
                }
        free(t->in);
        libusb_free_transfer(t->out);
        free(t->out_buf);
        if (t->intr) {
                free(t->intr->buffer);
                libusb_free_transfer(t->intr);
        }
        if (t->ctrl) {
                free(t->ctrl->buffer);
                libusb_free_transfer(t->ctrl);
        }
        sd_event_source_disable_unref(t->timer);
        sd_event_source_disable_unref(t->reap);
        sd_event_source_disable_unref(t->top_up);
        sd_event_source_disable_unref(t->kick);
        if (t->handle) {
                (void) libusb_release_interface(t->handle, t->ep.interface);
                libusb_close(t->handle);
        }
        sd_event_unref(t->event);
        usb_manager_transport_removed(t->usb);
        free(t->buf);
        free(t);
}

static void transport_grave_destroy(UsbGrave *g) {
        transport_destroy((PtpTransport *) ((uint8_t *) g - offsetof(PtpTransport, grave)));
}

static int on_reap(sd_event_source *s, void *userdata) {
        PtpTransport *t = userdata;

        usb_manager_reap(t->usb);
        return 0;
}

static void transport_bury(PtpTransport *t) {
        usb_manager_bury(t->usb, &t->grave);
        if (t->reap)
                (void) sd_event_source_set_enabled(t->reap, SD_EVENT_ONESHOT);
}

/* Called whenever a transfer comes back: while dying, the last one buries us. */
static bool transfer_returned(PtpTransport *t) {
        t->n_busy--;
        if (t->dying) {
                if (t->n_busy == 0)
                        transport_bury(t);
                return true;
        }
        return false;
}

static int status_to_errno(enum libusb_transfer_status s) {
        switch (s) {
        case LIBUSB_TRANSFER_COMPLETED: return 0;
        case LIBUSB_TRANSFER_TIMED_OUT: return -ETIMEDOUT;
        case LIBUSB_TRANSFER_CANCELLED: return -ECANCELED;
        case LIBUSB_TRANSFER_STALL: return -EPIPE;
        case LIBUSB_TRANSFER_NO_DEVICE: return -ENODEV;
        case LIBUSB_TRANSFER_OVERFLOW: return -EOVERFLOW;
        default: return -EIO;
        }
}

/* Every transfer callback starts here: the transfer is ours again. Returns true
 * when the transport is being destroyed (nothing more to do); else *ret is the
 * transfer's outcome as an errno. */
static bool transfer_back(PtpTransport *t, struct libusb_transfer *xfer, bool *busy, int *ret) {
        *busy = false;
        if (transfer_returned(t))
                return true;
        *ret = status_to_errno(xfer->status);
        if (*ret == -ENODEV)
                t->gone = true;
        if (*ret == -EPIPE)
                t->halted = true;
        return false;
}

static void timer_arm(PtpTransport *t, usec_t timeout) {
        (void) sd_event_source_set_time_relative(t->timer, timeout);
        (void) sd_event_source_set_enabled(t->timer, SD_EVENT_ONESHOT);
}

static void timer_disarm(PtpTransport *t) {
        (void) sd_event_source_set_enabled(t->timer, SD_EVENT_OFF);
}

static void cancel_bulk(PtpTransport *t) {
        t->queued_cmd_size = 0;
        for (unsigned i = 0; i < t->cfg.transfers_in_flight; i++)
                if (t->in[i].busy)
                        (void) libusb_cancel_transfer(t->in[i].xfer);
        if (t->out_busy)
                (void) libusb_cancel_transfer(t->out);
}

static void transaction_finish(PtpTransport *t, int error, const PtpContainer *response) {
        ptp_done_t cb = t->cb;
        void *userdata = t->userdata;

        timer_disarm(t);
        t->active = false;
        t->command_pending = false;
        t->out_current = false;
        t->in_state = IN_IDLE;
        if (error == -EMSGSIZE && response) {
                /* Dropped to its end and answered: in step. */
                if (!t->tx.tid_zero)
                        t->next_tid = t->next_tid >= 0xFFFFFFFEu ? 1 : t->next_tid + 1;
        } else if (error < 0) {
                /* The stream is out of step with the camera: nothing more until
                 * recovery, and queued IN transfers must not be read as the next
                 * transaction's bytes. */
                t->broken = true;
                t->failed_tid = t->tid;
                t->failed_mid_transaction = true;
                cancel_bulk(t);
        } else if (!t->tx.tid_zero)
                t->next_tid = t->next_tid >= 0xFFFFFFFEu ? 1 : t->next_tid + 1;
        t->cb = NULL;
        if (cb)
                cb(t, error, response, t->buf, t->buf_size, userdata);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        PtpTransport *t = userdata;

        if (t->active) {
                log_debug("PTP %s (transaction %u): no progress, timed out.",
                          ptp_operation_to_string(t->tx.code), t->tid);
                transaction_finish(t, -ETIMEDOUT, NULL);
        }
        return 0;
}

static void on_in(struct libusb_transfer *xfer);
static void recover_step(PtpTransport *t);

static bool bulk_busy(PtpTransport *t) {
        for (unsigned i = 0; i < t->cfg.transfers_in_flight; i++)
                if (t->in[i].busy)
                        return true;
        return t->out_busy;
}

/* During recovery, continue once every cancelled bulk transfer is back. */
static void drain_check(PtpTransport *t) {
        if (t->recover_step == RECOVER_DRAIN && !bulk_busy(t))
                recover_step(t);
}

static int in_submit_one(PtpTransport *t) {
        for (unsigned i = 0; i < t->cfg.transfers_in_flight; i++) {
                InTransfer *it = &t->in[i];
                int r;

                if (it->busy)
                        continue;
                libusb_fill_bulk_transfer(it->xfer, t->handle, t->ep.bulk_in, it->xfer->buffer,
                                          (int) t->cfg.transfer_size, on_in, t, 0);
                r = libusb_submit_transfer(it->xfer);
                if (r < 0)
                        return usb_error_to_errno(r);
                it->busy = true;
                it->seq = t->in_submit_seq++;
                t->n_busy++;
                return 1;
        }
        return 0;
}

/* Keep enough IN transfers queued for what the transaction still expects. */
static int in_top_up(PtpTransport *t) {
        unsigned busy = 0, want;

        for (unsigned i = 0; i < t->cfg.transfers_in_flight; i++)
                busy += t->in[i].busy;
        want = t->in_state == IN_DATA || t->in_state == IN_HEADER ? t->cfg.transfers_in_flight : 1;
        while (busy < want) {
                int r = in_submit_one(t);
                if (r <= 0)
                        return r;
                busy++;
        }
        return 0;
}

static int data_deliver(PtpTransport *t, const uint8_t *p, size_t n) {
        if (n == 0)
                return 0;
        if (t->data_got + n > t->tx.max_data_in)
                t->oversize = true;
        t->data_got += n;
        t->bytes_in += n;
        if (t->oversize)
                return 0;   /* read to its end and dropped: see in_header() */
        if (t->tx.sink) {
                int r;

                /* An object's bytes, inside its data phase: the camera still has the rest to send. */
                failpoint("pull-data");
                r = t->tx.sink(p, n, t->tx.sink_userdata);
                return r < 0 ? -ECANCELED : 0;
        }
        if (t->buf_size + n > t->buf_alloc) {
                size_t a = MAX(t->buf_alloc * 2, t->buf_size + n);
                uint8_t *b = realloc(t->buf, a);
                if (!b)
                        return -ENOMEM;
                t->buf = b;
                t->buf_alloc = a;
        }
        memcpy(t->buf + t->buf_size, p, n);
        t->buf_size += n;
        return 0;
}

/* A container header at the start of a phase. */
static int in_header(PtpTransport *t, const uint8_t *p, size_t n, size_t *consumed) {
        PtpContainer c;
        int r;

        if (n < PTP_HEADER_SIZE)
                return log_debug_errno(EPROTO, "PTP: %zu-byte transfer where a container header was due.", n);
        r = ptp_header_parse(p, n, &c);
        if (r < 0)
                return log_debug_errno(EPROTO, "PTP: malformed container header.");
        if (c.type == PTP_TYPE_RESPONSE) {
                r = ptp_response_parse(p, n, &c);
                if (r < 0)
                        return log_debug_errno(EPROTO, "PTP: malformed response container (%zu bytes).", n);
                if (c.transaction_id != t->tid)
                        return log_debug_errno(EPROTO, "PTP: response for transaction %u, expected %u.",
                                               c.transaction_id, t->tid);
                if (t->data_out_pending)
                        return log_debug_errno(EPROTO, "PTP: response before our data phase was sent.");
                *consumed = n;
                transaction_finish(t, t->oversize ? -EMSGSIZE : 0, &c);
                return 1;
        }
        if (c.type != PTP_TYPE_DATA || t->in_state != IN_HEADER)
                return log_debug_errno(EPROTO, "PTP: container type %u where %s was due.", c.type,
                                       t->in_state == IN_HEADER ? "data or response" : "a response");
        if (c.code != t->tx.code || c.transaction_id != t->tid)
                return log_debug_errno(EPROTO, "PTP: data container %04x/%u for %04x/%u.", c.code,
                                       c.transaction_id, t->tx.code, t->tid);
        if (c.length < PTP_HEADER_SIZE)
                return log_debug_errno(EPROTO, "PTP: data container length %u.", c.length);
        t->data_len = c.length == PTP_LENGTH_UNKNOWN ? UINT64_MAX : c.length - PTP_HEADER_SIZE;
        /* More than the caller takes: the phase is still read to its end (and
         * dropped), so that the transport stays in step with the camera and one
         * oversized object costs that transaction only (-EMSGSIZE), not the
         * camera. The command timeout bounds how long that may take. */
        if (t->data_len != UINT64_MAX && t->data_len > t->tx.max_data_in) {
                log_debug("PTP: data phase of %" PRIu64 " bytes, at most %zu taken; dropping it.", t->data_len,
                          t->tx.max_data_in);
                t->oversize = true;
        }
        t->data_got = 0;
        t->in_state = IN_DATA;
        *consumed = PTP_HEADER_SIZE;
        return 0;
}

static int in_process(PtpTransport *t, const uint8_t *p, size_t n, bool short_transfer) {
        size_t off = 0;
        int r;

        if (t->in_state == IN_HEADER || t->in_state == IN_RESPONSE) {
                if (n == 0)
                        return 0;   /* the zero-length packet ending a full-sized phase */
                r = in_header(t, p, n, &off);
                if (r != 0)
                        return r;   /* error, or the transaction completed */
        }
        if (t->in_state != IN_DATA)
                return -EPROTO;

        if (t->data_len != UINT64_MAX && t->data_got + (n - off) > t->data_len)
                return log_debug_errno(EPROTO, "PTP: data phase longer than its header announced.");
        r = data_deliver(t, p + off, n - off);
        if (r < 0)
                return r;
        if (t->data_len != UINT64_MAX && t->data_got == t->data_len) {
                t->in_state = IN_RESPONSE;
                return 0;
        }
        if (short_transfer) {
                if (t->data_len != UINT64_MAX)
                        return log_debug_errno(EPROTO, "PTP: data phase ended after %" PRIu64 " of %" PRIu64 " bytes.",
                                               t->data_got, t->data_len);
                t->in_state = IN_RESPONSE;
        }
        return 0;
}

static void on_in(struct libusb_transfer *xfer) {
        PtpTransport *t = xfer->user_data;
        InTransfer *it = NULL;
        int r = 0;

        for (unsigned i = 0; i < t->cfg.transfers_in_flight; i++)
                if (t->in[i].xfer == xfer)
                        it = &t->in[i];
        if (transfer_back(t, xfer, &it->busy, &r))
                return;
        if (t->recover_step == RECOVER_DRAIN || !t->active) {
                /* Cancelled on purpose, or bytes nobody asked for. */
                if (r == 0 && xfer->actual_length > 0 && !t->broken)
                        log_debug("PTP: %d unsolicited bytes on bulk in, dropped.", xfer->actual_length);
                drain_check(t);
                return;
        }
        if (it->seq != t->in_complete_seq) {
                transaction_finish(t, log_debug_errno(EPROTO, "PTP: bulk in completed out of order."), NULL);
                return;
        }
        t->in_complete_seq++;
        if (r < 0) {
                transaction_finish(t, r, NULL);
                return;
        }
        timer_arm(t, t->in_state == IN_DATA ? t->cfg.stall_timeout : t->cfg.command_timeout);
        r = in_process(t, xfer->buffer, (size_t) xfer->actual_length,
                       xfer->actual_length < xfer->length);
        if (r < 0) {
                transaction_finish(t, r, NULL);
                return;
        }
        /* Not from here: libusb reaps, in one call, every transfer that has
         * completed, and a camera (or an emulation) that fills a transfer as
         * fast as we queue one would keep that one dispatch of the loop busy
         * for a whole data phase (a listing of a million objects). From the
         * loop, everything else gets its turn between transfers. */
        if (t->active)
                (void) sd_event_source_set_enabled(t->top_up, SD_EVENT_ONESHOT);
}

static int on_top_up(sd_event_source *s, void *userdata) {
        PtpTransport *t = userdata;
        int r;

        if (!t->active || t->broken || t->dying || t->gone || t->recover_step != RECOVER_NONE)
                return 0;
        r = in_top_up(t);
        if (r < 0)
                transaction_finish(t, r, NULL);
        return 0;
}

static int out_submit(PtpTransport *t, size_t size);

static void on_out(struct libusb_transfer *xfer) {
        PtpTransport *t = xfer->user_data;
        int r = 0;

        if (transfer_back(t, xfer, &t->out_busy, &r))
                return;
        if (r == 0 && t->out_code == PTP_OC_DELETE_OBJECT)
                failpoint("delete-sent");   /* the camera may have deleted the object */
        t->out_code = 0;
        if (t->queued_cmd_size > 0 && r != -ECANCELED) {
                /* The previous transaction's command is back; send the next one. */
                size_t n = t->queued_cmd_size;
                t->queued_cmd_size = 0;
                memcpy(t->out_buf, t->queued_cmd, n);
                t->out_code = t->queued_code;
                t->out_current = true;
                r = out_submit(t, n);
                if (r < 0 && t->active)
                        transaction_finish(t, r, NULL);
                return;
        }
        if (!t->active || !t->out_current) {
                /* Or the command of the transaction before, whose response
                 * was reaped first: usbfs gives back transfers of different
                 * endpoints in any order, and IN transfers queued before that
                 * command took its data and response. This transaction's own
                 * command is still to be sent (on_kick()); its data phase
                 * follows that command's completion, never goes ahead of it. */
                drain_check(t);
                return;
        }
        if (r == 0 && xfer->actual_length != xfer->length)
                r = -EIO;
        if (r < 0) {
                transaction_finish(t, r, NULL);
                return;
        }
        if (t->data_out_pending) {
                /* Data phase: header and payload in one container (protocol §2). */
                size_t size = PTP_HEADER_SIZE + t->tx.data_out_size;
                ptp_data_header_build(t->out_buf, t->tx.code, t->tid, t->tx.data_out_size);
                memcpy(t->out_buf + PTP_HEADER_SIZE, t->tx.data_out, t->tx.data_out_size);
                t->data_out_pending = false;
                r = out_submit(t, size);
                if (r < 0)
                        transaction_finish(t, r, NULL);
        }
}

static int out_submit(PtpTransport *t, size_t size) {
        int r;

        libusb_fill_bulk_transfer(t->out, t->handle, t->ep.bulk_out, t->out_buf, (int) size, on_out, t,
                                  (unsigned) (t->cfg.command_timeout / USEC_PER_MSEC));
        /* A container that fills its last packet must be ended by a zero-length one. */
        t->out->flags = LIBUSB_TRANSFER_ADD_ZERO_PACKET;
        r = libusb_submit_transfer(t->out);
        if (r < 0)
                return usb_error_to_errno(r);
        t->out_busy = true;
        t->n_busy++;
        return 0;
}

int ptp_transport_submit(PtpTransport *t, const PtpTransaction *tx, ptp_done_t cb, void *userdata) {
        size_t need;

        if (t->gone)
                return -ENODEV;
        if (t->active || t->broken || t->recover_step != RECOVER_NONE)
                return log_debug_errno(EBUSY, "PTP: %s refused: %s.", ptp_operation_to_string(tx->code),
                                       t->active ? "a transaction is in flight" : t->broken ? "needs recovery" : "recovering");
        if (tx->n_params > PTP_MAX_PARAMS || (tx->data_out && tx->data_out_size > PTP_DATASET_MAX_SIZE))
                return -EINVAL;

        need = MAX((size_t) PTP_COMMAND_MAX_SIZE, tx->data_out ? PTP_HEADER_SIZE + tx->data_out_size : 0);
        if (need > t->out_alloc) {
                uint8_t *b = realloc(t->out_buf, need);
                if (!b)
                        return -ENOMEM;
                t->out_buf = b;
                t->out_alloc = need;
        }

        t->tx = *tx;
        t->cb = cb;
        t->userdata = userdata;
        t->tid = tx->tid_zero ? 0 : t->next_tid;
        t->data_out_pending = tx->data_out != NULL;
        t->in_state = IN_HEADER;
        t->data_len = 0;
        t->data_got = 0;
        t->oversize = false;
        t->buf_size = 0;

        /* The command goes out from the loop, not from here: a transaction is
         * usually submitted from the completion of the one before, inside
         * libusb's event handling, which reaps every transfer that completes
         * meanwhile; a camera that answers at once would chain a whole
         * conversation into one dispatch of the loop. */
        t->active = true;
        t->command_pending = true;
        timer_arm(t, t->cfg.command_timeout);
        (void) sd_event_source_set_enabled(t->kick, SD_EVENT_ONESHOT);
        return 0;
}

static int command_send(PtpTransport *t) {
        int r;

        t->command_pending = false;
        if (t->out_busy) {
                t->queued_cmd_size = ptp_container_build(t->queued_cmd, PTP_TYPE_COMMAND, t->tx.code, t->tid,
                                                         t->tx.params, t->tx.n_params);
                t->queued_code = t->tx.code;
        } else {
                r = out_submit(t, ptp_container_build(t->out_buf, PTP_TYPE_COMMAND, t->tx.code, t->tid,
                                                      t->tx.params, t->tx.n_params));
                if (r < 0)
                        return r;
                t->out_code = t->tx.code;
                t->out_current = true;
        }
        return in_top_up(t);
}

static int on_kick(sd_event_source *s, void *userdata) {
        PtpTransport *t = userdata;
        int r;

        if (!t->active || !t->command_pending || t->dying || t->gone)
                return 0;
        r = command_send(t);
        if (r < 0)
                transaction_finish(t, r, NULL);
        return 0;
}

bool ptp_transport_busy(PtpTransport *t) {
        return t->active || t->recover_step != RECOVER_NONE;
}

bool ptp_transport_broken(PtpTransport *t) {
        return t->broken || t->gone;
}

void ptp_transport_session_opened(PtpTransport *t) {
        t->next_tid = 1;
}

uint64_t ptp_transport_bytes_in(PtpTransport *t) {
        return t->bytes_in;
}

/* ---- events ---- */

static int intr_submit(PtpTransport *t);

static void on_intr(struct libusb_transfer *xfer) {
        PtpTransport *t = xfer->user_data;
        PtpContainer c;
        int r = 0;

        if (transfer_back(t, xfer, &t->intr_busy, &r) || r == -ENODEV || r == -ECANCELED)
                return;
        if (r == 0 && ptp_event_parse(xfer->buffer, (size_t) xfer->actual_length, &c) >= 0) {
                if (t->event_cb)
                        t->event_cb(t, &c, t->event_userdata);
        } else if (r == 0)
                log_debug("PTP: malformed event (%d bytes) ignored.", xfer->actual_length);
        if (r == 0 || r == -EOVERFLOW)
                (void) intr_submit(t);
}

static int intr_submit(PtpTransport *t) {
        int r;

        if (!t->intr || t->intr_busy || t->dying)
                return 0;
        libusb_fill_interrupt_transfer(t->intr, t->handle, t->ep.interrupt_in, t->intr->buffer, 64,
                                       on_intr, t, 0);
        r = libusb_submit_transfer(t->intr);
        if (r < 0)
                return usb_error_to_errno(r);
        t->intr_busy = true;
        t->n_busy++;
        return 0;
}

void ptp_transport_set_event_handler(PtpTransport *t, ptp_event_t cb, void *userdata) {
        t->event_cb = cb;
        t->event_userdata = userdata;
}

/* ---- recovery (protocol §10) ---- */

static void recover_finish(PtpTransport *t, int error) {
        ptp_recovered_t cb = t->recover_cb;

        timer_disarm(t);
        t->recover_step = RECOVER_NONE;
        if (error >= 0) {
                t->broken = false;
                t->failed_mid_transaction = false;
                t->next_tid = 1;
                t->in_complete_seq = t->in_submit_seq;
        }
        t->recover_cb = NULL;
        if (cb)
                cb(t, error, t->recover_userdata);
}

static void on_ctrl(struct libusb_transfer *xfer) {
        PtpTransport *t = xfer->user_data;
        int r = 0;

        if (transfer_back(t, xfer, &t->ctrl_busy, &r))
                return;
        if (t->recover_step == RECOVER_NONE)
                return;
        if (r < 0 && t->recover_step != RECOVER_CANCEL) {
                recover_finish(t, r);
                return;
        }
        if (t->recover_step == RECOVER_STATUS && r == 0) {
                const uint8_t *d = libusb_control_transfer_get_data(xfer);
                size_t n = (size_t) xfer->actual_length;
                uint16_t code = n >= 4 ? (uint16_t) (d[2] | d[3] << 8) : 0;

                if (n < 4) {
                        recover_finish(t, log_debug_errno(EPROTO, "PTP: Get Device Status returned %zu bytes.", n));
                        return;
                }
                /* Halted endpoints listed after the code: clear them. */
                for (size_t off = 4; off + 4 <= n && off < 64; off += 4) {
                        uint8_t ep = d[off];
                        if (ep == t->ep.bulk_in || ep == t->ep.bulk_out)
                                (void) libusb_clear_halt(t->handle, ep);
                }
                if (code == PTP_RC_DEVICE_BUSY && ++t->recover_tries < 20) {
                        /* Retry after a pause, from the timer. */
                        t->recover_step = RECOVER_CANCEL;
                        timer_arm(t, 100 * USEC_PER_MSEC);
                        return;
                }
        }
        t->recover_step++;
        recover_step(t);
}

static int ctrl_submit(PtpTransport *t, uint8_t request_type, uint8_t request, const void *data,
                       uint16_t length) {
        uint8_t *b = t->ctrl->buffer;
        int r;

        libusb_fill_control_setup(b, request_type, request, 0, (uint16_t) t->ep.interface, length);
        if (data && !(request_type & LIBUSB_ENDPOINT_IN))
                memcpy(b + LIBUSB_CONTROL_SETUP_SIZE, data, length);
        libusb_fill_control_transfer(t->ctrl, t->handle, b, on_ctrl, t,
                                     (unsigned) (t->cfg.command_timeout / USEC_PER_MSEC));
        r = libusb_submit_transfer(t->ctrl);
        if (r < 0)
                return usb_error_to_errno(r);
        t->ctrl_busy = true;
        t->n_busy++;
        return 0;
}

/* Start the recovery's next step: 0 when it is under way, or done (then
 * recover_finish() told the owner); < 0 when it cannot be started, for the
 * caller to report. */
static int recover_step_start(PtpTransport *t) {
        uint8_t cancel[6];

        if (t->gone)
                return -ENODEV;
        switch (t->recover_step) {
        case RECOVER_DRAIN:
                /* Wait until libusb gave back every bulk transfer we cancelled
                 * (drain_check() calls us again). */
                if (bulk_busy(t))
                        return 0;
                if (t->halted) {
                        /* A STALL handshake: the camera is alive, so this is quick. */
                        (void) libusb_clear_halt(t->handle, t->ep.bulk_in);
                        (void) libusb_clear_halt(t->handle, t->ep.bulk_out);
                        t->halted = false;
                }
                t->recover_step = RECOVER_CANCEL;
                _fallthrough_;
        case RECOVER_CANCEL:
                if (t->failed_mid_transaction && t->recover_tries == 0) {
                        cancel[0] = PTP_CANCELLATION_CODE & 0xff;
                        cancel[1] = PTP_CANCELLATION_CODE >> 8;
                        for (int i = 0; i < 4; i++)
                                cancel[2 + i] = (uint8_t) (t->failed_tid >> (8 * i));
                        return ctrl_submit(t, LIBUSB_REQUEST_TYPE_CLASS | LIBUSB_RECIPIENT_INTERFACE,
                                           PTP_CLASS_CANCEL, cancel, sizeof cancel);
                }
                t->recover_step = RECOVER_STATUS;
                _fallthrough_;
        case RECOVER_STATUS:
                return ctrl_submit(t, LIBUSB_ENDPOINT_IN | LIBUSB_REQUEST_TYPE_CLASS | LIBUSB_RECIPIENT_INTERFACE,
                                   PTP_CLASS_GET_DEVICE_STATUS, NULL, 64);
        case RECOVER_RESET:
                return ctrl_submit(t, LIBUSB_REQUEST_TYPE_CLASS | LIBUSB_RECIPIENT_INTERFACE,
                                   PTP_CLASS_DEVICE_RESET, NULL, 0);
        default:
                recover_finish(t, 0);
                return 0;
        }
}

/* From a completion or the timer: on to the next step, or the owner hears why not. */
static void recover_step(PtpTransport *t) {
        int r = recover_step_start(t);

        if (r < 0)
                recover_finish(t, r);
}

int ptp_transport_recover(PtpTransport *t, ptp_recovered_t cb, void *userdata) {
        int r;

        if (t->gone)
                return -ENODEV;
        if (t->active || t->recover_step != RECOVER_NONE)
                return -EBUSY;
        t->recover_cb = cb;
        t->recover_userdata = userdata;
        t->recover_tries = 0;
        t->recover_step = RECOVER_DRAIN;
        cancel_bulk(t);
        timer_arm(t, t->cfg.command_timeout);
        /* Never a callback from in here: the owner has not yet recorded what
         * it waits for, and a camera that left (the loop has not reaped its
         * URBs yet) fails the first class request as it is submitted. */
        r = recover_step_start(t);
        if (r < 0) {
                timer_disarm(t);
                t->recover_step = RECOVER_NONE;
                t->recover_cb = NULL;
                t->recover_userdata = NULL;
                return r;
        }
        return 0;
}

static int on_timer_dispatch(sd_event_source *s, uint64_t usec, void *userdata) {
        PtpTransport *t = userdata;

        if (t->recover_step == RECOVER_NONE)
                return on_timer(s, usec, userdata);
        if (t->recover_step == RECOVER_CANCEL) {
                recover_step(t);
                return 0;
        }
        if (t->recover_step == RECOVER_DRAIN) {
                /* libusb did not give cancelled transfers back in time. */
                recover_finish(t, -ETIMEDOUT);
                return 0;
        }
        /* A class request that libusb did not time out: give up. */
        recover_finish(t, -ETIMEDOUT);
        return 0;
}

/* ---- life cycle ---- */

/* A defer source, off until enabled ONESHOT. */
static int add_defer_off(sd_event *event, sd_event_source **ret, sd_event_handler_t cb, PtpTransport *t) {
        int r = sd_event_add_defer(event, ret, cb, t);

        if (r >= 0)
                (void) sd_event_source_set_enabled(*ret, SD_EVENT_OFF);
        return r;
}

int ptp_transport_new(UsbManager *usb, libusb_device_handle *handle, const PtpEndpoints *ep,
                      const PtpTransportConfig *config, PtpTransport **ret) {
        sd_event *event = usb_manager_event(usb);
        PtpTransport *t;
        int r;

        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->usb = usb;
        t->grave.destroy = transport_grave_destroy;
        usb_manager_transport_added(usb);
        t->event = sd_event_ref(event);
        t->ep = *ep;
        t->cfg = *config;
        t->next_tid = 1;
        t->handle = handle;

        t->in = calloc(config->transfers_in_flight, sizeof *t->in);
        t->out = libusb_alloc_transfer(0);
        t->ctrl = libusb_alloc_transfer(0);
        if (!t->in || !t->out || !t->ctrl)
                goto oom;
        t->ctrl->buffer = malloc(LIBUSB_CONTROL_SETUP_SIZE + 64);
        if (!t->ctrl->buffer)
                goto oom;
        for (unsigned i = 0; i < config->transfers_in_flight; i++) {
                t->in[i].xfer = libusb_alloc_transfer(0);
                if (!t->in[i].xfer)
                        goto oom;
                t->in[i].xfer->buffer = malloc(config->transfer_size);
                if (!t->in[i].xfer->buffer)
                        goto oom;
        }
        if (ep->interrupt_in) {
                t->intr = libusb_alloc_transfer(0);
                if (!t->intr || !(t->intr->buffer = malloc(64)))
                        goto oom;
        }
        r = sd_event_add_time_relative(event, &t->timer, CLOCK_MONOTONIC, config->command_timeout, 0,
                                       on_timer_dispatch, t);
        if (r < 0) {
                t->handle = NULL;   /* the caller still owns it on failure */
                transport_destroy(t);
                return r;
        }
        timer_disarm(t);
        r = add_defer_off(event, &t->reap, on_reap, t);
        if (r >= 0)
                r = add_defer_off(event, &t->top_up, on_top_up, t);
        if (r >= 0)
                r = add_defer_off(event, &t->kick, on_kick, t);
        if (r < 0) {
                t->handle = NULL;
                transport_destroy(t);
                return r;
        }
        r = intr_submit(t);
        if (r < 0)
                log_debug_errno(r, "PTP: cannot listen for events: %m");
        *ret = t;
        return 0;
oom:
        t->handle = NULL;
        transport_destroy(t);
        return -ENOMEM;
}

PtpTransport *ptp_transport_free(PtpTransport *t) {
        if (!t)
                return NULL;
        t->dying = true;
        t->cb = NULL;
        t->recover_cb = NULL;
        t->event_cb = NULL;
        timer_disarm(t);
        (void) sd_event_source_set_enabled(t->top_up, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(t->kick, SD_EVENT_OFF);
        cancel_bulk(t);
        if (t->intr_busy)
                (void) libusb_cancel_transfer(t->intr);
        if (t->ctrl_busy)
                (void) libusb_cancel_transfer(t->ctrl);
        /* We may be inside a libusb callback: never close the handle here. */
        if (t->n_busy == 0)
                transport_bury(t);
        return NULL;
}

int ptp_find_endpoints(libusb_device *dev, PtpEndpoints *ret) {
        struct libusb_config_descriptor *cfg = NULL;
        int r;

        r = libusb_get_active_config_descriptor(dev, &cfg);
        if (r < 0)
                r = libusb_get_config_descriptor(dev, 0, &cfg);
        if (r < 0)
                return usb_error_to_errno(r);
        for (int i = 0; i < cfg->bNumInterfaces; i++) {
                const struct libusb_interface *itf = &cfg->interface[i];

                for (int a = 0; a < itf->num_altsetting; a++) {
                        const struct libusb_interface_descriptor *d = &itf->altsetting[a];
                        PtpEndpoints ep = { .interface = d->bInterfaceNumber };

                        if (d->bInterfaceClass != LIBUSB_CLASS_IMAGE || d->bInterfaceSubClass != 1 ||
                            d->bInterfaceProtocol != 1)
                                continue;
                        for (int e = 0; e < d->bNumEndpoints; e++) {
                                const struct libusb_endpoint_descriptor *ed = &d->endpoint[e];
                                uint8_t type = ed->bmAttributes & LIBUSB_TRANSFER_TYPE_MASK;
                                bool in = ed->bEndpointAddress & LIBUSB_ENDPOINT_IN;

                                if (type == LIBUSB_TRANSFER_TYPE_BULK && in && !ep.bulk_in) {
                                        ep.bulk_in = ed->bEndpointAddress;
                                        ep.max_packet = ed->wMaxPacketSize;
                                } else if (type == LIBUSB_TRANSFER_TYPE_BULK && !in && !ep.bulk_out)
                                        ep.bulk_out = ed->bEndpointAddress;
                                else if (type == LIBUSB_TRANSFER_TYPE_INTERRUPT && in && !ep.interrupt_in)
                                        ep.interrupt_in = ed->bEndpointAddress;
                        }
                        if (ep.bulk_in && ep.bulk_out && ep.max_packet > 0) {
                                libusb_free_config_descriptor(cfg);
                                *ret = ep;
                                return 0;
                        }
                }
        }
        libusb_free_config_descriptor(cfg);
        return -ENODEV;
}
