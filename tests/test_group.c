/* Task groups: children started together in a parent's group, joined all
 * or first-n, errors that cancel siblings and rise at the join, no orphans
 * when the parent is cancelled or ends, and sticky cancellation. Virtual
 * time: the tests move the fake clock by hand (step). */
#include "log.h"

/* The dump's lines, one after another, each with a newline. */
struct capture {
    char buf[2048];
    size_t n;
};

static void capture_out(void *arg, const char *line)
{
    struct capture *c = (struct capture *)arg;
    size_t len = strlen(line);
    if (c->n + len + 2 < sizeof c->buf) {
        memcpy(c->buf + c->n, line, len);
        c->n += len;
        c->buf[c->n++] = '\n';
        c->buf[c->n] = 0;
    }
}

/* ---- A child: sleeps, then completes or raises; logs its end --------- */

struct kid {
    mt_task task;
    const char *tag_done, *tag_fin; /* logged when it completes / ends */
    long sleep;
    int raise;           /* raise this after the sleep */
    int catch_cancel;    /* catch the sleep's error and end normally */
    int raise_on_cancel; /* having caught it, raise this instead */
    int caught, fin, fin_state;
    mt_time fin_at;
    mt_group *spawn_into; /* start `extra` into this group first */
    struct kid *extra;
};

static int kid(mt_task *t);

static mt_time now_of(mt_task *t) { return mt_deadline(t, 0); }

static int kid(mt_task *t)
{
    struct kid *f = (struct kid *)t;
    MT_BEGIN(t);
    if (f->spawn_into)
        MT_SPAWN(t, f->spawn_into, &f->extra->task, kid);
    if (f->catch_cancel) {
        MT_CATCH(t, MT_SLEEP(t, f->sleep));
        f->caught = mt_err(t);
        if (f->caught && f->raise_on_cancel)
            MT_RAISE(t, f->raise_on_cancel, "raised on cancel");
    } else {
        MT_SLEEP(t, f->sleep);
    }
    if (f->raise)
        MT_RAISE(t, f->raise, "kid failed");
    if (f->tag_done)
        ev(f->tag_done);
    MT_FINALLY(t);
    f->fin++;
    f->fin_state = mt_state(t);
    f->fin_at = now_of(t);
    if (f->tag_fin)
        ev(f->tag_fin);
    MT_END(t);
}

static const char *const done_tags[4] = {"k0 done", "k1 done", "k2 done", "k3 done"};
static const char *const fin_tags[4] = {"k0 fin", "k1 fin", "k2 fin", "k3 fin"};

/* ---- A parent: starts n kids, then joins, or ends, as `how` says ----- */

enum how { JOIN_ALL, JOIN_FIRST, END, RAISE, SLEEP_FOREVER };

struct parent {
    mt_task task;
    mt_group g;
    mt_task *slots[4];
    struct kid k[4];
    int n, cap;
    enum how how;
    int first_n;
    long timeout, sleep_first;
    int catch_join, err, fin, fin_state, resumed, rounds, round;
    mt_time resumed_at;
    int live_at_resume[4];
};

static int parent(mt_task *t)
{
    struct parent *f = (struct parent *)t;
    MT_BEGIN(t);
    for (f->round = 0; f->round < (f->rounds ? f->rounds : 1); f->round++) {
        assert_int_equal(mt_group_init(&f->g, f->slots, f->cap ? f->cap : 4), 0);
        {
            int i;
            for (i = 0; i < f->n; i++)
                f->k[i].fin = 0;
        }
        for (f->err = 0; f->err < f->n; f->err++)
            MT_SPAWN(t, &f->g, &f->k[f->err].task, kid);
        f->err = 0;
        ev("parent spawned");
        if (f->sleep_first)
            MT_SLEEP(t, f->sleep_first);
        if (f->how == END)
            MT_EXIT(t);
        if (f->how == RAISE)
            MT_RAISE(t, MT_EUSER - 5, "parent raised");
        if (f->how == SLEEP_FOREVER)
            MT_SLEEP(t, MT_TIMEOUT_MAX);
        if (f->catch_join) {
            if (f->how == JOIN_FIRST)
                MT_CATCH(t, MT_JOIN_FIRST(t, &f->g, f->first_n, f->timeout));
            else
                MT_CATCH(t, MT_JOIN(t, &f->g, f->timeout));
            f->err = mt_err(t);
        } else if (f->how == JOIN_FIRST) {
            MT_JOIN_FIRST(t, &f->g, f->first_n, f->timeout);
        } else {
            MT_JOIN(t, &f->g, f->timeout);
        }
        {
            int i;
            for (i = 0; i < f->n; i++)
                f->live_at_resume[i] = mt_state(&f->k[i].task) >= MT_RUNNABLE;
        }
        f->resumed++;
        f->resumed_at = now_of(t);
        ev("parent resumed");
    }
    MT_FINALLY(t);
    f->fin++;
    f->fin_state = mt_state(t);
    ev("parent fin");
    MT_END(t);
}

static void setup(struct parent *p, int n, enum how how, const long *sleeps)
{
    int i;
    memset(p, 0, sizeof *p);
    p->n = n;
    p->how = how;
    p->timeout = MT_FOREVER;
    for (i = 0; i < n; i++) {
        p->k[i].sleep = sleeps[i];
        p->k[i].tag_done = done_tags[i];
        p->k[i].tag_fin = fin_tags[i];
    }
}

/* Run the parent's first cycle and its children's first at 1000, then
 * cycles at 1001, 1002, ... until the parent has ended; returns the time
 * of the last cycle. */
static mt_time run_until_ended(struct env *e, struct parent *p)
{
    mt_time now = 1001;
    (void)step(e, 1000);
    (void)step(e, 1000);
    while (mt_state(&p->task) >= MT_RUNNABLE && now < 5000)
        (void)step(e, now++);
    return (mt_time)(now - 1);
}

/* ---- Join all ----------------------------------------------------------- */

/* The children run together while the parent goes on; the join resumes it
 * once the last has ended, and each one's finally section ran before. */
static void test_join_all(void **state)
{
    static const long sleeps[3] = {30, 10, 20};
    struct env e;
    struct parent p;
    (void)state;

    env_init(&e);
    setup(&p, 3, JOIN_ALL, sleeps);
    assert_int_equal(mt_sched_add(&e.s, &p.task, parent), 0);
    assert_int_equal(run_until_ended(&e, &p), 1030);
    CHECK_LOG("parent spawned", "k1 done", "k1 fin", "k2 done", "k2 fin", "k0 done",
              "k0 fin", "parent resumed", "parent fin");
    assert_int_equal(p.resumed_at, 1030);
    assert_int_equal(p.k[0].fin_at, 1030);
    assert_int_equal(p.k[1].fin_at, 1010);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(mt_state(&p.k[0].task), MT_DONE);
    assert_int_equal(mt_group_live(&p.g), 0);
    assert_ptr_equal(mt_group_first(&p.g), &p.k[1].task);
    assert_null(mt_group_failed(&p.g));
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* While the group is open the children are live tasks of the scheduler,
 * and mt_group_live counts them. */
static void test_group_live_counts(void **state)
{
    static const long sleeps[2] = {10, 20};
    struct env e;
    struct parent p;
    (void)state;

    env_init(&e);
    setup(&p, 2, JOIN_ALL, sleeps);
    assert_int_equal(mt_sched_add(&e.s, &p.task, parent), 0);
    assert_int_equal(step(&e, 1000), 1);
    assert_int_equal(mt_group_live(&p.g), 2);
    assert_int_equal(mt_sched_live(&e.s), 3);
    assert_int_equal(mt_state(&p.task), MT_WAITING);
    assert_int_equal(mt_state(&p.k[0].task), MT_RUNNABLE);
    assert_int_equal(step(&e, 1000), 2); /* the children's first run */
    assert_int_equal(step(&e, 1010), 1);
    assert_int_equal(mt_group_live(&p.g), 1);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(mt_group_live(&p.g), 0);
    assert_sched_empty(&e.s);
}

/* Joining a group with no child returns at once. */
static void test_join_empty(void **state)
{
    struct env e;
    struct parent p;
    (void)state;

    env_init(&e);
    setup(&p, 0, JOIN_ALL, NULL);
    assert_int_equal(mt_sched_add(&e.s, &p.task, parent), 0);
    assert_int_equal(step(&e, 1000), 1);
    CHECK_LOG("parent spawned", "parent resumed", "parent fin");
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_sched_empty(&e.s);
}

/* The same frames, spawned and joined again: a join frees them. */
static void test_frames_reused_after_join(void **state)
{
    static const long sleeps[2] = {5, 3};
    struct env e;
    struct parent p;
    (void)state;

    env_init(&e);
    setup(&p, 2, JOIN_ALL, sleeps);
    p.rounds = 3;
    assert_int_equal(mt_sched_add(&e.s, &p.task, parent), 0);
    /* Rounds at 1000-1005, 1005-1011, 1011-1017: children start the cycle
     * after the spawn (the first round's, in the second cycle at 1000). */
    assert_int_equal(run_until_ended(&e, &p), 1017);
    assert_int_equal(p.resumed, 3);
    assert_int_equal(p.k[0].fin, 1); /* once per round, reset each round */
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_sched_empty(&e.s);
}

/* A join that times out cancels the children and resumes once they ended,
 * with MT_ETIMEDOUT. */
static void test_join_timeout(void **state)
{
    static const long sleeps[2] = {100, 10};
    struct env e;
    struct parent p;
    (void)state;

    env_init(&e);
    setup(&p, 2, JOIN_ALL, sleeps);
    p.timeout = 50;
    p.catch_join = 1;
    assert_int_equal(mt_sched_add(&e.s, &p.task, parent), 0);
    assert_int_equal(run_until_ended(&e, &p), 1050);
    CHECK_LOG("parent spawned", "k1 done", "k1 fin", "k0 fin", "parent resumed",
              "parent fin");
    assert_int_equal(p.err, MT_ETIMEDOUT);
    assert_int_equal(mt_state(&p.k[0].task), MT_CANCELLED);
    assert_int_equal(p.k[0].fin_at, 1050);
    assert_int_equal(p.live_at_resume[0], 0);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_sched_empty(&e.s);
}

/* ---- Join first --------------------------------------------------------- */

/* A race: the first to complete wins, the other is cancelled, and its
 * cleanup has run when the parent resumes (in the next cycle: a cancel
 * from a running task wakes the cancelled one for the next cycle). */
static void test_join_first_race(void **state)
{
    static const long sleeps[2] = {30, 10};
    struct env e;
    struct parent p;
    (void)state;

    env_init(&e);
    setup(&p, 2, JOIN_FIRST, sleeps);
    p.first_n = 1;
    assert_int_equal(mt_sched_add(&e.s, &p.task, parent), 0);
    assert_int_equal(run_until_ended(&e, &p), 1011);
    CHECK_LOG("parent spawned", "k1 done", "k1 fin", "k0 fin", "parent resumed",
              "parent fin");
    assert_ptr_equal(mt_group_first(&p.g), &p.k[1].task);
    assert_int_equal(mt_state(&p.k[1].task), MT_DONE);
    assert_int_equal(mt_state(&p.k[0].task), MT_CANCELLED);
    assert_int_equal(p.live_at_resume[0], 0);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_sched_empty(&e.s);
}

/* The first two of four: the rest are cancelled. */
static void test_join_first_n(void **state)
{
    static const long sleeps[4] = {40, 10, 30, 20};
    struct env e;
    struct parent p;
    (void)state;

    env_init(&e);
    setup(&p, 4, JOIN_FIRST, sleeps);
    p.first_n = 2;
    assert_int_equal(mt_sched_add(&e.s, &p.task, parent), 0);
    assert_int_equal(run_until_ended(&e, &p), 1021);
    assert_ptr_equal(mt_group_first(&p.g), &p.k[1].task);
    assert_int_equal(mt_state(&p.k[1].task), MT_DONE);
    assert_int_equal(mt_state(&p.k[3].task), MT_DONE);
    assert_int_equal(mt_state(&p.k[0].task), MT_CANCELLED);
    assert_int_equal(mt_state(&p.k[2].task), MT_CANCELLED);
    assert_int_equal(p.k[2].fin, 1);
    assert_int_equal(p.resumed_at, 1021);
    assert_sched_empty(&e.s);
}

/* A child that completed before the join began counts: the join cancels
 * the others at once. */
static void test_join_first_already_completed(void **state)
{
    static const long sleeps[2] = {100, 5};
    struct env e;
    struct parent p;
    (void)state;

    env_init(&e);
    setup(&p, 2, JOIN_FIRST, sleeps);
    p.first_n = 1;
    p.sleep_first = 20;
    assert_int_equal(mt_sched_add(&e.s, &p.task, parent), 0);
    assert_int_equal(run_until_ended(&e, &p), 1021);
    CHECK_LOG("parent spawned", "k1 done", "k1 fin", "k0 fin", "parent resumed",
              "parent fin");
    assert_ptr_equal(mt_group_first(&p.g), &p.k[1].task);
    assert_int_equal(mt_state(&p.k[0].task), MT_CANCELLED);
    assert_sched_empty(&e.s);
}

/* Children cancelled from outside end without completing: the join
 * returns when all have ended, with fewer than n completed, no error. */
static void test_join_first_none_completed(void **state)
{
    static const long sleeps[2] = {100, 100};
    struct env e;
    struct parent p;
    (void)state;

    env_init(&e);
    setup(&p, 2, JOIN_FIRST, sleeps);
    p.first_n = 1;
    assert_int_equal(mt_sched_add(&e.s, &p.task, parent), 0);
    assert_true(step(&e, 1000) > 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(mt_cancel(&p.k[0].task), 0);
    assert_int_equal(mt_cancel(&p.k[1].task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(p.resumed, 1);
    assert_int_equal(p.err, 0);
    assert_null(mt_group_first(&p.g));
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_sched_empty(&e.s);
}


/* A long-lived group reuses the slots of ended children: a spawn that
 * finds the end of the slots packs the live ones to the front. */
struct nursery {
    mt_task task;
    mt_group g;
    mt_task *slots[2];
    struct kid k[4];
    int i, full;
};

static int nursery(mt_task *t)
{
    struct nursery *f = (struct nursery *)t;
    MT_BEGIN(t);
    assert_int_equal(mt_group_init(&f->g, f->slots, 2), 0);
    f->k[0].sleep = 5;
    f->k[1].sleep = 50;
    f->k[2].sleep = 20;
    f->k[3].sleep = 30;
    MT_SPAWN(t, &f->g, &f->k[0].task, kid);
    MT_SPAWN(t, &f->g, &f->k[1].task, kid);
    MT_CATCH(t, MT_SPAWN(t, &f->g, &f->k[2].task, kid)); /* both live: full */
    f->full = mt_err(t);
    MT_SLEEP(t, 10); /* k0 has ended: its slot is free */
    MT_SPAWN(t, &f->g, &f->k[2].task, kid);
    MT_SLEEP(t, 30); /* k2 has ended: the first slot is free again */
    MT_SPAWN(t, &f->g, &f->k[3].task, kid);
    assert_int_equal(mt_group_live(&f->g), 2);
    MT_JOIN(t, &f->g, MT_FOREVER);
    ev("joined");
    MT_END(t);
}

static void test_slots_reused(void **state)
{
    struct env e;
    struct nursery f;
    mt_time now;
    (void)state;

    env_init(&e);
    memset(&f, 0, sizeof f);
    f.k[1].tag_fin = "k1 fin";
    f.k[3].tag_fin = "k3 fin";
    assert_int_equal(mt_sched_add(&e.s, &f.task, nursery), 0);
    for (now = 1000; mt_state(&f.task) >= MT_RUNNABLE && now < 2000; now++)
        (void)step(&e, now);
    CHECK_LOG("k1 fin", "k3 fin", "joined");
    assert_int_equal(f.full, MT_ENOMEM);
    assert_int_equal(mt_state(&f.k[3].task), MT_DONE);
    assert_int_equal(mt_state(&f.task), MT_DONE);
    assert_sched_empty(&e.s);
}

/* ---- Errors ------------------------------------------------------------- */

/* The first child to fail cancels its siblings at once (not at the join)
 * and the join raises its error, with its message; the parent may catch
 * it and learn which child failed. */
static void test_error_cancels_siblings(void **state)
{
    static const long sleeps[3] = {100, 10, 100};
    struct env e;
    struct parent p;
    (void)state;

    env_init(&e);
    setup(&p, 3, JOIN_ALL, sleeps);
    p.k[1].raise = MT_EUSER - 1;
    p.catch_join = 1;
    p.sleep_first = 50; /* the join starts after the failure */
    assert_int_equal(mt_sched_add(&e.s, &p.task, parent), 0);
    assert_int_equal(run_until_ended(&e, &p), 1050);
    CHECK_LOG("parent spawned", "k1 fin", "k0 fin", "k2 fin", "parent resumed",
              "parent fin");
    assert_int_equal(p.k[0].fin_at, 1011); /* the cycle after the failure */
    assert_int_equal(p.k[2].fin_at, 1011);
    assert_int_equal(mt_state(&p.k[0].task), MT_CANCELLED);
    assert_int_equal(mt_state(&p.k[1].task), MT_FAILED);
    assert_int_equal(p.err, MT_EUSER - 1);
    assert_ptr_equal(mt_group_failed(&p.g), &p.k[1].task);
    assert_int_equal(mt_group_lost(&p.g), 0);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(e.rep.count, 0); /* caught: not reported */
    assert_sched_empty(&e.s);
}

/* Uncaught at the join, the child's error ends the parent with it, and a
 * top-level parent's failure is reported once, under its name. */
static void test_error_uncaught_at_join(void **state)
{
    static const long sleeps[2] = {100, 10};
    struct env e;
    struct parent p;
    (void)state;

    env_init(&e);
    setup(&p, 2, JOIN_ALL, sleeps);
    p.k[1].raise = MT_EUSER - 1;
    assert_int_equal(mt_sched_add(&e.s, &p.task, parent), 0);
    assert_int_equal(mt_sched_run(&e.s), MT_EUNHANDLED);
    assert_int_equal(mt_state(&p.task), MT_FAILED);
    assert_int_equal(mt_err(&p.task), MT_EUSER - 1);
    assert_string_equal(mt_errmsg(&p.task), "kid failed");
    assert_int_equal(e.rep.count, 1);
    assert_ptr_equal(e.rep.task, &p.task);
    assert_int_equal(p.fin_state, MT_FAILED);
    assert_sched_empty(&e.s);
}

/* Two children fail in one cycle: the first error is raised at the
 * join; the second child had completed its wait before the cancel came,
 * so it fails too: reported and counted, not lost. A third catches its
 * cancellation and raises: sticky, it ends cancelled, no error. */
static void test_later_error_reported(void **state)
{
    static const long sleeps[3] = {10, 10, 100};
    struct env e;
    struct parent p;
    (void)state;

    env_init(&e);
    setup(&p, 3, JOIN_ALL, sleeps);
    p.k[0].raise = MT_EUSER - 1;
    p.k[1].raise = MT_EUSER - 2;
    p.k[2].catch_cancel = 1;
    p.k[2].raise_on_cancel = MT_EUSER - 3;
    p.catch_join = 1;
    assert_int_equal(mt_sched_add(&e.s, &p.task, parent), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(p.err, MT_EUSER - 1);
    assert_ptr_equal(mt_group_failed(&p.g), &p.k[0].task);
    assert_int_equal(mt_group_lost(&p.g), 1);
    assert_int_equal(e.rep.count, 1);
    assert_ptr_equal(e.rep.task, &p.k[1].task);
    assert_int_equal(e.rep.code, MT_EUSER - 2);
    if (MT_DUMP)
        assert_string_equal(e.rep.name, "kid");
    assert_int_equal(p.k[2].caught, MT_ECANCELED);
    assert_int_equal(mt_state(&p.k[2].task), MT_CANCELLED);
    assert_int_equal(mt_err(&p.k[2].task), MT_ECANCELED);
    assert_sched_empty(&e.s);
}

/* A child cancelled from outside is not an error at the join. */
static void test_cancelled_child_not_an_error(void **state)
{
    static const long sleeps[2] = {100, 10};
    struct env e;
    struct parent p;
    (void)state;

    env_init(&e);
    setup(&p, 2, JOIN_ALL, sleeps);
    assert_int_equal(mt_sched_add(&e.s, &p.task, parent), 0);
    assert_true(step(&e, 1000) > 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(mt_cancel(&p.k[0].task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(mt_state(&p.k[0].task), MT_CANCELLED);
    assert_int_equal(mt_state(&p.k[1].task), MT_DONE);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(p.resumed, 1);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* ---- No orphans --------------------------------------------------------- */

/* Cancelling a joining parent cancels its children first; it resumes
 * with MT_ECANCELED once they ended. */
static void test_cancel_joining_parent(void **state)
{
    static const long sleeps[2] = {100, 200};
    struct env e;
    struct parent p;
    (void)state;

    env_init(&e);
    setup(&p, 2, JOIN_ALL, sleeps);
    assert_int_equal(mt_sched_add(&e.s, &p.task, parent), 0);
    assert_true(step(&e, 1000) > 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(mt_cancel(&p.task), 0);
    assert_int_equal(mt_state(&p.task), MT_WAITING); /* until they end */
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("parent spawned", "k0 fin", "k1 fin", "parent fin");
    assert_int_equal(mt_state(&p.task), MT_CANCELLED);
    assert_int_equal(mt_state(&p.k[0].task), MT_CANCELLED);
    assert_int_equal(e.clk.now, 1000);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* Cancelling a parent parked elsewhere (a sleep) cancels its children
 * first; it ends at once, but its finally section waits for them. */
static void test_cancel_sleeping_parent(void **state)
{
    static const long sleeps[2] = {100, 200};
    struct env e;
    struct parent p;
    (void)state;

    env_init(&e);
    setup(&p, 2, SLEEP_FOREVER, sleeps);
    assert_int_equal(mt_sched_add(&e.s, &p.task, parent), 0);
    assert_true(step(&e, 1000) > 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(mt_cancel(&p.task), 0);
    assert_int_equal(mt_state(&p.k[0].task), MT_RUNNABLE); /* woken, cancelled */
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("parent spawned", "k0 fin", "k1 fin", "parent fin");
    assert_int_equal(mt_state(&p.task), MT_CANCELLED);
    assert_int_equal(p.fin_state, MT_CANCELLED);
    assert_sched_empty(&e.s);
}

/* A parent that ends with live children (no join) cancels them and waits
 * for them to end before its finally section: it stays live meanwhile. */
static void test_parent_ends_with_live_children(void **state)
{
    static const long sleeps[2] = {100, 200};
    struct env e;
    struct parent p;
    (void)state;

    env_init(&e);
    setup(&p, 2, END, sleeps);
    p.k[1].catch_cancel = 1; /* ends normally on its cancel: still cancelled */
    p.sleep_first = 5; /* the children run first */
    assert_int_equal(mt_sched_add(&e.s, &p.task, parent), 0);
    assert_true(step(&e, 1000) > 0);
    assert_true(step(&e, 1000) > 0);
    assert_true(step(&e, 1005) > 0);
    assert_int_equal(mt_state(&p.task), MT_WAITING);
    assert_int_equal(p.fin, 0);
    if (MT_DUMP) {
        struct capture cap;
        memset(&cap, 0, sizeof cap);
        assert_int_equal(mt_sched_dump(&e.s, capture_out, &cap), 3);
        assert_true(strncmp(cap.buf, "parent  ending", 14) == 0);
        assert_non_null(strstr(cap.buf, "its groups' children"));
        assert_non_null(strstr(cap.buf, ", its owner ending\n"));
    }
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("parent spawned", "k0 fin", "k1 done", "k1 fin", "parent fin");
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_int_equal(mt_state(&p.k[0].task), MT_CANCELLED);
    assert_int_equal(mt_state(&p.k[1].task), MT_CANCELLED);
    assert_int_equal(p.k[1].caught, MT_ECANCELED);
    assert_int_equal(e.clk.now, 1005);
    assert_int_equal(e.rep.count, 0);
    assert_sched_empty(&e.s);
}

/* A parent that raises with live children: they are cancelled and end
 * first; then it fails, reported under its own name. */
static void test_parent_raises_with_live_children(void **state)
{
    static const long sleeps[2] = {100, 200};
    struct env e;
    struct parent p;
    (void)state;

    env_init(&e);
    setup(&p, 2, RAISE, sleeps);
    assert_int_equal(mt_sched_add(&e.s, &p.task, parent), 0);
    assert_int_equal(mt_sched_run(&e.s), MT_EUNHANDLED);
    CHECK_LOG("parent spawned", "k0 fin", "k1 fin", "parent fin");
    assert_int_equal(mt_state(&p.task), MT_FAILED);
    assert_int_equal(mt_err(&p.task), MT_EUSER - 5);
    assert_string_equal(mt_errmsg(&p.task), "parent raised");
    assert_int_equal(e.rep.count, 1);
    assert_ptr_equal(e.rep.task, &p.task);
    if (MT_DUMP)
        assert_string_equal(e.rep.name, "parent");
    assert_sched_empty(&e.s);
}

/* A parent that ends normally after a child failed, without joining: the
 * error is not lost, the parent fails with it. */
static void test_parent_ends_after_child_failed(void **state)
{
    static const long sleeps[2] = {100, 10};
    struct env e;
    struct parent p;
    (void)state;

    env_init(&e);
    setup(&p, 2, END, sleeps);
    p.k[1].raise = MT_EUSER - 1;
    p.sleep_first = 20;
    assert_int_equal(mt_sched_add(&e.s, &p.task, parent), 0);
    assert_int_equal(mt_sched_run(&e.s), MT_EUNHANDLED);
    assert_int_equal(mt_state(&p.task), MT_FAILED);
    assert_int_equal(mt_err(&p.task), MT_EUSER - 1);
    assert_int_equal(e.rep.count, 1);
    assert_sched_empty(&e.s);
}

/* Groups nest: cancelling the top cancels the deepest first; each task's
 * cleanup runs after its own children's. */
struct mid {
    mt_task task;
    mt_group g;
    mt_task *slots[1];
    struct kid k;
};

static int mid(mt_task *t)
{
    struct mid *f = (struct mid *)t;
    MT_BEGIN(t);
    assert_int_equal(mt_group_init(&f->g, f->slots, 1), 0);
    MT_SPAWN(t, &f->g, &f->k.task, kid);
    MT_JOIN(t, &f->g, MT_FOREVER);
    MT_FINALLY(t);
    ev("mid fin");
    MT_END(t);
}

struct top {
    mt_task task;
    mt_group g;
    mt_task *slots[2];
    struct mid m;
    struct kid k;
};

static int top(mt_task *t)
{
    struct top *f = (struct top *)t;
    MT_BEGIN(t);
    assert_int_equal(mt_group_init(&f->g, f->slots, 2), 0);
    MT_SPAWN(t, &f->g, &f->m.task, mid);
    MT_SPAWN(t, &f->g, &f->k.task, kid);
    MT_JOIN(t, &f->g, MT_FOREVER);
    MT_FINALLY(t);
    ev("top fin");
    MT_END(t);
}

static void test_nested_groups_cancel_deepest_first(void **state)
{
    struct env e;
    static struct top f;
    struct capture cap;
    (void)state;

    env_init(&e);
    memset(&f, 0, sizeof f);
    f.m.k.sleep = f.k.sleep = 100;
    f.m.k.tag_fin = "grandchild fin";
    f.k.tag_fin = "child fin";
    assert_int_equal(mt_sched_add(&e.s, &f.task, top), 0);
    assert_true(step(&e, 1000) > 0);
    assert_true(step(&e, 1000) > 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(mt_sched_live(&e.s), 4);
    if (MT_DUMP) { /* each child one level under its parent */
        memset(&cap, 0, sizeof cap);
        assert_int_equal(mt_sched_dump(&e.s, capture_out, &cap), 4);
        assert_true(strncmp(cap.buf, "top  waiting", 12) == 0);
        assert_non_null(strstr(cap.buf, "join group 0x"));
        assert_non_null(strstr(cap.buf, "\n  mid  waiting"));
        assert_non_null(strstr(cap.buf, "\n    kid  waiting"));
        assert_non_null(strstr(cap.buf, "\n  kid  waiting"));
        assert_non_null(strstr(cap.buf, "in group 0x"));
        assert_non_null(strstr(cap.buf, ", joined\n"));
    }
    assert_int_equal(mt_cancel(&f.task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("grandchild fin", "mid fin", "child fin", "top fin");
    assert_int_equal(mt_state(&f.task), MT_CANCELLED);
    assert_int_equal(mt_state(&f.m.task), MT_CANCELLED);
    assert_sched_empty(&e.s);
}

/* An awaited task with a group: the awaiting parent's timeout cancels it,
 * and so its children first; the parent resumes MT_ETIMEDOUT after all. */
struct awaiter {
    mt_task task;
    struct parent p;
    int err;
};

static int awaiter(mt_task *t)
{
    struct awaiter *f = (struct awaiter *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_AWAIT(t, &f->p.task, parent, 50));
    f->err = mt_err(t);
    ev("awaiter resumed");
    MT_END(t);
}

static void test_awaited_owner_times_out(void **state)
{
    static const long sleeps[2] = {100, 200};
    struct env e;
    struct awaiter a;
    mt_time now;
    (void)state;

    env_init(&e);
    memset(&a, 0, sizeof a);
    setup(&a.p, 2, JOIN_ALL, sleeps);
    assert_int_equal(mt_sched_add(&e.s, &a.task, awaiter), 0);
    for (now = 1000; mt_state(&a.task) >= MT_RUNNABLE && now < 2000; now++)
        (void)step(&e, now);
    CHECK_LOG("parent spawned", "k0 fin", "k1 fin", "parent fin", "awaiter resumed");
    assert_int_equal(a.err, MT_ETIMEDOUT);
    assert_int_equal(now - 1, 1050);
    assert_int_equal(mt_state(&a.p.task), MT_CANCELLED);
    assert_sched_empty(&e.s);
}

/* A child may start a sibling in its parent's group: the join waits for
 * it too. */
static void test_child_spawns_sibling(void **state)
{
    static const long sleeps[1] = {10};
    struct env e;
    struct parent p;
    struct kid extra;
    (void)state;

    env_init(&e);
    setup(&p, 1, JOIN_ALL, sleeps);
    memset(&extra, 0, sizeof extra);
    extra.sleep = 40;
    extra.tag_fin = "extra fin";
    p.k[0].spawn_into = &p.g;
    p.k[0].extra = &extra;
    assert_int_equal(mt_sched_add(&e.s, &p.task, parent), 0);
    assert_int_equal(run_until_ended(&e, &p), 1041); /* extra starts at 1001 */
    CHECK_LOG("parent spawned", "k0 done", "k0 fin", "extra fin", "parent resumed",
              "parent fin");
    assert_sched_empty(&e.s);
}

/* ---- Sticky cancellation ------------------------------------------------- */

/* A child that catches its cancellation and ends normally is still
 * cancelled: the parent awaiting it sees MT_ECANCELED, not success. */
struct await_one {
    mt_task task;
    struct kid k;
    int err;
};

static int await_one(mt_task *t)
{
    struct await_one *f = (struct await_one *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_AWAIT(t, &f->k.task, kid, MT_FOREVER));
    f->err = mt_err(t);
    MT_END(t);
}

static void test_sticky_cancel_seen_by_parent(void **state)
{
    struct env e;
    struct await_one a;
    (void)state;

    env_init(&e);
    memset(&a, 0, sizeof a);
    a.k.sleep = 100;
    a.k.catch_cancel = 1;
    assert_int_equal(mt_sched_add(&e.s, &a.task, await_one), 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(mt_cancel(&a.k.task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(a.k.caught, MT_ECANCELED);
    assert_int_equal(a.k.fin_state, MT_CANCELLED);
    assert_int_equal(mt_state(&a.k.task), MT_CANCELLED);
    assert_int_equal(mt_err(&a.k.task), MT_ECANCELED);
    assert_int_equal(a.err, MT_ECANCELED);
    assert_sched_empty(&e.s);
}

/* Catching a timeout stays easy: a task that catches MT_ETIMEDOUT and ends
 * normally is done. */
static void test_caught_timeout_is_not_cancel(void **state)
{
    struct env e;
    struct await_one a;
    (void)state;

    env_init(&e);
    memset(&a, 0, sizeof a);
    a.k.sleep = 100;
    assert_int_equal(mt_sched_add(&e.s, &a.task, await_one), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(mt_state(&a.k.task), MT_DONE);
    assert_int_equal(a.err, 0);
    assert_sched_empty(&e.s);
}

/* ---- Bad input ---------------------------------------------------------- */

struct misuser {
    mt_task task;
    mt_group g, other;
    mt_task *slots[1];
    struct kid k[2];
    int rc[8];
    mt_task *stranger;
};

static int misuser(mt_task *t)
{
    struct misuser *f = (struct misuser *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_SPAWN(t, NULL, &f->k[0].task, kid));
    f->rc[0] = mt_err(t);
    MT_CATCH(t, MT_SPAWN(t, &f->other, &f->k[0].task, kid)); /* no init */
    f->rc[1] = mt_err(t);
    assert_int_equal(mt_group_init(&f->g, f->slots, 1), 0);
    MT_CATCH(t, MT_SPAWN(t, &f->g, t, kid));
    f->rc[2] = mt_err(t);
    MT_CATCH(t, MT_SPAWN(t, &f->g, &f->k[0].task, NULL));
    f->rc[3] = mt_err(t);
    f->k[0].sleep = f->k[1].sleep = 10;
    MT_SPAWN(t, &f->g, &f->k[0].task, kid);
    MT_CATCH(t, MT_SPAWN(t, &f->g, &f->k[1].task, kid)); /* one slot */
    f->rc[4] = mt_err(t);
    assert_int_equal(mt_group_init(&f->g, f->slots, 1), MT_EBUSY);
    MT_CATCH(t, MT_JOIN_FIRST(t, &f->g, -1, MT_FOREVER));
    f->rc[5] = mt_err(t);
    MT_CATCH(t, MT_JOIN(t, &f->g, -2));
    f->rc[6] = mt_err(t);
    MT_JOIN_FIRST(t, &f->g, 1, MT_FOREVER);
    MT_CATCH(t, MT_JOIN(t, &f->g, MT_FOREVER)); /* joined: nothing left */
    f->rc[7] = mt_err(t);
    MT_END(t);
}

static void test_bad_input(void **state)
{
    struct env e;
    struct misuser m;
    mt_task *slot[1];
    mt_group g;
    (void)state;

    env_init(&e);
    memset(&m, 0, sizeof m);
    memset(&g, 0, sizeof g);
    assert_int_equal(mt_group_init(NULL, slot, 1), MT_EINVAL);
    assert_int_equal(mt_group_init(&g, NULL, 1), MT_EINVAL);
    assert_int_equal(mt_group_init(&g, slot, 0), MT_EINVAL);
    assert_int_equal(mt_group_init(&g, slot, 65536), MT_EINVAL);
    assert_null(mt_group_first(NULL));
    assert_null(mt_group_failed(NULL));
    assert_int_equal(mt_group_lost(NULL), 0);
    assert_int_equal(mt_group_live(NULL), 0);
    assert_int_equal(mt_sched_add(&e.s, &m.task, misuser), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(m.rc[0], MT_EINVAL);
    assert_int_equal(m.rc[1], MT_EINVAL);
    assert_int_equal(m.rc[2], MT_EINVAL);
    assert_int_equal(m.rc[3], MT_EINVAL);
    assert_int_equal(m.rc[4], MT_ENOMEM);
    assert_int_equal(m.rc[5], MT_EINVAL);
    assert_int_equal(m.rc[6], MT_EINVAL);
    assert_int_equal(m.rc[7], 0);
    assert_int_equal(mt_state(&m.k[0].task), MT_DONE);
    assert_sched_empty(&e.s);
}

/* Refusals: a live child (MT_EBUSY, a misuse), a cancelling group
 * (MT_ECANCELED), a join by a task that does not own the group. */
struct refuser {
    mt_task task;
    mt_group g;
    mt_task *slots[2];
    struct kid k[2];
    int busy, cancelling, not_owner;
};

struct joiner {
    mt_task task;
    mt_group *g;
    int err;
};

static int joiner(mt_task *t)
{
    struct joiner *f = (struct joiner *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_JOIN(t, f->g, MT_FOREVER));
    f->err = mt_err(t);
    MT_END(t);
}

static int refuser(mt_task *t)
{
    struct refuser *f = (struct refuser *)t;
    MT_BEGIN(t);
    assert_int_equal(mt_group_init(&f->g, f->slots, 2), 0);
    f->k[0].sleep = 10;
    f->k[0].raise = MT_EUSER;
    f->k[1].sleep = 100;
    MT_SPAWN(t, &f->g, &f->k[0].task, kid);
    MT_CATCH(t, MT_SPAWN(t, &f->g, &f->k[0].task, kid));
    f->busy = mt_err(t);
    MT_SLEEP(t, 20); /* k0 failed: the group cancels */
    MT_CATCH(t, MT_SPAWN(t, &f->g, &f->k[1].task, kid));
    f->cancelling = mt_err(t);
    MT_CATCH(t, MT_JOIN(t, &f->g, MT_FOREVER));
    MT_END(t);
}

static void test_refusals(void **state)
{
    struct env e;
    struct refuser r;
    struct joiner j;
    (void)state;

    SKIP_IF_ASSERT();
    env_init(&e);
    memset(&r, 0, sizeof r);
    memset(&j, 0, sizeof j);
    j.g = &r.g;
    assert_int_equal(mt_sched_add(&e.s, &r.task, refuser), 0);
    assert_int_equal(step(&e, 1000), 1);
    assert_int_equal(mt_sched_add(&e.s, &j.task, joiner), 0);
    assert_int_equal(step(&e, 1000), 2);
    assert_int_equal(j.err, MT_EINVAL);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(r.busy, MT_EBUSY);
    assert_int_equal(r.cancelling, MT_ECANCELED);
    assert_int_equal(mt_err(&r.task), 0);
    assert_sched_empty(&e.s);
}


/* ---- Cleanup that can wait: MT_SHIELD ------------------------------------- */

enum { SH_SLEEP, SH_FOREVER, SH_AWAIT, SH_JOIN };

struct shielded {
    mt_task task;
    int what;           /* the shielded wait */
    long first;         /* the body's wait (caught) */
    long tmo;           /* the shielded wait's timeout */
    int body_err, shield_err, fin_state, after;
    mt_time shield_end;
    const char *msg;
    mt_event ev;
    struct kid k;
    mt_group g;
    mt_task *slots[1];
};

static int shielded(mt_task *t)
{
    struct shielded *f = (struct shielded *)t;
    MT_BEGIN(t);
    if (f->first) {
        MT_CATCH(t, MT_SLEEP(t, f->first));
        f->body_err = mt_err(t);
    }
    ev("cleanup");
    if (f->what == SH_SLEEP) {
        MT_SHIELD(t, MT_SLEEP(t, f->tmo));
    } else if (f->what == SH_FOREVER) {
        MT_SHIELD(t, MT_EVENT_WAIT(t, &f->ev, MT_FOREVER));
    } else if (f->what == SH_AWAIT) {
        MT_SHIELD(t, MT_AWAIT(t, &f->k.task, kid, f->tmo));
    } else {
        assert_int_equal(mt_group_init(&f->g, f->slots, 1), 0);
        MT_SPAWN(t, &f->g, &f->k.task, kid);
        MT_SHIELD(t, MT_JOIN(t, &f->g, f->tmo));
    }
    f->shield_err = mt_err(t);
    f->msg = mt_errmsg(t);
    f->shield_end = now_of(t);
    ev("cleanup done");
    MT_YIELD(t); /* a wait after the shield: a cancelled task ends here */
    f->after = 1;
    MT_FINALLY(t);
    f->fin_state = mt_state(t);
    ev("fin");
    MT_END(t);
}

/* A cancelled task that caught it runs a shielded wait in full, then ends
 * cancelled (sticky) at its next wait; its finally section runs last. */
static void test_shield_cleanup_after_cancel(void **state)
{
    struct env e;
    struct shielded f;
    (void)state;

    env_init(&e);
    memset(&f, 0, sizeof f);
    f.first = 1000;
    f.tmo = 50;
    assert_int_equal(mt_sched_add(&e.s, &f.task, shielded), 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(mt_cancel(&f.task), 0);
    assert_true(step(&e, 1010) > 0);
    assert_int_equal(f.body_err, MT_ECANCELED);
    assert_int_equal(mt_state(&f.task), MT_WAITING); /* its shielded sleep */
    assert_int_equal(mt_cancel(&f.task), 0); /* again: no effect on it */
    assert_int_equal(mt_state(&f.task), MT_WAITING);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("cleanup", "cleanup done", "fin");
    assert_int_equal(f.shield_err, 0);
    assert_int_equal(f.shield_end, 1060);
    assert_int_equal(f.after, 0);
    assert_int_equal(f.fin_state, MT_CANCELLED);
    assert_int_equal(mt_err(&f.task), MT_ECANCELED);
    assert_sched_empty(&e.s);
}

/* A cancel that comes while the shielded wait runs waits for it to end:
 * the task then ends at its next wait. */
static void test_shield_not_interrupted(void **state)
{
    struct env e;
    struct shielded f;
    (void)state;

    env_init(&e);
    memset(&f, 0, sizeof f);
    f.tmo = 100;
    assert_int_equal(mt_sched_add(&e.s, &f.task, shielded), 0);
    assert_true(step(&e, 1000) > 0);
    assert_int_equal(mt_cancel(&f.task), 0);
    assert_int_equal(mt_state(&f.task), MT_WAITING);
    assert_int_equal(step(&e, 1050), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(f.shield_err, 0);
    assert_int_equal(f.shield_end, 1100);
    assert_int_equal(f.after, 0);
    assert_int_equal(mt_state(&f.task), MT_CANCELLED);
    assert_sched_empty(&e.s);
}

/* A shielded wait still times out: the error is kept, as MT_CATCH's. */
static void test_shield_times_out(void **state)
{
    struct env e;
    struct shielded f;
    (void)state;

    env_init(&e);
    memset(&f, 0, sizeof f);
    f.what = SH_AWAIT;
    f.tmo = 30;
    f.k.sleep = 100;
    f.k.tag_fin = "child fin";
    assert_int_equal(mt_sched_add(&e.s, &f.task, shielded), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("cleanup", "child fin", "cleanup done", "fin");
    assert_int_equal(f.shield_err, MT_ETIMEDOUT);
    assert_int_equal(f.shield_end, 1030);
    assert_int_equal(f.after, 1);
    assert_int_equal(mt_state(&f.task), MT_DONE);
    assert_sched_empty(&e.s);
}

/* A shielded wait without a finite timeout is refused. */
static void test_shield_forever_refused(void **state)
{
    struct env e;
    struct shielded f;
    (void)state;

    env_init(&e);
    memset(&f, 0, sizeof f);
    f.what = SH_FOREVER;
    assert_int_equal(mt_sched_add(&e.s, &f.task, shielded), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(f.shield_err, MT_EINVAL);
    assert_string_equal(f.msg, "MT_SHIELD: a shielded wait needs a finite timeout");
    assert_sched_empty(&e.s);
}

/* The child a shielded MT_AWAIT runs, and the children a shielded join
 * waits for, are not cancelled by the task's cancellation. */
static void run_shielded_kid(int what)
{
    struct env e;
    struct shielded f;

    env_init(&e);
    memset(&f, 0, sizeof f);
    f.what = what;
    f.tmo = 500;
    f.k.sleep = 40;
    f.k.tag_done = "child done";
    assert_int_equal(mt_sched_add(&e.s, &f.task, shielded), 0);
    assert_true(step(&e, 1000) > 0);
    assert_true(step(&e, 1000) >= 0);
    assert_int_equal(mt_cancel(&f.task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    CHECK_LOG("cleanup", "child done", "cleanup done", "fin");
    assert_int_equal(mt_state(&f.k.task), MT_DONE);
    assert_int_equal(f.shield_err, 0);
    assert_int_equal(f.shield_end, 1040);
    assert_int_equal(mt_state(&f.task), MT_CANCELLED);
    assert_sched_empty(&e.s);
}

static void test_shield_await(void **state)
{
    (void)state;
    run_shielded_kid(SH_AWAIT);
}

static void test_shield_join(void **state)
{
    (void)state;
    run_shielded_kid(SH_JOIN);
}


/* ---- Diagnostics ---------------------------------------------------------- */

struct stuck_kid {
    mt_task task;
    mt_event *ev;
};

static int stuck_kid(mt_task *t)
{
    struct stuck_kid *f = (struct stuck_kid *)t;
    MT_BEGIN(t);
    MT_EVENT_WAIT(t, f->ev, MT_FOREVER);
    MT_END(t);
}

struct stuck_owner {
    mt_task task;
    mt_group g;
    mt_task *slots[2];
    struct stuck_kid k[2];
    mt_event ev;
    int join;
};

static int stuck_owner(mt_task *t)
{
    struct stuck_owner *f = (struct stuck_owner *)t;
    MT_BEGIN(t);
    assert_int_equal(mt_group_init(&f->g, f->slots, 2), 0);
    f->k[0].ev = f->k[1].ev = &f->ev;
    MT_SPAWN(t, &f->g, &f->k[0].task, stuck_kid);
    MT_SPAWN(t, &f->g, &f->k[1].task, stuck_kid);
    if (f->join)
        MT_JOIN_FIRST(t, &f->g, 1, MT_FOREVER);
    else
        MT_EVENT_WAIT(t, &f->ev, MT_FOREVER);
    MT_END(t);
}

/* A stranded run reports an owner and its group's children, each child
 * one level under it with its group and who waits for it there; an
 * owner that ends with stuck children is reported as ending. */
static void run_stranded_group(int join, const char *how)
{
    struct env e;
    struct stuck_owner f;
    struct capture cap;

    env_init(&e);
    memset(&f, 0, sizeof f);
    memset(&cap, 0, sizeof cap);
    f.join = join;
    mt_sched_set_out(&e.s, capture_out, &cap);
    assert_int_equal(mt_sched_add(&e.s, &f.task, stuck_owner), 0);
    assert_int_equal(mt_sched_run(&e.s), MT_ESTRANDED);
    if (!MT_DUMP)
        return;
    assert_non_null(strstr(cap.buf, "multitask: 3 tasks stranded"));
    assert_non_null(strstr(cap.buf, "\nstuck_owner  waiting"));
    assert_non_null(strstr(cap.buf, join ? "join group 0x" : "event 0x"));
    assert_non_null(strstr(cap.buf, "\n  stuck_kid  waiting"));
    assert_non_null(strstr(cap.buf, how));
    /* Wake them all: the run ends cleanly. */
    mt_event_set(&f.ev);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(mt_state(&f.task), MT_DONE);
    assert_sched_empty(&e.s);
}

static void test_stranded_join(void **state)
{
    (void)state;
    run_stranded_group(1, ", joined (first)\n");
}

static void test_stranded_not_joined(void **state)
{
    (void)state;
    run_stranded_group(0, ", not joined yet\n");
}

/* ---- Found by review: sticky cancellation, report names, an idle group of
 * an ending owner, a join in its deadline's tick ---------------------------- */

struct rv_sleeper {
    mt_task task;
    long sleep;
    int raise;
    int catch_cancel, caught;
};

static int rv_sleeper(mt_task *t)
{
    struct rv_sleeper *f = (struct rv_sleeper *)t;
    MT_BEGIN(t);
    if (f->catch_cancel) {
        MT_CATCH(t, MT_SLEEP(t, f->sleep));
        f->caught = mt_err(t);
    } else {
        MT_SLEEP(t, f->sleep);
    }
    if (f->raise)
        MT_RAISE(t, f->raise, "sleeper raised");
    MT_END(t);
}

/* ==== 1. Sticky cancellation keys on a stale MT__SAW ===================== */

/* `victim` first catches an MT_ECANCELED that is not its own cancellation
 * (the child it awaits is cancelled by someone else). Later it waits on an
 * event; the event is set and then, before it resumes, it is cancelled
 * ("woken, not yet resumed"): the header says it keeps the wait's result
 * and is ended at its *next* wait. It has none: it completes normally. */
struct rv_victim {
    mt_task task;
    struct rv_sleeper k;
    mt_event *e;
    int first_err, got, stale;
};

static int rv_victim(mt_task *t)
{
    struct rv_victim *f = (struct rv_victim *)t;
    MT_BEGIN(t);
    if (f->stale) {
        MT_CATCH(t, MT_AWAIT(t, &f->k.task, rv_sleeper, MT_FOREVER));
        f->first_err = mt_err(t);
    }
    MT_EVENT_WAIT(t, f->e, MT_FOREVER);
    f->got = 1; /* it got what it waited for, and completes */
    MT_END(t);
}

struct rv_holder {
    mt_task task;
    struct rv_victim v;
    int err;
};

static int rv_holder(mt_task *t)
{
    struct rv_holder *f = (struct rv_holder *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_AWAIT(t, &f->v.task, rv_victim, MT_FOREVER));
    f->err = mt_err(t);
    MT_END(t);
}

static void run_victim(int stale, int *state_out, int *holder_err)
{
    struct env e;
    struct rv_holder h;
    mt_event ev_;

    env_init(&e);
    mt_event_init(&ev_);
    memset(&h, 0, sizeof h);
    h.v.e = &ev_;
    h.v.stale = stale;
    h.v.k.sleep = 1000;
    assert_int_equal(mt_sched_add(&e.s, &h.task, rv_holder), 0);
    assert_true(step(&e, 1000) > 0);
    if (stale) {
        assert_int_equal(mt_cancel(&h.v.k.task), 0); /* a third party's cancel */
        (void)step(&e, 1000);
        (void)step(&e, 1000);
        assert_int_equal(h.v.first_err, MT_ECANCELED);
    }
    assert_int_equal(mt_state(&h.v.task), MT_WAITING); /* on the event */
    mt_event_set(&ev_);                                /* woken ... */
    assert_int_equal(mt_cancel(&h.v.task), 0);        /* ... then cancelled */
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(h.v.got, 1);
    *state_out = mt_state(&h.v.task);
    *holder_err = h.err;
}

static void test_sticky_stale_saw(void **state)
{
    int st, herr;
    (void)state;
    run_victim(0, &st, &herr); /* control: keeps its result, ends DONE */
    assert_int_equal(st, MT_DONE);
    assert_int_equal(herr, 0);
    run_victim(1, &st, &herr); /* same, after an unrelated caught ECANCELED */
    assert_int_equal(st, MT_DONE);
    assert_int_equal(herr, 0);
}

/* ==== 2. Report names for a top-level owner's adopted group error ======== */

struct rv_owner {
    mt_task task;
    mt_group g;
    mt_task *slots[2];
    struct rv_sleeper k[2];
    long sleep_first;
    int raise_self;
};

#define OWNER_BODY(t)                                                        \
    struct rv_owner *f = (struct rv_owner *)t;                                     \
    MT_BEGIN(t);                                                             \
    assert_int_equal(mt_group_init(&f->g, f->slots, 2), 0);                  \
    MT_SPAWN(t, &f->g, &f->k[0].task, rv_sleeper);                              \
    MT_SPAWN(t, &f->g, &f->k[1].task, rv_sleeper);                              \
    MT_SLEEP(t, f->sleep_first);                                             \
    if (f->raise_self)                                                       \
        MT_RAISE(t, f->raise_self, "owner raised");                          \
    MT_EXIT(t); /* no join: a child's error becomes its own */               \
    MT_END(t)

static int owner_a(mt_task *t) { OWNER_BODY(t); }
static int owner_b(mt_task *t) { OWNER_BODY(t); } /* another name */

static void test_adopted_error_report_name(void **state)
{
    struct env e;
    struct rv_owner o;
    (void)state;

    env_init(&e);
    memset(&o, 0, sizeof o);
    o.k[0].sleep = 1; o.k[0].raise = MT_EUSER - 1; /* fails first */
    o.k[1].sleep = 1; /* ends before the owner does */
    o.sleep_first = 20;
    assert_int_equal(mt_sched_add(&e.s, &o.task, owner_a), 0);
    assert_int_equal(mt_sched_run(&e.s), MT_EUNHANDLED);
    assert_int_equal(mt_err(&o.task), MT_EUSER - 1);
    assert_int_equal(e.rep.count, 1);
    assert_ptr_equal(e.rep.task, &o.task);
    if (MT_DUMP) { /* the name is asked of the function */
        assert_non_null(e.rep.name);
        assert_string_equal(e.rep.name, "owner_a");
    }
}

/* A top-level owner that raises with live children goes CLOSING and leaves
 * s->fail_name set to its name; another top-level owner adopting a group
 * error in that window is reported under the first one's name. */
static void test_stale_fail_name(void **state)
{
    struct env e;
    struct rv_owner a, b;
    (void)state;

    env_init(&e);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.k[0].sleep = a.k[1].sleep = 100; /* live when `a` raises */
    a.sleep_first = 20;
    a.raise_self = MT_EUSER - 7;
    b.k[0].sleep = 1; b.k[0].raise = MT_EUSER - 1;
    b.k[1].sleep = 1;
    b.sleep_first = 20;
    assert_int_equal(mt_sched_add(&e.s, &a.task, owner_a), 0);
    assert_int_equal(mt_sched_add(&e.s, &b.task, owner_b), 0);
    {
        mt_time now;
        for (now = 1000; now <= 1020; now++) {
            (void)step(&e, now);
            if (e.rep.count)
                break;
        }
    }
    assert_int_equal(e.rep.count, 1);
    assert_ptr_equal(e.rep.task, &b.task);
    if (MT_DUMP) {
        assert_non_null(e.rep.name);
        assert_string_equal(e.rep.name, "owner_b");
    }
    (void)mt_sched_run(&e.s);
}

/* ==== 3. An idle group of a CLOSING owner still accepts children ========= */

/* The owner has two groups: A with a long child, B whose only child ended.
 * The owner ends (MT_EXIT): A's child is cancelled, the owner waits
 * (CLOSING). A's child, handling its cancellation, starts a child in B:
 * the header says MT_SPAWN raises MT_ECANCELED once the group's owner has
 * ended; it is accepted, never cancelled, and the owner's end waits for it
 * to run its whole course. */
struct rv_late;
struct rv_two {
    mt_task task;
    mt_group a, b;
    mt_task *sa[1], *sb[2];
    struct rv_sleeper b0, b1;
    struct rv_late *la;
};

struct rv_late {
    mt_task task;
    struct rv_two *o;
    int spawn_err;
};

static int rv_late(mt_task *t)
{
    struct rv_late *f = (struct rv_late *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_SLEEP(t, 1000));
    /* cancelled: the owner has ended; try to start one more in B */
    MT_CATCH(t, MT_SPAWN(t, &f->o->b, &f->o->b1.task, rv_sleeper));
    f->spawn_err = mt_err(t);
    MT_END(t);
}

static int rv_two(mt_task *t)
{
    struct rv_two *f = (struct rv_two *)t;
    MT_BEGIN(t);
    assert_int_equal(mt_group_init(&f->a, f->sa, 1), 0);
    assert_int_equal(mt_group_init(&f->b, f->sb, 2), 0);
    MT_SPAWN(t, &f->a, &f->la->task, rv_late);
    MT_SPAWN(t, &f->b, &f->b0.task, rv_sleeper);
    MT_SLEEP(t, 5); /* b0 (sleep 1) has ended: B is open, none live */
    MT_EXIT(t);
    MT_END(t);
}

static void test_spawn_into_idle_group_of_closing_owner(void **state)
{
    struct env e;
    struct rv_two o;
    struct rv_late l;
    mt_time now;
    (void)state;

    env_init(&e);
    memset(&o, 0, sizeof o);
    memset(&l, 0, sizeof l);
    o.la = &l;
    l.o = &o;
    o.b0.sleep = 1;
    o.b1.sleep = 3000;
    assert_int_equal(mt_sched_add(&e.s, &o.task, rv_two), 0);
    for (now = 1000; mt_state(&o.task) >= MT_RUNNABLE && now < 6000; now++)
        (void)step(&e, now);
    assert_int_equal(l.spawn_err, MT_ECANCELED);
    assert_true(now - 1 < 1100);
}


/* ==== 4. A join in its deadline's tick ==================================== */
/* Both children are woken (event set) in the tick the join's deadline
 * falls in: they complete without seeing the cancellation, and hand their
 * outcome over, as MT_AWAIT's child would: no MT_ETIMEDOUT. */
struct rv_evkid { mt_task task; mt_event *e; };
static int rv_evkid(mt_task *t)
{
    struct rv_evkid *f = (struct rv_evkid *)t;
    MT_BEGIN(t);
    MT_EVENT_WAIT(t, f->e, MT_FOREVER);
    MT_END(t);
}
struct rv_evjoin { mt_task task; mt_group g; mt_task *s[2]; struct rv_evkid k[2]; int err; };
static int rv_evjoin(mt_task *t)
{
    struct rv_evjoin *f = (struct rv_evjoin *)t;
    MT_BEGIN(t);
    mt_group_init(&f->g, f->s, 2);
    MT_SPAWN(t, &f->g, &f->k[0].task, rv_evkid);
    MT_SPAWN(t, &f->g, &f->k[1].task, rv_evkid);
    MT_CATCH(t, MT_JOIN(t, &f->g, 50));
    f->err = mt_err(t);
    MT_END(t);
}
static void test_join_deadline_tick(void **state)
{
    struct env e;
    struct rv_evjoin j;
    mt_event ev_;
    (void)state;
    env_init(&e);
    mt_event_init(&ev_);
    memset(&j, 0, sizeof j);
    j.k[0].e = j.k[1].e = &ev_;
    assert_int_equal(mt_sched_add(&e.s, &j.task, rv_evjoin), 0);
    (void)step(&e, 1000);
    (void)step(&e, 1000);
    mt_event_set(&ev_);          /* both woken ...                     */
    (void)step(&e, 1050);        /* ... in the deadline's tick          */
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(mt_state(&j.k[0].task), MT_DONE);
    assert_int_equal(mt_state(&j.k[1].task), MT_DONE);
    assert_int_equal(j.err, 0);
}


/* An owner that ends with its own error keeps it; the group's error, that
 * no join raised, is counted. */
static void test_owner_error_stands(void **state)
{
    struct env e;
    struct rv_owner o;
    (void)state;

    env_init(&e);
    memset(&o, 0, sizeof o);
    o.k[0].sleep = 1;
    o.k[0].raise = MT_EUSER - 1;
    o.k[1].sleep = 1;
    o.sleep_first = 20;
    o.raise_self = MT_EUSER - 7;
    assert_int_equal(mt_sched_add(&e.s, &o.task, owner_a), 0);
    assert_int_equal(mt_sched_run(&e.s), MT_EUNHANDLED);
    assert_int_equal(mt_err(&o.task), MT_EUSER - 7);
    assert_int_equal(mt_group_lost(&o.g), 1);
    assert_int_equal(e.rep.count, 1);
    assert_sched_empty(&e.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_all),
        cmocka_unit_test(test_group_live_counts),
        cmocka_unit_test(test_join_empty),
        cmocka_unit_test(test_frames_reused_after_join),
        cmocka_unit_test(test_join_timeout),
        cmocka_unit_test(test_join_first_race),
        cmocka_unit_test(test_join_first_n),
        cmocka_unit_test(test_join_first_already_completed),
        cmocka_unit_test(test_join_first_none_completed),
        cmocka_unit_test(test_slots_reused),
        cmocka_unit_test(test_error_cancels_siblings),
        cmocka_unit_test(test_error_uncaught_at_join),
        cmocka_unit_test(test_later_error_reported),
        cmocka_unit_test(test_cancelled_child_not_an_error),
        cmocka_unit_test(test_cancel_joining_parent),
        cmocka_unit_test(test_cancel_sleeping_parent),
        cmocka_unit_test(test_parent_ends_with_live_children),
        cmocka_unit_test(test_parent_raises_with_live_children),
        cmocka_unit_test(test_parent_ends_after_child_failed),
        cmocka_unit_test(test_nested_groups_cancel_deepest_first),
        cmocka_unit_test(test_awaited_owner_times_out),
        cmocka_unit_test(test_child_spawns_sibling),
        cmocka_unit_test(test_sticky_cancel_seen_by_parent),
        cmocka_unit_test(test_caught_timeout_is_not_cancel),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_shield_cleanup_after_cancel),
        cmocka_unit_test(test_shield_not_interrupted),
        cmocka_unit_test(test_shield_times_out),
        cmocka_unit_test(test_shield_forever_refused),
        cmocka_unit_test(test_shield_await),
        cmocka_unit_test(test_shield_join),
        cmocka_unit_test(test_stranded_join),
        cmocka_unit_test(test_stranded_not_joined),
        cmocka_unit_test(test_sticky_stale_saw),
        cmocka_unit_test(test_adopted_error_report_name),
        cmocka_unit_test(test_stale_fail_name),
        cmocka_unit_test(test_spawn_into_idle_group_of_closing_owner),
        cmocka_unit_test(test_join_deadline_tick),
        cmocka_unit_test(test_owner_error_stands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
