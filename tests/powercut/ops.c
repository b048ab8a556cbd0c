/* SPDX-License-Identifier: Apache-2.0 */
/* ops.c: the FUSE low-level requests. Each one is passed through to the live
 * backing tree and noted in the model as pending; fsync and fsyncdir make their
 * inode durable (model.c). Node ids are Inode pointers (the root: 1). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs.h"

#define TIMEOUT 1.0

const char *fs_state_to_string(FsState s) {
        return s == FS_SERVING ? "serving" : s == FS_FROZEN ? "frozen" : "cut";
}

/* Takes the lock and says whether the request may be served now: not from an
 * older mount, not after the cut; while frozen it is held unanswered (the
 * caller hangs as a process does when the power fails under it). A counting
 * request (one that changes or syncs something) may trigger the freeze. */
static Fs *request_begin(fuse_req_t req, bool counts) {
        Mount *mt = fuse_req_userdata(req);
        Fs *fs = mt->fs;

        pthread_mutex_lock(&fs->lock);
        if (mt->generation != fs->generation || fs->state == FS_CUT) {
                pthread_mutex_unlock(&fs->lock);
                fuse_reply_err(req, EIO);
                return NULL;
        }
        if (counts && fs->state == FS_SERVING && fs->freeze_at != 0 && fs->model->stats.ops + 1 >= fs->freeze_at)
                fs->state = FS_FROZEN;
        if (fs->state == FS_FROZEN) {
                g_ptr_array_add(fs->deferred, req);
                pthread_mutex_unlock(&fs->lock);
                return NULL;
        }
        if (counts)
                fs->model->stats.ops++;
        return fs;
}

static void request_end(Fs *fs) {
        pthread_mutex_unlock(&fs->lock);
}

static Inode *inode_of(Fs *fs, fuse_ino_t ino) {
        return ino == FUSE_ROOT_ID ? fs->model->root : (Inode *) (uintptr_t) ino;
}

static fuse_ino_t ino_of(Fs *fs, Inode *i) {
        return i == fs->model->root ? FUSE_ROOT_ID : (fuse_ino_t) (uintptr_t) i;
}

static struct fuse_entry_param entry_of(Fs *fs, Inode *i, const struct stat *st) {
        struct fuse_entry_param e = {
                .ino = ino_of(fs, i),
                .generation = i->id,
                .attr = *st,
                .attr_timeout = TIMEOUT,
                .entry_timeout = TIMEOUT,
        };

        i->nlookup++;
        return e;
}

static void reply_entry(fuse_req_t req, Fs *fs, Inode *i, const struct stat *st) {
        struct fuse_entry_param e = entry_of(fs, i, st);

        fuse_reply_entry(req, &e);
}

static Handle *handle_of(struct fuse_file_info *fi) {
        return (Handle *) (uintptr_t) fi->fh;
}

static void proc_path(int fd, char buf[static 64]) {
        snprintf(buf, 64, "/proc/self/fd/%d", fd);
}

/* ---- names ---- */

static void pc_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
        Fs *fs = request_begin(req, false);
        struct stat st;
        Inode *i;
        int r;

        if (!fs)
                return;
        r = model_inode_at(fs->model, inode_of(fs, parent)->fd, name, &i, &st);
        if (r < 0)
                fuse_reply_err(req, -r);
        else
                reply_entry(req, fs, i, &st);
        request_end(fs);
}

static void forget_one(Fs *fs, fuse_ino_t ino, uint64_t n) {
        Inode *i = inode_of(fs, ino);

        i->nlookup -= MIN(n, i->nlookup);
        model_release(fs->model, i);
}

/* Forgets need no answer; after a freeze or cut the mount is gone anyway. */
static bool forget_begin(fuse_req_t req, Fs **ret) {
        Mount *mt = fuse_req_userdata(req);
        Fs *fs = mt->fs;

        pthread_mutex_lock(&fs->lock);
        if (mt->generation != fs->generation || fs->state != FS_SERVING) {
                pthread_mutex_unlock(&fs->lock);
                fuse_reply_none(req);
                return false;
        }
        *ret = fs;
        return true;
}

static void pc_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
        Fs *fs;

        if (!forget_begin(req, &fs))
                return;
        forget_one(fs, ino, nlookup);
        request_end(fs);
        fuse_reply_none(req);
}

static void pc_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets) {
        Fs *fs;

        if (!forget_begin(req, &fs))
                return;
        for (size_t k = 0; k < count; k++)
                forget_one(fs, forgets[k].ino, forgets[k].nlookup);
        request_end(fs);
        fuse_reply_none(req);
}

static void created(fuse_req_t req, Fs *fs, Inode *parent, const char *name, const char *symlink) {
        struct stat st;
        Inode *i;
        int r = model_inode_created(fs->model, parent->fd, name, symlink, &i, &st);

        if (r < 0) {
                fuse_reply_err(req, -r);
                return;
        }
        model_note_entries(parent);
        reply_entry(req, fs, i, &st);
}

/* mknod, mkdir, symlink: the entry is made in the live tree and is pending. */
static void make_entry(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev,
                       const char *link) {
        Fs *fs = request_begin(req, true);
        Inode *p;
        int r;

        if (!fs)
                return;
        p = inode_of(fs, parent);
        r = link ? symlinkat(link, p->fd, name)
            : S_ISDIR(mode) ? mkdirat(p->fd, name, mode & 07777)
            : mknodat(p->fd, name, mode, rdev);
        if (r < 0)
                fuse_reply_err(req, errno);
        else
                created(req, fs, p, name, link);
        request_end(fs);
}

static void pc_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev) {
        make_entry(req, parent, name, mode, rdev, NULL);
}

static void pc_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
        make_entry(req, parent, name, mode | S_IFDIR, 0, NULL);
}

static void pc_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name) {
        make_entry(req, parent, name, S_IFLNK, 0, link);
}

static void remove_entry(fuse_req_t req, fuse_ino_t parent, const char *name, int flags) {
        Fs *fs = request_begin(req, true);
        Inode *p, *victim;
        int r;

        if (!fs)
                return;
        p = inode_of(fs, parent);
        r = model_inode_at(fs->model, p->fd, name, &victim, NULL);
        if (r >= 0 && unlinkat(p->fd, name, flags) < 0)
                r = -errno;
        if (r >= 0) {
                model_note_entries(p);
                model_release(fs->model, victim);
        }
        fuse_reply_err(req, -MIN(r, 0));
        request_end(fs);
}

static void pc_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) {
        remove_entry(req, parent, name, 0);
}

static void pc_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) {
        remove_entry(req, parent, name, AT_REMOVEDIR);
}

static void pc_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags) {
        Fs *fs = request_begin(req, true);
        Inode *p, *np, *victim = NULL;

        if (!fs)
                return;
        p = inode_of(fs, parent);
        np = inode_of(fs, newparent);
        (void) model_inode_at(fs->model, np->fd, newname, &victim, NULL);
        if (renameat2(p->fd, name, np->fd, newname, flags) < 0)
                fuse_reply_err(req, errno);
        else {
                model_note_entries(p);
                model_note_entries(np);
                if (victim && !(flags & RENAME_EXCHANGE))
                        model_release(fs->model, victim);
                fuse_reply_err(req, 0);
        }
        request_end(fs);
}

static void pc_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname) {
        Fs *fs = request_begin(req, true);
        struct stat st;
        Inode *i, *np;

        if (!fs)
                return;
        i = inode_of(fs, ino);
        np = inode_of(fs, newparent);
        if (linkat(i->fd, "", np->fd, newname, AT_EMPTY_PATH) < 0 || model_stat(i, &st) < 0)
                fuse_reply_err(req, errno);
        else {
                model_note_entries(np);
                reply_entry(req, fs, i, &st);
        }
        request_end(fs);
}

/* ---- attributes ---- */

static void pc_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
        Fs *fs = request_begin(req, false);
        struct stat st;
        int r;

        if (!fs)
                return;
        r = model_stat(inode_of(fs, ino), &st);
        if (r < 0)
                fuse_reply_err(req, -r);
        else
                fuse_reply_attr(req, &st, TIMEOUT);
        request_end(fs);
}

static int set_times(int fd, const struct stat *attr, int to_set) {
        struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };
        char p[64];

        if (to_set & FUSE_SET_ATTR_ATIME_NOW)
                ts[0].tv_nsec = UTIME_NOW;
        else if (to_set & FUSE_SET_ATTR_ATIME)
                ts[0] = attr->st_atim;
        if (to_set & FUSE_SET_ATTR_MTIME_NOW)
                ts[1].tv_nsec = UTIME_NOW;
        else if (to_set & FUSE_SET_ATTR_MTIME)
                ts[1] = attr->st_mtim;
        proc_path(fd, p);
        return utimensat(AT_FDCWD, p, ts, 0) < 0 ? -errno : 0;
}

static int set_attr(Inode *i, struct stat *attr, int to_set, struct fuse_file_info *fi) {
        char p[64];

        proc_path(i->fd, p);
        if ((to_set & FUSE_SET_ATTR_MODE) && i->type != S_IFLNK) {
                if (chmod(p, attr->st_mode & 07777) < 0)
                        return -errno;
                model_note_attr(i);
        }
        if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
                uid_t u = to_set & FUSE_SET_ATTR_UID ? attr->st_uid : (uid_t) -1;
                gid_t g = to_set & FUSE_SET_ATTR_GID ? attr->st_gid : (gid_t) -1;

                if (fchownat(i->fd, "", u, g, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                model_note_attr(i);
        }
        if (to_set & FUSE_SET_ATTR_SIZE) {
                int r = fi ? ftruncate(handle_of(fi)->fd, attr->st_size)
                           : truncate(p, attr->st_size);
                if (r < 0)
                        return -errno;
                model_note_truncate(i, (uint64_t) attr->st_size);
        }
        if ((to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
                       FUSE_SET_ATTR_MTIME_NOW)) && i->type != S_IFLNK)
                return set_times(i->fd, attr, to_set);
        return 0;
}

static void pc_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi) {
        Fs *fs = request_begin(req, true);
        struct stat st;
        Inode *i;
        int r;

        if (!fs)
                return;
        i = inode_of(fs, ino);
        r = set_attr(i, attr, to_set, fi);
        if (r >= 0)
                r = model_stat(i, &st);
        if (r < 0)
                fuse_reply_err(req, -r);
        else
                fuse_reply_attr(req, &st, TIMEOUT);
        request_end(fs);
}

static void pc_readlink(fuse_req_t req, fuse_ino_t ino) {
        Fs *fs = request_begin(req, false);
        char buf[PATH_MAX + 1];
        ssize_t n;

        if (!fs)
                return;
        n = readlinkat(inode_of(fs, ino)->fd, "", buf, sizeof buf - 1);
        if (n < 0)
                fuse_reply_err(req, errno);
        else {
                buf[n] = 0;
                fuse_reply_readlink(req, buf);
        }
        request_end(fs);
}

/* ---- files ---- */

/* What the backing file is opened with: our own durability rules replace
 * O_SYNC/O_DSYNC/O_DIRECT, O_APPEND is the kernel's business (it sends the
 * end-of-file offset with each write), and the kernel resolved the name
 * already (O_NOFOLLOW would refuse the /proc/self/fd link we reopen). */
static int backing_flags(int flags) {
        return flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_APPEND | O_SYNC | O_DSYNC | O_DIRECT | O_NOFOLLOW);
}

static Handle *open_file(Fs *fs, Inode *i, int fd, int flags) {
        Handle *h = model_handle_new(fs->model, i, fd, NULL);

        h->sync_flags = flags & (O_SYNC | O_DSYNC);
        return h;
}



static void pc_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
        Fs *fs = request_begin(req, fi->flags & O_TRUNC);
        char p[64];
        Inode *i;
        int fd;

        if (!fs)
                return;
        i = inode_of(fs, ino);
        proc_path(i->fd, p);
        fd = open(p, backing_flags(fi->flags) | O_CLOEXEC);
        if (fd < 0)
                fuse_reply_err(req, errno);
        else {
                if (fi->flags & O_TRUNC)
                        model_note_truncate(i, 0);
                fi->fh = (uintptr_t) open_file(fs, i, fd, fi->flags);
                fi->keep_cache = 0;
                if (fuse_reply_open(req, fi) == -ENOENT)
                        model_handle_free(fs->model, handle_of(fi));
        }
        request_end(fs);
}

static void pc_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi) {
        Fs *fs = request_begin(req, true);
        struct fuse_entry_param e;
        struct stat st;
        bool existed;
        Inode *p, *i;
        int fd, r;

        if (!fs)
                return;
        p = inode_of(fs, parent);
        existed = fstatat(p->fd, name, &st, AT_SYMLINK_NOFOLLOW) >= 0;
        fd = openat(p->fd, name, backing_flags(fi->flags) | O_CREAT | (fi->flags & (O_EXCL | O_NOFOLLOW)) | O_CLOEXEC,
                    mode);
        if (fd < 0) {
                fuse_reply_err(req, errno);
                request_end(fs);
                return;
        }
        r = model_inode_created(fs->model, p->fd, name, NULL, &i, &st);
        if (r < 0) {
                close(fd);
                fuse_reply_err(req, -r);
                request_end(fs);
                return;
        }
        if (!existed)
                model_note_entries(p);
        else if (fi->flags & O_TRUNC)
                model_note_truncate(i, 0);
        fi->fh = (uintptr_t) open_file(fs, i, fd, fi->flags);
        e = entry_of(fs, i, &st);
        fuse_reply_create(req, &e, fi);
        request_end(fs);
}

static void pc_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
        Fs *fs = request_begin(req, false);
        g_autofree char *buf = NULL;
        ssize_t n;

        if (!fs)
                return;
        buf = g_malloc(size);
        n = pread(handle_of(fi)->fd, buf, size, off);
        if (n < 0)
                fuse_reply_err(req, errno);
        else
                fuse_reply_buf(req, buf, (size_t) n);
        request_end(fs);
}

static void pc_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi) {
        Fs *fs = request_begin(req, true);
        Handle *h;
        ssize_t n;

        if (!fs)
                return;
        h = handle_of(fi);
        n = pwrite(h->fd, buf, size, off);
        if (n < 0)
                fuse_reply_err(req, errno);
        else {
                model_note_write(h->inode, (uint64_t) off, (uint64_t) n);
                /* O_DSYNC: each write is durable with what it needs to be read
                 * back (data, size); O_SYNC: with all its metadata. */
                if (h->sync_flags & O_DSYNC)
                        (void) model_fsync(fs->model, h->inode, (h->sync_flags & O_SYNC) != O_SYNC);
                fuse_reply_write(req, (size_t) n);
        }
        request_end(fs);
}

static void pc_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
        Fs *fs = request_begin(req, false);

        if (!fs)
                return;
        fuse_reply_err(req, 0);   /* close(2) makes nothing durable */
        request_end(fs);
}

/* Files and directories alike. */
static void pc_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
        Fs *fs = request_begin(req, false);

        if (!fs)
                return;
        model_handle_free(fs->model, handle_of(fi));
        fuse_reply_err(req, 0);
        request_end(fs);
}

static void pc_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
        Fs *fs = request_begin(req, true);

        if (!fs)
                return;
        fuse_reply_err(req, -MIN(model_fsync(fs->model, inode_of(fs, ino), datasync), 0));
        request_end(fs);
}

static void pc_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                         struct fuse_file_info *fi) {
        Fs *fs = request_begin(req, true);
        Handle *h;

        if (!fs)
                return;
        h = handle_of(fi);
        if (fallocate(h->fd, mode, offset, length) < 0)
                fuse_reply_err(req, errno);
        else {
                model_note_write(h->inode, (uint64_t) offset, (uint64_t) length);
                fuse_reply_err(req, 0);
        }
        request_end(fs);
}

/* ---- directories ---- */

static void pc_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
        Fs *fs = request_begin(req, false);
        Inode *i;
        DIR *d;
        int fd;

        if (!fs)
                return;
        i = inode_of(fs, ino);
        fd = openat(i->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                fuse_reply_err(req, errno);
                if (fd >= 0)
                        close(fd);
        } else {
                fi->fh = (uintptr_t) model_handle_new(fs->model, i, -1, d);
                if (fuse_reply_open(req, fi) == -ENOENT)
                        model_handle_free(fs->model, handle_of(fi));
        }
        request_end(fs);
}

static void pc_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
        Fs *fs = request_begin(req, false);
        Handle *h;
        g_autofree char *buf = NULL;
        size_t used = 0;

        if (!fs)
                return;
        h = handle_of(fi);
        buf = g_malloc(size);
        if (off != h->dir_offset) {
                seekdir(h->dir, off);
                h->dir_offset = off;
        }
        for (;;) {
                struct dirent *e;
                struct stat st = {};
                size_t n;

                errno = 0;
                e = readdir(h->dir);
                if (!e)
                        break;
                st.st_ino = e->d_ino;
                st.st_mode = (mode_t) DTTOIF(e->d_type);
                n = fuse_add_direntry(req, buf + used, size - used, e->d_name, &st, e->d_off);
                if (n > size - used) {
                        seekdir(h->dir, h->dir_offset);   /* does not fit: next time */
                        break;
                }
                used += n;
                h->dir_offset = e->d_off;
        }
        if (errno != 0 && used == 0)
                fuse_reply_err(req, errno);
        else
                fuse_reply_buf(req, buf, used);
        request_end(fs);
}

static void pc_statfs(fuse_req_t req, fuse_ino_t ino) {
        Fs *fs = request_begin(req, false);
        struct statvfs sv;

        if (!fs)
                return;
        if (fstatvfs(fs->model->root->fd, &sv) < 0)
                fuse_reply_err(req, errno);
        else
                fuse_reply_statfs(req, &sv);
        request_end(fs);
}

static void pc_init(void *userdata, struct fuse_conn_info *conn) {
        /* Every write reaches us before write(2) returns: no kernel write-back. */
        conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

const struct fuse_lowlevel_ops powercut_ops = {
        .init = pc_init,
        .lookup = pc_lookup,
        .forget = pc_forget,
        .forget_multi = pc_forget_multi,
        .getattr = pc_getattr,
        .setattr = pc_setattr,
        .readlink = pc_readlink,
        .mknod = pc_mknod,
        .mkdir = pc_mkdir,
        .unlink = pc_unlink,
        .rmdir = pc_rmdir,
        .symlink = pc_symlink,
        .rename = pc_rename,
        .link = pc_link,
        .open = pc_open,
        .read = pc_read,
        .write = pc_write,
        .flush = pc_flush,
        .release = pc_release,
        .fsync = pc_fsync,
        .opendir = pc_opendir,
        .readdir = pc_readdir,
        .releasedir = pc_release,
        .fsyncdir = pc_fsync,
        .statfs = pc_statfs,
        .create = pc_create,
        .fallocate = pc_fallocate,
};
