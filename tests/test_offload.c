/* Blocking work offloaded to a pool of threads (mt_pool, MT_OFFLOAD): the
 * result comes back to the waiting task; tasks of several schedulers on
 * several threads share a pool; a wait that times out or is cancelled
 * leaves running work to finish and its result to be dropped on the
 * worker, and takes queued work off the queue; the work is busy until
 * then; errors. Built plain in make test and under ThreadSanitizer in
 * make tsan. */
#define _POSIX_C_SOURCE 200809L
#include <string.h>
#include <time.h>

#include "util.h"

#if MT_THREADS
#include <pthread.h>
#include <sched.h>

/* A gate that work can be made to wait at. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open = 1;
static int ran, dropped, at_gate; /* atomic */

static void set_gate(int open)
{
    pthread_mutex_lock(&gate_lock);
    gate_open = open;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
}

struct job { mt_work work; int in, out; };

static void doubler(mt_work *w)
{
    struct job *j = (struct job *)w;
    __atomic_add_fetch(&at_gate, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&gate_lock);
    while (!gate_open)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    j->out = 2 * j->in;
    __atomic_add_fetch(&ran, 1, __ATOMIC_SEQ_CST);
}

static void drop_job(mt_work *w)
{
    ((struct job *)w)->out = -1;
    __atomic_add_fetch(&dropped, 1, __ATOMIC_SEQ_CST);
}

static int count(int *c) { return __atomic_load_n(c, __ATOMIC_SEQ_CST); }

static mt_pool shared; /* the thread tests' */

/* A task: offload its job, record the error and the result. */
struct user { mt_task task; mt_pool *pool; struct job *job; long timeout; int err, out; };

static int user(mt_task *t)
{
    struct user *f = (struct user *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_OFFLOAD(t, f->pool, &f->job->work, f->timeout));
    f->err = mt_err(t);
    f->out = f->job->out;
    MT_END(t);
}

static void start_user(mt_sched *s, struct user *u, mt_pool *p, struct job *j, long timeout)
{
    memset(u, 0, sizeof *u);
    u->pool = p;
    u->job = j;
    u->timeout = timeout;
    assert_int_equal(mt_sched_add(s, &u->task, user), 0);
}

static void new_job(struct job *j, int in)
{
    memset(j, 0, sizeof *j);
    j->work.fn = doubler;
    j->work.drop = drop_job;
    j->in = in;
}

static void reset_counts(void)
{
    __atomic_store_n(&ran, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&dropped, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&at_gate, 0, __ATOMIC_SEQ_CST);
}

static int ended(mt_task *t)
{
    int st = mt_state(t);
    return st == MT_DONE || st == MT_FAILED || st == MT_CANCELLED;
}

/* Wait for a worker to reach a count; a guard of 30 s makes a broken
 * library fail here rather than hang (not a measure of speed). */
static void wait_for(int *c, int n)
{
    time_t give_up = time(NULL) + 30;
    while (count(c) < n && time(NULL) < give_up)
        sched_yield();
    assert_true(count(c) >= n);
}

/* Eight tasks, two workers, the real clock: every result comes back. */
static void test_results(void **state)
{
    static mt_pool pool;
    static struct job jobs[8];
    static struct user users[8];
    mt_sched s;
    int i;
    (void)state;

    reset_counts();
    mt_sched_init(&s);
    assert_int_equal(mt_pool_start(&pool, 2), 0);
    for (i = 0; i < 8; i++) {
        new_job(&jobs[i], i + 1);
        start_user(&s, &users[i], &pool, &jobs[i], MT_FOREVER);
    }
    assert_int_equal(mt_sched_run(&s), 0);
    for (i = 0; i < 8; i++) {
        assert_int_equal(users[i].err, 0);
        assert_int_equal(users[i].out, 2 * (i + 1));
    }
    assert_int_equal(count(&ran), 8);
    assert_int_equal(count(&dropped), 0);
    assert_null(s.signals); /* each wait's wake-up left with it */
    /* A finished work is free for another wait. */
    jobs[0].in = 50;
    start_user(&s, &users[0], &pool, &jobs[0], MT_FOREVER);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(users[0].out, 100);
    assert_int_equal(mt_pool_stop(&pool), 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* The work is held at the gate; the wait times out (fake clock), or is
 * cancelled. The work is busy until its worker finished it and dropped
 * its result; then it is free again. */
static void abandon_running(int cancel)
{
    static mt_pool pool;
    static struct job j;
    static struct user u, again;
    struct fake_clock c;
    struct reports rep;
    mt_sched s;

    reset_counts();
    set_gate(0);
    start_sched(&s, &c, 0, &rep);
    assert_int_equal(mt_pool_start(&pool, 1), 0);
    new_job(&j, 4);
    start_user(&s, &u, &pool, &j, cancel ? MT_FOREVER : 20);
    mt_sched_run_once(&s, 0);
    wait_for(&at_gate, 1); /* running: its worker holds it */
    if (cancel)
        assert_int_equal(mt_cancel(&u.task), 0);
    while (!ended(&u.task))
        mt_sched_run_once(&s, MT_FOREVER);
    assert_int_equal(u.err, cancel ? MT_ECANCELED : MT_ETIMEDOUT);
    assert_int_equal(mt_state(&u.task), cancel ? MT_CANCELLED : MT_DONE);
    if (!cancel)
        assert_int_equal(c.now, 20);
    /* Still running, left to its worker: busy. */
    start_user(&s, &again, &pool, &j, MT_FOREVER);
    mt_sched_run_once(&s, 0);
    assert_int_equal(again.err, MT_EBUSY);
    set_gate(1);
    wait_for(&dropped, 1);
    assert_int_equal(count(&ran), 1);
    assert_int_equal(j.out, -1); /* dropped on the worker */
    /* Free again once dropped: the worker marks it idle after drop. */
    do {
        start_user(&s, &again, &pool, &j, MT_FOREVER);
        while (!ended(&again.task))
            mt_sched_run_once(&s, 0);
    } while (again.err == MT_EBUSY);
    assert_int_equal(again.err, 0);
    assert_int_equal(again.out, 8);
    assert_int_equal(mt_pool_stop(&pool), 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

static void test_timeout_leaves_work(void **state)
{
    (void)state;
    abandon_running(0);
}

static void test_cancel_leaves_work(void **state)
{
    (void)state;
    abandon_running(1);
}

/* One worker, held at the gate by a first work: a second work still
 * queued when its wait times out leaves the queue and never runs; a wait
 * with timeout 0 takes its work back at once. */
static void test_queued_work_leaves_queue(void **state)
{
    static mt_pool pool;
    static struct job first, second, third;
    static struct user u1, u2, u3;
    struct fake_clock c;
    struct reports rep;
    mt_sched s;
    (void)state;

    reset_counts();
    set_gate(0);
    start_sched(&s, &c, 0, &rep);
    assert_int_equal(mt_pool_start(&pool, 1), 0);
    new_job(&first, 1);
    new_job(&second, 2);
    new_job(&third, 3);
    start_user(&s, &u1, &pool, &first, MT_FOREVER);
    start_user(&s, &u2, &pool, &second, 5);
    start_user(&s, &u3, &pool, &third, 0);
    while (!ended(&u2.task))
        mt_sched_run_once(&s, MT_FOREVER);
    assert_int_equal(u2.err, MT_ETIMEDOUT);
    assert_int_equal(u3.err, MT_ETIMEDOUT);
    set_gate(1);
    while (!ended(&u1.task))
        mt_sched_run_once(&s, 0);
    assert_int_equal(u1.out, 2);
    assert_int_equal(mt_pool_stop(&pool), 0); /* joins: nothing else ran */
    assert_int_equal(count(&ran), 1);
    assert_int_equal(count(&dropped), 0);
    assert_int_equal(second.out, 0);
    assert_int_equal(third.out, 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

static void test_errors(void **state)
{
    static mt_pool pool, never;
    static struct job j;
    static struct user u;
    struct fake_clock c;
    struct reports rep;
    mt_sched s;
    (void)state;

    assert_int_equal(mt_pool_start(NULL, 1), MT_EINVAL);
    assert_int_equal(mt_pool_start(&pool, 0), MT_EINVAL);
    assert_int_equal(mt_pool_start(&pool, MT_POOL_MAX + 1), MT_EINVAL);
    assert_int_equal(mt_pool_stop(NULL), MT_EINVAL);
    assert_int_equal(mt_pool_stop(&pool), MT_EINVAL); /* not started */
    assert_int_equal(mt_pool_start(&pool, 1), 0);
    assert_int_equal(mt_pool_start(&pool, 1), MT_EBUSY);
    start_sched(&s, &c, 0, &rep);
    new_job(&j, 1);
    start_user(&s, &u, NULL, &j, 10);
    mt_sched_run_once(&s, 0);
    assert_int_equal(u.err, MT_EINVAL);
    start_user(&s, &u, &never, &j, 10); /* a pool not started */
    mt_sched_run_once(&s, 0);
    assert_int_equal(u.err, MT_EINVAL);
    j.work.fn = NULL;
    start_user(&s, &u, &pool, &j, 10);
    mt_sched_run_once(&s, 0);
    assert_int_equal(u.err, MT_EINVAL);
    new_job(&j, 1);
    start_user(&s, &u, &pool, &j, TIMEOUT_TOO_BIG);
    mt_sched_run_once(&s, 0);
    assert_int_equal(u.err, MT_EINVAL);
    assert_int_equal(mt_pool_stop(&pool), 0);
    start_user(&s, &u, &pool, &j, 10); /* stopped */
    mt_sched_run_once(&s, 0);
    assert_int_equal(u.err, MT_EINVAL);
    assert_null(s.signals);
    assert_int_equal(mt_pool_start(&pool, 2), 0); /* started again */
    start_user(&s, &u, &pool, &j, MT_FOREVER);
    while (!ended(&u.task))
        mt_sched_run_once(&s, 0);
    assert_int_equal(u.out, 2);
    assert_int_equal(mt_pool_stop(&pool), 0);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* Found by review. A second wait on a work whose first wait is over on
 * the worker's side (done, posted) but whose waiter has not run yet is
 * MT_EBUSY, and the first waiter gets its own result (the second used to
 * be queued, and the first waiter's end dropped the wake-up it waited on). */
static void test_second_wait_before_first_ends(void **state)
{
    static mt_pool pool;
    static struct job j;
    static struct user a, b;
    mt_sched s;
    (void)state;

    reset_counts();
    set_gate(1);
    mt_sched_init(&s);
    assert_int_equal(mt_pool_start(&pool, 1), 0);
    new_job(&j, 1);
    start_user(&s, &a, &pool, &j, 1000);
    mt_sched_run_once(&s, 0);
    while (!mt_sched_signalled(&s)) /* done and posted */
        sched_yield();
    j.in = 2;
    start_user(&s, &b, &pool, &j, 1000); /* runs before a resumes */
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(b.err, MT_EBUSY);
    assert_int_equal(a.err, 0);
    assert_int_equal(a.out, 2);
    assert_int_equal(count(&ran), 1);
    /* Stopped while a task waits for its finished work: the wait still
     * ends well (the pool's lock outlives mt_pool_stop). */
    new_job(&j, 5);
    start_user(&s, &a, &pool, &j, MT_FOREVER);
    mt_sched_run_once(&s, 0);
    assert_int_equal(mt_pool_stop(&pool), 0); /* the work runs first */
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(a.out, 10);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* A scheduler with a task waiting for offloaded work cannot be merged: the
 * worker posts to it (found by review: merge raced with the post). */
static void test_merge_refused_while_offloading(void **state)
{
    static mt_pool pool;
    static struct job j;
    static struct user u;
    mt_sched s, dst;
    (void)state;

    reset_counts();
    set_gate(0);
    mt_sched_init(&s);
    mt_sched_init(&dst);
    assert_int_equal(mt_pool_start(&pool, 1), 0);
    new_job(&j, 3);
    start_user(&s, &u, &pool, &j, MT_FOREVER);
    mt_sched_run_once(&s, 0);
    assert_int_equal(mt_sched_merge(&dst, &s), MT_EBUSY);
    set_gate(1);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(u.out, 6);
    assert_int_equal(mt_sched_merge(&dst, &s), 0);
    assert_int_equal(mt_pool_stop(&pool), 0);
    assert_int_equal(mt_sched_destroy(&s), 0);
    assert_int_equal(mt_sched_destroy(&dst), 0);
}

/* Tasks of two threads race for one work: each wait either has it or is
 * MT_EBUSY, and every run is one that a wait got (found by review: both
 * could queue it). Under ThreadSanitizer in make tsan. */
#define RACES 2000
static struct job raced;
static long race_ok[2], race_other[2];

struct racer { mt_task task; int id, i; };

static int racer(mt_task *t)
{
    struct racer *f = (struct racer *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < RACES; f->i++) {
        MT_CATCH(t, MT_OFFLOAD(t, &shared, &raced.work, 10000));
        if (mt_err(t) == 0)
            race_ok[f->id]++;
        else if (mt_err(t) != MT_EBUSY)
            race_other[f->id]++;
    }
    MT_END(t);
}

static void *race_thread(void *arg)
{
    static struct racer r[2];
    int id = (int)(intptr_t)arg;
    long failed;

    r[id].id = id;
    mt_add(&r[id].task, racer);
    failed = mt_run() != 0;
    failed |= mt_sched_destroy(mt_default()) != 0;
    return (void *)failed;
}

static void test_two_threads_one_work(void **state)
{
    pthread_t th[2];
    int i;
    (void)state;

    reset_counts();
    set_gate(1);
    new_job(&raced, 1);
    assert_int_equal(mt_pool_start(&shared, 2), 0);
    for (i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race_thread, (void *)(intptr_t)i), 0);
    for (i = 0; i < 2; i++) {
        void *failed = NULL;
        assert_int_equal(pthread_join(th[i], &failed), 0);
        assert_null(failed);
    }
    assert_int_equal(mt_pool_stop(&shared), 0);
    assert_int_equal(race_other[0] + race_other[1], 0);
    assert_int_equal(race_ok[0] + race_ok[1], count(&ran));
    assert_true(race_ok[0] + race_ok[1] > 0); /* how many: up to the race */
}

/* Tasks of three threads' default schedulers share one pool of two. */
#define THREADS 3
#define PER_THREAD 200

struct looper { mt_task task; struct job job; int i, bad; };

static int looper(mt_task *t)
{
    struct looper *f = (struct looper *)t;
    MT_BEGIN(t);
    f->job.work.fn = doubler;
    for (f->i = 0; f->i < PER_THREAD; f->i++) {
        f->job.in = f->i;
        MT_OFFLOAD(t, &shared, &f->job.work, 10000);
        f->bad += f->job.out != 2 * f->i;
    }
    MT_END(t);
}

static void *thread_main(void *arg)
{
    struct looper *l = (struct looper *)arg;
    long failed;

    mt_add(&l[0].task, looper);
    mt_add(&l[1].task, looper);
    failed = mt_run() != 0 || l[0].bad || l[1].bad;
    failed |= mt_sched_destroy(mt_default()) != 0;
    return (void *)failed;
}

static void test_threads_share_a_pool(void **state)
{
    static struct looper loopers[THREADS][2];
    pthread_t th[THREADS];
    int i;
    (void)state;

    reset_counts();
    set_gate(1);
    assert_int_equal(mt_pool_start(&shared, 2), 0);
    for (i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, loopers[i]), 0);
    for (i = 0; i < THREADS; i++) {
        void *failed = NULL;
        assert_int_equal(pthread_join(th[i], &failed), 0);
        assert_null(failed);
    }
    assert_int_equal(mt_pool_stop(&shared), 0);
    assert_int_equal(count(&ran), THREADS * 2 * PER_THREAD);
}
#endif

int main(void)
{
#if MT_THREADS
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_results),
        cmocka_unit_test(test_timeout_leaves_work),
        cmocka_unit_test(test_cancel_leaves_work),
        cmocka_unit_test(test_queued_work_leaves_queue),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_second_wait_before_first_ends),
        cmocka_unit_test(test_merge_refused_while_offloading),
        cmocka_unit_test(test_two_threads_one_work),
        cmocka_unit_test(test_threads_share_a_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
#else
    return 0; /* no threads in this configuration */
#endif
}
