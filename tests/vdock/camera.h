/* camera.h: one simulated body-worn camera: its objects (recordings, segments
 * and their three files), identity, battery, self-test, RTC, and the faults
 * armed on it. Pure model, no USB; the responder drives it. */
#pragma once
#include <glib.h>
#include <stdint.h>

#include "pki.h"
#include "vclock.h"
#include "wirestr.h"

typedef struct Camera Camera;
typedef struct Recording Recording;
typedef struct Segment Segment;
typedef struct Object Object;

typedef enum { FILE_MP4, FILE_MAN, FILE_P7S, FILE_N, OBJ_FOLDER = FILE_N } ObjectKind;

typedef enum {
        TRIG_UNPLUG,    /* the camera leaves the bus (undocked) */
        TRIG_STALL,     /* the camera stops answering */
        TRIG_URB_ERROR, /* the URB carrying the byte fails */
} TriggerKind;

typedef enum { UNTIL_RESET, UNTIL_POWER, UNTIL_NEVER } StallUntil;

typedef enum {
        MALFORMED_BAD_LENGTH, /* response ContainerLength 8 (< 12) */
        MALFORMED_OVERSIZE,   /* dataset Data container announces 64 MiB */
        MALFORMED_TRUNCATED,  /* Data container ends before its length */
        MALFORMED_WRONG_TID,  /* Data and Response carry TransactionID + 1 */
        MALFORMED_WRONG_TYPE, /* Response sent with ContainerType Data */
        MALFORMED_N,
} MalformedKind;

typedef struct {
        TriggerKind kind;
        Segment *segment;    /* byte trigger on this segment's video, or NULL */
        uint64_t offset;
        uint16_t opcode;     /* TRIG_STALL on an operation when segment == NULL */
        int urb_status;      /* TRIG_URB_ERROR: negative errno */
        StallUntil until;
        double redock_after; /* TRIG_UNPLUG: seconds, < 0 never */
        gboolean fired;
} Trigger;

/* The vendor extension's SignChallenge (protocol §8.4), as the camera answers it. */
typedef enum {
        CHALLENGE_GOOD,        /* signs the §8.4 bytes with its device key */
        CHALLENGE_UNSUPPORTED, /* does not announce 0x9A05; Operation_Not_Supported */
        CHALLENGE_ERROR,       /* announces it, answers General_Error */
        CHALLENGE_GARBAGE,     /* random bytes where the signature goes */
        CHALLENGE_REPLAY,      /* signs the first nonce it was ever sent, whatever is asked */
        CHALLENGE_UNPREFIXED,  /* signs the bare nonce, without the domain prefix and serial */
        CHALLENGE_WRONG_KEY,   /* signs with a key that is not its certificate's */
        CHALLENGE_N,
} ChallengeMode;

/* GetObjectPropList's answer (malformed_prop_list), for a dock's parser to refuse. */
typedef enum {
        PROP_LIST_GOOD,
        PROP_LIST_COUNT,       /* NumberOfElements 1000 more than the elements sent */
        PROP_LIST_STRING,      /* the data ends inside the first string element */
        PROP_LIST_N,
} PropListMode;

/* Strings the camera sends verbatim instead of its sane identity (hostile tests). */
typedef enum {
        RAW_MANUFACTURER,  /* DeviceInfo Manufacturer */
        RAW_MODEL,         /* DeviceInfo Model */
        RAW_FIRMWARE,      /* DeviceInfo DeviceVersion */
        RAW_SERIAL,        /* DeviceInfo SerialNumber only */
        RAW_STORAGE_DESCRIPTION,
        RAW_VOLUME_LABEL,
        RAW_DATETIME,      /* GetDevicePropValue(DateTime) */
        RAW_N,
} RawField;

typedef enum { TRUTH_AUTO, TRUTH_FULL, TRUTH_SUMMARY } TruthMode;

typedef struct {
        MalformedKind kind;
        uint16_t opcode;
        int remaining; /* < 0: every time */
} Malformed;

struct Object {
        uint32_t handle;
        ObjectKind kind;
        Recording *recording;
        Segment *segment; /* NULL for folders */
        char name[72];
        gboolean deleted;
        gboolean lost;     /* vanished without a DeleteObject (key "lose") */
        gboolean replaced; /* overwritten by new content under its name (key "reuse_recording_id") */
        gint64 deleted_mono_us, deleted_real_us;
        uint64_t bytes_served;
        unsigned reads;
};

struct Segment {
        Recording *recording;
        unsigned index;
        unsigned generation; /* of the recording when it was made (reuse_recording_id) */
        uint64_t size;       /* of the video, as the manifest says */
        uint64_t seed;
        gint64 start, end; /* unix seconds */
        gboolean missing;  /* chain-gap fault: never on the camera */
        gboolean elsewhere;  /* first_segment: recorded, taken by a dock elsewhere */
        gboolean broken_prev;/* record ... broken-chain: prev names a manifest that never existed */
        gboolean revoked_signer; /* signed under an earlier, revoked certificate of the key */
        gboolean missing_file[FILE_N]; /* that file never on the camera */
        uint64_t video_extra;          /* oversized_video: the object is this much longer */
        uint64_t padded_size[FILE_N];  /* oversized_file: .man/.p7s this long (0: natural) */
        gint64 corrupt_offset; /* -1: none */
        gboolean manifest_altered;
        int delete_refusal; /* 0 or RC_Object_WriteProtected / RC_Access_Denied */
        gboolean hashed;
        uint8_t sha256[32];
        GBytes *manifest;        /* as signed */
        GBytes *manifest_served; /* differs when manifest_altered */
        GBytes *signature;
        Object *files[FILE_N];
};

struct Recording {
        Camera *camera;
        char *id;
        char *officer;
        char *categories;
        gint64 start;
        unsigned segment_seconds;
        GPtrArray *segments; /* Segment* */
        Object *folder;
        unsigned generation; /* times its id was reused */
        GPtrArray *previous; /* RecordingGeneration*, oldest first */
};

/* A recording's segments before the camera reused its id. */
typedef struct {
        unsigned generation;
        GPtrArray *segments; /* Segment* (owned) */
} RecordingGeneration;

/* An armed reuse_recording_id: fires when the camera next leaves a bay. */
typedef struct {
        char *recording;  /* NULL: the first */
        char *segments;   /* sizes of the new recording, "3x1M"; NULL: as before */
} PendingReuse;

typedef struct {
        double soc;           /* 0..1 */
        unsigned design_mah, full_mah, cycles;
        int temp_dc;          /* 0.1 °C */
        gboolean gauge_fault;
        gboolean charging;    /* current state */
        gboolean external_power;
        int current_ma;
        gint64 last_update_us;
        double charge_c_rate; /* CC current as a fraction of capacity per hour */
        double time_scale;
} Battery;

typedef struct {
        uint16_t result;      /* 0 pass, 1 fail, 2 not fitted */
        uint32_t error_code;
        char *detail;
} SelfTestComponent;

enum { SELFTEST_COMPONENTS = 6 };

typedef struct {
        SelfTestComponent comp[SELFTEST_COMPONENTS + 1]; /* 1-based */
        double duration_s;
        int state;            /* 0 never, 1 running, 2 complete */
        uint32_t mask;
        gint64 started_mono_us;
        uint32_t completed_at;
        gboolean complete_event_pending;
} SelfTest;

/* Who answers on USB: vdock's responder, or umtprd through the FunctionFS bridge (umtprd.h). */
typedef enum { CAMERA_VDOCK, CAMERA_UMTPRD } CameraResponder;

struct Camera {
        char *serial, *model, *manufacturer, *firmware;
        CameraResponder responder;
        char *umtprd_dir;         /* CAMERA_UMTPRD: the folder it serves */
        gboolean umtprd_readonly; /* its storage is "ro" */
        uint16_t usb_vid, usb_pid; /* CAMERA_UMTPRD: the gadget's IDs */
        char *officer; /* default for recordings */
        uint64_t capacity;
        gboolean usb3;
        double link_mbps; /* bytes/s cap in MB/s; 0 unlimited */
        CertFault cert_fault;
        double clock_drift_s; /* camera clock minus true time at start */
        gint64 clock_offset_us; /* current camera clock minus realtime */
        GPtrArray *recordings; /* Recording* */
        GPtrArray *objects;    /* Object*, index = handle - 1 */
        GPtrArray *triggers;   /* Trigger* */
        GPtrArray *malformed;  /* Malformed* */
        Battery battery;
        SelfTest selftest;
        DeviceIdentity *identity;
        uint64_t signature_size;
        Pki *pki;
        GPtrArray *delete_log;    /* DeleteRecord* */
        GPtrArray *clock_log;     /* ClockRecord* */
        int docked_bay;           /* 0 when not docked */
        /* hostile behaviour */
        char *presented_serial;   /* impersonate: the serial it claims; NULL: its own */
        Camera *impersonated;     /* that camera, when the scenario has it (set by the world) */
        DeviceIdentity *old_identity; /* revoked_signer: earlier, revoked certificate of its key */
        ChallengeMode challenge;
        gboolean have_first_nonce;
        uint8_t first_nonce[16];
        gboolean no_object_prop_list; /* get_object_prop_list = false */
        gboolean no_extension;    /* extension = no: a plain MTP camera, only its .mp4 files */
        PropListMode prop_list;   /* malformed_prop_list */
        GArray *raw[RAW_N];       /* guint16 units; NULL: the sane value */
        char *raw_spec[RAW_N];    /* as written, for the ground truth */
        char *raw_officer;        /* officer_id written into manifests verbatim */
        TruthMode truth_mode;
        GPtrArray *pending_reuse; /* PendingReuse* */
        GHashTable *op_counts;    /* operation code → commands executed */
};

typedef struct {
        gint64 mono_us, real_us;
        uint32_t handle;
        char *name;     /* "<rec>/<file>" or NULL for unknown handles */
        uint16_t response;
} DeleteRecord;

typedef struct {
        gint64 mono_us, real_us;
        gint64 camera_before_us;
        char *value;
        gboolean accepted;
} ClockRecord;

Camera *camera_new(const char *serial);
void camera_free(Camera *cam);
Recording *camera_add_recording(Camera *cam, const char *id, gint64 start, unsigned seg_seconds,
                                const char *officer, const char *categories);
Segment *recording_add_segment(Recording *rec, uint64_t size);
/* Assign handles and build objects; call once after adding recordings. */
void camera_finalize(Camera *cam, const VClock *clock);
Segment *camera_find_segment(Camera *cam, const char *spec); /* "[REC/]INDEX" */
Recording *camera_find_recording(Camera *cam, const char *id); /* NULL id: the first */
/* The serial the camera claims (DeviceInfo, USB, manifests, certificate). */
const char *camera_presented_serial(const Camera *cam);
/* Objects of a segment added after camera_finalize() (record, reuse). */
void camera_add_segment_objects(Camera *cam, Segment *seg);
Object *camera_add_folder(Camera *cam, Recording *rec);
void segment_free(Segment *seg);
uint64_t camera_segment_seed(Camera *cam, Recording *rec, unsigned index, unsigned generation);

Object *camera_object(Camera *cam, uint32_t handle); /* NULL if absent or deleted */
uint64_t object_size(Camera *cam, Object *obj);
uint16_t object_format(const Object *obj);
uint64_t camera_free_space(Camera *cam);
/* Object bytes with the corrupt-byte fault applied. */
void camera_read_object(Camera *cam, Object *obj, uint64_t offset, uint8_t *buf, size_t len);
/* Manifest/signature are made lazily (hashing the video on first need). */
GBytes *segment_manifest(Camera *cam, Segment *seg, gboolean served);
GBytes *segment_signature(Camera *cam, Segment *seg);
/* A .man or .p7s exactly as the camera serves it (padding included). */
GBytes *camera_served_file(Camera *cam, Segment *seg, ObjectKind kind);
const uint8_t *segment_sha256(Segment *seg);
/* Identity is created lazily too; NULL on failure. The certificate is the one
 * the camera presents; the key the one it holds (they differ for impostors). */
DeviceIdentity *camera_identity(Camera *cam);
/* An earlier certificate of the camera's key, revoked (revoked_signer); NULL on failure. */
DeviceIdentity *camera_old_identity(Camera *cam);
/* Make now what the CRL must list before the dock starts. */
void camera_prepare_pki(Camera *cam);
void camera_reset_identity(Camera *cam);

/* Delete per §5.1: returns a response code, and logs the request. */
uint16_t camera_delete(Camera *cam, uint32_t handle, const VClock *clock, GArray *ret_removed);

/* RTC */
gint64 camera_clock_us(Camera *cam, const VClock *clock);
gboolean camera_set_clock(Camera *cam, const char *value, const VClock *clock);
char *format_ptp_time(gint64 unix_s);

/* Battery model: advance to now, charging if powered && allowed. */
void battery_advance(Battery *b, gint64 now_us, gboolean powered, gboolean allowed);
unsigned battery_voltage_mv(const Battery *b);
const char *battery_status(const Battery *b, gboolean powered, gboolean allowed);

/* Self-test */
uint16_t selftest_run(SelfTest *st, uint32_t mask, const VClock *clock);
gboolean selftest_poll(SelfTest *st, Camera *cam, const VClock *clock); /* TRUE when just completed */
const char *selftest_component_name(unsigned id);
int selftest_component_id(const char *name);

/* Find the first armed byte trigger within [off, off+len) of obj; returns
 * how many bytes may be served before it (len if none). */
size_t camera_trigger_limit(Camera *cam, Object *obj, uint64_t off, size_t len, Trigger **ret_trig);
Trigger *camera_op_trigger(Camera *cam, uint16_t opcode);
Malformed *camera_take_malformed(Camera *cam, uint16_t opcode);

/* The camera left a bay: armed reuse_recording_id fire now. */
void camera_undocked(Camera *cam);
void camera_count_op(Camera *cam, uint16_t opcode);
