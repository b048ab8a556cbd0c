/* SPDX-License-Identifier: Apache-2.0 */
/* model.h: what powercutfs knows about each inode: the live state (a backing
 * inode under BACKING/tree, which every read and write goes to) and the durable
 * state (what a power cut leaves: the data as of the inode's last fsync, kept in
 * BACKING/shadow/<id>, and for a directory its entries as of its last fsync).
 * The difference between the two is the pending set; model_cut() drops it by
 * rebuilding the live tree from the durable state. README.md states the rules. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

typedef enum Durability {
        DURABILITY_STRICT,   /* nothing beyond what the application synced */
        DURABILITY_JOURNAL,  /* ext4-like: every fsync commits all namespace changes */
} Durability;

typedef struct Range {
        uint64_t start, end;
} Range;

typedef struct DevIno {
        dev_t dev;
        ino_t ino;
} DevIno;

typedef struct Inode Inode;
struct Inode {
        DevIno key;                  /* of the live backing inode */
        uint64_t id;                 /* names the shadow file; never reused */
        mode_t type;                 /* S_IFMT bits */
        int fd;                      /* O_PATH on the live backing inode; held, so its number is not reused */
        uint64_t nlookup;            /* the kernel's references (current mount) */
        unsigned nopen;              /* open handles (current mount) */

        /* durable state */
        unsigned durable_refs;       /* durable directory entries naming it (root: 1) */
        bool has_shadow;             /* shadow/<id> holds its durable data (else: empty) */
        bool attr_synced;
        mode_t durable_mode;
        GHashTable *durable_entries; /* directories: name → Inode*; NULL: none */
        char *symlink;               /* symbolic links: the target (fixed at creation) */

        /* pending: live minus durable */
        GArray *dirty;               /* Range, sorted and disjoint: bytes written since the last sync */
        uint64_t trunc_min;          /* smallest size truncated to since the last sync; UINT64_MAX: none */
        bool attr_dirty;
        bool entries_dirty;

        int new_fd;                  /* during a cut: the rebuilt inode */
        bool queued;                 /* in Model.release_queue */
};

typedef struct Handle {
        Inode *inode;
        int fd;                      /* files: an open backing fd */
        int sync_flags;              /* files: O_DSYNC, O_SYNC as the application opened it */
        void *dir;                   /* directories: DIR* */
        off_t dir_offset;
} Handle;

typedef struct ModelStats {
        uint64_t ops;                /* mutating and syncing requests served */
        uint64_t syncs;              /* fsync, fdatasync, fsyncdir */
        uint64_t cuts;
        uint64_t anomalies;          /* durable states no real file system shows (see README) */
        uint64_t dropped_bytes;      /* pending data bytes dropped by cuts */
        uint64_t dropped_dirs;       /* directories whose pending entries cuts dropped */
} ModelStats;

typedef struct Model {
        char *tree_path;             /* BACKING/tree: the live tree */
        int backing_fd;
        int shadow_fd;               /* BACKING/shadow */
        Durability durability;
        GHashTable *inodes;          /* (dev, ino) → Inode* */
        GHashTable *handles;         /* Handle* set */
        GPtrArray *release_queue;    /* inodes that may have lost their last reference */
        Inode *root;
        uint64_t next_id;
        uint64_t tree_generation;
        ModelStats stats;
} Model;

int model_new(const char *backing, Durability durability, Model **ret);
void model_free(Model *m);

/* The inode at dirfd/name (O_PATH, no symlink following): known, or adopted as
 * an inode whose whole content is pending. Takes no kernel reference. */
int model_inode_at(Model *m, int dirfd, const char *name, Inode **ret, struct stat *ret_st);
/* A backing inode just created by a request: a new inode with nothing durable. */
int model_inode_created(Model *m, int dirfd, const char *name, const char *symlink, Inode **ret,
                        struct stat *ret_st);
int model_stat(Inode *i, struct stat *ret);
/* Frees the inode when nothing refers to it any more (kernel, handles, durable
 * entries, live links). */
void model_release(Model *m, Inode *i);

void model_note_write(Inode *i, uint64_t offset, uint64_t size);
void model_note_truncate(Inode *i, uint64_t size);
void model_note_attr(Inode *i);
void model_note_entries(Inode *dir);

/* fsync(2) of a file or directory; datasync: fdatasync(2). */
int model_fsync(Model *m, Inode *i, bool datasync);
/* Everything becomes durable (as after sync(2) on a file system that honours it). */
int model_sync_all(Model *m);

Handle *model_handle_new(Model *m, Inode *i, int fd, void *dir);
void model_handle_free(Model *m, Handle *h);

/* Power cut: the live tree becomes the durable tree; every handle is closed and
 * every kernel reference forgotten (the mount is gone). */
int model_cut(Model *m);

/* The durable tree, one line of JSON: path → "dir", "symlink", or the SHA-256
 * of the file's durable data. For tests of the model itself. */
char *model_durable_json(Model *m);

/* One line of JSON. */
char *model_stats_json(Model *m, const char *state, uint64_t deferred);
