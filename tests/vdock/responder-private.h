/* responder-private.h: state shared by responder.c (phases) and
 * responder-ops.c (operations and datasets). */
#pragma once
#include "responder.h"

/* Appends the next bytes of a payload made as the host reads it to out;
 * FALSE once there are no more. */
typedef gboolean (*PayloadMore)(Responder *r, gpointer state, GByteArray *out);

typedef struct {
        uint8_t header[12];
        GBytes *payload;   /* dataset or response parameters */
        PayloadMore more;  /* or a dataset made piece by piece (send_data_lazy) */
        gpointer more_state;
        GDestroyNotify more_free;
        GByteArray *chunk; /* its piece being read, from payload offset chunk_off */
        uint64_t chunk_off;
        Object *object;    /* or object bytes from object_offset */
        uint64_t object_offset;
        uint64_t length;   /* bytes actually sent: header + payload */
        uint64_t pos;
        gboolean is_response;
} OutPhase;

struct Responder {
        Camera *cam;
        const VClock *clock;
        unsigned mps;
        gboolean session_open;
        uint32_t session_id, expected_tid;
        /* the transaction in progress */
        gboolean in_transaction, expect_data_out, data_sent;
        uint16_t op;
        uint32_t tid;
        uint32_t params[5];
        unsigned nparams;
        Malformed *malformed;
        GByteArray *data_out;
        GQueue out;    /* OutPhase*, bulk IN */
        GQueue events; /* GBytes*, interrupt IN */
        /* error recovery, §10 */
        gboolean halted_in, halted_out;
        uint16_t stall_code;
        int busy_reports;
        gboolean hung;
        StallUntil hang_until;
        Trigger *fired;
};

uint32_t next_tid(uint32_t tid);

void send_data(Responder *r, GBytes *payload);
/* A dataset of length bytes made by more as the host reads it, so that a large
 * one (a listing of a million objects) never keeps the host's ioctls waiting
 * the way a whole one made at once would. state goes with free_state. */
void send_data_lazy(Responder *r, uint64_t length, PayloadMore more, gpointer state, GDestroyNotify free_state);
void send_object(Responder *r, Object *obj, uint64_t offset, uint64_t len);
void respond(Responder *r, uint16_t code, const uint32_t *params, unsigned n);
void respond0(Responder *r, uint16_t code);
void queue_event(Responder *r, uint16_t code, uint32_t param);
void responder_dispatch(Responder *r);
/* responder-mtp.c */
void op_object_props_supported(Responder *r);
void op_object_prop_value(Responder *r);
void op_object_prop_list(Responder *r);
/* responder-bwc.c */
void op_battery_telemetry(Responder *r);
void op_selftest_result(Responder *r);
void op_certificates(Responder *r);
void op_sign_challenge(Responder *r);
void responder_dispatch_data_out(Responder *r, const uint8_t *data, size_t len);
