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

/* A listing being sent: its objects (whose names never change, so the length
 * that went out first stays right), their values as they are read. */
typedef struct {
        GPtrArray *objs;
        uint32_t code;
        uint32_t n_elements;
        gboolean counted;   /* NumberOfElements sent */
        guint next;
} PropListSend;

static void prop_list_send_free(gpointer p)
{
        PropListSend *s = p;

        g_ptr_array_unref(s->objs);
        g_free(s);
}

static gboolean prop_wanted(uint32_t code, uint16_t pc)
{
        return code == 0xFFFFFFFF || code == pc;
}

/* What put_str() sends for utf8, counted without converting it. */
static uint64_t str_size(const char *utf8)
{
        uint64_t units = 0;

        if (!utf8 || !g_utf8_validate(utf8, -1, NULL))
                return 1;
        for (const guchar *p = (const guchar *) utf8; *p; p++)
                if ((*p & 0xC0) != 0x80)
                        units += *p >= 0xF0 ? 2 : 1;   /* outside the BMP: a surrogate pair */
        return units == 0 ? 1 : 1 + 2 * (MIN(units, 254) + 1);
}

static void put_elements(Responder *r, GByteArray *a, Object *obj, uint32_t code)
{
        for (unsigned p = 0; p < G_N_ELEMENTS(object_props); p++) {
                uint16_t pc = object_props[p];

                if (!prop_wanted(code, pc))
                        continue;
                put_u32(a, obj->handle);
                put_u16(a, pc);
                put_u16(a, prop_type(pc));
                put_prop(r, a, obj, pc);
        }
}

/* NumberOfElements first, then the next 1024 objects' elements each time. */
static gboolean prop_list_more(Responder *r, gpointer state, GByteArray *out)
{
        PropListSend *s = state;
        guint end = MIN(s->next + 1024, s->objs->len);

        if (!s->counted) {
                put_u32(out, s->n_elements);
                s->counted = TRUE;
        }
        for (; s->next < end; s->next++)
                put_elements(r, out, s->objs->pdata[s->next], s->code);
        return s->next < s->objs->len;
}

/* The bytes of one object's elements, without making them. */
static uint64_t elements_size(const char *name, uint32_t code, uint32_t *ret_n)
{
        uint64_t size = 0;

        for (unsigned p = 0; p < G_N_ELEMENTS(object_props); p++) {
                uint16_t pc = object_props[p];

                if (!prop_wanted(code, pc))
                        continue;
                (*ret_n)++;
                size += 8;
                switch (prop_type(pc)) {
                case DTC_UINT16: size += 2; break;
                case DTC_UINT64: size += 8; break;
                case DTC_STR: size += str_size(name); break;
                default: size += 4; break;
                }
        }
        return size;
}

/* malformed_prop_list: the whole answer made at once (small cameras), then
 * spoilt, the container's length still that of the bytes sent. */
static GBytes *prop_list_spoilt(Responder *r, PropListSend *s)
{
        GByteArray *a = g_byte_array_new();
        guint off = 4;

        while (prop_list_more(r, s, a))
                ;
        if (r->cam->prop_list == PROP_LIST_COUNT) {
                uint32_t n = GUINT32_TO_LE(s->n_elements + 1000);

                memcpy(a->data, &n, 4);
                return g_byte_array_free_to_bytes(a);
        }
        /* PROP_LIST_STRING: the data ends one character into the first string. */
        while (off + 8 <= a->len) {
                uint16_t type = (uint16_t) (a->data[off + 6] | a->data[off + 7] << 8);

                off += 8;
                if (type == DTC_STR) {
                        g_byte_array_set_size(a, MIN(a->len, off + 1 + 2));
                        break;
                }
                off += type == DTC_UINT16 ? 2 : type == DTC_UINT64 ? 8 : 4;
        }
        return g_byte_array_free_to_bytes(a);
}

void op_object_prop_list(Responder *r)
{
        PropListSend *s;
        uint32_t code = r->params[2];
        uint16_t rc;
        uint64_t length = 4;
        uint32_t n = 0;

        if (r->params[3] != 0) {
                respond0(r, RC_Specification_By_Group_Unsupported);
                return;
        }
        if (code != 0xFFFFFFFF && !prop_supported(code)) {
                respond0(r, RC_ObjectProp_Not_Supported);
                return;
        }
        s = g_new0(PropListSend, 1);
        s->objs = g_ptr_array_new();
        s->code = code;
        rc = select_for_list(r, s->objs);
        if (rc != RC_OK) {
                prop_list_send_free(s);
                respond0(r, rc);
                return;
        }
        for (guint i = 0; i < s->objs->len; i++)
                length += elements_size(((Object *) s->objs->pdata[i])->name, code, &n);
        s->n_elements = n;
        if (r->cam->prop_list != PROP_LIST_GOOD) {
                send_data(r, prop_list_spoilt(r, s));
                prop_list_send_free(s);
        } else
                send_data_lazy(r, length, prop_list_more, s, prop_list_send_free);
        respond0(r, RC_OK);
}
