/* test-util.c: the scripted initiator used by the unit tests (test-util.h). */
#include "test-util.h"

#include <errno.h>
#include <string.h>

#include "ptp.h"

void fixture_init(Fixture *f, const char *text)
{
        g_autoptr(GError) error = NULL;

        memset(f, 0, sizeof *f);
        f->scenario = scenario_parse(text, strlen(text), "test", &error);
        g_assert_no_error(error);
        f->cam = f->scenario->cameras->pdata[0];
        f->pki_dir = g_dir_make_tmp("vdock-test-XXXXXX", &error);
        g_assert_no_error(error);
        f->pki = pki_open(f->pki_dir, &error);
        g_assert_no_error(error);
        f->cam->pki = f->pki;
        vclock_fake_init(&f->clock, (gint64) 1795300000 * G_USEC_PER_SEC);
        camera_finalize(f->cam, &f->clock);
        f->r = responder_new(f->cam, &f->clock, 512);
}

void fixture_clear(Fixture *f)
{
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", f->pki_dir);

        responder_free(f->r);
        for (guint i = 0; i < f->scenario->cameras->len; i++)
                ((Camera *) f->scenario->cameras->pdata[i])->pki = NULL;
        scenario_free(f->scenario);
        pki_free(f->pki);
        g_assert_cmpint(system(cmd), ==, 0);
        g_free(f->pki_dir);
}

void ptp_command(Responder *r, uint16_t op, uint32_t tid, const uint32_t *params, unsigned n)
{
        uint8_t buf[32];

        g_assert_cmpuint(n, <=, 5);
        header_pack(buf, 12 + 4 * n, PTP_CONTAINER_COMMAND, op, tid);
        for (unsigned i = 0; i < n; i++) {
                buf[12 + 4 * i] = params[i] & 0xff;
                buf[13 + 4 * i] = (params[i] >> 8) & 0xff;
                buf[14 + 4 * i] = (params[i] >> 16) & 0xff;
                buf[15 + 4 * i] = params[i] >> 24;
        }
        g_assert_cmpint(responder_bulk_out(r, buf, 12 + 4 * n), ==, 0);
}

GByteArray *ptp_read_phase(Responder *r, size_t chunk)
{
        GByteArray *a = g_byte_array_new();
        g_autofree uint8_t *buf = g_malloc(chunk);

        for (;;) {
                ssize_t n = responder_bulk_in(r, buf, chunk);

                if (n < 0) {
                        g_byte_array_unref(a);
                        return NULL;
                }
                g_byte_array_append(a, buf, (guint) n);
                if ((size_t) n < chunk)
                        return a;
        }
}

uint16_t ptp_transact(Responder *r, uint16_t op, uint32_t tid, const uint32_t *params, unsigned n,
                      GByteArray **ret_data, uint32_t *ret_params)
{
        GByteArray *ph;

        ptp_command(r, op, tid, params, n);
        ph = ptp_read_phase(r, 1 << 16);
        g_assert_nonnull(ph);
        g_assert_cmpuint(ph->len, >=, 12);
        if (get_u16(ph->data + 4) == PTP_CONTAINER_DATA) {
                g_assert_cmpuint(get_u32(ph->data + 8), ==, tid);
                if (ret_data)
                        *ret_data = ph;
                else
                        g_byte_array_unref(ph);
                ph = ptp_read_phase(r, 512);
                g_assert_nonnull(ph);
        } else if (ret_data) {
                *ret_data = NULL;
        }
        g_assert_cmpuint(get_u16(ph->data + 4), ==, PTP_CONTAINER_RESPONSE);
        g_assert_cmpuint(get_u32(ph->data), ==, ph->len);
        for (unsigned i = 0; ret_params && 12 + 4 * i < ph->len; i++)
                ret_params[i] = get_u32(ph->data + 12 + 4 * i);
        {
                uint16_t code = get_u16(ph->data + 6);
                g_byte_array_unref(ph);
                return code;
        }
}
