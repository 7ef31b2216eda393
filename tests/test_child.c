/* Child tasks: MT_AWAIT results, inline children, fairness, error
 * propagation and MT_CATCH, misuse, frame reuse, await timeouts, finally
 * sections, frames freed in their own finally section, task states. */
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* ---- Helpers ------------------------------------------------------------ */

/* A top-level bystander: logs "<name>0".."<name>(n-1)", yielding between. */
struct bystander {
    mt_task task;
    const char *const *names;
    int n, i, done;
};

static int bystander(mt_task *t)
{
    struct bystander *f = (struct bystander *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < f->n; f->i++) {
        ev(f->names[f->i]);
        if (f->i + 1 < f->n)
            MT_YIELD(t);
    }
    f->done = 1;
    MT_END(t);
}

/* ---- A child returns nothing, one value or two, in its frame ------------ */

struct ret_none { mt_task task; int yields, i; };
struct ret_one { mt_task task; int yields, i, in, value; };
struct ret_two { mt_task task; int yields, i, in, a, b; };

static int child_none(mt_task *t)
{
    struct ret_none *f = (struct ret_none *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < f->yields; f->i++)
        MT_YIELD(t);
    ev("none ran");
    MT_END(t);
}

static int child_one(mt_task *t)
{
    struct ret_one *f = (struct ret_one *)t;
    MT_BEGIN(t);
    f->value = -1;
    for (f->i = 0; f->i < f->yields; f->i++)
        MT_YIELD(t);
    f->value = f->in * 10;
    MT_END(t);
}

static int child_two(mt_task *t)
{
    struct ret_two *f = (struct ret_two *)t;
    MT_BEGIN(t);
    f->a = f->b = -1;
    for (f->i = 0; f->i < f->yields; f->i++)
        MT_YIELD(t);
    f->a = f->in + 1;
    f->b = f->in + 2;
    MT_END(t);
}

struct results_parent {
    mt_task task;
    int yields;
    struct ret_none none;
    struct ret_one one;
    struct ret_two two;
    int got_one, got_a, got_b;
    int err_none, err_one, err_two;
    int st_none, st_one, st_two;
};

static int results_parent(mt_task *t)
{
    struct results_parent *f = (struct results_parent *)t;
    MT_BEGIN(t);
    f->none.yields = f->yields;
    MT_AWAIT(t, &f->none.task, child_none, MT_FOREVER);
    f->err_none = mt_err(t);
    f->st_none = mt_state(&f->none.task);
    ev("parent after none");

    f->one.yields = f->yields;
    f->one.in = 7;
    MT_AWAIT(t, &f->one.task, child_one, MT_FOREVER);
    f->err_one = mt_err(t);
    f->st_one = mt_state(&f->one.task);
    f->got_one = f->one.value;

    f->two.yields = f->yields;
    f->two.in = 20;
    MT_AWAIT(t, &f->two.task, child_two, MT_FOREVER);
    f->err_two = mt_err(t);
    f->st_two = mt_state(&f->two.task);
    f->got_a = f->two.a;
    f->got_b = f->two.b;
    ev("parent end");
    MT_END(t);
}

static void run_results(int yields)
{
    struct env e;
    struct results_parent p;

    env_init(&e);
    memset(&p, 0, sizeof p);
    p.yields = yields;
    p.err_none = p.err_one = p.err_two = 99;
    assert_int_equal(mt_sched_add(&e.s, &p.task, results_parent), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);

    CHECK_LOG("none ran", "parent after none", "parent end");
    assert_int_equal(p.err_none, 0);
    assert_int_equal(p.err_one, 0);
    assert_int_equal(p.err_two, 0);
    assert_int_equal(p.st_none, MT_DONE);
    assert_int_equal(p.st_one, MT_DONE);
    assert_int_equal(p.st_two, MT_DONE);
    assert_int_equal(p.got_one, 70);
    assert_int_equal(p.got_a, 21);
    assert_int_equal(p.got_b, 22);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(mt_err(&p.task), 0);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

static void test_results_inline(void **state)
{
    (void)state;
    run_results(0);
}

static void test_results_after_yields(void **state)
{
    (void)state;
    run_results(3);
}

/* ---- A child that does not wait runs inline, in its parent's cycle ------ */

static int child_log(mt_task *t)
{
    struct ret_one *f = (struct ret_one *)t;
    MT_BEGIN(t);
    ev("child");
    f->value = f->in + 1;
    MT_END(t);
}

struct inline_parent {
    mt_task task;
    struct ret_one c;
    int v1, v2;
    int st_child_after;
};

static int inline_parent(mt_task *t)
{
    struct inline_parent *f = (struct inline_parent *)t;
    MT_BEGIN(t);
    ev("parent start");
    f->c.in = 1;
    MT_AWAIT(t, &f->c.task, child_log, MT_FOREVER);
    f->v1 = f->c.value;
    f->st_child_after = mt_state(&f->c.task);
    ev("parent after 1");
    f->c.in = f->v1;
    MT_AWAIT(t, &f->c.task, child_log, 100); /* a timeout, never armed */
    f->v2 = f->c.value;
    ev("parent after 2");
    MT_END(t);
}

static void test_inline_child_needs_no_cycle(void **state)
{
    struct env e;
    struct inline_parent p = {0};
    (void)state;

    env_init(&e);
    assert_int_equal(mt_sched_add(&e.s, &p.task, inline_parent), 0);
    /* One cycle, one task resumed: both children ran inside it. */
    assert_int_equal(mt_sched_run_once(&e.s, 0), 1);
    CHECK_LOG("parent start", "child", "parent after 1", "child",
              "parent after 2");
    assert_int_equal(p.v1, 2);
    assert_int_equal(p.v2, 3);
    assert_int_equal(p.st_child_after, MT_DONE);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(mt_state(&p.c.task), MT_DONE);
    assert_int_equal(mt_sched_has_runnable(&e.s), 0);
    assert_int_equal(e.clk.idles, 0);
    /* Nothing left for another cycle. */
    assert_int_equal(mt_sched_run_once(&e.s, 0), 0);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* ---- A yielding child takes turns, in FIFO order, with other tasks ------ */

struct yield_child { mt_task task; int n, i; const char *const *names; };

static int yield_child(mt_task *t)
{
    struct yield_child *f = (struct yield_child *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < f->n; f->i++) {
        ev(f->names[f->i]);
        if (f->i + 1 < f->n)
            MT_YIELD(t);
    }
    MT_END(t);
}

struct yield_parent {
    mt_task task;
    struct yield_child c;
    int st_parent_seen_by_test, resumed;
};

static int yield_parent(mt_task *t)
{
    struct yield_parent *f = (struct yield_parent *)t;
    MT_BEGIN(t);
    ev("p0");
    MT_AWAIT(t, &f->c.task, yield_child, MT_FOREVER);
    f->resumed = 1;
    ev("p1");
    MT_END(t);
}

static void test_yielding_child_fifo(void **state)
{
    static const char *const cn[] = {"c0", "c1", "c2"};
    static const char *const on[] = {"o0", "o1", "o2"};
    struct env e;
    struct yield_parent p = {0};
    struct bystander o = {0};
    (void)state;

    env_init(&e);
    p.c.n = 3;
    p.c.names = cn;
    o.n = 3;
    o.names = on;
    assert_int_equal(mt_state(&p.task), MT_NEW);
    assert_int_equal(mt_sched_add(&e.s, &p.task, yield_parent), 0);
    assert_int_equal(mt_sched_add(&e.s, &o.task, bystander), 0);
    assert_int_equal(mt_state(&p.task), MT_RUNNABLE);
    assert_int_equal(mt_state(&p.c.task), MT_NEW);

    assert_true(step(&e, 1000) > 0);
    CHECK_LOG("p0", "c0", "o0");
    assert_int_equal(p.resumed, 0);
    assert_int_equal(mt_state(&p.task), MT_WAITING);
    assert_int_equal(mt_state(&p.c.task), MT_RUNNABLE);
    assert_int_equal(mt_state(&o.task), MT_RUNNABLE);

    assert_true(step(&e, 1000) > 0);
    CHECK_LOG("p0", "c0", "o0", "c1", "o1");
    assert_int_equal(p.resumed, 0);
    assert_int_equal(mt_state(&p.task), MT_WAITING);

    assert_true(step(&e, 1000) > 0);
    CHECK_LOG("p0", "c0", "o0", "c1", "o1", "c2", "p1", "o2");
    assert_int_equal(p.resumed, 1);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(mt_state(&p.c.task), MT_DONE);
    assert_int_equal(mt_state(&o.task), MT_DONE);

    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(nlog, 8);
    assert_int_equal(e.rep.count, 0);
    assert_int_equal(e.clk.idles, 0);
    assert_sched_empty(&e.s);
}

/* ---- An uncaught error rises three levels; the top task is reported ----- */

struct deep { mt_task task; int yields, i; };
struct mid { mt_task task; struct deep deep; int after; };
struct top { mt_task task; struct mid mid; int after, fin, fin_state, fin_err; };

static int deep_task(mt_task *t)
{
    struct deep *f = (struct deep *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < f->yields; f->i++)
        MT_YIELD(t);
    ev("deep raises");
    MT_RAISE(t, MT_EUSER - 1, "deep");
    ev("deep after raise");
    MT_END(t);
}

static int mid_task(mt_task *t)
{
    struct mid *f = (struct mid *)t;
    MT_BEGIN(t);
    MT_AWAIT(t, &f->deep.task, deep_task, MT_FOREVER);
    f->after = 1;
    ev("mid after");
    MT_END(t);
}

static int top_task(mt_task *t)
{
    struct top *f = (struct top *)t;
    MT_BEGIN(t);
    MT_AWAIT(t, &f->mid.task, mid_task, MT_FOREVER);
    f->after = 1;
    ev("top after");
    MT_FINALLY(t);
    f->fin++;
    f->fin_state = mt_state(t);
    f->fin_err = mt_err(t);
    MT_END(t);
}

static void run_depth3(int yields)
{
    static const char *const on[] = {"o0", "o1", "o2", "o3"};
    struct env e;
    struct top top = {0};
    struct bystander o = {0};
    struct bystander later = {0};

    env_init(&e);
    top.mid.deep.yields = yields;
    o.n = 4;
    o.names = on;
    assert_int_equal(mt_sched_add(&e.s, &top.task, top_task), 0);
    assert_int_equal(mt_sched_add(&e.s, &o.task, bystander), 0);
    assert_int_equal(mt_sched_run(&e.s), MT_EUNHANDLED);

    assert_int_equal(e.rep.count, 1);
    assert_ptr_equal(e.rep.task, &top.task);
    assert_string_equal(e.rep.name, "top_task");
    assert_int_equal(e.rep.code, MT_EUSER - 1);
    assert_string_equal(e.rep.msg, "deep");

    assert_int_equal(top.after, 0);
    assert_int_equal(top.mid.after, 0);
    assert_int_equal(top.fin, 1);
    assert_int_equal(top.fin_state, MT_FAILED);
    assert_int_equal(top.fin_err, MT_EUSER - 1);
    assert_int_equal(mt_state(&top.task), MT_FAILED);
    assert_int_equal(mt_state(&top.mid.task), MT_FAILED);
    assert_int_equal(mt_state(&top.mid.deep.task), MT_FAILED);
    assert_int_equal(mt_err(&top.task), MT_EUSER - 1);
    assert_int_equal(mt_err(&top.mid.task), MT_EUSER - 1);
    assert_int_equal(mt_err(&top.mid.deep.task), MT_EUSER - 1);
    assert_string_equal(mt_errmsg(&top.task), "deep");
    assert_string_equal(mt_errmsg(&top.mid.deep.task), "deep");

    /* The other top-level task ran to completion. */
    assert_int_equal(o.done, 1);
    assert_int_equal(mt_state(&o.task), MT_DONE);
    {
        int i, seen = 0, raised = 0;
        for (i = 0; i < nlog && i < LOG_MAX; i++) {
            if (evlog[i][0] == 'o')
                assert_string_equal(evlog[i], on[seen++]);
            else if (strcmp(evlog[i], "deep raises") == 0)
                raised++;
            else
                fail_msg("unexpected event %s", evlog[i]);
        }
        assert_int_equal(seen, 4);
        assert_int_equal(raised, 1);
    }
    assert_sched_empty(&e.s);

    /* MT_EUNHANDLED is about that run only: the next clean run gives 0. */
    later.n = 1;
    later.names = on;
    assert_int_equal(mt_sched_add(&e.s, &later.task, bystander), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(e.rep.count, 1);
    assert_sched_empty(&e.s);
}

static void test_error_depth3_inline(void **state)
{
    (void)state;
    run_depth3(0);
}

static void test_error_depth3_after_yields(void **state)
{
    (void)state;
    run_depth3(2);
}

/* ---- MT_CATCH around MT_AWAIT; no message means mt_strerror's text ------ */

struct raiser { mt_task task; int yields, i, code; const char *msg; };

static int raiser(mt_task *t)
{
    struct raiser *f = (struct raiser *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < f->yields; f->i++)
        MT_YIELD(t);
    MT_RAISE(t, f->code, f->msg);
    MT_END(t);
}

struct catcher {
    mt_task task;
    struct raiser r;
    struct ret_one ok;
    int err, err_after_ok, okval, st_child;
    const char *msg;
    const char *msg_after_ok;
};

static int catcher(mt_task *t)
{
    struct catcher *f = (struct catcher *)t;
    MT_BEGIN(t);
    ev("catcher start");
    MT_CATCH(t, MT_AWAIT(t, &f->r.task, raiser, MT_FOREVER));
    f->err = mt_err(t);
    f->msg = mt_errmsg(t);
    f->st_child = mt_state(&f->r.task);
    ev("catcher caught");
    /* A later successful wait clears the error. */
    f->ok.in = 5;
    MT_AWAIT(t, &f->ok.task, child_one, MT_FOREVER);
    f->err_after_ok = mt_err(t);
    f->msg_after_ok = mt_errmsg(t);
    f->okval = f->ok.value;
    ev("catcher end");
    MT_END(t);
}

static void run_catch(int yields, int code, const char *msg,
                      const char *want_msg)
{
    struct env e;
    struct catcher c = {0};

    env_init(&e);
    c.r.yields = yields;
    c.r.code = code;
    c.r.msg = msg;
    c.err = 0;
    assert_int_equal(mt_sched_add(&e.s, &c.task, catcher), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("catcher start", "catcher caught", "catcher end");
    assert_int_equal(c.err, code);
    assert_non_null(c.msg);
    assert_string_equal(c.msg, want_msg);
    assert_int_equal(c.st_child, MT_FAILED);
    assert_int_equal(mt_err(&c.r.task), code);
    assert_string_equal(mt_errmsg(&c.r.task), want_msg);
    assert_int_equal(c.err_after_ok, 0);
    assert_string_equal(c.msg_after_ok, "");
    assert_int_equal(c.okval, 50);
    assert_int_equal(mt_state(&c.task), MT_DONE);
    assert_int_equal(mt_err(&c.task), 0);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

static void test_catch_await_with_message(void **state)
{
    (void)state;
    run_catch(0, MT_EUSER - 7, "boom", "boom");
    run_catch(2, MT_EUSER - 7, "boom", "boom");
    run_catch(1, MT_EFAIL, "library code, user text", "library code, user text");
}

static void test_catch_await_without_message(void **state)
{
    (void)state;
    run_catch(0, MT_EUSER - 3, NULL, mt_strerror(MT_EUSER - 3));
    run_catch(2, MT_EUSER - 3, NULL, mt_strerror(MT_EUSER - 3));
    run_catch(1, MT_EFAIL, NULL, mt_strerror(MT_EFAIL));
    assert_string_equal(mt_strerror(MT_EFAIL), "task failed");
}

/* A middle task catches its child's error and returns normally: the top
 * task sees no error at all. */
struct mid_catch { mt_task task; struct raiser r; int caught, value; };
struct top_of_catch { mt_task task; struct mid_catch m; int err, value; };

static int mid_catch(mt_task *t)
{
    struct mid_catch *f = (struct mid_catch *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_AWAIT(t, &f->r.task, raiser, MT_FOREVER));
    f->caught = mt_err(t);
    f->value = 123;
    MT_END(t);
}

static int top_of_catch(mt_task *t)
{
    struct top_of_catch *f = (struct top_of_catch *)t;
    MT_BEGIN(t);
    MT_AWAIT(t, &f->m.task, mid_catch, MT_FOREVER);
    f->err = mt_err(t);
    f->value = f->m.value;
    MT_END(t);
}

static void test_catch_in_the_middle(void **state)
{
    struct env e;
    struct top_of_catch top = {0};
    (void)state;

    env_init(&e);
    top.m.r.yields = 1;
    top.m.r.code = MT_EUSER - 1;
    top.m.r.msg = "deep";
    top.err = 77;
    assert_int_equal(mt_sched_add(&e.s, &top.task, top_of_catch), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(top.m.caught, MT_EUSER - 1);
    assert_int_equal(top.err, 0);
    assert_int_equal(top.value, 123);
    assert_int_equal(mt_state(&top.m.task), MT_DONE);
    assert_int_equal(mt_state(&top.task), MT_DONE);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* An uncaught error without a message: the report gets mt_strerror. */
struct top_raw { mt_task task; struct raiser r; };

static int top_raw(mt_task *t)
{
    struct top_raw *f = (struct top_raw *)t;
    MT_BEGIN(t);
    MT_AWAIT(t, &f->r.task, raiser, MT_FOREVER);
    ev("top_raw after");
    MT_END(t);
}

static void test_uncaught_without_message(void **state)
{
    struct env e;
    struct top_raw top = {0};
    (void)state;

    env_init(&e);
    top.r.yields = 1;
    top.r.code = MT_EUSER - 9;
    assert_int_equal(mt_sched_add(&e.s, &top.task, top_raw), 0);
    assert_int_equal(mt_sched_run(&e.s), MT_EUNHANDLED);
    assert_int_equal(nlog, 0);
    assert_int_equal(e.rep.count, 1);
    assert_string_equal(e.rep.name, "top_raw");
    assert_int_equal(e.rep.code, MT_EUSER - 9);
    assert_string_equal(e.rep.msg, mt_strerror(MT_EUSER - 9));
    assert_string_equal(mt_errmsg(&top.task), mt_strerror(MT_EUSER - 9));
    assert_int_equal(mt_state(&top.task), MT_FAILED);
    assert_sched_empty(&e.s);
}

/* ---- MT_AWAIT misuse is refused and leaves the frames intact ------------ */

struct misuse {
    mt_task task;
    struct ret_one c;
    struct bystander *busy_top;  /* a live top-level frame */
    struct yield_child *awaited; /* a frame another task awaits */
    int e_null_child, e_null_fn, e_self, e_top, e_awaited, e_neg, e_big;
    const char *m_null_child, *m_top;
    int st_c_after_null_fn, st_top_after, st_awaited_after;
    int value, err_valid;
};

static int misuse(mt_task *t)
{
    struct misuse *f = (struct misuse *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_AWAIT(t, NULL, child_one, MT_FOREVER));
    f->e_null_child = mt_err(t);
    f->m_null_child = mt_errmsg(t);
    MT_CATCH(t, MT_AWAIT(t, &f->c.task, NULL, MT_FOREVER));
    f->e_null_fn = mt_err(t);
    f->st_c_after_null_fn = mt_state(&f->c.task);
    MT_CATCH(t, MT_AWAIT(t, t, child_one, MT_FOREVER));
    f->e_self = mt_err(t);
    if (!MT_ASSERT) { /* with it, awaiting a live task is a misuse stop */
        MT_CATCH(t, MT_AWAIT(t, &f->busy_top->task, child_one, MT_FOREVER));
        f->e_top = mt_err(t);
        f->m_top = mt_errmsg(t);
        f->st_top_after = mt_state(&f->busy_top->task);
        MT_CATCH(t, MT_AWAIT(t, &f->awaited->task, child_one, MT_FOREVER));
        f->e_awaited = mt_err(t);
        f->st_awaited_after = mt_state(&f->awaited->task);
    }
    MT_CATCH(t, MT_AWAIT(t, &f->c.task, child_one, -2));
    f->e_neg = mt_err(t);
    MT_CATCH(t, MT_AWAIT(t, &f->c.task, child_one, TIMEOUT_TOO_BIG));
    f->e_big = mt_err(t);
    ev("misuse checked");
    /* The frame is still usable. */
    f->c.in = 4;
    MT_AWAIT(t, &f->c.task, child_one, MT_FOREVER);
    f->err_valid = mt_err(t);
    f->value = f->c.value;
    ev("misuse end");
    MT_END(t);
}

struct holder { mt_task task; struct yield_child c; int resumed; };

static int holder(mt_task *t)
{
    struct holder *f = (struct holder *)t;
    MT_BEGIN(t);
    ev("holder awaits");
    MT_AWAIT(t, &f->c.task, yield_child, MT_FOREVER);
    f->resumed++;
    ev("holder after");
    MT_END(t);
}

static void test_await_misuse(void **state)
{
    static const char *const bn[] = {"b0", "b1", "b2"};
    static const char *const hn[] = {"h0", "h1"};
    struct env e;
    struct misuse m = {0};
    struct bystander busy = {0};
    struct holder h = {0};
    (void)state;

    env_init(&e);
    busy.n = 3;
    busy.names = bn;
    h.c.n = 2;
    h.c.names = hn;
    m.busy_top = &busy;
    m.awaited = &h.c;
    m.e_null_child = m.e_null_fn = m.e_self = m.e_top = m.e_awaited = 1;
    assert_int_equal(mt_sched_add(&e.s, &busy.task, bystander), 0);
    assert_int_equal(mt_sched_add(&e.s, &h.task, holder), 0);
    assert_int_equal(mt_sched_add(&e.s, &m.task, misuse), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);

    assert_int_equal(m.e_null_child, MT_EINVAL);
    assert_non_null(m.m_null_child);
    assert_true(m.m_null_child[0] != '\0');
    assert_int_equal(m.e_null_fn, MT_EINVAL);
    assert_int_equal(m.st_c_after_null_fn, MT_NEW);
    /* Awaiting yourself: invalid, or busy (you are live). */
    assert_true(m.e_self == MT_EINVAL || m.e_self == MT_EBUSY);
    if (!MT_ASSERT) { /* tests/test_misuse.c checks the stop */
        assert_int_equal(m.e_top, MT_EBUSY);
        assert_string_equal(m.m_top, mt_strerror(MT_EBUSY));
        assert_int_equal(m.st_top_after, MT_RUNNABLE);
        assert_int_equal(m.e_awaited, MT_EBUSY);
        assert_int_equal(m.st_awaited_after, MT_RUNNABLE);
    }
    assert_int_equal(m.e_neg, MT_EINVAL);
    assert_int_equal(m.e_big, MT_EINVAL);
    assert_int_equal(m.err_valid, 0);
    assert_int_equal(m.value, 40);
    assert_int_equal(mt_state(&m.task), MT_DONE);

    /* Nothing corrupted: the busy frames ran exactly as if left alone. */
    CHECK_LOG("b0", "holder awaits", "h0", "misuse checked", "misuse end",
              "b1", "h1", "holder after", "b2");
    assert_int_equal(busy.done, 1);
    assert_int_equal(mt_state(&busy.task), MT_DONE);
    assert_int_equal(h.resumed, 1);
    assert_int_equal(mt_state(&h.task), MT_DONE);
    assert_int_equal(mt_state(&h.c.task), MT_DONE);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* Misuse not caught: the parent fails with MT_EINVAL and is reported. */
struct bad_await { mt_task task; };

static int bad_await(mt_task *t)
{
    MT_BEGIN(t);
    MT_AWAIT(t, NULL, child_one, MT_FOREVER);
    ev("bad_await after");
    MT_END(t);
}

static void test_await_misuse_uncaught(void **state)
{
    struct env e;
    struct bad_await b = {{0}};
    (void)state;

    env_init(&e);
    assert_int_equal(mt_sched_add(&e.s, &b.task, bad_await), 0);
    assert_int_equal(mt_sched_run(&e.s), MT_EUNHANDLED);
    assert_int_equal(nlog, 0);
    assert_int_equal(e.rep.count, 1);
    assert_string_equal(e.rep.name, "bad_await");
    assert_int_equal(e.rep.code, MT_EINVAL);
    assert_int_equal(mt_state(&b.task), MT_FAILED);
    assert_int_equal(mt_err(&b.task), MT_EINVAL);
    assert_sched_empty(&e.s);
}

/* ---- A child frame is reusable once it has ended, failed or not --------- */

struct reuse {
    mt_task task;
    union { struct ret_one one; struct raiser r; } c;
    int first, second, err_fail, third;
    int st_between;
};

static int reuse(mt_task *t)
{
    struct reuse *f = (struct reuse *)t;
    MT_BEGIN(t);
    f->c.one.in = 1;
    f->c.one.yields = 1;
    MT_AWAIT(t, &f->c.one.task, child_one, MT_FOREVER);
    f->first = f->c.one.value;
    f->st_between = mt_state(&f->c.one.task);
    f->c.one.in = 2;
    f->c.one.yields = 0;
    MT_AWAIT(t, &f->c.one.task, child_one, MT_FOREVER);
    f->second = f->c.one.value;
    /* A frame that ended by failure is reusable too. */
    f->c.r.yields = 1;
    f->c.r.code = MT_EUSER - 2;
    f->c.r.msg = NULL;
    MT_CATCH(t, MT_AWAIT(t, &f->c.r.task, raiser, MT_FOREVER));
    f->err_fail = mt_err(t);
    f->c.one.in = 3;
    f->c.one.yields = 2;
    MT_AWAIT(t, &f->c.one.task, child_one, MT_FOREVER);
    f->third = f->c.one.value;
    MT_END(t);
}

static void test_reuse_child_frame(void **state)
{
    struct env e;
    struct reuse r = {0};
    (void)state;

    env_init(&e);
    assert_int_equal(mt_sched_add(&e.s, &r.task, reuse), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(r.first, 10);
    assert_int_equal(r.st_between, MT_DONE);
    assert_int_equal(r.second, 20);
    assert_int_equal(r.err_fail, MT_EUSER - 2);
    assert_int_equal(r.third, 30);
    assert_int_equal(mt_state(&r.c.one.task), MT_DONE);
    assert_int_equal(mt_state(&r.task), MT_DONE);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

struct loop1000 { mt_task task; struct ret_one c; int i; long sum; int bad; };

static int loop1000(mt_task *t)
{
    struct loop1000 *f = (struct loop1000 *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < 1000; f->i++) {
        f->c.in = f->i;
        f->c.yields = f->i % 3; /* inline, one yield, two yields */
        MT_AWAIT(t, &f->c.task, child_one, MT_FOREVER);
        if (mt_err(t) != 0 || mt_state(&f->c.task) != MT_DONE ||
            f->c.value != f->i * 10)
            f->bad++;
        f->sum += f->c.value;
    }
    MT_END(t);
}

static void test_await_same_frame_1000_times(void **state)
{
    static const char *const on[] = {"x"};
    struct env e;
    struct loop1000 l = {0};
    struct bystander o = {0};
    (void)state;

    env_init(&e);
    o.n = 1;
    o.names = on;
    assert_int_equal(mt_sched_add(&e.s, &l.task, loop1000), 0);
    assert_int_equal(mt_sched_add(&e.s, &o.task, bystander), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(l.i, 1000);
    assert_int_equal(l.bad, 0);
    assert_int_equal(l.sum, 10L * (999L * 1000L / 2));
    assert_int_equal(mt_state(&l.task), MT_DONE);
    assert_int_equal(o.done, 1);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* ---- An await timeout cancels the child's subtree, leaves no timer ------ */

struct sleeper {
    mt_task task;
    int flag, catch_cancel, fin, fin_state, fin_err, caught;
};

/* Waits for a flag that (usually) never comes; logs its finally section. */
static int sleeper(mt_task *t)
{
    struct sleeper *f = (struct sleeper *)t;
    MT_BEGIN(t);
    ev("sleeper waits");
    if (f->catch_cancel) {
        MT_CATCH(t, MT_WAIT_UNTIL(t, f->flag, MT_FOREVER));
        f->caught = mt_err(t);
        ev("sleeper caught");
    } else {
        MT_WAIT_UNTIL(t, f->flag, MT_FOREVER);
        ev("sleeper woke");
    }
    MT_FINALLY(t);
    f->fin++;
    f->fin_state = mt_state(t);
    f->fin_err = mt_err(t);
    ev("sleeper finally");
    MT_END(t);
}

struct timed_parent {
    mt_task task;
    struct sleeper c;
    int catch_it, go;
    int err, err2, st_child_at_resume;
};

static int timed_parent(mt_task *t)
{
    struct timed_parent *f = (struct timed_parent *)t;
    MT_BEGIN(t);
    ev("parent awaits");
    if (f->catch_it) {
        MT_CATCH(t, MT_AWAIT(t, &f->c.task, sleeper, 50));
    } else {
        MT_AWAIT(t, &f->c.task, sleeper, 50);
    }
    f->err = mt_err(t);
    f->st_child_at_resume = mt_state(&f->c.task);
    ev("parent resumed");
    /* A later wait must not be woken by a stale timer of the await. */
    MT_WAIT_UNTIL(t, f->go, MT_FOREVER);
    f->err2 = mt_err(t);
    ev("parent end");
    MT_END(t);
}

static void test_await_timeout_cancels_child(void **state)
{
    struct env e;
    struct timed_parent p = {0};
    (void)state;

    env_init(&e);
    p.catch_it = 1;
    p.go = 1;
    p.err = 1;
    assert_int_equal(mt_sched_add(&e.s, &p.task, timed_parent), 0);

    assert_true(step(&e, 1000) > 0);
    CHECK_LOG("parent awaits", "sleeper waits");
    assert_int_equal(mt_state(&p.task), MT_WAITING);
    assert_int_equal(mt_state(&p.c.task), MT_WAITING);
    assert_int_equal(mt_sched_has_timeouts(&e.s), 1);

    assert_true(step(&e, 1020) > 0);
    assert_true(step(&e, 1049) > 0);
    CHECK_LOG("parent awaits", "sleeper waits");
    assert_int_equal(mt_state(&p.task), MT_WAITING);
    assert_int_equal(mt_state(&p.c.task), MT_WAITING);
    assert_int_equal(p.c.fin, 0);

    /* 50 ticks after the await started: the child is cancelled and has
     * ended (its finally section ran) before the parent resumes. */
    assert_true(step(&e, 1050) > 0);
    CHECK_LOG("parent awaits", "sleeper waits", "sleeper finally",
              "parent resumed", "parent end");
    assert_int_equal(p.err, MT_ETIMEDOUT);
    assert_int_equal(p.st_child_at_resume, MT_CANCELLED);
    assert_int_equal(p.c.fin, 1);
    assert_int_equal(p.c.fin_state, MT_CANCELLED);
    assert_int_equal(p.c.fin_err, MT_ECANCELED);
    assert_int_equal(mt_state(&p.c.task), MT_CANCELLED);
    assert_int_equal(mt_err(&p.c.task), MT_ECANCELED);
    assert_int_equal(p.err2, 0);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(mt_sched_has_timeouts(&e.s), 0);
    assert_int_equal(e.rep.count, 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_sched_empty(&e.s);
}

static void test_await_timeout_uncaught(void **state)
{
    struct env e;
    struct timed_parent p = {0};
    int i;
    (void)state;

    env_init(&e);
    p.go = 1;
    assert_int_equal(mt_sched_add(&e.s, &p.task, timed_parent), 0);
    for (i = 0; i < 60 && mt_state(&p.task) >= MT_RUNNABLE; i++)
        (void)step(&e, (mt_time)(1000 + i));
    assert_int_equal(i, 51); /* it ended in the cycle at 1050 */
    CHECK_LOG("parent awaits", "sleeper waits", "sleeper finally");
    assert_int_equal(mt_state(&p.task), MT_FAILED);
    assert_int_equal(mt_err(&p.task), MT_ETIMEDOUT);
    assert_int_equal(mt_state(&p.c.task), MT_CANCELLED);
    assert_int_equal(e.rep.count, 1);
    assert_string_equal(e.rep.name, "timed_parent");
    assert_int_equal(e.rep.code, MT_ETIMEDOUT);
    assert_int_equal(mt_sched_has_timeouts(&e.s), 0);
    assert_sched_empty(&e.s);
}

/* The child catches its cancellation and ends normally: it still ends
 * MT_CANCELLED (sticky), and the parent gets MT_ETIMEDOUT after it ended. */
static void test_await_timeout_child_catches(void **state)
{
    struct env e;
    struct timed_parent p = {0};
    (void)state;

    env_init(&e);
    p.catch_it = 1;
    p.go = 1;
    p.c.catch_cancel = 1;
    assert_int_equal(mt_sched_add(&e.s, &p.task, timed_parent), 0);
    assert_true(step(&e, 1000) > 0);
    assert_true(step(&e, 1049) > 0);
    CHECK_LOG("parent awaits", "sleeper waits");
    assert_true(step(&e, 1051) > 0);
    CHECK_LOG("parent awaits", "sleeper waits", "sleeper caught",
              "sleeper finally", "parent resumed", "parent end");
    assert_int_equal(p.c.caught, MT_ECANCELED);
    assert_int_equal(p.c.fin, 1);
    assert_int_equal(p.c.fin_state, MT_CANCELLED);
    assert_int_equal(p.st_child_at_resume, MT_CANCELLED);
    assert_int_equal(p.err, MT_ETIMEDOUT);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* The timeout cancels the whole subtree: grandchild ends first. */
struct tchild { mt_task task; struct sleeper g; int fin; };
struct tparent { mt_task task; struct tchild c; int err; };

static int tchild(mt_task *t)
{
    struct tchild *f = (struct tchild *)t;
    MT_BEGIN(t);
    MT_AWAIT(t, &f->g.task, sleeper, MT_FOREVER);
    ev("tchild after");
    MT_FINALLY(t);
    f->fin++;
    ev("tchild finally");
    MT_END(t);
}

static int tparent(mt_task *t)
{
    struct tparent *f = (struct tparent *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_AWAIT(t, &f->c.task, tchild, 30));
    f->err = mt_err(t);
    ev("tparent resumed");
    MT_END(t);
}

static void test_await_timeout_cancels_subtree(void **state)
{
    struct env e;
    struct tparent p = {0};
    (void)state;

    env_init(&e);
    assert_int_equal(mt_sched_add(&e.s, &p.task, tparent), 0);
    assert_true(step(&e, 1000) > 0);
    assert_true(step(&e, 1029) > 0);
    CHECK_LOG("sleeper waits");
    assert_int_equal(mt_state(&p.c.task), MT_WAITING);
    assert_true(step(&e, 1030) > 0);
    CHECK_LOG("sleeper waits", "sleeper finally", "tchild finally",
              "tparent resumed");
    assert_int_equal(p.err, MT_ETIMEDOUT);
    assert_int_equal(mt_state(&p.c.g.task), MT_CANCELLED);
    assert_int_equal(mt_state(&p.c.task), MT_CANCELLED);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(p.c.fin, 1);
    assert_int_equal(p.c.g.fin, 1);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* The child finishes first: no timeout, and no timer left behind. */
static void test_await_timeout_not_fired(void **state)
{
    struct env e;
    struct timed_parent p = {0};
    (void)state;

    env_init(&e);
    p.catch_it = 1;
    p.err = 1;
    p.err2 = 1;
    assert_int_equal(mt_sched_add(&e.s, &p.task, timed_parent), 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(mt_sched_has_timeouts(&e.s), 1);
    assert_true(step(&e, 1010) > 0);
    p.c.flag = 1;
    assert_true(step(&e, 1020) > 0);
    CHECK_LOG("parent awaits", "sleeper waits", "sleeper woke",
              "sleeper finally", "parent resumed");
    assert_int_equal(p.err, 0);
    assert_int_equal(p.st_child_at_resume, MT_DONE);
    assert_int_equal(mt_state(&p.c.task), MT_DONE);
    assert_int_equal(mt_sched_has_timeouts(&e.s), 0);
    /* The parent now waits on something else, well past the deadline. */
    assert_true(step(&e, 1051) > 0);
    assert_true(step(&e, 1100) > 0);
    assert_true(step(&e, 2000) > 0);
    CHECK_LOG("parent awaits", "sleeper waits", "sleeper woke",
              "sleeper finally", "parent resumed");
    assert_int_equal(mt_state(&p.task), MT_WAITING);
    p.go = 1;
    assert_true(step(&e, 2001) > 0);
    CHECK_LOG("parent awaits", "sleeper waits", "sleeper woke",
              "sleeper finally", "parent resumed", "parent end");
    assert_int_equal(p.err2, 0);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* A yielding child with a timeout, under mt_sched_run: the timer is
 * disarmed when the child ends, so the run never sleeps. An inline child
 * with a timeout arms nothing at all. */
struct timed_yield {
    mt_task task;
    mt_sched *s;
    struct ret_one c;
    int err1, err2, timers_after_inline, v1, v2;
};

static int timed_yield(mt_task *t)
{
    struct timed_yield *f = (struct timed_yield *)t;
    MT_BEGIN(t);
    f->c.in = 1;
    f->c.yields = 0;
    MT_AWAIT(t, &f->c.task, child_one, 50);
    f->err1 = mt_err(t);
    f->v1 = f->c.value;
    f->timers_after_inline = mt_sched_has_timeouts(f->s);
    f->c.in = 2;
    f->c.yields = 5;
    MT_AWAIT(t, &f->c.task, child_one, 50);
    f->err2 = mt_err(t);
    f->v2 = f->c.value;
    MT_END(t);
}

static void test_await_timeout_disarmed(void **state)
{
    struct env e;
    struct timed_yield p = {0};
    (void)state;

    env_init(&e);
    p.s = &e.s;
    p.err1 = p.err2 = p.timers_after_inline = 1;
    assert_int_equal(mt_sched_add(&e.s, &p.task, timed_yield), 0);
    assert_int_equal(step(&e, 1000), 1);
    /* The inline child ended; the second child yielded with a timer. */
    assert_int_equal(p.err1, 0);
    assert_int_equal(p.v1, 10);
    assert_int_equal(p.timers_after_inline, 0);
    assert_int_equal(mt_sched_has_timeouts(&e.s), 1);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(p.err2, 0);
    assert_int_equal(p.v2, 20);
    assert_int_equal(e.clk.idles, 0);
    assert_int_equal(e.clk.now, 1000);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* A child parked in MT_SLEEP, awaited with a timeout under mt_sched_run:
 * the run sleeps exactly until the await's deadline, then the child is
 * cancelled and the parent resumes with MT_ETIMEDOUT. */
struct napper { mt_task task; long ms; int woke, fin, fin_state; };

static int napper(mt_task *t)
{
    struct napper *f = (struct napper *)t;
    MT_BEGIN(t);
    ev("napper sleeps");
    MT_SLEEP(t, f->ms);
    f->woke = 1;
    ev("napper woke");
    MT_FINALLY(t);
    f->fin++;
    f->fin_state = mt_state(t);
    ev("napper finally");
    MT_END(t);
}

struct nap_parent { mt_task task; struct napper c; long timeout; int err; mt_time at; mt_sched *s; };

static int nap_parent(mt_task *t)
{
    struct nap_parent *f = (struct nap_parent *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_AWAIT(t, &f->c.task, napper, f->timeout));
    f->err = mt_err(t);
    f->at = mt_sched_now(f->s);
    ev("parent resumed");
    MT_END(t);
}

static void test_await_timeout_sleeping_child(void **state)
{
    struct env e;
    struct nap_parent p = {0};
    (void)state;

    env_init(&e);
    p.s = &e.s;
    p.c.ms = 1000;
    p.timeout = 50;
    p.err = 1;
    assert_int_equal(mt_sched_add(&e.s, &p.task, nap_parent), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("napper sleeps", "napper finally", "parent resumed");
    assert_int_equal(p.err, MT_ETIMEDOUT);
    assert_int_equal(p.at, 1050);
    assert_int_equal(e.clk.now, 1050);
    assert_int_equal(p.c.woke, 0);
    assert_int_equal(p.c.fin, 1);
    assert_int_equal(p.c.fin_state, MT_CANCELLED);
    assert_int_equal(mt_state(&p.c.task), MT_CANCELLED);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* The sleeping child ends first: the await's timer must not make the run
 * sleep on until the stale deadline. */
static void test_await_sleeping_child_ends_first(void **state)
{
    struct env e;
    struct nap_parent p = {0};
    (void)state;

    env_init(&e);
    p.s = &e.s;
    p.c.ms = 20;
    p.timeout = 5000;
    p.err = 1;
    assert_int_equal(mt_sched_add(&e.s, &p.task, nap_parent), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("napper sleeps", "napper woke", "napper finally",
              "parent resumed");
    assert_int_equal(p.err, 0);
    assert_int_equal(p.at, 1020);
    assert_int_equal(e.clk.now, 1020);
    assert_int_equal(p.c.fin_state, MT_DONE);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* ---- Finally sections run once however a task ends, children first ------ */

enum { END_NORMAL, END_RAISE, END_EXIT };

/* The reports of the test running fin_task, for its finally section. */
static const struct reports *cur_rep;

struct fin {
    mt_task task;
    int how, yields, i;
    int body_after, fin, fin_state, fin_err, fin_reports;
    const char *fin_msg;
    const char *tag;
};

static int fin_task(mt_task *t)
{
    struct fin *f = (struct fin *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < f->yields; f->i++)
        MT_YIELD(t);
    if (f->how == END_RAISE)
        MT_RAISE(t, MT_EUSER - 4, "fin raise");
    if (f->how == END_EXIT)
        MT_EXIT(t);
    f->body_after = 1;
    MT_FINALLY(t);
    f->fin++;
    f->fin_state = mt_state(t);
    f->fin_err = mt_err(t);
    f->fin_msg = mt_errmsg(t);
    f->fin_reports = cur_rep->count;
    ev(f->tag);
    MT_END(t);
}

static void test_finally_top_level(void **state)
{
    struct env e;
    struct fin a = {0}, b = {0}, c = {0};
    (void)state;

    env_init(&e);
    cur_rep = &e.rep;
    a.how = END_NORMAL, a.yields = 1, a.tag = "a fin";
    b.how = END_RAISE, b.yields = 2, b.tag = "b fin";
    c.how = END_EXIT, c.yields = 0, c.tag = "c fin";
    assert_int_equal(mt_sched_add(&e.s, &a.task, fin_task), 0);
    assert_int_equal(mt_sched_add(&e.s, &b.task, fin_task), 0);
    assert_int_equal(mt_sched_add(&e.s, &c.task, fin_task), 0);
    assert_int_equal(mt_sched_run(&e.s), MT_EUNHANDLED);
    CHECK_LOG("c fin", "a fin", "b fin");

    assert_int_equal(a.fin, 1);
    assert_int_equal(a.body_after, 1);
    assert_int_equal(a.fin_state, MT_DONE);
    assert_int_equal(a.fin_err, 0);
    assert_int_equal(mt_state(&a.task), MT_DONE);

    assert_int_equal(b.fin, 1);
    assert_int_equal(b.body_after, 0);
    assert_int_equal(b.fin_state, MT_FAILED);
    assert_int_equal(b.fin_err, MT_EUSER - 4);
    assert_string_equal(b.fin_msg, "fin raise");
    assert_int_equal(b.fin_reports, 1); /* reported before the section */
    assert_int_equal(mt_state(&b.task), MT_FAILED);

    assert_int_equal(c.fin, 1);
    assert_int_equal(c.body_after, 0);
    assert_int_equal(c.fin_state, MT_DONE);
    assert_int_equal(c.fin_err, 0);
    assert_int_equal(mt_state(&c.task), MT_DONE);

    assert_int_equal(e.rep.count, 1);
    assert_string_equal(e.rep.name, "fin_task");
    assert_int_equal(e.rep.code, MT_EUSER - 4);
    assert_sched_empty(&e.s);
}

struct fin_parent {
    mt_task task;
    struct fin c;
    int i, errs[6], fins[6], body[6];
};

static int fin_parent(mt_task *t)
{
    struct fin_parent *f = (struct fin_parent *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < 6; f->i++) {
        memset(&f->c, 0, sizeof f->c);
        f->c.how = f->i % 3;
        f->c.yields = f->i / 3; /* inline first, then after a yield */
        f->c.tag = "child fin";
        MT_CATCH(t, MT_AWAIT(t, &f->c.task, fin_task, MT_FOREVER));
        f->errs[f->i] = mt_err(t);
        f->fins[f->i] = f->c.fin;
        f->body[f->i] = f->c.body_after;
        ev("parent resumed");
    }
    MT_END(t);
}

static void test_finally_child_before_parent(void **state)
{
    struct env e;
    struct fin_parent p = {0};
    int i;
    (void)state;

    env_init(&e);
    cur_rep = &e.rep;
    assert_int_equal(mt_sched_add(&e.s, &p.task, fin_parent), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("child fin", "parent resumed", "child fin", "parent resumed",
              "child fin", "parent resumed", "child fin", "parent resumed",
              "child fin", "parent resumed", "child fin", "parent resumed");
    for (i = 0; i < 6; i++) {
        assert_int_equal(p.fins[i], 1);
        assert_int_equal(p.errs[i], i % 3 == END_RAISE ? MT_EUSER - 4 : 0);
        assert_int_equal(p.body[i], i % 3 == END_NORMAL);
    }
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* ---- A malloc'ed frame may free itself in its own finally section ------- */

struct heap_frame { mt_task task; int how, yields, i; int *out; };

static int heap_task(mt_task *t)
{
    struct heap_frame *f = (struct heap_frame *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < f->yields; f->i++)
        MT_YIELD(t);
    *f->out = 1;
    if (f->how == END_RAISE)
        MT_RAISE(t, MT_EUSER - 5, "heap raise");
    if (f->how == END_EXIT)
        MT_EXIT(t);
    *f->out = 2;
    MT_FINALLY(t);
    *f->out += 10;
    ev("freed");
    free(f);
    MT_END(t);
}

static void test_malloc_frame_freed_in_finally(void **state)
{
    struct env e;
    int out[6] = {0};
    int i;
    (void)state;

    env_init(&e);
    for (i = 0; i < 6; i++) {
        struct heap_frame *f = calloc(1, sizeof *f);
        assert_non_null(f);
        f->how = i % 3;
        f->yields = i / 3;
        f->out = &out[i];
        assert_int_equal(mt_sched_add(&e.s, &f->task, heap_task), 0);
    }
    assert_int_equal(mt_sched_run(&e.s), MT_EUNHANDLED);
    assert_int_equal(nlog, 6);
    for (i = 0; i < 6; i++)
        assert_int_equal(out[i], i % 3 == END_NORMAL ? 12 : 11);
    assert_int_equal(e.rep.count, 2);
    assert_string_equal(e.rep.name, "heap_task");
    assert_int_equal(e.rep.code, MT_EUSER - 5);
    assert_sched_empty(&e.s);
}

/* A malloc'ed child frame freed in its own finally section while its
 * parent awaits it (inline and after yields). */
struct heap_parent { mt_task task; struct heap_frame *c; int i, out[6], errs[6]; };

static int heap_parent(mt_task *t)
{
    struct heap_parent *f = (struct heap_parent *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < 6; f->i++) {
        f->c = calloc(1, sizeof *f->c);
        if (!f->c)
            MT_RAISE(t, MT_EUSER - 50, "calloc");
        f->c->how = f->i % 3;
        f->c->yields = f->i / 3;
        f->c->out = &f->out[f->i];
        MT_CATCH(t, MT_AWAIT(t, &f->c->task, heap_task, 1000));
        f->errs[f->i] = mt_err(t);
        f->c = NULL;
    }
    MT_END(t);
}

static void test_malloc_child_freed_in_finally(void **state)
{
    struct env e;
    struct heap_parent p = {0};
    int i;
    (void)state;

    env_init(&e);
    assert_int_equal(mt_sched_add(&e.s, &p.task, heap_parent), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(nlog, 6);
    for (i = 0; i < 6; i++) {
        assert_int_equal(p.out[i], i % 3 == END_NORMAL ? 12 : 11);
        assert_int_equal(p.errs[i], i % 3 == END_RAISE ? MT_EUSER - 5 : 0);
    }
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(e.rep.count, 0);
    assert_int_equal(e.clk.idles, 0);
    assert_sched_empty(&e.s);
}

/* ---- The states of a parent and its child at each stage of an await ----- */

struct st_child {
    mt_task task;
    mt_task *parent;
    int fail, self_first, self_later, parent_later;
};

static int st_child(mt_task *t)
{
    struct st_child *f = (struct st_child *)t;
    MT_BEGIN(t);
    f->self_first = mt_state(t);
    MT_YIELD(t);
    f->self_later = mt_state(t);
    f->parent_later = mt_state(f->parent);
    if (f->fail)
        MT_RAISE(t, MT_EUSER - 6, "state fail");
    MT_END(t);
}

struct st_parent { mt_task task; struct st_child c; int child_at_resume; };

static int st_parent(mt_task *t)
{
    struct st_parent *f = (struct st_parent *)t;
    MT_BEGIN(t);
    f->c.parent = t;
    MT_AWAIT(t, &f->c.task, st_child, MT_FOREVER);
    f->child_at_resume = mt_state(&f->c.task);
    MT_END(t);
}

static void run_states(int fail)
{
    struct env e;
    struct st_parent p = {0};

    env_init(&e);
    p.c.fail = fail;
    assert_int_equal(mt_state(&p.task), MT_NEW);
    assert_int_equal(mt_state(&p.c.task), MT_NEW);
    assert_int_equal(mt_sched_add(&e.s, &p.task, st_parent), 0);
    assert_int_equal(mt_state(&p.task), MT_RUNNABLE);
    assert_int_equal(mt_state(&p.c.task), MT_NEW);

    assert_int_equal(step(&e, 1000), 1);
    assert_int_equal(p.c.self_first, MT_RUNNING);
    assert_int_equal(mt_state(&p.task), MT_WAITING);
    assert_int_equal(mt_state(&p.c.task), MT_RUNNABLE);
    assert_int_equal(mt_sched_live(&e.s), 2);

    assert_true(step(&e, 1000) > 0);
    assert_int_equal(p.c.self_later, MT_RUNNING);
    assert_int_equal(p.c.parent_later, MT_WAITING);
    if (fail) {
        assert_int_equal(mt_state(&p.c.task), MT_FAILED);
        assert_int_equal(mt_state(&p.task), MT_FAILED);
        assert_int_equal(mt_err(&p.task), MT_EUSER - 6);
        assert_int_equal(e.rep.count, 1);
        assert_string_equal(e.rep.name, "st_parent");
        assert_string_equal(e.rep.msg, "state fail");
        assert_int_equal(p.child_at_resume, 0);
    } else {
        assert_int_equal(mt_state(&p.c.task), MT_DONE);
        assert_int_equal(mt_state(&p.task), MT_DONE);
        assert_int_equal(p.child_at_resume, MT_DONE);
        assert_int_equal(e.rep.count, 0);
    }
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_sched_empty(&e.s);
}

static void test_states_done(void **state)
{
    (void)state;
    run_states(0);
}

static void test_states_failed(void **state)
{
    (void)state;
    run_states(1);
}

/* A child that completes in the tick of its parent's deadline reports
 * its result, done or failed: the deadline bounds the waiting, and the
 * child finished by it (the timer fired first in that cycle, the child
 * had already been woken). */
struct ontime_child { mt_task task; int fail, value; };

static int ontime_child(mt_task *t)
{
    struct ontime_child *f = (struct ontime_child *)t;
    MT_BEGIN(t);
    MT_SLEEP(t, 50);
    if (f->fail)
        MT_RAISE(t, MT_EUSER - 3, "failed on time");
    f->value = 7;
    MT_END(t);
}

struct ontime_parent { mt_task task; struct ontime_child c; int err; const char *msg; };

static int ontime_parent(mt_task *t)
{
    struct ontime_parent *f = (struct ontime_parent *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_AWAIT(t, &f->c.task, ontime_child, 50));
    f->err = mt_err(t);
    f->msg = mt_errmsg(t);
    MT_END(t);
}

static void test_child_done_at_deadline_reports(void **state)
{
    mt_sched s;
    struct fake_clock c;
    struct ontime_parent p;
    int fail;
    (void)state;

    for (fail = 0; fail < 2; fail++) {
        memset(&p, 0, sizeof p);
        p.c.fail = fail;
        mt_sched_init(&s);
        use_fake_clock(&s, &c, 1000);
        assert_int_equal(mt_sched_add(&s, &p.task, ontime_parent), 0);
        assert_int_equal(mt_sched_run(&s), 0);
        assert_int_equal(c.now, 1050);
        if (fail) {
            assert_int_equal(p.err, MT_EUSER - 3);
            assert_string_equal(p.msg, "failed on time");
            assert_int_equal(mt_state(&p.c.task), MT_FAILED);
        } else {
            assert_int_equal(p.err, 0);
            assert_int_equal(p.c.value, 7);
            assert_int_equal(mt_state(&p.c.task), MT_DONE);
        }
        assert_sched_empty(&s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_results_inline),
        cmocka_unit_test(test_results_after_yields),
        cmocka_unit_test(test_inline_child_needs_no_cycle),
        cmocka_unit_test(test_yielding_child_fifo),
        cmocka_unit_test(test_error_depth3_inline),
        cmocka_unit_test(test_error_depth3_after_yields),
        cmocka_unit_test(test_catch_await_with_message),
        cmocka_unit_test(test_catch_await_without_message),
        cmocka_unit_test(test_catch_in_the_middle),
        cmocka_unit_test(test_uncaught_without_message),
        cmocka_unit_test(test_await_misuse),
        cmocka_unit_test(test_await_misuse_uncaught),
        cmocka_unit_test(test_reuse_child_frame),
        cmocka_unit_test(test_await_same_frame_1000_times),
        cmocka_unit_test(test_await_timeout_cancels_child),
        cmocka_unit_test(test_await_timeout_uncaught),
        cmocka_unit_test(test_await_timeout_child_catches),
        cmocka_unit_test(test_child_done_at_deadline_reports),
        cmocka_unit_test(test_await_timeout_cancels_subtree),
        cmocka_unit_test(test_await_timeout_not_fired),
        cmocka_unit_test(test_await_timeout_disarmed),
        cmocka_unit_test(test_await_timeout_sleeping_child),
        cmocka_unit_test(test_await_sleeping_child_ends_first),
        cmocka_unit_test(test_finally_top_level),
        cmocka_unit_test(test_finally_child_before_parent),
        cmocka_unit_test(test_malloc_frame_freed_in_finally),
        cmocka_unit_test(test_malloc_child_freed_in_finally),
        cmocka_unit_test(test_states_done),
        cmocka_unit_test(test_states_failed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
