/* Cancellation: mt_cancel on tasks parked in condition waits, yielded,
 * fresh, awaiting children, themselves; catching MT_ECANCELED; no-ops;
 * timers left behind; children cancelled on their own. */
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* ---- A task parked in a condition wait ------------------------------------ */

enum {
    AFTER_NONE,       /* does not catch MT_ECANCELED */
    AFTER_END,        /* catches it, then ends without waiting */
    AFTER_YIELD,      /* catches it, then MT_YIELD */
    AFTER_WAIT,       /* catches it, then MT_WAIT_UNTIL (false) */
    AFTER_CATCH_WAIT, /* catches it, then MT_CATCH(MT_YIELD) */
    AFTER_AWAIT       /* catches it, then MT_AWAIT */
};

struct victim {
    mt_task task;
    long timeout;
    int flag, after;
    int caught, caught_state, again_err;
    int passed, fin, fin_state, fin_err;
    mt_task child; /* for AFTER_AWAIT */
    int child_ran;
};

static int child_marks(mt_task *t);

static int victim(mt_task *t)
{
    struct victim *f = (struct victim *)t;
    MT_BEGIN(t);
    ev("v waits");
    if (f->after == AFTER_NONE) {
        MT_WAIT_UNTIL(t, f->flag, f->timeout);
        ev("v passed");
        f->passed = 1;
    } else {
        MT_CATCH(t, MT_WAIT_UNTIL(t, f->flag, f->timeout));
        f->caught = mt_err(t);
        f->caught_state = mt_state(t);
        ev("v caught");
        if (f->after == AFTER_YIELD) {
            MT_YIELD(t);
            ev("v after second wait");
        } else if (f->after == AFTER_WAIT) {
            MT_WAIT_UNTIL(t, 0, MT_FOREVER);
            ev("v after second wait");
        } else if (f->after == AFTER_CATCH_WAIT) {
            MT_CATCH(t, MT_YIELD(t));
            f->again_err = mt_err(t);
            ev("v after second wait");
        } else if (f->after == AFTER_AWAIT) {
            MT_AWAIT(t, &f->child, child_marks, MT_FOREVER);
            ev("v after second wait");
        }
        f->passed = 1;
    }
    MT_FINALLY(t);
    f->fin++;
    f->fin_state = mt_state(t);
    f->fin_err = mt_err(t);
    ev("v finally");
    MT_END(t);
}

static int child_marks(mt_task *t)
{
    struct victim *v = (struct victim *)((char *)t - offsetof(struct victim, child));
    MT_BEGIN(t);
    v->child_ran = 1;
    MT_YIELD(t);
    MT_END(t);
}

/* Cancelled in a condition wait: MT_ECANCELED raised, no report. */
static void run_cancel_parked(long timeout)
{
    struct env e;
    struct victim v = {0};

    env_init(&e);
    v.timeout = timeout;
    assert_int_equal(mt_sched_add(&e.s, &v.task, victim), 0);
    assert_true(step(&e, 1000) > 0);
    assert_true(step(&e, 1001) > 0);
    CHECK_LOG("v waits");
    assert_int_equal(mt_state(&v.task), MT_WAITING);
    assert_int_equal(mt_sched_has_timeouts(&e.s), timeout >= 0);

    assert_int_equal(mt_cancel(&v.task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("v waits", "v finally");
    assert_int_equal(v.passed, 0);
    assert_int_equal(v.fin, 1);
    assert_int_equal(v.fin_state, MT_CANCELLED);
    assert_int_equal(v.fin_err, MT_ECANCELED);
    assert_int_equal(mt_state(&v.task), MT_CANCELLED);
    assert_int_equal(mt_err(&v.task), MT_ECANCELED);
    assert_string_equal(mt_errmsg(&v.task), mt_strerror(MT_ECANCELED));
    assert_int_equal(e.rep.count, 0);
    /* It ended at once: no sleeping until a stale deadline. */
    assert_int_equal(e.clk.idles, 0);
    assert_int_equal(e.clk.now, 1001);
    assert_sched_empty(&e.s);
}

static void test_cancel_parked_forever(void **state)
{
    (void)state;
    run_cancel_parked(MT_FOREVER);
}

static void test_cancel_parked_with_timeout(void **state)
{
    (void)state;
    run_cancel_parked(500);
}

/* The same, cancelled by another task during mt_sched_run. */
struct canceller { mt_task task; mt_task *target; int rounds, i, rc; };

static int canceller(mt_task *t)
{
    struct canceller *f = (struct canceller *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < f->rounds; f->i++)
        MT_YIELD(t);
    ev("cancel");
    f->rc = mt_cancel(f->target);
    MT_END(t);
}

static void test_cancel_parked_by_task(void **state)
{
    struct env e;
    struct victim v = {0};
    struct canceller c = {0};
    (void)state;

    env_init(&e);
    v.timeout = 10000;
    c.target = &v.task;
    c.rounds = 3;
    c.rc = 1;
    assert_int_equal(mt_sched_add(&e.s, &v.task, victim), 0);
    assert_int_equal(mt_sched_add(&e.s, &c.task, canceller), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("v waits", "cancel", "v finally");
    assert_int_equal(c.rc, 0);
    assert_int_equal(mt_state(&v.task), MT_CANCELLED);
    assert_int_equal(v.fin, 1);
    assert_int_equal(e.rep.count, 0);
    assert_int_equal(e.clk.idles, 0);
    assert_sched_empty(&e.s);
}

/* Caught, then ends without waiting: cancellation is sticky, so the task
 * ends MT_CANCELLED all the same, and its finally section sees that. */
static void test_cancel_caught_then_done(void **state)
{
    struct env e;
    struct victim v = {0};
    (void)state;

    env_init(&e);
    v.timeout = 300;
    v.after = AFTER_END;
    assert_int_equal(mt_sched_add(&e.s, &v.task, victim), 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(mt_cancel(&v.task), 0);
    assert_true(step(&e, 1001) > 0);
    CHECK_LOG("v waits", "v caught", "v finally");
    assert_int_equal(v.caught, MT_ECANCELED);
    assert_int_equal(v.caught_state, MT_RUNNING);
    assert_int_equal(v.passed, 1);
    assert_int_equal(v.fin, 1);
    assert_int_equal(v.fin_state, MT_CANCELLED);
    assert_int_equal(mt_state(&v.task), MT_CANCELLED);
    assert_int_equal(mt_err(&v.task), MT_ECANCELED);
    assert_int_equal(e.rep.count, 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_sched_empty(&e.s);
}

/* Caught, then waits again: the task ends, cancelled, at that wait. */
static void run_caught_then_wait(int after)
{
    struct env e;
    struct victim v = {0};

    env_init(&e);
    v.timeout = after == AFTER_WAIT ? 200 : MT_FOREVER;
    v.after = after;
    v.again_err = 1;
    assert_int_equal(mt_sched_add(&e.s, &v.task, victim), 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(mt_cancel(&v.task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("v waits", "v caught", "v finally");
    assert_int_equal(v.caught, MT_ECANCELED);
    assert_int_equal(v.passed, 0);
    assert_int_equal(v.again_err, 1);
    assert_int_equal(v.fin, 1);
    assert_int_equal(v.fin_state, MT_CANCELLED);
    assert_int_equal(v.fin_err, MT_ECANCELED);
    assert_int_equal(mt_state(&v.task), MT_CANCELLED);
    assert_int_equal(mt_err(&v.task), MT_ECANCELED);
    /* AFTER_AWAIT: the child was refused, or started and cancelled. */
    assert_true(mt_state(&v.child) == MT_NEW ||
                mt_state(&v.child) == MT_CANCELLED);
    assert_int_equal(e.rep.count, 0);
    assert_int_equal(e.clk.idles, 0);
    assert_sched_empty(&e.s);
}

static void test_cancel_caught_then_yield(void **state)
{
    (void)state;
    run_caught_then_wait(AFTER_YIELD);
}

static void test_cancel_caught_then_wait_until(void **state)
{
    (void)state;
    run_caught_then_wait(AFTER_WAIT);
}

static void test_cancel_caught_then_caught_wait(void **state)
{
    (void)state;
    run_caught_then_wait(AFTER_CATCH_WAIT);
}

static void test_cancel_caught_then_await(void **state)
{
    (void)state;
    run_caught_then_wait(AFTER_AWAIT);
}

/* ---- A cancelled tree ends grandchild first, then child, then parent ---- */

struct level {
    mt_task task;
    struct level *sub; /* NULL: the leaf, waits on a condition */
    const char *caught_tag, *fin_tag;
    int catch_it, reraise, never, caught, fin, fin_state;
};

static int level(mt_task *t)
{
    struct level *f = (struct level *)t;
    MT_BEGIN(t);
    if (!f->catch_it) {
        if (f->sub) {
            MT_AWAIT(t, &f->sub->task, level, MT_FOREVER);
        } else {
            MT_WAIT_UNTIL(t, f->never, MT_FOREVER);
        }
        ev("passed uncaught");
    } else {
        if (f->sub) {
            MT_CATCH(t, MT_AWAIT(t, &f->sub->task, level, MT_FOREVER));
        } else {
            MT_CATCH(t, MT_WAIT_UNTIL(t, f->never, MT_FOREVER));
        }
        f->caught = mt_err(t);
        ev(f->caught_tag);
        if (f->reraise && mt_err(t))
            MT_RAISE(t, mt_err(t), NULL);
    }
    MT_FINALLY(t);
    f->fin++;
    f->fin_state = mt_state(t);
    ev(f->fin_tag);
    MT_END(t);
}

static void setup_tree(struct level *p, struct level *c, struct level *g,
                       int catch_it, int reraise)
{
    memset(p, 0, sizeof *p);
    memset(c, 0, sizeof *c);
    memset(g, 0, sizeof *g);
    p->sub = c;
    c->sub = g;
    p->caught_tag = "p caught", p->fin_tag = "p fin";
    c->caught_tag = "c caught", c->fin_tag = "c fin";
    g->caught_tag = "g caught", g->fin_tag = "g fin";
    p->catch_it = c->catch_it = g->catch_it = catch_it;
    p->reraise = c->reraise = g->reraise = reraise;
}

static void test_cancel_tree_caught_order(void **state)
{
    struct env e;
    struct level p, c, g;
    (void)state;

    env_init(&e);
    setup_tree(&p, &c, &g, 1, 1);
    assert_int_equal(mt_sched_add(&e.s, &p.task, level), 0);
    assert_true(step(&e, 1000) > 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(nlog, 0);
    assert_int_equal(mt_state(&p.task), MT_WAITING);
    assert_int_equal(mt_state(&c.task), MT_WAITING);
    assert_int_equal(mt_state(&g.task), MT_WAITING);

    assert_int_equal(mt_cancel(&p.task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("g caught", "g fin", "c caught", "c fin", "p caught", "p fin");
    assert_int_equal(g.caught, MT_ECANCELED);
    assert_int_equal(c.caught, MT_ECANCELED);
    assert_int_equal(p.caught, MT_ECANCELED);
    assert_int_equal(mt_state(&g.task), MT_CANCELLED);
    assert_int_equal(mt_state(&c.task), MT_CANCELLED);
    assert_int_equal(mt_state(&p.task), MT_CANCELLED);
    assert_int_equal(g.fin_state, MT_CANCELLED);
    assert_int_equal(p.fin_state, MT_CANCELLED);
    assert_int_equal(g.fin + c.fin + p.fin, 3);
    assert_int_equal(mt_err(&p.task), MT_ECANCELED);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

static void test_cancel_tree_uncaught_order(void **state)
{
    struct env e;
    struct level p, c, g;
    (void)state;

    env_init(&e);
    setup_tree(&p, &c, &g, 0, 0);
    assert_int_equal(mt_sched_add(&e.s, &p.task, level), 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(mt_cancel(&p.task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("g fin", "c fin", "p fin");
    assert_int_equal(mt_state(&g.task), MT_CANCELLED);
    assert_int_equal(mt_state(&c.task), MT_CANCELLED);
    assert_int_equal(mt_state(&p.task), MT_CANCELLED);
    assert_int_equal(mt_err(&c.task), MT_ECANCELED);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* The grandchild swallows the cancellation and ends normally; its parent
 * was cancelled too, so it still resumes with MT_ECANCELED. */
static void test_cancel_tree_grandchild_swallows(void **state)
{
    struct env e;
    struct level p, c, g;
    (void)state;

    env_init(&e);
    setup_tree(&p, &c, &g, 1, 1);
    g.reraise = 0;
    assert_int_equal(mt_sched_add(&e.s, &p.task, level), 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(mt_cancel(&p.task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("g caught", "g fin", "c caught", "c fin", "p caught", "p fin");
    assert_int_equal(mt_state(&g.task), MT_CANCELLED);
    assert_int_equal(c.caught, MT_ECANCELED);
    assert_int_equal(p.caught, MT_ECANCELED);
    assert_int_equal(mt_state(&c.task), MT_CANCELLED);
    assert_int_equal(mt_state(&p.task), MT_CANCELLED);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* Cancelling the middle of the tree: the top task is not cancelled itself,
 * it sees MT_ECANCELED from its child (as a parent whose child alone is
 * cancelled does, below). */
static void test_cancel_middle_of_tree(void **state)
{
    struct env e;
    struct level p, c, g;
    (void)state;

    env_init(&e);
    setup_tree(&p, &c, &g, 1, 1);
    p.reraise = 0;
    assert_int_equal(mt_sched_add(&e.s, &p.task, level), 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(mt_cancel(&c.task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("g caught", "g fin", "c caught", "c fin", "p caught", "p fin");
    assert_int_equal(p.caught, MT_ECANCELED);
    assert_int_equal(mt_state(&g.task), MT_CANCELLED);
    assert_int_equal(mt_state(&c.task), MT_CANCELLED);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* ---- Cancelled before it ever ran: only its finally section runs -------- */

struct fresh { mt_task task; int body, fin, fin_state, fin_err; };

static int fresh(mt_task *t)
{
    struct fresh *f = (struct fresh *)t;
    MT_BEGIN(t);
    f->body++;
    ev("body");
    MT_YIELD(t);
    f->body++;
    MT_FINALLY(t);
    f->fin++;
    f->fin_state = mt_state(t);
    f->fin_err = mt_err(t);
    ev("fin");
    MT_END(t);
}

static void test_cancel_before_first_run(void **state)
{
    struct env e;
    struct fresh a = {0}, b = {0};
    (void)state;

    env_init(&e);
    assert_int_equal(mt_sched_add(&e.s, &a.task, fresh), 0);
    assert_int_equal(mt_sched_add(&e.s, &b.task, fresh), 0);
    assert_int_equal(mt_cancel(&a.task), 0);
    assert_int_equal(mt_state(&a.task), MT_RUNNABLE);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("fin", "body", "fin");
    assert_int_equal(a.body, 0);
    assert_int_equal(a.fin, 1);
    assert_int_equal(a.fin_state, MT_CANCELLED);
    assert_int_equal(a.fin_err, MT_ECANCELED);
    assert_int_equal(mt_state(&a.task), MT_CANCELLED);
    assert_int_equal(mt_err(&a.task), MT_ECANCELED);
    /* The other one was untouched. */
    assert_int_equal(b.body, 2);
    assert_int_equal(b.fin, 1);
    assert_int_equal(mt_state(&b.task), MT_DONE);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* A malloc'ed frame freed in its finally section, cancelled before it ran
 * and cancelled while parked (run under make asan / valgrind). */
struct heap_victim { mt_task task; int *out; int flag; };

static int heap_victim(mt_task *t)
{
    struct heap_victim *f = (struct heap_victim *)t;
    MT_BEGIN(t);
    *f->out = 1;
    MT_WAIT_UNTIL(t, f->flag, 100);
    *f->out = 2;
    MT_FINALLY(t);
    *f->out += 10;
    free(f);
    MT_END(t);
}

static void test_cancel_frees_malloc_frame(void **state)
{
    struct env e;
    struct heap_victim *a, *b;
    int out_a = 0, out_b = 0;
    (void)state;

    env_init(&e);
    a = calloc(1, sizeof *a);
    b = calloc(1, sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    a->out = &out_a;
    b->out = &out_b;
    assert_int_equal(mt_sched_add(&e.s, &a->task, heap_victim), 0);
    assert_int_equal(mt_sched_add(&e.s, &b->task, heap_victim), 0);
    assert_int_equal(mt_cancel(&a->task), 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(out_a, 10); /* body skipped, finally ran */
    assert_int_equal(out_b, 1);
    assert_int_equal(mt_cancel(&b->task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(out_b, 11);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* ---- A yielded task, cancelled, gets MT_ECANCELED at that yield --------- */

struct yielder { mt_task task; int catch_it, err, passed, fin; };

static int yielder(mt_task *t)
{
    struct yielder *f = (struct yielder *)t;
    MT_BEGIN(t);
    ev("y0");
    if (f->catch_it) {
        MT_CATCH(t, MT_YIELD(t));
        f->err = mt_err(t);
        ev("y caught");
    } else {
        MT_YIELD(t);
    }
    f->passed = 1;
    MT_FINALLY(t);
    f->fin++;
    MT_END(t);
}

static void test_cancel_yielded_caught(void **state)
{
    struct env e;
    struct yielder y = {0};
    (void)state;

    env_init(&e);
    y.catch_it = 1;
    y.err = 1;
    assert_int_equal(mt_sched_add(&e.s, &y.task, yielder), 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(mt_state(&y.task), MT_RUNNABLE);
    assert_int_equal(mt_cancel(&y.task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("y0", "y caught");
    assert_int_equal(y.err, MT_ECANCELED);
    assert_int_equal(y.passed, 1);
    assert_int_equal(y.fin, 1);
    assert_int_equal(mt_state(&y.task), MT_CANCELLED);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

static void test_cancel_yielded_uncaught(void **state)
{
    struct env e;
    struct yielder y = {0};
    (void)state;

    env_init(&e);
    assert_int_equal(mt_sched_add(&e.s, &y.task, yielder), 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(mt_cancel(&y.task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("y0");
    assert_int_equal(y.passed, 0);
    assert_int_equal(y.fin, 1);
    assert_int_equal(mt_state(&y.task), MT_CANCELLED);
    assert_int_equal(mt_err(&y.task), MT_ECANCELED);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* Cancelled by a task that runs before it in the same cycle. */
static void test_cancel_yielded_same_cycle(void **state)
{
    struct env e;
    struct canceller c = {0};
    struct yielder y = {0};
    (void)state;

    env_init(&e);
    c.rounds = 1;
    c.target = &y.task;
    c.rc = 1;
    y.catch_it = 1;
    y.err = 1;
    assert_int_equal(mt_sched_add(&e.s, &c.task, canceller), 0);
    assert_int_equal(mt_sched_add(&e.s, &y.task, yielder), 0);
    assert_true(step(&e, 1000) > 0);
    CHECK_LOG("y0");
    assert_true(step(&e, 1000) > 0);
    CHECK_LOG("y0", "cancel", "y caught");
    assert_int_equal(c.rc, 0);
    assert_int_equal(y.err, MT_ECANCELED);
    assert_int_equal(mt_state(&y.task), MT_CANCELLED);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* ---- A task that cancels itself ends at its next wait ------------------- */

struct selfc { mt_task task; int kind, rc, after, fin, fin_state; struct fresh child; };

static int selfc(mt_task *t)
{
    struct selfc *f = (struct selfc *)t;
    MT_BEGIN(t);
    MT_YIELD(t);
    ev("before cancel");
    f->rc = mt_cancel(t);
    ev("after cancel");
    if (f->kind == 0) {
        MT_YIELD(t);
    } else if (f->kind == 1) {
        MT_WAIT_UNTIL(t, 0, 100);
    } else {
        MT_AWAIT(t, &f->child.task, fresh, MT_FOREVER);
    }
    f->after = 1;
    ev("after wait");
    MT_FINALLY(t);
    f->fin++;
    f->fin_state = mt_state(t);
    ev("self fin");
    MT_END(t);
}

static void run_self_cancel(int kind)
{
    struct env e;
    struct selfc sc = {0};

    env_init(&e);
    sc.kind = kind;
    sc.rc = 1;
    assert_int_equal(mt_sched_add(&e.s, &sc.task, selfc), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(sc.rc, 0);
    assert_int_equal(sc.after, 0);
    assert_int_equal(sc.fin, 1);
    assert_int_equal(sc.fin_state, MT_CANCELLED);
    assert_int_equal(mt_state(&sc.task), MT_CANCELLED);
    assert_int_equal(mt_err(&sc.task), MT_ECANCELED);
    assert_true(mt_state(&sc.child.task) < MT_RUNNABLE);
    assert_int_equal(e.rep.count, 0);
    assert_int_equal(e.clk.idles, 0);
    assert_sched_empty(&e.s);
    if (kind == 2 && sc.child.body) {
        /* The child may have started, then was cancelled. */
        CHECK_LOG("before cancel", "after cancel", "body", "fin", "self fin");
    } else {
        CHECK_LOG("before cancel", "after cancel", "self fin");
    }
}

static void test_cancel_self_then_yield(void **state)
{
    (void)state;
    run_self_cancel(0);
}

static void test_cancel_self_then_wait_until(void **state)
{
    (void)state;
    run_self_cancel(1);
}

static void test_cancel_self_then_await(void **state)
{
    (void)state;
    run_self_cancel(2);
}

/* ---- Cancelling an ended, failed or never-added task changes nothing ---- */

static void test_cancel_noops(void **state)
{
    struct env e;
    struct fresh done = {0}, never = {0};
    struct victim twice = {0};
    struct yielder yc = {0};
    (void)state;

    env_init(&e);
    assert_int_equal(mt_cancel(NULL), MT_EINVAL);

    /* A zeroed, never-added frame: nothing happens, and it runs normally
     * once added. */
    assert_int_equal(mt_cancel(&never.task), 0);
    assert_int_equal(mt_state(&never.task), MT_NEW);
    assert_int_equal(mt_err(&never.task), 0);

    /* An ended task. */
    assert_int_equal(mt_sched_add(&e.s, &done.task, fresh), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(mt_state(&done.task), MT_DONE);
    assert_int_equal(mt_cancel(&done.task), 0);
    assert_int_equal(mt_cancel(&done.task), 0);
    assert_int_equal(mt_state(&done.task), MT_DONE);
    assert_int_equal(mt_err(&done.task), 0);
    assert_int_equal(done.fin, 1);
    assert_sched_empty(&e.s);

    /* Both frames, added now, run their whole body: no cancel lingers. */
    nlog = 0;
    assert_int_equal(mt_sched_add(&e.s, &never.task, fresh), 0);
    assert_int_equal(mt_sched_add(&e.s, &done.task, fresh), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("body", "body", "fin", "fin");
    assert_int_equal(never.body, 2);
    assert_int_equal(done.body, 4);
    assert_int_equal(mt_state(&never.task), MT_DONE);
    assert_int_equal(mt_state(&done.task), MT_DONE);

    /* A cancelled task: cancelling again changes nothing. */
    assert_int_equal(mt_sched_add(&e.s, &twice.task, victim), 0);
    twice.timeout = 50;
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(mt_cancel(&twice.task), 0);
    assert_int_equal(mt_cancel(&twice.task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(twice.fin, 1);
    assert_int_equal(mt_state(&twice.task), MT_CANCELLED);
    assert_int_equal(mt_cancel(&twice.task), 0);
    assert_int_equal(mt_state(&twice.task), MT_CANCELLED);
    assert_int_equal(mt_err(&twice.task), MT_ECANCELED);
    assert_int_equal(twice.fin, 1);

    /* A task cancelled while runnable, then cancelled again once ended. */
    yc.catch_it = 0;
    assert_int_equal(mt_sched_add(&e.s, &yc.task, yielder), 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(mt_cancel(&yc.task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(mt_state(&yc.task), MT_CANCELLED);
    assert_int_equal(mt_cancel(&yc.task), 0);
    assert_int_equal(mt_state(&yc.task), MT_CANCELLED);
    assert_int_equal(yc.fin, 1);

    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

struct failer { mt_task task; int fin; };

static int failer(mt_task *t)
{
    struct failer *f = (struct failer *)t;
    MT_BEGIN(t);
    MT_YIELD(t);
    MT_RAISE(t, MT_EUSER - 1, "failer");
    MT_FINALLY(t);
    f->fin++;
    MT_END(t);
}

/* A task that failed keeps its state, error and message when cancelled
 * afterwards, and is not reported again. */
static void test_cancel_failed_task_noop(void **state)
{
    struct env e;
    struct failer f = {0};
    (void)state;

    env_init(&e);
    assert_int_equal(mt_sched_add(&e.s, &f.task, failer), 0);
    assert_int_equal(mt_sched_run(&e.s), MT_EUNHANDLED);
    assert_int_equal(e.rep.count, 1);
    assert_int_equal(mt_state(&f.task), MT_FAILED);
    assert_int_equal(mt_cancel(&f.task), 0);
    assert_int_equal(mt_cancel(&f.task), 0);
    assert_int_equal(mt_state(&f.task), MT_FAILED);
    assert_int_equal(mt_err(&f.task), MT_EUSER - 1);
    assert_string_equal(mt_errmsg(&f.task), "failer");
    assert_int_equal(f.fin, 1);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(e.rep.count, 1);
    assert_sched_empty(&e.s);
}

/* ---- A cancelled timed wait leaves no timer behind ---------------------- */

/* Several condition waits with timeouts; cancelling some of them must
 * leave the others' timers intact and exact. */
struct poller { mt_task task; long timeout; int err, ended_at_set; mt_time ended_at; };

static int poller(mt_task *t)
{
    struct poller *f = (struct poller *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_WAIT_UNTIL(t, 0, f->timeout));
    f->err = mt_err(t);
    MT_END(t);
}

static void test_cancel_leaves_other_timers(void **state)
{
    static const long timeouts[8] = {70, 10, 40, 30, 80, 20, 60, 50};
    static const int cancel_it[8] = {0, 1, 1, 0, 0, 1, 0, 1};
    struct env e;
    struct poller p[8];
    int i;
    mt_time now;
    (void)state;

    env_init(&e);
    memset(p, 0, sizeof p);
    for (i = 0; i < 8; i++) {
        p[i].timeout = timeouts[i];
        p[i].err = 1;
        assert_int_equal(mt_sched_add(&e.s, &p[i].task, poller), 0);
    }
    assert_true(step(&e, 1000) > 0);
    for (i = 0; i < 8; i++)
        assert_int_equal(mt_state(&p[i].task), MT_WAITING);
    for (i = 0; i < 8; i++)
        if (cancel_it[i])
            assert_int_equal(mt_cancel(&p[i].task), 0);
    assert_true(step(&e, 1001) > 0);
    for (i = 0; i < 8; i++) {
        if (cancel_it[i]) {
            assert_int_equal(p[i].err, MT_ECANCELED);
            assert_int_equal(mt_state(&p[i].task), MT_CANCELLED);
        }
    }
    for (now = 1002; now <= 1100; now++) {
        (void)step(&e, now);
        for (i = 0; i < 8; i++) {
            if (cancel_it[i] || p[i].ended_at_set)
                continue;
            if (mt_state(&p[i].task) == MT_DONE) {
                p[i].ended_at_set = 1;
                p[i].ended_at = now;
            }
        }
    }
    for (i = 0; i < 8; i++) {
        if (cancel_it[i])
            continue;
        assert_int_equal(p[i].ended_at_set, 1);
        assert_int_equal(p[i].ended_at, 1000 + timeouts[i]);
        assert_int_equal(p[i].err, MT_ETIMEDOUT);
    }
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* A parent awaiting a child with a timeout, cancelled: its timer goes with
 * it, and the run never sleeps toward the dead deadline. */
struct timed_parent { mt_task task; struct victim c; int err; };

static int timed_parent(mt_task *t)
{
    struct timed_parent *f = (struct timed_parent *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_AWAIT(t, &f->c.task, victim, 500));
    f->err = mt_err(t);
    ev("parent resumed");
    MT_RAISE(t, f->err ? f->err : MT_EFAIL, NULL);
    MT_END(t);
}

static void test_cancel_awaiting_parent_with_timeout(void **state)
{
    struct env e;
    struct timed_parent p = {0};
    (void)state;

    env_init(&e);
    p.c.timeout = 700;
    assert_int_equal(mt_sched_add(&e.s, &p.task, timed_parent), 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(mt_sched_has_timeouts(&e.s), 1);
    assert_int_equal(mt_cancel(&p.task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("v waits", "v finally", "parent resumed");
    assert_int_equal(p.err, MT_ECANCELED);
    assert_int_equal(mt_state(&p.c.task), MT_CANCELLED);
    assert_int_equal(mt_state(&p.task), MT_CANCELLED);
    assert_int_equal(mt_sched_has_timeouts(&e.s), 0);
    assert_int_equal(e.clk.idles, 0);
    assert_int_equal(e.clk.now, 1000);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* Cancelled, and the await's deadline passes before the child got to end:
 * the cancellation came first and wins. */
static void test_cancel_then_await_deadline(void **state)
{
    struct env e;
    struct timed_parent p = {0};
    (void)state;

    env_init(&e);
    p.c.timeout = MT_FOREVER;
    assert_int_equal(mt_sched_add(&e.s, &p.task, timed_parent), 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(mt_cancel(&p.task), 0);
    assert_true(step(&e, 1600) > 0);
    CHECK_LOG("v waits", "v finally", "parent resumed");
    assert_int_equal(p.err, MT_ECANCELED);
    assert_int_equal(mt_state(&p.task), MT_CANCELLED);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* A task parked in MT_SLEEP (not polling): cancelling it wakes it at once
 * with MT_ECANCELED; the run does not sleep toward its deadline. */
struct sleeper { mt_task task; int catch_it, err, passed, fin, fin_state; };

static int sleeper(mt_task *t)
{
    struct sleeper *f = (struct sleeper *)t;
    MT_BEGIN(t);
    if (f->catch_it) {
        MT_CATCH(t, MT_SLEEP(t, 1000));
        f->err = mt_err(t);
        ev("sleeper caught");
    } else {
        MT_SLEEP(t, 1000);
    }
    f->passed = 1;
    MT_FINALLY(t);
    f->fin++;
    f->fin_state = mt_state(t);
    ev("sleeper finally");
    MT_END(t);
}

static void run_cancel_sleeper(int catch_it)
{
    struct env e;
    struct sleeper z = {0};

    env_init(&e);
    z.catch_it = catch_it;
    z.err = 1;
    assert_int_equal(mt_sched_add(&e.s, &z.task, sleeper), 0);
    assert_int_equal(step(&e, 1000), 1);
    assert_int_equal(mt_state(&z.task), MT_WAITING);
    assert_int_equal(mt_sched_has_timeouts(&e.s), 1);
    assert_int_equal(mt_sched_has_runnable(&e.s), 0);
    assert_int_equal(mt_cancel(&z.task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    if (catch_it) {
        CHECK_LOG("sleeper caught", "sleeper finally");
        assert_int_equal(z.err, MT_ECANCELED);
        assert_int_equal(z.passed, 1);
        assert_int_equal(z.fin_state, MT_CANCELLED);
        assert_int_equal(mt_state(&z.task), MT_CANCELLED);
    } else {
        CHECK_LOG("sleeper finally");
        assert_int_equal(z.passed, 0);
        assert_int_equal(z.fin_state, MT_CANCELLED);
        assert_int_equal(mt_state(&z.task), MT_CANCELLED);
        assert_int_equal(mt_err(&z.task), MT_ECANCELED);
    }
    assert_int_equal(z.fin, 1);
    assert_int_equal(e.clk.idles, 0);
    assert_int_equal(e.clk.now, 1000);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

static void test_cancel_sleeping_caught(void **state)
{
    (void)state;
    run_cancel_sleeper(1);
}

static void test_cancel_sleeping_uncaught(void **state)
{
    (void)state;
    run_cancel_sleeper(0);
}

/* ---- A child cancelled alone: its parent gets MT_ECANCELED, goes on ----- */

struct cparent { mt_task task; struct victim c; int err, after_yield; };

static int cparent(mt_task *t)
{
    struct cparent *f = (struct cparent *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_AWAIT(t, &f->c.task, victim, 1000));
    f->err = mt_err(t);
    ev("parent caught");
    /* The parent was not cancelled: it may wait again. */
    MT_YIELD(t);
    f->after_yield = 1;
    ev("parent end");
    MT_END(t);
}

static void test_cancel_child_only(void **state)
{
    struct env e;
    struct cparent p = {0};
    struct canceller k = {0};
    (void)state;

    env_init(&e);
    p.c.timeout = MT_FOREVER;
    k.rounds = 2;
    k.target = &p.c.task;
    k.rc = 1;
    assert_int_equal(mt_sched_add(&e.s, &p.task, cparent), 0);
    assert_int_equal(mt_sched_add(&e.s, &k.task, canceller), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("v waits", "cancel", "v finally", "parent caught", "parent end");
    assert_int_equal(k.rc, 0);
    assert_int_equal(p.err, MT_ECANCELED);
    assert_int_equal(p.after_yield, 1);
    assert_int_equal(mt_state(&p.c.task), MT_CANCELLED);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(mt_sched_has_timeouts(&e.s), 0);
    assert_int_equal(e.clk.idles, 0);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* A child that cancels itself: the parent sees MT_ECANCELED too. */
struct selfc_parent { mt_task task; struct selfc c; int err; };

static int selfc_parent(mt_task *t)
{
    struct selfc_parent *f = (struct selfc_parent *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_AWAIT(t, &f->c.task, selfc, MT_FOREVER));
    f->err = mt_err(t);
    ev("parent caught");
    MT_END(t);
}

static void test_cancel_child_cancels_itself(void **state)
{
    struct env e;
    struct selfc_parent p = {0};
    (void)state;

    env_init(&e);
    p.err = 1;
    assert_int_equal(mt_sched_add(&e.s, &p.task, selfc_parent), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("before cancel", "after cancel", "self fin", "parent caught");
    assert_int_equal(p.err, MT_ECANCELED);
    assert_int_equal(mt_state(&p.c.task), MT_CANCELLED);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* ---- A child cancelling its own parent ------------------------------------- */

/* The child cancels the parent that awaits it, then yields. Per
 * multitask.h the parent's children are cancelled first (so this child
 * ends at its next wait, the yield) and the parent resumes at its current
 * wait, the MT_AWAIT, with MT_ECANCELED. `inline_first` makes the child do
 * it during the part it runs inside the parent's MT_AWAIT call; with
 * `end_at_once` the child then ends without waiting (it ends MT_DONE, but
 * its parent's cancellation stands, as when any child ends normally after
 * its parent was cancelled). */
struct rebel {
    mt_task task;
    mt_task *parent;
    int inline_first, end_at_once, rc, after;
};

static int rebel(mt_task *t)
{
    struct rebel *f = (struct rebel *)t;
    MT_BEGIN(t);
    if (!f->inline_first)
        MT_YIELD(t);
    ev("rebel cancels parent");
    f->rc = mt_cancel(f->parent);
    if (f->end_at_once)
        MT_EXIT(t);
    MT_YIELD(t);
    f->after = 1;
    ev("rebel after yield");
    MT_END(t);
}

struct rebel_parent { mt_task task; struct rebel c; int err, after; };

static int rebel_parent(mt_task *t)
{
    struct rebel_parent *f = (struct rebel_parent *)t;
    MT_BEGIN(t);
    f->c.parent = t;
    MT_CATCH(t, MT_AWAIT(t, &f->c.task, rebel, MT_FOREVER));
    f->err = mt_err(t);
    ev("parent resumed");
    MT_YIELD(t);
    f->after = 1;
    ev("parent after yield");
    MT_END(t);
}

static void run_rebel(int inline_first, int end_at_once)
{
    struct env e;
    struct rebel_parent p = {0};

    env_init(&e);
    p.c.inline_first = inline_first;
    p.c.end_at_once = end_at_once;
    p.c.rc = 1;
    assert_int_equal(mt_sched_add(&e.s, &p.task, rebel_parent), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(p.c.rc, 0);
    CHECK_LOG("rebel cancels parent", "parent resumed");
    assert_int_equal(p.c.after, 0);
    assert_int_equal(mt_state(&p.c.task),
                     end_at_once ? MT_DONE : MT_CANCELLED);
    assert_int_equal(p.err, MT_ECANCELED);
    assert_int_equal(p.after, 0);
    assert_int_equal(mt_state(&p.task), MT_CANCELLED);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

static void test_cancel_parent_from_child(void **state)
{
    (void)state;
    run_rebel(0, 0);
}

static void test_cancel_parent_from_child_ending(void **state)
{
    (void)state;
    run_rebel(0, 1);
}

static void test_cancel_parent_from_inline_child(void **state)
{
    (void)state;
    run_rebel(1, 0);
}

static void test_cancel_parent_from_inline_child_ending(void **state)
{
    (void)state;
    run_rebel(1, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cancel_parked_forever),
        cmocka_unit_test(test_cancel_parked_with_timeout),
        cmocka_unit_test(test_cancel_parked_by_task),
        cmocka_unit_test(test_cancel_caught_then_done),
        cmocka_unit_test(test_cancel_caught_then_yield),
        cmocka_unit_test(test_cancel_caught_then_wait_until),
        cmocka_unit_test(test_cancel_caught_then_caught_wait),
        cmocka_unit_test(test_cancel_caught_then_await),
        cmocka_unit_test(test_cancel_tree_caught_order),
        cmocka_unit_test(test_cancel_tree_uncaught_order),
        cmocka_unit_test(test_cancel_tree_grandchild_swallows),
        cmocka_unit_test(test_cancel_middle_of_tree),
        cmocka_unit_test(test_cancel_before_first_run),
        cmocka_unit_test(test_cancel_frees_malloc_frame),
        cmocka_unit_test(test_cancel_yielded_caught),
        cmocka_unit_test(test_cancel_yielded_uncaught),
        cmocka_unit_test(test_cancel_yielded_same_cycle),
        cmocka_unit_test(test_cancel_self_then_yield),
        cmocka_unit_test(test_cancel_self_then_wait_until),
        cmocka_unit_test(test_cancel_self_then_await),
        cmocka_unit_test(test_cancel_noops),
        cmocka_unit_test(test_cancel_failed_task_noop),
        cmocka_unit_test(test_cancel_leaves_other_timers),
        cmocka_unit_test(test_cancel_awaiting_parent_with_timeout),
        cmocka_unit_test(test_cancel_then_await_deadline),
        cmocka_unit_test(test_cancel_sleeping_caught),
        cmocka_unit_test(test_cancel_sleeping_uncaught),
        cmocka_unit_test(test_cancel_child_only),
        cmocka_unit_test(test_cancel_child_cancels_itself),
        cmocka_unit_test(test_cancel_parent_from_child),
        cmocka_unit_test(test_cancel_parent_from_child_ending),
        cmocka_unit_test(test_cancel_parent_from_inline_child),
        cmocka_unit_test(test_cancel_parent_from_inline_child_ending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
