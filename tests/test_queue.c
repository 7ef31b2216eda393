/* Queues, events, semaphores: FIFO order, waits while empty / full, fair
 * hand-off among waiters, timeouts and cancellations that lose and duplicate
 * nothing, unbounded queues that grow, misuse; events that wake every
 * waiter; counting semaphores and a mutex. All in virtual time. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Unbounded queues need a heap. The tests are hosted, so the library has
 * one unless the build says MT_NO_HEAP=1 (then unbounded queues are refused
 * with MT_ENOTSUP). Read before the header gives its default. */
#if defined(MT_NO_HEAP)
#if MT_NO_HEAP
#define TEST_NO_HEAP 1
#endif
#endif
#ifndef TEST_NO_HEAP
#define TEST_NO_HEAP 0
#endif

#include "util.h"

/* ---- Shared log and task frames ------------------------------------------ */

/* What the tasks of a test did, in order: who (id) and what (value). */
enum { LOGN = 4096 };
static int log_id[LOGN];
static int log_val[LOGN];
static int nlog;

static void note(int id, int val)
{
    assert_true(nlog < LOGN);
    log_id[nlog] = id;
    log_val[nlog++] = val;
}

static void check_log(const int *ids, const int *vals, int n)
{
    int i;
    assert_int_equal(nlog, n);
    for (i = 0; i < n; i++) {
        assert_int_equal(log_id[i], ids[i]);
        if (vals)
            assert_int_equal(log_val[i], vals[i]);
    }
}

/* One frame for every queue, event and semaphore waiter of these tests. */
struct qtask {
    mt_task task;
    mt_sched *s;
    mt_queue *q;
    mt_event *e;
    mt_sem *sem;
    long timeout;
    int id;
    int item;  /* put: the item; get: where it lands */
    int item2; /* the second get of getter_twice */
    int err;   /* the caught result of the wait */
    int done;  /* reached the line after the wait */
    mt_time at;
};

/* A fresh scheduler (start_sched) and an empty log. */
static void setup(mt_sched *s, struct fake_clock *c, struct reports *rep,
                  mt_time start)
{
    start_sched(s, c, start, rep);
    nlog = 0;
}

static void add_task(mt_sched *s, struct qtask *f, mt_fn fn, int id, int item,
                     long timeout)
{
    memset(f, 0, sizeof *f);
    f->s = s;
    f->id = id;
    f->item = item;
    f->item2 = -1;
    f->timeout = timeout;
    f->err = 12345; /* "never set" */
    assert_int_equal(mt_sched_add(s, &f->task, fn), 0);
}

static void add_q(mt_sched *s, struct qtask *f, mt_fn fn, mt_queue *q, int id,
                  int item, long timeout)
{
    add_task(s, f, fn, id, item, timeout);
    f->q = q;
}

/* Get one item (errors caught), log (id, item). */
static int getter(mt_task *t)
{
    struct qtask *f = (struct qtask *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_QUEUE_GET(t, f->q, &f->item, f->timeout));
    f->err = mt_err(t);
    f->at = mt_sched_now(f->s);
    f->done = 1;
    note(f->id, f->err ? f->err : f->item);
    MT_END(t);
}

/* Get one item, errors raised (the task fails or is cancelled). */
static int getter_strict(mt_task *t)
{
    struct qtask *f = (struct qtask *)t;
    MT_BEGIN(t);
    MT_QUEUE_GET(t, f->q, &f->item, f->timeout);
    f->done = 1;
    note(f->id, f->item);
    MT_END(t);
}

/* Get an item, log it, then get a second one. */
static int getter_twice(mt_task *t)
{
    struct qtask *f = (struct qtask *)t;
    MT_BEGIN(t);
    MT_QUEUE_GET(t, f->q, &f->item, f->timeout);
    f->done = 1;
    note(f->id, f->item);
    MT_QUEUE_GET(t, f->q, &f->item2, f->timeout);
    note(f->id, f->item2);
    MT_END(t);
}

/* Put f->item (errors caught), log (id, item). */
static int putter(mt_task *t)
{
    struct qtask *f = (struct qtask *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_QUEUE_PUT(t, f->q, &f->item, f->timeout));
    f->err = mt_err(t);
    f->at = mt_sched_now(f->s);
    f->done = 1;
    note(f->id, f->err ? f->err : f->item);
    MT_END(t);
}

/* Put f->item, then put item2, errors raised. */
static int putter_twice(mt_task *t)
{
    struct qtask *f = (struct qtask *)t;
    MT_BEGIN(t);
    MT_QUEUE_PUT(t, f->q, &f->item, f->timeout);
    f->done = 1;
    note(f->id, f->item);
    MT_QUEUE_PUT(t, f->q, &f->item2, f->timeout);
    note(f->id, f->item2);
    MT_END(t);
}

static int event_waiter(mt_task *t)
{
    struct qtask *f = (struct qtask *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_EVENT_WAIT(t, f->e, f->timeout));
    f->err = mt_err(t);
    f->at = mt_sched_now(f->s);
    f->done = 1;
    note(f->id, f->err);
    MT_END(t);
}

/* Take a unit (errors caught) and keep it. */
static int sem_waiter(mt_task *t)
{
    struct qtask *f = (struct qtask *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_SEM_WAIT(t, f->sem, f->timeout));
    f->err = mt_err(t);
    f->at = mt_sched_now(f->s);
    f->done = 1;
    note(f->id, f->err);
    MT_END(t);
}

static void drain_expect(mt_queue *q, const int *want, int n)
{
    int i, v;
    for (i = 0; i < n; i++) {
        v = -999;
        assert_int_equal(mt_queue_try_get(q, &v), 0);
        assert_int_equal(v, want[i]);
    }
    v = -999;
    assert_int_equal(mt_queue_try_get(q, &v), MT_EAGAIN);
    assert_int_equal(v, -999);
    assert_int_equal(mt_queue_len(q), 0);
    assert_int_equal(mt_queue_empty(q), 1);
}

/* ---- Items come out in FIFO order, from plain code and from tasks ------- */

static void test_fifo_plain(void **state)
{
    mt_queue q;
    int buf[4];
    static const int init[] = {10, 20};
    int v;
    (void)state;

    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 4, init, 2), 0);
    assert_int_equal(mt_queue_len(&q), 2);
    assert_int_equal(mt_queue_empty(&q), 0);
    assert_int_equal(mt_queue_full(&q), 0);
    v = 30;
    assert_int_equal(mt_queue_try_put(&q, &v), 0);
    assert_int_equal(mt_queue_len(&q), 3);
    assert_int_equal(mt_queue_full(&q), 0);
    v = 40;
    assert_int_equal(mt_queue_try_put(&q, &v), 0);
    assert_int_equal(mt_queue_len(&q), 4);
    assert_int_equal(mt_queue_full(&q), 1);
    v = 50;
    assert_int_equal(mt_queue_try_put(&q, &v), MT_EAGAIN);
    assert_int_equal(mt_queue_len(&q), 4);
    /* The initial contents come out first. */
    assert_int_equal(mt_queue_try_get(&q, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(mt_queue_len(&q), 3);
    assert_int_equal(mt_queue_full(&q), 0);
    v = 50; /* wraps around the ring */
    assert_int_equal(mt_queue_try_put(&q, &v), 0);
    assert_int_equal(mt_queue_full(&q), 1);
    assert_int_equal(mt_queue_try_get(&q, &v), 0);
    assert_int_equal(v, 20);
    assert_int_equal(mt_queue_len(&q), 3);
    assert_int_equal(mt_queue_try_get(&q, &v), 0);
    assert_int_equal(v, 30);
    assert_int_equal(mt_queue_len(&q), 2);
    assert_int_equal(mt_queue_try_get(&q, &v), 0);
    assert_int_equal(v, 40);
    assert_int_equal(mt_queue_len(&q), 1);
    assert_int_equal(mt_queue_empty(&q), 0);
    assert_int_equal(mt_queue_try_get(&q, &v), 0);
    assert_int_equal(v, 50);
    assert_int_equal(mt_queue_len(&q), 0);
    assert_int_equal(mt_queue_empty(&q), 1);
    assert_int_equal(mt_queue_full(&q), 0);
    v = -1;
    assert_int_equal(mt_queue_try_get(&q, &v), MT_EAGAIN);
    assert_int_equal(v, -1); /* untouched */
    /* Freeing a bounded queue leaves the caller's storage alone. */
    assert_int_equal(mt_queue_free(&q), 0);
}

/* Items of an odd size are copied whole, in FIFO order. */
struct rec {
    char name[5];
    unsigned char n;
};

static void test_fifo_struct_items(void **state)
{
    mt_queue q;
    struct rec buf[3], in, out;
    static const struct rec init[] = {{"ab", 1}, {"cdef", 2}};
    (void)state;

    assert_int_equal(mt_queue_init(&q, buf, sizeof(struct rec), 3, init, 2), 0);
    memset(&in, 0, sizeof in);
    memcpy(in.name, "xyz", 4);
    in.n = 3;
    assert_int_equal(mt_queue_try_put(&q, &in), 0);
    memset(&in, 0x55, sizeof in); /* the queue holds a copy */
    assert_int_equal(mt_queue_try_get(&q, &out), 0);
    assert_string_equal(out.name, "ab");
    assert_int_equal(out.n, 1);
    assert_int_equal(mt_queue_try_get(&q, &out), 0);
    assert_string_equal(out.name, "cdef");
    assert_int_equal(out.n, 2);
    assert_int_equal(mt_queue_try_get(&q, &out), 0);
    assert_string_equal(out.name, "xyz");
    assert_int_equal(out.n, 3);
    assert_int_equal(mt_queue_try_get(&q, &out), MT_EAGAIN);
}

/* A task's gets and puts that need no wait complete inside one run. */
struct fifo_frame {
    mt_task task;
    mt_queue *q;
    int i;
    int item;
    int got[8];
    size_t len[8];
};

static int fifo_task(mt_task *t)
{
    struct fifo_frame *f = (struct fifo_frame *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < 3; f->i++) {
        f->item = 100 + f->i;
        MT_QUEUE_PUT(t, f->q, &f->item, MT_FOREVER);
    }
    for (f->i = 0; f->i < 5; f->i++) {
        MT_QUEUE_GET(t, f->q, &f->item, 0);
        f->got[f->i] = f->item;
        f->len[f->i] = mt_queue_len(f->q);
    }
    MT_END(t);
}

static void test_fifo_task(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[5];
    static const int init[] = {1, 2};
    static const int want[] = {1, 2, 100, 101, 102};
    struct fifo_frame f;
    int i;
    (void)state;

    setup(&s, &c, &rep, 0);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 5, init, 2), 0);
    memset(&f, 0, sizeof f);
    f.q = &q;
    assert_int_equal(mt_sched_add(&s, &f.task, fifo_task), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&f.task), MT_DONE); /* never waited */
    for (i = 0; i < 5; i++) {
        assert_int_equal(f.got[i], want[i]);
        assert_int_equal(f.len[i], (size_t)(4 - i));
    }
    assert_int_equal(mt_queue_empty(&q), 1);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* ---- A get waits while the queue is empty, a put while it is full ------- */

static void test_get_woken_by_task_put(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[2];
    struct qtask g, p;
    static const int ids[] = {2, 1};
    static const int vals[] = {7, 7};
    (void)state;

    setup(&s, &c, &rep, 0);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 2, NULL, 0), 0);
    add_q(&s, &g, getter, &q, 1, -1, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&g.task), MT_WAITING);
    assert_int_equal(g.done, 0);
    add_q(&s, &p, putter, &q, 2, 7, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(mt_state(&g.task), MT_RUNNABLE); /* woken */
    assert_int_equal(mt_queue_len(&q), 0);            /* promised to g */
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(g.err, 0);
    assert_int_equal(g.item, 7);
    check_log(ids, vals, 2);
    assert_int_equal(mt_queue_len(&q), 0);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

static void test_get_woken_by_try_put(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[2], v;
    struct qtask g;
    (void)state;

    setup(&s, &c, &rep, 0);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 2, NULL, 0), 0);
    add_q(&s, &g, getter, &q, 1, -1, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&g.task), MT_WAITING);
    /* Nothing runs while it waits: no busy loop. */
    assert_int_equal(mt_sched_run_once(&s, 0), 0);
    assert_int_equal(mt_sched_has_runnable(&s), 0);
    v = 42;
    assert_int_equal(mt_queue_try_put(&q, &v), 0);
    assert_int_equal(mt_state(&g.task), MT_RUNNABLE);
    assert_int_equal(mt_sched_has_runnable(&s), 1);
    assert_int_equal(mt_queue_len(&q), 0);
    assert_int_equal(mt_queue_empty(&q), 1);
    assert_int_equal(g.done, 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(g.done, 1);
    assert_int_equal(g.err, 0);
    assert_int_equal(g.item, 42);
    assert_int_equal(mt_state(&g.task), MT_DONE);
    assert_int_equal(mt_queue_len(&q), 0);
    assert_int_equal(mt_queue_try_get(&q, &v), MT_EAGAIN);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

static void test_put_woken_by_task_get(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[2];
    static const int init[] = {1, 2};
    static const int want[] = {2, 3};
    struct qtask p, g;
    (void)state;

    setup(&s, &c, &rep, 0);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 2, init, 2), 0);
    add_q(&s, &p, putter, &q, 1, 3, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&p.task), MT_WAITING);
    assert_int_equal(mt_queue_len(&q), 2);
    add_q(&s, &g, getter, &q, 2, -1, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(g.item, 1);
    assert_int_equal(mt_state(&p.task), MT_RUNNABLE);
    assert_int_equal(mt_queue_len(&q), 1);
    assert_int_equal(mt_queue_full(&q), 1); /* the free slot is p's */
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(p.err, 0);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(mt_queue_len(&q), 2);
    drain_expect(&q, want, 2);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

static void test_put_woken_by_try_get(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[2], v;
    static const int init[] = {1, 2};
    static const int want[] = {2, 3};
    struct qtask p;
    (void)state;

    setup(&s, &c, &rep, 0);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 2, init, 2), 0);
    add_q(&s, &p, putter, &q, 1, 3, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&p.task), MT_WAITING);
    assert_int_equal(mt_sched_run_once(&s, 0), 0);
    assert_int_equal(mt_queue_try_get(&q, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(mt_state(&p.task), MT_RUNNABLE);
    assert_int_equal(mt_queue_len(&q), 1);
    assert_int_equal(mt_queue_full(&q), 1);
    v = 99; /* a newcomer cannot take the slot promised to p */
    assert_int_equal(mt_queue_try_put(&q, &v), MT_EAGAIN);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(p.done, 1);
    assert_int_equal(p.err, 0);
    assert_int_equal(mt_queue_full(&q), 1);
    drain_expect(&q, want, 2);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* ---- Waiters are served in order; an item handed off is not stolen ------ */

static void test_getters_served_in_order(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[8], v, i;
    struct qtask g[5];
    static const int ids[] = {0, 1, 2, 3, 4};
    static const int vals[] = {100, 101, 102, 103, 104};
    (void)state;

    setup(&s, &c, &rep, 0);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 8, NULL, 0), 0);
    for (i = 0; i < 5; i++)
        add_q(&s, &g[i], getter, &q, i, -1, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 5);
    for (i = 0; i < 5; i++)
        assert_int_equal(mt_state(&g[i].task), MT_WAITING);
    /* Two items: A and B are woken, not C. */
    for (v = 100; v < 102; v++)
        assert_int_equal(mt_queue_try_put(&q, &v), 0);
    assert_int_equal(mt_state(&g[0].task), MT_RUNNABLE);
    assert_int_equal(mt_state(&g[1].task), MT_RUNNABLE);
    assert_int_equal(mt_state(&g[2].task), MT_WAITING);
    assert_int_equal(mt_queue_len(&q), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    for (v = 102; v < 105; v++)
        assert_int_equal(mt_queue_try_put(&q, &v), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 3);
    check_log(ids, vals, 5);
    for (i = 0; i < 5; i++) {
        assert_int_equal(g[i].err, 0);
        assert_int_equal(g[i].item, 100 + i);
    }
    assert_int_equal(mt_queue_len(&q), 0);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* Takes `n` items, logging each under id 99. */
struct consumer {
    mt_task task;
    mt_queue *q;
    int n, i;
    int item;
};

static int consumer(mt_task *t)
{
    struct consumer *f = (struct consumer *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < f->n; f->i++) {
        MT_QUEUE_GET(t, f->q, &f->item, MT_FOREVER);
        note(99, f->item);
    }
    MT_END(t);
}

static void test_putters_served_in_order(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[2], i;
    static const int init[] = {1, 2};
    struct qtask p[5];
    struct consumer k;
    static const int want[] = {1, 2, 10, 11, 12, 13, 14};
    (void)state;

    setup(&s, &c, &rep, 0);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 2, init, 2), 0);
    for (i = 0; i < 5; i++)
        add_q(&s, &p[i], putter, &q, i, 10 + i, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 5);
    for (i = 0; i < 5; i++)
        assert_int_equal(mt_state(&p[i].task), MT_WAITING);
    assert_int_equal(nlog, 0);
    memset(&k, 0, sizeof k);
    k.q = &q;
    k.n = 7;
    assert_int_equal(mt_sched_add(&s, &k.task, consumer), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    /* The consumer saw every item once, in order; the putters finished in
     * the order they parked. */
    {
        int got[7], n = 0, order[5], m = 0;
        for (i = 0; i < nlog; i++) {
            if (log_id[i] == 99)
                got[n++] = log_val[i];
            else
                order[m++] = log_id[i];
        }
        assert_int_equal(n, 7);
        assert_int_equal(m, 5);
        for (i = 0; i < 7; i++)
            assert_int_equal(got[i], want[i]);
        for (i = 0; i < 5; i++)
            assert_int_equal(order[i], i);
    }
    for (i = 0; i < 5; i++)
        assert_int_equal(p[i].err, 0);
    assert_int_equal(mt_queue_len(&q), 0);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* A newcomer that runs before the woken getter does not steal its item. */
static void test_getter_handoff_no_steal(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[2], v;
    struct qtask a, n;
    static const int ids[] = {0, 1};
    static const int vals[] = {5, 6};
    (void)state;

    setup(&s, &c, &rep, 0);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 2, NULL, 0), 0);
    add_q(&s, &a, getter, &q, 0, -1, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&a.task), MT_WAITING);
    /* The newcomer is queued to run before a is woken. */
    add_q(&s, &n, getter, &q, 1, -1, MT_FOREVER);
    v = 5;
    assert_int_equal(mt_queue_try_put(&q, &v), 0);
    assert_int_equal(mt_state(&a.task), MT_RUNNABLE);
    /* Plain code cannot steal it either. */
    v = -1;
    assert_int_equal(mt_queue_try_get(&q, &v), MT_EAGAIN);
    assert_int_equal(v, -1);
    assert_int_equal(mt_queue_len(&q), 0);
    assert_int_equal(mt_queue_empty(&q), 1);
    assert_int_equal(mt_sched_run_once(&s, 0), 2); /* n first, then a */
    assert_int_equal(mt_state(&n.task), MT_WAITING);
    assert_int_equal(a.item, 5);
    assert_int_equal(mt_state(&a.task), MT_DONE);
    v = 6;
    assert_int_equal(mt_queue_try_put(&q, &v), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(n.item, 6);
    check_log(ids, vals, 2);
    assert_int_equal(mt_queue_len(&q), 0);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* Plain code taking from a queue whose oldest items are promised to woken
 * getters gets the first free one; the promised ones stay, in order, for
 * their getters (the ring wraps meanwhile). */
static void test_try_get_skips_promised(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[3], v, i;
    struct qtask a, b;
    static const int ids[] = {0, 1};
    static const int vals[] = {11, 12};
    (void)state;

    setup(&s, &c, &rep, 0);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 3, NULL, 0), 0);
    for (i = 0; i < 2; i++) { /* move the ring's head to slot 2 */
        v = i;
        assert_int_equal(mt_queue_try_put(&q, &v), 0);
        assert_int_equal(mt_queue_try_get(&q, &v), 0);
    }
    add_q(&s, &a, getter, &q, 0, -1, MT_FOREVER);
    add_q(&s, &b, getter, &q, 1, -1, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    for (v = 11; v <= 13; v++)
        assert_int_equal(mt_queue_try_put(&q, &v), 0);
    assert_int_equal(mt_queue_len(&q), 1); /* 11 and 12 are promised */
    assert_int_equal(mt_queue_full(&q), 1);
    v = -1;
    assert_int_equal(mt_queue_try_get(&q, &v), 0);
    assert_int_equal(v, 13);
    assert_int_equal(mt_queue_try_get(&q, &v), MT_EAGAIN);
    assert_int_equal(mt_sched_run(&s), 0);
    check_log(ids, vals, 2);
    assert_int_equal(mt_queue_len(&q), 0);
    assert_sched_empty(&s);
}

/* Items of 8 bytes (the copy hosted builds inline), through the ring and
 * through a hand-off to a waiting task, bit for bit. */
struct wide { mt_task task; mt_queue *q; uint64_t got[4]; int n; };

static int wide_getter(mt_task *t)
{
    struct wide *f = (struct wide *)t;
    MT_BEGIN(t);
    for (f->n = 0; f->n < 4; f->n++)
        MT_QUEUE_GET(t, f->q, &f->got[f->n], MT_FOREVER);
    MT_END(t);
}

static void test_eight_byte_items(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    uint64_t buf[2], v;
    static const uint64_t want[] = {0x0123456789abcdefu, 0xfedcba9876543210u,
                                    0x8000000000000001u, 0xffffffffffffffffu};
    static struct wide w;
    int i;
    (void)state;

    setup(&s, &c, &rep, 0);
    assert_int_equal(mt_queue_init(&q, buf, sizeof v, 2, want, 2), 0);
    memset(&w, 0, sizeof w);
    w.q = &q;
    assert_int_equal(mt_sched_add(&s, &w.task, wide_getter), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1); /* takes 2, waits */
    assert_int_equal(mt_queue_try_put(&q, &want[2]), 0); /* handed off */
    assert_int_equal(mt_queue_try_put(&q, &want[3]), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    for (i = 0; i < 4; i++)
        assert_true(w.got[i] == want[i]);
    assert_int_equal(mt_queue_len(&q), 0);
    assert_sched_empty(&s);
}

/* The same for a putter woken on a full queue. */
static void test_putter_handoff_no_steal(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[1], v;
    static const int init[] = {1};
    struct qtask p, n;
    (void)state;

    setup(&s, &c, &rep, 0);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 1, init, 1), 0);
    add_q(&s, &p, putter, &q, 0, 8, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&p.task), MT_WAITING);
    add_q(&s, &n, putter, &q, 1, 9, MT_FOREVER);
    assert_int_equal(mt_queue_try_get(&q, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(mt_state(&p.task), MT_RUNNABLE);
    assert_int_equal(mt_queue_full(&q), 1);
    assert_int_equal(mt_sched_run_once(&s, 0), 2); /* n first, then p */
    assert_int_equal(mt_state(&n.task), MT_WAITING);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(mt_queue_len(&q), 1);
    assert_int_equal(mt_queue_try_get(&q, &v), 0);
    assert_int_equal(v, 8);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&n.task), MT_DONE);
    assert_int_equal(mt_queue_try_get(&q, &v), 0);
    assert_int_equal(v, 9);
    assert_int_equal(mt_queue_len(&q), 0);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* ---- Two tasks take turns through a queue of one ------------------------ */

enum { PINGS = 1000 };

struct producer {
    mt_task task;
    mt_queue *q;
    int i;
    int item;
};

static int producer(mt_task *t)
{
    struct producer *f = (struct producer *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < PINGS; f->i++) {
        f->item = f->i * 3 + 1;
        MT_QUEUE_PUT(t, f->q, &f->item, MT_FOREVER);
        assert_true(mt_queue_len(f->q) <= 1);
    }
    MT_END(t);
}

struct receiver {
    mt_task task;
    mt_queue *q;
    int n;
    int item;
    int got[PINGS];
};

static int receiver(mt_task *t)
{
    struct receiver *f = (struct receiver *)t;
    MT_BEGIN(t);
    for (f->n = 0; f->n < PINGS; f->n++) {
        MT_QUEUE_GET(t, f->q, &f->item, MT_FOREVER);
        f->got[f->n] = f->item;
    }
    MT_END(t);
}

static void test_ping_pong(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[1], i;
    static struct producer p;
    static struct receiver r;
    (void)state;

    setup(&s, &c, &rep, 0);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 1, NULL, 0), 0);
    memset(&p, 0, sizeof p);
    memset(&r, 0, sizeof r);
    p.q = r.q = &q;
    /* Consumer first, then the other way round. */
    assert_int_equal(mt_sched_add(&s, &r.task, receiver), 0);
    assert_int_equal(mt_sched_add(&s, &p.task, producer), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(r.n, PINGS);
    for (i = 0; i < PINGS; i++)
        assert_int_equal(r.got[i], i * 3 + 1);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(mt_state(&r.task), MT_DONE);
    assert_int_equal(mt_queue_len(&q), 0);
    assert_int_equal(c.idles, 0); /* never blocked on the clock */

    memset(&p, 0, sizeof p);
    memset(&r, 0, sizeof r);
    p.q = r.q = &q;
    assert_int_equal(mt_sched_add(&s, &p.task, producer), 0);
    assert_int_equal(mt_sched_add(&s, &r.task, receiver), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    for (i = 0; i < PINGS; i++)
        assert_int_equal(r.got[i], i * 3 + 1);
    assert_int_equal(mt_queue_len(&q), 0);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* ---- A get or put that times out loses and reorders nothing ------------- */

static void test_get_timeout(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[2];
    struct qtask g, strict;
    (void)state;

    setup(&s, &c, &rep, 1000);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 2, NULL, 0), 0);
    add_q(&s, &g, getter, &q, 0, -1, 50);
    add_q(&s, &strict, getter_strict, &q, 1, -1, 70);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    assert_int_equal(mt_sched_has_timeouts(&s), 1);
    assert_int_equal(mt_sched_run(&s), MT_EUNHANDLED);
    assert_int_equal(g.err, MT_ETIMEDOUT);
    assert_int_equal(g.at, (mt_time)1050);
    assert_int_equal(g.item, -1); /* nothing written */
    assert_int_equal(mt_state(&g.task), MT_DONE);
    /* Uncaught, the timeout is raised and reported. */
    assert_int_equal(mt_state(&strict.task), MT_FAILED);
    assert_int_equal(mt_err(&strict.task), MT_ETIMEDOUT);
    assert_int_equal(strict.done, 0);
    assert_int_equal(rep.count, 1);
    assert_ptr_equal(rep.task, &strict.task);
    assert_int_equal(rep.code, MT_ETIMEDOUT);
    assert_int_equal(c.now, (mt_time)1070);
    assert_int_equal(mt_queue_len(&q), 0);
    assert_sched_empty(&s);
}

static void test_put_timeout(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[2];
    static const int init[] = {1, 2};
    struct qtask p;
    (void)state;

    setup(&s, &c, &rep, 1000);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 2, init, 2), 0);
    add_q(&s, &p, putter, &q, 0, 3, 50);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(p.err, MT_ETIMEDOUT);
    assert_int_equal(p.at, (mt_time)1050);
    assert_int_equal(mt_queue_len(&q), 2);
    assert_int_equal(mt_queue_full(&q), 1);
    drain_expect(&q, init, 2); /* 3 never went in */
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* Timeout 0: fail at once if the wait would park, succeed otherwise. */
struct zero_frame {
    mt_task task;
    mt_queue *q;
    mt_sched *s;
    int item;
    int e1, e2, e3, e4;
    int first, got;
    mt_time at;
};

static int zero_task(mt_task *t)
{
    struct zero_frame *f = (struct zero_frame *)t;
    MT_BEGIN(t);
    f->item = -1;
    MT_CATCH(t, MT_QUEUE_GET(t, f->q, &f->item, 0));
    f->e1 = mt_err(t);
    f->first = f->item;
    f->item = 77;
    assert_int_equal(mt_queue_try_put(f->q, &f->item), 0);
    f->item = -1;
    MT_CATCH(t, MT_QUEUE_GET(t, f->q, &f->item, 0));
    f->e2 = mt_err(t);
    assert_int_equal(f->item, 77);
    /* Fill it (capacity 2), then put with timeout 0. */
    f->item = 1;
    MT_QUEUE_PUT(t, f->q, &f->item, 0);
    f->item = 2;
    MT_QUEUE_PUT(t, f->q, &f->item, 0);
    f->item = 3;
    MT_CATCH(t, MT_QUEUE_PUT(t, f->q, &f->item, 0));
    f->e3 = mt_err(t);
    assert_int_equal(mt_queue_len(f->q), 2);
    assert_int_equal(mt_queue_try_get(f->q, &f->got), 0);
    assert_int_equal(f->got, 1);
    MT_CATCH(t, MT_QUEUE_PUT(t, f->q, &f->item, 0));
    f->e4 = mt_err(t);
    f->at = mt_sched_now(f->s);
    MT_END(t);
}

static void test_timeout_zero(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[2];
    static const int want[] = {2, 3};
    struct zero_frame z;
    (void)state;

    setup(&s, &c, &rep, 500);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 2, NULL, 0), 0);
    memset(&z, 0, sizeof z);
    z.q = &q;
    z.s = &s;
    assert_int_equal(mt_sched_add(&s, &z.task, zero_task), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&z.task), MT_DONE); /* all in one run */
    assert_int_equal(z.e1, MT_ETIMEDOUT);
    assert_int_equal(z.first, -1); /* the failed get wrote nothing */
    assert_int_equal(z.got, 1);
    assert_int_equal(z.e2, 0);
    assert_int_equal(z.e3, MT_ETIMEDOUT);
    assert_int_equal(z.e4, 0);
    assert_int_equal(z.at, (mt_time)500);
    assert_int_equal(c.idles, 0);
    drain_expect(&q, want, 2);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* After a getter timed out, a put's item stays for the next getter. */
static void test_timed_out_getter_loses_nothing(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[2], v;
    struct qtask a, b, n;
    (void)state;

    setup(&s, &c, &rep, 1000);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 2, NULL, 0), 0);
    add_q(&s, &a, getter, &q, 0, -1, 50);          /* first in line */
    add_q(&s, &b, getter, &q, 1, -1, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    assert_int_equal(mt_sched_run_once(&s, MT_FOREVER), 1); /* a times out */
    assert_int_equal(a.err, MT_ETIMEDOUT);
    assert_int_equal(a.at, (mt_time)1050);
    assert_int_equal(mt_state(&b.task), MT_WAITING);
    v = 77;
    assert_int_equal(mt_queue_try_put(&q, &v), 0);
    assert_int_equal(mt_state(&b.task), MT_RUNNABLE);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(b.item, 77);
    assert_int_equal(a.item, -1);
    assert_int_equal(mt_queue_len(&q), 0);

    /* With no getter left, the item waits in the queue (len 1). */
    add_q(&s, &a, getter, &q, 2, -1, 50);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(a.err, MT_ETIMEDOUT);
    v = 88;
    assert_int_equal(mt_queue_try_put(&q, &v), 0);
    assert_int_equal(mt_queue_len(&q), 1);
    assert_int_equal(mt_queue_empty(&q), 0);
    add_q(&s, &n, getter, &q, 3, -1, 50);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(n.err, 0);
    assert_int_equal(n.item, 88);
    assert_int_equal(mt_queue_len(&q), 0);
    assert_int_equal(mt_queue_try_get(&q, &v), MT_EAGAIN);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* A timed-out putter leaves the putters behind it in order. */
static void test_timed_out_putter_keeps_order(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[1], v;
    static const int init[] = {1};
    static const int want[] = {2, 4};
    struct qtask p[3];
    (void)state;

    setup(&s, &c, &rep, 1000);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 1, init, 1), 0);
    add_q(&s, &p[0], putter, &q, 0, 2, MT_FOREVER);
    add_q(&s, &p[1], putter, &q, 1, 3, 50);
    add_q(&s, &p[2], putter, &q, 2, 4, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 3);
    assert_int_equal(mt_sched_run_once(&s, MT_FOREVER), 1);
    assert_int_equal(p[1].err, MT_ETIMEDOUT);
    assert_int_equal(p[1].at, (mt_time)1050);
    assert_int_equal(mt_queue_len(&q), 1);
    assert_int_equal(mt_queue_try_get(&q, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&p[0].task), MT_DONE);
    assert_int_equal(mt_state(&p[2].task), MT_WAITING);
    assert_int_equal(mt_queue_try_get(&q, &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&p[2].task), MT_DONE);
    assert_int_equal(mt_queue_len(&q), 1);
    drain_expect(&q, want + 1, 1);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* ---- A cancelled waiter loses nothing; a woken one keeps its item ------- */

static void test_cancel_parked_getter(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[4], v;
    struct qtask a, b, cc, d;
    static const int ids[] = {1, 0, 2};
    static const int vals[] = {MT_ECANCELED, 10, 11};
    (void)state;

    setup(&s, &c, &rep, 0);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 4, NULL, 0), 0);
    add_q(&s, &a, getter, &q, 0, -1, MT_FOREVER);
    add_q(&s, &b, getter, &q, 1, -1, 500);
    add_q(&s, &cc, getter, &q, 2, -1, MT_FOREVER);
    add_q(&s, &d, getter_strict, &q, 3, -1, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 4);
    assert_int_equal(mt_cancel(&b.task), 0);
    assert_int_equal(mt_cancel(&d.task), 0);
    assert_int_equal(mt_state(&b.task), MT_RUNNABLE);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    assert_int_equal(b.err, MT_ECANCELED);
    assert_int_equal(b.item, -1);
    assert_int_equal(mt_state(&b.task), MT_CANCELLED); /* caught it: still cancelled */
    assert_int_equal(mt_state(&d.task), MT_CANCELLED);
    assert_int_equal(d.done, 0);
    assert_int_equal(mt_sched_has_timeouts(&s), 0); /* b's timer is gone */
    assert_int_equal(mt_queue_len(&q), 0);
    v = 10;
    assert_int_equal(mt_queue_try_put(&q, &v), 0);
    v = 11;
    assert_int_equal(mt_queue_try_put(&q, &v), 0);
    v = 12; /* no getter left: it stays */
    assert_int_equal(mt_queue_try_put(&q, &v), 0);
    assert_int_equal(mt_queue_len(&q), 1);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    check_log(ids, vals, 3);
    assert_int_equal(a.item, 10);
    assert_int_equal(cc.item, 11);
    drain_expect(&q, &v, 1);
    assert_int_equal(rep.count, 0); /* cancellations are not reported */
    assert_sched_empty(&s);
}

static void test_cancel_parked_putter(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[2], v;
    static const int init[] = {1, 2};
    static const int want[] = {10, 12};
    struct qtask p[3];
    (void)state;

    setup(&s, &c, &rep, 0);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 2, init, 2), 0);
    add_q(&s, &p[0], putter, &q, 0, 10, MT_FOREVER);
    add_q(&s, &p[1], putter, &q, 1, 11, 300);
    add_q(&s, &p[2], putter, &q, 2, 12, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 3);
    assert_int_equal(mt_cancel(&p[1].task), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(p[1].err, MT_ECANCELED);
    assert_int_equal(mt_sched_has_timeouts(&s), 0);
    assert_int_equal(mt_queue_len(&q), 2);
    assert_int_equal(mt_queue_full(&q), 1);
    assert_int_equal(mt_queue_try_get(&q, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(mt_queue_try_get(&q, &v), 0);
    assert_int_equal(v, 2);
    assert_int_equal(mt_state(&p[0].task), MT_RUNNABLE);
    assert_int_equal(mt_state(&p[2].task), MT_RUNNABLE);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    assert_int_equal(p[0].err, 0);
    assert_int_equal(p[2].err, 0);
    drain_expect(&q, want, 2); /* 11 never went in */
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* Cancelled after a put woke it, before it ran: it keeps the item, and is
 * ended at its next wait. */
static void test_cancel_woken_getter_keeps_item(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[2], v;
    struct qtask a, b;
    static const int ids[] = {0, 1};
    static const int vals[] = {5, 6};
    (void)state;

    setup(&s, &c, &rep, 0);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 2, NULL, 0), 0);
    add_q(&s, &a, getter_twice, &q, 0, -1, MT_FOREVER);
    add_q(&s, &b, getter, &q, 1, -1, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    v = 5;
    assert_int_equal(mt_queue_try_put(&q, &v), 0);
    assert_int_equal(mt_state(&a.task), MT_RUNNABLE);
    assert_int_equal(mt_cancel(&a.task), 0);
    assert_int_equal(mt_queue_len(&q), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(a.done, 1);
    assert_int_equal(a.item, 5);        /* the result stood */
    assert_int_equal(a.item2, -1);      /* the second get never happened */
    assert_int_equal(mt_state(&a.task), MT_CANCELLED);
    assert_int_equal(mt_queue_len(&q), 0); /* not left behind either */
    assert_int_equal(mt_state(&b.task), MT_WAITING);
    v = 6;
    assert_int_equal(mt_queue_try_put(&q, &v), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(b.item, 6);
    check_log(ids, vals, 2);
    assert_int_equal(mt_queue_len(&q), 0);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* Likewise a woken putter: its item goes in. */
static void test_cancel_woken_putter_keeps_put(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[1], v;
    static const int init[] = {1};
    struct qtask p;
    (void)state;

    setup(&s, &c, &rep, 0);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 1, init, 1), 0);
    add_q(&s, &p, putter_twice, &q, 0, 8, MT_FOREVER);
    p.item2 = 9;
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_queue_try_get(&q, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(mt_state(&p.task), MT_RUNNABLE);
    assert_int_equal(mt_cancel(&p.task), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(p.done, 1);
    assert_int_equal(mt_state(&p.task), MT_CANCELLED);
    assert_int_equal(mt_queue_len(&q), 1);
    drain_expect(&q, &p.item, 1); /* 8 in; 9 never */
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* ---- Unbounded queues grow, wrapped or not (refused without a heap) ----- */

enum { MANY = 10000 };

/* Make an unbounded queue of ints. Returns 1 if this build has them; in a
 * build without a heap, checks they are refused and returns 0. */
static int init_unbounded(mt_queue *q, const void *contents, size_t count)
{
    int r = mt_queue_init(q, NULL, sizeof(int), 0, contents, count);
#if TEST_NO_HEAP
    assert_int_equal(r, MT_ENOTSUP);
    return 0;
#else
    assert_int_equal(r, 0);
    return 1;
#endif
}

struct unb_frame {
    mt_task task;
    mt_queue *q;
    int i;
    int item;
    int next;   /* the next value a get must return */
    int bad;    /* gets that returned the wrong value */
    size_t maxlen;
};

/* Put 0..MANY-1, taking one item back after every third put: the ring's
 * head moves, so the queue grows while wrapped. */
static int unb_producer(mt_task *t)
{
    struct unb_frame *f = (struct unb_frame *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < MANY; f->i++) {
        f->item = f->i;
        MT_QUEUE_PUT(t, f->q, &f->item, 0); /* 0: would fail if it waited */
        assert_int_equal(mt_queue_full(f->q), 0);
        if (mt_queue_len(f->q) > f->maxlen)
            f->maxlen = mt_queue_len(f->q);
        if (f->i % 3 == 2) {
            MT_QUEUE_GET(t, f->q, &f->item, 0);
            if (f->item != f->next)
                f->bad++;
            f->next++;
        }
    }
    MT_END(t);
}

static int unb_consumer(mt_task *t)
{
    struct unb_frame *f = (struct unb_frame *)t;
    MT_BEGIN(t);
    while (f->next < MANY) {
        MT_QUEUE_GET(t, f->q, &f->item, 0);
        if (f->item != f->next)
            f->bad++;
        f->next++;
    }
    MT_END(t);
}

static void test_unbounded(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    struct unb_frame p, k;
    struct qtask g;
    int v;
    (void)state;

    setup(&s, &c, &rep, 0);
    if (!init_unbounded(&q, NULL, 0)) {
        assert_sched_empty(&s);
        return;
    }
    assert_int_equal(mt_queue_len(&q), 0);
    assert_int_equal(mt_queue_empty(&q), 1);
    assert_int_equal(mt_queue_full(&q), 0);
    memset(&p, 0, sizeof p);
    p.q = &q;
    assert_int_equal(mt_sched_add(&s, &p.task, unb_producer), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&p.task), MT_DONE); /* never waited */
    assert_int_equal(p.bad, 0);
    assert_int_equal(p.next, MANY / 3);
    assert_int_equal(mt_queue_len(&q), (size_t)(MANY - MANY / 3));
    assert_int_equal(p.maxlen, (size_t)(MANY - MANY / 3));
    assert_int_equal(mt_queue_full(&q), 0);
    memset(&k, 0, sizeof k);
    k.q = &q;
    k.next = p.next;
    assert_int_equal(mt_sched_add(&s, &k.task, unb_consumer), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&k.task), MT_DONE);
    assert_int_equal(k.bad, 0);
    assert_int_equal(k.next, MANY);
    assert_int_equal(mt_queue_len(&q), 0);
    assert_int_equal(mt_queue_try_get(&q, &v), MT_EAGAIN);

    /* Busy while a getter waits on it. */
    add_q(&s, &g, getter, &q, 0, -1, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&g.task), MT_WAITING);
    assert_int_equal(mt_queue_free(&q), MT_EBUSY);
    v = 31;
    assert_int_equal(mt_queue_try_put(&q, &v), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(g.item, 31);
    assert_int_equal(mt_queue_free(&q), 0); /* asan/valgrind: no leak */
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* A getter that a put has woken but that has not run yet still waits on
 * the queue: its item is held for it, so freeing must be refused (else the
 * item is lost and the getter reads freed storage when it resumes). */
static void test_unbounded_free_busy_with_woken_getter(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    struct qtask g;
    int v;
    (void)state;

    setup(&s, &c, &rep, 0);
    if (!init_unbounded(&q, NULL, 0)) {
        assert_sched_empty(&s);
        return;
    }
    add_q(&s, &g, getter, &q, 0, -1, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    v = 5;
    assert_int_equal(mt_queue_try_put(&q, &v), 0);
    assert_int_equal(mt_state(&g.task), MT_RUNNABLE); /* woken, item held */
    assert_int_equal(mt_queue_free(&q), MT_EBUSY);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(g.err, 0);
    assert_int_equal(g.item, 5);
    assert_int_equal(mt_queue_free(&q), 0);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* Plain-code growth with a wrapped ring, then initial contents that need
 * growing; freed while still holding items. */
static void test_unbounded_plain(void **state)
{
    mt_queue q;
    int i, v, in = 0, out = 0;
    static int init[100];
    (void)state;

    for (i = 0; i < 100; i++)
        init[i] = 1000 + i;
    if (!init_unbounded(&q, init, 100))
        return; /* with contents too */
    assert_int_equal(mt_queue_free(&q), 0);
    assert_int_equal(init_unbounded(&q, NULL, 0), 1);
    for (i = 0; i < 5; i++, in++)
        assert_int_equal(mt_queue_try_put(&q, &in), 0);
    for (i = 0; i < 3; i++, out++) {
        assert_int_equal(mt_queue_try_get(&q, &v), 0);
        assert_int_equal(v, out);
    }
    /* head is 3 now; grow several times, a get every 4th put. */
    while (in < MANY) {
        assert_int_equal(mt_queue_try_put(&q, &in), 0);
        in++;
        if (in % 4 == 0) {
            assert_int_equal(mt_queue_try_get(&q, &v), 0);
            assert_int_equal(v, out);
            out++;
        }
        assert_int_equal(mt_queue_len(&q), (size_t)(in - out));
        assert_int_equal(mt_queue_full(&q), 0);
    }
    while (out < MANY) {
        assert_int_equal(mt_queue_try_get(&q, &v), 0);
        assert_int_equal(v, out);
        out++;
    }
    assert_int_equal(mt_queue_try_get(&q, &v), MT_EAGAIN);
    assert_int_equal(mt_queue_free(&q), 0);

    assert_int_equal(init_unbounded(&q, init, 100), 1);
    assert_int_equal(mt_queue_len(&q), 100);
    for (i = 0; i < 60; i++) {
        assert_int_equal(mt_queue_try_get(&q, &v), 0);
        assert_int_equal(v, 1000 + i);
    }
    assert_int_equal(mt_queue_len(&q), 40);
    assert_int_equal(mt_queue_free(&q), 0); /* items still in: freed too */
    assert_int_equal(mt_queue_len(&q), 0);
}

/* ---- Invalid queue arguments: MT_EINVAL, and nothing changes ------------ */

static void test_queue_init_invalid(void **state)
{
    mt_queue q;
    int buf[4], v = 1;
    static const int init[] = {1, 2, 3};
    (void)state;

    assert_int_equal(mt_queue_init(NULL, buf, sizeof(int), 4, NULL, 0),
                     MT_EINVAL);
    assert_int_equal(mt_queue_init(&q, buf, 0, 4, NULL, 0), MT_EINVAL);
    assert_int_equal(mt_queue_init(&q, NULL, sizeof(int), 4, NULL, 0),
                     MT_EINVAL);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 0, NULL, 0),
                     MT_EINVAL);
    assert_int_equal(mt_queue_init(&q, buf, 2, SIZE_MAX, NULL, 0), MT_EINVAL);
    assert_int_equal(mt_queue_init(&q, buf, 2, SIZE_MAX / 2 + 1, NULL, 0),
                     MT_EINVAL);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 2, init, 3),
                     MT_EINVAL);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 2, NULL, 1),
                     MT_EINVAL);
    /* No object is larger than PTRDIFF_MAX bytes: storage said to hold
     * more is refused (a SIZE_MAX item in 8 bytes of storage was taken). */
    assert_int_equal(mt_queue_init(&q, buf, SIZE_MAX, 1, NULL, 0), MT_EINVAL);
    assert_int_equal(mt_queue_init(&q, buf, 1, SIZE_MAX, NULL, 0), MT_EINVAL);
    assert_int_equal(mt_queue_init(&q, NULL, (size_t)PTRDIFF_MAX + 1, 0, NULL, 0), MT_EINVAL);
    /* The limits themselves are fine. */
    assert_int_equal(mt_queue_init(&q, buf, 1, (size_t)PTRDIFF_MAX, NULL, 0), 0);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 3, init, 3), 0);
    assert_int_equal(mt_queue_full(&q), 1);

    assert_int_equal(mt_queue_try_get(NULL, &v), MT_EINVAL);
    assert_int_equal(mt_queue_try_put(NULL, &v), MT_EINVAL);
    assert_int_equal(mt_queue_try_get(&q, NULL), MT_EINVAL);
    assert_int_equal(mt_queue_len(&q), 3); /* nothing taken */
    assert_int_equal(mt_queue_try_get(&q, &v), 0);
    assert_int_equal(mt_queue_try_put(&q, NULL), MT_EINVAL);
    assert_int_equal(mt_queue_len(&q), 2); /* nothing added */
    assert_int_equal(mt_queue_free(NULL), MT_EINVAL);
    assert_int_equal(mt_queue_len(NULL), 0);
    assert_int_equal(mt_queue_empty(NULL), 1);
    assert_int_equal(mt_queue_full(NULL), 0);
}

struct misuse_frame {
    mt_task task;
    mt_queue *q;
    int item;
    int e1, e2, e3, e4, e5, e6;
};

static int misuse_task(mt_task *t)
{
    struct misuse_frame *f = (struct misuse_frame *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_QUEUE_GET(t, NULL, &f->item, MT_FOREVER));
    f->e1 = mt_err(t);
    MT_CATCH(t, MT_QUEUE_PUT(t, NULL, &f->item, MT_FOREVER));
    f->e2 = mt_err(t);
    MT_CATCH(t, MT_QUEUE_GET(t, f->q, NULL, MT_FOREVER));
    f->e3 = mt_err(t);
    MT_CATCH(t, MT_QUEUE_PUT(t, f->q, NULL, MT_FOREVER));
    f->e4 = mt_err(t);
    MT_CATCH(t, MT_QUEUE_GET(t, f->q, &f->item, -2));
    f->e5 = mt_err(t);
    MT_CATCH(t, MT_QUEUE_PUT(t, f->q, &f->item, TIMEOUT_TOO_BIG));
    f->e6 = mt_err(t);
    MT_END(t);
}

static int null_queue_task(mt_task *t)
{
    struct misuse_frame *f = (struct misuse_frame *)t;
    MT_BEGIN(t);
    MT_QUEUE_GET(t, NULL, &f->item, MT_FOREVER);
    f->e1 = 1; /* not reached */
    MT_END(t);
}

static void test_queue_wait_invalid(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[2];
    struct misuse_frame f, g;
    (void)state;

    setup(&s, &c, &rep, 0);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 2, NULL, 0), 0);
    memset(&f, 0, sizeof f);
    f.q = &q;
    f.item = 4;
    assert_int_equal(mt_sched_add(&s, &f.task, misuse_task), 0);
    memset(&g, 0, sizeof g);
    assert_int_equal(mt_sched_add(&s, &g.task, null_queue_task), 0);
    assert_int_equal(mt_sched_run(&s), MT_EUNHANDLED);
    assert_int_equal(f.e1, MT_EINVAL);
    assert_int_equal(f.e2, MT_EINVAL);
    assert_int_equal(f.e3, MT_EINVAL);
    assert_int_equal(f.e4, MT_EINVAL);
    assert_int_equal(f.e5, MT_EINVAL);
    assert_int_equal(f.e6, MT_EINVAL);
    assert_int_equal(mt_state(&f.task), MT_DONE);
    assert_int_equal(mt_queue_len(&q), 0); /* no put went through */
    assert_int_equal(mt_state(&g.task), MT_FAILED);
    assert_int_equal(mt_err(&g.task), MT_EINVAL);
    assert_int_equal(g.e1, 0);
    assert_int_equal(rep.count, 1);
    assert_ptr_equal(rep.task, &g.task);
    assert_string_equal(rep.name, "null_queue_task");
    assert_int_equal(rep.code, MT_EINVAL);
    assert_sched_empty(&s);
}

/* ---- An event wakes every waiter, in order; clear, timeouts, cancels ---- */

static void add_ev(mt_sched *s, struct qtask *f, mt_event *e, int id,
                   long timeout)
{
    add_task(s, f, event_waiter, id, 0, timeout);
    f->e = e;
}

static void test_event_wakes_all_in_order(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_event e;
    struct qtask w[4], late;
    static const int ids[] = {0, 1, 2, 3, 4};
    static const int vals[] = {0, 0, 0, 0, 0};
    int i;
    (void)state;

    setup(&s, &c, &rep, 0);
    mt_event_init(&e);
    assert_int_equal(mt_event_is_set(&e), 0);
    for (i = 0; i < 4; i++)
        add_ev(&s, &w[i], &e, i, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 4);
    for (i = 0; i < 4; i++)
        assert_int_equal(mt_state(&w[i].task), MT_WAITING);
    assert_int_equal(mt_sched_run_once(&s, 0), 0);
    mt_event_set(&e);
    assert_int_equal(mt_event_is_set(&e), 1);
    for (i = 0; i < 4; i++)
        assert_int_equal(mt_state(&w[i].task), MT_RUNNABLE);
    /* Cleared before they run: they were woken, the wait stands. */
    mt_event_clear(&e);
    assert_int_equal(mt_event_is_set(&e), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 4);
    /* A wait on a set event returns at once. */
    mt_event_set(&e);
    add_ev(&s, &late, &e, 4, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&late.task), MT_DONE);
    check_log(ids, vals, 5);
    assert_int_equal(mt_event_is_set(&e), 1); /* stays set */
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

static void test_event_clear_timeout_cancel(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_event e;
    struct qtask a, b, cc, d;
    (void)state;

    setup(&s, &c, &rep, 500);
    mt_event_init(&e);
    mt_event_set(&e);
    mt_event_clear(&e);
    add_ev(&s, &a, &e, 0, 30);
    add_ev(&s, &b, &e, 1, MT_FOREVER);
    add_ev(&s, &cc, &e, 2, MT_FOREVER);
    add_ev(&s, &d, &e, 3, 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 4);
    assert_int_equal(d.err, MT_ETIMEDOUT); /* timeout 0, not set */
    assert_int_equal(d.at, (mt_time)500);
    assert_int_equal(mt_state(&a.task), MT_WAITING);
    assert_int_equal(mt_sched_run_once(&s, MT_FOREVER), 1);
    assert_int_equal(a.err, MT_ETIMEDOUT);
    assert_int_equal(a.at, (mt_time)530);
    assert_int_equal(mt_event_is_set(&e), 0);
    assert_int_equal(mt_cancel(&b.task), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(b.err, MT_ECANCELED);
    assert_int_equal(mt_state(&cc.task), MT_WAITING);
    assert_int_equal(cc.done, 0);
    mt_event_set(&e);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(cc.err, 0);
    assert_int_equal(cc.at, (mt_time)530);
    /* b and a do not come back. */
    assert_int_equal(nlog, 4);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

static void test_event_null(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    struct qtask w;
    (void)state;

    setup(&s, &c, &rep, 0);
    mt_event_init(NULL);
    mt_event_set(NULL);
    mt_event_clear(NULL);
    assert_int_equal(mt_event_is_set(NULL), 0);
    add_ev(&s, &w, NULL, 0, MT_FOREVER);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(w.err, MT_EINVAL);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* ---- Semaphores count, serve waiters in order, work as a mutex ---------- */

static void add_sw(mt_sched *s, struct qtask *f, mt_sem *sem, int id,
                   long timeout)
{
    add_task(s, f, sem_waiter, id, 0, timeout);
    f->sem = sem;
}

static void test_sem_count(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_sem sem;
    struct qtask w[4];
    int i;
    (void)state;

    setup(&s, &c, &rep, 0);
    mt_sem_init(&sem, 3);
    assert_int_equal(mt_sem_count(&sem), 3);
    for (i = 0; i < 4; i++)
        add_sw(&s, &w[i], &sem, i, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 4);
    for (i = 0; i < 3; i++) {
        assert_int_equal(mt_state(&w[i].task), MT_DONE);
        assert_int_equal(w[i].err, 0);
    }
    assert_int_equal(mt_state(&w[3].task), MT_WAITING);
    assert_int_equal(mt_sem_count(&sem), 0);
    assert_int_equal(mt_sem_try_wait(&sem), MT_EAGAIN);
    assert_int_equal(mt_sem_signal(&sem), 0);
    assert_int_equal(mt_sem_count(&sem), 0); /* handed to w[3] */
    assert_int_equal(mt_state(&w[3].task), MT_RUNNABLE);
    assert_int_equal(mt_sem_try_wait(&sem), MT_EAGAIN);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(w[3].err, 0);
    assert_int_equal(mt_sem_signal(&sem), 0);
    assert_int_equal(mt_sem_count(&sem), 1); /* no waiter: kept */
    assert_int_equal(mt_sem_try_wait(&sem), 0);
    assert_int_equal(mt_sem_count(&sem), 0);
    assert_int_equal(mt_sem_try_wait(&sem), MT_EAGAIN);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

static void test_sem_fifo_timeout_cancel(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_sem sem;
    struct qtask w[6];
    static const int ids[] = {1, 2, 0, 3, 4, 5};
    static const int vals[] = {MT_ETIMEDOUT, MT_ECANCELED, 0, 0,
                               MT_ECANCELED, 0};
    int i;
    (void)state;

    setup(&s, &c, &rep, 200);
    mt_sem_init(&sem, 0);
    add_sw(&s, &w[0], &sem, 0, MT_FOREVER);
    add_sw(&s, &w[1], &sem, 1, 20);
    add_sw(&s, &w[2], &sem, 2, MT_FOREVER);
    add_sw(&s, &w[3], &sem, 3, 100);
    add_sw(&s, &w[4], &sem, 4, MT_FOREVER);
    add_sw(&s, &w[5], &sem, 5, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 6);
    assert_int_equal(mt_sched_run_once(&s, MT_FOREVER), 1);
    assert_int_equal(w[1].err, MT_ETIMEDOUT);
    assert_int_equal(w[1].at, (mt_time)220);
    assert_int_equal(mt_sem_count(&sem), 0);
    assert_int_equal(mt_cancel(&w[2].task), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(w[2].err, MT_ECANCELED);
    assert_int_equal(mt_sem_count(&sem), 0);
    /* Signals serve the waiters left in order: 0, 3, then (4 cancelled
     * meanwhile) 5. */
    assert_int_equal(mt_sem_signal(&sem), 0);
    assert_int_equal(mt_sem_count(&sem), 0);
    assert_int_equal(mt_state(&w[0].task), MT_RUNNABLE);
    assert_int_equal(mt_state(&w[3].task), MT_WAITING);
    assert_int_equal(mt_sem_signal(&sem), 0);
    assert_int_equal(mt_sem_count(&sem), 0);
    assert_int_equal(mt_state(&w[3].task), MT_RUNNABLE);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    assert_int_equal(mt_sched_has_timeouts(&s), 0); /* w[3]'s timer gone */
    assert_int_equal(mt_cancel(&w[4].task), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(w[4].err, MT_ECANCELED);
    assert_int_equal(mt_sem_count(&sem), 0);
    assert_int_equal(mt_sem_signal(&sem), 0);
    assert_int_equal(mt_sem_count(&sem), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    check_log(ids, vals, 6);
    for (i = 0; i < 6; i++)
        assert_int_equal(w[i].done, 1);
    assert_int_equal(mt_sem_signal(&sem), 0);
    assert_int_equal(mt_sem_count(&sem), 1);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* A semaphore of 1 as a mutex: critical sections that give way inside. */
enum { WORKERS = 5, ROUNDS = 20 };
static int inside, max_inside, entries[WORKERS * ROUNDS], nentries;

struct worker {
    mt_task task;
    mt_sem *sem;
    int id, i;
};

static int worker(mt_task *t)
{
    struct worker *f = (struct worker *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < ROUNDS; f->i++) {
        MT_SEM_WAIT(t, f->sem, MT_FOREVER);
        inside++;
        if (inside > max_inside)
            max_inside = inside;
        entries[nentries++] = f->id;
        MT_YIELD(t);
        MT_SLEEP(t, 1);
        inside--;
        assert_int_equal(mt_sem_signal(f->sem), 0);
    }
    MT_END(t);
}

static void test_sem_mutex(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_sem sem;
    struct worker w[WORKERS];
    int i;
    (void)state;

    setup(&s, &c, &rep, 0);
    mt_sem_init(&sem, 1);
    inside = max_inside = nentries = 0;
    for (i = 0; i < WORKERS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].sem = &sem;
        w[i].id = i;
        assert_int_equal(mt_sched_add(&s, &w[i].task, worker), 0);
    }
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(max_inside, 1);
    assert_int_equal(inside, 0);
    assert_int_equal(nentries, WORKERS * ROUNDS);
    /* The unit goes straight to the longest waiter: round robin. */
    for (i = 0; i < WORKERS * ROUNDS; i++)
        assert_int_equal(entries[i], i % WORKERS);
    assert_int_equal(c.now, (mt_time)(WORKERS * ROUNDS));
    assert_int_equal(mt_sem_count(&sem), 1);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* ---- A semaphore refuses a signal past ULONG_MAX, and NULL -------------- */

static void test_sem_limits(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_sem sem;
    struct qtask w;
    (void)state;

    mt_sem_init(&sem, ULONG_MAX);
    assert_int_equal(mt_sem_count(&sem), ULONG_MAX);
    assert_int_equal(mt_sem_signal(&sem), MT_ENOMEM);
    assert_int_equal(mt_sem_count(&sem), ULONG_MAX);
    assert_int_equal(mt_sem_try_wait(&sem), 0);
    assert_int_equal(mt_sem_count(&sem), ULONG_MAX - 1);
    assert_int_equal(mt_sem_signal(&sem), 0);
    assert_int_equal(mt_sem_count(&sem), ULONG_MAX);

    mt_sem_init(NULL, 3);
    assert_int_equal(mt_sem_signal(NULL), MT_EINVAL);
    assert_int_equal(mt_sem_try_wait(NULL), MT_EINVAL);
    assert_int_equal(mt_sem_count(NULL), 0);

    setup(&s, &c, &rep, 0);
    add_sw(&s, &w, NULL, 0, MT_FOREVER);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(w.err, MT_EINVAL);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* ---- Waits across schedulers, in child tasks; no timer or unit lost ----- */

/* A waiter woken from another scheduler's task runs in its own scheduler. */
static void test_two_schedulers_share_a_queue(void **state)
{
    mt_sched s1, s2;
    struct fake_clock c1, c2;
    struct reports rep1, rep2;
    mt_queue q;
    int buf[2];
    struct qtask g, p;
    (void)state;

    setup(&s1, &c1, &rep1, 0);
    start_sched(&s2, &c2, 0, &rep2);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 2, NULL, 0), 0);
    add_q(&s2, &g, getter, &q, 0, -1, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s2, 0), 1);
    assert_int_equal(mt_state(&g.task), MT_WAITING);
    add_q(&s1, &p, putter, &q, 1, 55, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s1, 0), 1);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(mt_sched_has_runnable(&s1), 0);
    assert_int_equal(mt_sched_has_runnable(&s2), 1);
    assert_int_equal(mt_sched_run_once(&s1, 0), 0);
    assert_int_equal(g.done, 0);
    assert_int_equal(mt_sched_run_once(&s2, 0), 1);
    assert_int_equal(g.item, 55);
    assert_int_equal(g.err, 0);
    assert_int_equal(mt_queue_len(&q), 0);
    assert_int_equal(rep1.count + rep2.count, 0);
    assert_sched_empty(&s1);
    assert_sched_empty(&s2);
}

/* A parked getter moved to another scheduler by mt_sched_merge is woken
 * there. */
static void test_merge_moves_queue_waiter(void **state)
{
    mt_sched src, dst;
    struct fake_clock c1, c2;
    struct reports rep1, rep2;
    mt_queue q;
    int buf[2], v;
    struct qtask g, h;
    (void)state;

    setup(&src, &c1, &rep1, 0);
    start_sched(&dst, &c2, 0, &rep2);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 2, NULL, 0), 0);
    add_q(&src, &g, getter, &q, 0, -1, MT_FOREVER);
    add_q(&src, &h, getter, &q, 1, -1, 100);
    assert_int_equal(mt_sched_run_once(&src, 0), 2);
    assert_int_equal(mt_sched_merge(&dst, &src), 0);
    assert_int_equal(mt_sched_live(&src), 0);
    assert_int_equal(mt_sched_live(&dst), 2);
    v = 1;
    assert_int_equal(mt_queue_try_put(&q, &v), 0);
    v = 2;
    assert_int_equal(mt_queue_try_put(&q, &v), 0);
    assert_int_equal(mt_sched_has_runnable(&src), 0);
    assert_int_equal(mt_sched_run_once(&dst, 0), 2);
    assert_int_equal(g.item, 1);
    assert_int_equal(h.item, 2);
    assert_int_equal(h.err, 0);
    assert_int_equal(rep1.count + rep2.count, 0);
    assert_sched_empty(&src);
    assert_sched_empty(&dst);
}

/* Waits with a timeout that complete early leave no timer behind: the
 * scheduler does not idle up to the old deadlines. */
static void test_early_wake_leaves_no_timer(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    mt_event e;
    mt_sem sem;
    int buf[1], v;
    struct qtask g, p, ew, sw;
    static const int init[] = {0};
    (void)state;

    setup(&s, &c, &rep, 100);
    mt_event_init(&e);
    mt_sem_init(&sem, 0);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 1, NULL, 0), 0);
    add_q(&s, &g, getter, &q, 0, -1, 1000);
    add_ev(&s, &ew, &e, 1, 2000);
    add_sw(&s, &sw, &sem, 2, 3000);
    assert_int_equal(mt_sched_run_once(&s, 0), 3);
    assert_int_equal(mt_sched_has_timeouts(&s), 1);
    c.now = 110;
    v = 9;
    assert_int_equal(mt_queue_try_put(&q, &v), 0);
    mt_event_set(&e);
    assert_int_equal(mt_sem_signal(&sem), 0);
    assert_int_equal(mt_sched_has_timeouts(&s), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(g.err, 0);
    assert_int_equal(g.item, 9);
    assert_int_equal(ew.err, 0);
    assert_int_equal(sw.err, 0);
    assert_int_equal(g.at, (mt_time)110);
    assert_int_equal(c.now, (mt_time)110);
    assert_int_equal(c.idles, 0);

    /* A putter too. */
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 1, init, 1), 0);
    add_q(&s, &p, putter, &q, 3, 4, 1000);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_sched_has_timeouts(&s), 1);
    assert_int_equal(mt_queue_try_get(&q, &v), 0);
    assert_int_equal(mt_sched_has_timeouts(&s), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(p.err, 0);
    assert_int_equal(c.idles, 0);
    drain_expect(&q, &p.item, 1);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* A semaphore waiter cancelled after a signal woke it keeps the unit (it is
 * not handed on, nor returned to the count). */
static void test_sem_cancel_woken_waiter(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_sem sem;
    struct qtask a, b;
    (void)state;

    setup(&s, &c, &rep, 0);
    mt_sem_init(&sem, 0);
    add_sw(&s, &a, &sem, 0, MT_FOREVER);
    add_sw(&s, &b, &sem, 1, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    assert_int_equal(mt_sem_signal(&sem), 0);
    assert_int_equal(mt_cancel(&a.task), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(a.done, 1);
    assert_int_equal(a.err, 0);
    assert_int_equal(mt_state(&b.task), MT_WAITING);
    assert_int_equal(mt_sem_count(&sem), 0);
    assert_int_equal(mt_sem_signal(&sem), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(b.err, 0);
    assert_int_equal(mt_sem_count(&sem), 0);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

/* Getters that are awaited children: a put wakes the child (found through
 * its parent), and an await timeout cancels a parked child, leaving the
 * queue as it was for the next getter. */
struct await_get {
    mt_task task;
    struct qtask child;
    mt_queue *q;
    long timeout;
    int err;
    int got;
};

static int await_get(mt_task *t)
{
    struct await_get *f = (struct await_get *)t;
    MT_BEGIN(t);
    f->child.q = f->q;
    f->child.item = -1;
    f->child.timeout = MT_FOREVER; /* the parent's await has the limit */
    MT_CATCH(t, MT_AWAIT(t, &f->child.task, getter_strict, f->timeout));
    f->err = mt_err(t);
    f->got = f->child.item;
    MT_END(t);
}

static void test_getter_child_task(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep;
    mt_queue q;
    int buf[2], v;
    struct await_get a, b;
    (void)state;

    setup(&s, &c, &rep, 0);
    assert_int_equal(mt_queue_init(&q, buf, sizeof(int), 2, NULL, 0), 0);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.q = b.q = &q;
    a.timeout = 40;
    a.child.id = 0;
    b.timeout = MT_FOREVER;
    b.child.id = 1;
    assert_int_equal(mt_sched_add(&s, &a.task, await_get), 0);
    assert_int_equal(mt_sched_add(&s, &b.task, await_get), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    assert_int_equal(mt_state(&a.child.task), MT_WAITING);
    assert_int_equal(mt_state(&b.child.task), MT_WAITING);
    /* a's await times out: its child is cancelled off the getters. */
    while (mt_state(&a.task) != MT_DONE)
        assert_true(mt_sched_run_once(&s, MT_FOREVER) >= 0);
    assert_int_equal(a.err, MT_ETIMEDOUT);
    assert_int_equal(mt_state(&a.child.task), MT_CANCELLED);
    assert_int_equal(c.now, (mt_time)40);
    assert_int_equal(mt_queue_len(&q), 0);
    v = 21;
    assert_int_equal(mt_queue_try_put(&q, &v), 0);
    assert_int_equal(mt_state(&b.child.task), MT_RUNNABLE);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(b.err, 0);
    assert_int_equal(b.got, 21);
    assert_int_equal(a.got, -1);
    assert_int_equal(mt_queue_len(&q), 0);
    assert_int_equal(rep.count, 0);
    assert_sched_empty(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_plain),
        cmocka_unit_test(test_fifo_struct_items),
        cmocka_unit_test(test_fifo_task),
        cmocka_unit_test(test_get_woken_by_task_put),
        cmocka_unit_test(test_get_woken_by_try_put),
        cmocka_unit_test(test_put_woken_by_task_get),
        cmocka_unit_test(test_put_woken_by_try_get),
        cmocka_unit_test(test_getters_served_in_order),
        cmocka_unit_test(test_putters_served_in_order),
        cmocka_unit_test(test_getter_handoff_no_steal),
        cmocka_unit_test(test_try_get_skips_promised),
        cmocka_unit_test(test_eight_byte_items),
        cmocka_unit_test(test_putter_handoff_no_steal),
        cmocka_unit_test(test_ping_pong),
        cmocka_unit_test(test_get_timeout),
        cmocka_unit_test(test_put_timeout),
        cmocka_unit_test(test_timeout_zero),
        cmocka_unit_test(test_timed_out_getter_loses_nothing),
        cmocka_unit_test(test_timed_out_putter_keeps_order),
        cmocka_unit_test(test_cancel_parked_getter),
        cmocka_unit_test(test_cancel_parked_putter),
        cmocka_unit_test(test_cancel_woken_getter_keeps_item),
        cmocka_unit_test(test_cancel_woken_putter_keeps_put),
        cmocka_unit_test(test_unbounded),
        cmocka_unit_test(test_unbounded_plain),
        cmocka_unit_test(test_unbounded_free_busy_with_woken_getter),
        cmocka_unit_test(test_queue_init_invalid),
        cmocka_unit_test(test_queue_wait_invalid),
        cmocka_unit_test(test_event_wakes_all_in_order),
        cmocka_unit_test(test_event_clear_timeout_cancel),
        cmocka_unit_test(test_event_null),
        cmocka_unit_test(test_sem_count),
        cmocka_unit_test(test_sem_limits),
        cmocka_unit_test(test_sem_fifo_timeout_cancel),
        cmocka_unit_test(test_sem_mutex),
        cmocka_unit_test(test_two_schedulers_share_a_queue),
        cmocka_unit_test(test_merge_moves_queue_waiter),
        cmocka_unit_test(test_early_wake_leaves_no_timer),
        cmocka_unit_test(test_sem_cancel_woken_waiter),
        cmocka_unit_test(test_getter_child_task),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
