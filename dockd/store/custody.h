/* SPDX-License-Identifier: Apache-2.0 */
/* custody.h: the chain-of-custody log. Append-only JSON lines, one record per
 * event, each carrying the SHA-256 of the previous record and an ECDSA P-256
 * signature by the dock's own key; durable (fsync) before custody_log_append()
 * returns. Sealed files are immutable and go to central storage. */
#pragma once

#include "log.h"
#include "macro.h"

typedef struct CustodyLog CustodyLog;

/* Event names (the "event" member of a record). */
#define CUSTODY_LOG_STARTED "log-started"
#define CUSTODY_DOCKED "docked"
#define CUSTODY_IDENTIFIED "identified"
#define CUSTODY_UNTRUSTED "untrusted"
#define CUSTODY_CLOCK "clock-drift"
#define CUSTODY_CLOCK_NOT_SET "clock-not-set"
#define CUSTODY_PULLED "pulled"
#define CUSTODY_VERIFIED "verified"
#define CUSTODY_SEALED_BY_DOCK "sealed-by-dock"   /* a camera that does not sign: the dock sealed what it pulled */
#define CUSTODY_QUARANTINED "quarantined"
#define CUSTODY_UPLOADED "uploaded"
#define CUSTODY_CONFIRMED "confirmed"
#define CUSTODY_DELETED "deleted-from-camera"
#define CUSTODY_DELETE_REFUSED "delete-refused"
#define CUSTODY_UNDOCKED "undocked"
#define CUSTODY_PULL_ABANDONED "pull-abandoned"

/* Open (creating if needed) the log in dir. The dock key at key_path is created
 * (EC P-256, mode 0600, atomically) when absent; its public key is written to
 * dir/dock-key.pub.pem. A torn last line (power loss mid-append: never
 * acknowledged) is cut off; then 1 is returned instead of 0 (and a warning
 * logged). Appends a log-started record. -EBUSY if another process has it open. */
int custody_log_open(const char *dir, const char *key_path, const char *dock_name, CustodyLog **ret);
CustodyLog *custody_log_free(CustodyLog *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(CustodyLog *, custody_log_free);

/* Append one record and fsync it. bay, camera, segment may be NULL; fields is
 * terminated by a NULL key and may be NULL. */
int custody_log_append(CustodyLog *l, const char *event, const char *bay, const char *camera,
                       const char *segment, const LogField *fields);

/* custody_log_append() for the daemon's own events: a failure is logged
 * (CUSTODY_FAILURE, critical), remembered (custody_log_failing(): the dock's LED
 * turns red) and returned: without the record, nothing that depends on it may
 * happen. */
int custody_log_record(CustodyLog *l, const char *event, const char *bay, const char *camera,
                       const char *segment, const LogField *fields);
bool custody_log_failing(CustodyLog *l);
/* Is there a record of event about camera's segment in the log files still on
 * this dock (current and sealed)? 1 yes, 0 no, < 0 unreadable. */
int custody_log_find(CustodyLog *l, const char *event, const char *camera, const char *segment);

/* Close the current file as a sealed, immutable file (dir/sealed/NAME) if it has
 * records, and start a new one that continues the chain. Returns the sealed
 * file's path (caller frees) or NULL in *ret_path if there was nothing to seal.
 * Readers never find current.jsonl missing, nor a record in neither file. */
int custody_log_seal(CustodyLog *l, char **ret_path);
/* Also seal right after an append that leaves the current file at size bytes or
 * more (0, the default: only when custody_log_seal() is called). */
void custody_log_set_seal_size(CustodyLog *l, uint64_t size);

/* Sealed files not yet marked uploaded, oldest first (NULL-terminated). */
int custody_log_list_sealed(CustodyLog *l, char ***ret_paths);
int custody_log_mark_uploaded(CustodyLog *l, const char *sealed_path);

const char *custody_log_public_key_path(CustodyLog *l);
/* The dock's certificate for its key (protocol §12.6), PEM: the trust anchor
 * that manifests the dock sealed verify against. */
const char *custody_log_certificate_path(CustodyLog *l);
/* Seal a manifest for a camera that does not sign: a detached CMS signature
 * (DER) with the dock's key, carrying its certificate (seal_sign()). */
int custody_log_seal_sign(CustodyLog *l, const uint8_t *manifest, size_t size, uint8_t **ret, size_t *ret_size);
uint64_t custody_log_next_seq(CustodyLog *l);
/* When this process last sealed a file (CLOCK_REALTIME), 0 if it has not. */
usec_t custody_log_last_seal(CustodyLog *l);

/* Called after each record is durable (the custody tally counts them). */
typedef void (*custody_observer_t)(uint64_t seq, const char *event, const char *camera, const char *segment,
                                   const LogField *fields, void *userdata);
void custody_log_set_observer(CustodyLog *l, custody_observer_t cb, void *userdata);

/* Verify files in order (sealed files, then current): each line parses, seq
 * increases by one, prev matches, signature verifies with the public key (PEM
 * file; NULL: the key named in the first record, which only proves internal
 * consistency). Prints a summary or the first failure to out. */
int custody_verify_files(char *const *paths, size_t n, const char *public_key_path, FILE *out);
/* Verify the log kept in dir (sealed/ files, then current.jsonl), as it is at one
 * moment, while dockd may be appending to it and sealing it: current.jsonl is opened
 * first and the files sealed after that are left out; its unfinished last line, if
 * any (a record being written), is not checked. Same output as above. */
int custody_verify_dir(const char *dir, const char *public_key_path, FILE *out);
