/* SPDX-License-Identifier: Apache-2.0 */
/* object-prop-list.h: the MTP ObjectPropList dataset (protocol §5.11), the
 * bulk listing of a camera's objects, parsed as its bytes arrive so that a
 * listing of a million objects is never held whole and each USB transfer costs
 * the event loop only the parse of its own bytes. Pure; no logging.
 *
 * Strict: the dataset must be exactly NumberOfElements elements; an element's
 * ObjectHandle is neither 0 nor 0xFFFFFFFF; objects come in ascending handle
 * order, each object's elements together, no property twice; the six
 * properties of §5.10 have their types of §5.11 and each listed object carries
 * ObjectFormat, ProtectionStatus, ObjectSize, ObjectFileName and ParentObject;
 * other property codes are skipped if their type is an integer or a string and
 * rejected otherwise (arrays, unknown types); strings are valid PTP strings
 * (ptp_string_parse()); at most max_objects objects. */
#pragma once

#include "ptp.h"

/* Object names a dock can use are recording ids and segment file names (§11,
 * §12.1), at most 64 characters; a longer name is checked and then kept as
 * "", which matches nothing, so that memory stays bounded by the object count. */
#define PTP_OBJECT_NAME_MAX 64

typedef struct PtpObjectProps {
        uint32_t handle;
        uint32_t parent;
        uint16_t format;
        uint16_t protection;
        uint64_t size;
        char *filename;
        time_t date;         /* ptp_object_info_date(), only where the listing read ObjectInfo
                              * (camera_list_objects()); 0: not told */
        bool date_unzoned;
} PtpObjectProps;

typedef struct PtpPropListParser PtpPropListParser;

/* max_objects: the most objects the dataset may list (<= PTP_MAX_OBJECTS). */
int ptp_prop_list_parser_new(size_t max_objects, PtpPropListParser **ret);
PtpPropListParser *ptp_prop_list_parser_free(PtpPropListParser *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(PtpPropListParser *, ptp_prop_list_parser_free);

/* The next bytes of the data phase, in order, split anywhere. 0, or -EBADMSG
 * (malformed: every later call fails too), or -ENOMEM. */
int ptp_prop_list_parser_feed(PtpPropListParser *p, const uint8_t *data, size_t len);
/* The data phase ended: -EBADMSG if the dataset is incomplete or malformed;
 * else the objects, in ascending handle order, move to the caller (free them
 * with ptp_object_props_free()). */
int ptp_prop_list_parser_finish(PtpPropListParser *p, PtpObjectProps **ret, size_t *ret_n);

/* The whole dataset at once (tests, fuzzing). Same contract. */
int ptp_object_prop_list_parse(const uint8_t *data, size_t len, size_t max_objects, PtpObjectProps **ret,
                               size_t *ret_n);
void ptp_object_props_free(PtpObjectProps *objects, size_t n);
