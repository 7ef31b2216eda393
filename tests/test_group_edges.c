/* Edges of task groups and MT_SHIELD, found by review: a join's verdict
 * when a cancel follows its timeout, a winner after the deadline, a
 * shielded child outliving its parent's deadline, a stale "saw"; shielded
 * yields, chooses, reads, joins and conditions; slots under random orders
 * of ending (run under the sanitizers by make asan). */
#define _POSIX_C_SOURCE 200809L
#include <unistd.h>
#include <stdlib.h>
#include "log.h"

static mt_time now_of(mt_task *t) { return mt_deadline(t, 0); }

/* A child that sleeps `sleep` ticks, shielded or not. */
struct sk {
    mt_task task;
    long sleep;
    int shield, err;
};
static int sk(mt_task *t)
{
    struct sk *f = (struct sk *)t;
    MT_BEGIN(t);
    if (f->shield)
        MT_SHIELD(t, MT_SLEEP(t, f->sleep));
    else
        MT_SLEEP(t, f->sleep);
    f->err = mt_err(t);
    MT_END(t);
}

/* ---- 1. a cancel of the owner after its join timed out is dropped ------- */
struct jo {
    mt_task task;
    mt_group g;
    mt_task *slots[3];
    struct sk k[3];
    int n, first, err, after;
    long tmo;
    mt_time at;
};
static int jo(mt_task *t)
{
    struct jo *f = (struct jo *)t;
    int i;
    MT_BEGIN(t);
    mt_group_init(&f->g, f->slots, 3);
    for (i = 0; i < f->n; i++)
        MT_SPAWN(t, &f->g, &f->k[i].task, sk);
    if (f->first)
        MT_CATCH(t, MT_JOIN_FIRST(t, &f->g, f->first, f->tmo));
    else
        MT_CATCH(t, MT_JOIN(t, &f->g, f->tmo));
    f->err = mt_err(t);
    f->at = now_of(t);
    f->after = 1;
    MT_END(t);
}

struct aw {
    mt_task task;
    struct sk k;
    int err;
};
static int aw(mt_task *t)
{
    struct aw *f = (struct aw *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_AWAIT(t, &f->k.task, sk, 50));
    f->err = mt_err(t);
    MT_END(t);
}

/* MT_AWAIT: a cancel after the timeout fired keeps the timeout (deliver
 * checks F_CANCEL). */
static void test_await_cancel_after_timeout(void **state)
{
    struct env e;
    struct aw a;
    (void)state;
    env_init(&e);
    memset(&a, 0, sizeof a);
    a.k.sleep = 100;
    a.k.shield = 1;
    assert_int_equal(mt_sched_add(&e.s, &a.task, aw), 0);
    (void)step(&e, 1000);
    (void)step(&e, 1050); /* the await times out: child cancelled (shielded) */
    (void)step(&e, 1060);
    assert_int_equal(mt_cancel(&a.task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(a.err, MT_ETIMEDOUT);
}

/* MT_JOIN: the same sequence; the join reports success to a cancelled
 * owner whose join timed out 50 ticks before the child ended. */
static void test_join_cancel_after_timeout(void **state)
{
    struct env e;
    struct jo j;
    (void)state;
    env_init(&e);
    memset(&j, 0, sizeof j);
    j.n = 1;
    j.tmo = 50;
    j.k[0].sleep = 100;
    j.k[0].shield = 1;
    assert_int_equal(mt_sched_add(&e.s, &j.task, jo), 0);
    (void)step(&e, 1000);
    (void)step(&e, 1000);
    (void)step(&e, 1050); /* the join times out */
    (void)step(&e, 1060);
    assert_int_equal(mt_cancel(&j.task), 0); /* the owner is cancelled */
    assert_int_equal(mt_sched_run(&e.s), 0);
    print_message("join err %d (%s), owner ends %d\n", j.err, mt_strerror(j.err),
                  mt_state(&j.task));
    assert_int_not_equal(j.err, 0); /* expected MT_ETIMEDOUT as MT_AWAIT */
}

/* MT_JOIN_FIRST(2): one winner by the deadline, the second only 30 ticks
 * after it (shielded); a third saw the cancellation. README: "an
 * MT_JOIN_FIRST whose winners were in before the deadline succeeds". */
static void test_join_first_late_winner(void **state)
{
    struct env e;
    struct jo j;
    (void)state;
    env_init(&e);
    memset(&j, 0, sizeof j);
    j.n = 3;
    j.first = 2;
    j.tmo = 50;
    j.k[0].sleep = 10;
    j.k[1].sleep = 80;
    j.k[1].shield = 1;
    j.k[2].sleep = 1000;
    assert_int_equal(mt_sched_add(&e.s, &j.task, jo), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    print_message("join_first err %d at %lu; k1 %d k2 %d\n", j.err, (unsigned long)j.at,
                  mt_state(&j.k[1].task), mt_state(&j.k[2].task));
    assert_int_equal(j.at, 1080);
    assert_int_equal(j.err, MT_ETIMEDOUT);
}

/* MT_AWAIT(child, 50): the child's shielded sleep absorbs the timeout's
 * cancel and the child ends MT_DONE at 1100 (no wait after the shield);
 * the parent's timeout yields: success 50 ticks past its deadline. */
struct aw2 { mt_task task; struct sk k; int err; mt_time at; };
static int aw2(mt_task *t)
{
    struct aw2 *f = (struct aw2 *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_AWAIT(t, &f->k.task, sk, 50));
    f->err = mt_err(t);
    f->at = now_of(t);
    MT_END(t);
}
static void test_await_shielded_child_outlives_deadline(void **state)
{
    struct env e;
    struct aw2 a;
    (void)state;
    env_init(&e);
    memset(&a, 0, sizeof a);
    a.k.sleep = 100;
    a.k.shield = 1;
    assert_int_equal(mt_sched_add(&e.s, &a.task, aw2), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    print_message("await err %d at %lu, child state %d (cancelled at 1050)\n", a.err,
                  (unsigned long)a.at, mt_state(&a.k.task));
    assert_int_equal(mt_state(&a.k.task), MT_CANCELLED);
    assert_int_equal(a.err, MT_ETIMEDOUT);
}

/* g->saw is kept from the group's opening: a child cancelled on its own
 * before the join makes the join's timeout stand although no child saw the
 * join's cancellation (cf. test_join_deadline_tick, where it yields). */
struct ek { mt_task task; mt_event *e; };
static int ek(mt_task *t)
{
    struct ek *f = (struct ek *)t;
    MT_BEGIN(t);
    MT_EVENT_WAIT(t, f->e, 500);
    MT_END(t);
}
struct ej { mt_task task; mt_group g; mt_task *slots[2]; struct ek k[2]; int err; };
static int ej(mt_task *t)
{
    struct ej *f = (struct ej *)t;
    MT_BEGIN(t);
    mt_group_init(&f->g, f->slots, 2);
    MT_SPAWN(t, &f->g, &f->k[0].task, ek);
    MT_SPAWN(t, &f->g, &f->k[1].task, ek);
    MT_CATCH(t, MT_JOIN(t, &f->g, 50));
    f->err = mt_err(t);
    MT_END(t);
}
static void test_join_saw_is_stale(void **state)
{
    struct env e;
    struct ej j;
    mt_event ev_;
    (void)state;
    env_init(&e);
    mt_event_init(&ev_);
    memset(&j, 0, sizeof j);
    j.k[0].e = j.k[1].e = &ev_;
    assert_int_equal(mt_sched_add(&e.s, &j.task, ej), 0);
    (void)step(&e, 1000);
    (void)step(&e, 1000);
    mt_cancel(&j.k[0].task); /* on its own, long before the deadline */
    (void)step(&e, 1010);
    assert_int_equal(mt_state(&j.k[0].task), MT_CANCELLED);
    mt_event_set(&ev_); /* k1 woken in the deadline's tick */
    (void)step(&e, 1050);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(mt_state(&j.k[1].task), MT_DONE);
    print_message("join err %d\n", j.err);
    assert_int_equal(j.err, 0);
}

/* ---- 2. MT_SHIELD around other waits ---------------------------------- */
enum { W_YIELD, W_CHOOSE, W_READ, W_READ_FOREVER, W_JOIN_FIRST, W_WAIT_UNTIL, W_IOBURST };
struct sh {
    mt_task task;
    int what, fd, which, flag, err, after, got_first, i;
    ssize_t n;
    char buf[16];
    mt_clause cl[2];
    mt_queue q;
    int qstore[2], item;
    mt_event ev;
    mt_group g;
    mt_task *slots[2];
    struct sk k[2];
    mt_time end;
};
static int sh(mt_task *t)
{
    struct sh *f = (struct sh *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_SLEEP(t, 1000)); /* cancelled here */
    if (f->what == W_YIELD) {
        MT_SHIELD(t, MT_YIELD(t));
    } else if (f->what == W_CHOOSE) {
        mt_clause_get(&f->cl[0], &f->q, &f->item);
        mt_clause_event(&f->cl[1], &f->ev);
        f->which = -1;
        MT_SHIELD(t, MT_CHOOSE(t, f->cl, 2, &f->which, 100));
    } else if (f->what == W_READ) {
        MT_SHIELD(t, MT_READ(t, f->fd, f->buf, sizeof f->buf, &f->n, 100));
    } else if (f->what == W_READ_FOREVER) {
        MT_SHIELD(t, MT_READ(t, f->fd, f->buf, sizeof f->buf, &f->n, MT_FOREVER));
    } else if (f->what == W_JOIN_FIRST) {
        mt_group_init(&f->g, f->slots, 2);
        MT_SPAWN(t, &f->g, &f->k[0].task, sk);
        MT_SPAWN(t, &f->g, &f->k[1].task, sk);
        MT_SHIELD(t, MT_JOIN_FIRST(t, &f->g, 1, 100));
    } else if (f->what == W_WAIT_UNTIL) {
        MT_SHIELD(t, MT_WAIT_UNTIL(t, f->flag, 100));
    }
    f->err = mt_err(t);
    f->end = now_of(t);
    assert_int_equal(t->bits & MT__F_SHIELD, 0); /* cleared after */
    MT_YIELD(t);
    f->after = 1;
    MT_END(t);
}

static void sh_start(struct env *e, struct sh *f, int what)
{
    env_init(e);
    memset(f, 0, sizeof *f);
    f->what = what;
    mt_queue_init(&f->q, f->qstore, sizeof(int), 2, NULL, 0);
    mt_event_init(&f->ev);
    assert_int_equal(mt_sched_add(&e->s, &f->task, sh), 0);
    (void)step(e, 1000);
    assert_int_equal(mt_cancel(&f->task), 0);
    (void)step(e, 1000); /* caught, the shielded wait starts */
}

static void test_shield_yield(void **state)
{
    struct env e;
    struct sh f;
    (void)state;
    sh_start(&e, &f, W_YIELD);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(f.err, 0);
    assert_int_equal(f.after, 0);
    assert_int_equal(mt_state(&f.task), MT_CANCELLED);
}

static void test_shield_choose(void **state)
{
    struct env e;
    struct sh f;
    (void)state;
    sh_start(&e, &f, W_CHOOSE);
    assert_int_equal(mt_state(&f.task), MT_WAITING);
    assert_int_equal(mt_cancel(&f.task), 0);
    assert_int_equal(mt_state(&f.task), MT_WAITING);
    (void)step(&e, 1020);
    mt_event_set(&f.ev);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(f.err, 0);
    assert_int_equal(f.which, 1);
    assert_int_equal(f.end, 1020);
    assert_int_equal(mt_state(&f.task), MT_CANCELLED);
    assert_sched_empty(&e.s);
}

static void test_shield_read(void **state)
{
    struct env e;
    struct sh f;
    int sv[2];
    (void)state;
    unix_pair(sv);
    env_init(&e);
    memset(&f, 0, sizeof f);
    f.what = W_READ;
    f.fd = sv[0];
    assert_int_equal(mt_sched_add(&e.s, &f.task, sh), 0);
    (void)step(&e, 1000);
    assert_int_equal(mt_cancel(&f.task), 0);
    (void)step(&e, 1000);
    assert_int_equal(mt_state(&f.task), MT_WAITING);
    assert_int_equal(mt_cancel(&f.task), 0);
    assert_int_equal(mt_state(&f.task), MT_WAITING);
    (void)step(&e, 1030);
    assert_int_equal(write(sv[1], "hey", 3), 3);
    (void)step(&e, 1040);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(f.err, 0);
    assert_int_equal(f.n, 3);
    assert_int_equal(mt_state(&f.task), MT_CANCELLED);
    assert_sched_empty(&e.s);
    assert_int_equal(mt_sched_destroy(&e.s), 0); /* epoll: its table */
    close(sv[0]);
    close(sv[1]);
}

static void test_shield_read_forever_refused(void **state)
{
    struct env e;
    struct sh f;
    int sv[2];
    (void)state;
    unix_pair(sv);
    env_init(&e);
    memset(&f, 0, sizeof f);
    f.what = W_READ_FOREVER;
    f.fd = sv[0];
    assert_int_equal(mt_sched_add(&e.s, &f.task, sh), 0);
    (void)step(&e, 1000);
    assert_int_equal(mt_cancel(&f.task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(f.err, MT_EINVAL);
    assert_sched_empty(&e.s);
    assert_int_equal(mt_sched_destroy(&e.s), 0); /* epoll: its table */
    close(sv[0]);
    close(sv[1]);
}

static void test_shield_join_first(void **state)
{
    struct env e;
    struct sh f;
    (void)state;
    env_init(&e);
    memset(&f, 0, sizeof f);
    f.what = W_JOIN_FIRST;
    f.k[0].sleep = 30;
    f.k[1].sleep = 500;
    assert_int_equal(mt_sched_add(&e.s, &f.task, sh), 0);
    (void)step(&e, 1000);
    assert_int_equal(mt_cancel(&f.task), 0);
    (void)step(&e, 1000);
    (void)step(&e, 1000);
    assert_int_equal(mt_cancel(&f.task), 0);
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(f.err, 0);
    assert_int_equal(f.end, 1030);
    assert_int_equal(mt_state(&f.k[0].task), MT_DONE);
    assert_int_equal(mt_state(&f.k[1].task), MT_CANCELLED);
    assert_int_equal(mt_state(&f.task), MT_CANCELLED);
    assert_sched_empty(&e.s);
}

static void test_shield_wait_until(void **state)
{
    struct env e;
    struct sh f;
    (void)state;
    sh_start(&e, &f, W_WAIT_UNTIL);
    assert_int_equal(mt_cancel(&f.task), 0);
    (void)step(&e, 1010);
    (void)step(&e, 1020);
    f.flag = 1;
    assert_int_equal(mt_sched_run(&e.s), 0);
    assert_int_equal(f.err, 0);
    assert_int_equal(mt_state(&f.task), MT_CANCELLED);
    assert_sched_empty(&e.s);
}

/* ---- 3. slots: random spawns/ends/cancels checked against a model ------- */
struct rk {
    mt_task task;
    long sleep;
    int spawn_sib; /* starts a sibling into g first */
};
struct ro;
static int rk(mt_task *t);
#define RN 64
struct ro {
    mt_task task;
    mt_group g;
    mt_task *slots[RN];
    struct rk k[RN];
    int cap, next, err, rounds, r, cancel_at;
    unsigned seed;
};
static unsigned rnd(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 16) & 0x7fff;
}
static int rk(mt_task *t)
{
    struct rk *f = (struct rk *)t;
    MT_BEGIN(t);
    MT_SLEEP(t, f->sleep);
    MT_END(t);
}
static int ro(mt_task *t)
{
    struct ro *f = (struct ro *)t;
    int i;
    MT_BEGIN(t);
    for (f->r = 0; f->r < f->rounds; f->r++) {
        mt_group_init(&f->g, f->slots, f->cap);
        for (f->next = 0; f->next < 3 * RN; f->next++) {
            /* spawn into a free frame, if any and the slots allow */
            for (i = 0; i < RN; i++)
                if (mt_state(&f->k[i].task) < MT_RUNNABLE)
                    break;
            if (i < RN) {
                f->k[i].sleep = (long)(rnd(&f->seed) % 40);
                MT_CATCH(t, MT_SPAWN(t, &f->g, &f->k[i].task, rk));
                if (mt_err(t))
                    assert_int_equal(mt_err(t), MT_ENOMEM);
                assert_true(mt_group_live(&f->g) <= f->cap);
            }
            if (rnd(&f->seed) % 3 == 0)
                MT_SLEEP(t, (long)(rnd(&f->seed) % 5));
        }
        MT_CATCH(t, MT_JOIN(t, &f->g, f->cancel_at ? 10 : MT_FOREVER));
        f->err = mt_err(t);
        for (i = 0; i < RN; i++)
            assert_true(mt_state(&f->k[i].task) < MT_RUNNABLE);
        assert_int_equal(mt_group_live(&f->g), 0);
    }
    MT_END(t);
}
static void test_slots_random(void **state)
{
    static struct ro o;
    unsigned seed;
    (void)state;
    for (seed = 1; seed < 400; seed++) {
        struct env e;
        env_init(&e);
        memset(&o, 0, sizeof o);
        o.seed = seed;
        o.cap = 1 + (int)(seed % RN);
        o.rounds = 3;
        o.cancel_at = (int)(seed & 1);
        assert_int_equal(mt_sched_add(&e.s, &o.task, ro), 0);
        assert_int_equal(mt_sched_run(&e.s), 0);
        assert_int_equal(mt_state(&o.task), MT_DONE);
        assert_sched_empty(&e.s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_await_cancel_after_timeout),
        cmocka_unit_test(test_join_cancel_after_timeout),
        cmocka_unit_test(test_join_first_late_winner),
        cmocka_unit_test(test_await_shielded_child_outlives_deadline),
        cmocka_unit_test(test_join_saw_is_stale),
        cmocka_unit_test(test_shield_yield),
        cmocka_unit_test(test_shield_choose),
        cmocka_unit_test(test_shield_read),
        cmocka_unit_test(test_shield_read_forever_refused),
        cmocka_unit_test(test_shield_join_first),
        cmocka_unit_test(test_shield_wait_until),
        cmocka_unit_test(test_slots_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
