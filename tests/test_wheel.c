/* The timer wheel's second level (multitask.c, "Timers"): timers due past
 * the first level's 2^MT_WHEEL_BITS ticks wait in slots 2^MT_WHEEL_BITS
 * ticks wide, each kept in deadline order, and their block comes down into
 * the first level (the cascade) when the clock reaches it. What users see
 * must not change: timers fire in (deadline, arming) order at their exact
 * deadlines, idle waits end exactly at the next deadline, a cancelled timer
 * never fires. Where the configuration has a second level, the tests also
 * check that their timers sit in it, so that it is the level under test.
 * tests/test_wheel16.c runs them again with 16-bit ticks. */
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* W: the first level's ticks, the unit of the tests' timeouts (up to 16W;
 * a smaller unit where 16W would not be a valid timeout). LEVEL2: a second
 * level reaching past 12W, where the tests check which level holds what. */
#define WBITS (MT_WHEEL_BITS ? MT_WHEEL_BITS : 10)
#define W_FITS ((1L << WBITS) * 16 <= MT_TIMEOUT_MAX)
#define W (W_FITS ? 1L << WBITS : MT_TIMEOUT_MAX / 16)
#if MT_WHEEL_BITS
#define LEVEL2 (W_FITS && MT__W2_BITS >= 4)
#define IN_LEVEL2(s) ((s)->ncoarse)
#else
#define LEVEL2 0
#define IN_LEVEL2(s) 0u
#endif
#define ticks(x) ((mt_time)(x))

/* A timer: sleeps `pre` ticks first if set (to arm the main timer later),
 * then `ms`, `rounds` times (each next timeout is the last one's half,
 * plus a little); logs each wake-up: who, when, the deadline, and the
 * arming's rank among all. */
struct timer {
    mt_task task;
    long pre, ms;
    int id, result, rounds;
    mt_sched *s;
    mt_time woke, deadline;
    unsigned long rank;
};

enum { MAXLOG = 8192 };
static struct wake {
    int id;
    mt_time at, deadline;
    unsigned long rank;
} wlog[MAXLOG];
static int nwoke;
static unsigned long armings;

static int timer_fn(mt_task *t)
{
    struct timer *f = (struct timer *)t;
    MT_BEGIN(t);
    if (f->pre > 0)
        MT_SLEEP(t, f->pre);
    for (;;) {
        f->rank = ++armings;
        f->deadline = ticks(mt_sched_now(f->s) + (mt_time)f->ms);
        MT_CATCH(t, MT_SLEEP(t, f->ms));
        f->result = mt_err(t);
        f->woke = mt_sched_now(f->s);
        assert_true(nwoke < MAXLOG);
        wlog[nwoke].id = f->id;
        wlog[nwoke].at = f->woke;
        wlog[nwoke].deadline = f->deadline;
        wlog[nwoke].rank = f->rank;
        nwoke++;
        if (f->result || --f->rounds <= 0)
            break;
        f->ms = f->ms / 2 + f->id % 97 + 1;
    }
    MT_END(t);
}

static void add_timer(mt_sched *s, struct timer *f, int id, long pre, long ms)
{
    memset(f, 0, sizeof *f);
    f->id = id;
    f->pre = pre;
    f->ms = ms;
    f->s = s;
    f->rounds = 1;
    assert_int_equal(mt_sched_add(s, &f->task, timer_fn), 0);
}

/* Wake-ups by timer, log entries from..nwoke: each at its deadline (or,
 * with `late`, at it or after), in (deadline, arming) order. */
static void check_log(int from, int late)
{
    const struct wake *p = NULL;
    int i;
    for (i = from; i < nwoke; i++) {
        const struct wake *w = &wlog[i];
        if (w->at != w->deadline) {
            assert_true(late);
            assert_true(mt_time_before(w->deadline, w->at));
        }
        if (p) {
            assert_false(mt_time_before(w->deadline, p->deadline));
            if (w->deadline == p->deadline)
                assert_true(p->rank < w->rank);
        }
        p = w;
    }
}

/* Equal deadlines fire in arming order whatever level each was armed into:
 * 0 and 1 far ahead (second level), 2 after the first level moved on and
 * 3 when it started again short of their block (second level still: the
 * first could hold the deadline, but a timer of it waits above), 4 once
 * their block came down (first level). */
static void check_equal_deadlines(mt_time start)
{
    mt_sched s;
    struct fake_clock c;
    struct timer tm[5];
    const long q = W / 4, d = 5 * W + 2 * q; /* from start: in the sixth block */
    int i;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, start);
    nwoke = 0;
    add_timer(&s, &tm[0], 0, 0, d);             /* armed at start */
    add_timer(&s, &tm[1], 1, 2 * W, d - 2 * W); /* at start + 2W */
    add_timer(&s, &tm[2], 2, 4 * W + q, d - 4 * W - q);
    add_timer(&s, &tm[3], 3, 4 * W + 3 * q, d - 4 * W - 3 * q);
    add_timer(&s, &tm[4], 4, 5 * W + q, q); /* after the cascade */
    assert_int_equal(mt_sched_run_once(&s, 0), 5);
    if (LEVEL2)
        assert_int_equal(IN_LEVEL2(&s), 5);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(nwoke, 5);
    for (i = 0; i < 5; i++) {
        assert_int_equal(wlog[i].id, i);
        assert_int_equal(wlog[i].at, ticks(start + d));
    }
    check_log(0, 0);
    /* One idle wait per distinct deadline: 2W, 4W + q, 4W + 3q, 5W + q, d. */
    assert_int_equal(c.idles, 5);
    assert_sched_empty(&s);
}

static void test_equal_deadlines_around_the_cascade(void **state)
{
    (void)state;
    check_equal_deadlines(0);
    check_equal_deadlines(ticks(0 - 3 * W)); /* the blocks straddle the wrap */
}

/* Timers spread over the second level in pairs (even, then odd a tick
 * later); at start + W + 5 a canceller cancels every even one, among them
 * the first of each slot. The cancelled ones end at once and never fire;
 * the rest fire in order at their deadlines, with one idle wait each: none
 * ends at a cancelled deadline. */
enum { NCANCEL = 300 };
static struct timer *cancel_set;

static int canceller(mt_task *t)
{
    int i;
    MT_BEGIN(t);
    MT_SLEEP(t, W + 5);
    for (i = 0; i < NCANCEL; i += 2)
        assert_int_equal(mt_cancel(&cancel_set[i].task), 0);
    MT_END(t);
}

static void check_cancels(mt_time start)
{
    mt_sched s;
    struct fake_clock c;
    static struct timer tm[NCANCEL];
    static mt_task cf;
    long step = 6 * W / (NCANCEL / 2) > 2 ? 6 * W / (NCANCEL / 2) : 2;
    int i;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, start);
    nwoke = 0;
    for (i = 0; i < NCANCEL; i++)
        add_timer(&s, &tm[i], i, 0, 2 * W + (i / 2) * step + (i & 1));
    cancel_set = tm;
    assert_int_equal(mt_sched_add(&s, &cf, canceller), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), NCANCEL + 1);
    if (LEVEL2)
        assert_int_equal(IN_LEVEL2(&s), NCANCEL + 1);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(nwoke, NCANCEL);
    for (i = 0; i < NCANCEL; i++) {
        const struct wake *w = &wlog[i];
        if (i < NCANCEL / 2) { /* the cancelled, in the cycle after */
            assert_int_equal(w->id & 1, 0);
            assert_int_equal(tm[w->id].result, MT_ECANCELED);
            assert_int_equal(w->at, ticks(start + W + 5));
        } else {
            assert_int_equal(w->id & 1, 1);
            assert_int_equal(tm[w->id].result, 0);
        }
    }
    check_log(NCANCEL / 2, 0);
    assert_int_equal(c.idles, 1 + NCANCEL / 2);
    assert_sched_empty(&s);
}

static void test_cancel_before_the_cascade(void **state)
{
    (void)state;
    check_cancels(100);
    check_cancels(ticks(0 - 4 * W - 3));
}

/* Many timers re-armed over and over with timeouts from 1 tick to past the
 * second level (heap), in random order: each wakes at its deadline, all in
 * deadline order, equal deadlines in arming order, and every idle wait
 * ends at a deadline (something wakes in that cycle). */
static long far_max(void)
{
    long m = 100 * W;
    return m < MT_TIMEOUT_MAX / 2 ? m : MT_TIMEOUT_MAX / 2;
}

static void check_many(mt_time start, unsigned seed)
{
    enum { N = 2000 };
    mt_sched s;
    struct fake_clock c;
    static struct timer tm[N];
    unsigned long woken = 0;
    int i;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, start);
    nwoke = 0;
    srand(seed);
    for (i = 0; i < N; i++) {
        long r = rand() % 4;
        long ms = r == 0 ? 1 + rand() % W : r == 3 ? 1 + rand() % far_max() : W + rand() % (10 * W);
        add_timer(&s, &tm[i], i, 0, ms);
        tm[i].rounds = 1 + rand() % 3;
    }
    while (mt_sched_has_runnable(&s) || mt_sched_has_timeouts(&s)) {
        unsigned long idles = c.idles;
        int before = nwoke, from = nwoke > 0 ? nwoke - 1 : 0; /* on from the last */
        assert_true(mt_sched_run_once(&s, MT_FOREVER) >= 0);
        if (c.idles != idles)
            assert_true(nwoke > before);
        check_log(from, 0);
        woken += (unsigned long)(nwoke - before);
        if (nwoke > MAXLOG - N) { /* keep the log short, and its last */
            wlog[0] = wlog[nwoke - 1];
            nwoke = 1;
        }
    }
    assert_true(woken >= N);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_sched_empty(&s);
}

static void test_many_timers(void **state)
{
    (void)state;
    armings = 0;
    check_many(0, 7);
    check_many(ticks(0 - 7 * W), 9);
    check_many(ticks(12345), 11);
}

/* The clock jumps past several blocks of the second level at once: one
 * cycle fires every timer due, in order (blocks come down one after the
 * other), and leaves the later ones of the block it landed in for their
 * deadlines. */
static void check_jump(mt_time start)
{
    mt_sched s;
    struct fake_clock c;
    struct timer tm[12];
    static const long at[12] = {6, 2, 2, 3, 7, 3, 5, 6, 1, 5, 8, 6}; /* blocks */
    const long land = 6 * W + W / 2;
    int i, due = 0;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, start);
    nwoke = 0;
    for (i = 0; i < 12; i++) {
        /* equal deadlines: 6 and 9, 7 and 11 (in block 6, after where the
         * clock lands; 0 is in it, before) */
        long ms = at[i] * W + (i % 3 == 0 ? W / 4 : W / 2 + 10 * (i % 2));
        add_timer(&s, &tm[i], i, 0, ms);
        due += ms <= land;
    }
    assert_int_equal(mt_sched_run_once(&s, 0), 12);
    if (LEVEL2)
        assert_int_equal(IN_LEVEL2(&s), 12);
    c.now = ticks(start + land);
    assert_int_equal(mt_sched_run_once(&s, 0), due);
    assert_int_equal(nwoke, due);
    check_log(0, 1);
    for (i = 0; i < due; i++)
        assert_int_equal(wlog[i].at, c.now);
    assert_int_equal(c.idles, 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(nwoke, 12);
    check_log(due, 0);
    assert_false(mt_time_before(wlog[due].deadline, wlog[due - 1].deadline));
    assert_int_equal(c.idles, 3);
    assert_sched_empty(&s);
}

static void test_clock_jump_past_several_blocks(void **state)
{
    (void)state;
    check_jump(0);
    check_jump(ticks(0 - 5 * W));
}

/* Timers armed in decreasing deadline order into one block, in pairs of
 * equal deadlines: each goes before the ones already there (a slot keeps
 * its ring in deadline order), and past more than a few of them into the
 * heap instead. All fire in order at their deadlines. */
static void test_block_armed_backwards(void **state)
{
    enum { N = 40 };
    mt_sched s;
    struct fake_clock c;
    struct timer tm[N];
    long step = W / N > 0 ? W / N : 1;
    int i;
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, 50);
    nwoke = 0;
    for (i = 0; i < N; i++) /* 5W - 1 down, a pair at a time */
        add_timer(&s, &tm[i], i, 0, 5 * W - 1 - (i / 2) * step);
    assert_int_equal(mt_sched_run_once(&s, 0), N);
    if (LEVEL2) {
        assert_true(IN_LEVEL2(&s) > 8);
        assert_true(IN_LEVEL2(&s) < N); /* the rest passed too many */
    }
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(nwoke, N);
    check_log(0, 0);
    for (i = 0; i < N; i++) /* last armed pair first, each pair in order */
        assert_int_equal(wlog[i].id, N - 2 - (i / 2) * 2 + (i & 1));
    assert_int_equal(c.idles, N / 2);
    assert_sched_empty(&s);
}

/* mt_sched_merge moves second-level timers too, in order: after dst's own
 * timers of the same deadline, src's keep theirs. */
static void test_merge_moves_the_second_level(void **state)
{
    mt_sched a, b;
    struct fake_clock ca, cb;
    struct timer tm[6];
    static const int want[6] = {4, 5, 2, 0, 1, 3};
    int i;
    (void)state;

    mt_sched_init(&a);
    mt_sched_init(&b);
    use_fake_clock(&a, &ca, 1000);
    use_fake_clock(&b, &cb, 1000);
    nwoke = 0;
    add_timer(&a, &tm[0], 0, 0, 3 * W + 1);
    add_timer(&b, &tm[1], 1, 0, 3 * W + 1);
    add_timer(&b, &tm[2], 2, 0, 3 * W);
    add_timer(&b, &tm[3], 3, 0, 3 * W + 1);
    add_timer(&b, &tm[4], 4, 0, 5);
    add_timer(&a, &tm[5], 5, 0, 3 * W);
    for (i = 0; i < 6; i++)
        tm[i].s = &a; /* the clocks agree; a's once moved */
    assert_int_equal(mt_sched_run_once(&a, 0), 2);
    assert_int_equal(mt_sched_run_once(&b, 0), 4);
    if (LEVEL2)
        assert_int_equal(IN_LEVEL2(&b), 3);
    assert_int_equal(mt_sched_merge(&a, &b), 0);
    assert_int_equal(mt_sched_has_timeouts(&b), 0);
    assert_int_equal(mt_sched_run(&a), 0);
    assert_int_equal(nwoke, 6);
    for (i = 0; i < 6; i++) {
        assert_int_equal(wlog[i].id, want[i]);
        assert_int_equal(wlog[i].at, tm[want[i]].deadline);
    }
    assert_sched_empty(&a);
    assert_sched_empty(&b);
}

#if MT_DUMP
static int dumped_lines;
static void count_line(void *arg, const char *line)
{
    (void)arg;
    (void)line;
    dumped_lines++;
}

/* The dump (and so the stranded-task report) lists second-level timers. */
static void test_dump_lists_the_second_level(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct timer tm[3];
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, 0);
    add_timer(&s, &tm[0], 0, 0, 10);
    add_timer(&s, &tm[1], 1, 0, 3 * W);
    add_timer(&s, &tm[2], 2, 0, 9 * W);
    assert_int_equal(mt_sched_run_once(&s, 0), 3);
    dumped_lines = 0;
    assert_int_equal(mt_sched_dump(&s, count_line, NULL), 3);
    assert_int_equal(dumped_lines, 3);
    nwoke = 0;
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(nwoke, 3);
    assert_sched_empty(&s);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equal_deadlines_around_the_cascade),
        cmocka_unit_test(test_cancel_before_the_cascade),
        cmocka_unit_test(test_many_timers),
        cmocka_unit_test(test_clock_jump_past_several_blocks),
        cmocka_unit_test(test_block_armed_backwards),
        cmocka_unit_test(test_merge_moves_the_second_level),
#if MT_DUMP
        cmocka_unit_test(test_dump_lists_the_second_level),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
