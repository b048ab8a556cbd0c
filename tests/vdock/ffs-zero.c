/* ffs-zero.c: zero-length I/O through seccomp user notification (ffs-zero.h).
 * The filter costs nothing for other syscalls: it notifies only read(2) and
 * write(2) whose count is 0. */
#define G_LOG_DOMAIN "vdock-ffs"
#include "ffs-zero.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define FILTER_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define FILTER_ARCH AUDIT_ARCH_AARCH64
#else
#error "ffs-zero.c: add this architecture's AUDIT_ARCH"
#endif

#define ARG_COUNT_LO (offsetof(struct seccomp_data, args) + 2 * sizeof(__u64))

typedef struct {
        FfsIo io;
        int listener;
        __u64 id;
} ZeroIo;

void ffs_zero_child_setup(gpointer user_data)
{
        struct sock_filter code[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FILTER_ARCH, 1, 0),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_read, 1, 0),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_write, 0, 5),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_COUNT_LO),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3),
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_COUNT_LO + 4),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { G_N_ELEMENTS(code), code };
        int sock = GPOINTER_TO_INT(user_data), listener;
        char byte = 0, control[CMSG_SPACE(sizeof(int))] = { 0 };
        struct iovec iov = { &byte, 1 };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                _exit(126);
        listener = (int) syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
        if (listener < 0)
                _exit(126);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &listener, sizeof listener);
        if (sendmsg(sock, &msg, MSG_NOSIGNAL) != 1)
                _exit(126);
        close(listener);
        close(sock);
}

int ffs_zero_receive(int sock)
{
        char byte, control[CMSG_SPACE(sizeof(int))];
        struct iovec iov = { &byte, 1 };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
        struct cmsghdr *cm;
        int fd;

        if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
                return -EPROTO;
        cm = CMSG_FIRSTHDR(&msg);
        if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int)))
                return -EPROTO;
        memcpy(&fd, CMSG_DATA(cm), sizeof fd);
        return fd;
}

static void respond(int listener, __u64 id, ssize_t result, gboolean carry_on)
{
        struct seccomp_notif_resp resp = { .id = id };

        if (carry_on)
                resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        else if (result < 0)
                resp.error = (__s32) result;
        else
                resp.val = result;
        /* ENOENT: the caller was interrupted or died meanwhile */
        (void) ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

static void zero_done(FfsIo *io, ssize_t result)
{
        ZeroIo *z = (ZeroIo *) io;

        respond(z->listener, z->id, result, FALSE);
        g_free(z);
}

/* "DIR/epN" → N, or -1 for any other file. */
static int file_number(const char *target, const char *dir)
{
        size_t n = strlen(dir);
        char *end = NULL;
        unsigned long v;

        if (strncmp(target, dir, n) != 0 || strncmp(target + n, "/ep", 3) != 0 || !g_ascii_isdigit(target[n + 3]))
                return -1;
        v = strtoul(target + n + 3, &end, 10);
        return *end || v > 15 ? -1 : (int) v;
}

void ffs_zero_handle(int listener, const char *dir, Ffs *f, GRecMutex *lock)
{
        struct seccomp_notif notif = { 0 };
        char link[64], target[4096];
        ssize_t n, r;
        int file;
        ZeroIo *z;

        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &notif) < 0)
                return;
        snprintf(link, sizeof link, "/proc/%u/fd/%llu", notif.pid, (unsigned long long) notif.data.args[0]);
        n = readlink(link, target, sizeof target - 1);
        target[MAX(n, 0)] = 0;
        /* The target is still that process, so the link was its. */
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &notif.id) < 0)
                return;
        file = n > 0 ? file_number(target, dir) : -1;
        if (file < 0) {
                respond(listener, notif.id, 0, TRUE);
                return;
        }
        g_debug("zero-length %s on ep%d", notif.data.nr == __NR_read ? "read" : "write", file);
        z = g_new0(ZeroIo, 1);
        z->io.complete = zero_done;
        z->io.token = z;
        z->io.file = (unsigned) file;
        z->io.read = notif.data.nr == __NR_read;
        z->listener = listener;
        z->id = notif.id;
        g_rec_mutex_lock(lock);
        r = ffs_io(f, &z->io);
        g_rec_mutex_unlock(lock);
        if (r != -EINPROGRESS)
                zero_done(&z->io, r);
}
