/* ffs-private.h: the Ffs model's state, shared by ffs.c (files, ep0,
 * events), ffs-descriptors.c (what the function writes first) and
 * ffs-usb.c (the host's side). */
#pragma once
#include "ffs.h"

enum { MAX_ENDPOINTS = 15, MAX_EVENTS = 4, EVENT_SIZE = 12, SPEEDS = 3 };

typedef enum { READ_DESCRIPTORS, READ_STRINGS, ACTIVE } State;
typedef enum { NO_SETUP, SETUP_PENDING, SETUP_CANCELLED } SetupState;

typedef struct {
        uint8_t address;
        uint16_t mps;      /* of the descriptors the host sees */
        gboolean halted;
        gboolean late;     /* nothing waited on it when the bus went: the function's next I/O ends ESHUTDOWN */
        GQueue ios;        /* FfsIo*: the function's reads or writes, in order */
} Endpoint;

/* The host's control transfer handed to the function (a SETUP event). */
typedef struct {
        gboolean active, answered;
        uint8_t setup[8];
        uint8_t *data;     /* wLength bytes: the host's (OUT) or the function's answer (IN) */
        int result;
} Control;

struct Ffs {
        FfsHooks hooks;
        gpointer user_data;
        State state;
        unsigned opened;
        uint32_t flags;          /* FUNCTIONFS_* of the descriptors */
        GBytes *descs[SPEEDS];   /* full, high, super speed; NULL if absent */
        unsigned interfaces, n_eps, strings_needed;
        GPtrArray *strings;      /* char*: the first language's */
        Endpoint ep[MAX_ENDPOINTS + 1]; /* 1-based, as the files */
        uint8_t events[MAX_EVENTS];
        unsigned n_events;
        uint8_t event_setup[8];  /* of the SETUP event, wIndex as the function numbers it */
        SetupState setup_state;
        GQueue readers;          /* FfsIo*: event reads waiting on ep0 */
        gboolean enabled;
        gboolean enable_after_disable;
        unsigned binds;
        Control ctrl;
        void (*kick)(gpointer data);  /* the host's side: something new (usbdev.h set_kick) */
        gpointer kick_data;
};

static inline uint32_t le32(const uint8_t *p)
{
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static inline uint16_t le16(const uint8_t *p)
{
        return (uint16_t) (p[0] | p[1] << 8);
}

void ffs_end_io(FfsIo *io, ssize_t result);
void ffs_fail_queue(GQueue *q, ssize_t err);
void ffs_clear_control(Ffs *f);
/* __ffs_event_add(): queue an event, merged as the kernel does; wakes readers. */
void ffs_event_add(Ffs *f, uint8_t type);
/* __ffs_data_got_descs() / __ffs_data_got_strings(): 0 or a negative errno. */
int ffs_got_descriptors(Ffs *f, const uint8_t *p, size_t len);
int ffs_got_strings(Ffs *f, const uint8_t *p, size_t len);
/* Pending endpoint I/O ends with ESHUTDOWN, halts clear. */
void ffs_disable_endpoints(Ffs *f);
/* The host gave up on its control request. */
void ffs_cancel_control(Ffs *f);
