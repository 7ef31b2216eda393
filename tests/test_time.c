/* Time: sleeps, their order, timeouts, deadlines handed down to children,
 * the idle wait (no busy loop), a clock that wraps. All in virtual time. */
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct sleeper {
    mt_task task;
    long ms;
    int id;
    int result;
    mt_sched *s;
    mt_time woke;
};

/* Wake order shared by the sleepers of a test. */
static int order[4096];
static mt_time woke_at[4096];
static int nwoke;

static int sleeper(mt_task *t)
{
    struct sleeper *f = (struct sleeper *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_SLEEP(t, f->ms));
    f->result = mt_err(t);
    f->woke = mt_sched_now(f->s);
    order[nwoke] = f->id;
    woke_at[nwoke++] = f->woke;
    MT_END(t);
}

static void add_sleeper(mt_sched *s, struct sleeper *f, int id, long ms)
{
    memset(f, 0, sizeof *f);
    f->id = id;
    f->ms = ms;
    f->s = s;
    assert_int_equal(mt_sched_add(s, &f->task, sleeper), 0);
}

static void test_sleepers_wake_in_deadline_order(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct sleeper sl[5];
    static const int want[] = {3, 1, 4, 2, 0};
    int i;
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, 1000);
    nwoke = 0;
    add_sleeper(&s, &sl[0], 0, 500);
    add_sleeper(&s, &sl[1], 1, 200);
    add_sleeper(&s, &sl[2], 2, 300);
    add_sleeper(&s, &sl[3], 3, 100);
    add_sleeper(&s, &sl[4], 4, 200); /* ties with 1, set after it */
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(nwoke, 5);
    for (i = 0; i < 5; i++) {
        assert_int_equal(order[i], want[i]);
        assert_int_equal(sl[i].result, 0);
        assert_int_equal(sl[i].woke, (mt_time)(1000 + sl[i].ms));
    }
    /* No busy loop: one blocking wait per distinct deadline. */
    assert_int_equal(c.idles, 4);
    assert_sched_empty(&s);
}

static void test_idle_blocks_until_next_deadline(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct sleeper a;
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, 0);
    nwoke = 0;
    add_sleeper(&s, &a, 0, 1000);
    assert_int_equal(mt_sched_run_once(&s, 0), 1); /* starts sleeping */
    assert_int_equal(mt_sched_has_timeouts(&s), 1);
    assert_int_equal(mt_state(&a.task), MT_WAITING);
    /* A cycle with a shorter timeout waits just that long. */
    assert_int_equal(mt_sched_run_once(&s, 300), 0);
    assert_int_equal(c.idles, 1);
    assert_int_equal(c.last_idle, 300);
    /* A poll does not block at all. */
    assert_int_equal(mt_sched_run_once(&s, 0), 0);
    assert_int_equal(c.idles, 1);
    /* Forever: up to the deadline, and the sleeper wakes in that cycle. */
    assert_int_equal(mt_sched_run_once(&s, MT_FOREVER), 1);
    assert_int_equal(c.idles, 2);
    assert_int_equal(c.last_idle, 700);
    assert_int_equal(a.woke, 1000);
    assert_sched_empty(&s);
}

/* sleep(0) gives way like a yield; a negative sleep is an error. */
struct zero {
    mt_task task;
    int step;
    int err;
};

static int zero_sleeper(mt_task *t)
{
    struct zero *f = (struct zero *)t;
    MT_BEGIN(t);
    order[nwoke++] = 10;
    MT_SLEEP(t, 0);
    order[nwoke++] = 11;
    MT_CATCH(t, MT_SLEEP(t, -1));
    f->err = mt_err(t);
    MT_END(t);
}

static int marker(mt_task *t)
{
    MT_BEGIN(t);
    order[nwoke++] = 20;
    MT_END(t);
}

static void test_sleep_zero_and_negative(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct zero z = {0};
    mt_task m = {0};
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, 0);
    nwoke = 0;
    mt_sched_add(&s, &z.task, zero_sleeper);
    mt_sched_add(&s, &m, marker);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(nwoke, 3);
    assert_int_equal(order[0], 10);
    assert_int_equal(order[1], 20); /* the other task ran in between */
    assert_int_equal(order[2], 11);
    assert_int_equal(z.err, MT_EINVAL);
    assert_int_equal(c.idles, 0);
    assert_sched_empty(&s);
}

static void test_cancel_sleeping_task(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct sleeper a, b;
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, 0);
    nwoke = 0;
    add_sleeper(&s, &a, 0, 1000);
    add_sleeper(&s, &b, 1, 2000);
    mt_sched_run_once(&s, 0);
    c.now = 10;
    assert_int_equal(mt_cancel(&b.task), 0);
    assert_int_equal(mt_state(&b.task), MT_RUNNABLE);
    mt_sched_run_once(&s, 0);
    assert_int_equal(b.result, MT_ECANCELED);
    assert_int_equal(b.woke, 10);
    assert_int_equal(mt_state(&b.task), MT_CANCELLED); /* caught it: still cancelled */
    /* Only a's timer remains; b never wakes a second time. */
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(nwoke, 2);
    assert_int_equal(a.woke, 1000);
    assert_sched_empty(&s);
}

/* A deadline handed down a chain: the parent allows 100 ticks for the whole
 * job; the child spends part sleeping, then gives its own child what is
 * left; that grandchild would sleep 500 and is cancelled at the deadline. */
struct grandchild {
    mt_task task;
    int cancelled;
};

static int grandchild(mt_task *t)
{
    struct grandchild *f = (struct grandchild *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_SLEEP(t, 500));
    f->cancelled = mt_err(t) == MT_ECANCELED;
    MT_END(t);
}

struct middle {
    mt_task task;
    mt_time deadline;
    long left;
    struct grandchild gc;
};

static int middle(mt_task *t)
{
    struct middle *f = (struct middle *)t;
    MT_BEGIN(t);
    MT_SLEEP(t, 30);
    f->left = mt_until(t, f->deadline);
    MT_AWAIT(t, &f->gc.task, grandchild, mt_until(t, f->deadline));
    MT_END(t);
}

struct top {
    mt_task task;
    mt_time deadline;
    struct middle mid;
    int err;
    mt_time ended;
    mt_sched *s;
};

static int top(mt_task *t)
{
    struct top *f = (struct top *)t;
    MT_BEGIN(t);
    f->deadline = mt_deadline(t, 100);
    f->mid.deadline = f->deadline;
    MT_CATCH(t, MT_AWAIT(t, &f->mid.task, middle, mt_until(t, f->deadline)));
    f->err = mt_err(t);
    f->ended = mt_sched_now(f->s);
    MT_END(t);
}

static void test_deadline_handed_down(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct top tp = {0};
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, (mt_time)-40); /* and across a wrap */
    tp.s = &s;
    mt_sched_add(&s, &tp.task, top);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(tp.deadline, (mt_time)60);
    assert_int_equal(tp.mid.left, 70);
    /* Both awaits share one deadline: whichever fires first, the
     * grandchild is cancelled and the error reaches the top at tick 60. */
    assert_int_equal(tp.mid.gc.cancelled, 1);
    assert_int_equal(tp.err, MT_ETIMEDOUT);
    assert_int_equal(tp.ended, (mt_time)60);
    /* The top's timer was armed first, so it fired first and cancelled the
     * middle (whose own timer, due at the same tick, no longer counts). */
    assert_int_equal(mt_state(&tp.mid.task), MT_CANCELLED);
    assert_sched_empty(&s);
}

static int deadline_math(mt_task *t)
{
    MT_BEGIN(t);
    assert_int_equal(mt_deadline(t, 0), (mt_time)5);
    assert_int_equal(mt_deadline(t, 10), (mt_time)15);
    assert_int_equal(mt_until(t, 15), 10);
    assert_int_equal(mt_until(t, 5), 0);
    assert_int_equal(mt_until(t, 4), 0); /* passed */
    assert_int_equal(mt_until(t, (mt_time)-20), 0);
    MT_SLEEP_UNTIL(t, 25);
    assert_int_equal(mt_until(t, 25), 0);
    MT_SLEEP_UNTIL(t, 3); /* past: gives way, no sleep */
    MT_END(t);
}

static void test_deadline_math(void **state)
{
    mt_sched s;
    struct fake_clock c;
    mt_task a = {0};
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, 5);
    mt_sched_add(&s, &a, deadline_math);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(mt_state(&a), MT_DONE);
    assert_int_equal(c.now, 25);
    assert_int_equal(c.idles, 1);
    assert_sched_empty(&s);
}

/* An await that ends before its timeout leaves no timer behind. */
struct quick_parent {
    mt_task task;
    struct sleeper child;
    mt_sched *s;
};

static int quick_parent(mt_task *t)
{
    struct quick_parent *f = (struct quick_parent *)t;
    MT_BEGIN(t);
    f->child.ms = 10;
    f->child.s = f->s;
    MT_AWAIT(t, &f->child.task, sleeper, 1000);
    assert_int_equal(mt_sched_has_timeouts(f->s), 0);
    MT_END(t);
}

static void test_early_wake_removes_timer(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct quick_parent p = {0};
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, 0);
    nwoke = 0;
    p.s = &s;
    mt_sched_add(&s, &p.task, quick_parent);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(c.now, 10);
    assert_int_equal(c.idles, 1);
    assert_sched_empty(&s);
}

/* Many random sleeps wake in deadline order, ties first come first served,
 * each at its own deadline; run on both sides of a clock wrap. */
static void check_many_sleeps(mt_time start)
{
    enum { N = 4000 };
    mt_sched s;
    struct fake_clock c;
    static struct sleeper sl[N];
    int i;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, start);
    nwoke = 0;
    srand(11);
    for (i = 0; i < N; i++)
        add_sleeper(&s, &sl[i], i, 1 + rand() % 1000);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(nwoke, N);
    for (i = 0; i < N; i++) {
        const struct sleeper *f = &sl[order[i]];
        assert_int_equal(f->woke, (mt_time)(start + (mt_time)f->ms));
        if (i > 0) {
            const struct sleeper *prev = &sl[order[i - 1]];
            assert_true(prev->ms < f->ms ||
                        (prev->ms == f->ms && prev->id < f->id));
        }
    }
    assert_sched_empty(&s);
}

static void test_many_sleeps_in_order(void **state)
{
    (void)state;
    check_many_sleeps(0);
    check_many_sleeps((mt_time)-500); /* wraps halfway */
}

/* Far timers (beyond the wheel: in the heap) armed in random order, a
 * quarter of them cancelled from the middle of the heap: the others still
 * wake at their deadlines, in order; the cancelled ones end cancelled at
 * the moment of the cancel. */
static void check_far_sleeps(mt_time start)
{
    enum { N = 3000 };
    mt_sched s;
    struct fake_clock c;
    static struct sleeper sl[N];
    const struct sleeper *prev = NULL;
    mt_time mid;
    int i, cancelled = 0;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, start);
    nwoke = 0;
    srand(23);
    for (i = 0; i < N; i++)
        add_sleeper(&s, &sl[i], i, 1 + rand() % (MT_TIMEOUT_MAX < 60000 ? MT_TIMEOUT_MAX : 60000));
    while (mt_time_before(c.now, (mt_time)(start + 5000)))
        assert_true(mt_sched_run_once(&s, MT_FOREVER) >= 0);
    mid = c.now;
    for (i = 0; i < N; i++)
        if (mt_state(&sl[i].task) == MT_WAITING && rand() % 4 == 0) {
            assert_int_equal(mt_cancel(&sl[i].task), 0);
            cancelled++;
        }
    assert_true(cancelled > N / 8);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(nwoke, N);
    for (i = 0; i < N; i++) {
        const struct sleeper *f = &sl[order[i]];
        if (f->result == MT_ECANCELED) { /* woken by the cancel, at once */
            assert_true(mt_time_before(mid, (mt_time)(start + (mt_time)f->ms)));
            assert_int_equal(f->woke, mid);
            cancelled--;
            continue;
        }
        assert_int_equal(f->result, 0);
        assert_int_equal(f->woke, (mt_time)(start + (mt_time)f->ms));
        if (prev)
            assert_true(prev->ms < f->ms || (prev->ms == f->ms && prev->id < f->id));
        prev = f;
    }
    assert_int_equal(cancelled, 0);
    assert_sched_empty(&s);
}

static void test_far_sleeps_in_order_with_cancels(void **state)
{
    (void)state;
    check_far_sleeps(0);
    check_far_sleeps((mt_time)-20000); /* wraps */
}

/* Equal deadlines fire in arming order even when one timer was armed far
 * ahead (kept in the heap) and the other close to its deadline (kept in the
 * wheel, with the default configuration). */
static void test_equal_deadlines_far_and_near(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct sleeper far, near, nearer;
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, 100);
    nwoke = 0;
    add_sleeper(&s, &far, 0, 20000);
    mt_sched_run_once(&s, 0);
    c.now = 100 + 19990;
    add_sleeper(&s, &near, 1, 10);
    mt_sched_run_once(&s, 0);
    add_sleeper(&s, &nearer, 2, 10);
    mt_sched_run_once(&s, 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(nwoke, 3);
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 1);
    assert_int_equal(order[2], 2);
    assert_int_equal(far.woke, (mt_time)20100);
    assert_int_equal(nearer.woke, (mt_time)20100);
    assert_sched_empty(&s);
}

/* Every wait refuses a bad timeout, MT_WAIT_UNTIL too when its condition
 * holds at once (it used to go on); a negative mt_deadline is now. */
struct bad_timeout { mt_task task; int err_true, err_false; mt_time d, now; };

static int bad_timeout(mt_task *t)
{
    struct bad_timeout *f = (struct bad_timeout *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_WAIT_UNTIL(t, 1, -2));
    f->err_true = mt_err(t);
    MT_CATCH(t, MT_WAIT_UNTIL(t, 0, -2));
    f->err_false = mt_err(t);
    f->d = mt_deadline(t, -5);
    f->now = mt_sched_now(mt_default());
    MT_END(t);
}

/* Uncaught, it raises: the task fails with MT_EINVAL, the rest never runs. */
struct bad_timeout_raised { mt_task task; int after; };

static int bad_timeout_raised(mt_task *t)
{
    struct bad_timeout_raised *f = (struct bad_timeout_raised *)t;
    MT_BEGIN(t);
    MT_WAIT_UNTIL(t, 1, -2);
    f->after = 1;
    MT_END(t);
}

static void test_bad_timeouts_refused(void **state)
{
    static struct bad_timeout b;
    struct fake_clock c;
    (void)state;

    use_fake_clock(mt_default(), &c, 500);
    assert_int_equal(mt_add(&b.task, bad_timeout), 0);
    assert_int_equal(mt_run(), 0);
    assert_int_equal(b.err_true, MT_EINVAL);
    assert_int_equal(b.err_false, MT_EINVAL);
    assert_int_equal(b.d, 500);
    {
        static struct bad_timeout_raised r;
        struct reports rep = {0};
        mt_sched_set_report(mt_default(), record_report, &rep);
        assert_int_equal(mt_add(&r.task, bad_timeout_raised), 0);
        assert_int_equal(mt_run(), MT_EUNHANDLED);
        assert_int_equal(r.after, 0);
        assert_int_equal(mt_state(&r.task), MT_FAILED);
        assert_int_equal(mt_err(&r.task), MT_EINVAL);
        assert_int_equal(rep.count, 1);
        mt_sched_set_report(mt_default(), NULL, NULL);
    }
    mt_sched_set_clock(mt_default(), NULL, NULL, NULL);
    assert_int_equal(mt_sched_destroy(mt_default()), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_timeouts_refused),
        cmocka_unit_test(test_sleepers_wake_in_deadline_order),
        cmocka_unit_test(test_idle_blocks_until_next_deadline),
        cmocka_unit_test(test_sleep_zero_and_negative),
        cmocka_unit_test(test_cancel_sleeping_task),
        cmocka_unit_test(test_deadline_handed_down),
        cmocka_unit_test(test_deadline_math),
        cmocka_unit_test(test_early_wake_removes_timer),
        cmocka_unit_test(test_many_sleeps_in_order),
        cmocka_unit_test(test_far_sleeps_in_order_with_cancels),
        cmocka_unit_test(test_equal_deadlines_far_and_near),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
