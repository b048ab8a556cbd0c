/* SPDX-License-Identifier: Apache-2.0 */
/* sysfs.c: see sysfs.h. */
#include <fcntl.h>
#include <sys/stat.h>

#include "fileio.h"
#include "parse-util.h"
#include "sysfs.h"

int sysfs_write(const char *path, const char *value) {
        _cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
        _cleanup_free_ char *v = NULL;

        if (fd < 0)
                return -errno;
        if (asprintf(&v, "%s\n", value) < 0)
                return -ENOMEM;
        return write_all(fd, v, strlen(v));
}

int sysfs_read(const char *path, char **ret) {
        char *s;
        size_t n;
        int r = read_full_file(path, 4096, &s, &n);

        if (r < 0)
                return r;
        while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
                s[--n] = 0;
        *ret = s;
        return 0;
}

int sysfs_read_int(const char *path, long long *ret) {
        _cleanup_free_ char *s = NULL;
        char *end;
        long long v;
        int r = sysfs_read(path, &s);

        if (r < 0)
                return r;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || end == s || *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

char *usb_port_disable_path(const char *port) {
        const char *dash = strchr(port, '-'), *dot = strrchr(port, '.');
        char *p;
        int k;

        if (!dash || !usb_port_path_is_valid(port))
                return NULL;
        if (dot)
                k = asprintf(&p, "/sys/bus/usb/devices/%.*s:1.0/%.*s-port%s/disable", (int) (dot - port), port,
                             (int) (dot - port), port, dot + 1);
        else
                k = asprintf(&p, "/sys/bus/usb/devices/%.*s-0:1.0/usb%.*s-port%s/disable", (int) (dash - port), port,
                             (int) (dash - port), port, dash + 1);
        return k < 0 ? NULL : p;
}

int sysfs_device_open(const char *class, const char *name, SysfsDevice *ret) {
        _cleanup_free_ char *dir = NULL, *copy = NULL;
        struct stat st;

        if (asprintf(&dir, "/sys/class/%s/%s", class, name) < 0)
                return -ENOMEM;
        if (stat(dir, &st) < 0)
                return -errno;
        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        *ret = (SysfsDevice) { .name = TAKE_PTR(copy), .dir = TAKE_PTR(dir) };
        return 0;
}

void sysfs_device_done(SysfsDevice *d) {
        free(d->name);
        free(d->dir);
        *d = (SysfsDevice) {};
}

char *sysfs_device_attr(const SysfsDevice *d, const char *attr) {
        return path_join(d->dir, attr);
}

int sysfs_device_write(const SysfsDevice *d, const char *attr, const char *value) {
        _cleanup_free_ char *p = sysfs_device_attr(d, attr);

        return p ? sysfs_write(p, value) : -ENOMEM;
}

int sysfs_device_read(const SysfsDevice *d, const char *attr, char **ret) {
        _cleanup_free_ char *p = sysfs_device_attr(d, attr);

        return p ? sysfs_read(p, ret) : -ENOMEM;
}

int sysfs_device_read_int(const SysfsDevice *d, const char *attr, long long *ret) {
        _cleanup_free_ char *p = sysfs_device_attr(d, attr);

        return p ? sysfs_read_int(p, ret) : -ENOMEM;
}
