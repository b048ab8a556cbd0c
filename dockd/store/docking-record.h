/* SPDX-License-Identifier: Apache-2.0 */
/* docking-record.h: what must survive a dockd restart about a bay's docking:
 * which camera it holds, since when, its report and the finding codes that
 * report already holds, so that a restarted dockd resumes the docking instead
 * of reporting it anew. <state_dir>/bays/bay-<N>.json, written atomically,
 * removed when the camera leaves. */
#pragma once

#include <time.h>

#include "macro.h"

typedef struct DockingRecord {
        char *serial;
        time_t docked_at;          /* -1: not recorded */
        char report_id[37];        /* "" if none */
        char **reported;           /* finding codes reported, NULL-terminated; may be NULL */
} DockingRecord;

void docking_record_done(DockingRecord *r);

int docking_record_save(const char *state_dir, unsigned bay, const DockingRecord *r);
/* -ENOENT when there is none; -EBADMSG when it is not a record. */
int docking_record_load(const char *state_dir, unsigned bay, DockingRecord *ret);
int docking_record_remove(const char *state_dir, unsigned bay);
