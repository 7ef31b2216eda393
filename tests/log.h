/* The event log and test environment of the task-tree tests (test_cancel.c,
 * test_child.c): tasks log static strings with ev(), a test compares the
 * whole log with CHECK_LOG("first", "second", ...); a struct env is one
 * test's scheduler, fake clock and report record. */
#ifndef MT_TEST_LOG_H
#define MT_TEST_LOG_H

#include "util.h"

/* A log of events (static strings), shared by the tasks of one test.
 * Events past LOG_MAX are counted but not kept. */
#define LOG_MAX 128
static const char *evlog[LOG_MAX];
static int nlog;

static inline void ev(const char *e)
{
    if (nlog < LOG_MAX)
        evlog[nlog] = e;
    nlog++;
}

/* Fails, printing both logs, unless the log is exactly want[0..n-1]. */
static inline void check_log(const char *const *want, int n)
{
    int i, same = nlog == n;
    for (i = 0; same && i < n; i++)
        same = strcmp(evlog[i], want[i]) == 0;
    if (same)
        return;
    print_error("event log mismatch\n  want:");
    for (i = 0; i < n; i++)
        print_error(" \"%s\"", want[i]);
    print_error("\n  got: ");
    for (i = 0; i < nlog && i < LOG_MAX; i++)
        print_error(" \"%s\"", evlog[i]);
    print_error("\n");
    fail_msg("%s", "the event log differs (see above)");
}

#define LOG_LEN(...) ((int)(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)))
#define CHECK_LOG(...) check_log((const char *const[]){__VA_ARGS__}, LOG_LEN(__VA_ARGS__))

/* One test's scheduler, fake clock (starting at 1000) and report record. */
struct env {
    mt_sched s;
    struct fake_clock clk;
    struct reports rep;
};

/* A fresh environment, and an empty log. */
static inline void env_init(struct env *e)
{
    memset(e, 0, sizeof *e);
    start_sched(&e->s, &e->clk, 1000, &e->rep);
    nlog = 0;
}

/* Move the fake clock to `now` and run one non-blocking cycle. */
static inline int step(struct env *e, mt_time now)
{
    e->clk.now = now;
    return mt_sched_run_once(&e->s, 0);
}

#endif
