/* responder-ops.c: the operations of protocol §5 and §8 and their datasets
 * (§4, §6, §8). Called by responder.c once the transaction checks passed. */
#include "responder-private.h"

#include <string.h>

#include "ptp.h"

#define EXTENSION_DESC_PLAIN "microsoft.com: 1.0; android.com: 1.0"
#define EXTENSION_DESC EXTENSION_DESC_PLAIN "; dockd.org/bwc: 1.1"

/* The operations of the vendor extension (protocol §8), which a camera
 * without it (extension = no) neither announces nor answers. */
static gboolean is_extension_op(uint16_t op)
{
        return op >= OC_GetBatteryTelemetry && op <= OC_SignChallenge;
}

/* A string field: the raw (hostile) value when the scenario gave one. */
static void put_field(GByteArray *a, Camera *cam, RawField f, const char *sane)
{
        if (cam->raw[f])
                put_wirestr(a, cam->raw[f]);
        else
                put_str(a, sane);
}

/* What this camera announces: all of ptp_operations_supported but the ones
 * its scenario takes away. */
static void put_operations(GByteArray *a, Camera *cam)
{
        g_autoptr(GArray) ops = g_array_new(FALSE, FALSE, sizeof(uint16_t));

        for (size_t i = 0; i < ptp_n_operations_supported; i++) {
                uint16_t op = ptp_operations_supported[i];
                if ((op == OC_GetObjectPropList && cam->no_object_prop_list) ||
                    (is_extension_op(op) && cam->no_extension) ||
                    (op == OC_SignChallenge && cam->challenge == CHALLENGE_UNSUPPORTED))
                        continue;
                g_array_append_val(ops, op);
        }
        put_a16(a, (const uint16_t *) ops->data, ops->len);
}

static void op_device_info(Responder *r)
{
        static const uint16_t events[] = { EC_ObjectAdded, EC_ObjectRemoved, EC_DevicePropChanged,
                                           EC_StoreFull, EC_SelfTestComplete };
        static const uint16_t props[] = { DPC_BatteryLevel, DPC_DateTime };
        static const uint16_t formats[] = { OFC_Association, OFC_Text, OFC_Video, OFC_Undefined };
        GByteArray *a = g_byte_array_new();
        Camera *cam = r->cam;

        put_u16(a, 100);
        put_u32(a, 6);
        put_u16(a, 100);
        put_str(a, cam->no_extension ? EXTENSION_DESC_PLAIN : EXTENSION_DESC);
        put_u16(a, 0);
        put_operations(a, cam);
        put_a16(a, events, G_N_ELEMENTS(events));
        put_a16(a, props, G_N_ELEMENTS(props));
        put_a16(a, NULL, 0);
        put_a16(a, formats, G_N_ELEMENTS(formats));
        put_field(a, cam, RAW_MANUFACTURER, cam->manufacturer);
        put_field(a, cam, RAW_MODEL, cam->model);
        put_field(a, cam, RAW_FIRMWARE, cam->firmware);
        put_field(a, cam, RAW_SERIAL, camera_presented_serial(cam));
        send_data(r, g_byte_array_free_to_bytes(a));
        respond0(r, RC_OK);
}

static void op_open_session(Responder *r)
{
        if (r->params[0] == 0) {
                respond0(r, RC_Invalid_Parameter);
                return;
        }
        r->session_open = TRUE;
        r->session_id = r->params[0];
        r->expected_tid = 1;
        respond0(r, RC_OK);
}

static void op_storage_ids(Responder *r)
{
        GByteArray *a = g_byte_array_new();

        put_u32(a, 1);
        put_u32(a, STORAGE_ID);
        send_data(r, g_byte_array_free_to_bytes(a));
        respond0(r, RC_OK);
}

static void op_storage_info(Responder *r)
{
        GByteArray *a;

        if (r->params[0] != STORAGE_ID) {
                respond0(r, RC_Invalid_StorageID);
                return;
        }
        a = g_byte_array_new();
        put_u16(a, 0x0003);
        put_u16(a, 0x0002);
        put_u16(a, 0x0002);
        put_u64(a, r->cam->capacity);
        put_u64(a, camera_free_space(r->cam));
        put_u32(a, 0xFFFFFFFF);
        put_field(a, r->cam, RAW_STORAGE_DESCRIPTION, "Internal storage");
        put_field(a, r->cam, RAW_VOLUME_LABEL, camera_presented_serial(r->cam));
        send_data(r, g_byte_array_free_to_bytes(a));
        respond0(r, RC_OK);
}

/* §5: StorageID (0xFFFFFFFF all), Format (0 all), Parent (0 all objects,
 * 0xFFFFFFFF root only, else that folder). Returns a response code. */
static uint16_t select_objects(Responder *r, GArray *out)
{
        uint32_t storage = r->params[0], format = r->params[1], parent = r->params[2];
        Camera *cam = r->cam;
        Object *pobj = NULL;

        if (storage != 0xFFFFFFFF && storage != STORAGE_ID)
                return RC_Invalid_StorageID;
        if (parent != 0 && parent != 0xFFFFFFFF) {
                pobj = camera_object(cam, parent);
                if (!pobj || pobj->kind != OBJ_FOLDER)
                        return RC_Invalid_ObjectHandle;
        }
        for (guint i = 0; i < cam->objects->len; i++) {
                Object *obj = cam->objects->pdata[i];
                gboolean at_root = obj->kind == OBJ_FOLDER;

                if (obj->deleted || (format && format != object_format(obj)))
                        continue;
                if (parent == 0xFFFFFFFF && !at_root)
                        continue;
                if (pobj && (at_root || obj->recording != pobj->recording))
                        continue;
                g_array_append_val(out, obj->handle);
        }
        return RC_OK;
}

static void op_object_handles(Responder *r, gboolean count_only)
{
        g_autoptr(GArray) handles = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        uint16_t rc = select_objects(r, handles);
        GByteArray *a;
        uint32_t n = handles->len;

        if (rc != RC_OK) {
                respond0(r, rc);
                return;
        }
        if (count_only) {
                respond(r, RC_OK, &n, 1);
                return;
        }
        a = g_byte_array_new();
        put_u32(a, n);
        for (guint i = 0; i < n; i++)
                put_u32(a, g_array_index(handles, uint32_t, i));
        send_data(r, g_byte_array_free_to_bytes(a));
        respond0(r, RC_OK);
}

static void op_object_info(Responder *r)
{
        Object *obj = camera_object(r->cam, r->params[0]);
        gboolean folder;
        uint64_t size;
        g_autofree char *date = NULL;
        GByteArray *a;

        if (!obj) {
                respond0(r, RC_Invalid_ObjectHandle);
                return;
        }
        folder = obj->kind == OBJ_FOLDER;
        size = object_size(r->cam, obj);
        date = format_ptp_time(folder ? obj->recording->start : obj->segment->start);
        a = g_byte_array_new();
        put_u32(a, STORAGE_ID);
        put_u16(a, object_format(obj));
        put_u16(a, !folder && obj->segment->delete_refusal == RC_Object_WriteProtected ? 1 : 0);
        put_u32(a, size >= 0xFFFFFFFF ? 0xFFFFFFFF : (uint32_t) size);
        put_u16(a, 0);
        put_u32(a, 0), put_u32(a, 0), put_u32(a, 0);
        put_u32(a, obj->kind == FILE_MP4 ? 1920 : 0);
        put_u32(a, obj->kind == FILE_MP4 ? 1080 : 0);
        put_u32(a, 0);
        put_u32(a, folder ? 0 : obj->recording->folder->handle);
        put_u16(a, folder ? 1 : 0);
        put_u32(a, 0);
        put_u32(a, folder ? 0 : obj->segment->index);
        put_str(a, obj->name);
        put_str(a, date);
        put_str(a, date);
        put_str(a, "");
        send_data(r, g_byte_array_free_to_bytes(a));
        respond0(r, RC_OK);
}

static Object *readable_object(Responder *r, uint32_t handle)
{
        Object *obj = camera_object(r->cam, handle);

        if (!obj || obj->kind == OBJ_FOLDER) {
                respond0(r, RC_Invalid_ObjectHandle);
                return NULL;
        }
        if (obj->kind == FILE_P7S && !segment_signature(r->cam, obj->segment)) {
                respond0(r, RC_General_Error);
                return NULL;
        }
        return obj;
}

static void op_get_object(Responder *r)
{
        Object *obj = readable_object(r, r->params[0]);

        if (!obj)
                return;
        send_object(r, obj, 0, object_size(r->cam, obj));
        respond0(r, RC_OK);
}

/* §5.2: min(MaxBytes, size − offset) bytes; offset > size is invalid. */
static void op_partial_object(Responder *r, uint64_t offset, uint32_t max_bytes, gboolean to_end_ok)
{
        Object *obj = readable_object(r, r->params[0]);
        uint64_t size, n;
        uint32_t sent;

        if (!obj)
                return;
        size = object_size(r->cam, obj);
        if (offset > size) {
                respond0(r, RC_Invalid_Parameter);
                return;
        }
        n = MIN((uint64_t) max_bytes, size - offset);
        if (to_end_ok && max_bytes == 0xFFFFFFFF)
                n = size - offset;
        send_object(r, obj, offset, n);
        sent = (uint32_t) MIN(n, 0xFFFFFFFF);
        respond(r, RC_OK, &sent, 1);
}

static void op_delete(Responder *r)
{
        g_autoptr(GArray) removed = g_array_new(FALSE, FALSE, sizeof(uint32_t));
        uint16_t rc;

        if (r->params[1] != 0) {
                respond0(r, RC_Parameter_Not_Supported);
                return;
        }
        rc = camera_delete(r->cam, r->params[0], r->clock, removed);
        for (guint i = 0; i < removed->len; i++)
                queue_event(r, EC_ObjectRemoved, g_array_index(removed, uint32_t, i));
        respond0(r, rc);
}

static uint8_t battery_percent(Camera *cam)
{
        return (uint8_t) CLAMP((int) (cam->battery.soc * 100.0 + 0.5), 0, 100);
}

static void op_prop_desc(Responder *r)
{
        GByteArray *a = g_byte_array_new();
        g_autofree char *now = NULL;

        put_u16(a, (uint16_t) r->params[0]);
        if (r->params[0] == DPC_BatteryLevel) {
                put_u16(a, 0x0002);
                put_u8(a, 0);
                put_u8(a, 100);
                put_u8(a, battery_percent(r->cam));
                put_u8(a, 0x01);
                put_u8(a, 0), put_u8(a, 100), put_u8(a, 1);
        } else if (r->params[0] == DPC_DateTime) {
                now = format_ptp_time(camera_clock_us(r->cam, r->clock) / G_USEC_PER_SEC);
                put_u16(a, 0xFFFF);
                put_u8(a, 1);
                put_str(a, "");
                put_str(a, now);
                put_u8(a, 0);
        } else {
                g_byte_array_unref(a);
                respond0(r, RC_DeviceProp_Not_Supported);
                return;
        }
        send_data(r, g_byte_array_free_to_bytes(a));
        respond0(r, RC_OK);
}

static void op_prop_value(Responder *r)
{
        GByteArray *a = g_byte_array_new();
        g_autofree char *now = NULL;

        if (r->params[0] == DPC_BatteryLevel) {
                put_u8(a, battery_percent(r->cam));
        } else if (r->params[0] == DPC_DateTime) {
                now = format_ptp_time(camera_clock_us(r->cam, r->clock) / G_USEC_PER_SEC);
                put_field(a, r->cam, RAW_DATETIME, now);
        } else {
                g_byte_array_unref(a);
                respond0(r, RC_DeviceProp_Not_Supported);
                return;
        }
        send_data(r, g_byte_array_free_to_bytes(a));
        respond0(r, RC_OK);
}

void responder_dispatch(Responder *r)
{
        uint32_t *p = r->params;

        if (is_extension_op(r->op) && r->cam->no_extension) {
                respond0(r, RC_Operation_Not_Supported);
                return;
        }
        switch (r->op) {
        case OC_GetDeviceInfo: op_device_info(r); break;
        case OC_OpenSession: op_open_session(r); break;
        case OC_CloseSession: r->session_open = FALSE; respond0(r, RC_OK); break;
        case OC_GetStorageIDs: op_storage_ids(r); break;
        case OC_GetStorageInfo: op_storage_info(r); break;
        case OC_GetNumObjects: op_object_handles(r, TRUE); break;
        case OC_GetObjectHandles: op_object_handles(r, FALSE); break;
        case OC_GetObjectInfo: op_object_info(r); break;
        case OC_GetObject: op_get_object(r); break;
        case OC_DeleteObject: op_delete(r); break;
        case OC_GetDevicePropDesc: op_prop_desc(r); break;
        case OC_GetDevicePropValue: op_prop_value(r); break;
        case OC_GetPartialObject: op_partial_object(r, p[1], p[2], TRUE); break;
        case OC_GetPartialObject64: op_partial_object(r, (uint64_t) p[2] << 32 | p[1], p[3], FALSE); break;
        case OC_GetObjectPropsSupported: op_object_props_supported(r); break;
        case OC_GetObjectPropValue: op_object_prop_value(r); break;
        case OC_GetObjectPropList:
                if (r->cam->no_object_prop_list)
                        respond0(r, RC_Operation_Not_Supported);
                else
                        op_object_prop_list(r);
                break;
        case OC_GetBatteryTelemetry: op_battery_telemetry(r); break;
        case OC_RunSelfTest: respond0(r, selftest_run(&r->cam->selftest, p[0], r->clock)); break;
        case OC_GetSelfTestResult: op_selftest_result(r); break;
        case OC_GetDeviceCertificates: op_certificates(r); break;
        case OC_SignChallenge: op_sign_challenge(r); break;
        default: respond0(r, RC_Operation_Not_Supported); break;
        }
}

void responder_dispatch_data_out(Responder *r, const uint8_t *data, size_t len)
{
        g_autofree char *value = NULL;

        if (r->params[0] == DPC_BatteryLevel) {
                respond0(r, RC_Access_Denied);
                return;
        }
        if (r->params[0] != DPC_DateTime) {
                respond0(r, RC_DeviceProp_Not_Supported);
                return;
        }
        if (parse_str(data, len, &value) < 0 || !camera_set_clock(r->cam, value, r->clock)) {
                respond0(r, RC_Invalid_DeviceProp_Value);
                return;
        }
        queue_event(r, EC_DevicePropChanged, DPC_DateTime);
        respond0(r, RC_OK);
}
