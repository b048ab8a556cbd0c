/* test-protocol-1-1.c: what protocol 1.1 added, against a scripted
 * initiator: GetObjectPropList (§5.11), SignChallenge (§8.4) in every
 * challenge mode, and the hostile camera keys that change what the
 * responder sends (raw strings, oversized and missing files). */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>

#include "challenge.h"
#include "ptp.h"
#include "test-util.h"

static void open_session(Fixture *f)
{
        uint32_t one = 1;
        g_assert_cmphex(ptp_transact(f->r, OC_OpenSession, 0, &one, 1, NULL, NULL), ==, RC_OK);
}

/* A parsed ObjectPropList element. */
typedef struct {
        uint32_t handle;
        uint16_t code, type;
        uint64_t num;
        char *str;
} Element;

static void elements_free(GArray *a)
{
        for (guint i = 0; i < a->len; i++)
                g_free(g_array_index(a, Element, i).str);
        g_array_unref(a);
}

static GArray *parse_prop_list(GByteArray *data)
{
        GArray *out = g_array_new(FALSE, TRUE, sizeof(Element));
        const uint8_t *p = data->data + 12, *end = data->data + data->len;
        uint32_t n = get_u32(p);

        p += 4;
        for (uint32_t i = 0; i < n; i++) {
                Element e = { 0 };
                int used;

                g_assert_true(p + 8 <= end);
                e.handle = get_u32(p);
                e.code = get_u16(p + 4);
                e.type = get_u16(p + 6);
                p += 8;
                switch (e.type) {
                case DTC_UINT16: e.num = get_u16(p); p += 2; break;
                case DTC_UINT32: e.num = get_u32(p); p += 4; break;
                case DTC_UINT64: e.num = get_u32(p) | (uint64_t) get_u32(p + 4) << 32; p += 8; break;
                case DTC_STR:
                        used = parse_str(p, (size_t) (end - p), &e.str);
                        g_assert_cmpint(used, >, 0);
                        p += used;
                        break;
                default: g_assert_not_reached();
                }
                g_array_append_val(out, e);
        }
        g_assert_true(p == end);
        return out;
}

static const char *const SCENARIO =
        "[dock]\nbays=1\n[camera BWC-P0001]\nsegments=2x70000\ndelete_refused=1\n"
        "[recording BWC-P0001/20261122T010000Z-0002]\nstart=2026-11-22T01:00:00Z\nsegments=1000\n";

/* All objects in one transaction, as libmtp asks: the same facts as
 * GetObjectInfo, handle by handle. */
static void test_prop_list_all(void)
{
        Fixture f;
        g_autoptr(GByteArray) data = NULL;
        uint32_t p[5] = { 0xFFFFFFFF, 0, 0xFFFFFFFF, 0, 0xFFFFFFFF }, tid = 1;
        GArray *els;
        guint objects = 0;

        fixture_init(&f, SCENARIO);
        open_session(&f);
        g_assert_cmphex(ptp_transact(f.r, OC_GetObjectPropList, tid++, p, 5, &data, NULL), ==, RC_OK);
        els = parse_prop_list(data);
        for (guint i = 0; i < els->len; i += 6) {
                Element *e = &g_array_index(els, Element, i);
                Object *obj = camera_object(f.cam, e[0].handle);

                g_assert_nonnull(obj);
                for (int k = 0; k < 6; k++)
                        g_assert_cmpuint(e[k].handle, ==, obj->handle);
                g_assert_cmphex(e[0].code, ==, OPC_StorageID);
                g_assert_cmphex(e[0].num, ==, STORAGE_ID);
                g_assert_cmphex(e[1].num, ==, object_format(obj));
                g_assert_cmphex(e[2].code, ==, OPC_ProtectionStatus);
                g_assert_cmpuint(e[2].num, ==, obj->kind != OBJ_FOLDER && obj->segment->index == 1 &&
                                                       obj->segment->recording == f.cam->recordings->pdata[0]);
                g_assert_cmpuint(e[3].num, ==, object_size(f.cam, obj));
                g_assert_cmpstr(e[4].str, ==, obj->name);
                g_assert_cmpuint(e[5].num, ==, obj->kind == OBJ_FOLDER ? 0 : obj->recording->folder->handle);
                objects++;
        }
        g_assert_cmpuint(objects, ==, f.cam->objects->len);
        elements_free(els);
        fixture_clear(&f);
}

static uint32_t list_count(Fixture *f, uint32_t *tid, uint32_t handle, uint32_t format, uint32_t code, uint32_t depth,
                           uint16_t *ret_rc)
{
        g_autoptr(GByteArray) data = NULL;
        uint32_t p[5] = { handle, format, code, 0, depth };

        *ret_rc = ptp_transact(f->r, OC_GetObjectPropList, (*tid)++, p, 5, &data, NULL);
        return data ? get_u32(data->data + 12) : 0;
}

static void test_prop_list_filters(void)
{
        Fixture f;
        uint32_t tid = 1, p[5] = { 0xFFFFFFFF, 0, 0xFFFFFFFF, 1, 0 };
        Recording *rec;
        uint16_t rc;

        fixture_init(&f, SCENARIO);
        open_session(&f);
        rec = f.cam->recordings->pdata[0];
        /* the root's children: the two folders, six properties each */
        g_assert_cmpuint(list_count(&f, &tid, 0, 0, 0xFFFFFFFF, 1, &rc), ==, 12);
        g_assert_cmphex(rc, ==, RC_OK);
        /* one folder's files, file names only */
        g_assert_cmpuint(list_count(&f, &tid, rec->folder->handle, 0, OPC_ObjectFileName, 1, &rc), ==, 6);
        /* one object */
        g_assert_cmpuint(list_count(&f, &tid, rec->folder->handle + 1, 0, 0xFFFFFFFF, 0, &rc), ==, 6);
        /* videos only, of the whole camera */
        g_assert_cmpuint(list_count(&f, &tid, 0xFFFFFFFF, OFC_Video, OPC_ObjectSize, 0, &rc), ==, 3);
        list_count(&f, &tid, rec->folder->handle, 0, 0xFFFFFFFF, 2, &rc);
        g_assert_cmphex(rc, ==, RC_Specification_By_Depth_Unsupported);
        list_count(&f, &tid, 9999, 0, 0xFFFFFFFF, 0, &rc);
        g_assert_cmphex(rc, ==, RC_Invalid_ObjectHandle);
        list_count(&f, &tid, 0xFFFFFFFF, 0, 0xDC44, 0, &rc);
        g_assert_cmphex(rc, ==, RC_ObjectProp_Not_Supported);
        g_assert_cmphex(ptp_transact(f.r, OC_GetObjectPropList, tid++, p, 5, NULL, NULL), ==,
                        RC_Specification_By_Group_Unsupported);
        fixture_clear(&f);
}

static gboolean announces(Fixture *f, uint16_t op)
{
        g_autoptr(GByteArray) info = NULL;
        const uint8_t *p;
        uint32_t n;

        g_assert_cmphex(ptp_transact(f->r, OC_GetDeviceInfo, 0, NULL, 0, &info, NULL), ==, RC_OK);
        p = info->data + 12 + 8;
        p += 1 + 2 * p[0]; /* VendorExtensionDesc */
        p += 2;            /* FunctionalMode */
        n = get_u32(p);
        for (uint32_t i = 0; i < n; i++)
                if (get_u16(p + 4 + 2 * i) == op)
                        return TRUE;
        return FALSE;
}

static void test_prop_list_absent(void)
{
        Fixture f;
        uint32_t p[5] = { 0xFFFFFFFF, 0, 0xFFFFFFFF, 0, 0 };

        fixture_init(&f, "[dock]\nbays=1\n[camera BWC-P0002]\nsegments=1000\nget_object_prop_list=false\n");
        g_assert_false(announces(&f, OC_GetObjectPropList));
        open_session(&f);
        g_assert_cmphex(ptp_transact(f.r, OC_GetObjectPropList, 1, p, 5, NULL, NULL), ==, RC_Operation_Not_Supported);
        fixture_clear(&f);
}

/* SignChallenge with the nonce 00 01 02 … 0f; returns the response code
 * and the signature. */
static uint16_t sign_challenge(Fixture *f, uint32_t tid, uint8_t first_byte, GBytes **ret_sig)
{
        g_autoptr(GByteArray) data = NULL;
        uint32_t p[5] = { 0 };
        uint16_t rc;

        for (unsigned i = 0; i < 16; i++)
                p[i / 4] |= (uint32_t) (uint8_t) (first_byte + i) << (8 * (i % 4));
        rc = ptp_transact(f->r, OC_SignChallenge, tid, p, 4, &data, NULL);
        *ret_sig = NULL;
        if (rc == RC_OK) {
                g_assert_cmpuint(data->len, >=, 12 + 8);
                g_assert_cmpuint(get_u16(data->data + 12), ==, 1);
                g_assert_cmpuint(get_u16(data->data + 14), ==, CHALLENGE_ALG_ECDSA_P256_SHA256);
                g_assert_cmpuint(get_u32(data->data + 16), ==, data->len - 20);
                *ret_sig = g_bytes_new(data->data + 20, data->len - 20);
        }
        return rc;
}

static gboolean verifies(X509 *cert, GBytes *msg, GBytes *sig)
{
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        int ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, X509_get0_pubkey(cert)) == 1 &&
                 EVP_DigestVerify(ctx, g_bytes_get_data(sig, NULL), g_bytes_get_size(sig),
                                  g_bytes_get_data(msg, NULL), g_bytes_get_size(msg)) == 1;

        EVP_MD_CTX_free(ctx);
        return ok;
}

static GBytes *message(uint8_t first_byte, const char *serial)
{
        uint8_t nonce[16];

        for (unsigned i = 0; i < 16; i++)
                nonce[i] = (uint8_t) (first_byte + i);
        return challenge_message(nonce, serial);
}

static void test_challenge_bytes(void)
{
        g_autoptr(GBytes) m = message(0, "BWC-Q0001");
        const uint8_t *p = g_bytes_get_data(m, NULL);

        /* §8.4: prefix, NUL, nonce, serial length, serial */
        g_assert_cmpuint(g_bytes_get_size(m), ==, 26 + 1 + 16 + 1 + 9);
        g_assert_cmpmem(p, 26, "dockd.org/bwc challenge v1", 26);
        g_assert_cmpuint(p[26], ==, 0);
        g_assert_cmpuint(p[27], ==, 0);
        g_assert_cmpuint(p[42], ==, 15);
        g_assert_cmpuint(p[43], ==, 9);
        g_assert_cmpmem(p + 44, 9, "BWC-Q0001", 9);
}

static void test_challenge_good(void)
{
        Fixture f;
        g_autoptr(GBytes) sig = NULL, msg = message(7, "BWC-Q0001"), other = message(8, "BWC-Q0001");
        uint32_t p[5] = { 1, 2, 3, 4, 5 }, zero[4] = { 0 };

        fixture_init(&f, "[dock]\nbays=1\n[camera BWC-Q0001]\nsegments=1000\n");
        g_assert_true(announces(&f, OC_SignChallenge));
        g_assert_cmphex(sign_challenge(&f, 0, 7, &sig), ==, RC_Session_Not_Open);
        open_session(&f);
        g_assert_cmphex(sign_challenge(&f, 1, 7, &sig), ==, RC_OK);
        g_assert_true(verifies(camera_identity(f.cam)->cert, msg, sig));
        g_assert_false(verifies(camera_identity(f.cam)->cert, other, sig));
        g_assert_cmphex(ptp_transact(f.r, OC_SignChallenge, 2, p, 5, NULL, NULL), ==, RC_Parameter_Not_Supported);
        g_assert_cmphex(ptp_transact(f.r, OC_SignChallenge, 3, zero, 4, NULL, NULL), ==, RC_Invalid_Parameter);
        g_assert_cmphex(ptp_transact(f.r, OC_SignChallenge, 4, p, 2, NULL, NULL), ==, RC_Invalid_Parameter);
        fixture_clear(&f);
}

static void challenge_case(const char *mode, uint16_t want_rc, gboolean announced)
{
        g_autofree char *text = g_strdup_printf("[dock]\nbays=1\n[camera BWC-Q0002]\nsegments=1000\nchallenge=%s\n", mode);
        g_autoptr(GBytes) sig = NULL, sig2 = NULL, first = message(1, "BWC-Q0002"), second = message(2, "BWC-Q0002");
        g_autoptr(GBytes) bare = NULL;
        Fixture f;
        X509 *cert;
        uint8_t nonce2[16];

        fixture_init(&f, text);
        cert = camera_identity(f.cam)->cert;
        g_assert_cmpint(announces(&f, OC_SignChallenge), ==, announced);
        open_session(&f);
        g_assert_cmphex(sign_challenge(&f, 1, 1, &sig), ==, want_rc);
        if (want_rc == RC_OK) {
                g_assert_cmphex(sign_challenge(&f, 2, 2, &sig2), ==, RC_OK);
                for (unsigned i = 0; i < 16; i++)
                        nonce2[i] = (uint8_t) (2 + i);
                bare = g_bytes_new(nonce2, 16);
                /* None of them proves the key for the second challenge. */
                g_assert_false(verifies(cert, second, sig2));
                if (g_str_equal(mode, "replay"))
                        g_assert_true(verifies(cert, first, sig2));
                if (g_str_equal(mode, "unprefixed"))
                        g_assert_true(verifies(cert, bare, sig2));
        }
        fixture_clear(&f);
}

static void test_challenge_faults(void)
{
        challenge_case("unsupported", RC_Operation_Not_Supported, FALSE);
        challenge_case("error", RC_General_Error, TRUE);
        challenge_case("garbage", RC_OK, TRUE);
        challenge_case("replay", RC_OK, TRUE);
        challenge_case("unprefixed", RC_OK, TRUE);
        challenge_case("wrong-key", RC_OK, TRUE);
}

/* DeviceInfo's strings as written, control characters, overlong and
 * lone surrogates included. */
static void test_raw_strings(void)
{
        Fixture f;
        g_autoptr(GByteArray) info = NULL;
        const uint8_t *p;

        fixture_init(&f, "[dock]\nbays=1\n[camera BWC-R0001]\nsegments=1000\n"
                         "raw_model=Evil\\e[2J\\nline\n"
                         "raw_firmware=\\uD800x\n"
                         "raw_serial=BWC-R0001\\r\n");
        g_assert_cmphex(ptp_transact(f.r, OC_GetDeviceInfo, 0, NULL, 0, &info, NULL), ==, RC_OK);
        p = info->data + 12 + 8;
        p += 1 + 2 * p[0] + 2;                 /* VendorExtensionDesc, FunctionalMode */
        for (int i = 0; i < 5; i++)            /* five arrays */
                p += 4 + 2 * get_u32(p);
        p += 1 + 2 * p[0];                     /* Manufacturer */
        g_assert_cmpuint(p[0], ==, 14);        /* "Evil" ESC "[2J" LF "line" NUL */
        g_assert_cmphex(get_u16(p + 1 + 2 * 4), ==, 0x1b);
        g_assert_cmphex(get_u16(p + 1 + 2 * 8), ==, '\n');
        p += 1 + 2 * p[0];
        g_assert_cmpuint(p[0], ==, 3);
        g_assert_cmphex(get_u16(p + 1), ==, 0xD800);
        p += 1 + 2 * p[0];
        g_assert_cmpuint(p[0], ==, 11);
        g_assert_cmphex(get_u16(p + 1 + 2 * 9), ==, '\r');
        fixture_clear(&f);
}

static void test_selftest_detail_escapes(void)
{
        Fixture f;

        fixture_init(&f, "[dock]\nbays=1\n[camera BWC-R0002]\nsegments=1000\n"
                         "selftest_fail=microphone:0x21:x\\ndelivered=1\\, really\\: yes\n");
        g_assert_cmpstr(f.cam->selftest.comp[2].detail, ==, "x\ndelivered=1, really: yes");
        fixture_clear(&f);
}

static void test_file_faults(void)
{
        Fixture f;
        Segment *s0, *s1;
        g_autoptr(GByteArray) part = NULL;
        uint32_t p[4], ret[5];

        fixture_init(&f, "[dock]\nbays=1\n[camera BWC-O0001]\nsegments=3x4096\n"
                         "oversized_video=0 1M\noversized_file=1 man 8K; 2 p7s 128K\nmissing_file=1 p7s\n");
        s0 = ((Recording *) f.cam->recordings->pdata[0])->segments->pdata[0];
        s1 = ((Recording *) f.cam->recordings->pdata[0])->segments->pdata[1];
        g_assert_cmpuint(object_size(f.cam, s0->files[FILE_MP4]), ==, 4096 + (1 << 20));
        g_assert_cmpuint(object_size(f.cam, s1->files[FILE_MAN]), ==, 8192);
        g_assert_null(s1->files[FILE_P7S]);
        open_session(&f);
        /* the bytes past the manifest's size are served too */
        p[0] = s0->files[FILE_MP4]->handle, p[1] = 4096, p[2] = 0, p[3] = 65536;
        g_assert_cmphex(ptp_transact(f.r, OC_GetPartialObject64, 1, p, 4, &part, ret), ==, RC_OK);
        g_assert_cmpuint(ret[0], ==, 65536);
        fixture_clear(&f);
}

int main(int argc, char **argv)
{
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/protocol-1.1/prop-list-all", test_prop_list_all);
        g_test_add_func("/protocol-1.1/prop-list-filters", test_prop_list_filters);
        g_test_add_func("/protocol-1.1/prop-list-absent", test_prop_list_absent);
        g_test_add_func("/protocol-1.1/challenge-bytes", test_challenge_bytes);
        g_test_add_func("/protocol-1.1/challenge-good", test_challenge_good);
        g_test_add_func("/protocol-1.1/challenge-faults", test_challenge_faults);
        g_test_add_func("/protocol-1.1/raw-strings", test_raw_strings);
        g_test_add_func("/protocol-1.1/selftest-detail-escapes", test_selftest_detail_escapes);
        g_test_add_func("/protocol-1.1/file-faults", test_file_faults);
        return g_test_run();
}
