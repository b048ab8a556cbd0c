/* test-hostile.c: a broken or hostile initiator never crashes the responder
 * (protocol §10): malformed containers, wrong phases, cancels at any point,
 * random bytes, odd transfer sizes. Run under ASan/UBSan in CI. */
#include <errno.h>
#include <string.h>

#include "ptp.h"
#include "test-util.h"

static const char *const SCENARIO =
        "[dock]\nbays=1\n[camera BWC-H0001]\nsegments=3x70000\n";

static uint16_t status_code(Responder *r, uint8_t *halted, int *n_halted)
{
        uint8_t st[16];
        int n = responder_class_request(r, 0xA1, SIC_REQ_STATUS, 0, 0, st, sizeof st);

        g_assert_cmpint(n, >=, 4);
        *n_halted = (n - 4) / 4;
        for (int i = 0; i < *n_halted; i++)
                halted[i] = st[4 + 4 * i];
        return get_u16(st + 2);
}

static void recover(Responder *r)
{
        responder_clear_halt(r, EP_BULK_IN);
        responder_clear_halt(r, EP_BULK_OUT);
        g_assert_cmpint(responder_class_request(r, 0x21, SIC_REQ_RESET, 0, 0, NULL, 0), ==, 0);
}

static void assert_stalled(Responder *r, uint16_t code)
{
        uint8_t halted[4], buf[64];
        int n;

        g_assert_cmphex(status_code(r, halted, &n), ==, code);
        g_assert_cmpint(n, ==, 2);
        g_assert_cmpint(responder_bulk_in(r, buf, sizeof buf), ==, -EPIPE);
        g_assert_cmpint(responder_bulk_out(r, buf, 12), ==, -EPIPE);
        recover(r);
        g_assert_false(responder_session_open(r));
}

static void test_malformed_commands(void)
{
        Fixture f;
        uint8_t c[64];
        const uint32_t lengths[] = { 0, 4, 11, 13, 36, 0xFFFFFFFF };

        fixture_init(&f, SCENARIO);
        for (unsigned i = 0; i < G_N_ELEMENTS(lengths); i++) {
                memset(c, 0, sizeof c);
                header_pack(c, lengths[i], PTP_CONTAINER_COMMAND, OC_GetDeviceInfo, 0);
                responder_bulk_out(f.r, c, MAX(12, MIN(lengths[i], sizeof c)));
                assert_stalled(f.r, RC_General_Error);
        }
        /* wrong container type as a command */
        header_pack(c, 12, PTP_CONTAINER_RESPONSE, OC_GetDeviceInfo, 0);
        responder_bulk_out(f.r, c, 12);
        assert_stalled(f.r, RC_General_Error);
        /* a short fragment */
        responder_bulk_out(f.r, c, 5);
        assert_stalled(f.r, RC_General_Error);
        fixture_clear(&f);
}

static void test_wrong_phases(void)
{
        Fixture f;
        uint32_t one = 1, prop = DPC_DateTime, h = 2;
        uint8_t c[32];

        fixture_init(&f, SCENARIO);
        g_assert_cmphex(ptp_transact(f.r, OC_OpenSession, 0, &one, 1, NULL, NULL), ==, RC_OK);
        /* a command while a data phase is pending */
        ptp_command(f.r, OC_GetObject, 1, &h, 1);
        ptp_command(f.r, OC_GetStorageIDs, 2, NULL, 0);
        assert_stalled(f.r, RC_Transaction_Cancelled);
        /* a command where the data-out phase is expected */
        g_assert_cmphex(ptp_transact(f.r, OC_OpenSession, 0, &one, 1, NULL, NULL), ==, RC_OK);
        ptp_command(f.r, OC_SetDevicePropValue, 1, &prop, 1);
        ptp_command(f.r, OC_GetStorageIDs, 2, NULL, 0);
        assert_stalled(f.r, RC_Transaction_Cancelled);
        /* a data-out container with a lying length, then one that ends early */
        g_assert_cmphex(ptp_transact(f.r, OC_OpenSession, 0, &one, 1, NULL, NULL), ==, RC_OK);
        ptp_command(f.r, OC_SetDevicePropValue, 1, &prop, 1);
        header_pack(c, 0x7FFFFFFF, PTP_CONTAINER_DATA, OC_SetDevicePropValue, 1);
        responder_bulk_out(f.r, c, 16);
        assert_stalled(f.r, RC_Transaction_Cancelled);
        g_assert_cmphex(ptp_transact(f.r, OC_OpenSession, 0, &one, 1, NULL, NULL), ==, RC_OK);
        ptp_command(f.r, OC_SetDevicePropValue, 1, &prop, 1);
        header_pack(c, 40, PTP_CONTAINER_DATA, OC_SetDevicePropValue, 1);
        responder_bulk_out(f.r, c, 20);
        {
                g_autoptr(GByteArray) resp = ptp_read_phase(f.r, 512);
                g_assert_cmphex(get_u16(resp->data + 6), ==, RC_Incomplete_Transfer);
        }
        /* garbage as the DateTime value */
        ptp_command(f.r, OC_SetDevicePropValue, 2, &prop, 1);
        header_pack(c, 20, PTP_CONTAINER_DATA, OC_SetDevicePropValue, 2);
        memset(c + 12, 0xEE, 8);
        responder_bulk_out(f.r, c, 20);
        {
                g_autoptr(GByteArray) resp = ptp_read_phase(f.r, 512);
                g_assert_cmphex(get_u16(resp->data + 6), ==, RC_Invalid_DeviceProp_Value);
        }
        fixture_clear(&f);
}

static void test_bad_parameters(void)
{
        Fixture f;
        uint32_t one = 1, tid = 1;
        const uint32_t handles[] = { 0, 1, 9999, 0xFFFFFFFF };

        fixture_init(&f, SCENARIO);
        g_assert_cmphex(ptp_transact(f.r, OC_OpenSession, 0, &one, 1, NULL, NULL), ==, RC_OK);
        for (unsigned i = 0; i < G_N_ELEMENTS(handles); i++) {
                uint32_t p[5] = { handles[i], 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0 };
                ptp_transact(f.r, OC_GetObject, tid++, p, 1, NULL, NULL);
                ptp_transact(f.r, OC_GetObjectInfo, tid++, p, 1, NULL, NULL);
                ptp_transact(f.r, OC_GetPartialObject64, tid++, p, 4, NULL, NULL);
                ptp_transact(f.r, OC_GetPartialObject, tid++, p, 3, NULL, NULL);
                ptp_transact(f.r, OC_DeleteObject, tid++, p, 2, NULL, NULL);
                ptp_transact(f.r, OC_GetObjectHandles, tid++, p, 3, NULL, NULL);
                ptp_transact(f.r, OC_GetObjectPropValue, tid++, p, 2, NULL, NULL);
                ptp_transact(f.r, OC_RunSelfTest, tid++, p, 1, NULL, NULL);
                ptp_transact(f.r, OC_GetDevicePropDesc, tid++, p, 1, NULL, NULL);
                ptp_transact(f.r, 0x9FFF, tid++, p, 5, NULL, NULL);
        }
        g_assert_cmpuint(f.cam->objects->len, ==, 10);
        for (guint i = 0; i < f.cam->objects->len; i++)
                g_assert_false(((Object *) f.cam->objects->pdata[i])->deleted);
        fixture_clear(&f);
}

/* Random bytes, random transfer sizes, cancels and resets at random
 * moments; the only assertion is that nothing crashes and the camera
 * recovers with a reset. */
static void test_random_initiator(void)
{
        Fixture f;
        GRand *rand = g_rand_new_with_seed(0x5eed);
        g_autofree uint8_t *buf = g_malloc(70000);

        fixture_init(&f, SCENARIO);
        for (int i = 0; i < 20000; i++) {
                uint32_t n = g_rand_int_range(rand, 0, 64), op = g_rand_int_range(rand, 0, 8);
                uint8_t c[64];

                for (uint32_t k = 0; k < sizeof c; k++)
                        c[k] = (uint8_t) g_rand_int(rand);
                if (op == 0) { /* plausible command with random params */
                        static const uint16_t ops[] = { OC_OpenSession, OC_GetObject, OC_GetPartialObject64,
                                                        OC_GetObjectInfo, OC_SetDevicePropValue, OC_DeleteObject,
                                                        OC_GetDeviceCertificates, OC_RunSelfTest };
                        uint32_t len = 12 + 4 * g_rand_int_range(rand, 0, 6);
                        header_pack(c, len, 1, ops[g_rand_int_range(rand, 0, 8)], g_rand_int_range(rand, 0, 4));
                        c[12] = g_rand_int_range(rand, 0, 12); /* small handles */
                        c[13] = c[14] = c[15] = 0;
                        responder_bulk_out(f.r, c, len);
                } else if (op <= 2) {
                        responder_bulk_out(f.r, c, n);
                } else if (op <= 5) {
                        responder_bulk_in(f.r, buf, g_rand_int_range(rand, 0, 70000));
                } else if (op == 6) {
                        responder_interrupt_in(f.r, buf, g_rand_int_range(rand, 0, 64));
                } else {
                        uint8_t type = g_rand_boolean(rand) ? 0x21 : 0xA1;
                        responder_class_request(f.r, type, 0x60 + g_rand_int_range(rand, 0, 10), 0,
                                                g_rand_int_range(rand, 0, 2), c, (uint16_t) g_rand_int_range(rand, 0, 32));
                        if (g_rand_int_range(rand, 0, 10) == 0)
                                responder_clear_halt(f.r, g_rand_boolean(rand) ? EP_BULK_IN : EP_BULK_OUT);
                }
        }
        recover(f.r);
        {
                uint32_t one = 1;
                g_assert_cmphex(ptp_transact(f.r, OC_OpenSession, 0, &one, 1, NULL, NULL), ==, RC_OK);
        }
        g_rand_free(rand);
        fixture_clear(&f);
}

/* The camera's own malformed-container faults are well-formed to inject. */
static void test_camera_side_malformed(void)
{
        Fixture f;
        uint32_t one = 1;
        g_autoptr(GByteArray) resp = NULL;

        fixture_init(&f, "[dock]\nbays=1\n[camera BWC-H0002]\nsegments=1000\nmalformed=wrong-tid 0x1004; bad-length 0x1005\n");
        g_assert_cmphex(ptp_transact(f.r, OC_OpenSession, 0, &one, 1, NULL, NULL), ==, RC_OK);
        ptp_command(f.r, OC_GetStorageIDs, 1, NULL, 0);
        resp = ptp_read_phase(f.r, 512);
        g_assert_cmpuint(get_u32(resp->data + 8), ==, 2); /* data with tid + 1 */
        g_byte_array_unref(ptp_read_phase(f.r, 512));
        fixture_clear(&f);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/hostile/malformed-commands", test_malformed_commands);
        g_test_add_func("/hostile/wrong-phases", test_wrong_phases);
        g_test_add_func("/hostile/bad-parameters", test_bad_parameters);
        g_test_add_func("/hostile/random-initiator", test_random_initiator);
        g_test_add_func("/hostile/camera-side-malformed", test_camera_side_malformed);
        return g_test_run();
}
