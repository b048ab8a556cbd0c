/* SPDX-License-Identifier: Apache-2.0 */
/* xml.c on the S3 answers dockd parses, and on what it must refuse. */
#include <assert.h>

#include "xml.h"

static XmlNode *parse(const char *s) {
        XmlNode *root = NULL;
        int r = xml_parse(s, strlen(s), &root);

        assert(r == 0 && root);
        return root;
}

int main(void) {
        XmlNode *root, *n;
        int count = 0;

        /* Namespaced ListPartsResult, several parts. */
        root = parse("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<ListPartsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                     "<IsTruncated>true</IsTruncated><NextPartNumberMarker>2</NextPartNumberMarker>"
                     "<Part><PartNumber>1</PartNumber><ETag>&quot;aa&quot;</ETag><Size>5</Size></Part>"
                     "<Part><PartNumber>2</PartNumber><ETag>\"bb\"</ETag><Size>6</Size></Part>"
                     "</ListPartsResult>");
        assert(streq(root->name, "ListPartsResult"));
        assert(streq(xml_child_text(root, "IsTruncated"), "true"));
        for (n = xml_child(root, "Part"); n; n = xml_next(n))
                count++;
        assert(count == 2);
        n = xml_child(root, "Part");
        assert(streq(xml_child_text(n, "ETag"), "\"aa\""));
        assert(streq(xml_child_text(xml_next(n), "Size"), "6"));
        assert(!xml_child(root, "Missing") && !xml_child_text(root, "Missing"));
        xml_free(root);

        /* A 200 carrying an error, text split by expat into several pieces. */
        root = parse("<Error><Code>Internal<!-- x -->Error</Code><Message>a &amp; b</Message></Error>");
        assert(streq(xml_child_text(root, "Code"), "InternalError"));
        assert(streq(xml_child_text(root, "Message"), "a & b"));
        xml_free(root);

        /* Refused: not XML, DTDs and entities (billion laughs), nesting too deep. */
        assert(xml_parse("not xml", 7, &root) == -EBADMSG);
        assert(xml_parse("", 0, &root) == -EBADMSG);
        {
                const char *lol = "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"xxxx\"><!ENTITY y \"&x;&x;\">]><a>&y;</a>";
                assert(xml_parse(lol, strlen(lol), &root) == -EBADMSG);
        }
        {
                char deep[4096] = "";
                for (int i = 0; i < 40; i++)
                        strcat(deep, "<a>");
                for (int i = 0; i < 40; i++)
                        strcat(deep, "</a>");
                assert(xml_parse(deep, strlen(deep), &root) == -E2BIG);
        }
        printf("ok\n");
        return 0;
}
