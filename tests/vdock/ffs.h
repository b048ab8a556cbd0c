/* ffs.h: FunctionFS, the gadget side of a USB function whose driver runs in
 * user space (Linux drivers/usb/gadget/function/f_fs.c), as a model: ep0
 * takes the descriptors and strings, then carries events (BIND, ENABLE,
 * DISABLE, SETUP) and control data; ep1..N are the endpoints, numbered in
 * the order of their descriptors. Files are served by ffs-mount.c; the host
 * reaches the function through ffs_usb_ops (usbdev.h). Every call needs the
 * caller's lock (the world lock). */
#pragma once
#include <glib.h>
#include <stdint.h>
#include <sys/types.h>

#include "usbdev.h"

typedef struct Ffs Ffs;
typedef struct FfsIo FfsIo;

/* A read or write on one of the files. */
struct FfsIo {
        /* Called once when an io that returned -EINPROGRESS ends (lock held):
         * bytes done, or a negative errno; a read's bytes are in buf. It owns
         * the io from then on. */
        void (*complete)(FfsIo *io, ssize_t result);
        gpointer token;  /* the caller's request, for ffs_interrupt() */
        unsigned file;   /* 0: ep0, N: epN */
        gboolean read;
        gboolean nonblock;
        uint8_t *buf;    /* read: room for len bytes; write: len bytes */
        size_t len, pos;
};

typedef struct {
        /* The descriptors and strings are in: the gadget binds (and may go on the bus). */
        void (*bound)(Ffs *f, gpointer user_data);
        /* Every file was closed: the function is gone (and its gadget off the bus). */
        void (*unbound)(Ffs *f, gpointer user_data);
        /* ep0's poll mask may have changed. */
        void (*wake)(Ffs *f, gpointer user_data);
} FfsHooks;

Ffs *ffs_new(const FfsHooks *hooks, gpointer user_data);
void ffs_free(Ffs *f);

/* ---- the files ---- */
/* Endpoint files that exist now (0 until the strings are written). */
unsigned ffs_endpoints(Ffs *f);
int ffs_open(Ffs *f, unsigned file);
void ffs_release(Ffs *f, unsigned file);
/* Bytes done now, a negative errno, or -EINPROGRESS: the io is ffs's until
 * io->complete. Before that the caller owns it. */
ssize_t ffs_io(Ffs *f, FfsIo *io);
/* The caller of the io with this token got a signal: it ends with -EINTR. */
void ffs_interrupt(Ffs *f, gpointer token);
/* POLLIN/POLLOUT/POLLWRNORM as f_fs.c's ep0 poll (the endpoint files have none). */
unsigned ffs_poll(Ffs *f, unsigned file);

/* ---- the host's side ---- */
gboolean ffs_is_bound(Ffs *f);
/* How many times it became bound: a new count is a new gadget to enumerate. */
unsigned ffs_binds(Ffs *f);
/* The function's descriptors at high speed (full speed if it has none), with
 * string indexes moved by string_base (the gadget's own strings come first). */
GBytes *ffs_function_descriptors(Ffs *f, unsigned string_base);
/* String i (1-based) of the function's first language, or NULL. */
const char *ffs_string(Ffs *f, unsigned index);
unsigned ffs_strings(Ffs *f);
/* The host configured the gadget (ENABLE; after a DISABLE the function has
 * not read, once it has), or it left the bus (DISABLE: the endpoints' I/O
 * ends with -ESHUTDOWN, and so does the next on an endpoint nothing waited on). */
void ffs_connect(Ffs *f);
void ffs_disconnect(Ffs *f);

extern const UsbFunctionOps ffs_usb_ops;
