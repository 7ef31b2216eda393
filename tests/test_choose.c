/* MT_CHOOSE: one wait over queues (get and put), events, semaphores,
 * signals and descriptors. The first clause that can complete completes,
 * exactly it; the others leave their objects as they were, also on
 * timeout and cancel; ready clauses are taken in turn; the dump lists every
 * object. All in virtual time. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

static struct reports rep;

static void start(mt_sched *s, struct fake_clock *c) { start_sched(s, c, 1000, &rep); }

/* A task that waits once on its clauses (n of them), caught, and keeps
 * what came of it; `loops` more times if asked. */
struct chooser {
    mt_task task;
    mt_clause cl[4];
    int n, which, err, done, loops;
    long timeout;
    int got[4]; /* the items of get clauses */
    int put[4]; /* the items of put clauses */
    int seen[16], nseen;
};

static int chooser(mt_task *t)
{
    struct chooser *f = (struct chooser *)t;
    MT_BEGIN(t);
    do {
        MT_CATCH(t, MT_CHOOSE(t, f->cl, f->n, &f->which, f->timeout));
        f->err = mt_err(t);
        if (f->nseen < 16)
            f->seen[f->nseen++] = f->err ? -100 + f->err : f->which;
        f->done++;
    } while (f->loops-- > 0);
    MT_END(t);
}

static void add_chooser(mt_sched *s, struct chooser *f, int n, long timeout)
{
    f->n = n;
    f->timeout = timeout;
    f->which = 0;
    f->err = 1;
    assert_int_equal(mt_sched_add(s, &f->task, chooser), 0);
}

static struct chooser *fresh(struct chooser *f)
{
    memset(f, 0, sizeof *f);
    return f;
}

/* A plain getter or putter, to share the objects with. */
struct plain {
    mt_task task;
    mt_queue *q;
    int item, err, put;
    long timeout;
};

static int plain(mt_task *t)
{
    struct plain *f = (struct plain *)t;
    MT_BEGIN(t);
    if (f->put)
        MT_CATCH(t, MT_QUEUE_PUT(t, f->q, &f->item, f->timeout));
    else
        MT_CATCH(t, MT_QUEUE_GET(t, f->q, &f->item, f->timeout));
    f->err = mt_err(t);
    MT_END(t);
}

static void add_plain(mt_sched *s, struct plain *f, mt_queue *q, int put, int item)
{
    memset(f, 0, sizeof *f);
    f->q = q;
    f->put = put;
    f->item = item;
    f->timeout = MT_FOREVER;
    f->err = 1;
    assert_int_equal(mt_sched_add(s, &f->task, plain), 0);
}

/* An empty queue of ints in `store` (cap of them). */
static void int_queue(mt_queue *q, int *store, size_t cap)
{
    assert_int_equal(mt_queue_init(q, store, sizeof(int), cap, NULL, 0), 0);
}

static void put_int(mt_queue *q, int v) { assert_int_equal(mt_queue_try_put(q, &v), 0); }

static int get_int(mt_queue *q)
{
    int v = -1;
    assert_int_equal(mt_queue_try_get(q, &v), 0);
    return v;
}

/* ---- Gets from two queues -------------------------------------------------- */

static void test_get_ready_at_once(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct chooser f;
    int s0[4], s1[4];
    mt_queue q0, q1;
    (void)state;

    start(&s, &c);
    int_queue(&q0, s0, 4);
    int_queue(&q1, s1, 4);
    put_int(&q1, 7);
    fresh(&f);
    mt_clause_get(&f.cl[0], &q0, &f.got[0]);
    mt_clause_get(&f.cl[1], &q1, &f.got[1]);
    add_chooser(&s, &f, 2, 100);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(f.err, 0);
    assert_int_equal(f.which, 1);
    assert_int_equal(f.got[1], 7);
    assert_int_equal(f.got[0], 0);
    assert_int_equal(mt_queue_len(&q0), 0);
    assert_int_equal(mt_queue_len(&q1), 0);
    assert_int_equal(c.idles, 0);
    assert_int_equal(mt_queue_free(&q0), 0);
    assert_int_equal(mt_queue_free(&q1), 0);
    assert_sched_empty(&s);
}

/* Parked on both; a put to the second wakes it with that item; the first
 * is left as it was: a later put there is a plain item, nobody's. */
static void test_get_parked_then_put(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct chooser f;
    int s0[4], s1[4];
    mt_queue q0, q1;
    (void)state;

    start(&s, &c);
    int_queue(&q0, s0, 4);
    int_queue(&q1, s1, 4);
    fresh(&f);
    mt_clause_get(&f.cl[0], &q0, &f.got[0]);
    mt_clause_get(&f.cl[1], &q1, &f.got[1]);
    add_chooser(&s, &f, 2, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&f.task), MT_WAITING);
    assert_int_equal(f.done, 0);
    put_int(&q1, 42);
    assert_int_equal(mt_queue_len(&q1), 0); /* promised to the chooser */
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(f.err, 0);
    assert_int_equal(f.which, 1);
    assert_int_equal(f.got[1], 42);
    put_int(&q0, 5);
    assert_int_equal(mt_queue_len(&q0), 1); /* the other clause was withdrawn */
    assert_int_equal(get_int(&q0), 5);
    assert_int_equal(mt_queue_free(&q0), 0);
    assert_int_equal(mt_queue_free(&q1), 0);
    assert_sched_empty(&s);
}

/* Both always ready: the choice goes round (from the one after the last
 * chosen), so neither is starved. */
static void test_ready_clauses_take_turns(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct chooser f;
    int s0[8], s1[8], s2[8], i;
    mt_queue q0, q1, q2;
    (void)state;

    start(&s, &c);
    int_queue(&q0, s0, 8);
    int_queue(&q1, s1, 8);
    int_queue(&q2, s2, 8);
    for (i = 0; i < 4; i++) {
        put_int(&q0, i);
        put_int(&q1, 10 + i);
    }
    fresh(&f);
    mt_clause_get(&f.cl[0], &q0, &f.got[0]);
    mt_clause_get(&f.cl[1], &q1, &f.got[1]);
    mt_clause_get(&f.cl[2], &q2, &f.got[2]); /* never ready: skipped in turn */
    f.loops = 5;
    add_chooser(&s, &f, 3, 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(f.nseen, 6);
    /* which starts at 0: the first turn begins after it. */
    assert_int_equal(f.seen[0], 1);
    assert_int_equal(f.seen[1], 0);
    assert_int_equal(f.seen[2], 1);
    assert_int_equal(f.seen[3], 0);
    assert_int_equal(f.seen[4], 1);
    assert_int_equal(f.seen[5], 0);
    assert_int_equal(mt_queue_len(&q0), 1);
    assert_int_equal(mt_queue_len(&q1), 1);
    assert_int_equal(get_int(&q0), 3); /* FIFO within each queue */
    assert_int_equal(get_int(&q1), 13);
    assert_int_equal(mt_queue_free(&q0), 0);
    assert_int_equal(mt_queue_free(&q1), 0);
    assert_int_equal(mt_queue_free(&q2), 0);
    assert_sched_empty(&s);
}

/* The chooser waits among plain getters, first come first served: it was
 * first on q0, so q0's first item is its; a plain getter that came later
 * gets the next; q1's item, after the chooser was served, is nobody's. */
static void test_served_in_order_with_plain_waiters(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct chooser f;
    struct plain g, h;
    int s0[4], s1[4];
    mt_queue q0, q1;
    (void)state;

    start(&s, &c);
    int_queue(&q0, s0, 4);
    int_queue(&q1, s1, 4);
    add_plain(&s, &h, &q1, 0, 0); /* before the chooser on q1 */
    fresh(&f);
    mt_clause_get(&f.cl[0], &q0, &f.got[0]);
    mt_clause_get(&f.cl[1], &q1, &f.got[1]);
    add_chooser(&s, &f, 2, MT_FOREVER);
    add_plain(&s, &g, &q0, 0, 0); /* after the chooser on q0 */
    assert_int_equal(mt_sched_run_once(&s, 0), 3);
    put_int(&q1, 1); /* h's: it came first */
    put_int(&q0, 2); /* the chooser's */
    put_int(&q0, 3); /* g's */
    put_int(&q1, 4); /* nobody waits on q1 any more */
    assert_int_equal(mt_sched_run_once(&s, 0), 3);
    assert_int_equal(h.item, 1);
    assert_int_equal(f.which, 0);
    assert_int_equal(f.got[0], 2);
    assert_int_equal(g.item, 3);
    assert_int_equal(mt_queue_len(&q1), 1);
    assert_int_equal(get_int(&q1), 4);
    assert_int_equal(mt_queue_free(&q0), 0);
    assert_int_equal(mt_queue_free(&q1), 0);
    assert_sched_empty(&s);
}

/* ---- Puts, events, semaphores, signals ------------------------------------- */

/* A put clause on a full queue: a get frees a slot, promised to the
 * chooser, which puts its item when it resumes; the other clause (a get
 * from an empty queue) is untouched. */
static void test_put_clause(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct chooser f;
    int s0[1], s1[2];
    mt_queue q0, q1;
    (void)state;

    start(&s, &c);
    int_queue(&q0, s0, 1);
    int_queue(&q1, s1, 2);
    put_int(&q0, 1); /* full */
    fresh(&f);
    mt_clause_get(&f.cl[0], &q1, &f.got[0]);
    f.put[1] = 99;
    mt_clause_put(&f.cl[1], &q0, &f.put[1]);
    add_chooser(&s, &f, 2, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&f.task), MT_WAITING);
    assert_int_equal(get_int(&q0), 1);
    assert_true(mt_queue_full(&q0)); /* its slot is the chooser's */
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(f.err, 0);
    assert_int_equal(f.which, 1);
    assert_int_equal(get_int(&q0), 99);
    put_int(&q1, 8);
    assert_int_equal(mt_queue_len(&q1), 1);
    assert_int_equal(get_int(&q1), 8);
    assert_int_equal(mt_queue_free(&q0), 0);
    assert_int_equal(mt_queue_free(&q1), 0);
    assert_sched_empty(&s);
}

/* An event (not consumed), a semaphore's unit (handed over, not counted),
 * a signal's post (taken at the next cycle). */
static void test_event_sem_signal(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct chooser f;
    mt_event e;
    mt_sem sem;
    mt_signal sig;
    (void)state;

    start(&s, &c);
    mt_event_init(&e);
    mt_sem_init(&sem, 0);
    memset(&sig, 0, sizeof sig);
    assert_int_equal(mt_signal_init(&s, &sig), 0);
    fresh(&f);
    mt_clause_event(&f.cl[0], &e);
    mt_clause_sem(&f.cl[1], &sem);
    mt_clause_signal(&f.cl[2], &sig);
    f.loops = 2;
    add_chooser(&s, &f, 3, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_sem_signal(&sem), 0);
    assert_int_equal(mt_sem_count(&sem), 0); /* handed to the chooser */
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(f.seen[0], 1);
    mt_signal_post(&sig);
    assert_int_equal(mt_sched_run_once(&s, 0), 1); /* taken, then it runs */
    assert_int_equal(f.seen[1], 2);
    mt_event_set(&e);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(f.seen[2], 0);
    assert_int_equal(mt_event_is_set(&e), 1); /* an event is seen, not taken */
    assert_int_equal(mt_sem_count(&sem), 0);
    assert_int_equal(mt_sem_count(&sig.sem), 0); /* the post was consumed */
    assert_int_equal(f.done, 3);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* ---- Timeout, cancel, errors ------------------------------------------------ */

/* Nothing fires: MT_ETIMEDOUT, which -1, every object as it was (no
 * waiter left: the queues can be freed, a put lands in the queue). */
static void test_timeout_leaves_all(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct chooser f, z;
    int s0[2];
    mt_queue q0;
    mt_event e;
    mt_sem sem;
    (void)state;

    start(&s, &c);
    int_queue(&q0, s0, 2);
    mt_event_init(&e);
    mt_sem_init(&sem, 0);
    fresh(&f);
    mt_clause_get(&f.cl[0], &q0, &f.got[0]);
    mt_clause_event(&f.cl[1], &e);
    mt_clause_sem(&f.cl[2], &sem);
    add_chooser(&s, &f, 3, 30);
    fresh(&z); /* timeout 0: at once */
    mt_clause_get(&z.cl[0], &q0, &z.got[0]);
    add_chooser(&s, &z, 1, 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    assert_int_equal(z.err, MT_ETIMEDOUT);
    assert_int_equal(z.which, -1);
    assert_int_equal(mt_sched_has_timeouts(&s), 1);
    assert_int_equal(mt_sched_run_once(&s, MT_FOREVER), 1);
    assert_int_equal(c.now, (mt_time)1030);
    assert_int_equal(f.err, MT_ETIMEDOUT);
    assert_int_equal(f.which, -1);
    assert_int_equal(mt_queue_free(&q0), 0); /* no waiter left */
    assert_int_equal(mt_sem_signal(&sem), 0);
    assert_int_equal(mt_sem_count(&sem), 1);
    mt_event_set(&e);
    assert_sched_empty(&s);
}

/* Cancelled while parked: MT_ECANCELED, nothing left; cancelled after
 * its clause fired but before it resumed: the result stands (the item is
 * its, not lost). */
static void test_cancel(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct chooser f, g;
    int s0[2], s1[2];
    mt_queue q0, q1;
    (void)state;

    start(&s, &c);
    int_queue(&q0, s0, 2);
    int_queue(&q1, s1, 2);
    fresh(&f);
    mt_clause_get(&f.cl[0], &q0, &f.got[0]);
    mt_clause_get(&f.cl[1], &q1, &f.got[1]);
    add_chooser(&s, &f, 2, 500);
    fresh(&g);
    mt_clause_get(&g.cl[0], &q0, &g.got[0]);
    mt_clause_get(&g.cl[1], &q1, &g.got[1]);
    add_chooser(&s, &g, 2, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    assert_int_equal(mt_cancel(&f.task), 0);
    assert_int_equal(mt_sched_has_timeouts(&s), 0);
    put_int(&q1, 6); /* g's: f is gone from both lists */
    assert_int_equal(mt_cancel(&g.task), 0); /* fired: its result stands */
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    assert_int_equal(f.err, MT_ECANCELED);
    assert_int_equal(f.which, -1);
    assert_int_equal(g.err, 0);
    assert_int_equal(g.which, 1);
    assert_int_equal(g.got[1], 6);
    assert_int_equal(mt_queue_len(&q1), 0);
    assert_int_equal(mt_state(&f.task), MT_CANCELLED); /* caught it: still cancelled */
    assert_int_equal(mt_state(&g.task), MT_DONE); /* it waited no more */
    put_int(&q0, 1);
    assert_int_equal(mt_queue_len(&q0), 1);
    assert_int_equal(get_int(&q0), 1);
    assert_int_equal(mt_queue_free(&q0), 0);
    assert_int_equal(mt_queue_free(&q1), 0);
    assert_sched_empty(&s);
}

/* A task that waits on clauses it is given, `which` NULL if asked. */
struct sharer {
    mt_task task;
    mt_clause *cl;
    int which, err, null_which;
};

static int sharer(mt_task *t)
{
    struct sharer *f = (struct sharer *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_CHOOSE(t, f->cl, 1, f->null_which ? NULL : &f->which, 100));
    f->err = mt_err(t);
    MT_END(t);
}

/* MT_EINVAL for each malformed wait, before anything is armed or taken. */
static void test_bad_arguments(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct chooser f;
    struct sharer g;
    int s0[2], sv[2];
    mt_queue q0;
    mt_sem sem;
    int n;
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    int_queue(&q0, s0, 2);
    mt_sem_init(&sem, 1);
    for (n = 0; n < 8; n++) {
        int count = 2;
        fresh(&f);
        mt_clause_sem(&f.cl[0], &sem); /* ready, yet nothing is taken */
        if (n == 0)
            count = 0;
        else if (n == 1)
            count = MT_CHOOSE_MAX + 1;
        else if (n == 2)
            mt_clause_get(&f.cl[1], NULL, &f.got[1]);
        else if (n == 3)
            mt_clause_get(&f.cl[1], &q0, NULL);
        else if (n == 4)
            mt_clause_event(&f.cl[1], NULL);
        else if (n == 5)
            mt_clause_fd(&f.cl[1], -1, MT_READABLE);
        else if (n == 6)
            mt_clause_fd(&f.cl[1], sv[0], 0);
        /* n == 7: a clause never described (zeroed) */
        add_chooser(&s, &f, count, 100);
        assert_int_equal(mt_sched_run_once(&s, 0), 1);
        assert_int_equal(f.err, MT_EINVAL);
        assert_int_equal(f.which, -1);
        assert_int_equal(mt_sem_count(&sem), 1);
    }
    fresh(&f);
    mt_clause_sem(&f.cl[0], &sem);
    memset(&g, 0, sizeof g);
    g.cl = f.cl;
    g.null_which = 1;
    assert_int_equal(mt_sched_add(&s, &g.task, sharer), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(g.err, MT_EINVAL);
    assert_int_equal(mt_sem_count(&sem), 1);
    assert_int_equal(mt_queue_free(&q0), 0);
    close(sv[0]);
    close(sv[1]);
    assert_sched_empty(&s);
}

/* Another task waits on the clauses of a waiting task: MT_EBUSY. */

static void test_armed_clauses_busy(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct chooser f;
    struct sharer g;
    int s0[2];
    mt_queue q0;
    (void)state;

    SKIP_IF_ASSERT();
    start(&s, &c);
    int_queue(&q0, s0, 2);
    fresh(&f);
    mt_clause_get(&f.cl[0], &q0, &f.got[0]);
    add_chooser(&s, &f, 1, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    memset(&g, 0, sizeof g);
    g.cl = f.cl;
    assert_int_equal(mt_sched_add(&s, &g.task, sharer), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(g.err, MT_EBUSY);
    assert_int_equal(g.which, -1);
    put_int(&q0, 3); /* f still owns them, and is served */
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(f.err, 0);
    assert_int_equal(f.got[0], 3);
    assert_int_equal(mt_queue_free(&q0), 0);
    assert_sched_empty(&s);
}

/* ---- Descriptors, the dump, a merge ----------------------------------------- */

static void test_fd_clause(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct chooser f;
    int sv[2], s0[2];
    mt_queue q0;
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    int_queue(&q0, s0, 2);
    fresh(&f);
    mt_clause_get(&f.cl[0], &q0, &f.got[0]);
    mt_clause_fd(&f.cl[1], sv[0], MT_READABLE);
    f.loops = 1;
    add_chooser(&s, &f, 2, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_sched_has_io_waits(&s), 1);
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(f.seen[0], 1);
    assert_int_equal(mt_clause_ready(&f.cl[1]), MT_READABLE);
    /* Ready at once now (the byte is still there): the turn starts after 1. */
    assert_int_equal(f.seen[1], 1);
    assert_int_equal(f.done, 2);
    assert_int_equal(mt_sched_has_io_waits(&s), 0);
    put_int(&q0, 1);
    assert_int_equal(mt_queue_len(&q0), 1);
    (void)get_int(&q0);
    assert_int_equal(mt_queue_free(&q0), 0);
    close(sv[0]);
    close(sv[1]);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* A descriptor clause closed under the wait: MT_EBADF, which names it. */
static void test_fd_clause_closed(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct chooser f;
    mt_event e;
    int sv[2];
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    mt_event_init(&e);
    fresh(&f);
    mt_clause_event(&f.cl[0], &e);
    mt_clause_fd(&f.cl[1], sv[0], MT_READABLE | MT_EXCEPT);
    add_chooser(&s, &f, 2, MT_FOREVER);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    close(sv[0]);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(f.err, MT_EBADF);
    assert_int_equal(f.which, 1);
    mt_event_set(&e); /* nobody waits any more */
    close(sv[1]);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

static char dumped[4096];
static size_t ndumped;

static void to_buf(void *arg, const char *s)
{
    size_t n = strlen(s);
    (void)arg;
    if (ndumped + n < sizeof dumped) {
        memcpy(dumped + ndumped, s, n);
        ndumped += n;
        dumped[ndumped] = 0;
    }
}

static void test_dump_lists_every_object(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct chooser f;
    int sv[2], s0[2];
    mt_queue q0;
    mt_sem sem;
    char want[64];
    (void)state;

    start(&s, &c);
    unix_pair(sv);
    int_queue(&q0, s0, 2);
    mt_sem_init(&sem, 0);
    fresh(&f);
    mt_clause_get(&f.cl[0], &q0, &f.got[0]);
    mt_clause_sem(&f.cl[1], &sem);
    mt_clause_fd(&f.cl[2], sv[0], MT_READABLE);
    add_chooser(&s, &f, 3, 200);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    ndumped = 0;
    dumped[0] = 0;
    assert_true(mt_sched_dump(&s, to_buf, NULL) >= 1);
    assert_non_null(strstr(dumped, "first of: queue "));
    assert_non_null(strstr(dumped, "(get), semaphore "));
    snprintf(want, sizeof want, ", fd %d read", sv[0]);
    assert_non_null(strstr(dumped, want));
    assert_non_null(strstr(dumped, "200 "));
    assert_int_equal(mt_cancel(&f.task), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_queue_free(&q0), 0);
    close(sv[0]);
    close(sv[1]);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* A waiting chooser moves with mt_sched_merge: its timer, its descriptor
 * registration; a put then wakes it in the destination. */
static void test_merge(void **state)
{
    mt_sched a, b;
    struct fake_clock c, cb;
    struct chooser f;
    int sv[2], s0[2];
    mt_queue q0;
    (void)state;

    start(&a, &c);
    mt_sched_init(&b);
    use_fake_clock(&b, &cb, 1000);
    unix_pair(sv);
    int_queue(&q0, s0, 2);
    fresh(&f);
    mt_clause_fd(&f.cl[0], sv[0], MT_READABLE);
    mt_clause_get(&f.cl[1], &q0, &f.got[1]);
    f.loops = 1;
    add_chooser(&b, &f, 2, 300);
    assert_int_equal(mt_sched_run_once(&b, 0), 1);
    assert_int_equal(mt_sched_merge(&a, &b), 0);
    assert_int_equal(mt_sched_has_io_waits(&a), 1);
    assert_int_equal(mt_sched_has_io_waits(&b), 0);
    put_int(&q0, 4);
    assert_int_equal(mt_sched_run_once(&a, 0), 1);
    assert_int_equal(f.seen[0], 1);
    assert_int_equal(f.got[1], 4);
    assert_int_equal(write(sv[1], "y", 1), 1);
    assert_int_equal(mt_sched_run_once(&a, 0), 1);
    assert_int_equal(f.seen[1], 0);
    assert_int_equal(mt_sched_run(&a), 0);
    assert_int_equal(mt_queue_free(&q0), 0);
    close(sv[0]);
    close(sv[1]);
    assert_sched_empty(&a);
    assert_int_equal(mt_sched_destroy(&a), 0);
    assert_int_equal(mt_sched_destroy(&b), 0);
}

/* ---- Stand-ins withdrawn while a backend scans or withdraws (review) ------- */

/* A plain reader, to share the backend's lists with a chooser. */
struct reader {
    mt_task task;
    int fd, err, done;
    ssize_t n;
    char b;
};

static int reader(mt_task *t)
{
    struct reader *f = (struct reader *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_READ(t, f->fd, &f->b, 1, &f->n, MT_FOREVER));
    f->err = mt_err(t);
    f->done++;
    MT_END(t);
}

static void add_reader(mt_sched *s, struct reader *r, int fd)
{
    memset(r, 0, sizeof *r);
    r->fd = fd;
    assert_int_equal(mt_sched_add(s, &r->task, reader), 0);
}

/* Two descriptor clauses ready in the same poll, a plain reader armed
 * after them and ready too: the scan must not wake the withdrawn sibling
 * nor lose the reader (select and poll crashed or dropped waiters). */
static void test_two_fd_clauses_ready_at_once(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct chooser f;
    struct reader r, r2;
    int a[2], b[2], d[2], e[2];
    (void)state;

    start(&s, &c);
    unix_pair(a);
    unix_pair(b);
    unix_pair(d);
    unix_pair(e);
    fresh(&f);
    mt_clause_fd(&f.cl[0], a[0], MT_READABLE);
    mt_clause_fd(&f.cl[1], b[0], MT_READABLE);
    add_chooser(&s, &f, 2, MT_FOREVER);
    add_reader(&s, &r, d[0]);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    assert_int_equal(write(a[1], "x", 1), 1);
    assert_int_equal(write(b[1], "x", 1), 1);
    assert_int_equal(write(d[1], "x", 1), 1);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    assert_int_equal(f.done, 1);
    assert_int_equal(f.err, 0);
    assert_true(f.which == 0 || f.which == 1);
    assert_int_equal(mt_clause_ready(&f.cl[f.which]), MT_READABLE);
    assert_int_equal(r.done, 1);
    assert_int_equal(mt_sched_has_io_waits(&s), 0);
    add_reader(&s, &r2, e[0]); /* the lists are whole: a new waiter is served */
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(write(e[1], "y", 1), 1);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(r2.done, 1);
    assert_int_equal(r2.b, 'y');
    close(a[0]), close(a[1]), close(b[0]), close(b[1]);
    close(d[0]), close(d[1]), close(e[0]), close(e[1]);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* Two clauses on one descriptor, closed under the wait, and a queue
 * clause. Each way the wait ends (the poll finds the descriptor closed,
 * a cancel, the queue's put) it resumes once, with one clause: epoll's
 * re-arm of the closed descriptor, failing inside the withdrawal, fired
 * the sibling a second time. */
static void test_closed_fd_two_clauses(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct chooser f;
    int sv[2], s0[2], how, v = 42;
    mt_queue q0;
    (void)state;

    for (how = 0; how < 3; how++) {
        start(&s, &c);
        unix_pair(sv);
        int_queue(&q0, s0, 2);
        fresh(&f);
        mt_clause_fd(&f.cl[0], sv[0], MT_READABLE);
        mt_clause_fd(&f.cl[1], sv[0], MT_READABLE | MT_EXCEPT);
        mt_clause_get(&f.cl[2], &q0, &f.got[2]);
        add_chooser(&s, &f, 3, MT_FOREVER);
        assert_int_equal(mt_sched_run_once(&s, 0), 1);
        close(sv[0]);
        if (how == 1)
            assert_int_equal(mt_cancel(&f.task), 0);
        else if (how == 2)
            assert_int_equal(mt_queue_try_put(&q0, &v), 0);
        assert_int_equal(mt_sched_run_once(&s, 0), 1);
        assert_int_equal(mt_sched_run_once(&s, 0), 0);
        assert_int_equal(f.done, 1);
        if (how == 0) {
            assert_int_equal(f.err, MT_EBADF);
            assert_int_equal(f.which, 0);
        } else if (how == 1) {
            assert_int_equal(f.err, MT_ECANCELED);
            assert_int_equal(f.which, -1);
        } else {
            assert_int_equal(f.err, 0);
            assert_int_equal(f.which, 2);
            assert_int_equal(f.got[2], 42);
        }
        assert_int_equal(mt_queue_free(&q0), 0); /* nothing promised is left */
        close(sv[1]);
        assert_sched_empty(&s);
        assert_int_equal(mt_sched_destroy(&s), 0);
    }
}

/* Merged with one clause on a closed descriptor (epoll: refused by the
 * destination's instance, so it fires) and one on an open one: the open
 * one's stand-in must leave the destination too (it stayed, looped). */
static void test_merge_with_closed_clause(void **state)
{
    mt_sched a, b;
    struct fake_clock c, cb;
    struct chooser f;
    int p[2], q[2];
    (void)state;

    start(&a, &c);
    mt_sched_init(&b);
    use_fake_clock(&b, &cb, 1000);
    unix_pair(p);
    unix_pair(q);
    fresh(&f);
    mt_clause_fd(&f.cl[0], p[0] < q[0] ? p[0] : q[0], MT_READABLE);
    mt_clause_fd(&f.cl[1], p[0] < q[0] ? q[0] : p[0], MT_READABLE);
    f.loops = 1;
    add_chooser(&b, &f, 2, 500);
    assert_int_equal(mt_sched_run_once(&b, 0), 1);
    { /* epoll: a's instance opens now, not in the merge, where it would
       * take the number closed below */
        struct pollfd pf[2];
        assert_true(mt_sched_pollfds(&a, pf, 2) >= 0);
    }
    close(p[0] < q[0] ? p[0] : q[0]);
    assert_int_equal(mt_sched_merge(&a, &b), 0);
    /* It wakes with MT_EBADF; its second wait tries the closed clause at
     * once (the same error), its open one was not left armed anywhere. */
    assert_int_equal(mt_sched_run(&a), 0);
    assert_int_equal(f.done, 2);
    assert_int_equal(f.seen[0], -100 + MT_EBADF);
    assert_int_equal(f.seen[1], -100 + MT_EBADF);
    assert_int_equal(f.which, 0);
    close(p[0] < q[0] ? q[0] : p[0]);
    close(p[1]);
    close(q[1]);
    assert_sched_empty(&a);
    assert_int_equal(mt_sched_destroy(&a), 0);
    assert_int_equal(mt_sched_destroy(&b), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_ready_at_once),
        cmocka_unit_test(test_get_parked_then_put),
        cmocka_unit_test(test_ready_clauses_take_turns),
        cmocka_unit_test(test_served_in_order_with_plain_waiters),
        cmocka_unit_test(test_put_clause),
        cmocka_unit_test(test_event_sem_signal),
        cmocka_unit_test(test_timeout_leaves_all),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_armed_clauses_busy),
        cmocka_unit_test(test_fd_clause),
        cmocka_unit_test(test_fd_clause_closed),
        cmocka_unit_test(test_dump_lists_every_object),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_two_fd_clauses_ready_at_once),
        cmocka_unit_test(test_closed_fd_two_clauses),
        cmocka_unit_test(test_merge_with_closed_clause),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
