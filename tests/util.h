/* Shared by the cmocka tests: a fake clock that tests move by hand, a
 * report hook that records instead of printing, a fresh scheduler set up
 * with both, the teardown check that a scheduler is left empty, and (for
 * the tests that ask for POSIX) a pair of connected sockets. The event log
 * and test environment of test_cancel.c and test_child.c are in log.h. */
#ifndef MT_TEST_UTIL_H
#define MT_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <limits.h>

#include "multitask.h"

/* Virtual time: now() reads `now`; idle() counts the blocking calls the
 * scheduler makes and jumps the time forward by the requested amount. */
struct fake_clock {
    mt_time now;
    unsigned long idles;
    long last_idle;
};

static inline mt_time fake_now(void *arg)
{
    return ((struct fake_clock *)arg)->now;
}

static inline void fake_idle(void *arg, long ms)
{
    struct fake_clock *c = (struct fake_clock *)arg;
    c->idles++;
    c->last_idle = ms;
    if (ms > 0)
        c->now = (mt_time)(c->now + (mt_time)ms);
}

static inline void use_fake_clock(mt_sched *s, struct fake_clock *c,
                                  mt_time start)
{
    c->now = start;
    c->idles = 0;
    c->last_idle = 0;
    mt_sched_set_clock(s, fake_now, fake_idle, c);
}

/* Records reports of unhandled errors. */
struct reports {
    int count;
    mt_task *task;
    const char *name;
    int code;
    const char *msg;
};

static inline void record_report(mt_task *t, const char *name, void *arg)
{
    struct reports *r = (struct reports *)arg;
    r->count++;
    r->task = t;
    r->name = name;
    r->code = mt_err(t);
    r->msg = mt_errmsg(t);
}

/* A fresh scheduler whose unhandled errors are recorded in `rep` (cleared
 * first) and, when `c` is given, whose clock is `c`, starting at `start`. */
static inline void start_sched(mt_sched *s, struct fake_clock *c, mt_time start,
                               struct reports *rep)
{
    mt_sched_init(s);
    if (c)
        use_fake_clock(s, c, start);
    memset(rep, 0, sizeof *rep);
    mt_sched_set_report(s, record_report, rep);
}

/* Tests of the error codes misuse returns: with MT_ASSERT the misuse stops
 * the program instead (tests/test_misuse.c checks that). */
#define SKIP_IF_ASSERT()                                                     \
    do {                                                                     \
        if (MT_ASSERT)                                                       \
            skip();                                                          \
    } while (0)

/* Every test ends with this: nothing runnable, armed, parked or alive. */
static inline void assert_sched_empty(const mt_sched *s)
{
    assert_int_equal(mt_sched_has_runnable(s), 0);
    assert_int_equal(mt_sched_has_timeouts(s), 0);
    assert_int_equal(mt_sched_has_io_waits(s), 0);
    assert_int_equal(mt_sched_live(s), 0);
}

#if MT_IO && defined(_POSIX_C_SOURCE)
#include <sys/socket.h>

/* A connected pair of non-blocking Unix stream sockets. */
static inline void unix_pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(mt_fd_nonblock(sv[0]), 0);
    assert_int_equal(mt_fd_nonblock(sv[1]), 0);
}
#endif

/* A timeout every wait refuses as too large: MT_TIMEOUT_MAX + 1. Where long
 * has no value above MT_TIMEOUT_MAX (32-bit long, 32-bit ticks: it is
 * LONG_MAX), LONG_MIN, refused as below MT_FOREVER. Written so that neither
 * branch overflows. */
#define TIMEOUT_TOO_BIG                                                     \
    (MT_TIMEOUT_MAX < LONG_MAX ? MT_TIMEOUT_MAX + (long)(MT_TIMEOUT_MAX < LONG_MAX) : LONG_MIN)

#endif
