/* test-util.h: helpers for the vdock unit tests: a scripted PTP initiator
 * that talks to a Responder directly, with no USB in between. */
#pragma once
#include <glib.h>

#include "responder.h"
#include "scenario.h"

typedef struct {
        Scenario *scenario;
        Camera *cam;
        Pki *pki;
        char *pki_dir;
        VClock clock;
        Responder *r;
} Fixture;

void fixture_init(Fixture *f, const char *scenario_text);
void fixture_clear(Fixture *f);

/* Send a command container. */
void ptp_command(Responder *r, uint16_t op, uint32_t tid, const uint32_t *params, unsigned n);
/* Read one whole phase (until a short packet) with transfers of chunk bytes. */
GByteArray *ptp_read_phase(Responder *r, size_t chunk);
/* Run a transaction: returns the response code; data (if any) in ret_data. */
uint16_t ptp_transact(Responder *r, uint16_t op, uint32_t tid, const uint32_t *params, unsigned n,
                      GByteArray **ret_data, uint32_t *ret_params);
