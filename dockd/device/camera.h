/* SPDX-License-Identifier: Apache-2.0 */
/* camera.h: one docked camera: its USB handle and PTP transport, what it said
 * about itself, and typed asynchronous operations (protocol §5, §6, §8, §11).
 * Each operation calls back exactly once (unless the camera is freed first). */
#pragma once

#include <libusb.h>
#include <systemd/sd-event.h>

#include "challenge.h"
#include "object-prop-list.h"
#include "dockd-config.h"
#include "ptp-transport.h"
#include "ptp.h"
#include "worker.h"

typedef struct Camera Camera;

/* A segment file on the camera (protocol §11). */
typedef struct CameraFile {
        uint32_t handle;
        uint64_t size;            /* UINT64_MAX until known (>= 4 GiB objects: ObjectSize) */
        bool write_protected;
} CameraFile;

typedef enum CameraFileKind {
        CAMERA_FILE_VIDEO,        /* .mp4 */
        CAMERA_FILE_MANIFEST,     /* .man */
        CAMERA_FILE_SIGNATURE,    /* .p7s */
        _CAMERA_FILE_KIND_MAX,
} CameraFileKind;

typedef struct CameraSegment {
        char *recording_id;
        uint32_t index;
        CameraFile files[_CAMERA_FILE_KIND_MAX];
        bool present[_CAMERA_FILE_KIND_MAX];
} CameraSegment;

typedef struct CameraInventory {
        CameraSegment *segments;  /* sorted by recording id, then index */
        size_t n_segments;
        uint64_t storage_capacity;
        uint64_t storage_free;
        size_t n_ignored;         /* objects that are not segment files */
        bool list_malformed;      /* its GetObjectPropList answer was: listed object by object */
} CameraInventory;

void camera_inventory_free(CameraInventory *inv);

struct Camera {
        unsigned n_ref;
        sd_event *event;
        libusb_device *device;
        char port[64];
        uint8_t devnum;
        uint32_t usb_id;          /* idVendor << 16 | idProduct, from the device descriptor */
        PtpTransport *transport;
        PtpDeviceInfo info;
        bool have_info;
        bool session_open;
        bool stale_reset_done;    /* reset once for a session an earlier host left open */
        bool gone;
        const DockdConfig *config;
        char *log_name;           /* "BWC-0001" once known, else the port */
        void (*event_cb)(Camera *c, const PtpContainer *e, void *userdata);
        void *event_userdata;
        struct CameraRequest *pending;   /* the operation in flight */
        bool held;                       /* camera_hold(): the queue waits */
        struct CameraRequest *queue_head, *queue_tail;   /* waiting for the camera */
        sd_event_source *drain;
};

/* Find the PTP interface, open, claim, set up the transport on usb's loop. */
int camera_open(UsbManager *usb, libusb_device *dev, const char *port, const DockdConfig *config,
                Camera **ret);
/* Drop the camera without waiting for it: the transport is released, the
 * operation in flight never calls back. For a camera that left, or shutdown. */
void camera_abandon(Camera *c);
Camera *camera_ref(Camera *c);
Camera *camera_unref(Camera *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Camera *, camera_unref);

const char *camera_serial(Camera *c);
/* After camera_identify() failed with -EMEDIUMTYPE: the serial the device's
 * DeviceInfo claimed, unchecked (any bytes a PTP string can carry), or NULL. */
const char *camera_claimed_serial(Camera *c);

/* Operations on one camera run one at a time; an operation started while another
 * is in flight waits in a queue (first come, first served), so that the offload
 * and the health checks can share the camera.
 *
 * error < 0: transport failure (-ENODEV, -ETIMEDOUT, -EPROTO …) or -EREMOTEIO
 * when the camera answered with a response code other than OK (in rc). */
typedef void (*camera_done_t)(Camera *c, int error, uint16_t rc, void *userdata);

/* GetDeviceInfo, extension check, OpenSession. -EMEDIUMTYPE if the device does not
 * announce the extension (not a signing camera): no session is opened, and
 * camera_claimed_serial() tells what it said it is. */
int camera_identify(Camera *c, camera_done_t cb, void *userdata);
/* OpenSession, on a camera known to have none open. */
int camera_reopen_session(Camera *c, camera_done_t cb, void *userdata);
/* OpenSession for a camera that identified itself outside a session of ours
 * (camera_identify() opened none), or after a recovery (camera_recover()): one
 * an earlier host left open (our own run before a restart or crash) is closed
 * first with CloseSession, which a camera without one answers SessionNotOpen
 * (ISO 15740 §10.5.3). A second OpenSession
 * into an open session is what umtprd 1.3.10 answers with a malformed
 * container (13 bytes), which the transport rejects. */
int camera_take_over_session(Camera *c, camera_done_t cb, void *userdata);
int camera_recover(Camera *c, camera_done_t cb, void *userdata);

typedef void (*camera_data_t)(Camera *c, int error, uint16_t rc, const uint8_t *data, size_t size,
                              void *userdata);
/* GetDeviceCertificates, GetBatteryTelemetry, GetSelfTestResult, and whole small
 * objects (GetObject with at most max bytes). */
int camera_get_certificates(Camera *c, camera_data_t cb, void *userdata);
/* SignChallenge (§8.4): the ChallengeSignature dataset over nonce; -EOPNOTSUPP
 * when the camera does not announce it. */
int camera_sign_challenge(Camera *c, const uint8_t nonce[CHALLENGE_NONCE_SIZE], camera_data_t cb, void *userdata);
int camera_get_battery(Camera *c, camera_data_t cb, void *userdata);
int camera_get_self_test(Camera *c, camera_data_t cb, void *userdata);
int camera_run_self_test(Camera *c, uint32_t mask, camera_done_t cb, void *userdata);
int camera_read_object(Camera *c, uint32_t handle, size_t max, camera_data_t cb, void *userdata);

/* GetPartialObject64 (or GetPartialObject below 4 GiB when 64 is missing):
 * up to max_bytes from offset, streamed to sink. ret via cb: bytes sent in rc? No:
 * the callback's error is 0 and the sink saw the bytes. */
int camera_read_partial(Camera *c, uint32_t handle, uint64_t offset, uint32_t max_bytes,
                        ptp_sink_t sink, void *sink_userdata, camera_done_t cb, void *userdata);
int camera_delete_object(Camera *c, uint32_t handle, camera_done_t cb, void *userdata);

typedef void (*camera_time_t)(Camera *c, int error, uint16_t rc, time_t camera_time, void *userdata);
int camera_get_time(Camera *c, camera_time_t cb, void *userdata);
int camera_set_time(Camera *c, time_t t, camera_done_t cb, void *userdata);
typedef void (*camera_level_t)(Camera *c, int error, uint16_t rc, unsigned percent, void *userdata);
int camera_get_battery_level(Camera *c, camera_level_t cb, void *userdata);

/* Transactions through the camera's queue for the operations of other files
 * (camera-inventory.c). camera_request_data: data-in buffered (at most max
 * bytes) and handed to cb; camera_request_sink: data-in streamed to tx->sink
 * (at most tx->max_data_in bytes), cb once answered. destroy(userdata), if not
 * NULL, when the camera is abandoned before cb. */
int camera_request_data(Camera *c, uint16_t code, const uint32_t *params, unsigned n, size_t max,
                        camera_data_t cb, void *userdata, void (*destroy)(void *userdata));
int camera_request_sink(Camera *c, const PtpTransaction *tx, camera_done_t cb, void *userdata,
                        void (*destroy)(void *userdata));

/* While held, operations wait in the queue: an operation of several
 * transactions with work between them (the inventory, while it matches what
 * the camera listed) keeps the camera to itself, as one transaction would. */
void camera_hold(Camera *c, bool hold);

typedef void (*camera_inventory_t)(Camera *c, int error, uint16_t rc, CameraInventory *inv, void *userdata);
/* The segments on the camera: storage IDs and infos, then one
 * GetObjectPropList (§5.11), or GetObjectHandles and GetObjectInfo per object
 * on a camera that does not announce it. At most PTP_MAX_OBJECTS objects.
 * The objects are matched to segments in one of workers' threads (NULL: on
 * the loop), the camera held meanwhile; a camera abandoned before that ends
 * never calls back. */
int camera_inventory(Camera *c, WorkerPool *workers, camera_inventory_t cb, void *userdata);
typedef void (*camera_objects_t)(Camera *c, int error, uint16_t rc, PtpObjectProps *objects, size_t n,
                                 void *userdata);
/* Every object of a camera that does not sign (generic-listing.h), not matched
 * to segments: its storages walked folder by folder (GetObjectHandles of each
 * folder, GetObjectInfo of each object, as libmtp lists such devices), each
 * handle once, folders at most GENERIC_PATH_DEPTH_MAX deep, at most
 * PTP_MAX_OBJECTS handles read in all; in ascending handle order, no handle
 * twice, each with its date (ptp_object_info_date()). The objects move to cb
 * (ptp_object_props_free()). A camera abandoned
 * meanwhile never calls back. */
int camera_list_objects(Camera *c, camera_objects_t cb, void *userdata);

void camera_set_event_handler(Camera *c, void (*cb)(Camera *c, const PtpContainer *e, void *userdata),
                              void *userdata);

const char *camera_file_kind_extension(CameraFileKind k);
