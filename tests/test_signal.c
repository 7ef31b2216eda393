/* Wake-ups posted by interrupt or signal handlers (mt_signal). */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <string.h>

#include "util.h"
#if MT_IO
#include <errno.h>
#include <sys/resource.h>
#endif

struct sigwaiter {
    mt_task task;
    mt_signal *sig;
    long timeout;
    int woken, err;
};

static int sigwaiter(mt_task *t)
{
    struct sigwaiter *f = (struct sigwaiter *)t;
    MT_BEGIN(t);
    for (;;) {
        MT_CATCH(t, MT_SIGNAL_WAIT(t, f->sig, f->timeout));
        f->err = mt_err(t);
        if (f->err)
            break;
        f->woken++;
    }
    MT_END(t);
}

/* An idle hook that plays the interrupt: it posts during the wait. */
struct irq_clock {
    struct fake_clock c;
    mt_signal *sig;
    int post_in_idle;
    int saw_signalled;
    mt_sched *s;
};

static mt_time irq_now(void *arg) { return ((struct irq_clock *)arg)->c.now; }

static void irq_idle(void *arg, long ms)
{
    struct irq_clock *k = (struct irq_clock *)arg;
    k->c.idles++;
    if (k->post_in_idle) {
        k->post_in_idle = 0;
        k->c.now = (mt_time)(k->c.now + 5); /* the interrupt came 5 ms in */
        mt_signal_post(k->sig);
        k->saw_signalled = mt_sched_signalled(k->s);
        return;
    }
    k->c.now = (mt_time)(k->c.now + (mt_time)ms);
}

static void test_post_during_idle_wakes_waiter(void **state)
{
    mt_sched s;
    mt_signal sig;
    struct irq_clock k;
    struct sigwaiter w = {0};
    (void)state;

    memset(&k, 0, sizeof k);
    mt_sched_init(&s);
    mt_sched_set_clock(&s, irq_now, irq_idle, &k);
    assert_int_equal(mt_signal_init(&s, &sig), 0);
    k.sig = &sig;
    k.s = &s;
    w.sig = &sig;
    w.timeout = 100;
    mt_sched_add(&s, &w.task, sigwaiter);
    assert_int_equal(mt_sched_run_once(&s, 0), 1); /* parks */
    assert_int_equal(mt_state(&w.task), MT_WAITING);
    k.post_in_idle = 1;
    /* The cycle idles, the "interrupt" posts, the same cycle wakes it. */
    assert_int_equal(mt_sched_run_once(&s, MT_FOREVER), 1);
    assert_int_equal(k.saw_signalled, 1);
    assert_int_equal(mt_sched_signalled(&s), 0);
    assert_int_equal(w.woken, 1);
    assert_int_equal(k.c.now, 5);
    /* No more posts: the next wait times out 100 ms after it began. */
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(w.err, MT_ETIMEDOUT);
    assert_int_equal(w.woken, 1);
    assert_int_equal(k.c.now, 105);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

static void test_post_before_wait_is_kept_once(void **state)
{
    mt_sched s;
    mt_signal sig;
    struct fake_clock c;
    struct sigwaiter w = {0};
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, 0);
    assert_int_equal(mt_signal_init(&s, &sig), 0);
    mt_signal_post(&sig);
    mt_signal_post(&sig); /* posts do not count: one is kept */
    assert_int_equal(mt_sched_signalled(&s), 1);
    w.sig = &sig;
    w.timeout = 0; /* never wait: only what was kept */
    mt_sched_add(&s, &w.task, sigwaiter);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(w.woken, 1);
    assert_int_equal(w.err, MT_ETIMEDOUT);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* A real POSIX signal handler posts; the scheduler wakes the waiter. */
static mt_signal *handler_sig;

static void on_usr1(int signo)
{
    (void)signo;
    mt_signal_post(handler_sig);
}

static void test_posix_signal_handler_posts(void **state)
{
    mt_sched s;
    mt_signal sig;
    struct fake_clock c;
    struct sigwaiter w = {0};
    struct sigaction sa;
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, 0);
    mt_signal_init(&s, &sig);
    handler_sig = &sig;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
    w.sig = &sig;
    w.timeout = 1000;
    mt_sched_add(&s, &w.task, sigwaiter);
    mt_sched_run_once(&s, 0);
    assert_int_equal(raise(SIGUSR1), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(w.woken, 1);
    mt_cancel(&w.task);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(w.err, MT_ECANCELED);
    signal(SIGUSR1, SIG_DFL);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
    assert_int_equal(mt_sched_destroy(NULL), MT_EINVAL);
}

static void test_signal_misuse(void **state)
{
    mt_sched s;
    mt_signal sig;
    struct sigwaiter w = {0};
    (void)state;

    mt_sched_init(&s);
    assert_int_equal(mt_signal_init(NULL, &sig), MT_EINVAL);
    assert_int_equal(mt_signal_init(&s, NULL), MT_EINVAL);
    assert_int_equal(mt_sched_signalled(NULL), 0);
    w.sig = NULL;
    w.timeout = MT_FOREVER;
    mt_sched_add(&s, &w.task, sigwaiter);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(w.err, MT_EINVAL);
    assert_sched_empty(&s);
}

/* No descriptor left for the self-pipe (RLIMIT_NOFILE at 0): init says
 * which error, registers nothing, and works once descriptors are back. */
static void test_signal_init_without_descriptors(void **state)
{
#if MT_IO
    mt_sched s;
    mt_signal sig;
    struct rlimit was, none;
    int r;
    (void)state;

    mt_sched_init(&s);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &was), 0);
    none = was;
    none.rlim_cur = 0;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &none), 0);
    r = mt_signal_init(&s, &sig);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &was), 0);
    assert_int_equal(r, MT_ESYS(EMFILE));
    assert_int_equal(mt_sched_signalled(&s), 0);
    mt_signal_post(&sig); /* not registered: the next cycle clears it */
    assert_int_equal(mt_sched_run_once(&s, 0), 0);
    assert_int_equal(mt_sched_signalled(&s), 0);
    assert_int_equal(mt_signal_init(&s, &sig), 0);
    mt_signal_post(&sig);
    assert_int_equal(mt_sched_signalled(&s), 1);
    assert_int_equal(mt_sched_run_once(&s, 0), 0);
    assert_int_equal(mt_sched_destroy(&s), 0);
#else
    (void)state;
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_during_idle_wakes_waiter),
        cmocka_unit_test(test_post_before_wait_is_kept_once),
        cmocka_unit_test(test_posix_signal_handler_posts),
        cmocka_unit_test(test_signal_misuse),
        cmocka_unit_test(test_signal_init_without_descriptors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
