/* The scheduler inside another event loop: a poll() loop of the test's own
 * watches what mt_sched_pollfds names, blocks for mt_sched_timeout, then
 * runs mt_sched_run_once(s, 0). Run on every backend (make test). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* The timeout follows the earliest deadline on the scheduler's clock, is 0
 * while a task is runnable, and MT_FOREVER with nothing to wait for. */
struct sleeper { mt_task task; long ms; };

static int sleeper(mt_task *t)
{
    struct sleeper *f = (struct sleeper *)t;
    MT_BEGIN(t);
    MT_SLEEP(t, f->ms);
    MT_END(t);
}

static void test_timeout_follows_deadlines(void **state)
{
    mt_sched s;
    struct fake_clock c;
    static struct sleeper a, b;
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, 1000);
    assert_int_equal(mt_sched_timeout(&s), MT_FOREVER);
    assert_int_equal(mt_sched_timeout(NULL), 0);
    a.ms = 250;
    b.ms = 400;
    assert_int_equal(mt_sched_add(&s, &a.task, sleeper), 0);
    assert_int_equal(mt_sched_add(&s, &b.task, sleeper), 0);
    assert_int_equal(mt_sched_timeout(&s), 0); /* runnable */
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    assert_int_equal(mt_sched_timeout(&s), 250);
    c.now += 100; /* between cycles: a fresh reading */
    assert_int_equal(mt_sched_timeout(&s), 150);
    assert_int_equal(mt_sched_now(&s), 1000); /* still the last cycle's */
    c.now += 150;
    assert_int_equal(mt_sched_timeout(&s), 0); /* due */
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_state(&a.task), MT_DONE);
    assert_int_equal(mt_sched_timeout(&s), 150);
    c.now += 500; /* late: still 0, never negative */
    assert_int_equal(mt_sched_timeout(&s), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_sched_timeout(&s), MT_FOREVER);
    assert_int_equal(c.idles, 0); /* the foreign loop blocks, never the hook */
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

#if MT_IO

#define MAXFDS 16
#define SAFETY_MS 10000 /* a hung loop fails the test instead of hanging it */

/* The foreign loop: until no task is live, or `rounds` blocks. Returns the
 * blocks that ended with something ready; *timeouts counts the others. */
static int foreign_loop(mt_sched *s, int rounds, int *timeouts)
{
    struct pollfd fds[MAXFDS];
    int woke = 0;

    *timeouts = 0;
    while (mt_sched_live(s) && rounds-- > 0) {
        int n = mt_sched_pollfds(s, fds, MAXFDS), r;
        long ms = mt_sched_timeout(s);
        assert_true(n >= 0 && n <= MAXFDS);
        if (ms < 0 || ms > SAFETY_MS)
            ms = SAFETY_MS;
        do
            r = poll(fds, (nfds_t)n, (int)ms);
        while (r < 0 && errno == EINTR);
        assert_true(r >= 0);
        if (r > 0)
            woke++;
        else if (ms > 0)
            ++*timeouts;
        assert_true(mt_sched_run_once(s, 0) >= 0);
    }
    return woke;
}

struct reader { mt_task task; int fd; char buf[16]; ssize_t n; };

static int reader(mt_task *t)
{
    struct reader *f = (struct reader *)t;
    MT_BEGIN(t);
    MT_READ(t, f->fd, f->buf, sizeof f->buf, &f->n, MT_FOREVER);
    MT_END(t);
}

struct writer { mt_task task; int fd; ssize_t n; };

static int writer(mt_task *t)
{
    struct writer *f = (struct writer *)t;
    MT_BEGIN(t);
    MT_WAIT_FD(t, f->fd, MT_WRITABLE, MT_FOREVER);
    MT_WRITE(t, f->fd, "pong", 4, &f->n, MT_FOREVER);
    MT_END(t);
}

/* A task reading a socket wakes through the foreign loop when the peer
 * writes: the loop blocks (no timeout of ours), poll() says ready. */
static void test_descriptor_wakes_foreign_loop(void **state)
{
    mt_sched s;
    static struct reader r;
    int sv[2], timeouts;
    (void)state;

    mt_sched_init(&s);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(mt_fd_nonblock(sv[0]), 0);
    r.fd = sv[0];
    assert_int_equal(mt_sched_add(&s, &r.task, reader), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1); /* it parks on the socket */
    assert_int_equal(mt_sched_has_io_waits(&s), 1);
    assert_int_equal(mt_sched_timeout(&s), MT_BACKEND == MT_BACKEND_EPOLL ? 1000 : MT_FOREVER);
    assert_int_equal(write(sv[1], "ping", 4), 4);
    assert_int_equal(foreign_loop(&s, 5, &timeouts), 1);
    assert_int_equal(timeouts, 0);
    assert_int_equal(mt_state(&r.task), MT_DONE);
    assert_int_equal(r.n, 4);
    assert_memory_equal(r.buf, "ping", 4);
    close(sv[0]);
    close(sv[1]);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* Two tasks on one descriptor, one reading and one writing: select and
 * poll name it once, with both events; epoll names its one instance. */
static void test_pollfds_entries(void **state)
{
    mt_sched s;
    static struct reader r;
    static struct writer w;
    struct pollfd fds[4];
    int sv[2], n, timeouts;
    char b[256];
    (void)state;

    mt_sched_init(&s);
    assert_int_equal(mt_sched_pollfds(&s, NULL, 0), MT_BACKEND == MT_BACKEND_EPOLL);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(mt_fd_nonblock(sv[0]), 0);
    assert_int_equal(mt_fd_nonblock(sv[1]), 0);
    r.fd = w.fd = sv[0];
    /* Fill the socket so the writer waits too. */
    while (write(sv[0], "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 32) == 32) {
    }
    assert_int_equal(mt_sched_add(&s, &r.task, reader), 0);
    assert_int_equal(mt_sched_add(&s, &w.task, writer), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    memset(fds, 0x55, sizeof fds);
    n = mt_sched_pollfds(&s, fds, 4);
    assert_int_equal(n, 1);
    if (MT_BACKEND == MT_BACKEND_EPOLL) {
        assert_int_equal(fds[0].events, POLLIN);
    } else {
        assert_int_equal(fds[0].fd, sv[0]);
        assert_int_equal(fds[0].events, POLLIN | POLLOUT);
    }
    assert_int_equal(fds[0].revents, 0);
    assert_int_equal(fds[1].fd, 0x55555555); /* nothing past what it needs */
    /* cap 0: the count only, nothing written */
    memset(fds, 0x55, sizeof fds);
    assert_int_equal(mt_sched_pollfds(&s, fds, 0), 1);
    assert_int_equal(fds[0].fd, 0x55555555);
    assert_int_equal(mt_sched_pollfds(NULL, fds, 4), MT_EINVAL);
    assert_int_equal(mt_sched_pollfds(&s, NULL, 4), MT_EINVAL);
    assert_int_equal(mt_sched_pollfds(&s, fds, -1), MT_EINVAL);
    /* Drain and feed: both end through the foreign loop. */
    while (read(sv[1], b, sizeof b) > 0) {
    }
    assert_int_equal(write(sv[1], "ping", 4), 4);
    (void)foreign_loop(&s, 10, &timeouts);
    assert_int_equal(timeouts, 0);
    assert_int_equal(mt_state(&r.task), MT_DONE);
    assert_int_equal(mt_state(&w.task), MT_DONE);
    close(sv[0]);
    close(sv[1]);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* A task whose wait on a descriptor timed out no longer waits on it: data
 * arriving afterwards must not keep the watched set ready, or a foreign
 * loop would wake at once, round after round. select and poll no longer
 * watch it at all; epoll keeps it registered, edge-triggered: the edge
 * wakes the loop once, and the cycle that takes it leaves nothing ready. */
struct timed_reader { mt_task task; int fd; char buf[8]; ssize_t n; int err; };

static int timed_reader(mt_task *t)
{
    struct timed_reader *f = (struct timed_reader *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_READ(t, f->fd, f->buf, sizeof f->buf, &f->n, 50));
    f->err = mt_err(t);
    MT_END(t);
}

static void test_withdrawn_descriptor_not_watched(void **state)
{
    mt_sched s;
    struct fake_clock c;
    static struct timed_reader r;
    struct pollfd fds[MAXFDS];
    int sv[2], n;
    (void)state;

    mt_sched_init(&s);
    use_fake_clock(&s, &c, 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(mt_fd_nonblock(sv[0]), 0);
    r.fd = sv[0];
    assert_int_equal(mt_sched_add(&s, &r.task, timed_reader), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_sched_has_io_waits(&s), 1);
    c.now += 50;
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(r.err, MT_ETIMEDOUT);
    assert_int_equal(mt_state(&r.task), MT_DONE);
    assert_int_equal(write(sv[1], "late", 4), 4);
    n = mt_sched_pollfds(&s, fds, MAXFDS);
    assert_true(n >= 0 && n <= MAXFDS);
    if (MT_BACKEND == MT_BACKEND_EPOLL) {
        assert_int_equal(poll(fds, (nfds_t)n, 0), 1);
        assert_int_equal(mt_sched_run_once(&s, 0), 0);
    }
    assert_int_equal(poll(fds, (nfds_t)n, 0), 0);
    assert_int_equal(write(sv[1], "more", 4), 4); /* and again, once */
    if (MT_BACKEND == MT_BACKEND_EPOLL) {
        assert_int_equal(poll(fds, (nfds_t)n, 0), 1);
        assert_int_equal(mt_sched_run_once(&s, 0), 0);
    }
    assert_int_equal(poll(fds, (nfds_t)n, 0), 0);
    close(sv[0]);
    close(sv[1]);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

/* A post from another thread ends the foreign loop's block: the wake pipe
 * is among the descriptors it watches (epoll: inside its instance). */
static mt_signal sig;

struct sig_waiter { mt_task task; };

static int sig_waiter(mt_task *t)
{
    MT_BEGIN(t);
    MT_SIGNAL_WAIT(t, &sig, MT_FOREVER);
    MT_END(t);
}

static void *poster(void *arg)
{
    struct timespec ts = {0, 20 * 1000 * 1000}; /* likely blocked by then */
    (void)arg;
    nanosleep(&ts, NULL);
    mt_signal_post(&sig);
    return NULL;
}

static void test_thread_post_wakes_foreign_loop(void **state)
{
    mt_sched s;
    static struct sig_waiter w;
    pthread_t th;
    int timeouts;
    (void)state;

    mt_sched_init(&s);
    assert_int_equal(mt_signal_init(&s, &sig), 0);
    assert_int_equal(mt_sched_add(&s, &w.task, sig_waiter), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_sched_timeout(&s), MT_FOREVER); /* nothing timed */
    assert_int_equal(mt_sched_pollfds(&s, NULL, 0), 1); /* the pipe */
    assert_int_equal(pthread_create(&th, NULL, poster, NULL), 0);
    assert_true(foreign_loop(&s, 5, &timeouts) >= 1);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(timeouts, 0);
    assert_int_equal(mt_state(&w.task), MT_DONE);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_descriptor_wakes_foreign_loop),
        cmocka_unit_test(test_pollfds_entries),
        cmocka_unit_test(test_timeout_follows_deadlines),
        cmocka_unit_test(test_withdrawn_descriptor_not_watched),
        cmocka_unit_test(test_thread_post_wakes_foreign_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timeout_follows_deadlines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
