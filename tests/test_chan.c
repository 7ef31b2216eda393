/* The channel between threads (mt_chan) and the per-thread default
 * scheduler: items from producers on several threads, plain and task ones,
 * arrive in each producer's order with none lost or duplicated; a burst of
 * puts costs one wake-up; waits for an item and for room time out and are
 * cancelled cleanly, the room wait keeping its first deadline; producers
 * waiting for room move with mt_sched_merge. Built plain in make test and
 * under ThreadSanitizer in make tsan. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>

#include "util.h"

#if MT_THREADS
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>

/* A consumer: MT_CHAN_GET in a loop until it has `want` items. */
struct getter {
    mt_task task;
    mt_chan *c;
    long timeout;
    int want, n, err;
    int got[64];
    int item;
};

static int getter(mt_task *t)
{
    struct getter *f = (struct getter *)t;
    MT_BEGIN(t);
    while (f->n < f->want) {
        MT_CATCH(t, MT_CHAN_GET(t, f->c, &f->item, f->timeout));
        f->err = mt_err(t);
        if (f->err)
            break;
        f->got[f->n++ % 64] = f->item;
    }
    MT_END(t);
}

/* A producer task: MT_CHAN_PUT of first, first + 1, ... (`count` items). */
struct putter {
    mt_task task;
    mt_chan *c;
    long timeout;
    int first, count, i, err;
    int item;
};

static int putter(mt_task *t)
{
    struct putter *f = (struct putter *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < f->count; f->i++) {
        f->item = f->first + f->i;
        MT_CATCH(t, MT_CHAN_PUT(t, f->c, &f->item, f->timeout));
        f->err = mt_err(t);
        if (f->err)
            break;
    }
    MT_END(t);
}

static mt_chan chan_1; /* the cancel test's */

/* A scheduler on the fake clock with a channel of `cap` ints. */
struct fixture { mt_sched s; mt_chan c; struct fake_clock clk; struct reports rep; int buf[8]; };

static void setup(struct fixture *x, size_t cap)
{
    memset(x, 0, sizeof *x);
    start_sched(&x->s, &x->clk, 0, &x->rep);
    assert_int_equal(mt_chan_init(&x->s, &x->c, x->buf, sizeof x->buf[0], cap), 0);
}

static void finish(struct fixture *x)
{
    assert_sched_empty(&x->s);
    assert_int_equal(mt_sched_destroy(&x->s), 0);
}

static void test_errors(void **state)
{
    mt_sched s;
    mt_chan c, zero;
    int buf[2], v = 1;
    (void)state;

    memset(&c, 0, sizeof c);
    memset(&zero, 0, sizeof zero);
    mt_sched_init(&s);
    assert_int_equal(mt_chan_init(&s, NULL, buf, sizeof buf[0], 2), MT_EINVAL);
    assert_int_equal(mt_chan_init(NULL, &c, buf, sizeof buf[0], 2), MT_EINVAL);
    assert_int_equal(mt_chan_init(&s, &c, NULL, sizeof buf[0], 2), MT_EINVAL);
    assert_int_equal(mt_chan_init(&s, &c, buf, 0, 2), MT_EINVAL);
    assert_int_equal(mt_chan_init(&s, &c, buf, sizeof buf[0], 0), MT_EINVAL);
    assert_int_equal(mt_chan_put(NULL, &v), MT_EINVAL);
    assert_int_equal(mt_chan_put(&zero, &v), MT_EINVAL); /* never initialised */
    assert_int_equal(mt_chan_get(NULL, &v), MT_EINVAL);
    assert_int_equal(mt_chan_get(&zero, &v), MT_EINVAL);
    assert_int_equal(mt_chan_count(NULL), 0);
    assert_int_equal(mt_chan_init(&s, &c, buf, sizeof buf[0], 2), 0);
    assert_int_equal(mt_chan_put(&c, NULL), MT_EINVAL);
    assert_int_equal(mt_chan_get(&c, NULL), MT_EINVAL);
    assert_int_equal(mt_chan_get(&c, &v), MT_EAGAIN);
    v = 5;
    assert_int_equal(mt_chan_put(&c, &v), 0);
    v = 6;
    assert_int_equal(mt_chan_put(&c, &v), 0);
    assert_int_equal(mt_chan_put(&c, &v), MT_EAGAIN); /* full: not stored */
    assert_int_equal(mt_chan_count(&c), 2);
    assert_int_equal(mt_chan_get(&c, &v), 0);
    assert_int_equal(v, 5);
    assert_int_equal(mt_chan_get(&c, &v), 0);
    assert_int_equal(v, 6);
    assert_int_equal(mt_chan_count(&c), 0);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

#if MT_IO
/* Where byte exchange is lock-free a post skips the self-pipe when an
 * earlier one's byte is there (see mt_chan_init). */
#if defined(__GCC_ATOMIC_CHAR_LOCK_FREE) && __GCC_ATOMIC_CHAR_LOCK_FREE == 2
#define COALESCES 1
#else
#define COALESCES 0
#endif

/* Bytes waiting in the scheduler's self-pipe. */
static int pipe_bytes(const mt_sched *s)
{
    int n = -1;
    assert_int_equal(ioctl(s->wake_fd[0], FIONREAD, &n), 0);
    return n;
}

/* A burst of puts between two cycles writes one byte to the self-pipe and
 * wakes the consumer once; the next put after the cycle writes again. */
static void test_burst_costs_one_wake(void **state)
{
    static struct fixture x;
    static struct getter g;
    int i;
    (void)state;

    setup(&x, 8);
    memset(&g, 0, sizeof g);
    g.c = &x.c;
    g.timeout = MT_FOREVER;
    g.want = 9;
    mt_sched_add(&x.s, &g.task, getter);
    mt_sched_run_once(&x.s, 0); /* it parks */
    assert_int_equal(pipe_bytes(&x.s), 0);
    for (i = 0; i < 8; i++)
        assert_int_equal(mt_chan_put(&x.c, &i), 0);
    assert_int_equal(pipe_bytes(&x.s), COALESCES ? 1 : 8);
    mt_sched_run_once(&x.s, 0);
    assert_int_equal(g.n, 8); /* one wake-up, all eight taken */
    assert_int_equal(pipe_bytes(&x.s), 0);
    for (i = 0; i < 8; i++)
        assert_int_equal(g.got[i], i);
    i = 8;
    assert_int_equal(mt_chan_put(&x.c, &i), 0);
    assert_int_equal(pipe_bytes(&x.s), 1);
    mt_sched_run_once(&x.s, 0);
    assert_int_equal(g.n, 9);
    assert_int_equal(g.err, 0);
    finish(&x);
}
#endif

static void test_get_timeout_and_cancel(void **state)
{
    static struct fixture x;
    static struct getter g;
    int v = 3;
    (void)state;

    setup(&x, 2);
    memset(&g, 0, sizeof g);
    g.c = &x.c;
    g.timeout = 5;
    g.want = 1;
    mt_sched_add(&x.s, &g.task, getter);
    assert_int_equal(mt_sched_run(&x.s), 0);
    assert_int_equal(g.err, MT_ETIMEDOUT);
    assert_int_equal(x.clk.now, 5);
    /* Cancelled while waiting: it ends, and the channel still works. */
    memset(&g, 0, sizeof g);
    g.c = &x.c;
    g.timeout = MT_FOREVER;
    g.want = 1;
    mt_sched_add(&x.s, &g.task, getter);
    mt_sched_run_once(&x.s, 0);
    assert_int_equal(mt_cancel(&g.task), 0);
    mt_sched_run_once(&x.s, 0);
    assert_int_equal(mt_state(&g.task), MT_CANCELLED);
    assert_int_equal(mt_chan_put(&x.c, &v), 0);
    v = 0;
    assert_int_equal(mt_chan_get(&x.c, &v), 0);
    assert_int_equal(v, 3);
    finish(&x);
}

/* A full channel: the producer waits for room and is woken to try again
 * each tick; its items go in once the consumer (here plain code) frees
 * room, in order. */
static void test_put_waits_for_room(void **state)
{
    static struct fixture x;
    static struct putter p;
    int v, want = 100;
    (void)state;

    setup(&x, 2);
    memset(&p, 0, sizeof p);
    p.c = &x.c;
    p.timeout = 50;
    p.first = 100;
    p.count = 5;
    mt_sched_add(&x.s, &p.task, putter);
    mt_sched_run_once(&x.s, 0);
    assert_int_equal(mt_chan_count(&x.c), 2);
    assert_int_equal(mt_state(&p.task), MT_WAITING);
    while (mt_state(&p.task) != MT_DONE) {
        assert_true(x.clk.now < 40);
        mt_sched_run_once(&x.s, MT_FOREVER); /* blocks one tick at most */
        if (mt_chan_get(&x.c, &v) == 0)
            assert_int_equal(v, want++);
    }
    while (mt_chan_get(&x.c, &v) == 0)
        assert_int_equal(v, want++);
    assert_int_equal(want, 105);
    assert_int_equal(p.err, 0);
    finish(&x);
}

/* Nobody frees room: the wait ends at its first deadline, though the task
 * was woken and parked again each tick. */
static void test_put_timeout_keeps_deadline(void **state)
{
    static struct fixture x;
    static struct putter p;
    int v = 0;
    (void)state;

    setup(&x, 1);
    assert_int_equal(mt_chan_put(&x.c, &v), 0);
    memset(&p, 0, sizeof p);
    p.c = &x.c;
    p.timeout = 10;
    p.count = 1;
    x.clk.now = 3;
    mt_sched_add(&x.s, &p.task, putter);
    while (mt_state(&p.task) != MT_DONE && x.clk.now < 30) /* no hang if broken */
        mt_sched_run_once(&x.s, MT_FOREVER);
    assert_int_equal(p.err, MT_ETIMEDOUT);
    assert_int_equal(x.clk.now, 13);
    assert_true(x.clk.idles >= 9); /* it blocked a tick at a time */
    assert_int_equal(mt_chan_count(&x.c), 1);
    /* Timeout 0 tries once. */
    memset(&p, 0, sizeof p);
    p.c = &x.c;
    p.count = 1;
    mt_sched_add(&x.s, &p.task, putter);
    mt_sched_run_once(&x.s, 0);
    assert_int_equal(p.err, MT_ETIMEDOUT);
    assert_int_equal(mt_chan_get(&x.c, &v), 0);
    finish(&x);
}

static void test_put_wait_cancel_and_errors(void **state)
{
    static struct fixture x;
    static struct putter p;
    int v = 0;
    (void)state;

    setup(&x, 1);
    assert_int_equal(mt_chan_put(&x.c, &v), 0);
    memset(&p, 0, sizeof p);
    p.c = &x.c;
    p.timeout = MT_FOREVER;
    p.first = 7;
    p.count = 1;
    mt_sched_add(&x.s, &p.task, putter);
    mt_sched_run_once(&x.s, 0);
    mt_sched_run_once(&x.s, MT_FOREVER); /* a tick: woken, parked again */
    assert_int_equal(mt_state(&p.task), MT_WAITING);
    assert_int_equal(mt_cancel(&p.task), 0);
    mt_sched_run_once(&x.s, 0);
    assert_int_equal(mt_state(&p.task), MT_CANCELLED);
    assert_int_equal(mt_chan_get(&x.c, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(mt_chan_get(&x.c, &v), MT_EAGAIN); /* 7 never went in */
    /* A NULL channel, a bad timeout: raised. */
    memset(&p, 0, sizeof p);
    p.count = 1;
    mt_sched_add(&x.s, &p.task, putter);
    mt_sched_run_once(&x.s, 0);
    assert_int_equal(p.err, MT_EINVAL);
    memset(&p, 0, sizeof p);
    p.c = &x.c;
    p.count = 1;
    p.timeout = TIMEOUT_TOO_BIG;
    mt_sched_add(&x.s, &p.task, putter);
    mt_sched_run_once(&x.s, 0);
    assert_int_equal(p.err, MT_EINVAL);
    finish(&x);
}

/* Producers waiting for room in src go on waiting in dst, and finish
 * there; the dump names what they wait for. */
static void test_merge_moves_room_waiters(void **state)
{
    static struct fixture x;
    static mt_sched src;
    static struct putter p;
    char dump[2048] = "";
    FILE *f;
    int v = 0;
    (void)state;

    setup(&x, 1);
    assert_int_equal(mt_chan_put(&x.c, &v), 0);
    mt_sched_init(&src);
    mt_sched_set_clock(&src, fake_now, fake_idle, &x.clk);
    memset(&p, 0, sizeof p);
    p.c = &x.c;
    p.timeout = MT_FOREVER;
    p.first = 9;
    p.count = 1;
    mt_sched_add(&src, &p.task, putter);
    mt_sched_run_once(&src, 0);
    assert_int_equal(mt_state(&p.task), MT_WAITING);
    f = fmemopen(dump, sizeof dump - 1, "w");
    assert_non_null(f);
    mt_sched_dump(&src, mt_out_stdio, f);
    fclose(f);
    assert_non_null(strstr(dump, "room in a channel"));
    assert_int_equal(mt_sched_merge(&x.s, &src), 0);
    assert_int_equal(mt_chan_get(&x.c, &v), 0);
    assert_int_equal(mt_sched_run(&x.s), 0);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(mt_chan_get(&x.c, &v), 0);
    assert_int_equal(v, 9);
    assert_int_equal(mt_sched_destroy(&src), 0);
    finish(&x);
}

/* A cancel in the tick a room waiter was woken to try again (a task that
 * runs before it in that cycle cancels it) ends the wait with a catchable
 * MT_ECANCELED, as a cancel while parked does (found by review: it ended
 * the task past its catch). */
static mt_task room_producer;
static int room_caught;

static int catching_producer(mt_task *t)
{
    static int v = 1;
    MT_BEGIN(t);
    MT_CATCH(t, MT_CHAN_PUT(t, &chan_1, &v, MT_FOREVER));
    room_caught = mt_err(t);
    MT_END(t);
}

static int canceller(mt_task *t)
{
    MT_BEGIN(t);
    do
        MT_SLEEP(t, 1); /* its timer fires before the room poll of the tick */
    while (mt_state(&room_producer) != MT_RUNNABLE);
    mt_cancel(&room_producer);
    MT_END(t);
}

static void test_cancel_while_woken_to_retry(void **state)
{
    static mt_task c;
    struct fake_clock clk;
    struct reports rep;
    mt_sched s;
    int buf[1], v = 0;
    (void)state;

    start_sched(&s, &clk, 0, &rep);
    memset(&chan_1, 0, sizeof chan_1);
    assert_int_equal(mt_chan_init(&s, &chan_1, buf, sizeof buf[0], 1), 0);
    assert_int_equal(mt_chan_put(&chan_1, &v), 0); /* full */
    room_caught = 0;
    mt_sched_add(&s, &c, canceller);
    mt_sched_add(&s, &room_producer, catching_producer);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(room_caught, MT_ECANCELED);
    assert_int_equal(mt_chan_count(&chan_1), 1);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* ---- Threads ---------------------------------------------------------------
 * Four producers into a channel of 8: two plain threads putting without
 * waiting (yielding the core when it is full), two threads whose own
 * default schedulers run a putter task each (MT_CHAN_PUT, waiting for
 * room). The consumer, a task of this thread's scheduler, checks each
 * producer's items come in order, each once. */
#define PRODUCERS 4
#define ITEMS 5000 /* per producer */

static mt_chan chan;
static int chan_buf[8];

static void *plain_producer(void *arg)
{
    int id = (int)(intptr_t)arg, i;
    for (i = 0; i < ITEMS; i++) {
        int v = id * ITEMS + i;
        while (mt_chan_put(&chan, &v) == MT_EAGAIN)
            sched_yield();
    }
    return NULL;
}

static void *task_producer(void *arg)
{
    static struct putter p[PRODUCERS];
    int id = (int)(intptr_t)arg;
    mt_sched *mine = mt_default();
    long failed;

    p[id].c = &chan;
    p[id].timeout = MT_FOREVER;
    p[id].first = id * ITEMS;
    p[id].count = ITEMS;
    mt_add(&p[id].task, putter);
    failed = mt_run() != 0 || p[id].err != 0 || mt_default() != mine;
    failed |= mt_sched_destroy(mt_default()) != 0;
    return (void *)failed;
}

struct checker { mt_task task; int next[PRODUCERS]; long n, bad; int item; };

static int checker(mt_task *t)
{
    struct checker *f = (struct checker *)t;
    MT_BEGIN(t);
    while (f->n < (long)PRODUCERS * ITEMS) {
        MT_CHAN_GET(t, &chan, &f->item, MT_FOREVER); /* not stranded */
        if (f->item % ITEMS != f->next[f->item / ITEMS]++)
            f->bad++;
        f->n++;
    }
    MT_END(t);
}

static void test_threads_order_no_loss(void **state)
{
    static struct checker ck;
    pthread_t th[PRODUCERS];
    mt_sched *main_sched = mt_default();
    int i;
    (void)state;

    assert_int_equal(mt_chan_init(main_sched, &chan, chan_buf, sizeof chan_buf[0], 8), 0);
    mt_add(&ck.task, checker);
    for (i = 0; i < PRODUCERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, i % 2 ? task_producer : plain_producer,
                                        (void *)(intptr_t)i), 0);
    assert_int_equal(mt_run(), 0);
    for (i = 0; i < PRODUCERS; i++) {
        void *failed = NULL;
        assert_int_equal(pthread_join(th[i], &failed), 0);
        assert_null(failed); /* each had its own default scheduler */
    }
    assert_int_equal(ck.n, (long)PRODUCERS * ITEMS);
    assert_int_equal(ck.bad, 0);
    for (i = 0; i < PRODUCERS; i++)
        assert_int_equal(ck.next[i], ITEMS);
    assert_int_equal(mt_chan_count(&chan), 0);
    assert_ptr_equal(mt_default(), main_sched);
    assert_int_equal(mt_sched_destroy(mt_default()), 0);
}
#endif

int main(void)
{
#if MT_THREADS
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errors),
#if MT_IO
        cmocka_unit_test(test_burst_costs_one_wake),
#endif
        cmocka_unit_test(test_get_timeout_and_cancel),
        cmocka_unit_test(test_put_waits_for_room),
        cmocka_unit_test(test_put_timeout_keeps_deadline),
        cmocka_unit_test(test_put_wait_cancel_and_errors),
        cmocka_unit_test(test_merge_moves_room_waiters),
        cmocka_unit_test(test_cancel_while_woken_to_retry),
        cmocka_unit_test(test_threads_order_no_loss),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
#else
    return 0; /* no threads in this configuration */
#endif
}
