/* SPDX-License-Identifier: Apache-2.0 */
/* xml.c: see xml.h. */
#include <expat.h>

#include "xml.h"

#define XML_MAX_DEPTH 16
#define XML_MAX_NODES 100000
#define XML_NS_SEP '\x01'

typedef struct XmlBuilder {
        XML_Parser parser;
        XmlNode *root;
        XmlNode *cur;
        unsigned depth;
        size_t n_nodes;
        int error;
} XmlBuilder;

XmlNode *xml_free(XmlNode *n) {
        while (n) {
                XmlNode *next = n->next;
                xml_free(n->children);
                free(n->name);
                free(n->text);
                free(n);
                n = next;
        }
        return NULL;
}

static void stop(XmlBuilder *b, int error) {
        if (!b->error)
                b->error = error;
        XML_StopParser(b->parser, XML_FALSE);
}

static void on_start(void *userdata, const XML_Char *name, const XML_Char **attrs) {
        XmlBuilder *b = userdata;
        const char *local = strrchr(name, XML_NS_SEP);
        XmlNode *n;

        if (b->error)
                return;
        if (++b->depth > XML_MAX_DEPTH || ++b->n_nodes > XML_MAX_NODES || (!b->cur && b->root))
                return stop(b, -E2BIG);
        n = calloc(1, sizeof *n);
        if (!n)
                return stop(b, -ENOMEM);
        n->name = strdup(local ? local + 1 : name);
        n->text = strdup("");
        if (!n->name || !n->text) {
                free(n->name);
                free(n->text);
                free(n);
                return stop(b, -ENOMEM);
        }
        n->parent = b->cur;
        if (!b->cur)
                b->root = n;
        else if (b->cur->last_child)
                b->cur->last_child = b->cur->last_child->next = n;
        else
                b->cur->children = b->cur->last_child = n;
        b->cur = n;
}

static void on_end(void *userdata, const XML_Char *name) {
        XmlBuilder *b = userdata;

        if (b->error || !b->cur)
                return;
        b->depth--;
        b->cur = b->cur->parent;
}

static void on_text(void *userdata, const XML_Char *s, int len) {
        XmlBuilder *b = userdata;
        XmlNode *n = b->cur;
        char *t;

        if (b->error || !n || len <= 0)
                return;
        if (n->text_len + (size_t) len > 64 * KiB)
                return stop(b, -E2BIG);
        t = realloc(n->text, n->text_len + (size_t) len + 1);
        if (!t)
                return stop(b, -ENOMEM);
        memcpy(t + n->text_len, s, (size_t) len);
        n->text_len += (size_t) len;
        t[n->text_len] = 0;
        n->text = t;
}

/* Refuse DTDs altogether: storage answers have none, and entity expansion is
 * the classic way to blow a parser's memory up. */
static void on_doctype(void *userdata, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                       int has_internal_subset) {
        stop(userdata, -EBADMSG);
}

static void on_entity_decl(void *userdata, const XML_Char *name, int is_param, const XML_Char *value,
                           int value_len, const XML_Char *base, const XML_Char *sysid,
                           const XML_Char *pubid, const XML_Char *notation) {
        stop(userdata, -EBADMSG);
}

int xml_parse(const char *data, size_t size, XmlNode **ret) {
        XmlBuilder b = {};
        enum XML_Status st;

        if (size > INT32_MAX)
                return -E2BIG;
        b.parser = XML_ParserCreateNS(NULL, XML_NS_SEP);
        if (!b.parser)
                return -ENOMEM;
        XML_SetUserData(b.parser, &b);
        XML_SetElementHandler(b.parser, on_start, on_end);
        XML_SetCharacterDataHandler(b.parser, on_text);
        XML_SetStartDoctypeDeclHandler(b.parser, on_doctype);
        XML_SetEntityDeclHandler(b.parser, on_entity_decl);
        st = XML_Parse(b.parser, data, (int) size, XML_TRUE);
        XML_ParserFree(b.parser);
        if (!b.error && (st != XML_STATUS_OK || !b.root))
                b.error = -EBADMSG;
        if (b.error) {
                xml_free(b.root);
                return b.error;
        }
        *ret = b.root;
        return 0;
}

XmlNode *xml_child(const XmlNode *n, const char *name) {
        if (!n)
                return NULL;
        for (XmlNode *c = n->children; c; c = c->next)
                if (streq(c->name, name))
                        return c;
        return NULL;
}

XmlNode *xml_next(const XmlNode *n) {
        for (XmlNode *c = n ? n->next : NULL; c; c = c->next)
                if (streq(c->name, n->name))
                        return c;
        return NULL;
}

const char *xml_child_text(const XmlNode *n, const char *name) {
        XmlNode *c = xml_child(n, name);

        return c ? c->text : NULL;
}
