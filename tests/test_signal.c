/* Wake-ups posted by interrupt or signal handlers (mt_signal). */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <string.h>

#include "util.h"
#if MT_IO
#include <errno.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <unistd.h>
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
    mt_signal sig = {0};
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
    mt_signal sig = {0};
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
    mt_signal sig = {0};
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
    mt_signal sig = {0};
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
    mt_signal sig = {0};
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

/* Registering twice is registering once: posts still wake, and the next
 * cycle does not loop over a list made circular. */
static void test_signal_init_twice(void **state)
{
    mt_sched s;
    struct fake_clock c;
    static mt_signal sig;
    struct sigwaiter w = {0};
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, 0);
    assert_int_equal(mt_signal_init(&s, &sig), 0);
    assert_int_equal(mt_signal_init(&s, &sig), 0);
    {
        mt_sched other; /* another scheduler may not take it: MT_EBUSY */
        mt_sched_init(&other);
        assert_int_equal(mt_signal_init(&other, &sig), MT_EBUSY);
        assert_int_equal(mt_sched_destroy(&other), 0);
    }
    w.sig = &sig;
    w.timeout = 100;
    assert_int_equal(mt_sched_add(&s, &w.task, sigwaiter), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    mt_signal_post(&sig);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(w.woken, 1);
    assert_int_equal(mt_sched_run(&s), 0); /* its next wait times out */
    assert_int_equal(w.err, MT_ETIMEDOUT);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* A post to no scheduler is nothing: NULL, a zeroed signal never
 * registered, a signal whose scheduler was destroyed (until registered
 * again with the reused scheduler). */
static void test_post_without_scheduler(void **state)
{
    mt_sched s;
    static mt_signal zeroed, sig;
    struct sigwaiter w = {0};
    (void)state;

    mt_signal_post(NULL);
    mt_signal_post(&zeroed);
    mt_sched_init(&s);
    assert_int_equal(mt_signal_init(&s, &sig), 0);
    assert_int_equal(mt_sched_destroy(&s), 0);
    mt_signal_post(&sig);
    assert_int_equal(mt_sched_signalled(&s), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 0);
    assert_int_equal(mt_signal_init(&s, &sig), 0); /* the reused scheduler */
    w.sig = &sig;
    w.timeout = MT_FOREVER;
    assert_int_equal(mt_sched_add(&s, &w.task, sigwaiter), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    mt_signal_post(&sig);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(w.woken, 1);
    assert_int_equal(mt_cancel(&w.task), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* Merging moves the signals too: a moved waiter sees the next post, and a
 * post the source had not taken yet is not lost. */
static void test_merge_moves_signals(void **state)
{
    mt_sched src, dst;
    struct fake_clock c;
    static mt_signal a, b;
    struct sigwaiter wa = {0}, wb = {0};
    (void)state;

    mt_sched_init(&src);
    mt_sched_init(&dst);
    use_fake_clock(&dst, &c, 0);
    assert_int_equal(mt_signal_init(&src, &a), 0);
    assert_int_equal(mt_signal_init(&src, &b), 0);
    wa.sig = &a;
    wb.sig = &b;
    wa.timeout = wb.timeout = MT_FOREVER;
    assert_int_equal(mt_sched_add(&src, &wa.task, sigwaiter), 0);
    assert_int_equal(mt_sched_add(&src, &wb.task, sigwaiter), 0);
    assert_int_equal(mt_sched_run_once(&src, 0), 2);
    mt_signal_post(&b); /* src never takes this one */
    assert_int_equal(mt_sched_merge(&dst, &src), 0);
    assert_int_equal(mt_sched_signalled(&dst), 1);
    assert_int_equal(mt_sched_run_once(&dst, 0), 1);
    assert_int_equal(wb.woken, 1);
    mt_signal_post(&a);
    assert_int_equal(mt_sched_run_once(&dst, 0), 1);
    assert_int_equal(wa.woken, 1);
    assert_int_equal(mt_cancel(&wa.task), 0);
    assert_int_equal(mt_cancel(&wb.task), 0);
    assert_int_equal(mt_sched_run(&dst), 0);
    assert_int_equal(mt_sched_destroy(&src), 0);
    assert_int_equal(mt_sched_destroy(&dst), 0);
}

#if MT_IO
/* A post's byte may reach the pipe after its flags were taken (a thread
 * preempted between the two): the scheduler drains it when the backend
 * sees it, so the next blocking cycle blocks instead of returning at once,
 * round after round, until another post. */
static void test_late_wake_byte_drained(void **state)
{
    mt_sched s;
    static mt_signal sig;
    char b;
    (void)state;

    mt_sched_init(&s);
    assert_int_equal(mt_signal_init(&s, &sig), 0);
    assert_int_equal(write(s.wake_fd[1], "x", 1), 1); /* the late byte */
    assert_int_equal(mt_sched_run_once(&s, 5), 0);   /* wakes, drains */
    assert_int_equal(read(s.wake_fd[0], &b, 1), -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* The lowest free descriptor number. */
static int lowest_free_fd(void)
{
    int fd = dup(0);
    assert_true(fd >= 0);
    close(fd);
    return fd;
}

/* epoll cannot open (no descriptor left): a cycle still blocks as long as
 * asked, on the wake pipe, instead of returning at once until the timer is
 * due (each sleep was a busy loop). The other backends open nothing. */
struct napper { mt_task task; };

static int napper(mt_task *t)
{
    MT_BEGIN(t);
    MT_SLEEP(t, 20);
    MT_END(t);
}

static void test_backend_cannot_open(void **state)
{
    mt_sched s;
    static mt_signal sig;
    struct napper nap;
    struct rlimit was, low;
    int cycles = 0;
    (void)state;

    mt_sched_init(&s);
    assert_int_equal(mt_signal_init(&s, &sig), 0);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &was), 0);
    low = was;
    low.rlim_cur = (rlim_t)lowest_free_fd();
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    memset(&nap, 0, sizeof nap);
    assert_int_equal(mt_sched_add(&s, &nap.task, napper), 0);
    while (mt_sched_live(&s) && cycles < 1000) {
        assert_true(mt_sched_run_once(&s, MT_FOREVER) >= 0);
        cycles++;
    }
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &was), 0);
    assert_int_equal(mt_state(&nap.task), MT_DONE);
    assert_true(cycles <= 3);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* select cannot watch a wake pipe at or above FD_SETSIZE: init refuses it
 * (MT_ERANGE) rather than leave it out, where a blocked cycle would never
 * see a post; poll and epoll take it. */
static void test_wake_pipe_above_fd_setsize(void **state)
{
    mt_sched s;
    static mt_signal sig;
    static int held[FD_SETSIZE];
    struct rlimit was, rl;
    int n = 0, r, i;
    (void)state;

    assert_int_equal(getrlimit(RLIMIT_NOFILE, &was), 0);
    rl = was;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)FD_SETSIZE + 16)
        skip();
    if (rl.rlim_cur < (rlim_t)FD_SETSIZE + 16) {
        rl.rlim_cur = (rlim_t)FD_SETSIZE + 16;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            skip(); /* valgrind keeps the top descriptors for itself */
    }
    while (lowest_free_fd() < FD_SETSIZE) {
        held[n] = dup(0);
        assert_true(held[n] >= 0);
        n++;
    }
    mt_sched_init(&s);
    r = mt_signal_init(&s, &sig);
    for (i = 0; i < n; i++)
        close(held[i]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &was), 0);
    assert_int_equal(r, MT_BACKEND == MT_BACKEND_SELECT ? MT_ERANGE : 0);
    assert_int_equal(lowest_free_fd() < FD_SETSIZE, 1); /* no pipe left over */
    assert_int_equal(mt_sched_destroy(&s), 0);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_during_idle_wakes_waiter),
        cmocka_unit_test(test_post_before_wait_is_kept_once),
        cmocka_unit_test(test_posix_signal_handler_posts),
        cmocka_unit_test(test_signal_misuse),
        cmocka_unit_test(test_signal_init_without_descriptors),
        cmocka_unit_test(test_signal_init_twice),
        cmocka_unit_test(test_post_without_scheduler),
        cmocka_unit_test(test_merge_moves_signals),
#if MT_IO
        cmocka_unit_test(test_late_wake_byte_drained),
        cmocka_unit_test(test_backend_cannot_open),
        cmocka_unit_test(test_wake_pipe_above_fd_setsize),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
