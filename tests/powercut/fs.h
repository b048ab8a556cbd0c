/* SPDX-License-Identifier: Apache-2.0 */
/* fs.h: the state shared by the FUSE request handlers (ops.c) and the control
 * socket (powercutfs.c). One lock serialises every request and command. */
#pragma once

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <pthread.h>

#include "model.h"

typedef enum FsState {
        FS_SERVING,
        FS_FROZEN,   /* power is failing: requests are held, never answered until the cut */
        FS_CUT,      /* power is off: every request fails until the next mount */
} FsState;

typedef struct Fs {
        pthread_mutex_t lock;
        Model *model;
        FsState state;
        unsigned generation;     /* of the current mount; older mounts' requests fail */
        uint64_t freeze_at;      /* freeze when model->stats.ops reaches this; 0: never */
        GPtrArray *deferred;     /* fuse_req_t held while frozen */
        int control_fd;
} Fs;

/* Each mount's session data. */
typedef struct Mount {
        Fs *fs;
        unsigned generation;
        struct fuse_session *session;
        pthread_t thread;
} Mount;

extern const struct fuse_lowlevel_ops powercut_ops;

const char *fs_state_to_string(FsState s);
