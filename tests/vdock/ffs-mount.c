/* ffs-mount.c: FUSE for an Ffs (ffs-mount.h). Files are opened direct_io,
 * so every read(2) and write(2) reaches the Ffs with its own size, as on
 * functionfs; a request that must wait (an endpoint transfer, an event read)
 * is answered later, from whichever thread ends it. */
#define FUSE_USE_VERSION 35
#include "ffs-mount.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ffs-zero.h"

enum { ROOT_INO = 1, FIRST_FILE_INO = 2 };

struct FfsMount {
        Ffs *ffs;
        GRecMutex *lock;
        char *dir;
        struct fuse_session *se;
        GThread *thread;
        int stop_fd;
        int listener;
        GPtrArray *pollers; /* struct fuse_pollhandle*: ep0 pollers to tell of a change */
};

typedef struct {
        FfsIo io;
        FfsMount *m;
} FuseIo;

static gboolean file_exists(FfsMount *m, unsigned file)
{
        gboolean r;

        g_rec_mutex_lock(m->lock);
        r = file <= ffs_endpoints(m->ffs);
        g_rec_mutex_unlock(m->lock);
        return r;
}

static void fill_attr(struct stat *st, fuse_ino_t ino)
{
        memset(st, 0, sizeof *st);
        st->st_ino = ino;
        st->st_uid = getuid();
        st->st_gid = getgid();
        /* functionfs defaults: rmode 0500, fmode 0600 */
        st->st_mode = ino == ROOT_INO ? S_IFDIR | 0500 : S_IFREG | 0600;
        st->st_nlink = ino == ROOT_INO ? 2 : 1;
}

/* "ep0" .. "ep15" → the number, or -1 */
static int parse_name(const char *name)
{
        char *end = NULL;
        unsigned long n;

        if (strncmp(name, "ep", 2) != 0 || !g_ascii_isdigit(name[2]) || (name[2] == '0' && name[3]))
                return -1;
        n = strtoul(name + 2, &end, 10);
        return *end || n > 15 ? -1 : (int) n;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
        /* one read(2) is one request, never split into parallel ones */
        conn->want &= ~FUSE_CAP_ASYNC_DIO;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
        FfsMount *m = fuse_req_userdata(req);
        struct fuse_entry_param e = { 0 };
        int file = parent == ROOT_INO ? parse_name(name) : -1;

        if (file < 0 || !file_exists(m, (unsigned) file)) {
                fuse_reply_err(req, ENOENT);
                return;
        }
        e.ino = FIRST_FILE_INO + (unsigned) file;
        fill_attr(&e.attr, e.ino);
        fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
        FfsMount *m = fuse_req_userdata(req);
        struct stat st;

        if (ino != ROOT_INO && !file_exists(m, (unsigned) (ino - FIRST_FILE_INO))) {
                fuse_reply_err(req, ENOENT);
                return;
        }
        fill_attr(&st, ino);
        fuse_reply_attr(req, &st, 0);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
        FfsMount *m = fuse_req_userdata(req);
        g_autoptr(GByteArray) a = g_byte_array_new();
        unsigned n;

        if (ino != ROOT_INO) {
                fuse_reply_err(req, ENOTDIR);
                return;
        }
        g_rec_mutex_lock(m->lock);
        n = ffs_endpoints(m->ffs);
        g_rec_mutex_unlock(m->lock);
        for (unsigned i = 0; i <= n + 2; i++) {
                g_autofree char *name = i == 0 ? g_strdup(".") : i == 1 ? g_strdup("..") : g_strdup_printf("ep%u", i - 2);
                struct stat st;
                size_t len;

                fill_attr(&st, i < 2 ? ROOT_INO : FIRST_FILE_INO + i - 2);
                len = fuse_add_direntry(req, NULL, 0, name, NULL, 0);
                g_byte_array_set_size(a, a->len + (guint) len);
                fuse_add_direntry(req, (char *) a->data + a->len - len, len, name, &st, (off_t) (a->len));
        }
        if ((size_t) off >= a->len)
                fuse_reply_buf(req, NULL, 0);
        else
                fuse_reply_buf(req, (const char *) a->data + off, MIN(size, a->len - (size_t) off));
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
        FfsMount *m = fuse_req_userdata(req);
        int r;

        if (ino == ROOT_INO) {
                fuse_reply_err(req, EISDIR);
                return;
        }
        g_rec_mutex_lock(m->lock);
        r = ffs_open(m->ffs, (unsigned) (ino - FIRST_FILE_INO));
        g_rec_mutex_unlock(m->lock);
        if (r < 0) {
                fuse_reply_err(req, -r);
                return;
        }
        fi->fh = ino - FIRST_FILE_INO;
        fi->direct_io = 1;
        fi->nonseekable = 1;
        fuse_reply_open(req, fi); /* if the opener is gone, libfuse calls op_release */
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
        FfsMount *m = fuse_req_userdata(req);

        g_rec_mutex_lock(m->lock);
        ffs_release(m->ffs, (unsigned) fi->fh);
        g_rec_mutex_unlock(m->lock);
        fuse_reply_err(req, 0);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
        fuse_reply_err(req, 0);
}

static void reply_io(FuseIo *x, ssize_t r)
{
        fuse_req_t req = x->io.token;

        if (r < 0)
                fuse_reply_err(req, (int) -r);
        else if (x->io.read)
                fuse_reply_buf(req, (const char *) x->io.buf, (size_t) r);
        else
                fuse_reply_write(req, (size_t) r);
        g_free(x->io.buf);
        g_free(x);
}

static void io_done(FfsIo *io, ssize_t result)
{
        reply_io((FuseIo *) io, result);
}

static void on_interrupt(fuse_req_t req, void *data)
{
        FfsMount *m = data;

        g_rec_mutex_lock(m->lock);
        ffs_interrupt(m->ffs, req);
        g_rec_mutex_unlock(m->lock);
}

static void start_io(fuse_req_t req, struct fuse_file_info *fi, gboolean read, uint8_t *buf, size_t len)
{
        FfsMount *m = fuse_req_userdata(req);
        FuseIo *x = g_new0(FuseIo, 1);
        ssize_t r;

        x->m = m;
        x->io.complete = io_done;
        x->io.token = req;
        x->io.file = (unsigned) fi->fh;
        x->io.read = read;
        x->io.nonblock = (fi->flags & O_NONBLOCK) != 0;
        x->io.buf = buf;
        x->io.len = len;
        g_rec_mutex_lock(m->lock);
        r = ffs_io(m->ffs, &x->io);
        if (r == -EINPROGRESS)
                fuse_req_interrupt_func(req, on_interrupt, m);
        g_rec_mutex_unlock(m->lock);
        if (r != -EINPROGRESS)
                reply_io(x, r);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
        start_io(req, fi, TRUE, g_malloc(MAX(size, 1)), size);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
        start_io(req, fi, FALSE, g_memdup2(buf, size), size);
}

static void op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct fuse_pollhandle *ph)
{
        FfsMount *m = fuse_req_userdata(req);
        unsigned mask;

        g_rec_mutex_lock(m->lock);
        mask = ffs_poll(m->ffs, (unsigned) fi->fh);
        if (ph && fi->fh == 0)
                g_ptr_array_add(m->pollers, ph);
        else if (ph)
                fuse_pollhandle_destroy(ph);
        g_rec_mutex_unlock(m->lock);
        fuse_reply_poll(req, mask);
}

static const struct fuse_lowlevel_ops ops = {
        .init = op_init,
        .lookup = op_lookup,
        .getattr = op_getattr,
        .readdir = op_readdir,
        .open = op_open,
        .release = op_release,
        .flush = op_flush,
        .read = op_read,
        .write = op_write,
        .poll = op_poll,
};

void ffs_mount_wake(FfsMount *m)
{
        for (guint i = 0; i < m->pollers->len; i++) {
                fuse_lowlevel_notify_poll(m->pollers->pdata[i]);
                fuse_pollhandle_destroy(m->pollers->pdata[i]);
        }
        g_ptr_array_set_size(m->pollers, 0);
}

static gpointer serve(gpointer data)
{
        FfsMount *m = data;
        struct fuse_buf buf = { 0 };
        gboolean listening = m->listener >= 0;

        for (;;) {
                struct pollfd p[3] = {
                        { fuse_session_fd(m->se), POLLIN, 0 },
                        { m->stop_fd, POLLIN, 0 },
                        { m->listener, POLLIN, 0 },
                };
                int r;

                if (poll(p, listening ? 3 : 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (p[1].revents)
                        break;
                if (listening && (p[2].revents & POLLIN))
                        ffs_zero_handle(m->listener, m->dir, m->ffs, m->lock);
                else if (listening && p[2].revents)
                        listening = FALSE; /* the process is gone; the fd stays open for late answers */
                if (!p[0].revents)
                        continue;
                r = fuse_session_receive_buf(m->se, &buf);
                if (r == -EINTR || r == -EAGAIN)
                        continue;
                if (r <= 0)
                        break; /* unmounted */
                fuse_session_process_buf(m->se, &buf);
        }
        free(buf.mem);
        return NULL;
}

FfsMount *ffs_mount_new(Ffs *f, GRecMutex *lock, const char *dir, GError **error)
{
        /* auto_unmount: fusermount3 unmounts it even if vdock is killed */
        char *argv[] = { (char *) "vdock", (char *) "-o", (char *) "fsname=vdock,subtype=functionfs,auto_unmount", NULL };
        struct fuse_args args = FUSE_ARGS_INIT(3, argv);
        FfsMount *m = g_new0(FfsMount, 1);

        m->ffs = f;
        m->lock = lock;
        m->dir = g_strdup(dir);
        m->listener = -1;
        m->stop_fd = eventfd(0, EFD_CLOEXEC);
        m->pollers = g_ptr_array_new();
        m->se = fuse_session_new(&args, &ops, sizeof ops, m);
        fuse_opt_free_args(&args);
        if (m->stop_fd < 0 || !m->se || fuse_session_mount(m->se, dir) != 0) {
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot mount FUSE on %s (/dev/fuse, root or fusermount3)",
                            dir);
                if (m->se)
                        fuse_session_destroy(m->se);
                m->se = NULL;
                ffs_mount_free(m);
                return NULL;
        }
        return m;
}

void ffs_mount_start(FfsMount *m, int listener)
{
        m->listener = listener;
        m->thread = g_thread_new("vdock-ffs", serve, m);
}

void ffs_mount_stop(FfsMount *m)
{
        uint64_t one = 1;

        if (!m || !m->thread)
                return;
        if (write(m->stop_fd, &one, sizeof one) < 0)
                g_warning("ffs mount: cannot stop its thread: %s", g_strerror(errno));
        g_thread_join(m->thread);
        m->thread = NULL;
}

void ffs_mount_free(FfsMount *m)
{
        if (!m)
                return;
        ffs_mount_stop(m);
        for (guint i = 0; i < m->pollers->len; i++)
                fuse_pollhandle_destroy(m->pollers->pdata[i]);
        g_ptr_array_unref(m->pollers);
        if (m->se) {
                fuse_session_unmount(m->se);
                fuse_session_destroy(m->se);
        }
        if (m->listener >= 0)
                close(m->listener);
        if (m->stop_fd >= 0)
                close(m->stop_fd);
        g_free(m->dir);
        g_free(m);
}
