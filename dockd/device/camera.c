/* SPDX-License-Identifier: Apache-2.0 */
/* camera.c: typed, asynchronous operations on a docked camera over its PTP
 * transport. Every dataset the camera returns goes through the ptp.c parsers; a
 * camera that answers something unparseable fails the operation with -EBADMSG.
 * One operation at a time per camera (the transport enforces it). */
#include <fcntl.h>
#include <inttypes.h>

#include "camera.h"
#include "log.h"
#include "manifest.h"
#include "usb.h"

/* Objects a dock reads whole: manifests (≤ 4 KiB) and signatures. */
#define CAMERA_SMALL_OBJECT_MAX (64 * 1024)

typedef enum RequestKind {
        REQ_DONE,
        REQ_DATA,
        REQ_TIME,
        REQ_LEVEL,
        REQ_OPEN_SESSION,
        REQ_DEVICE_INFO,
} RequestKind;

typedef struct CameraRequest {
        Camera *camera;
        RequestKind kind;
        union {
                camera_done_t done;
                camera_data_t data;
                camera_time_t time;
                camera_level_t level;
        } cb;
        void *userdata;
        void (*destroy)(void *userdata);   /* when abandoned: release userdata */
        uint8_t out[64];
        /* while queued */
        PtpTransaction tx;
        ptp_done_t done;
        struct CameraRequest *next;
} Request;

const char *camera_file_kind_extension(CameraFileKind k) {
        static const char *const ext[] = { "mp4", "man", "p7s" };
        return k >= 0 && k < _CAMERA_FILE_KIND_MAX ? ext[k] : NULL;
}

static int on_drain(sd_event_source *s, void *userdata);

static void on_camera_event(PtpTransport *t, const PtpContainer *e, void *userdata) {
        Camera *c = userdata;

        if (c->event_cb)
                c->event_cb(c, e, c->event_userdata);
}

void camera_set_event_handler(Camera *c, void (*cb)(Camera *c, const PtpContainer *e, void *userdata),
                              void *userdata) {
        c->event_cb = cb;
        c->event_userdata = userdata;
}

int camera_open(UsbManager *usb, libusb_device *dev, const char *port, const DockdConfig *config,
                Camera **ret) {
        sd_event *event = usb_manager_event(usb);
        _cleanup_(camera_unrefp) Camera *c = NULL;
        libusb_device_handle *h = NULL;
        struct libusb_device_descriptor desc;
        PtpEndpoints ep;
        PtpTransportConfig tc = {
                .command_timeout = config->usb_command_timeout,
                .stall_timeout = config->usb_stall_timeout,
                .transfer_size = config->usb_transfer_size,
                .transfers_in_flight = config->usb_transfers_in_flight,
        };
        int r;

        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->n_ref = 1;
        c->event = sd_event_ref(event);
        c->device = libusb_ref_device(dev);
        c->devnum = libusb_get_device_address(dev);
        if (libusb_get_device_descriptor(dev, &desc) == 0)
                c->usb_id = (uint32_t) desc.idVendor << 16 | desc.idProduct;
        c->config = config;
        snprintf(c->port, sizeof c->port, "%s", port);
        c->log_name = strdup(port);
        if (!c->log_name)
                return -ENOMEM;

        r = ptp_find_endpoints(dev, &ep);
        if (r < 0)
                return r;
        r = libusb_open(dev, &h);
        if (r < 0)
                return usb_error_to_errno(r);
        r = libusb_claim_interface(h, ep.interface);
        if (r < 0) {
                libusb_close(h);
                return usb_error_to_errno(r);
        }
        r = ptp_transport_new(usb, h, &ep, &tc, &c->transport);
        if (r < 0) {
                (void) libusb_release_interface(h, ep.interface);
                libusb_close(h);
                return r;
        }
        ptp_transport_set_event_handler(c->transport, on_camera_event, c);
        r = sd_event_add_defer(event, &c->drain, on_drain, c);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(c->drain, SD_EVENT_OFF);
        *ret = TAKE_PTR(c);
        return 0;
}

static Camera *camera_free(Camera *c) {
        sd_event_source_disable_unref(c->drain);
        ptp_transport_free(c->transport);
        ptp_device_info_done(&c->info);
        libusb_unref_device(c->device);
        sd_event_unref(c->event);
        free(c->log_name);
        free(c);
        return NULL;
}

DEFINE_REF_UNREF_FUNC(Camera, camera);

const char *camera_serial(Camera *c) {
        return c->have_info ? c->info.serial : NULL;
}

const char *camera_claimed_serial(Camera *c) {
        return c->have_info ? NULL : c->info.serial;
}

/* ---- one transaction ---- */

static Request *request_new(Camera *c, RequestKind kind, void *cb, void *userdata) {
        Request *req = calloc(1, sizeof *req);

        if (!req)
                return NULL;
        req->camera = camera_ref(c);
        req->kind = kind;
        req->cb.done = (camera_done_t) cb;
        req->userdata = userdata;
        return req;
}

/* The transport called back: the request is no longer in flight; the next
 * one waiting may go. */
static void request_free(Request *req) {
        Camera *c = req->camera;

        if (c->pending == req)
                c->pending = NULL;
        if (c->queue_head && c->drain)
                (void) sd_event_source_set_enabled(c->drain, SD_EVENT_ONESHOT);
        free(req);
        camera_unref(c);
}

/* front: OpenSession after a reset goes before everything that waits. */
static int request_start_full(Camera *c, Request *req, const PtpTransaction *tx, ptp_done_t done, bool front) {
        int r;

        if (c->gone || !c->transport) {
                request_free(req);
                return -ENODEV;
        }
        if (c->pending || c->held || (c->queue_head && !front) || ptp_transport_busy(c->transport)) {
                req->tx = *tx;
                req->done = done;
                if (front) {
                        req->next = c->queue_head;
                        c->queue_head = req;
                        if (!c->queue_tail)
                                c->queue_tail = req;
                } else {
                        req->next = NULL;
                        if (c->queue_tail)
                                c->queue_tail->next = req;
                        else
                                c->queue_head = req;
                        c->queue_tail = req;
                }
                return 0;
        }
        r = ptp_transport_submit(c->transport, tx, done, req);
        if (r < 0) {
                request_free(req);
                return r;
        }
        c->pending = req;
        return 0;
}

static int request_start(Camera *c, Request *req, const PtpTransaction *tx, ptp_done_t done) {
        return request_start_full(c, req, tx, done, false);
}

/* Start the next queued operation once the camera is free. A transport that
 * failed waits for its recovery (whose completion drains again). */
static int on_drain(sd_event_source *s, void *userdata) {
        Camera *c = userdata;
        Request *req;
        int r;

        if (!c->queue_head || c->pending || c->held || !c->transport || ptp_transport_busy(c->transport) ||
            ptp_transport_broken(c->transport))
                return 0;
        req = c->queue_head;
        c->queue_head = req->next;
        if (!c->queue_head)
                c->queue_tail = NULL;
        r = ptp_transport_submit(c->transport, &req->tx, req->done, req);
        if (r < 0) {
                /* Tell its owner the way the transport would have. */
                req->done(c->transport, r, NULL, NULL, 0, req);
                return 0;
        }
        c->pending = req;
        return 0;
}

static void request_drop(Camera *c, Request *req) {
        if (req->destroy)
                req->destroy(req->userdata);
        free(req);
        camera_unref(c);
}

void camera_hold(Camera *c, bool hold) {
        c->held = hold;
        if (!hold && c->queue_head && c->drain)
                (void) sd_event_source_set_enabled(c->drain, SD_EVENT_ONESHOT);
}

void camera_abandon(Camera *c) {
        Request *req = c->pending;

        camera_ref(c);
        c->gone = true;
        c->transport = ptp_transport_free(c->transport);
        if (req) {
                c->pending = NULL;
                request_drop(c, req);
        }
        while ((req = c->queue_head)) {
                c->queue_head = req->next;
                request_drop(c, req);
        }
        c->queue_tail = NULL;
        camera_unref(c);
}

static void request_complete(PtpTransport *t, int error, const PtpContainer *resp, const uint8_t *data,
                             size_t size, void *userdata) {
        Request *req = userdata;
        Camera *c = req->camera;
        uint16_t rc = resp ? resp->code : 0;
        int r = error;

        if (r == -ENODEV)
                c->gone = true;
        if (r >= 0 && rc != PTP_RC_OK) {
                log_debug("Camera %s answered %s (0x%04x).", c->log_name, strna(ptp_response_to_string(rc)), rc);
                r = -EREMOTEIO;
        }
        c->pending = NULL;

        switch (req->kind) {
        case REQ_DONE:
                req->cb.done(c, r, rc, req->userdata);
                break;
        case REQ_DATA:
                req->cb.data(c, r, rc, r >= 0 ? data : NULL, r >= 0 ? size : 0, req->userdata);
                break;
        case REQ_TIME: {
                _cleanup_free_ char *s = NULL;
                time_t when = 0;
                if (r >= 0 && (ptp_string_parse(data, size, &s) < 0 || ptp_datetime_parse(s, &when) < 0))
                        r = -EBADMSG;
                req->cb.time(c, r, rc, when, req->userdata);
                break;
        }
        case REQ_LEVEL: {
                uint64_t v = 0;
                if (r >= 0 && (ptp_uint_parse(data, size, 1, &v) < 0 || v > 100))
                        r = -EBADMSG;
                req->cb.level(c, r, rc, (unsigned) v, req->userdata);
                break;
        }
        case REQ_DEVICE_INFO:
        case REQ_OPEN_SESSION:
                /* handled by their own callbacks */
                break;
        }
        request_free(req);
}

/* destroy: how to release userdata if the camera is abandoned before the
 * request completes (NULL: the owner keeps track itself). */
static int request_submit(Camera *c, const PtpTransaction *tx, RequestKind kind, void *cb, void *userdata,
                          void (*destroy)(void *userdata), ptp_done_t done) {
        Request *req = request_new(c, kind, cb, userdata);

        if (!req)
                return -ENOMEM;
        req->destroy = destroy;
        return request_start(c, req, tx, done ?: request_complete);
}

static int simple_full(Camera *c, uint16_t code, const uint32_t *params, unsigned n, size_t max_data,
                       RequestKind kind, void *cb, void *userdata, void (*destroy)(void *userdata)) {
        PtpTransaction tx = { .code = code, .n_params = n, .max_data_in = max_data };

        if (n > 0)
                memcpy(tx.params, params, n * sizeof *params);
        return request_submit(c, &tx, kind, cb, userdata, destroy, NULL);
}

int camera_request_data(Camera *c, uint16_t code, const uint32_t *params, unsigned n, size_t max,
                        camera_data_t cb, void *userdata, void (*destroy)(void *userdata)) {
        return simple_full(c, code, params, n, max, REQ_DATA, cb, userdata, destroy);
}

int camera_request_sink(Camera *c, const PtpTransaction *tx, camera_done_t cb, void *userdata,
                        void (*destroy)(void *userdata)) {
        return request_submit(c, tx, REQ_DONE, cb, userdata, destroy, NULL);
}

static int simple(Camera *c, uint16_t code, const uint32_t *params, unsigned n, size_t max_data,
                  RequestKind kind, void *cb, void *userdata) {
        return simple_full(c, code, params, n, max_data, kind, cb, userdata, NULL);
}

/* ---- identification ---- */

/* An OpenSession came back: the session is open, or the error. */
static int session_result(Camera *c, int error, const PtpContainer *resp) {
        uint16_t rc = resp ? resp->code : 0;
        int r = error;

        /* A session left open (by an earlier host) is fine: the camera names it
         * (ISO 15740 §10.5.2: SessionAlreadyOpen carries the open SessionID) and we
         * carry on in it with fresh IDs, as libmtp and gphoto2 do. The transport
         * has checked the container: a reply of a size no container has (umtprd
         * 1.3.10 sends 13 bytes here) never reaches this point. */
        if (r >= 0 && rc == PTP_RC_SESSION_ALREADY_OPEN)
                log_debug("Camera %s has session %" PRIu32 " open already%s; carrying on in it.", c->log_name,
                          resp->n_params > 0 ? resp->params[0] : 0, resp->n_params > 0 ? "" : " (it did not say which)");
        if (r >= 0 && rc != PTP_RC_OK && rc != PTP_RC_SESSION_ALREADY_OPEN) {
                log_debug("Camera %s answered %s (0x%04x) to OpenSession.", c->log_name,
                          strna(ptp_response_to_string(rc)), rc);
                r = -EREMOTEIO;
        }
        if (r >= 0) {
                ptp_transport_session_opened(c->transport);
                c->session_open = true;
        }
        if (r == -ENODEV)
                c->gone = true;
        return r;
}

static void on_open_session(PtpTransport *t, int error, const PtpContainer *resp, const uint8_t *data,
                            size_t size, void *userdata) {
        Request *req = userdata;
        Camera *c = req->camera;
        uint16_t rc = resp ? resp->code : 0;
        int r = session_result(c, error, resp);

        c->pending = NULL;
        req->cb.done(c, r, rc, req->userdata);
        request_free(req);
}

static int open_session_submit(Camera *c, Request *req) {
        PtpTransaction tx = { .code = PTP_OC_OPEN_SESSION, .params = { 1 }, .n_params = 1, .tid_zero = true };

        c->session_open = false;
        return request_start_full(c, req, &tx, on_open_session, true);
}

int camera_reopen_session(Camera *c, camera_done_t cb, void *userdata) {
        Request *req = request_new(c, REQ_OPEN_SESSION, cb, userdata);

        if (!req)
                return -ENOMEM;
        return open_session_submit(c, req);
}

/* After one step of a request of several (identification, taking a session
 * over): on to the next, which takes req over and frees it on failure, or
 * tell the owner why not. */
static void request_continue(Request *req, int error, uint16_t rc, int (*next)(Camera *c, Request *req)) {
        Camera *c = camera_ref(req->camera);
        camera_done_t cb = req->cb.done;
        void *cb_userdata = req->userdata;
        int r = error;

        c->pending = NULL;
        if (r >= 0)
                r = next(c, req);
        else
                request_free(req);
        if (r < 0) {
                if (r == -ENODEV)
                        c->gone = true;
                cb(c, r, rc, cb_userdata);
        }
        camera_unref(c);
}

/* The CloseSession before a session of our own: whatever the camera answered,
 * no session of an earlier host is left that we know how to close, and
 * OpenSession tells the rest. Only a transport failure (a malformed reply, a
 * timeout, the camera gone) ends it here. */
static void on_close_stale_session(PtpTransport *t, int error, const PtpContainer *resp, const uint8_t *data,
                                   size_t size, void *userdata) {
        Request *req = userdata;
        uint16_t rc = resp ? resp->code : 0;

        if (error >= 0 && rc == PTP_RC_OK)
                log_debug("Camera %s had a session open from an earlier host; closed it.", req->camera->log_name);
        else if (error >= 0 && rc != PTP_RC_SESSION_NOT_OPEN)
                log_debug("Camera %s answered %s (0x%04x) to CloseSession; opening ours all the same.",
                          req->camera->log_name, strna(ptp_response_to_string(rc)), rc);
        request_continue(req, error, rc, open_session_submit);
}

int camera_take_over_session(Camera *c, camera_done_t cb, void *userdata) {
        PtpTransaction tx = { .code = PTP_OC_CLOSE_SESSION };
        Request *req = request_new(c, REQ_OPEN_SESSION, cb, userdata);

        if (!req)
                return -ENOMEM;
        c->session_open = false;
        return request_start_full(c, req, &tx, on_close_stale_session, true);
}

static void on_device_info(PtpTransport *t, int error, const PtpContainer *resp, const uint8_t *data,
                           size_t size, void *userdata);

static int device_info_submit(Camera *c, Request *req) {
        PtpTransaction tx = {
                .code = PTP_OC_GET_DEVICE_INFO,
                .tid_zero = !c->session_open,
                .max_data_in = PTP_DATASET_MAX_SIZE,
        };

        return request_start(c, req, &tx, on_device_info);
}

static void on_stale_session_reset(PtpTransport *t, int error, void *userdata) {
        Request *req = userdata;

        req->camera->session_open = false;
        request_continue(req, error, 0, device_info_submit);
}

/* The OpenSession that a camera wanted before GetDeviceInfo: ask again inside it. */
static void on_session_for_info(PtpTransport *t, int error, const PtpContainer *resp, const uint8_t *data,
                                size_t size, void *userdata) {
        Request *req = userdata;

        request_continue(req, session_result(req->camera, error, resp), resp ? resp->code : 0, device_info_submit);
}

static void on_device_info(PtpTransport *t, int error, const PtpContainer *resp, const uint8_t *data,
                           size_t size, void *userdata) {
        Request *req = userdata;
        Camera *c = req->camera;
        uint16_t rc = resp ? resp->code : 0;
        PtpDeviceInfo info = {};
        int r = error;

        if (r >= 0 && rc == PTP_RC_SESSION_NOT_OPEN && !c->session_open) {
                /* PTP allows GetDeviceInfo outside a session (ISO 15740 §10.5.1),
                 * but some MTP responders (umtprd 1.3.10) answer it only inside
                 * one; libmtp and gphoto2 always open the session first. So do
                 * we, for such a camera: a reset would gain nothing. */
                PtpTransaction open = { .code = PTP_OC_OPEN_SESSION, .params = { 1 }, .n_params = 1,
                                        .tid_zero = true };
                camera_done_t cb = req->cb.done;
                void *cb_userdata = req->userdata;

                log_debug("Camera on %s wants a session before GetDeviceInfo; opening one.", c->port);
                c = camera_ref(c);
                c->pending = NULL;
                r = request_start_full(c, req, &open, on_session_for_info, true);
                if (r < 0)   /* req is freed */
                        cb(c, r, rc, cb_userdata);
                camera_unref(c);
                return;
        }

        if (r >= 0 && rc == PTP_RC_INVALID_TRANSACTION_ID && !c->session_open && !c->stale_reset_done) {
                /* A session left open by an earlier host (or an earlier dockd): reset
                 * the camera's PTP state (protocol §10), which closes it, and ask again. */
                log_debug("Camera on %s has a session open from an earlier host; resetting it.", c->port);
                c->stale_reset_done = true;
                c->pending = NULL;
                r = ptp_transport_recover(c->transport, on_stale_session_reset, req);
                if (r >= 0) {
                        c->pending = req;
                        return;
                }
        }

        if (r >= 0 && rc != PTP_RC_OK) {
                log_debug("Camera on %s answered %s (0x%04x) to GetDeviceInfo.", c->port,
                          strna(ptp_response_to_string(rc)), rc);
                r = -EREMOTEIO;
        }
        if (r >= 0 && ptp_device_info_parse(data, size, &info) < 0)
                r = log_debug_errno(EBADMSG, "Camera on %s sent a malformed DeviceInfo.", c->port);
        if (r >= 0 && ptp_device_info_extension(&info, PTP_EXTENSION_BWC) != 1) {
                /* Not a camera that signs: kept for the allow-list to judge
                 * (camera_claimed_serial()), never as this camera's identity. */
                ptp_device_info_done(&c->info);
                c->info = info;
                info = (PtpDeviceInfo) {};
                c->have_info = false;
                r = -EMEDIUMTYPE;
        }
        if (r >= 0 && !serial_is_valid(info.serial))
                r = log_debug_errno(EBADMSG, "Camera on %s has an invalid serial number.", c->port);
        if (r >= 0) {
                ptp_device_info_done(&c->info);
                c->info = info;
                info = (PtpDeviceInfo) {};
                c->have_info = true;
                free(c->log_name);
                c->log_name = strdup(c->info.serial);
                c->pending = NULL;
                if (c->session_open) {
                        req->cb.done(c, 0, rc, req->userdata);
                        request_free(req);
                        return;
                }
                r = camera_reopen_session(c, req->cb.done, req->userdata);
                if (r >= 0) {
                        request_free(req);
                        return;
                }
        }
        ptp_device_info_done(&info);
        if (r == -ENODEV)
                c->gone = true;
        c->pending = NULL;
        req->cb.done(c, r, rc, req->userdata);
        request_free(req);
}

int camera_identify(Camera *c, camera_done_t cb, void *userdata) {
        Request *req = request_new(c, REQ_DEVICE_INFO, cb, userdata);

        if (!req)
                return -ENOMEM;
        return device_info_submit(c, req);
}

static void on_recovered(PtpTransport *t, int error, void *userdata) {
        Request *req = userdata;
        Camera *c = req->camera;
        int r = error;

        c->session_open = false;
        c->pending = NULL;
        /* Device Reset closes the session (protocol §10), but a camera whose
         * kind is not known yet may keep it: umtprd acks the reset and keeps
         * it, and answers OpenSession in 13 bytes (camera_take_over_session()). */
        if (r >= 0)
                r = camera_take_over_session(c, req->cb.done, req->userdata);
        if (r < 0) {
                if (r == -ENODEV)
                        c->gone = true;
                req->cb.done(c, r, 0, req->userdata);
        }
        request_free(req);
}

int camera_recover(Camera *c, camera_done_t cb, void *userdata) {
        Request *req;
        int r;

        if (c->gone || !c->transport)
                return -ENODEV;
        req = request_new(c, REQ_DONE, cb, userdata);
        if (!req)
                return -ENOMEM;
        r = ptp_transport_recover(c->transport, on_recovered, req);
        if (r < 0) {
                request_free(req);
                return r;
        }
        c->pending = req;
        return 0;
}

/* ---- simple operations ---- */

int camera_get_certificates(Camera *c, camera_data_t cb, void *userdata) {
        if (!ptp_device_info_has_operation(&c->info, PTP_OC_BWC_GET_DEVICE_CERTIFICATES))
                return -EOPNOTSUPP;
        return simple(c, PTP_OC_BWC_GET_DEVICE_CERTIFICATES, NULL, 0, 4 * (16384 + 4) + 4, REQ_DATA, cb, userdata);
}

int camera_sign_challenge(Camera *c, const uint8_t nonce[CHALLENGE_NONCE_SIZE], camera_data_t cb, void *userdata) {
        uint32_t params[5] = {};

        if (!ptp_device_info_has_operation(&c->info, PTP_OC_BWC_SIGN_CHALLENGE))
                return -EOPNOTSUPP;
        for (size_t i = 0; i < CHALLENGE_NONCE_SIZE; i++)
                params[i / 4] |= (uint32_t) nonce[i] << (8 * (i % 4));
        return simple(c, PTP_OC_BWC_SIGN_CHALLENGE, params, 5, CHALLENGE_DATASET_MAX, REQ_DATA, cb, userdata);
}

int camera_get_battery(Camera *c, camera_data_t cb, void *userdata) {
        if (!ptp_device_info_has_operation(&c->info, PTP_OC_BWC_GET_BATTERY_TELEMETRY))
                return -EOPNOTSUPP;
        return simple(c, PTP_OC_BWC_GET_BATTERY_TELEMETRY, NULL, 0, 4096, REQ_DATA, cb, userdata);
}

int camera_get_self_test(Camera *c, camera_data_t cb, void *userdata) {
        if (!ptp_device_info_has_operation(&c->info, PTP_OC_BWC_GET_SELF_TEST_RESULT))
                return -EOPNOTSUPP;
        return simple(c, PTP_OC_BWC_GET_SELF_TEST_RESULT, NULL, 0, 64 * 1024, REQ_DATA, cb, userdata);
}

int camera_run_self_test(Camera *c, uint32_t mask, camera_done_t cb, void *userdata) {
        if (!ptp_device_info_has_operation(&c->info, PTP_OC_BWC_RUN_SELF_TEST))
                return -EOPNOTSUPP;
        return simple(c, PTP_OC_BWC_RUN_SELF_TEST, &mask, 1, 0, REQ_DONE, cb, userdata);
}

int camera_read_object(Camera *c, uint32_t handle, size_t max, camera_data_t cb, void *userdata) {
        return simple(c, PTP_OC_GET_OBJECT, &handle, 1, MIN(max, (size_t) CAMERA_SMALL_OBJECT_MAX), REQ_DATA, cb,
                      userdata);
}

int camera_read_partial(Camera *c, uint32_t handle, uint64_t offset, uint32_t max_bytes, ptp_sink_t sink,
                        void *sink_userdata, camera_done_t cb, void *userdata) {
        PtpTransaction tx = {
                .sink = sink,
                .sink_userdata = sink_userdata,
                .max_data_in = max_bytes,
        };

        if (ptp_device_info_has_operation(&c->info, PTP_OC_GET_PARTIAL_OBJECT_64)) {
                tx.code = PTP_OC_GET_PARTIAL_OBJECT_64;
                tx.params[0] = handle;
                tx.params[1] = (uint32_t) offset;
                tx.params[2] = (uint32_t) (offset >> 32);
                tx.params[3] = max_bytes;
                tx.n_params = 4;
        } else if (offset + max_bytes <= UINT32_MAX &&
                   ptp_device_info_has_operation(&c->info, PTP_OC_GET_PARTIAL_OBJECT)) {
                tx.code = PTP_OC_GET_PARTIAL_OBJECT;
                tx.params[0] = handle;
                tx.params[1] = (uint32_t) offset;
                tx.params[2] = max_bytes;
                tx.n_params = 3;
        } else
                return -EOPNOTSUPP;
        return request_submit(c, &tx, REQ_DONE, cb, userdata, NULL, NULL);
}

int camera_delete_object(Camera *c, uint32_t handle, camera_done_t cb, void *userdata) {
        uint32_t params[2] = { handle, 0 };
        return simple(c, PTP_OC_DELETE_OBJECT, params, 2, 0, REQ_DONE, cb, userdata);
}

int camera_get_time(Camera *c, camera_time_t cb, void *userdata) {
        uint32_t p = PTP_DPC_DATE_TIME;
        return simple(c, PTP_OC_GET_DEVICE_PROP_VALUE, &p, 1, 1024, REQ_TIME, cb, userdata);
}

int camera_get_battery_level(Camera *c, camera_level_t cb, void *userdata) {
        uint32_t p = PTP_DPC_BATTERY_LEVEL;
        return simple(c, PTP_OC_GET_DEVICE_PROP_VALUE, &p, 1, 16, REQ_LEVEL, cb, userdata);
}

int camera_set_time(Camera *c, time_t t, camera_done_t cb, void *userdata) {
        char s[17];
        uint8_t buf[64];
        ssize_t n;
        PtpTransaction tx = { .code = PTP_OC_SET_DEVICE_PROP_VALUE, .params = { PTP_DPC_DATE_TIME }, .n_params = 1 };
        Request *req;

        ptp_datetime_format(t, s);
        n = ptp_string_build(buf, sizeof buf, s);
        if (n < 0)
                return (int) n;
        req = request_new(c, REQ_DONE, cb, userdata);
        if (!req)
                return -ENOMEM;
        memcpy(req->out, buf, (size_t) n);
        tx.data_out = req->out;
        tx.data_out_size = (size_t) n;
        return request_start(c, req, &tx, request_complete);
}
