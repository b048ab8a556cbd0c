/* SPDX-License-Identifier: Apache-2.0 */
/* xml.h: a small element tree over expat, for the short XML documents S3 answers
 * with (Error, InitiateMultipartUploadResult, ListPartsResult,
 * CompleteMultipartUploadResult). Namespaces are dropped: elements are matched by
 * local name. No DTDs, no external entities. */
#pragma once

#include "macro.h"

typedef struct XmlNode XmlNode;
struct XmlNode {
        char *name;          /* local name */
        char *text;          /* character data directly inside, never NULL */
        size_t text_len;
        XmlNode *parent;
        XmlNode *children;   /* first child */
        XmlNode *last_child;
        XmlNode *next;       /* next sibling */
};

/* Parse a whole document; -EBADMSG if it is not well-formed XML, -E2BIG if it
 * nests deeper or holds more elements than a storage answer ever does. */
int xml_parse(const char *data, size_t size, XmlNode **ret);
XmlNode *xml_free(XmlNode *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(XmlNode *, xml_free);

/* The first child of n named name, or NULL. */
XmlNode *xml_child(const XmlNode *n, const char *name);
/* The next sibling of n named like n, or NULL. */
XmlNode *xml_next(const XmlNode *n);
/* The text of the first child named name, or NULL. */
const char *xml_child_text(const XmlNode *n, const char *name);
