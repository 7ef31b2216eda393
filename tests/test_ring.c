/* The interrupt-to-task ring (mt_ring): items in order, none lost or
 * duplicated, a full ring refusing, wake-ups only for items, timeouts and
 * cancellation of the wait; a producer in a real signal handler and one in
 * another thread (built under ThreadSanitizer in make tsan). */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <string.h>

#include "util.h"
#if MT_IO
#include <pthread.h>
#include <sched.h>
#include <sys/time.h>
#endif

/* A consumer: MT_RING_GET in a loop, recording what it got, and how often
 * it resumed from a park (items taken at once do not count). */
struct consumer {
    mt_task task;
    mt_ring *r;
    long timeout;
    int want;        /* stop after this many items (0: never) */
    int got[512];
    int n, err, resumes;
    int item;
};

static int consumer(mt_task *t)
{
    struct consumer *f = (struct consumer *)t;
    MT_BEGIN(t);
    while (!f->want || f->n < f->want) {
        MT_CATCH(t, MT_RING_GET(t, f->r, &f->item, f->timeout));
        f->err = mt_err(t);
        if (f->err)
            break;
        if (f->n < (int)(sizeof f->got / sizeof f->got[0]))
            f->got[f->n] = f->item;
        f->n++;
    }
    MT_END(t);
}

/* Most tests: a scheduler on the fake clock, a ring of `cap` ints, and a
 * consumer on it with `timeout` (not added yet). */
struct fixture { mt_sched s; mt_ring r; struct fake_clock c; int buf[8]; };

static void setup(struct fixture *x, size_t cap, struct consumer *f, long timeout)
{
    memset(x, 0, sizeof *x);
    memset(f, 0, sizeof *f);
    mt_sched_init(&x->s);
    use_fake_clock(&x->s, &x->c, 0);
    assert_int_equal(mt_ring_init(&x->s, &x->r, x->buf, sizeof x->buf[0], cap), 0);
    f->r = &x->r;
    f->timeout = timeout;
}

/* Every test ends with the scheduler empty and destroyed cleanly. */
static void finish(struct fixture *x)
{
    assert_sched_empty(&x->s);
    assert_int_equal(mt_sched_destroy(&x->s), 0);
}

static void test_init_errors(void **state)
{
    mt_sched s;
    mt_ring r, zero;
    int buf[4], x = 1;
    (void)state;

    memset(&r, 0, sizeof r);
    memset(&zero, 0, sizeof zero);
    mt_sched_init(&s);
    assert_int_equal(mt_ring_init(NULL, &r, buf, sizeof buf[0], 4), MT_EINVAL);
    assert_int_equal(mt_ring_init(&s, NULL, buf, sizeof buf[0], 4), MT_EINVAL);
    assert_int_equal(mt_ring_init(&s, &r, NULL, sizeof buf[0], 4), MT_EINVAL);
    assert_int_equal(mt_ring_init(&s, &r, buf, 0, 4), MT_EINVAL);
    assert_int_equal(mt_ring_init(&s, &r, buf, sizeof buf[0], 0), MT_EINVAL);
    assert_int_equal(mt_ring_init(&s, &r, buf, sizeof buf[0], MT_RING_CAP_MAX + 1), MT_EINVAL);
    assert_int_equal(mt_ring_init(&s, &r, buf, (size_t)-1 / 2 + 1, 2), MT_EINVAL);
    /* Never initialised: refused, not written. */
    assert_int_equal(mt_ring_put(&zero, &x), MT_EINVAL);
    assert_int_equal(mt_ring_get(&zero, &x), MT_EINVAL);
    assert_int_equal(mt_ring_count(&zero), 0);
    assert_int_equal(mt_ring_put(NULL, &x), MT_EINVAL);
    assert_int_equal(mt_ring_get(NULL, &x), MT_EINVAL);
    assert_int_equal(mt_ring_count(NULL), 0);
    assert_int_equal(mt_ring_init(&s, &r, buf, sizeof buf[0], 4), 0);
    assert_int_equal(mt_ring_put(&r, NULL), MT_EINVAL);
    assert_int_equal(mt_ring_get(&r, NULL), MT_EINVAL);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* Against a model: random puts and gets on rings of several capacities
 * (not only powers of two; and MT_RING_CAP_MAX where that is small: 128
 * with byte indices, the mcu variant of make test), many times round the
 * index range. */
static void test_fifo_against_model(void **state)
{
    static unsigned char buf[300 * 3];
    size_t caps[] = {1, 2, 3, 7, 128, MT_RING_CAP_MAX < 300 ? MT_RING_CAP_MAX : 300};
    unsigned seed = 7;
    size_t k;
    (void)state;

    for (k = 0; k < sizeof caps / sizeof caps[0]; k++) {
        mt_sched s;
        mt_ring r;
        unsigned next_put = 0, next_get = 0;
        long i;

        memset(&r, 0, sizeof r);
        mt_sched_init(&s);
        assert_int_equal(mt_ring_init(&s, &r, buf, 3, caps[k]), 0);
        for (i = 0; i < 20000; i++) {
            unsigned char item[3];
            seed = seed * 1103515245u + 12345u;
            if ((seed >> 16) % 2) {
                item[0] = (unsigned char)next_put;
                item[1] = (unsigned char)(next_put >> 8);
                item[2] = 0xA5;
                if (next_put - next_get == caps[k]) {
                    assert_int_equal(mt_ring_put(&r, item), MT_EAGAIN);
                } else {
                    assert_int_equal(mt_ring_put(&r, item), 0);
                    next_put++;
                }
            } else if (next_put == next_get) {
                assert_int_equal(mt_ring_get(&r, item), MT_EAGAIN);
            } else {
                assert_int_equal(mt_ring_get(&r, item), 0);
                assert_int_equal(item[0] | item[1] << 8, next_get & 0xFFFF);
                assert_int_equal(item[2], 0xA5);
                next_get++;
            }
            assert_int_equal(mt_ring_count(&r), next_put - next_get);
        }
        assert_true(next_get > 5000);
        assert_int_equal(mt_sched_destroy(&s), 0);
    }
}

/* The full ring keeps every slot: capacity items fit, the next is refused
 * and nothing already in is overwritten. */
static void test_full_keeps_items(void **state)
{
    mt_sched s;
    mt_ring r;
    int buf[3], x, i;
    (void)state;

    memset(&r, 0, sizeof r);
    mt_sched_init(&s);
    assert_int_equal(mt_ring_init(&s, &r, buf, sizeof x, 3), 0);
    for (i = 1; i <= 3; i++)
        assert_int_equal(mt_ring_put(&r, &i), 0);
    x = 99;
    assert_int_equal(mt_ring_put(&r, &x), MT_EAGAIN);
    assert_int_equal(mt_ring_count(&r), 3);
    for (i = 1; i <= 3; i++) {
        assert_int_equal(mt_ring_get(&r, &x), 0);
        assert_int_equal(x, i);
    }
    assert_int_equal(mt_ring_get(&r, &x), MT_EAGAIN);
    /* Initialising again empties it. */
    assert_int_equal(mt_ring_put(&r, &x), 0);
    assert_int_equal(mt_ring_init(&s, &r, buf, sizeof x, 3), 0);
    assert_int_equal(mt_ring_count(&r), 0);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* A parked consumer wakes for a put made between cycles; a burst of puts
 * costs it one resume, and it takes them all in order. */
static void test_wait_then_burst(void **state)
{
    static struct fixture fx;
    static struct consumer f;
    int i;
    (void)state;
    setup(&fx, 8, &f, MT_FOREVER);

    f.want = 4;
    mt_sched_add(&fx.s, &f.task, consumer);
    assert_int_equal(mt_sched_run_once(&fx.s, 0), 1);
    assert_int_equal(mt_state(&f.task), MT_WAITING);
    for (i = 10; i < 14; i++)
        assert_int_equal(mt_ring_put(&fx.r, &i), 0); /* as an interrupt would */
    assert_int_equal(mt_sched_run_once(&fx.s, 0), 1);
    assert_int_equal(f.n, 4);
    for (i = 0; i < 4; i++)
        assert_int_equal(f.got[i], 10 + i);
    assert_int_equal(f.err, 0);
    assert_int_equal(mt_sched_run(&fx.s), 0);
    assert_int_equal(fx.c.now, 0);
    finish(&fx);
}

/* The producer runs in the idle wait, as an interrupt during a sleep. */
struct irq_clock {
    struct fake_clock c;
    mt_ring *r;
    int put_in_idle;
};

static mt_time irq_now(void *arg) { return ((struct irq_clock *)arg)->c.now; }

static void irq_idle(void *arg, long ms)
{
    struct irq_clock *k = (struct irq_clock *)arg;
    if (k->put_in_idle) {
        int v = k->put_in_idle;
        k->put_in_idle = 0;
        k->c.now = (mt_time)(k->c.now + 5); /* the interrupt came 5 ms in */
        assert_int_equal(mt_ring_put(k->r, &v), 0);
        return;
    }
    k->c.now = (mt_time)(k->c.now + (mt_time)ms);
}

static void test_put_during_idle_then_timeout(void **state)
{
    mt_sched s;
    mt_ring r;
    struct irq_clock k;
    static struct consumer f;
    int buf[2];
    (void)state;

    memset(&k, 0, sizeof k);
    memset(&r, 0, sizeof r);
    memset(&f, 0, sizeof f);
    mt_sched_init(&s);
    mt_sched_set_clock(&s, irq_now, irq_idle, &k);
    assert_int_equal(mt_ring_init(&s, &r, buf, sizeof buf[0], 2), 0);
    k.r = &r;
    f.r = &r;
    f.timeout = 100;
    mt_sched_add(&s, &f.task, consumer);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    k.put_in_idle = 42;
    assert_int_equal(mt_sched_run_once(&s, MT_FOREVER), 1);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.got[0], 42);
    assert_int_equal(k.c.now, 5);
    /* Nothing more: the next wait times out 100 ticks after it began. */
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(f.err, MT_ETIMEDOUT);
    assert_int_equal(f.n, 1);
    assert_int_equal(k.c.now, 105);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* Timeout 0 takes what is there and never parks. */
static void test_timeout_zero(void **state)
{
    static struct fixture fx;
    static struct consumer f;
    int x = 5;
    (void)state;
    setup(&fx, 2, &f, 0);

    assert_int_equal(mt_ring_put(&fx.r, &x), 0);
    mt_sched_add(&fx.s, &f.task, consumer);
    assert_int_equal(mt_sched_run(&fx.s), 0);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.got[0], 5);
    assert_int_equal(f.err, MT_ETIMEDOUT);
    assert_int_equal(fx.c.now, 0);
    finish(&fx);
}

/* A producer task that puts then yields, `n` times. */
struct producer { mt_task task; mt_ring *r; int i, n; };

static int producer(mt_task *t)
{
    struct producer *f = (struct producer *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < f->n; f->i++) {
        assert_int_equal(mt_ring_put(f->r, &f->i), 0);
        MT_YIELD(t);
    }
    MT_END(t);
}

/* The posts of items the consumer took at once (put earlier in the same
 * cycle) must not wake it once it parks: the wake-up would find the ring
 * empty. Nor may a wake-up kept while it ran make its next wait return. */
static void test_no_wake_for_taken_items(void **state)
{
    mt_sched s;
    mt_ring r;
    struct fake_clock c;
    struct reports rep;
    static struct consumer f;
    static struct producer p;
    int buf[4], x;
    (void)state;

    memset(&r, 0, sizeof r);
    memset(&f, 0, sizeof f);
    memset(&p, 0, sizeof p);
    start_sched(&s, &c, 0, &rep);
    assert_int_equal(mt_ring_init(&s, &r, buf, sizeof x, 4), 0);
    p.r = &r;
    p.n = 3;
    f.r = &r;
    f.timeout = MT_FOREVER;
    mt_sched_add(&s, &p.task, producer); /* runs first in each cycle */
    mt_sched_add(&s, &f.task, consumer);
    while (mt_state(&p.task) != MT_DONE)
        assert_int_equal(mt_sched_run_once(&s, 0) >= 0, 1);
    assert_int_equal(f.n, 3);
    assert_int_equal(f.err, 0);
    /* Every post was for an item taken at once: the consumer stays parked. */
    assert_int_equal(mt_sched_run_once(&s, 0), 0);
    assert_int_equal(mt_state(&f.task), MT_WAITING);
    assert_int_equal(f.n, 3);
    assert_int_equal(rep.count, 0);
    /* A put with the consumer busy elsewhere: the post is kept as a unit,
     * the item taken without waiting; the next wait must park, not return. */
    mt_cancel(&f.task);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(mt_state(&f.task), MT_CANCELLED);
    assert_int_equal(mt_err(&f.task), MT_ECANCELED);
    x = 7;
    assert_int_equal(mt_ring_put(&r, &x), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 0); /* takes the post */
    assert_int_equal(mt_ring_get(&r, &x), 0);
    assert_int_equal(x, 7);
    memset(&f, 0, sizeof f);
    f.r = &r;
    f.timeout = MT_FOREVER;
    mt_sched_add(&s, &f.task, consumer);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&f.task), MT_WAITING);
    assert_int_equal(f.n, 0);
    x = 8;
    assert_int_equal(mt_ring_put(&r, &x), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.got[0], 8);
    mt_cancel(&f.task);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* The state a post from another core can leave (see mt__take_signals):
 * the consumer parked, an item in the ring, signalled set, but the ring's
 * pending flag cleared by the scan of an earlier post whose item was
 * taken at once. The next cycle must still wake the consumer: a ring's
 * wake-up is decided by its count. */
static void test_item_without_pending_flag_wakes(void **state)
{
    static struct fixture fx;
    static struct consumer f;
    int x = 9;
    (void)state;
    setup(&fx, 2, &f, MT_FOREVER);

    f.want = 1;
    mt_sched_add(&fx.s, &f.task, consumer);
    assert_int_equal(mt_sched_run_once(&fx.s, 0), 1);
    assert_int_equal(mt_state(&f.task), MT_WAITING);
    assert_int_equal(mt_ring_put(&fx.r, &x), 0);
    fx.r.sig.pending = 0; /* as the reordered clear would leave it */
    assert_int_equal(mt_sched_signalled(&fx.s), 1);
    assert_int_equal(mt_sched_run_once(&fx.s, 0), 1);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.got[0], 9);
    assert_int_equal(mt_state(&f.task), MT_DONE);
    finish(&fx);
}

/* A cancelled wait leaves the ring as it was. */
static void test_cancel_wait(void **state)
{
    static struct fixture fx;
    static struct consumer f;
    int x = 3;
    (void)state;
    setup(&fx, 2, &f, 50);

    mt_sched_add(&fx.s, &f.task, consumer);
    assert_int_equal(mt_sched_run_once(&fx.s, 0), 1);
    assert_int_equal(mt_cancel(&f.task), 0);
    assert_int_equal(mt_sched_run(&fx.s), 0);
    assert_int_equal(mt_err(&f.task), MT_ECANCELED);
    assert_int_equal(f.n, 0);
    assert_int_equal(mt_ring_put(&fx.r, &x), 0);
    assert_int_equal(mt_sched_run(&fx.s), 0);
    x = 0;
    assert_int_equal(mt_ring_get(&fx.r, &x), 0);
    assert_int_equal(x, 3);
    finish(&fx);
}

/* MT_RING_GET on NULL raises MT_EINVAL; so does an uninitialised ring. */
static void test_wait_errors(void **state)
{
    mt_sched s;
    mt_ring zero;
    struct fake_clock c;
    static struct consumer f;
    (void)state;

    memset(&zero, 0, sizeof zero);
    memset(&f, 0, sizeof f);
    mt_sched_init(&s);
    use_fake_clock(&s, &c, 0);
    f.timeout = 10;
    mt_sched_add(&s, &f.task, consumer);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(f.err, MT_EINVAL);
    memset(&f, 0, sizeof f);
    f.r = &zero;
    f.timeout = 10;
    mt_sched_add(&s, &f.task, consumer);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(f.err, MT_EINVAL);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* The dump names what the consumer waits on. */
struct text { char buf[4096]; size_t n; };

static void collect(void *arg, const char *line)
{
    struct text *x = (struct text *)arg;
    size_t k = strlen(line);
    if (x->n + k < sizeof x->buf) {
        memcpy(x->buf + x->n, line, k + 1);
        x->n += k;
    }
}

static void test_dump_names_ring(void **state)
{
    static struct fixture fx;
    static struct consumer f;
    static struct text x;
    (void)state;

    if (!MT_DUMP)
        skip();
    setup(&fx, 2, &f, MT_FOREVER);
    mt_sched_add(&fx.s, &f.task, consumer);
    assert_int_equal(mt_sched_run_once(&fx.s, 0), 1);
    x.n = 0;
    assert_int_equal(mt_sched_dump(&fx.s, collect, &x), 1);
    assert_non_null(strstr(x.buf, "ring "));
    mt_cancel(&f.task);
    assert_int_equal(mt_sched_run(&fx.s), 0);
    assert_int_equal(mt_sched_destroy(&fx.s), 0);
}

#if MT_IO
/* A real signal handler is the producer: a 1 ms interval timer puts a
 * rising count; a full ring drops (and counts) the rest. */
static mt_ring *alarm_ring;
static volatile sig_atomic_t alarm_next, alarm_dropped;

static void on_alarm(int signo)
{
    int v = alarm_next;
    (void)signo;
    if (mt_ring_put(alarm_ring, &v) == 0)
        alarm_next = v + 1;
    else
        alarm_dropped = alarm_dropped + 1;
}

static void test_signal_handler_producer(void **state)
{
    mt_sched s;
    mt_ring r;
    static struct consumer f;
    int buf[4], i;
    struct sigaction sa;
    struct itimerval it = {{0, 1000}, {0, 1000}}, off = {{0, 0}, {0, 0}};
    (void)state;

    memset(&r, 0, sizeof r);
    memset(&f, 0, sizeof f);
    mt_sched_init(&s);
    assert_int_equal(mt_ring_init(&s, &r, buf, sizeof buf[0], 4), 0);
    alarm_ring = &r;
    alarm_next = 0;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
    f.r = &r;
    f.timeout = 5000; /* a stall fails, it does not hang */
    f.want = 50;
    mt_sched_add(&s, &f.task, consumer);
    assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(setitimer(ITIMER_REAL, &off, NULL), 0);
    signal(SIGALRM, SIG_DFL);
    assert_int_equal(f.err, 0);
    assert_int_equal(f.n, 50);
    for (i = 0; i < 50; i++)
        assert_int_equal(f.got[i], i); /* dropped puts take no number */
    assert_true(alarm_next >= 50);      /* the timer stopped after 50 were put */
    assert_true(alarm_next + alarm_dropped >= 50);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* Another thread is the producer: every item arrives once, in order, while
 * the scheduler blocks, sleeps and runs a second task. */
#define THREAD_ITEMS 200000

struct wide { unsigned seq; unsigned check; };

static int stop_producing; /* the consumer failed: no one takes any more */

static void *thread_producer(void *arg)
{
    mt_ring *r = (mt_ring *)arg;
    struct wide w;
    unsigned i;

    for (i = 0; i < THREAD_ITEMS; i++) {
        w.seq = i;
        w.check = ~i;
        while (mt_ring_put(r, &w) == MT_EAGAIN) {
            if (__atomic_load_n(&stop_producing, __ATOMIC_ACQUIRE))
                return NULL;
            sched_yield();
        }
    }
    return NULL;
}

struct wide_consumer { mt_task task; mt_ring *r; struct wide w; unsigned n; int bad, err; };

static int wide_consumer(mt_task *t)
{
    struct wide_consumer *f = (struct wide_consumer *)t;
    MT_BEGIN(t);
    while (f->n < THREAD_ITEMS) {
        MT_CATCH(t, MT_RING_GET(t, f->r, &f->w, 10000));
        f->err = mt_err(t);
        if (f->err)
            break;
        if (f->w.seq != f->n || f->w.check != ~f->n)
            f->bad++;
        f->n++;
    }
    MT_END(t);
}

/* Sleeps in small steps while the consumer runs, so cycles also block on
 * timers. */
struct napper { mt_task task; mt_task *consumer; };

static int napper(mt_task *t)
{
    struct napper *f = (struct napper *)t;
    MT_BEGIN(t);
    while (mt_state(f->consumer) >= MT_RUNNABLE)
        MT_SLEEP(t, 1);
    MT_END(t);
}

static void test_thread_producer(void **state)
{
    mt_sched s;
    mt_ring r;
    static struct wide buf[16];
    static struct wide_consumer f;
    static struct napper nap;
    pthread_t th;
    (void)state;

    memset(&r, 0, sizeof r);
    memset(&f, 0, sizeof f);
    mt_sched_init(&s);
    assert_int_equal(mt_ring_init(&s, &r, buf, sizeof buf[0], 16), 0);
    f.r = &r;
    nap.consumer = &f.task;
    mt_sched_add(&s, &f.task, wide_consumer);
    mt_sched_add(&s, &nap.task, napper);
    assert_int_equal(pthread_create(&th, NULL, thread_producer, &r), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    __atomic_store_n(&stop_producing, 1, __ATOMIC_RELEASE);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(f.err, 0);
    assert_int_equal(f.bad, 0);
    assert_int_equal(f.n, THREAD_ITEMS);
    assert_int_equal(mt_ring_count(&r), 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_errors),
        cmocka_unit_test(test_fifo_against_model),
        cmocka_unit_test(test_full_keeps_items),
        cmocka_unit_test(test_wait_then_burst),
        cmocka_unit_test(test_put_during_idle_then_timeout),
        cmocka_unit_test(test_timeout_zero),
        cmocka_unit_test(test_no_wake_for_taken_items),
        cmocka_unit_test(test_item_without_pending_flag_wakes),
        cmocka_unit_test(test_cancel_wait),
        cmocka_unit_test(test_wait_errors),
        cmocka_unit_test(test_dump_names_ring),
#if MT_IO
        cmocka_unit_test(test_signal_handler_producer),
        cmocka_unit_test(test_thread_producer),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
