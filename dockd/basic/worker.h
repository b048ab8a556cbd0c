/* SPDX-License-Identifier: Apache-2.0 */
/* worker.h: a small pool of threads for blocking, fsync-heavy work (the file
 * backend's copy + fsync + read-back), so that the event loop never waits on a
 * disk. Jobs run in a worker; their completion runs on the loop. */
#pragma once

#include <systemd/sd-event.h>

#include "macro.h"

typedef struct WorkerPool WorkerPool;
typedef struct WorkerJob WorkerJob;

typedef int (*worker_fn_t)(void *userdata, volatile bool *cancelled);   /* in a worker thread */
typedef void (*worker_done_t)(int result, void *userdata);              /* on the event loop */

int worker_pool_new(sd_event *event, unsigned n_threads, WorkerPool **ret);
/* The priority of the source that runs the jobs' done() on the loop. */
int worker_pool_set_priority(WorkerPool *p, int64_t priority);
/* Waits for running jobs to finish; every job not yet reported gets done(-ECANCELED). */
WorkerPool *worker_pool_free(WorkerPool *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(WorkerPool *, worker_pool_free);

int worker_pool_submit(WorkerPool *p, worker_fn_t fn, worker_done_t done, void *userdata, WorkerJob **ret);
/* Ask a job to stop (its fn sees *cancelled); its done() still runs, with
 * -ECANCELED, so that it can release what it holds. */
void worker_job_cancel(WorkerPool *p, WorkerJob *j);
