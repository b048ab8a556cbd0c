/* SPDX-License-Identifier: Apache-2.0 */
/* object-prop-list.c: the ObjectPropList dataset (protocol §5.11) as a
 * stream. Whole elements are parsed where the bytes lie; an element split
 * across two calls is gathered in a buffer as large as the largest element
 * (a header and a 255-unit string), so that nothing else is ever copied. */
#include <assert.h>

#include "object-prop-list.h"

/* MTP 1.1 §3.2 data type codes. */
enum {
        DTC_INT8 = 0x0001,
        DTC_UINT128 = 0x000A,
        DTC_UINT16 = 0x0004,
        DTC_UINT32 = 0x0006,
        DTC_UINT64 = 0x0008,
        DTC_STR = 0xFFFF,
};

#define ELEMENT_HEADER_SIZE 8                                 /* handle, code, type */
#define ELEMENT_MAX_SIZE (ELEMENT_HEADER_SIZE + 1 + 2 * 255)  /* with the longest string */
/* Elements of one object: the six of §5.10 and room for properties a fuller
 * MTP camera adds. Bounds NumberOfElements by the object maximum. */
#define ELEMENTS_PER_OBJECT_MAX 32u

/* The properties a dock keeps, as bits of PtpPropListParser.seen. */
enum {
        PROP_STORAGE = 1 << 0,
        PROP_FORMAT = 1 << 1,
        PROP_PROTECTION = 1 << 2,
        PROP_SIZE = 1 << 3,
        PROP_NAME = 1 << 4,
        PROP_PARENT = 1 << 5,
        PROPS_REQUIRED = PROP_FORMAT | PROP_PROTECTION | PROP_SIZE | PROP_NAME | PROP_PARENT,
};

struct PtpPropListParser {
        size_t max_objects;
        bool have_count, failed;
        uint32_t n_elements, n_seen;
        unsigned seen, object_elements;   /* of the last object */
        uint8_t pend[ELEMENT_MAX_SIZE];
        size_t pend_len;
        PtpObjectProps *objects;
        size_t n_objects, n_alloc;
};

void ptp_object_props_free(PtpObjectProps *objects, size_t n) {
        for (size_t i = 0; objects && i < n; i++)
                free(objects[i].filename);
        free(objects);
}

int ptp_prop_list_parser_new(size_t max_objects, PtpPropListParser **ret) {
        PtpPropListParser *p;

        if (max_objects > PTP_MAX_OBJECTS)
                return -EINVAL;
        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->max_objects = max_objects;
        *ret = p;
        return 0;
}

PtpPropListParser *ptp_prop_list_parser_free(PtpPropListParser *p) {
        if (!p)
                return NULL;
        ptp_object_props_free(p->objects, p->n_objects);
        free(p);
        return NULL;
}

/* The size of a value of type at v (have bytes there): 1 known, 0 more bytes
 * needed, -EBADMSG for a type a listing may not use. */
static int value_size(uint16_t type, const uint8_t *v, size_t have, size_t *ret) {
        if (type >= DTC_INT8 && type <= DTC_UINT128) {
                /* INT8, UINT8: 1; INT16, UINT16: 2; … INT128, UINT128: 16. */
                *ret = (size_t) 1 << ((type - DTC_INT8) / 2);
                return 1;
        }
        if (type != DTC_STR)
                return -EBADMSG;    /* arrays, unknown types */
        if (have < 1)
                return 0;
        *ret = v[0] == 0 ? 1 : 1 + 2 * (size_t) v[0];
        return 1;
}

static size_t utf8_chars(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                n += ((uint8_t) *s & 0xC0) != 0x80;
        return n;
}

/* The object an element of handle belongs to: the last one, or a new one
 * after it once the last one is complete. */
static int object_for(PtpPropListParser *p, uint32_t handle, PtpObjectProps **ret) {
        PtpObjectProps *last = p->n_objects > 0 ? &p->objects[p->n_objects - 1] : NULL;

        if (handle == 0 || handle == UINT32_MAX)
                return -EBADMSG;
        if (last && last->handle == handle) {
                if (++p->object_elements > ELEMENTS_PER_OBJECT_MAX)
                        return -EBADMSG;
                *ret = last;
                return 0;
        }
        if (last && (handle < last->handle || (p->seen & PROPS_REQUIRED) != PROPS_REQUIRED))
                return -EBADMSG;    /* not ascending, or the last object lacks a property */
        if (p->n_objects >= p->max_objects)
                return -EBADMSG;
        if (p->n_objects == p->n_alloc) {
                size_t a = MIN(MAX(p->n_alloc * 2, (size_t) 1024), p->max_objects);
                PtpObjectProps *o = reallocarray(p->objects, a, sizeof *o);

                if (!o)
                        return -ENOMEM;
                p->objects = o;
                p->n_alloc = a;
        }
        p->objects[p->n_objects] = (PtpObjectProps) { .handle = handle };
        p->seen = 0;
        p->object_elements = 1;
        *ret = &p->objects[p->n_objects++];
        return 0;
}

/* A string value: checked as every camera string is; kept only if short. */
static int name_value(const uint8_t *v, size_t size, char **ret) {
        char *s;
        int r;

        r = ptp_string_parse(v, size, &s);
        if (r < 0)
                return r;
        if (utf8_chars(s) > PTP_OBJECT_NAME_MAX)
                s[0] = 0;
        *ret = s;
        return 0;
}

/* One property of o: the type §5.11 gives it, once per object. */
static int property(PtpPropListParser *p, PtpObjectProps *o, uint16_t code, uint16_t type, const uint8_t *v,
                    size_t size) {
        static const struct {
                uint16_t code, type;
                unsigned bit;
        } known[] = {
                { PTP_OPC_STORAGE_ID, DTC_UINT32, PROP_STORAGE },
                { PTP_OPC_OBJECT_FORMAT, DTC_UINT16, PROP_FORMAT },
                { PTP_OPC_PROTECTION_STATUS, DTC_UINT16, PROP_PROTECTION },
                { PTP_OPC_OBJECT_SIZE, DTC_UINT64, PROP_SIZE },
                { PTP_OPC_OBJECT_FILE_NAME, DTC_STR, PROP_NAME },
                { PTP_OPC_PARENT_OBJECT, DTC_UINT32, PROP_PARENT },
        };
        _cleanup_free_ char *other = NULL;

        for (size_t i = 0; i < ELEMENTSOF(known); i++) {
                if (known[i].code != code)
                        continue;
                if (known[i].type != type || (p->seen & known[i].bit))
                        return -EBADMSG;
                p->seen |= known[i].bit;
                switch (code) {
                case PTP_OPC_OBJECT_FORMAT: o->format = ptp_le16(v); break;
                case PTP_OPC_PROTECTION_STATUS: o->protection = ptp_le16(v); break;
                case PTP_OPC_OBJECT_SIZE: o->size = ptp_le64(v); break;
                case PTP_OPC_PARENT_OBJECT: o->parent = ptp_le32(v); break;
                case PTP_OPC_OBJECT_FILE_NAME: return name_value(v, size, &o->filename);
                default: break;
                }
                return 0;
        }
        /* Another property: skipped, but a string is still a valid string. */
        return type == DTC_STR ? ptp_string_parse(v, size, &other) : 0;
}

/* The next item at b (have bytes): the element count first, then one element.
 * *ret_used: its size, or 0 when it is not all there yet. */
static int parse_next(PtpPropListParser *p, const uint8_t *b, size_t have, size_t *ret_used) {
        PtpObjectProps *o;
        size_t vs;
        int r;

        *ret_used = 0;
        if (!p->have_count) {
                if (have < 4)
                        return 0;
                p->n_elements = ptp_le32(b);
                if (p->n_elements / ELEMENTS_PER_OBJECT_MAX > p->max_objects)
                        return -EBADMSG;
                p->have_count = true;
                *ret_used = 4;
                return 0;
        }
        if (p->n_seen == p->n_elements)
                return -EBADMSG;    /* bytes after the last element */
        if (have < ELEMENT_HEADER_SIZE)
                return 0;
        r = value_size(ptp_le16(b + 6), b + ELEMENT_HEADER_SIZE, have - ELEMENT_HEADER_SIZE, &vs);
        if (r <= 0 || have < ELEMENT_HEADER_SIZE + vs)
                return r;
        r = object_for(p, ptp_le32(b), &o);
        if (r < 0)
                return r;
        r = property(p, o, ptp_le16(b + 4), ptp_le16(b + 6), b + ELEMENT_HEADER_SIZE, vs);
        if (r < 0)
                return r;
        p->n_seen++;
        *ret_used = ELEMENT_HEADER_SIZE + vs;
        return 0;
}

static int feed(PtpPropListParser *p, const uint8_t *data, size_t len) {
        size_t used;
        int r;

        while (len > 0) {
                if (p->pend_len > 0) {
                        /* Complete the split item from the new bytes. */
                        size_t take = MIN(len, sizeof p->pend - p->pend_len);

                        memcpy(p->pend + p->pend_len, data, take);
                        r = parse_next(p, p->pend, p->pend_len + take, &used);
                        if (r < 0)
                                return r;
                        if (used == 0) {
                                if (take < len)
                                        return -EBADMSG;   /* cannot be: an item fits in pend */
                                p->pend_len += take;
                                return 0;
                        }
                        assert(used > p->pend_len);
                        data += used - p->pend_len;
                        len -= used - p->pend_len;
                        p->pend_len = 0;
                        continue;
                }
                r = parse_next(p, data, len, &used);
                if (r < 0)
                        return r;
                if (used == 0) {
                        if (len > sizeof p->pend)
                                return -EBADMSG;
                        memcpy(p->pend, data, len);
                        p->pend_len = len;
                        return 0;
                }
                data += used;
                len -= used;
        }
        return 0;
}

int ptp_prop_list_parser_feed(PtpPropListParser *p, const uint8_t *data, size_t len) {
        int r;

        if (p->failed || (!data && len > 0))
                return -EBADMSG;
        r = feed(p, data, len);
        if (r < 0)
                p->failed = true;   /* the state is part-way through an element */
        return r;
}

int ptp_prop_list_parser_finish(PtpPropListParser *p, PtpObjectProps **ret, size_t *ret_n) {
        if (p->failed || !p->have_count || p->pend_len > 0 || p->n_seen != p->n_elements ||
            (p->n_objects > 0 && (p->seen & PROPS_REQUIRED) != PROPS_REQUIRED))
                return -EBADMSG;
        *ret = TAKE_PTR(p->objects);
        *ret_n = p->n_objects;
        p->n_objects = p->n_alloc = 0;
        p->failed = true;   /* handed over: nothing more to parse */
        return 0;
}

int ptp_object_prop_list_parse(const uint8_t *data, size_t len, size_t max_objects, PtpObjectProps **ret,
                               size_t *ret_n) {
        _cleanup_(ptp_prop_list_parser_freep) PtpPropListParser *p = NULL;
        int r;

        r = ptp_prop_list_parser_new(max_objects, &p);
        if (r < 0)
                return r;
        r = ptp_prop_list_parser_feed(p, data, len);
        if (r < 0)
                return r;
        return ptp_prop_list_parser_finish(p, ret, ret_n);
}
