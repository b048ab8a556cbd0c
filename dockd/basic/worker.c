/* SPDX-License-Identifier: Apache-2.0 */
/* worker.c: see worker.h. Finished jobs are handed back through an eventfd. */
#include <pthread.h>
#include <sys/eventfd.h>

#include "log.h"
#include "worker.h"

struct WorkerJob {
        worker_fn_t fn;
        worker_done_t done;
        void *userdata;
        int result;
        volatile bool cancelled;
        WorkerJob *next;
};

struct WorkerPool {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        pthread_t *threads;
        unsigned n_threads;
        bool stopping;
        WorkerJob *queue_head, *queue_tail;    /* waiting to run */
        WorkerJob *done_head, *done_tail;      /* finished, for the loop */
        WorkerJob **running;                   /* per thread */
        int efd;
        sd_event_source *source;
};

static void list_push(WorkerJob **head, WorkerJob **tail, WorkerJob *j) {
        j->next = NULL;
        if (*tail)
                (*tail)->next = j;
        else
                *head = j;
        *tail = j;
}

static WorkerJob *list_pop(WorkerJob **head, WorkerJob **tail) {
        WorkerJob *j = *head;

        if (j) {
                *head = j->next;
                if (!*head)
                        *tail = NULL;
        }
        return j;
}

typedef struct ThreadArg {
        WorkerPool *pool;
        unsigned index;
} ThreadArg;

static void *worker_main(void *arg) {
        ThreadArg *ta = arg;
        WorkerPool *p = ta->pool;
        unsigned idx = ta->index;
        uint64_t one = 1;

        free(ta);
        pthread_mutex_lock(&p->lock);
        for (;;) {
                WorkerJob *j;

                while (!p->stopping && !p->queue_head)
                        pthread_cond_wait(&p->cond, &p->lock);
                if (p->stopping)
                        break;
                j = list_pop(&p->queue_head, &p->queue_tail);
                p->running[idx] = j;
                pthread_mutex_unlock(&p->lock);

                j->result = j->cancelled ? -ECANCELED : j->fn(j->userdata, &j->cancelled);

                pthread_mutex_lock(&p->lock);
                p->running[idx] = NULL;
                list_push(&p->done_head, &p->done_tail, j);
                (void) !write(p->efd, &one, sizeof one);
        }
        pthread_mutex_unlock(&p->lock);
        return NULL;
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        WorkerPool *p = userdata;
        uint64_t n;

        (void) !read(p->efd, &n, sizeof n);
        for (;;) {
                WorkerJob *j;

                pthread_mutex_lock(&p->lock);
                j = list_pop(&p->done_head, &p->done_tail);
                pthread_mutex_unlock(&p->lock);
                if (!j)
                        break;
                if (j->done)
                        j->done(j->cancelled ? -ECANCELED : j->result, j->userdata);
                free(j);
        }
        return 0;
}

int worker_pool_set_priority(WorkerPool *p, int64_t priority) {
        return sd_event_source_set_priority(p->source, priority);
}

int worker_pool_new(sd_event *event, unsigned n_threads, WorkerPool **ret) {
        WorkerPool *p;
        int r;

        p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        pthread_mutex_init(&p->lock, NULL);
        pthread_cond_init(&p->cond, NULL);
        p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        p->threads = calloc(n_threads, sizeof *p->threads);
        p->running = calloc(n_threads, sizeof *p->running);
        if (p->efd < 0 || !p->threads || !p->running) {
                r = p->efd < 0 ? -errno : -ENOMEM;
                worker_pool_free(p);
                return r;
        }
        r = sd_event_add_io(event, &p->source, p->efd, EPOLLIN, on_done, p);
        if (r < 0) {
                worker_pool_free(p);
                return r;
        }
        for (unsigned i = 0; i < n_threads; i++) {
                ThreadArg *ta = malloc(sizeof *ta);
                if (!ta) {
                        worker_pool_free(p);
                        return -ENOMEM;
                }
                *ta = (ThreadArg) { p, i };
                r = -pthread_create(&p->threads[i], NULL, worker_main, ta);
                if (r < 0) {
                        free(ta);
                        worker_pool_free(p);
                        return r;
                }
                p->n_threads++;
        }
        *ret = p;
        return 0;
}

WorkerPool *worker_pool_free(WorkerPool *p) {
        WorkerJob *j;

        if (!p)
                return NULL;
        pthread_mutex_lock(&p->lock);
        p->stopping = true;
        for (unsigned i = 0; i < p->n_threads; i++)
                if (p->running[i])
                        p->running[i]->cancelled = true;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        for (unsigned i = 0; i < p->n_threads; i++)
                pthread_join(p->threads[i], NULL);
        /* done() releases what each job holds; its owner cancelled it first. */
        while ((j = list_pop(&p->queue_head, &p->queue_tail)) || (j = list_pop(&p->done_head, &p->done_tail))) {
                if (j->done)
                        j->done(-ECANCELED, j->userdata);
                free(j);
        }
        sd_event_source_disable_unref(p->source);
        safe_close(p->efd);
        pthread_mutex_destroy(&p->lock);
        pthread_cond_destroy(&p->cond);
        free(p->threads);
        free(p->running);
        free(p);
        return NULL;
}

int worker_pool_submit(WorkerPool *p, worker_fn_t fn, worker_done_t done, void *userdata, WorkerJob **ret) {
        WorkerJob *j = calloc(1, sizeof *j);

        if (!j)
                return -ENOMEM;
        j->fn = fn;
        j->done = done;
        j->userdata = userdata;
        pthread_mutex_lock(&p->lock);
        list_push(&p->queue_head, &p->queue_tail, j);
        pthread_cond_signal(&p->cond);
        pthread_mutex_unlock(&p->lock);
        if (ret)
                *ret = j;
        return 0;
}

void worker_job_cancel(WorkerPool *p, WorkerJob *j) {
        if (!j)
                return;
        pthread_mutex_lock(&p->lock);
        j->cancelled = true;
        pthread_mutex_unlock(&p->lock);
}
