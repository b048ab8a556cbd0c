/* SPDX-License-Identifier: Apache-2.0 */
/* The uploader's slots: never more data requests than [storage] concurrency,
 * evidentiary before ordinary, cameras in turn, and the parts of one large
 * object sharing slots with other cameras' work instead of crowding it out.
 * A fake backend records what it is told and finishes puts on command. */
#include <assert.h>

#include "backend.h"
#include "dockd-config.h"
#include "uploader.h"

#define MAX_PUTS 64

struct BackendPut {
        char key[64];
        backend_put_done_t cb;
        void *userdata;
        backend_want_slots_t want_slots;
        backend_release_slot_t release_slot;
        unsigned slots;         /* held: 1 + extras */
        unsigned want;          /* extras it asks for */
        bool done;
};

static BackendPut fakes[MAX_PUTS];
static unsigned n_puts;
static char order[1024];        /* "start:KEY grant:KEY ..." */
static bool fake_parts;         /* puts ask for extra slots */
static unsigned fake_want = 3;

static unsigned slots_in_use(void) {
        unsigned n = 0;
        for (unsigned i = 0; i < n_puts; i++)
                if (!fakes[i].done)
                        n += fakes[i].slots;
        return n;
}

static void note(const char *what, const char *key) {
        size_t l = strlen(order);
        snprintf(order + l, sizeof order - l, "%s%s:%s", l ? " " : "", what, key);
}

static int fake_put(Backend *b, const BackendObject *o, backend_put_done_t cb, void *userdata, BackendPut **ret) {
        BackendPut *p = &fakes[n_puts++];

        assert(n_puts <= MAX_PUTS);
        *p = (BackendPut) { .cb = cb, .userdata = userdata, .want_slots = o->want_slots,
                            .release_slot = o->release_slot, .slots = 1 };
        snprintf(p->key, sizeof p->key, "%s", o->key);
        note("start", o->key);
        if (fake_parts && o->want_slots) {
                p->want = fake_want;
                o->want_slots(p, p->want, userdata);
        }
        *ret = p;
        return 0;
}

static void fake_grant(BackendPut *p) {
        assert(!p->done);
        assert(p->want > 0);
        p->want--;
        p->slots++;
        note("grant", p->key);
}

static void fake_cancel(BackendPut *p) {
        p->done = true;
}

static uint64_t fake_progress(BackendPut *p) {
        return 0;
}

static void fake_free(Backend *b) {
}

static BackendOps fake_ops = {
        .name = "fake",
        .put = fake_put,
        .cancel = fake_cancel,
        .progress = fake_progress,
        .free = fake_free,
        .grant_slot = fake_grant,
};

static void run(sd_event *e, DockdConfig *c) {
        /* Let the uploader's defer sources run until nothing is pending. */
        for (int i = 0; i < 100; i++) {
                assert(sd_event_run(e, 0) >= 0);
                assert(slots_in_use() <= c->storage_concurrency);
        }
}

static BackendPut *find(const char *key) {
        for (unsigned i = 0; i < n_puts; i++)
                if (!fakes[i].done && streq(fakes[i].key, key))
                        return &fakes[i];
        return NULL;
}

static void finish(const char *key) {
        BackendPut *p = find(key);

        assert(p);
        p->done = true;
        p->cb(p, 0, NULL, p->userdata);
}

/* A part ended: the put gives its extra slot back and asks again. */
static void part_done(const char *key) {
        BackendPut *p = find(key);

        assert(p && p->slots > 1);
        p->slots--;
        p->release_slot(p, p->userdata);
        p->want++;
        p->want_slots(p, p->want, p->userdata);
}

static void job_done(UploadJob *j, int error, const char *message, void *userdata) {
        assert(error == 0);
}

static void add(Uploader *u, const char *key, const char *group, int priority) {
        UploadJobSpec spec = { .name = key, .group = group, .priority = priority, .done = job_done, .n_objects = 1 };

        spec.objects[0] = (UploadObjectSpec) { .key = key, .path = "/dev/null", .size = 1 };
        assert(uploader_add(u, &spec, NULL) == 0);
}

static void reset(void) {
        n_puts = 0;
        order[0] = 0;
}

static Uploader *setup(sd_event *e, DockdConfig *c, Backend *b, unsigned concurrency, bool parts) {
        Uploader *u;

        reset();
        c->storage_concurrency = concurrency;
        fake_parts = parts;
        fake_ops.grant_slot = parts ? fake_grant : NULL;
        assert(uploader_new(e, c, b, &u) == 0);
        return u;
}

/* One object at a time per slot, the way the file backend runs: evidentiary
 * first, then cameras in turn, oldest first within a camera. */
static void test_priority_and_turns(sd_event *e, DockdConfig *c, Backend *b) {
        Uploader *u = setup(e, c, b, 2, false);

        add(u, "a1", "A", UPLOAD_PRIORITY_NORMAL);
        add(u, "a2", "A", UPLOAD_PRIORITY_NORMAL);
        add(u, "b1", "B", UPLOAD_PRIORITY_NORMAL);
        add(u, "e1", "E", UPLOAD_PRIORITY_EVIDENTIARY);
        run(e, c);
        assert(streq(order, "start:e1 start:a1"));
        finish("e1");
        run(e, c);
        finish("a1");
        run(e, c);
        finish("b1");
        run(e, c);
        assert(streq(order, "start:e1 start:a1 start:b1 start:a2"));
        finish("a2");
        run(e, c);
        uploader_free(u);
}

/* A large object's parts take the free slots, and give them back part by part
 * to another camera's work when there is some. */
static void test_parts_share_slots(sd_event *e, DockdConfig *c, Backend *b) {
        Uploader *u = setup(e, c, b, 4, true);
        BackendPut *big;

        fake_want = 10;
        add(u, "big", "A", UPLOAD_PRIORITY_NORMAL);
        run(e, c);
        big = find("big");
        assert(big->slots == 4);                       /* alone: all four slots */
        assert(streq(order, "start:big grant:big grant:big grant:big"));

        fake_want = 0;
        add(u, "b1", "B", UPLOAD_PRIORITY_NORMAL);
        add(u, "b2", "B", UPLOAD_PRIORITY_NORMAL);
        run(e, c);
        assert(slots_in_use() == 4);                   /* nothing free until a part ends */
        part_done("big");
        run(e, c);
        assert(find("b1") && big->slots == 3);         /* camera B's turn */
        part_done("big");
        run(e, c);
        assert(!find("b2") && big->slots == 3);        /* then camera A's again */
        finish("b1");
        run(e, c);
        assert(find("b2") && big->slots == 3);         /* B's next, in turn */
        assert(slots_in_use() == 4);

        /* An evidentiary job waits for no one's parts. */
        add(u, "ev", "C", UPLOAD_PRIORITY_EVIDENTIARY);
        part_done("big");
        run(e, c);
        assert(find("ev"));
        finish("ev");
        finish("b2");
        run(e, c);
        assert(big->slots == 4);                       /* alone again: everything */
        finish("big");
        run(e, c);
        assert(slots_in_use() == 0);
        uploader_free(u);
}

int main(void) {
        _cleanup_(config_freep) DockdConfig *c = config_new();
        Backend backend = { .ops = &fake_ops, .config = c };
        sd_event *e = NULL;

        assert(c);
        assert(sd_event_new(&e) >= 0);
        backend.event = e;
        test_priority_and_turns(e, c, &backend);
        test_parts_share_slots(e, c, &backend);
        sd_event_unref(e);
        printf("ok\n");
        return 0;
}
