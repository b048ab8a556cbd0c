/* SPDX-License-Identifier: Apache-2.0 */
/* custody-files.h: the custody log's directory and what the writer
 * (custody-writer.c) and the sealing (custody-seal.c) share: the CustodyLog
 * object, the directory held locked against a second writer, the current file
 * (dir/current.jsonl, appended) and the sealed ones (dir/sealed/NAME.jsonl,
 * immutable), and the recovery at open that finds the head of the chain in
 * whichever holds the newest record. */
#pragma once

#include "custody-record.h"
#include "custody.h"

#define CUSTODY_CURRENT "current.jsonl"
/* the next current file while a seal makes it; never holds records */
#define CUSTODY_CURRENT_NEW "current.jsonl.new"
#define CUSTODY_SEALED "sealed"
#define CUSTODY_PUBLIC_KEY "dock-key.pub.pem"
#define CUSTODY_CERTIFICATE "dock-cert.pem"
#define CUSTODY_UPLOADED_SUFFIX ".uploaded"

struct CustodyLog {
        char *dir;
        char *dock;
        char *current_path;
        char *sealed_dir;
        char *public_key_path;
        int dir_fd;                  /* holds the flock against a second writer */
        int sealed_fd;
        int fd;                      /* current file, O_APPEND */
        EVP_PKEY *key;
        X509 *certificate;           /* the key's self-signed certificate (custody-dock-cert.c) */
        char *certificate_path;
        char *public_key_pem;
        char key_sha256[65];

        uint64_t next_seq;
        char prev[65];               /* SHA-256 of the last record's line */
        uint64_t current_first_seq;  /* valid when current_size > 0 */
        off_t current_size;
        uint64_t seal_size;          /* seal once the current file holds this much; 0: never by size */
        int broken;                  /* negative errno: state on disk unknown, reopen */
        bool failing;                /* custody_log_record() could not write a record */
        usec_t last_seal;            /* CLOCK_REALTIME; 0: none since open */
        custody_observer_t observer;
        void *observer_userdata;
};

/* Load dir/dock-cert.pem, or make it when it does not certify l->key for l->dock. */
int custody_dock_certificate_setup(CustodyLog *l);
/* Open path and take its lock: -EBUSY if another process holds it. */
int custody_dir_open_locked(const char *path, int *ret_fd);
/* Open the current file, creating it (durably) when there is none. */
int custody_current_open(CustodyLog *l);
/* At open: find the chain's head (next_seq, prev) in the current file or the
 * newest sealed one, cutting off a torn last record (reported in *ret_torn bytes,
 * kept in the file named *ret_torn_file). -EBADMSG for damage a crash cannot
 * leave. */
int custody_chain_recover(CustodyLog *l, size_t *ret_torn, char **ret_torn_file);
/* An empty current file in place of the one l->fd has (which the caller keeps or
 * closes): made durable under a temporary name, then renamed over current.jsonl, so
 * that the name opens a whole file at every moment. */
int custody_current_replace(CustodyLog *l);
/* The seq of the first record of the file fd (size bytes). */
int custody_file_first_seq(int fd, off_t size, uint64_t *ret_seq);

typedef struct SealedEntry {
        uint64_t first;
        char *path;
} SealedEntry;

typedef struct SealedList {
        SealedEntry *entries;
        size_t n, allocated;
} SealedList;

void custody_sealed_list_done(SealedList *s);
/* The sealed files in sealed_dir (without those marked uploaded if skip_uploaded),
 * sorted by their first seq. */
int custody_sealed_list_read(const char *sealed_dir, bool skip_uploaded, SealedList *s);
