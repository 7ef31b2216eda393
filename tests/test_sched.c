/* The scheduler: adding and running tasks, cycles, fairness, condition
 * waits, merge, reports of unhandled errors, misuse. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* A log of events, shared by the tasks of one test. */
static char events[256][24];
static int nevents;

static void logf_(const char *fmt, const char *a, long b)
{
    snprintf(events[nevents++], sizeof events[0], fmt, a, b);
}

static void reset_log(void) { nevents = 0; }

static void assert_log(const char *const *want, int n)
{
    int i;
    assert_int_equal(nevents, n);
    for (i = 0; i < n; i++)
        assert_string_equal(events[i], want[i]);
}

struct printer {
    mt_task task;
    const char *name;
    long rounds, i;
};

static int printer(mt_task *t)
{
    struct printer *f = (struct printer *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < f->rounds; f->i++) {
        logf_("%s%ld", f->name, f->i);
        MT_YIELD(t);
    }
    MT_END(t);
}

static void test_two_tasks_take_turns(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct printer a = {0}, b = {0};
    static const char *const want[] = {"a0", "b0", "a1", "b1", "a2", "b2"};
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, 0);
    reset_log();
    a.name = "a", b.name = "b";
    a.rounds = b.rounds = 3;
    assert_int_equal(mt_sched_add(&s, &a.task, printer), 0);
    assert_int_equal(mt_sched_add(&s, &b.task, printer), 0);
    assert_int_equal(mt_state(&a.task), MT_RUNNABLE);
    assert_int_equal(mt_sched_live(&s), 2);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_log(want, 6);
    assert_int_equal(mt_state(&a.task), MT_DONE);
    assert_int_equal(mt_state(&b.task), MT_DONE);
    assert_int_equal(mt_err(&a.task), 0);
    assert_string_equal(mt_errmsg(&a.task), "");
    assert_int_equal(c.idles, 0); /* always something runnable: no blocking */
    assert_sched_empty(&s);
}

/* One cycle resumes each task that was runnable at its start, once. */
static void test_run_once_is_one_cycle(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct printer a = {0}, b = {0};
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, 0);
    reset_log();
    a.name = "a", b.name = "b";
    a.rounds = 2, b.rounds = 1;
    assert_int_equal(mt_sched_run_once(&s, 0), 0); /* nothing to do */
    assert_int_equal(mt_sched_run_once(&s, MT_FOREVER), 0); /* nor to wait on */
    mt_sched_add(&s, &a.task, printer);
    mt_sched_add(&s, &b.task, printer);
    assert_int_equal(mt_sched_has_runnable(&s), 1);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    assert_int_equal(nevents, 2);
    assert_int_equal(mt_sched_run_once(&s, 0), 2); /* a1, b ends */
    assert_int_equal(nevents, 3);
    assert_int_equal(mt_state(&b.task), MT_DONE);
    assert_int_equal(mt_sched_run_once(&s, 0), 1); /* a ends */
    assert_int_equal(mt_sched_has_runnable(&s), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 0);
    assert_sched_empty(&s);
}

/* A task added by a running task, and a task that yields in a loop, both
 * wait for the next cycle. */
struct spawner {
    mt_task task;
    struct printer child;
};

static int spawner(mt_task *t)
{
    struct spawner *f = (struct spawner *)t;
    MT_BEGIN(t);
    logf_("%sspawn%ld", "", 0);
    f->child.name = "c";
    f->child.rounds = 1;
    assert_int_equal(mt_sched_add(mt_default(), &f->child.task, printer), 0);
    MT_END(t);
}

static void test_added_during_cycle_runs_next_cycle(void **state)
{
    static struct spawner sp;
    static struct printer loop;
    (void)state;

    reset_log();
    memset(&sp, 0, sizeof sp);
    memset(&loop, 0, sizeof loop);
    loop.name = "l";
    loop.rounds = 3;
    assert_int_equal(mt_add(&sp.task, spawner), 0);
    assert_int_equal(mt_add(&loop.task, printer), 0);
    assert_int_equal(mt_sched_run_once(mt_default(), 0), 2);
    /* spawn0, l0 ran; c did not (added during the cycle), l not twice. */
    assert_int_equal(nevents, 2);
    assert_string_equal(events[0], "spawn0");
    assert_string_equal(events[1], "l0");
    assert_int_equal(mt_sched_run_once(mt_default(), 0), 2);
    assert_string_equal(events[2], "c0");
    assert_string_equal(events[3], "l1");
    assert_int_equal(mt_run(), 0);
    assert_sched_empty(mt_default());
}

/* FIFO among many, over many rounds. */
static void test_fifo_many_tasks(void **state)
{
    enum { N = 50, R = 20 };
    mt_sched s;
    struct fake_clock c;
    static struct printer p[N];
    static char names[N][16];
    int i, r;
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, 0);
    memset(p, 0, sizeof p);
    reset_log();
    for (i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "%d-", i);
        p[i].name = names[i];
        p[i].rounds = R;
        assert_int_equal(mt_sched_add(&s, &p[i].task, printer), 0);
    }
    for (r = 0; r < R; r++) {
        reset_log();
        assert_int_equal(mt_sched_run_once(&s, 0), N);
        for (i = 0; i < N; i++) {
            char want[24];
            snprintf(want, sizeof want, "%d-%d", i, r);
            assert_string_equal(events[i], want);
        }
    }
    assert_int_equal(mt_sched_run(&s), 0);
    assert_sched_empty(&s);
}

static void test_add_misuse(void **state)
{
    mt_sched s;
    struct printer a = {0};
    (void)state;

    mt_sched_init(&s);
    a.rounds = 1;
    a.name = "a";
    reset_log();
    assert_int_equal(mt_sched_add(NULL, &a.task, printer), MT_EINVAL);
    assert_int_equal(mt_sched_add(&s, NULL, printer), MT_EINVAL);
    assert_int_equal(mt_sched_add(&s, &a.task, NULL), MT_EINVAL);
    assert_int_equal(mt_sched_live(&s), 0);
    assert_int_equal(mt_sched_add(&s, &a.task, printer), 0);
#if !MT_ASSERT
    assert_int_equal(mt_sched_add(&s, &a.task, printer), MT_EBUSY);
#endif
    assert_int_equal(mt_sched_live(&s), 1);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(nevents, 1); /* ran once, not twice */
    /* An ended frame can be reused. */
    assert_int_equal(mt_sched_add(&s, &a.task, printer), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(nevents, 2);
    assert_int_equal(mt_sched_run(NULL), MT_EINVAL);
    assert_int_equal(mt_sched_run_once(NULL, 0), MT_EINVAL);
    assert_int_equal(mt_sched_run_once(&s, -2), MT_EINVAL);
    assert_int_equal(mt_state(NULL), MT_EINVAL);
    assert_int_equal(mt_err(NULL), MT_EINVAL);
    assert_string_equal(mt_errmsg(NULL), "");
    assert_int_equal(mt_cancel(NULL), MT_EINVAL);
    assert_int_equal(mt_state(&(mt_task){0}), MT_NEW);
    assert_sched_empty(&s);
}

/* Running a scheduler from inside one of its tasks is refused. */
struct reenter {
    mt_task task;
    mt_sched *s;
    int run, once;
};

static int reenter(mt_task *t)
{
    struct reenter *f = (struct reenter *)t;
    MT_BEGIN(t);
    f->run = mt_sched_run(f->s);
    f->once = mt_sched_run_once(f->s, 0);
    MT_END(t);
}

static void test_reentrant_run_refused(void **state)
{
    mt_sched s;
    struct reenter r = {0};
    (void)state;

    SKIP_IF_ASSERT();

    mt_sched_init(&s);
    r.s = &s;
    mt_sched_add(&s, &r.task, reenter);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(r.run, MT_EBUSY);
    assert_int_equal(r.once, MT_EBUSY);
    assert_sched_empty(&s);
}

/* Unhandled errors: reported once, the task ends FAILED, others go on, the
 * run reports failure. */
struct raiser {
    mt_task task;
    int code;
    const char *msg;
    int finally_runs;
};

static int raiser(mt_task *t)
{
    struct raiser *f = (struct raiser *)t;
    MT_BEGIN(t);
    MT_YIELD(t);
    MT_RAISE(t, f->code, f->msg);
    MT_FINALLY(t);
    f->finally_runs++;
    MT_END(t);
}

static void test_unhandled_error_reported(void **state)
{
    mt_sched s;
    struct reports rep = {0};
    struct raiser bad = {0};
    struct printer good = {0};
    (void)state;

    mt_sched_init(&s);
    mt_sched_set_report(&s, record_report, &rep);
    reset_log();
    bad.code = MT_EUSER - 7;
    bad.msg = "broken";
    good.name = "g";
    good.rounds = 4;
    mt_sched_add(&s, &bad.task, raiser);
    mt_sched_add(&s, &good.task, printer);
    assert_int_equal(mt_sched_run(&s), MT_EUNHANDLED);
    assert_int_equal(rep.count, 1);
    assert_ptr_equal(rep.task, &bad.task);
    assert_string_equal(rep.name, "raiser");
    assert_int_equal(rep.code, MT_EUSER - 7);
    assert_string_equal(rep.msg, "broken");
    assert_int_equal(bad.finally_runs, 1);
    assert_int_equal(mt_state(&bad.task), MT_FAILED);
    assert_int_equal(mt_err(&bad.task), MT_EUSER - 7);
    assert_string_equal(mt_errmsg(&bad.task), "broken");
    assert_int_equal(nevents, 4); /* the other task ran to its end */
    assert_int_equal(mt_state(&good.task), MT_DONE);
    /* The failure belongs to that run: the next one is clean. */
    good.rounds = 1;
    mt_sched_add(&s, &good.task, printer);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_sched_empty(&s);
}

/* The default report: one line on stderr naming the task and the error. */
static void test_default_report_line(void **state)
{
    mt_sched s;
    struct raiser bad = {0};
    char line[256] = {0};
    FILE *tmp = tmpfile();
    int saved;
    (void)state;

    assert_non_null(tmp);
    mt_sched_init(&s);
    bad.code = MT_EFAIL;
    bad.msg = "foo";
    mt_sched_add(&s, &bad.task, raiser);
    fflush(stderr);
    saved = dup(2);
    dup2(fileno(tmp), 2);
    assert_int_equal(mt_sched_run(&s), MT_EUNHANDLED);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    assert_non_null(fgets(line, sizeof line, tmp));
    assert_string_equal(line, "multitask: task raiser failed: foo (MT_EFAIL)\n");
    assert_null(fgets(line, sizeof line, tmp)); /* exactly one line */
    fclose(tmp);
    assert_sched_empty(&s);
}

/* MT_RAISE with a code that is not a negative int16_t becomes MT_EINVAL. */
static void test_raise_bad_code(void **state)
{
    mt_sched s;
    struct reports rep = {0};
    struct raiser bad = {0};
    (void)state;

    mt_sched_init(&s);
    mt_sched_set_report(&s, record_report, &rep);
    bad.code = 5;
    mt_sched_add(&s, &bad.task, raiser);
    assert_int_equal(mt_sched_run(&s), MT_EUNHANDLED);
    assert_int_equal(rep.code, MT_EINVAL);
    assert_int_equal(mt_err(&bad.task), MT_EINVAL);
    /* Too negative for the task's int16_t error: refused the same way, not
     * truncated into some other code. */
    bad.code = -40000;
    mt_sched_add(&s, &bad.task, raiser);
    assert_int_equal(mt_sched_run(&s), MT_EUNHANDLED);
    assert_int_equal(mt_err(&bad.task), MT_EINVAL);
    assert_string_equal(mt_errmsg(&bad.task), "MT_RAISE with a code that is not a negative int16_t");
    assert_sched_empty(&s);
}

/* A task function that returns without MT_END fails with MT_EINVAL instead
 * of vanishing. */
static int rogue(mt_task *t)
{
    (void)t;
    return 0;
}

static int rogue_big(mt_task *t)
{
    (void)t;
    return 42;
}

static void test_return_outside_end(void **state)
{
    mt_sched s;
    struct reports rep = {0};
    mt_task a = {0}, b = {0};
    (void)state;

    SKIP_IF_ASSERT();

    mt_sched_init(&s);
    mt_sched_set_report(&s, record_report, &rep);
    mt_sched_add(&s, &a, rogue);
    mt_sched_add(&s, &b, rogue_big);
    assert_int_equal(mt_sched_run(&s), MT_EUNHANDLED);
    assert_int_equal(rep.count, 2);
    assert_int_equal(mt_state(&a), MT_FAILED);
    assert_int_equal(mt_err(&a), MT_EINVAL);
    assert_int_equal(mt_err(&b), MT_EINVAL);
    assert_string_equal(mt_errmsg(&a), "task function returned outside MT_END");
    assert_sched_empty(&s);
}

/* ---- Condition waits ---------------------------------------------------- */

struct waiter {
    mt_task task;
    int *flag;
    long timeout;
    int result;
    int polls;
};

static int count_poll(struct waiter *f)
{
    f->polls++;
    return *f->flag;
}

static int waiter(mt_task *t)
{
    struct waiter *f = (struct waiter *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_WAIT_UNTIL(t, count_poll(f), f->timeout));
    f->result = mt_err(t);
    MT_END(t);
}

struct setter {
    mt_task task;
    int *flag;
    int rounds, i;
};

static int setter(mt_task *t)
{
    struct setter *f = (struct setter *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < f->rounds; f->i++)
        MT_YIELD(t);
    *f->flag = 1;
    MT_END(t);
}

static void test_wait_until_condition(void **state)
{
    struct fake_clock c;
    static struct waiter w;
    static struct setter st;
    int flag = 0;
    (void)state;

    use_fake_clock(mt_default(), &c, 1000);
    memset(&w, 0, sizeof w);
    memset(&st, 0, sizeof st);
    w.flag = st.flag = &flag;
    w.timeout = MT_FOREVER;
    st.rounds = 3;
    mt_add(&w.task, waiter);
    mt_add(&st.task, setter);
    assert_int_equal(mt_run(), 0);
    assert_int_equal(w.result, 0);
    /* Checked once at the wait, then once per cycle until the setter's 4th
     * cycle set the flag: 1 + 4 checks. */
    assert_int_equal(w.polls, 5);
    assert_int_equal(mt_sched_has_timeouts(mt_default()), 0);
    /* Already true: no wait at all, and a stale error is cleared. */
    w.polls = 0;
    mt_add(&w.task, waiter);
    assert_int_equal(mt_run(), 0);
    assert_int_equal(w.polls, 1);
    assert_int_equal(w.result, 0);
    mt_sched_set_clock(mt_default(), NULL, NULL, NULL);
    assert_sched_empty(mt_default());
}

static void test_wait_until_timeout(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct waiter w = {0};
    int flag = 0;
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, 500);
    w.flag = &flag;
    w.timeout = 30;
    mt_sched_add(&s, &w.task, waiter);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&w.task), MT_WAITING);
    assert_int_equal(mt_sched_has_timeouts(&s), 1);
    c.now = 529;
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&w.task), MT_WAITING);
    c.now = 530;
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&w.task), MT_DONE);
    assert_int_equal(w.result, MT_ETIMEDOUT);
    assert_sched_empty(&s);

    /* Timeout 0: fail at once if the condition is false. */
    w.timeout = 0;
    w.polls = 0;
    mt_sched_add(&s, &w.task, waiter);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(w.result, MT_ETIMEDOUT);
    assert_int_equal(w.polls, 1);
    assert_sched_empty(&s);
}

static void test_wait_until_bad_timeout(void **state)
{
    mt_sched s;
    struct waiter w = {0};
    int flag = 0;
    (void)state;

    mt_sched_init(&s);
    w.flag = &flag;
    w.timeout = -2;
    mt_sched_add(&s, &w.task, waiter);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(w.result, MT_EINVAL);
    w.timeout = TIMEOUT_TOO_BIG;
    mt_sched_add(&s, &w.task, waiter);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(w.result, MT_EINVAL);
    assert_sched_empty(&s);
}

/* Uncaught, a timeout fails the task. */
struct strict {
    mt_task task;
};

static int strict(mt_task *t)
{
    MT_BEGIN(t);
    MT_WAIT_WHILE(t, 1, 10);
    MT_END(t);
}

static void test_wait_while_timeout_raises(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct reports rep = {0};
    struct strict a = {0};
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, 0);
    mt_sched_set_report(&s, record_report, &rep);
    mt_sched_add(&s, &a.task, strict);
    while (mt_sched_has_runnable(&s)) {
        mt_sched_run_once(&s, 0);
        c.now++;
    }
    assert_int_equal(mt_state(&a.task), MT_FAILED);
    assert_int_equal(mt_err(&a.task), MT_ETIMEDOUT);
    assert_int_equal(rep.count, 1);
    assert_string_equal(rep.name, "strict");
    assert_string_equal(rep.msg, "timed out");
    assert_sched_empty(&s);
}

/* Many condition waits with timeouts: each fires in the cycle where the
 * clock reaches its deadline, across a 32-bit wrap, and cancelling some
 * from the middle of the timer heap leaves the rest intact. */
static void test_many_timeouts(void **state)
{
    enum { N = 2000 };
    mt_sched s;
    struct fake_clock c;
    static struct waiter w[N];
    int flag = 0, i, step;
    const mt_time start = (mt_time)0xFFFFFF00u;
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, start);
    memset(w, 0, sizeof w);
    srand(7);
    for (i = 0; i < N; i++) {
        w[i].flag = &flag;
        w[i].timeout = rand() % 600;
        w[i].result = 1;
        mt_sched_add(&s, &w[i].task, waiter);
    }
    mt_sched_run_once(&s, 0);
    for (i = 0; i < N; i += 3)
        mt_cancel(&w[i].task);
    for (step = 0; step <= 600; step++) {
        mt_sched_run_once(&s, 0);
        for (i = 0; i < N; i++) {
            if (i % 3 == 0) {
                /* It caught the cancellation and ended: still cancelled
                 * (timeout 0: it had ended before the cancel). */
                assert_int_equal(mt_state(&w[i].task),
                                 w[i].timeout == 0 ? MT_DONE : MT_CANCELLED);
                assert_int_equal(w[i].result, w[i].timeout == 0 ? MT_ETIMEDOUT : MT_ECANCELED);
                continue;
            }
            if (w[i].timeout <= step)
                assert_int_equal(w[i].result, MT_ETIMEDOUT);
            else
                assert_int_equal(mt_state(&w[i].task), MT_WAITING);
        }
        c.now++;
    }
    assert_int_equal(mt_sched_run(&s), 0);
    assert_sched_empty(&s);
}

/* ---- Merge -------------------------------------------------------------- */

static void test_merge(void **state)
{
    mt_sched a, b;
    struct fake_clock c;
    struct printer p1 = {0}, p2 = {0};
    struct waiter w = {0};
    int flag = 0;
    (void)state;

    mt_sched_init(&a);
    mt_sched_init(&b);
    use_fake_clock(&a, &c, 0);
    reset_log();
    p1.name = "x", p2.name = "y";
    p1.rounds = p2.rounds = 2;
    w.flag = &flag;
    w.timeout = 5;
    mt_sched_add(&a, &p1.task, printer);
    mt_sched_add(&b, &p2.task, printer);
    mt_sched_add(&b, &w.task, waiter);
    assert_int_equal(mt_sched_run_once(&b, 0), 2); /* y0; w polls, armed */
    assert_int_equal(mt_sched_has_timeouts(&b), 1);
    assert_int_equal(mt_sched_merge(&a, &a), MT_EINVAL);
    assert_int_equal(mt_sched_merge(NULL, &b), MT_EINVAL);
    assert_int_equal(mt_sched_merge(&a, &b), 0);
    assert_int_equal(mt_sched_live(&b), 0);
    assert_int_equal(mt_sched_has_runnable(&b), 0);
    assert_int_equal(mt_sched_has_timeouts(&b), 0);
    assert_int_equal(mt_sched_live(&a), 3);
    assert_int_equal(mt_sched_has_timeouts(&a), 1);
    /* Run a until the waiter times out on a's clock. */
    while (mt_sched_has_runnable(&a)) {
        mt_sched_run_once(&a, 0);
        c.now++;
    }
    assert_int_equal(w.result, MT_ETIMEDOUT);
    assert_int_equal(mt_state(&p1.task), MT_DONE);
    assert_int_equal(mt_state(&p2.task), MT_DONE);
    assert_string_equal(events[0], "y0");
    assert_string_equal(events[1], "x0");
    assert_sched_empty(&a);
    assert_sched_empty(&b);
}

/* Merging into a scheduler that has nothing queued keeps the order; from
 * inside a task of either scheduler it is refused, as is destroying a
 * scheduler from its own task. */
struct merger { mt_task task; mt_sched *dst, *src; int merge, destroy; };

static int merger(mt_task *t)
{
    struct merger *f = (struct merger *)t;
    MT_BEGIN(t);
    f->merge = mt_sched_merge(f->dst, f->src);
    f->destroy = mt_sched_destroy(f->src);
    MT_END(t);
}

static void test_merge_empty_target_and_refusals(void **state)
{
    mt_sched a, b;
    struct printer p1 = {0}, p2 = {0};
    struct merger m = {0};
    (void)state;

    mt_sched_init(&a);
    mt_sched_init(&b);
    reset_log();
    p1.name = "x", p2.name = "y";
    p1.rounds = p2.rounds = 2;
    mt_sched_add(&b, &p1.task, printer);
    mt_sched_add(&b, &p2.task, printer);
    assert_int_equal(mt_sched_merge(&a, &b), 0);
    assert_int_equal(mt_sched_live(&a), 2);
    m.dst = &b, m.src = &a; /* a task of a merging a into b */
    mt_sched_add(&a, &m.task, merger);
    assert_int_equal(mt_sched_run(&a), 0);
    assert_int_equal(m.merge, MT_EBUSY);
    assert_int_equal(m.destroy, MT_EBUSY);
    m.dst = &a, m.src = &b; /* a task of a merging b into a */
    mt_sched_add(&a, &m.task, merger);
    assert_int_equal(mt_sched_run(&a), 0);
    assert_int_equal(m.merge, MT_EBUSY);
    assert_string_equal(events[0], "x0");
    assert_string_equal(events[1], "y0");
    assert_string_equal(events[2], "x1");
    assert_sched_empty(&a);
    assert_sched_empty(&b);
}

/* ---- Error texts -------------------------------------------------------- */

static void test_error_texts(void **state)
{
    (void)state;
    assert_string_equal(mt_errname(0), "MT_OK");
    assert_string_equal(mt_strerror(0), "success");
    assert_string_equal(mt_errname(MT_EFAIL), "MT_EFAIL");
    assert_string_equal(mt_errname(MT_EINVAL), "MT_EINVAL");
    assert_string_equal(mt_errname(MT_EBUSY), "MT_EBUSY");
    assert_string_equal(mt_errname(MT_ETIMEDOUT), "MT_ETIMEDOUT");
    assert_string_equal(mt_strerror(MT_ETIMEDOUT), "timed out");
    assert_string_equal(mt_errname(MT_ECANCELED), "MT_ECANCELED");
    assert_string_equal(mt_strerror(MT_ECANCELED), "cancelled");
    assert_string_equal(mt_errname(MT_EUNHANDLED), "MT_EUNHANDLED");
    assert_string_equal(mt_errname(MT_ENOMEM), "MT_ENOMEM");
    assert_string_equal(mt_errname(MT_EUSER - 3), "MT_EUSER");
    assert_string_equal(mt_strerror(MT_EUSER), "user-defined error");
    assert_string_equal(mt_errname(-50), "MT_E?");
    assert_string_equal(mt_strerror(-50), "unknown error");
}

/* Every library code from MT_EFAIL to MT_ESTRANDED has its own name and
 * text, as the README's table lists them; system codes carry errno's. */
static void test_every_code_named(void **state)
{
    static const char *const names[] = {
        "MT_EFAIL", "MT_EINVAL", "MT_EBUSY", "MT_ETIMEDOUT", "MT_ECANCELED",
        "MT_EUNHANDLED", "MT_ENOMEM", "MT_EAGAIN", "MT_ENOTSUP", "MT_EBADF",
        "MT_ERANGE", "MT_EEOF", "MT_ETOOLONG", "MT_ESTRANDED"};
    int i, j;
    (void)state;

    for (i = 0; i < (int)(sizeof names / sizeof names[0]); i++) {
        int code = -1 - i;
        assert_string_equal(mt_errname(code), names[i]);
        assert_true(strlen(mt_strerror(code)) > 3);
        for (j = 0; j < i; j++)
            assert_string_not_equal(mt_strerror(code), mt_strerror(-1 - j));
    }
    assert_string_equal(mt_errname(-15), "MT_E?");
    assert_string_equal(mt_errname(1), "MT_E?");
    assert_string_equal(mt_strerror(1), "unknown error");
    assert_string_equal(mt_errname(MT_EUSER - 899), "MT_EUSER");
    assert_string_equal(mt_strerror(MT_ESYS_BASE - 5000), "user-defined error"); /* no errno */
#if MT_IO
    assert_string_equal(mt_errname(MT_ESYS(5)), "MT_ESYS(EIO)"); /* EIO is 5 */
    assert_string_equal(mt_errname(MT_ESYS_BASE - 5000), "MT_EUSER"); /* as its text */
    assert_string_equal(mt_strerror(MT_ESYS(5)), strerror(5));
#endif
}

/* NULL where a scheduler is expected: a clear answer, never a crash. */
static void test_null_scheduler(void **state)
{
    (void)state;
    assert_int_equal(mt_sched_live(NULL), 0);
    assert_int_equal(mt_sched_has_runnable(NULL), 0);
    assert_int_equal(mt_sched_has_timeouts(NULL), 0);
    assert_int_equal(mt_sched_has_io_waits(NULL), 0);
    assert_int_equal(mt_sched_now(NULL), 0);
    assert_int_equal(mt_sched_destroy(NULL), MT_EINVAL);
    mt_sched_set_clock(NULL, NULL, NULL, NULL);
    mt_sched_set_report(NULL, NULL, NULL);
    mt_sched_set_out(NULL, NULL, NULL);
    mt_sched_init(NULL);
}

/* The default clock and idle wait (CLOCK_MONOTONIC, nanosleep): a sleep of
 * a few ms really blocks, and never ends early. Correctness, not speed:
 * only a lower bound is checked. */
struct napper { mt_task task; mt_sched *s; mt_time before, after; };

static int napper(mt_task *t)
{
    struct napper *f = (struct napper *)t;
    MT_BEGIN(t);
    f->before = mt_sched_now(f->s);
    MT_SLEEP(t, 3);
    f->after = mt_sched_now(f->s);
    MT_END(t);
}

static void test_default_clock_sleeps(void **state)
{
    mt_sched s;
    struct napper n = {0};
    (void)state;

    if (!MT_POSIX)
        skip();
    mt_sched_init(&s);
    n.s = &s;
    assert_int_equal(mt_sched_add(&s, &n.task, napper), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_true((mt_time)(n.after - n.before) >= 3);
    assert_sched_empty(&s);
}

/* Review findings, kept as regressions. */

/* A report hook that restarts the failed task is refused until the task's
 * finally section has run: the section runs once, the body is not skipped. */
struct phoenix {
    mt_task task;
    int bodies, finals;
    int restart_rc;
    mt_sched *s;
};

static int phoenix(mt_task *t)
{
    struct phoenix *f = (struct phoenix *)t;
    MT_BEGIN(t);
    f->bodies++;
    MT_RAISE(t, MT_EFAIL, "burn");
    MT_FINALLY(t);
    f->finals++;
    MT_END(t);
}

static void restart_report(mt_task *t, const char *name, void *arg)
{
    struct phoenix *f = (struct phoenix *)t;
    (void)name;
    (void)arg;
    f->restart_rc = mt_sched_add(f->s, t, phoenix);
}

static void test_restart_from_report_refused(void **state)
{
    mt_sched s;
    struct phoenix p = {0};
    (void)state;

    SKIP_IF_ASSERT();

    mt_sched_init(&s);
    mt_sched_set_report(&s, restart_report, NULL);
    p.s = &s;
    mt_sched_add(&s, &p.task, phoenix);
    assert_int_equal(mt_sched_run(&s), MT_EUNHANDLED);
    assert_int_equal(p.restart_rc, MT_EBUSY);
    assert_int_equal(p.bodies, 1);
    assert_int_equal(p.finals, 1);
    assert_int_equal(mt_state(&p.task), MT_FAILED);
    /* After its finally section, the frame is free to reuse. */
    mt_sched_set_report(&s, NULL, NULL);
    {
        struct reports rep = {0};
        mt_sched_set_report(&s, record_report, &rep);
        assert_int_equal(mt_sched_add(&s, &p.task, phoenix), 0);
        assert_int_equal(mt_sched_run(&s), MT_EUNHANDLED);
        assert_int_equal(p.bodies, 2);
        assert_int_equal(p.finals, 2);
    }
    assert_sched_empty(&s);
}

/* A wait inside a switch statement of the task's own: with labels it
 * works; with switch continuations the resume point cannot be found, and
 * the task fails with MT_EINVAL instead of ending silently. */
struct switcher {
    mt_task task;
    int mode, after;
};

static int switcher(mt_task *t)
{
    struct switcher *f = (struct switcher *)t;
    MT_BEGIN(t);
    switch (f->mode) {
    case 1:
        MT_YIELD(t);
        f->after = 1;
        break;
    default:
        break;
    }
    MT_END(t);
}

static void test_wait_inside_switch(void **state)
{
    mt_sched s;
    struct reports rep = {0};
    struct switcher w = {0};
    (void)state;

    if (!MT_LC_LABELS)
        SKIP_IF_ASSERT();

    mt_sched_init(&s);
    mt_sched_set_report(&s, record_report, &rep);
    w.mode = 1;
    mt_sched_add(&s, &w.task, switcher);
#if MT_LC_LABELS
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(w.after, 1);
    assert_int_equal(mt_state(&w.task), MT_DONE);
#else
    assert_int_equal(mt_sched_run(&s), MT_EUNHANDLED);
    assert_int_equal(w.after, 0);
    assert_int_equal(mt_state(&w.task), MT_FAILED);
    assert_int_equal(mt_err(&w.task), MT_EINVAL);
    assert_int_equal(rep.count, 1);
#endif
    assert_sched_empty(&s);
}

/* A wait in a finally section ends the section there and does not change
 * the task's result. */
struct lingerer {
    mt_task task;
    int before, after;
};

static int lingerer(mt_task *t)
{
    struct lingerer *f = (struct lingerer *)t;
    MT_BEGIN(t);
    MT_RAISE(t, MT_EUSER - 1, "first");
    MT_FINALLY(t);
    f->before = 1;
    MT_SLEEP(t, 10);
    f->after = 1;
    MT_END(t);
}

static void test_wait_in_finally(void **state)
{
    mt_sched s;
    struct reports rep = {0};
    struct lingerer l = {0};
    (void)state;

    SKIP_IF_ASSERT(); /* a misuse stop then: tests/test_misuse.c */
    mt_sched_init(&s);
    mt_sched_set_report(&s, record_report, &rep);
    mt_sched_add(&s, &l.task, lingerer);
    assert_int_equal(mt_sched_run(&s), MT_EUNHANDLED);
    assert_int_equal(l.before, 1);
    assert_int_equal(l.after, 0);
    assert_int_equal(mt_state(&l.task), MT_FAILED);
    assert_int_equal(mt_err(&l.task), MT_EUSER - 1);
    assert_string_equal(mt_errmsg(&l.task), "first");
    assert_sched_empty(&s);
}

/* A task that caught its cancellation is ended even at a condition wait
 * whose condition already holds. */
struct stubborn {
    mt_task task;
    int caught, after;
};

static int stubborn(mt_task *t)
{
    struct stubborn *f = (struct stubborn *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_SLEEP(t, 100));
    f->caught = mt_err(t);
    MT_WAIT_UNTIL(t, 1, MT_FOREVER);
    f->after = 1;
    MT_END(t);
}

static void test_cancelled_ends_at_true_condition(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct stubborn st = {0};
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, 0);
    mt_sched_add(&s, &st.task, stubborn);
    mt_sched_run_once(&s, 0);
    mt_cancel(&st.task);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(st.caught, MT_ECANCELED);
    assert_int_equal(st.after, 0);
    assert_int_equal(mt_state(&st.task), MT_CANCELLED);
    assert_sched_empty(&s);
}

/* The library state per task stays small (MT_DEBUG adds three pointers). */
static void test_task_size(void **state)
{
    (void)state;
    if (sizeof(void *) == 8 && sizeof(mt_time) == 4)
        assert_true(sizeof(mt_task) <= (MT_LC_LABELS ? 72 : 64) + (MT_DEBUG ? 24 : 0));
}

/* mt_version is the header's MT_VERSION_*, as "MAJOR.MINOR.PATCH". */
static void test_version(void **state)
{
    char want[32];
    (void)state;
    snprintf(want, sizeof want, "%d.%d.%d", MT_VERSION_MAJOR, MT_VERSION_MINOR, MT_VERSION_PATCH);
    assert_string_equal(mt_version(), want);
    assert_true(MT_VERSION_MAJOR >= 0 && MT_VERSION_MINOR >= 0 && MT_VERSION_PATCH >= 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_two_tasks_take_turns),
        cmocka_unit_test(test_run_once_is_one_cycle),
        cmocka_unit_test(test_added_during_cycle_runs_next_cycle),
        cmocka_unit_test(test_fifo_many_tasks),
        cmocka_unit_test(test_add_misuse),
        cmocka_unit_test(test_reentrant_run_refused),
        cmocka_unit_test(test_unhandled_error_reported),
        cmocka_unit_test(test_default_report_line),
        cmocka_unit_test(test_raise_bad_code),
        cmocka_unit_test(test_return_outside_end),
        cmocka_unit_test(test_wait_until_condition),
        cmocka_unit_test(test_wait_until_timeout),
        cmocka_unit_test(test_wait_until_bad_timeout),
        cmocka_unit_test(test_wait_while_timeout_raises),
        cmocka_unit_test(test_many_timeouts),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_merge_empty_target_and_refusals),
        cmocka_unit_test(test_every_code_named),
        cmocka_unit_test(test_null_scheduler),
        cmocka_unit_test(test_default_clock_sleeps),
        cmocka_unit_test(test_error_texts),
        cmocka_unit_test(test_task_size),
        cmocka_unit_test(test_restart_from_report_refused),
        cmocka_unit_test(test_wait_inside_switch),
        cmocka_unit_test(test_wait_in_finally),
        cmocka_unit_test(test_cancelled_ends_at_true_condition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
