/* responder-bwc.c: the vendor extension dockd.org/bwc (protocol §8): battery
 * telemetry, self-test, device certificates and SignChallenge, with the
 * camera's scenario faults applied. */
#include "responder-private.h"

#include <string.h>

#include "challenge.h"
#include "ptp.h"

/* §8.1, 28 bytes. */
void op_battery_telemetry(Responder *r)
{
        Battery *b = &r->cam->battery;
        GByteArray *a = g_byte_array_new();
        uint16_t flags = (b->charging ? 1 : 0) | (b->external_power ? 2 : 0) | (b->gauge_fault ? 4 : 0);
        int heat = b->charging ? 30 : 0;

        put_u16(a, 1);
        put_u16(a, flags);
        put_u16(a, (uint16_t) CLAMP((int) (b->soc * 1000.0 + 0.5), 0, 1000));
        put_u16(a, (uint16_t) b->cycles);
        put_u32(a, battery_voltage_mv(b));
        put_u32(a, (uint32_t) (int32_t) (b->charging ? b->current_ma : (b->external_power ? 0 : -80)));
        put_u16(a, (uint16_t) (int16_t) (b->temp_dc + heat));
        put_u16(a, 0);
        put_u32(a, b->full_mah);
        put_u32(a, b->design_mah);
        send_data(r, g_byte_array_free_to_bytes(a));
        respond0(r, RC_OK);
}

void op_selftest_result(Responder *r)
{
        SelfTest *st = &r->cam->selftest;
        GByteArray *a = g_byte_array_new();

        responder_tick(r);
        put_u16(a, 1);
        put_u16(a, (uint16_t) st->state);
        put_u32(a, st->state == 2 ? st->completed_at : 0);
        put_u32(a, st->state == 0 ? 0 : SELFTEST_COMPONENTS);
        for (unsigned i = 1; st->state != 0 && i <= SELFTEST_COMPONENTS; i++) {
                SelfTestComponent *c = &st->comp[i];
                gboolean ran = st->state == 2 && (st->mask & (1u << i));

                put_u16(a, (uint16_t) i);
                put_u16(a, ran ? c->result : 3);
                put_u32(a, ran && c->result == 1 ? c->error_code : 0);
                put_str(a, ran && c->result != 0 ? (c->detail ? c->detail : "") : "");
        }
        send_data(r, g_byte_array_free_to_bytes(a));
        respond0(r, RC_OK);
}

void op_certificates(Responder *r)
{
        DeviceIdentity *id = camera_identity(r->cam);
        GByteArray *a;
        gsize len;
        const uint8_t *der;

        if (!id) {
                respond0(r, RC_General_Error);
                return;
        }
        der = g_bytes_get_data(id->cert_der, &len);
        a = g_byte_array_new();
        put_u32(a, 1);
        put_u32(a, (uint32_t) len);
        g_byte_array_append(a, der, (guint) len);
        send_data(r, g_byte_array_free_to_bytes(a));
        respond0(r, RC_OK);
}


/* What the camera signs, per its challenge mode. */
static GBytes *challenge_signature(Responder *r, const uint8_t nonce[CHALLENGE_NONCE_SIZE])
{
        Camera *cam = r->cam;
        DeviceIdentity *id = camera_identity(cam);
        g_autoptr(GBytes) msg = NULL;
        g_autoptr(GError) error = NULL;
        EVP_PKEY *stray = NULL;
        GBytes *sig;

        if (!id)
                return NULL;
        if (cam->challenge == CHALLENGE_GARBAGE) {
                uint8_t junk[72];
                for (unsigned i = 0; i < sizeof junk; i++)
                        junk[i] = (uint8_t) g_random_int();
                return g_bytes_new(junk, sizeof junk);
        }
        if (cam->challenge == CHALLENGE_UNPREFIXED)
                msg = g_bytes_new(nonce, CHALLENGE_NONCE_SIZE);
        else if (cam->challenge == CHALLENGE_REPLAY)
                msg = challenge_message(cam->first_nonce, camera_presented_serial(cam));
        else
                msg = challenge_message(nonce, camera_presented_serial(cam));
        if (cam->challenge == CHALLENGE_WRONG_KEY)
                stray = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        sig = pki_sign_message(stray ? stray : id->key, g_bytes_get_data(msg, NULL), g_bytes_get_size(msg), &error);
        EVP_PKEY_free(stray);
        if (!sig)
                g_warning("%s: %s", cam->serial, error->message);
        return sig;
}

/* §8.4: P1..P4 are the nonce, P5 must be 0. */
void op_sign_challenge(Responder *r)
{
        Camera *cam = r->cam;
        uint8_t nonce[CHALLENGE_NONCE_SIZE], zero[CHALLENGE_NONCE_SIZE] = { 0 };
        g_autoptr(GBytes) sig = NULL;
        GByteArray *a;

        if (cam->challenge == CHALLENGE_UNSUPPORTED) {
                respond0(r, RC_Operation_Not_Supported);
                return;
        }
        if (r->nparams > 4 && r->params[4] != 0) {
                respond0(r, RC_Parameter_Not_Supported);
                return;
        }
        for (unsigned i = 0; i < 4; i++)
                for (unsigned b = 0; b < 4; b++)
                        nonce[4 * i + b] = (uint8_t) (r->params[i] >> (8 * b));
        if (r->nparams < 4 || memcmp(nonce, zero, sizeof nonce) == 0) {
                respond0(r, RC_Invalid_Parameter);
                return;
        }
        if (!cam->have_first_nonce) {
                memcpy(cam->first_nonce, nonce, sizeof nonce);
                cam->have_first_nonce = TRUE;
        }
        sig = cam->challenge == CHALLENGE_ERROR ? NULL : challenge_signature(r, nonce);
        if (!sig) {
                respond0(r, RC_General_Error);
                return;
        }
        a = g_byte_array_new();
        put_u16(a, 1);
        put_u16(a, CHALLENGE_ALG_ECDSA_P256_SHA256);
        put_u32(a, (uint32_t) g_bytes_get_size(sig));
        g_byte_array_append(a, g_bytes_get_data(sig, NULL), (guint) g_bytes_get_size(sig));
        send_data(r, g_byte_array_free_to_bytes(a));
        respond0(r, RC_OK);
}
