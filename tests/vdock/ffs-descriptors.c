/* ffs-descriptors.c: what a FunctionFS function writes to ep0 first, its
 * descriptors and strings, checked as Linux f_fs.c does
 * (__ffs_data_got_descs(), __ffs_data_got_strings()); and its descriptors
 * as the host sees them in the gadget. */
#include "ffs-private.h"

#include <errno.h>
#include <string.h>
#include <linux/usb/functionfs.h>

typedef struct {
        unsigned interfaces, strings, n_eps;
        uint8_t eps[MAX_ENDPOINTS];
        uint16_t mps[MAX_ENDPOINTS];
} DescInfo;

static ssize_t parse_speed(const uint8_t *p, size_t len, uint32_t count, DescInfo *info)
{
        size_t pos = 0;

        for (uint32_t i = 0; i < count; i++) {
                const uint8_t *d = p + pos;

                if (len - pos < 2 || d[0] < 2 || d[0] > len - pos)
                        return -EINVAL;
                switch (d[1]) {
                case 1: case 2: case 6: case 7: /* device, configuration, qualifier: not a function's */
                        return -EINVAL;
                case 4: /* interface */
                        if (d[0] != 9)
                                return -EINVAL;
                        info->interfaces = MAX(info->interfaces, d[2] + 1u);
                        info->strings = MAX(info->strings, d[8]);
                        break;
                case 5: /* endpoint */
                        if ((d[0] != 7 && d[0] != 9) || !(d[2] & 0x0f) || info->n_eps == MAX_ENDPOINTS)
                                return -EINVAL;
                        info->eps[info->n_eps] = d[2];
                        info->mps[info->n_eps++] = le16(d + 4) & 0x7ff;
                        break;
                case 0x0b: /* interface association */
                        if (d[0] != 8)
                                return -EINVAL;
                        info->strings = MAX(info->strings, d[7]);
                        break;
                default:
                        break;
                }
                pos += d[0];
        }
        return (ssize_t) pos;
}

/* Every speed has the same interfaces and endpoints, in the same order. */
static gboolean same_function(const DescInfo *a, const DescInfo *b)
{
        return a->interfaces == b->interfaces && a->n_eps == b->n_eps && memcmp(a->eps, b->eps, a->n_eps) == 0;
}

static int skip_os_descriptors(const uint8_t *p, size_t len, uint32_t count, size_t *pos)
{
        for (uint32_t i = 0; i < count; i++) {
                uint32_t n;

                if (len - *pos < 16)
                        return -EINVAL;
                n = le32(p + *pos + 1);
                if (n < 16 || n > len - *pos)
                        return -EINVAL;
                *pos += n;
        }
        return 0;
}

static int read_header(const uint8_t *p, size_t len, uint32_t *flags, uint32_t counts[SPEEDS], uint32_t *os_count,
                       size_t *pos)
{
        const uint32_t known = FUNCTIONFS_HAS_FS_DESC | FUNCTIONFS_HAS_HS_DESC | FUNCTIONFS_HAS_SS_DESC |
                               FUNCTIONFS_HAS_MS_OS_DESC | FUNCTIONFS_VIRTUAL_ADDR | FUNCTIONFS_ALL_CTRL_RECIP |
                               FUNCTIONFS_CONFIG0_SETUP;

        if (le32(p + 4) != len)
                return -EINVAL;
        if (le32(p) == FUNCTIONFS_DESCRIPTORS_MAGIC) { /* before Linux 3.15: fs_count, hs_count */
                *flags = FUNCTIONFS_HAS_FS_DESC | FUNCTIONFS_HAS_HS_DESC;
                *pos = 8;
        } else if (le32(p) == FUNCTIONFS_DESCRIPTORS_MAGIC_V2) {
                *flags = le32(p + 8);
                *pos = 12;
                /* An eventfd cannot cross FUSE: unsupported here, like an unknown flag. */
                if (*flags & ~known)
                        return -ENOSYS;
        } else {
                return -EINVAL;
        }
        for (unsigned s = 0; s < SPEEDS; s++) {
                counts[s] = 0;
                if (!(*flags & (1u << s)))
                        continue;
                if (len - *pos < 4)
                        return -EINVAL;
                counts[s] = le32(p + *pos);
                *pos += 4;
        }
        *os_count = 0;
        if (*flags & FUNCTIONFS_HAS_MS_OS_DESC) {
                if (len - *pos < 4)
                        return -EINVAL;
                *os_count = le32(p + *pos);
                *pos += 4;
        }
        return 0;
}

int ffs_got_descriptors(Ffs *f, const uint8_t *p, size_t len)
{
        uint32_t flags, counts[SPEEDS], os_count;
        DescInfo info[SPEEDS] = { 0 };
        const DescInfo *first = NULL;
        GBytes *descs[SPEEDS] = { NULL };
        size_t pos, start;
        int r = read_header(p, len, &flags, counts, &os_count, &pos);

        if (r < 0)
                return r;
        start = pos;
        for (unsigned s = 0; s < SPEEDS && r >= 0; s++) {
                ssize_t n = counts[s] ? parse_speed(p + pos, len - pos, counts[s], &info[s]) : 0;

                if (n < 0 || (counts[s] && first && !same_function(first, &info[s])))
                        r = -EINVAL;
                else if (counts[s]) {
                        first = first ? first : &info[s];
                        descs[s] = g_bytes_new(p + pos, (gsize) n);
                        pos += (size_t) n;
                }
        }
        if (r >= 0)
                r = skip_os_descriptors(p, len, os_count, &pos);
        if (r >= 0 && (pos == start || pos != len || !first))
                r = -EINVAL; /* no descriptors, or bytes left over */
        if (r < 0) {
                for (unsigned s = 0; s < SPEEDS; s++)
                        g_clear_pointer(&descs[s], g_bytes_unref);
                return r;
        }
        memcpy(f->descs, descs, sizeof descs);
        f->flags = flags;
        f->interfaces = first->interfaces;
        f->n_eps = first->n_eps;
        f->strings_needed = MAX(MAX(info[0].strings, info[1].strings), info[2].strings);
        for (unsigned i = 0; i < f->n_eps; i++) {
                /* The host sees high speed when the function has it, else full speed. */
                const DescInfo *seen = counts[1] ? &info[1] : first;
                f->ep[i + 1].address = first->eps[i];
                f->ep[i + 1].mps = MAX(seen->mps[i], 1);
        }
        return 0;
}

int ffs_got_strings(Ffs *f, const uint8_t *p, size_t len)
{
        uint32_t str_count, lang_count;
        size_t pos = 16;

        if (le32(p) != FUNCTIONFS_STRINGS_MAGIC || le32(p + 4) != len)
                return -EINVAL;
        str_count = le32(p + 8);
        lang_count = le32(p + 12);
        if (!str_count != !lang_count || str_count < f->strings_needed)
                return -EINVAL;
        if (!f->strings_needed)
                return 0; /* the kernel ignores the rest */
        for (uint32_t l = 0; l < lang_count; l++) {
                if (len - pos < 3)
                        return -EINVAL;
                pos += 2; /* language code */
                for (uint32_t s = 0; s < str_count; s++) {
                        size_t n = strnlen((const char *) p + pos, len - pos);

                        if (n == len - pos)
                                return -EINVAL;
                        if (l == 0 && s < f->strings_needed)
                                g_ptr_array_add(f->strings, g_strndup((const char *) p + pos, n));
                        pos += n + 1;
                }
        }
        if (pos != len) {
                g_ptr_array_set_size(f->strings, 0);
                return -EINVAL;
        }
        return 0;
}

GBytes *ffs_function_descriptors(Ffs *f, unsigned string_base)
{
        GBytes *src = f->descs[1] ? f->descs[1] : f->descs[0];
        gsize len = 0;
        const uint8_t *p = src ? g_bytes_get_data(src, &len) : NULL;
        uint8_t *d = g_memdup2(p, len);

        /* __ffs_func_bind_do_nums(): the function's string indexes become the gadget's ids */
        for (gsize pos = 0; d && pos + 2 <= len && d[pos] >= 2; pos += d[pos]) {
                uint8_t *s = d[pos + 1] == 4 ? &d[pos + 8] : d[pos + 1] == 0x0b ? &d[pos + 7] : NULL;
                if (s && *s)
                        *s = (uint8_t) (string_base + *s - 1);
        }
        return g_bytes_new_take(d, len);
}
