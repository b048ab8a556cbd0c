/* responder-mtp.c: MTP object properties (protocol §5.10, §5.11):
 * GetObjectPropsSupported, GetObjectPropValue and GetObjectPropList, the bulk
 * listing libmtp uses to learn every object in one transaction. */
#include "responder-private.h"

#include "ptp.h"

static const uint16_t object_props[] = {
        OPC_StorageID, OPC_ObjectFormat, OPC_ProtectionStatus, OPC_ObjectSize, OPC_ObjectFileName, OPC_ParentObject,
};

static uint16_t prop_type(uint16_t code)
{
        switch (code) {
        case OPC_ObjectFormat:
        case OPC_ProtectionStatus:
                return DTC_UINT16;
        case OPC_ObjectSize:
                return DTC_UINT64;
        case OPC_ObjectFileName:
                return DTC_STR;
        default:
                return DTC_UINT32;
        }
}

static gboolean prop_supported(uint32_t code)
{
        for (unsigned i = 0; i < G_N_ELEMENTS(object_props); i++)
                if (object_props[i] == code)
                        return TRUE;
        return FALSE;
}

static uint16_t protection(const Object *obj)
{
        return obj->kind != OBJ_FOLDER && obj->segment->delete_refusal == RC_Object_WriteProtected ? 1 : 0;
}

/* The value of one property, as GetObjectPropValue sends it. */
static void put_prop(Responder *r, GByteArray *a, Object *obj, uint16_t code)
{
        switch (code) {
        case OPC_StorageID: put_u32(a, STORAGE_ID); break;
        case OPC_ObjectFormat: put_u16(a, object_format(obj)); break;
        case OPC_ProtectionStatus: put_u16(a, protection(obj)); break;
        case OPC_ObjectSize: put_u64(a, object_size(r->cam, obj)); break;
        case OPC_ObjectFileName: put_str(a, obj->name); break;
        default: put_u32(a, obj->kind == OBJ_FOLDER ? 0 : obj->recording->folder->handle); break;
        }
}

void op_object_props_supported(Responder *r)
{
        GByteArray *a = g_byte_array_new();

        put_a16(a, object_props, G_N_ELEMENTS(object_props));
        send_data(r, g_byte_array_free_to_bytes(a));
        respond0(r, RC_OK);
}

void op_object_prop_value(Responder *r)
{
        Object *obj = camera_object(r->cam, r->params[0]);
        GByteArray *a;

        if (!obj) {
                respond0(r, RC_Invalid_ObjectHandle);
                return;
        }
        if (!prop_supported(r->params[1])) {
                respond0(r, RC_ObjectProp_Not_Supported);
                return;
        }
        a = g_byte_array_new();
        put_prop(r, a, obj, (uint16_t) r->params[1]);
        send_data(r, g_byte_array_free_to_bytes(a));
        respond0(r, RC_OK);
}

/* §5.11: which objects a GetObjectPropList names. ObjectHandle 0xFFFFFFFF:
 * all (Depth ignored); Depth 0: that object; Depth 1: its children (0: the
 * root's). Returns a response code. */
static uint16_t select_for_list(Responder *r, GPtrArray *out)
{
        uint32_t handle = r->params[0], format = r->params[1], depth = r->params[4];
        Camera *cam = r->cam;
        Object *parent = NULL;

        if (handle != 0 && handle != 0xFFFFFFFF) {
                parent = camera_object(cam, handle);
                if (!parent)
                        return RC_Invalid_ObjectHandle;
        }
        if (handle != 0xFFFFFFFF && depth > 1)
                return RC_Specification_By_Depth_Unsupported;
        if (parent && depth == 0) {
                if (!format || format == object_format(parent))
                        g_ptr_array_add(out, parent);
                return RC_OK;
        }
        if (handle == 0 && depth == 0)
                return RC_OK; /* the root is not an object */
        for (guint i = 0; i < cam->objects->len; i++) {
                Object *obj = cam->objects->pdata[i];

                if (obj->deleted || (format && format != object_format(obj)))
                        continue;
                if (handle == 0 && obj->kind != OBJ_FOLDER)
                        continue;
                if (parent && (parent->kind != OBJ_FOLDER || obj->kind == OBJ_FOLDER || obj->recording != parent->recording))
                        continue;
                g_ptr_array_add(out, obj);
        }
        return RC_OK;
}

void op_object_prop_list(Responder *r)
{
        g_autoptr(GPtrArray) objs = g_ptr_array_new();
        uint32_t code = r->params[2];
        uint16_t rc;
        GByteArray *a;
        uint32_t n = 0;

        if (r->params[3] != 0) {
                respond0(r, RC_Specification_By_Group_Unsupported);
                return;
        }
        if (code != 0xFFFFFFFF && !prop_supported(code)) {
                respond0(r, RC_ObjectProp_Not_Supported);
                return;
        }
        rc = select_for_list(r, objs);
        if (rc != RC_OK) {
                respond0(r, rc);
                return;
        }
        a = g_byte_array_sized_new(16 + objs->len * 96);
        put_u32(a, 0); /* NumberOfElements, filled in below */
        for (guint i = 0; i < objs->len; i++) {
                for (unsigned p = 0; p < G_N_ELEMENTS(object_props); p++) {
                        uint16_t pc = object_props[p];

                        if (code != 0xFFFFFFFF && code != pc)
                                continue;
                        put_u32(a, ((Object *) objs->pdata[i])->handle);
                        put_u16(a, pc);
                        put_u16(a, prop_type(pc));
                        put_prop(r, a, objs->pdata[i], pc);
                        n++;
                }
        }
        a->data[0] = n & 0xff, a->data[1] = (n >> 8) & 0xff, a->data[2] = (n >> 16) & 0xff, a->data[3] = n >> 24;
        send_data(r, g_byte_array_free_to_bytes(a));
        respond0(r, RC_OK);
}
