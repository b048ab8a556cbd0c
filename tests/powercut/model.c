/* SPDX-License-Identifier: Apache-2.0 */
/* model.c: see model.h. Invariant kept by every request: an inode's live data is
 * its durable data (shadow/<id>, or nothing) with its dirty ranges and pending
 * truncations applied; a directory's live entries are its durable entries with
 * the pending namespace changes applied. A sync copies the difference into the
 * durable state; a cut rebuilds the live tree from the durable state alone. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"

#define COPY_BUFFER (256 * 1024)

static guint devino_hash(gconstpointer p) {
        const DevIno *k = p;

        return g_int64_hash(&(gint64) { (gint64) k->ino }) ^ (guint) k->dev;
}

static gboolean devino_equal(gconstpointer a, gconstpointer b) {
        const DevIno *x = a, *y = b;

        return x->dev == y->dev && x->ino == y->ino;
}

static bool streq_dot(const char *n) {
        return strcmp(n, ".") == 0 || strcmp(n, "..") == 0;
}

static int proc_path(int fd, char buf[static 64]) {
        snprintf(buf, 64, "/proc/self/fd/%d", fd);
        return 0;
}

/* Opens the inode behind an O_PATH fd for real I/O. */
static int reopen(int fd, int flags) {
        char p[64];
        int r;

        proc_path(fd, p);
        r = open(p, flags | O_CLOEXEC);
        return r < 0 ? -errno : r;
}

int model_stat(Inode *i, struct stat *ret) {
        return fstatat(i->fd, "", ret, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* ---- ranges ---- */

static void ranges_add(GArray *a, uint64_t start, uint64_t end) {
        guint k = 0;

        if (start >= end)
                return;
        while (k < a->len && g_array_index(a, Range, k).end < start)
                k++;
        /* Merge every range that overlaps or touches [start, end). */
        while (k < a->len && g_array_index(a, Range, k).start <= end) {
                Range r = g_array_index(a, Range, k);

                start = MIN(start, r.start);
                end = MAX(end, r.end);
                g_array_remove_index(a, k);
        }
        g_array_insert_val(a, k, ((Range) { start, end }));
}

static void ranges_clip(GArray *a, uint64_t size) {
        for (guint k = a->len; k > 0; k--) {
                Range *r = &g_array_index(a, Range, k - 1);

                if (r->start >= size)
                        g_array_remove_index(a, k - 1);
                else if (r->end > size)
                        r->end = size;
        }
}

static uint64_t ranges_bytes(GArray *a) {
        uint64_t n = 0;

        for (guint k = 0; k < a->len; k++)
                n += g_array_index(a, Range, k).end - g_array_index(a, Range, k).start;
        return n;
}

static bool data_pending(Inode *i) {
        return i->dirty->len > 0 || i->trunc_min != UINT64_MAX;
}

/* ---- inodes ---- */

static void queue_release(Model *m, Inode *i) {
        if (i->queued)
                return;
        i->queued = true;
        g_ptr_array_add(m->release_queue, i);
}

static Inode *inode_new(Model *m, int fd, const struct stat *st) {
        Inode *i = g_new0(Inode, 1);

        i->key = (DevIno) { st->st_dev, st->st_ino };
        i->id = m->next_id++;
        i->type = st->st_mode & S_IFMT;
        i->fd = fd;
        i->dirty = g_array_new(FALSE, FALSE, sizeof(Range));
        i->trunc_min = UINT64_MAX;
        i->new_fd = -1;
        g_hash_table_insert(m->inodes, &i->key, i);
        return i;
}

static void shadow_name(Inode *i, char buf[static 32]) {
        snprintf(buf, 32, "%" PRIu64, i->id);
}

/* Frees i only; the caller deals with what its durable entries named. */
static void inode_destroy(Model *m, Inode *i) {
        char name[32];

        if (i->has_shadow) {
                shadow_name(i, name);
                (void) unlinkat(m->shadow_fd, name, 0);
        }
        if (i->durable_entries)
                g_hash_table_destroy(i->durable_entries);
        g_array_free(i->dirty, TRUE);
        free(i->symlink);
        if (i->fd >= 0)
                close(i->fd);
        if (i->new_fd >= 0)
                close(i->new_fd);
        g_free(i);
}

static bool inode_unreferenced(Model *m, Inode *i) {
        struct stat st;

        if (i == m->root || i->nlookup > 0 || i->nopen > 0 || i->durable_refs > 0)
                return false;
        /* Still linked in the live tree: its pending state must be kept. */
        return model_stat(i, &st) < 0 || st.st_nlink == 0;
}

static void release_flush(Model *m) {
        while (m->release_queue->len > 0) {
                Inode *i = g_ptr_array_steal_index(m->release_queue, m->release_queue->len - 1);

                i->queued = false;
                if (!inode_unreferenced(m, i))
                        continue;
                g_hash_table_remove(m->inodes, &i->key);
                if (i->durable_entries) {
                        GHashTableIter it;
                        gpointer v;

                        g_hash_table_iter_init(&it, i->durable_entries);
                        while (g_hash_table_iter_next(&it, NULL, &v)) {
                                Inode *c = v;

                                c->durable_refs--;
                                queue_release(m, c);
                        }
                }
                inode_destroy(m, i);
        }
}

void model_release(Model *m, Inode *i) {
        queue_release(m, i);
        release_flush(m);
}

int model_inode_at(Model *m, int dirfd, const char *name, Inode **ret, struct stat *ret_st) {
        struct stat st;
        Inode *i;
        int fd;

        fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        i = g_hash_table_lookup(m->inodes, &(DevIno) { st.st_dev, st.st_ino });
        if (i)
                close(fd);
        else {
                /* New to us: everything about it is pending. */
                i = inode_new(m, fd, &st);
                if (S_ISREG(st.st_mode))
                        ranges_add(i->dirty, 0, (uint64_t) st.st_size);
                else if (S_ISDIR(st.st_mode))
                        i->entries_dirty = true;
                else if (S_ISLNK(st.st_mode)) {
                        char buf[4096];
                        ssize_t n = readlinkat(fd, "", buf, sizeof buf - 1);

                        buf[n < 0 ? 0 : n] = 0;
                        i->symlink = strdup(buf);
                }
                i->attr_dirty = true;
        }
        *ret = i;
        if (ret_st)
                *ret_st = st;
        return 0;
}

int model_inode_created(Model *m, int dirfd, const char *name, const char *symlink, Inode **ret,
                        struct stat *ret_st) {
        int r = model_inode_at(m, dirfd, name, ret, ret_st);

        if (r >= 0 && symlink && !(*ret)->symlink)
                (*ret)->symlink = strdup(symlink);
        return r;
}

void model_note_write(Inode *i, uint64_t offset, uint64_t size) {
        ranges_add(i->dirty, offset, offset + size);
}

void model_note_truncate(Inode *i, uint64_t size) {
        ranges_clip(i->dirty, size);
        i->trunc_min = MIN(i->trunc_min, size);
}

void model_note_attr(Inode *i) {
        i->attr_dirty = true;
}

void model_note_entries(Inode *dir) {
        dir->entries_dirty = true;
}

/* ---- syncing ---- */

static int copy_range(int in, int out, uint64_t start, uint64_t end) {
        g_autofree uint8_t *buf = NULL;

        while (start < end) {
                loff_t a = (loff_t) start, b = (loff_t) start;
                ssize_t n = copy_file_range(in, &a, out, &b, end - start, 0);

                if (n < 0 && (errno == EXDEV || errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS)) {
                        if (!buf)
                                buf = g_malloc(COPY_BUFFER);
                        n = pread(in, buf, MIN(end - start, COPY_BUFFER), (off_t) start);
                        if (n > 0 && pwrite(out, buf, (size_t) n, (off_t) start) != n)
                                return -EIO;
                }
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;   /* the source is shorter: the rest reads as zeros */
                start += (uint64_t) n;
        }
        return 0;
}

static int shadow_open(Model *m, Inode *i, int flags) {
        char name[32];
        int fd;

        shadow_name(i, name);
        fd = openat(m->shadow_fd, name, flags | O_CLOEXEC, 0600);
        return fd < 0 ? -errno : fd;
}

static int sync_data(Model *m, Inode *i) {
        struct stat st, sh;
        int live, shadow, r = 0;

        if (i->type != S_IFREG || (i->has_shadow && !data_pending(i)))
                return 0;
        live = reopen(i->fd, O_RDONLY);
        if (live < 0)
                return live;
        shadow = shadow_open(m, i, O_RDWR | O_CREAT);
        if (shadow < 0) {
                close(live);
                return shadow;
        }
        if (fstat(live, &st) < 0 || fstat(shadow, &sh) < 0)
                r = -errno;
        if (r >= 0 && i->trunc_min < (uint64_t) sh.st_size && ftruncate(shadow, (off_t) i->trunc_min) < 0)
                r = -errno;
        for (guint k = 0; r >= 0 && k < i->dirty->len; k++) {
                Range x = g_array_index(i->dirty, Range, k);
                r = copy_range(live, shadow, x.start, MIN(x.end, (uint64_t) st.st_size));
        }
        if (r >= 0 && ftruncate(shadow, st.st_size) < 0)
                r = -errno;
        close(live);
        close(shadow);
        if (r < 0)
                return r;
        i->has_shadow = true;
        g_array_set_size(i->dirty, 0);
        i->trunc_min = UINT64_MAX;
        return 0;
}

static int sync_attr(Inode *i) {
        struct stat st;
        int r = model_stat(i, &st);

        if (r < 0)
                return r;
        i->durable_mode = st.st_mode & 07777;
        i->attr_synced = true;
        i->attr_dirty = false;
        return 0;
}

/* The directory's durable entries become its live entries. An inode named for
 * the first time gets its attributes as they are now (an inode cannot exist
 * without them); its data is whatever it last synced, else nothing. */
static int sync_entries(Model *m, Inode *d) {
        g_autoptr(GHashTable) entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        struct dirent *e;
        DIR *dir;
        int fd, r = 0;

        fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        dir = fdopendir(fd);
        if (!dir) {
                close(fd);
                return -ENOMEM;
        }
        while (r >= 0 && (errno = 0, e = readdir(dir))) {
                Inode *c;

                if (streq_dot(e->d_name))
                        continue;
                r = model_inode_at(m, dirfd(dir), e->d_name, &c, NULL);
                if (r == -ENOENT) {
                        r = 0;
                        continue;
                }
                if (r < 0)
                        break;
                g_hash_table_insert(entries, g_strdup(e->d_name), c);
                if (c->durable_refs++ == 0 && !c->attr_synced)
                        r = sync_attr(c);
        }
        closedir(dir);
        if (r < 0) {
                GHashTableIter it;
                gpointer v;

                g_hash_table_iter_init(&it, entries);
                while (g_hash_table_iter_next(&it, NULL, &v))
                        ((Inode *) v)->durable_refs--;
                return r;
        }
        if (d->durable_entries) {
                GHashTableIter it;
                gpointer v;

                g_hash_table_iter_init(&it, d->durable_entries);
                while (g_hash_table_iter_next(&it, NULL, &v)) {
                        ((Inode *) v)->durable_refs--;
                        queue_release(m, v);
                }
                g_hash_table_destroy(d->durable_entries);
        }
        d->durable_entries = g_steal_pointer(&entries);
        d->entries_dirty = false;
        return 0;
}

/* A journalling file system commits every namespace change at any fsync. */
static int commit_namespace(Model *m) {
        g_autoptr(GPtrArray) dirs = g_ptr_array_new();
        GHashTableIter it;
        gpointer v;
        int r = 0;

        g_hash_table_iter_init(&it, m->inodes);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                Inode *i = v;

                if (i->entries_dirty)
                        g_ptr_array_add(dirs, i);
                if (i->attr_dirty && r >= 0)
                        r = sync_attr(i);
        }
        for (guint k = 0; r >= 0 && k < dirs->len; k++)
                r = sync_entries(m, dirs->pdata[k]);
        return r;
}

int model_fsync(Model *m, Inode *i, bool datasync) {
        int r = 0;

        m->stats.syncs++;
        if (i->type == S_IFREG)
                r = sync_data(m, i);
        else if (i->type == S_IFDIR)
                r = sync_entries(m, i);
        if (r >= 0 && !datasync)
                r = sync_attr(i);
        if (r >= 0 && m->durability == DURABILITY_JOURNAL)
                r = commit_namespace(m);
        release_flush(m);
        return r;
}

int model_sync_all(Model *m) {
        g_autoptr(GPtrArray) all = g_ptr_array_new();
        GHashTableIter it;
        gpointer v;
        int r = 0;

        g_hash_table_iter_init(&it, m->inodes);
        while (g_hash_table_iter_next(&it, NULL, &v))
                g_ptr_array_add(all, v);
        for (guint k = 0; r >= 0 && k < all->len; k++) {
                Inode *i = all->pdata[k];

                r = i->type == S_IFDIR ? sync_entries(m, i) : sync_data(m, i);
                if (r >= 0)
                        r = sync_attr(i);
        }
        release_flush(m);
        return r;
}

/* ---- handles ---- */

Handle *model_handle_new(Model *m, Inode *i, int fd, void *dir) {
        Handle *h = g_new0(Handle, 1);

        h->inode = i;
        h->fd = fd;
        h->dir = dir;
        i->nopen++;
        g_hash_table_add(m->handles, h);
        return h;
}

static void handle_close(Handle *h) {
        if (h->dir)
                closedir(h->dir);
        else if (h->fd >= 0)
                close(h->fd);
        g_free(h);
}

void model_handle_free(Model *m, Handle *h) {
        Inode *i = h->inode;

        g_hash_table_remove(m->handles, h);
        handle_close(h);
        i->nopen--;
        model_release(m, i);
}

/* ---- the cut ---- */

static int rm_rf_at(int parent, const char *name) {
        int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct dirent *e;
        DIR *d;

        if (fd < 0)
                return unlinkat(parent, name, 0) < 0 && errno != ENOENT ? -errno : 0;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -ENOMEM;
        }
        while ((e = readdir(d)))
                if (!streq_dot(e->d_name))
                        (void) rm_rf_at(dirfd(d), e->d_name);
        closedir(d);
        return unlinkat(parent, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

static int link_inode(int fd, int dirfd, const char *name) {
        char p[64];

        if (linkat(fd, "", dirfd, name, AT_EMPTY_PATH) >= 0)
                return 0;
        if (errno != EPERM && errno != EINVAL)
                return -errno;
        proc_path(fd, p);
        return linkat(AT_FDCWD, p, dirfd, name, AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
}

/* The live inode goes back to its durable data: the pending ranges, and what a
 * pending truncation cut off, are copied back from the shadow. */
static int revert_data(Model *m, Inode *i) {
        struct stat sh = {};
        int live, shadow = -1, r = 0;

        if (!data_pending(i))
                return 0;
        live = reopen(i->fd, O_RDWR);
        if (live < 0)
                return live;
        if (i->has_shadow) {
                shadow = shadow_open(m, i, O_RDONLY);
                if (shadow < 0 || fstat(shadow, &sh) < 0)
                        r = shadow < 0 ? shadow : -errno;
        }
        if (r >= 0 && shadow >= 0) {
                uint64_t size = (uint64_t) sh.st_size;

                for (guint k = 0; r >= 0 && k < i->dirty->len; k++) {
                        Range x = g_array_index(i->dirty, Range, k);
                        r = copy_range(shadow, live, x.start, MIN(x.end, size));
                }
                if (r >= 0 && i->trunc_min < size)
                        r = copy_range(shadow, live, i->trunc_min, size);
        }
        if (r >= 0 && ftruncate(live, sh.st_size) < 0)
                r = -errno;
        if (shadow >= 0)
                close(shadow);
        close(live);
        return r;
}

static int copy_from_shadow(Model *m, Inode *i, int dirfd, const char *name) {
        int out, in, r = 0;
        struct stat sh;

        out = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (out < 0)
                return -errno;
        if (i->has_shadow) {
                in = shadow_open(m, i, O_RDONLY);
                if (in < 0)
                        r = in;
                else {
                        r = fstat(in, &sh) < 0 ? -errno : copy_range(in, out, 0, (uint64_t) sh.st_size);
                        close(in);
                }
        }
        close(out);
        return r;
}

static int materialize(Model *m, Inode *i, int dirfd, const char *name, GHashTable *on_path);

static int materialize_children(Model *m, Inode *d, GHashTable *on_path) {
        GHashTableIter it;
        gpointer k, v;
        int r = 0;

        if (!d->durable_entries)
                return 0;
        g_hash_table_add(on_path, d);
        g_hash_table_iter_init(&it, d->durable_entries);
        while (r >= 0 && g_hash_table_iter_next(&it, &k, &v))
                r = materialize(m, v, d->new_fd, k, on_path);
        g_hash_table_remove(on_path, d);
        return r;
}

static int materialize(Model *m, Inode *i, int dirfd, const char *name, GHashTable *on_path) {
        struct stat st;
        int r;

        if (i->new_fd >= 0 && i->type != S_IFDIR)
                return link_inode(i->new_fd, dirfd, name);   /* another name of one inode */
        switch (i->type) {
        case S_IFDIR:
                if (i->new_fd >= 0 || g_hash_table_contains(on_path, i)) {
                        /* A directory with two durable parents, or inside itself (README). */
                        m->stats.anomalies++;
                        return 0;
                }
                if (mkdirat(dirfd, name, 0700) < 0)
                        return -errno;
                break;
        case S_IFREG:
                r = model_stat(i, &st);
                if (r >= 0 && st.st_nlink > 0) {
                        r = revert_data(m, i);
                        if (r >= 0)
                                r = link_inode(i->fd, dirfd, name);
                }
                if (r < 0 || st.st_nlink == 0)
                        r = copy_from_shadow(m, i, dirfd, name);
                if (r < 0)
                        return r;
                break;
        case S_IFLNK:
                if (symlinkat(i->symlink ?: "", dirfd, name) < 0)
                        return -errno;
                break;
        default:
                if (mknodat(dirfd, name, i->type | 0600, 0) < 0)
                        return -errno;
                break;
        }
        i->new_fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (i->new_fd < 0)
                return -errno;
        if (i->type != S_IFLNK && fchmodat(dirfd, name, i->attr_synced ? i->durable_mode : 0600, 0) < 0)
                return -errno;
        return i->type == S_IFDIR ? materialize_children(m, i, on_path) : 0;
}

/* After the rebuild: kept inodes point at their rebuilt backing inode, with
 * nothing pending; the others never became durable and are gone. */
static void model_rekey(Model *m) {
        g_autoptr(GPtrArray) all = g_ptr_array_new();
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, m->inodes);
        while (g_hash_table_iter_next(&it, NULL, &v))
                g_ptr_array_add(all, v);
        g_hash_table_steal_all(m->inodes);
        for (guint k = 0; k < all->len; k++) {
                Inode *i = all->pdata[k];
                struct stat st;

                if (i->new_fd < 0 && i != m->root)
                        continue;
                if (i->new_fd >= 0) {
                        close(i->fd);
                        i->fd = i->new_fd;
                        i->new_fd = -1;
                }
                if (model_stat(i, &st) >= 0)
                        i->key = (DevIno) { st.st_dev, st.st_ino };
                g_array_set_size(i->dirty, 0);
                i->trunc_min = UINT64_MAX;
                i->attr_dirty = i->entries_dirty = false;
                i->nlookup = 0;
                i->nopen = 0;
                i->durable_refs = i == m->root;
                g_hash_table_insert(m->inodes, &i->key, i);
        }
        /* Durable references again, from rebuilt directories to rebuilt inodes. */
        for (guint k = 0; k < all->len; k++) {
                Inode *d = all->pdata[k];
                GHashTableIter e;
                gpointer c;

                if (!d->durable_entries || !g_hash_table_contains(m->inodes, &d->key) ||
                    g_hash_table_lookup(m->inodes, &d->key) != d)
                        continue;
                g_hash_table_iter_init(&e, d->durable_entries);
                while (g_hash_table_iter_next(&e, NULL, &c)) {
                        Inode *ci = c;
                        if (g_hash_table_lookup(m->inodes, &ci->key) == ci)
                                ci->durable_refs++;
                        else
                                g_hash_table_iter_remove(&e);
                }
        }
        for (guint k = 0; k < all->len; k++) {
                Inode *i = all->pdata[k];

                if (g_hash_table_lookup(m->inodes, &i->key) != i)
                        inode_destroy(m, i);
        }
}

int model_cut(Model *m) {
        g_autoptr(GHashTable) on_path = g_hash_table_new(NULL, NULL);
        char fresh[64], old[64];
        GHashTableIter it;
        gpointer v;
        int r;

        g_hash_table_iter_init(&it, m->inodes);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                Inode *i = v;

                m->stats.dropped_bytes += ranges_bytes(i->dirty);
                m->stats.dropped_dirs += i->entries_dirty;
        }
        /* Every open file of the old mount dies with it. */
        g_hash_table_iter_init(&it, m->handles);
        while (g_hash_table_iter_next(&it, &v, NULL))
                handle_close(v);
        g_hash_table_steal_all(m->handles);

        m->tree_generation++;
        snprintf(fresh, sizeof fresh, "tree.%" PRIu64, m->tree_generation);
        snprintf(old, sizeof old, "old.%" PRIu64, m->tree_generation);
        if (mkdirat(m->backing_fd, fresh, 0755) < 0)
                return -errno;
        m->root->new_fd = openat(m->backing_fd, fresh, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (m->root->new_fd < 0)
                return -errno;
        r = materialize_children(m, m->root, on_path);
        if (r < 0)
                return r;
        if (renameat(m->backing_fd, "tree", m->backing_fd, old) < 0 ||
            renameat(m->backing_fd, fresh, m->backing_fd, "tree") < 0)
                return -errno;
        model_rekey(m);
        m->stats.cuts++;
        return rm_rf_at(m->backing_fd, old);
}

/* ---- setup ---- */

int model_new(const char *backing, Durability durability, Model **ret) {
        g_autofree Model *m = g_new0(Model, 1);
        struct stat st;
        int fd;

        if (g_mkdir_with_parents(backing, 0755) < 0)
                return -errno;
        m->backing_fd = open(backing, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (m->backing_fd < 0)
                return -errno;
        /* A fresh start: whatever an earlier instance left is not ours. */
        for (const char *const *n = (const char *const[]) { "tree", "shadow", NULL }; *n; n++)
                (void) rm_rf_at(m->backing_fd, *n);
        if (mkdirat(m->backing_fd, "tree", 0755) < 0 || mkdirat(m->backing_fd, "shadow", 0700) < 0)
                return -errno;
        m->shadow_fd = openat(m->backing_fd, "shadow", O_PATH | O_DIRECTORY | O_CLOEXEC);
        fd = openat(m->backing_fd, "tree", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (m->shadow_fd < 0 || fd < 0 || fstat(fd, &st) < 0)
                return -errno;
        m->tree_path = g_build_filename(backing, "tree", NULL);
        m->durability = durability;
        m->inodes = g_hash_table_new(devino_hash, devino_equal);
        m->handles = g_hash_table_new(NULL, NULL);
        m->release_queue = g_ptr_array_new();
        m->next_id = 1;
        m->root = inode_new(m, fd, &st);
        m->root->durable_refs = 1;
        m->root->attr_synced = true;
        m->root->durable_mode = st.st_mode & 07777;
        *ret = g_steal_pointer(&m);
        return 0;
}

void model_free(Model *m) {
        GHashTableIter it;
        gpointer v;

        if (!m)
                return;
        g_hash_table_iter_init(&it, m->handles);
        while (g_hash_table_iter_next(&it, &v, NULL))
                handle_close(v);
        g_hash_table_destroy(m->handles);
        g_hash_table_iter_init(&it, m->inodes);
        while (g_hash_table_iter_next(&it, NULL, &v))
                inode_destroy(m, v);
        g_hash_table_destroy(m->inodes);
        g_ptr_array_free(m->release_queue, TRUE);
        close(m->shadow_fd);
        close(m->backing_fd);
        g_free(m->tree_path);
        g_free(m);
}

static void dump_dir(Model *m, Inode *d, const char *prefix, GHashTable *seen, GString *out) {
        GHashTableIter it;
        gpointer k, v;

        if (!d->durable_entries)
                return;
        g_hash_table_iter_init(&it, d->durable_entries);
        while (g_hash_table_iter_next(&it, &k, &v)) {
                g_autofree char *path = g_strconcat(prefix, k, NULL);
                g_autofree char *sum = NULL;
                Inode *i = v;
                gsize size = 0;

                if (i->type == S_IFDIR) {
                        if (g_hash_table_contains(seen, i))
                                continue;
                        g_hash_table_add(seen, i);
                        g_string_append_printf(out, "%s\"%s\":\"dir\"", out->len > 1 ? "," : "", path);
                        g_autofree char *sub = g_strconcat(path, "/", NULL);
                        dump_dir(m, i, sub, seen, out);
                        continue;
                }
                if (i->has_shadow) {
                        g_autofree char *data = NULL;
                        char name[32];
                        int fd;

                        shadow_name(i, name);
                        fd = shadow_open(m, i, O_RDONLY);
                        if (fd >= 0) {
                                g_autofree char *p = g_strdup_printf("/proc/self/fd/%d", fd);
                                (void) g_file_get_contents(p, &data, &size, NULL);
                                close(fd);
                        }
                        sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *) (data ?: ""), size);
                } else
                        sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *) "", 0);
                g_string_append_printf(out, "%s\"%s\":\"%s\"", out->len > 1 ? "," : "", path,
                                       i->type == S_IFREG ? sum : i->type == S_IFLNK ? "symlink" : "other");
        }
}

char *model_durable_json(Model *m) {
        g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
        GString *out = g_string_new("{");

        dump_dir(m, m->root, "", seen, out);
        g_string_append_c(out, '}');
        return g_string_free(out, FALSE);
}

char *model_stats_json(Model *m, const char *state, uint64_t deferred) {
        uint64_t files = 0, bytes = 0, dirs = 0, attrs = 0;
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, m->inodes);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                Inode *i = v;

                files += data_pending(i);
                bytes += ranges_bytes(i->dirty);
                dirs += i->entries_dirty;
                attrs += i->attr_dirty;
        }
        return g_strdup_printf("{\"state\":\"%s\",\"durability\":\"%s\",\"ops\":%" PRIu64 ",\"syncs\":%" PRIu64
                               ",\"cuts\":%" PRIu64 ",\"inodes\":%u,\"pending_files\":%" PRIu64
                               ",\"pending_bytes\":%" PRIu64 ",\"pending_dirs\":%" PRIu64
                               ",\"pending_attrs\":%" PRIu64 ",\"dropped_bytes\":%" PRIu64
                               ",\"dropped_dirs\":%" PRIu64 ",\"anomalies\":%" PRIu64 ",\"deferred\":%" PRIu64 "}",
                               state, m->durability == DURABILITY_JOURNAL ? "journal" : "strict", m->stats.ops,
                               m->stats.syncs, m->stats.cuts, g_hash_table_size(m->inodes), files, bytes, dirs, attrs,
                               m->stats.dropped_bytes, m->stats.dropped_dirs, m->stats.anomalies, deferred);
}
