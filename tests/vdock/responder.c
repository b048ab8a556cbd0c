/* responder.c: PTP responder state machine (responder.h).
 * Transactions and phases: protocol §3; containers §2; class requests and
 * error recovery §10. Datasets are built in responder-ops.c. */
#include "responder-private.h"

#include <errno.h>
#include <string.h>

#include "ptp.h"

static void out_phase_free(OutPhase *ph)
{
        if (ph->payload)
                g_bytes_unref(ph->payload);
        if (ph->more_free)
                ph->more_free(ph->more_state);
        if (ph->chunk)
                g_byte_array_unref(ph->chunk);
        g_free(ph);
}

Responder *responder_new(Camera *cam, const VClock *clock, unsigned max_packet)
{
        Responder *r = g_new0(Responder, 1);

        r->cam = cam;
        r->clock = clock;
        r->mps = max_packet ? max_packet : 512;
        r->data_out = g_byte_array_new();
        g_queue_init(&r->out);
        g_queue_init(&r->events);
        return r;
}

static void clear_phases(Responder *r)
{
        g_queue_clear_full(&r->out, (GDestroyNotify) out_phase_free);
        g_byte_array_set_size(r->data_out, 0);
        r->expect_data_out = FALSE;
        r->in_transaction = FALSE;
        r->malformed = NULL;
}

void responder_free(Responder *r)
{
        if (!r)
                return;
        clear_phases(r);
        g_queue_clear_full(&r->events, (GDestroyNotify) g_bytes_unref);
        g_byte_array_unref(r->data_out);
        g_free(r);
}

void responder_power_cycle(Responder *r)
{
        clear_phases(r);
        g_queue_clear_full(&r->events, (GDestroyNotify) g_bytes_unref);
        r->session_open = FALSE;
        r->halted_in = r->halted_out = FALSE;
        r->hung = FALSE;
        r->busy_reports = 0;
}

gboolean responder_session_open(Responder *r) { return r->session_open; }
gboolean responder_hung(Responder *r) { return r->hung; }

Trigger *responder_take_trigger(Responder *r)
{
        Trigger *t = r->fired;
        r->fired = NULL;
        return t;
}

uint32_t next_tid(uint32_t tid)
{
        return tid >= 0xFFFFFFFE ? 1 : tid + 1; /* §3: wraps from 0xFFFFFFFE to 1 */
}

/* §10 malformed input: discard, stall both bulk endpoints, report it. */
void responder_stall(Responder *r)
{
        r->stall_code = r->in_transaction || r->expect_data_out ? RC_Transaction_Cancelled : RC_General_Error;
        clear_phases(r);
        r->halted_in = r->halted_out = TRUE;
}

static OutPhase *queue_phase(Responder *r, uint16_t type, uint16_t code, uint32_t tid, uint64_t payload_len)
{
        OutPhase *ph = g_new0(OutPhase, 1);
        uint64_t total = PTP_HEADER_SIZE + payload_len;

        header_pack(ph->header, total > 0xFFFFFFFE ? 0xFFFFFFFF : (uint32_t) total, type, code, tid);
        ph->length = total;
        ph->is_response = type == PTP_CONTAINER_RESPONSE;
        g_queue_push_tail(&r->out, ph);
        return ph;
}

static void apply_malformed_data(Responder *r, OutPhase *ph)
{
        if (!r->malformed)
                return;
        switch (r->malformed->kind) {
        case MALFORMED_OVERSIZE:
                ph->header[0] = 12, ph->header[1] = 0, ph->header[2] = 0, ph->header[3] = 4; /* 64 MiB + 12 */
                break;
        case MALFORMED_TRUNCATED:
                ph->length = PTP_HEADER_SIZE + (ph->length - PTP_HEADER_SIZE) / 2;
                break;
        case MALFORMED_WRONG_TID: {
                uint32_t tid = get_u32(ph->header + 8) + 1;
                header_pack(ph->header, get_u32(ph->header), PTP_CONTAINER_DATA, get_u16(ph->header + 6), tid);
                break;
        }
        default:
                break;
        }
}

void send_data(Responder *r, GBytes *payload)
{
        OutPhase *ph = queue_phase(r, PTP_CONTAINER_DATA, r->op, r->tid, g_bytes_get_size(payload));

        ph->payload = payload;
        apply_malformed_data(r, ph);
        r->data_sent = TRUE;
}

void send_data_lazy(Responder *r, uint64_t length, PayloadMore more, gpointer state, GDestroyNotify free_state)
{
        OutPhase *ph = queue_phase(r, PTP_CONTAINER_DATA, r->op, r->tid, length);

        ph->more = more;
        ph->more_state = state;
        ph->more_free = free_state;
        ph->chunk = g_byte_array_new();
        apply_malformed_data(r, ph);
        r->data_sent = TRUE;
}

void send_object(Responder *r, Object *obj, uint64_t offset, uint64_t len)
{
        OutPhase *ph = queue_phase(r, PTP_CONTAINER_DATA, r->op, r->tid, len);

        ph->object = obj;
        ph->object_offset = offset;
        obj->reads++;
        apply_malformed_data(r, ph);
        r->data_sent = TRUE;
}

void respond(Responder *r, uint16_t code, const uint32_t *params, unsigned n)
{
        OutPhase *ph = queue_phase(r, PTP_CONTAINER_RESPONSE, code, r->tid, 4 * n);
        GByteArray *a = g_byte_array_new();
        MalformedKind kind = r->malformed ? r->malformed->kind : MALFORMED_N;

        for (unsigned i = 0; i < n; i++)
                put_u32(a, params[i]);
        ph->payload = g_byte_array_free_to_bytes(a);
        if (kind == MALFORMED_BAD_LENGTH)
                ph->header[0] = 8;
        else if (kind == MALFORMED_WRONG_TID)
                header_pack(ph->header, (uint32_t) ph->length, PTP_CONTAINER_RESPONSE, code, r->tid + 1);
        else if (kind == MALFORMED_WRONG_TYPE)
                ph->header[4] = PTP_CONTAINER_DATA;
        else if (kind == MALFORMED_TRUNCATED && !r->data_sent)
                ph->length = 8;
        else if (kind == MALFORMED_OVERSIZE && !r->data_sent)
                ph->header[1] = 0x10;
        r->malformed = NULL;
}

void respond0(Responder *r, uint16_t code)
{
        respond(r, code, NULL, 0);
}

void queue_event(Responder *r, uint16_t code, uint32_t param)
{
        uint8_t ev[16];

        header_pack(ev, sizeof ev, PTP_CONTAINER_EVENT, code, 0xFFFFFFFF);
        ev[12] = param & 0xff, ev[13] = (param >> 8) & 0xff, ev[14] = (param >> 16) & 0xff, ev[15] = param >> 24;
        g_queue_push_tail(&r->events, g_bytes_new(ev, sizeof ev));
}

/* §3: sessions and TransactionIDs, then dispatch. Returns FALSE when the
 * command was not executed (the response is already queued). */
static gboolean check_transaction(Responder *r)
{
        if (r->op == OC_OpenSession) {
                if (r->session_open) {
                        respond(r, RC_Session_Already_Open, &r->session_id, 1);
                        return FALSE;
                }
                if (r->tid != 0) {
                        respond0(r, RC_Invalid_TransactionID);
                        return FALSE;
                }
                return TRUE;
        }
        if (!r->session_open) {
                if (r->op == OC_GetDeviceInfo)
                        return TRUE;
                respond0(r, RC_Session_Not_Open);
                return FALSE;
        }
        if (r->tid != r->expected_tid) {
                respond0(r, RC_Invalid_TransactionID);
                return FALSE;
        }
        r->expected_tid = next_tid(r->tid);
        return TRUE;
}

static void handle_command(Responder *r, const uint8_t *data, size_t len)
{
        Trigger *t;

        if (len < PTP_HEADER_SIZE || len > PTP_MAX_COMMAND || (len - PTP_HEADER_SIZE) % 4 ||
            get_u32(data) != len || get_u16(data + 4) != PTP_CONTAINER_COMMAND) {
                responder_stall(r);
                return;
        }
        r->op = get_u16(data + 6);
        r->tid = get_u32(data + 8);
        r->nparams = (unsigned) (len - PTP_HEADER_SIZE) / 4;
        memset(r->params, 0, sizeof r->params);
        for (unsigned i = 0; i < r->nparams; i++)
                r->params[i] = get_u32(data + PTP_HEADER_SIZE + 4 * i);
        r->in_transaction = TRUE;
        r->data_sent = FALSE;
        r->malformed = NULL;
        if (!check_transaction(r))
                return;
        camera_count_op(r->cam, r->op);
        t = camera_op_trigger(r->cam, r->op);
        if (t && t->kind == TRIG_STALL) {
                t->fired = TRUE;
                r->fired = t;
                r->hung = TRUE;
                r->hang_until = t->until;
                return;
        }
        r->malformed = camera_take_malformed(r->cam, r->op);
        if (r->op == OC_SetDevicePropValue) {
                r->expect_data_out = TRUE;
                return;
        }
        responder_dispatch(r);
}

static void handle_data_out(Responder *r, const uint8_t *data, size_t len)
{
        gboolean short_end = len == 0 || len % r->mps != 0;
        uint32_t clen;

        if (r->data_out->len == 0 && len >= 6 && get_u16(data + 4) == PTP_CONTAINER_COMMAND) {
                responder_stall(r); /* §3: a Command where Data is expected */
                return;
        }
        if (r->data_out->len + len > PTP_HEADER_SIZE + PTP_MAX_DATASET) {
                responder_stall(r);
                return;
        }
        g_byte_array_append(r->data_out, data, (guint) len);
        if (r->data_out->len < PTP_HEADER_SIZE) {
                if (short_end) {
                        r->expect_data_out = FALSE;
                        respond0(r, RC_Incomplete_Transfer);
                }
                return;
        }
        clen = get_u32(r->data_out->data);
        if (clen < PTP_HEADER_SIZE || clen > PTP_HEADER_SIZE + PTP_MAX_DATASET ||
            get_u16(r->data_out->data + 4) != PTP_CONTAINER_DATA || get_u16(r->data_out->data + 6) != r->op ||
            get_u32(r->data_out->data + 8) != r->tid || r->data_out->len > clen) {
                responder_stall(r);
                return;
        }
        if (r->data_out->len < clen && !short_end)
                return; /* more to come */
        r->expect_data_out = FALSE;
        if (r->data_out->len < clen)
                respond0(r, RC_Incomplete_Transfer);
        else
                responder_dispatch_data_out(r, r->data_out->data + PTP_HEADER_SIZE, clen - PTP_HEADER_SIZE);
        g_byte_array_set_size(r->data_out, 0);
}

int responder_bulk_out(Responder *r, const uint8_t *data, size_t len)
{
        if (r->halted_out)
                return -EPIPE;
        if (r->hung)
                return 0; /* a hung camera swallows what it is sent */
        if (r->expect_data_out) {
                handle_data_out(r, data, len);
                return 0;
        }
        if (len == 0)
                return 0; /* a stray zero-length packet between transactions */
        if (r->in_transaction) {
                responder_stall(r); /* §3: a command before the previous response was read */
                return 0;
        }
        handle_command(r, data, len);
        return 0;
}

/* Copy object bytes of a data phase, stopping at an armed byte trigger. */
static size_t copy_object(Responder *r, OutPhase *ph, uint64_t payload_off, uint8_t *buf, size_t n)
{
        uint64_t off = ph->object_offset + payload_off;
        Trigger *t = NULL;
        size_t allowed = camera_trigger_limit(r->cam, ph->object, off, n, &t);

        camera_read_object(r->cam, ph->object, off, buf, allowed);
        ph->object->bytes_served += allowed;
        if (t) {
                t->fired = TRUE;
                r->fired = t;
                if (t->kind == TRIG_STALL) {
                        r->hung = TRUE;
                        r->hang_until = t->until;
                }
        }
        return allowed;
}

/* Bytes of a lazily made payload: read in order, so a piece is made when the
 * reader passes the end of the last one, and dropped then. Past the end
 * (a malformed length): zeros. */
static void copy_lazy(Responder *r, OutPhase *ph, uint64_t off, uint8_t *buf, size_t n)
{
        size_t done = 0;

        while (done < n) {
                uint64_t end = ph->chunk_off + ph->chunk->len;
                size_t m;

                if (off + done >= end) {
                        ph->chunk_off = end;
                        g_byte_array_set_size(ph->chunk, 0);
                        if (!ph->more(r, ph->more_state, ph->chunk) && ph->chunk->len == 0)
                                break;
                        continue;
                }
                m = (size_t) MIN((uint64_t) (n - done), end - (off + done));
                memcpy(buf + done, ph->chunk->data + (off + done - ph->chunk_off), m);
                done += m;
        }
        memset(buf + done, 0, n - done);
}

static size_t copy_phase(Responder *r, OutPhase *ph, uint8_t *buf, size_t n)
{
        size_t done = 0;

        if (ph->pos < PTP_HEADER_SIZE) {
                size_t h = MIN(n, PTP_HEADER_SIZE - ph->pos);
                memcpy(buf, ph->header + ph->pos, h);
                done = h;
        }
        if (done < n) {
                uint64_t payload_off = ph->pos + done - PTP_HEADER_SIZE;

                if (ph->object) {
                        done += copy_object(r, ph, payload_off, buf + done, n - done);
                } else if (ph->more) {
                        copy_lazy(r, ph, payload_off, buf + done, n - done);
                        done = n;
                } else {
                        gsize size = 0;
                        const uint8_t *p = ph->payload ? g_bytes_get_data(ph->payload, &size) : NULL;
                        size_t m = payload_off < size ? MIN(n - done, size - payload_off) : 0;

                        if (m)
                                memcpy(buf + done, p + payload_off, m);
                        memset(buf + done + m, 0, n - done - m);
                        done = n;
                }
        }
        return done;
}

static void phase_done(Responder *r)
{
        OutPhase *ph = g_queue_pop_head(&r->out);

        if (ph->is_response)
                r->in_transaction = FALSE;
        out_phase_free(ph);
}

ssize_t responder_bulk_in(Responder *r, uint8_t *buf, size_t maxlen)
{
        OutPhase *ph;
        size_t n;

        if (r->halted_in)
                return -EPIPE;
        ph = r->hung ? NULL : g_queue_peek_head(&r->out);
        if (!ph || maxlen == 0)
                return -EAGAIN;
        if (ph->pos == ph->length) { /* the zero-length packet that ends the phase */
                phase_done(r);
                return 0;
        }
        n = copy_phase(r, ph, buf, (size_t) MIN((uint64_t) maxlen, ph->length - ph->pos));
        ph->pos += n;
        if (ph->pos == ph->length && !r->fired) {
                /* §2: a phase whose length is a multiple of the packet size
                 * needs a zero-length packet, unless this transfer was cut short. */
                if (!(n == maxlen && ph->length % r->mps == 0))
                        phase_done(r);
        }
        return (ssize_t) n;
}

ssize_t responder_interrupt_in(Responder *r, uint8_t *buf, size_t maxlen)
{
        GBytes *ev;
        gsize size;
        const void *p;

        responder_tick(r);
        ev = g_queue_peek_head(&r->events);
        if (!ev || r->hung)
                return -EAGAIN;
        p = g_bytes_get_data(ev, &size);
        if (maxlen < size)
                return -EAGAIN; /* the host must ask for a whole event */
        memcpy(buf, p, size);
        g_bytes_unref(g_queue_pop_head(&r->events));
        return (ssize_t) size;
}

void responder_tick(Responder *r)
{
        if (selftest_poll(&r->cam->selftest, r->cam, r->clock)) {
                uint32_t fail = 0;

                for (unsigned i = 1; i <= SELFTEST_COMPONENTS; i++)
                        if ((r->cam->selftest.mask & (1u << i)) && r->cam->selftest.comp[i].result == 1)
                                fail = 1;
                queue_event(r, EC_SelfTestComplete, fail);
        }
}

gboolean responder_halted(Responder *r, uint8_t ep)
{
        return (ep == EP_BULK_IN && r->halted_in) || (ep == EP_BULK_OUT && r->halted_out);
}

void responder_clear_halt(Responder *r, uint8_t ep)
{
        if (ep == EP_BULK_IN)
                r->halted_in = FALSE;
        else if (ep == EP_BULK_OUT)
                r->halted_out = FALSE;
}

static void device_reset(Responder *r)
{
        clear_phases(r);
        r->session_open = FALSE;
        r->halted_in = r->halted_out = FALSE;
        r->busy_reports = 0;
        if (r->hung && r->hang_until == UNTIL_RESET)
                r->hung = FALSE;
}

static void cancel(Responder *r, uint32_t tid)
{
        if (!(r->in_transaction || r->expect_data_out) || tid != r->tid || r->hung)
                return; /* §10: a Cancel for another transaction is ignored */
        clear_phases(r);
        r->busy_reports = 1;
}

static int device_status(Responder *r, uint8_t *data, uint16_t length)
{
        uint8_t st[12];
        unsigned n = 4;
        uint16_t code = RC_OK;

        if (r->halted_in || r->halted_out) {
                code = r->stall_code;
                if (r->halted_out)
                        st[n] = EP_BULK_OUT, st[n + 1] = st[n + 2] = st[n + 3] = 0, n += 4;
                if (r->halted_in)
                        st[n] = EP_BULK_IN, st[n + 1] = st[n + 2] = st[n + 3] = 0, n += 4;
        } else if (r->hung || r->busy_reports > 0) {
                code = RC_Device_Busy;
                if (r->busy_reports > 0)
                        r->busy_reports--;
        }
        st[0] = n & 0xff, st[1] = n >> 8, st[2] = code & 0xff, st[3] = code >> 8;
        n = MIN(n, length);
        memcpy(data, st, n);
        return (int) n;
}

int responder_class_request(Responder *r, uint8_t request_type, uint8_t request, uint16_t value,
                            uint16_t index, uint8_t *data, uint16_t length)
{
        if (index != 0)
                return -EPIPE;
        if (request_type == 0x21 && request == SIC_REQ_CANCEL) {
                if (length != 6 || get_u16(data) != 0x4001)
                        return -EPIPE;
                cancel(r, get_u32(data + 2));
                return 0;
        }
        if (request_type == 0x21 && request == SIC_REQ_RESET && length == 0) {
                device_reset(r);
                return 0;
        }
        if (request_type == 0xA1 && request == SIC_REQ_STATUS)
                return device_status(r, data, length);
        return -EPIPE;
}
