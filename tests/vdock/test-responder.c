/* test-responder.c: the responder against a well-behaved initiator:
 * sessions, transaction ids, datasets, partial reads, delete, properties,
 * self-test, certificates, cancel, and the manifest/signature contract. */
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

#include "content.h"
#include "ptp.h"
#include "responder-private.h"
#include "test-util.h"

static const char *const SCENARIO =
        "[dock]\nbays=1\n"
        "[camera BWC-T0001]\nmodel=Sentinel V3\nfirmware=3.2.1\nstorage=1G\nofficer=4711\n"
        "segments=2x100000, 5000\ncategories=arrest,use-of-force\nclock_drift=-90\n"
        "selftest_fail=microphone:0x21:capsule bias out of range\nselftest_seconds=2\n"
        "battery_health=55\nbattery_soc=40\n"
        "delete_refused=2\n";

static void open_session(Fixture *f)
{
        uint32_t one = 1;
        g_assert_cmphex(ptp_transact(f->r, OC_OpenSession, 0, &one, 1, NULL, NULL), ==, RC_OK);
}

static void test_session_and_tids(void)
{
        Fixture f;
        uint32_t p[1] = { 1 }, ret[5] = { 0 };
        g_autoptr(GByteArray) info = NULL;

        fixture_init(&f, SCENARIO);
        g_assert_cmphex(ptp_transact(f.r, OC_GetStorageIDs, 1, NULL, 0, NULL, NULL), ==, RC_Session_Not_Open);
        g_assert_cmphex(ptp_transact(f.r, OC_GetDeviceInfo, 0, NULL, 0, &info, NULL), ==, RC_OK);
        {
                g_autofree char *ext = NULL;
                g_assert_cmpint(parse_str(info->data + 20, info->len - 20, &ext), >, 0);
                g_assert_cmpstr(ext, ==, "microsoft.com: 1.0; android.com: 1.0; dockd.org/bwc: 1.1");
        }
        g_assert_cmphex(ptp_transact(f.r, OC_OpenSession, 0, p, 1, NULL, NULL), ==, RC_OK);
        g_assert_cmphex(ptp_transact(f.r, OC_OpenSession, 0, p, 1, NULL, ret), ==, RC_Session_Already_Open);
        g_assert_cmpuint(ret[0], ==, 1);
        /* §3: a wrong TransactionID is answered and not executed; expected stays 1 */
        g_assert_cmphex(ptp_transact(f.r, OC_GetStorageIDs, 7, NULL, 0, NULL, NULL), ==, RC_Invalid_TransactionID);
        g_assert_cmphex(ptp_transact(f.r, OC_GetStorageIDs, 1, NULL, 0, NULL, NULL), ==, RC_OK);
        g_assert_cmphex(ptp_transact(f.r, OC_GetStorageIDs, 2, NULL, 0, NULL, NULL), ==, RC_OK);
        g_assert_cmphex(ptp_transact(f.r, OC_CloseSession, 3, NULL, 0, NULL, NULL), ==, RC_OK);
        g_assert_cmphex(ptp_transact(f.r, OC_GetStorageIDs, 4, NULL, 0, NULL, NULL), ==, RC_Session_Not_Open);
        fixture_clear(&f);
}

static void test_tid_wrap(void)
{
        g_assert_cmpuint(next_tid(0xFFFFFFFE), ==, 1);
        g_assert_cmpuint(next_tid(5), ==, 6);
}

/* GetPartialObject64 at every offset serves what GetObject serves. */
static void test_partial_reads(void)
{
        Fixture f;
        g_autoptr(GByteArray) whole = NULL;
        uint32_t h = 2, tid = 1;

        fixture_init(&f, SCENARIO);
        open_session(&f);
        g_assert_cmphex(ptp_transact(f.r, OC_GetObject, tid++, &h, 1, &whole, NULL), ==, RC_OK);
        g_assert_cmpuint(whole->len, ==, 12 + 100000);
        for (uint32_t off = 0; off <= 100000; off += 33333) {
                g_autoptr(GByteArray) part = NULL;
                uint32_t p[4] = { h, off, 0, 4096 }, ret[5] = { 0 };
                uint32_t want = MIN(4096, 100000 - off);

                g_assert_cmphex(ptp_transact(f.r, OC_GetPartialObject64, tid++, p, 4, &part, ret), ==, RC_OK);
                g_assert_cmpuint(ret[0], ==, want);
                g_assert_cmpmem(part->data + 12, part->len - 12, whole->data + 12 + off, want);
        }
        {
                uint32_t p[4] = { h, 100001, 0, 10 };
                g_assert_cmphex(ptp_transact(f.r, OC_GetPartialObject64, tid++, p, 4, NULL, NULL), ==, RC_Invalid_Parameter);
        }
        fixture_clear(&f);
}

/* §12.2 byte for byte, §13 chain, §12.3 signature verifies. */
static void test_manifest_chain_signature(void)
{
        Fixture f;
        Recording *rec;
        Segment *s0, *s1;
        GBytes *m0, *m1, *sig;
        char hex[65];
        uint8_t md[32];
        unsigned int n = 32;
        g_autofree char *expect_prev = NULL;

        fixture_init(&f, SCENARIO);
        rec = f.cam->recordings->pdata[0];
        s0 = rec->segments->pdata[0];
        s1 = rec->segments->pdata[1];
        m0 = segment_manifest(f.cam, s0, TRUE);
        m1 = segment_manifest(f.cam, s1, TRUE);
        g_assert_true(g_str_has_prefix(g_bytes_get_data(m0, NULL),
                "format=1\ndevice_serial=BWC-T0001\nmodel=Sentinel V3\nfirmware=3.2.1\n"
                "recording_id=20261121T221500Z-0001\nsegment_index=0\nfile_name=000000.mp4\nsize=100000\nsha256="));
        g_assert_nonnull(strstr(g_bytes_get_data(m0, NULL),
                "\nprev=0000000000000000000000000000000000000000000000000000000000000000\n"
                "start_time=2026-11-21T22:15:00Z\nend_time=2026-11-21T22:25:00Z\n"
                "officer_id=4711\ncategories=arrest,use-of-force\n"));
        EVP_Digest(g_bytes_get_data(m0, NULL), g_bytes_get_size(m0), md, &n, EVP_sha256(), NULL);
        hex_encode(md, 32, hex);
        expect_prev = g_strdup_printf("\nprev=%s\n", hex);
        g_assert_nonnull(strstr(g_bytes_get_data(m1, NULL), expect_prev));
        sig = segment_signature(f.cam, s0);
        g_assert_nonnull(sig);
        g_assert_cmpuint(g_bytes_get_size(sig), ==, object_size(f.cam, s1->files[FILE_P7S]));
        g_assert_cmpuint(g_bytes_get_size(m1), ==, object_size(f.cam, s1->files[FILE_MAN]));
        fixture_clear(&f);
}

static void test_delete(void)
{
        Fixture f;
        uint32_t tid = 1, p[2] = { 2, 0 };
        uint8_t ev[32];
        Segment *s2;

        fixture_init(&f, SCENARIO);
        open_session(&f);
        g_assert_cmphex(ptp_transact(f.r, OC_DeleteObject, tid++, p, 2, NULL, NULL), ==, RC_OK);
        g_assert_null(camera_object(f.cam, 2));
        g_assert_cmpint(responder_interrupt_in(f.r, ev, sizeof ev), ==, 16);
        g_assert_cmphex(get_u16(ev + 6), ==, EC_ObjectRemoved);
        g_assert_cmphex(ptp_transact(f.r, OC_DeleteObject, tid++, p, 2, NULL, NULL), ==, RC_Invalid_ObjectHandle);
        p[0] = 1; /* the folder still holds files */
        g_assert_cmphex(ptp_transact(f.r, OC_DeleteObject, tid++, p, 2, NULL, NULL), ==, RC_Partial_Deletion);
        s2 = ((Recording *) f.cam->recordings->pdata[0])->segments->pdata[2];
        p[0] = s2->files[FILE_MP4]->handle; /* delete_refused=2 */
        g_assert_cmphex(ptp_transact(f.r, OC_DeleteObject, tid++, p, 2, NULL, NULL), ==, RC_Object_WriteProtected);
        g_assert_nonnull(camera_object(f.cam, p[0]));
        g_assert_cmpuint(f.cam->delete_log->len, ==, 4);
        fixture_clear(&f);
}

static void test_clock_battery_selftest_certs(void)
{
        Fixture f;
        uint32_t tid = 1, prop = DPC_DateTime, mask = 0;
        g_autoptr(GByteArray) d = NULL, st = NULL, certs = NULL, bat = NULL;
        GByteArray *data = g_byte_array_new();
        uint8_t hdr[12];
        uint8_t ev[32];

        fixture_init(&f, SCENARIO);
        open_session(&f);
        g_assert_cmpint(camera_clock_us(f.cam, &f.clock) - vclock_real(&f.clock), ==, -90 * G_USEC_PER_SEC);
        /* SetDevicePropValue(DateTime): a data-out phase */
        ptp_command(f.r, OC_SetDevicePropValue, tid, &prop, 1);
        put_str(data, "20261121T230000Z");
        header_pack(hdr, 12 + data->len, PTP_CONTAINER_DATA, OC_SetDevicePropValue, tid++);
        g_byte_array_prepend(data, hdr, 12);
        g_assert_cmpint(responder_bulk_out(f.r, data->data, data->len), ==, 0);
        d = ptp_read_phase(f.r, 512);
        g_assert_cmphex(get_u16(d->data + 6), ==, RC_OK);
        g_assert_cmpint(camera_clock_us(f.cam, &f.clock) / G_USEC_PER_SEC, ==, 1795302000);
        g_assert_cmpint(responder_interrupt_in(f.r, ev, sizeof ev), ==, 16);
        g_assert_cmphex(get_u16(ev + 6), ==, EC_DevicePropChanged);
        g_byte_array_unref(data);

        g_assert_cmphex(ptp_transact(f.r, OC_GetBatteryTelemetry, tid++, NULL, 0, &bat, NULL), ==, RC_OK);
        g_assert_cmpuint(bat->len, ==, 12 + 28);
        g_assert_cmpuint(get_u32(bat->data + 12 + 24), ==, 3000);
        g_assert_cmpuint(get_u32(bat->data + 12 + 20), ==, 1650); /* 55 % */

        g_assert_cmphex(ptp_transact(f.r, OC_RunSelfTest, tid++, &mask, 1, NULL, NULL), ==, RC_OK);
        g_assert_cmphex(ptp_transact(f.r, OC_RunSelfTest, tid++, &mask, 1, NULL, NULL), ==, RC_Device_Busy);
        f.clock.fake_mono += 3 * G_USEC_PER_SEC;
        g_assert_cmpint(responder_interrupt_in(f.r, ev, sizeof ev), ==, 16);
        g_assert_cmphex(get_u16(ev + 6), ==, EC_SelfTestComplete);
        g_assert_cmpuint(get_u32(ev + 12), ==, 1);
        g_assert_cmphex(ptp_transact(f.r, OC_GetSelfTestResult, tid++, NULL, 0, &st, NULL), ==, RC_OK);
        g_assert_cmpuint(get_u16(st->data + 14), ==, 2);
        g_assert_cmpuint(get_u32(st->data + 20), ==, 6);
        /* entry 2 (microphone): id 2, result 1, code 0x21 */
        {
                const uint8_t *p = st->data + 24;
                for (int i = 0; i < 1; i++)
                        p += 8 + 1 + 2 * p[8];
                g_assert_cmpuint(get_u16(p), ==, 2);
                g_assert_cmpuint(get_u16(p + 2), ==, 1);
                g_assert_cmphex(get_u32(p + 4), ==, 0x21);
        }
        g_assert_cmphex(ptp_transact(f.r, OC_GetDeviceCertificates, tid++, NULL, 0, &certs, NULL), ==, RC_OK);
        g_assert_cmpuint(get_u32(certs->data + 12), ==, 1);
        g_assert_cmpuint(get_u32(certs->data + 16), ==, certs->len - 20);
        fixture_clear(&f);
}

/* §10 Cancel mid data phase: no response, busy once, next tid + 1. */
static void test_cancel(void)
{
        Fixture f;
        uint32_t h = 2;
        uint8_t buf[512], req[6] = { 0x01, 0x40, 2, 0, 0, 0 }, st[16];

        fixture_init(&f, SCENARIO);
        open_session(&f);
        ptp_command(f.r, OC_GetObject, 1, &h, 1);
        g_assert_cmpint(responder_bulk_in(f.r, buf, sizeof buf), ==, 512);
        g_assert_cmpint(responder_class_request(f.r, 0x21, SIC_REQ_CANCEL, 0, 0, req, 6), ==, 0); /* tid 2: ignored */
        g_assert_cmpint(responder_bulk_in(f.r, buf, sizeof buf), ==, 512);
        req[2] = 1;
        g_assert_cmpint(responder_class_request(f.r, 0x21, SIC_REQ_CANCEL, 0, 0, req, 6), ==, 0);
        g_assert_cmpint(responder_bulk_in(f.r, buf, sizeof buf), ==, -EAGAIN);
        g_assert_cmpint(responder_class_request(f.r, 0xA1, SIC_REQ_STATUS, 0, 0, st, sizeof st), ==, 4);
        g_assert_cmphex(get_u16(st + 2), ==, RC_Device_Busy);
        g_assert_cmpint(responder_class_request(f.r, 0xA1, SIC_REQ_STATUS, 0, 0, st, sizeof st), ==, 4);
        g_assert_cmphex(get_u16(st + 2), ==, RC_OK);
        g_assert_cmphex(ptp_transact(f.r, OC_GetStorageIDs, 2, NULL, 0, NULL, NULL), ==, RC_OK);
        fixture_clear(&f);
}

/* §2: a phase that is a multiple of the packet size ends with a ZLP. */
static void test_zero_length_packet(void)
{
        Fixture f;
        uint32_t p[4] = { 2, 0, 0, 1024 - 12 };
        g_autofree uint8_t *buf = g_malloc(2048);

        fixture_init(&f, SCENARIO);
        open_session(&f);
        ptp_command(f.r, OC_GetPartialObject64, 1, p, 4);
        g_assert_cmpint(responder_bulk_in(f.r, buf, 1024), ==, 1024);
        g_assert_cmpint(responder_bulk_in(f.r, buf, 1024), ==, 0);
        g_assert_cmpint(responder_bulk_in(f.r, buf, 1024), ==, 16); /* the response */
        fixture_clear(&f);
}

/* extension = no: a plain MTP camera. It does not announce the extension or
 * its operations and answers them Operation_Not_Supported; it holds its
 * videos only, in their recording's folder; BatteryLevel and DateTime are
 * there, and its clock can be set. */
static void test_without_extension(void)
{
        Fixture f;
        g_autoptr(GByteArray) info = NULL, handles = NULL, d = NULL;
        g_autofree char *ext = NULL;
        g_autoptr(GError) error = NULL;
        GByteArray *data = g_byte_array_new();
        uint32_t all[3] = { 0xFFFFFFFF, 0, 0 }, prop = DPC_DateTime, tid = 1, nops;
        uint8_t hdr[12];
        size_t off;
        int n;

        fixture_init(&f, "[dock]\nbays=1\n[camera GEN-T0001]\nsegments=2x1000\nclock_drift=300\nextension=no\n");
        g_assert_cmphex(ptp_transact(f.r, OC_GetDeviceInfo, 0, NULL, 0, &info, NULL), ==, RC_OK);
        n = parse_str(info->data + 20, info->len - 20, &ext);
        g_assert_cmpint(n, >, 0);
        g_assert_cmpstr(ext, ==, "microsoft.com: 1.0; android.com: 1.0");
        off = 20 + n + 2;
        nops = get_u32(info->data + off);
        g_assert_cmpuint(nops, >, 0);
        for (uint32_t i = 0; i < nops; i++)
                g_assert_cmphex(get_u16(info->data + off + 4 + 2 * i) >> 8, !=, 0x9A);
        open_session(&f);
        g_assert_cmphex(ptp_transact(f.r, OC_GetBatteryTelemetry, tid++, NULL, 0, NULL, NULL), ==,
                        RC_Operation_Not_Supported);
        g_assert_cmphex(ptp_transact(f.r, OC_GetDeviceCertificates, tid++, NULL, 0, NULL, NULL), ==,
                        RC_Operation_Not_Supported);
        /* its recording's folder and two videos */
        g_assert_cmphex(ptp_transact(f.r, OC_GetObjectHandles, tid++, all, 3, &handles, NULL), ==, RC_OK);
        g_assert_cmpuint(get_u32(handles->data + 12), ==, 3);
        for (uint32_t h = 1; h <= 3; h++)
                g_assert_true(h == 1 ? camera_object(f.cam, h)->kind == OBJ_FOLDER
                                     : g_str_has_suffix(camera_object(f.cam, h)->name, ".mp4"));
        g_assert_cmphex(ptp_transact(f.r, OC_GetDevicePropValue, tid++, (uint32_t[]) { DPC_BatteryLevel }, 1, NULL,
                                     NULL), ==, RC_OK);
        g_assert_cmpint(camera_clock_us(f.cam, &f.clock) - vclock_real(&f.clock), ==, 300 * G_USEC_PER_SEC);
        ptp_command(f.r, OC_SetDevicePropValue, tid, &prop, 1);
        put_str(data, "20261121T230000Z");
        header_pack(hdr, 12 + data->len, PTP_CONTAINER_DATA, OC_SetDevicePropValue, tid++);
        g_byte_array_prepend(data, hdr, 12);
        g_assert_cmpint(responder_bulk_out(f.r, data->data, data->len), ==, 0);
        g_byte_array_unref(data);
        d = ptp_read_phase(f.r, 512);
        g_assert_cmphex(get_u16(d->data + 6), ==, RC_OK);
        g_assert_cmpint(camera_clock_us(f.cam, &f.clock) / G_USEC_PER_SEC, ==, 1795302000);
        /* what the camera holds is made from the scenario */
        g_assert_false(camera_apply_key(f.cam, "extension", "yes", TRUE, &error));
        fixture_clear(&f);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/responder/session-and-tids", test_session_and_tids);
        g_test_add_func("/responder/tid-wrap", test_tid_wrap);
        g_test_add_func("/responder/partial-reads", test_partial_reads);
        g_test_add_func("/responder/manifest-chain-signature", test_manifest_chain_signature);
        g_test_add_func("/responder/delete", test_delete);
        g_test_add_func("/responder/clock-battery-selftest-certs", test_clock_battery_selftest_certs);
        g_test_add_func("/responder/cancel", test_cancel);
        g_test_add_func("/responder/zero-length-packet", test_zero_length_packet);
        g_test_add_func("/responder/without-extension", test_without_extension);
        return g_test_run();
}
