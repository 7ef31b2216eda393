/* API misuse. With MT_ASSERT (on with MT_DEBUG) each misuse stops the
 * program through MT_ASSERT_FAIL: the default writes "multitask: misuse:
 * ..." to stderr and aborts, so each case runs in a child process and the
 * test expects SIGABRT and the message. Without MT_ASSERT the same cases
 * must give the documented error codes: the child says so on stderr (its
 * exit status is valgrind's under valgrind, which counts cmocka's memory
 * still held at _exit). */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

/* Each case returns 0 if the build without MT_ASSERT behaved as documented. */
typedef int (*misuse_case)(void);

static void expect_misuse(misuse_case fn, const char *msg)
{
    char out[1024];
    size_t len = 0;
    ssize_t n;
    int fds[2], status;
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        fputs(fn() == 0 ? "verdict: as documented\n" : "verdict: wrong\n", stderr);
        fflush(stderr);
        _exit(0);
    }
    close(fds[1]);
    while ((n = read(fds[0], out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (MT_ASSERT) {
        char want[256];
        snprintf(want, sizeof want, "multitask: misuse: %s\n", msg);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGABRT);
        assert_non_null(strstr(out, want));
    } else {
        assert_true(WIFEXITED(status));
        if (!strstr(out, "verdict: as documented\n")) {
            print_error("child said:\n%s", out);
            fail();
        }
    }
}

struct sleeper { mt_task task; int woke; };

static int sleeper(mt_task *t)
{
    struct sleeper *f = (struct sleeper *)t;
    MT_BEGIN(t);
    MT_SLEEP(t, 10);
    f->woke = 1;
    MT_END(t);
}

/* A task function called by plain code rather than by its scheduler; its
 * wait would have no scheduler to park in. */
static int call_directly(void)
{
    struct sleeper f = {{0}, 0};
    if (!MT_ASSERT)
        return 0; /* not checked: the wait would follow a NULL link */
    (void)sleeper(&f.task);
    return 1;
}

/* The same for a frame that has run and ended: its links are stale. */
static int call_after_end(void)
{
    mt_sched s;
    struct sleeper f = {{0}, 0};
    struct fake_clock c;
    mt_sched_init(&s);
    use_fake_clock(&s, &c, 0);
    if (mt_sched_add(&s, &f.task, sleeper) || mt_sched_run(&s) || !f.woke)
        return 1;
    if (!MT_ASSERT)
        return 0;
    (void)sleeper(&f.task);
    return 1;
}

static int add_twice(void)
{
    mt_sched s;
    struct sleeper f = {{0}, 0};
    mt_sched_init(&s);
    if (mt_sched_add(&s, &f.task, sleeper))
        return 1;
    return mt_sched_add(&s, &f.task, sleeper) == MT_EBUSY ? 0 : 1;
}

/* A parent awaiting a frame whose task is already running at top level. */
struct parent { mt_task task; mt_task *child; int err; };

static int await_live(mt_task *t)
{
    struct parent *f = (struct parent *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_AWAIT(t, f->child, sleeper, MT_FOREVER));
    f->err = mt_err(t);
    MT_END(t);
}

static int await_twice(void)
{
    mt_sched s;
    struct fake_clock c;
    struct sleeper busy = {{0}, 0};
    struct parent p = {{0}, &busy.task, 0};
    mt_sched_init(&s);
    use_fake_clock(&s, &c, 0);
    if (mt_sched_add(&s, &busy.task, sleeper) || mt_sched_add(&s, &p.task, await_live))
        return 1;
    if (mt_sched_run(&s) != 0)
        return 1;
    return p.err == MT_EBUSY && busy.woke ? 0 : 1;
}

static int early_return(mt_task *t)
{
    MT_BEGIN(t);
    return 0; /* WRONG: ends with MT_EXIT or by reaching MT_END */
    MT_END(t);
}

/* The report names the task (its function), not "(unnamed)". */
static int named(const struct reports *r, const char *name)
{
    return r->count == 1 && r->name && strcmp(r->name, name) == 0;
}

static int return_outside_end(void)
{
    mt_sched s;
    mt_task a = {0};
    struct reports r = {0};
    mt_sched_init(&s);
    mt_sched_set_report(&s, record_report, &r);
    if (mt_sched_add(&s, &a, early_return))
        return 1;
    return mt_sched_run(&s) == MT_EUNHANDLED && mt_err(&a) == MT_EINVAL &&
                   named(&r, "early_return")
               ? 0
               : 1;
}

static int odd_return(mt_task *t)
{
    MT_BEGIN(t);
    return 42; /* WRONG: no status of the library's */
    MT_END(t);
}

static int return_odd_status(void)
{
    mt_sched s;
    mt_task a = {0};
    struct reports r = {0};
    mt_sched_init(&s);
    mt_sched_set_report(&s, record_report, &r);
    if (mt_sched_add(&s, &a, odd_return))
        return 1;
    return mt_sched_run(&s) == MT_EUNHANDLED && mt_err(&a) == MT_EINVAL &&
                   named(&r, "odd_return")
               ? 0
               : 1;
}

/* A wait inside the finally section ends it there: the rest is skipped
 * (its close or free would never run). */
struct final_wait { mt_task task; int after; };

static int final_wait(mt_task *t)
{
    struct final_wait *f = (struct final_wait *)t;
    MT_BEGIN(t);
    MT_FINALLY(t);
    MT_SLEEP(t, 1); /* WRONG: a finally section must not wait */
    f->after = 1;
    MT_END(t);
}

static int wait_in_finally(void)
{
    mt_sched s;
    struct final_wait f = {{0}, 0};
    mt_sched_init(&s);
    if (mt_sched_add(&s, &f.task, final_wait) || mt_sched_run(&s))
        return 1;
    return f.after == 0 && mt_state(&f.task) == MT_DONE && mt_sched_live(&s) == 0 ? 0 : 1;
}

/* A frame added again from its own finally section: the scheduler still
 * holds it until the section ends. */
struct phoenix { mt_task task; mt_sched *s; int r; };

static int phoenix(mt_task *t)
{
    struct phoenix *f = (struct phoenix *)t;
    MT_BEGIN(t);
    MT_FINALLY(t);
    f->r = mt_sched_add(f->s, t, phoenix);
    MT_END(t);
}

static int add_in_finally(void)
{
    mt_sched s;
    struct phoenix p = {{0}, &s, 0};
    mt_sched_init(&s);
    if (mt_sched_add(&s, &p.task, phoenix) || mt_sched_run(&s))
        return 1;
    return p.r == MT_EBUSY && mt_sched_live(&s) == 0 ? 0 : 1;
}

struct runner { mt_task task; mt_sched *s; int r; };

static int reenter(mt_task *t)
{
    struct runner *f = (struct runner *)t;
    MT_BEGIN(t);
    f->r = mt_sched_run(f->s);
    MT_END(t);
}

static int run_from_task(void)
{
    mt_sched s;
    struct runner r = {{0}, &s, 0};
    mt_sched_init(&s);
    if (mt_sched_add(&s, &r.task, reenter) || mt_sched_run(&s))
        return 1;
    return r.r == MT_EBUSY ? 0 : 1;
}

static int reenter_once(mt_task *t)
{
    struct runner *f = (struct runner *)t;
    MT_BEGIN(t);
    f->r = mt_sched_run_once(f->s, 0);
    MT_END(t);
}

static int run_once_from_task(void)
{
    mt_sched s;
    struct runner r = {{0}, &s, 0};
    mt_sched_init(&s);
    if (mt_sched_add(&s, &r.task, reenter_once) || mt_sched_run(&s))
        return 1;
    return r.r == MT_EBUSY ? 0 : 1;
}

#if !MT_LC_LABELS
/* With switch continuations a wait inside the task's own switch loses its
 * resume point (with labels it works: tests/test_sched.c). */
struct switcher { mt_task task; int mode; };

static int switcher(mt_task *t)
{
    struct switcher *f = (struct switcher *)t;
    MT_BEGIN(t);
    switch (f->mode) {
    case 1:
        MT_YIELD(t);
        break;
    default:
        break;
    }
    MT_END(t);
}

static int lost_resume_point(void)
{
    mt_sched s;
    struct switcher w = {{0}, 1};
    struct reports r = {0};
    mt_sched_init(&s);
    mt_sched_set_report(&s, record_report, &r);
    if (mt_sched_add(&s, &w.task, switcher))
        return 1;
    return mt_sched_run(&s) == MT_EUNHANDLED && mt_err(&w.task) == MT_EINVAL &&
                   named(&r, "switcher")
               ? 0
               : 1;
}
#endif

/* Two tasks wait with MT_CHOOSE on the same clause array. */
struct chooser2 { mt_task task; mt_clause *cl; int which, err; };

static int choose_shared(mt_task *t)
{
    struct chooser2 *f = (struct chooser2 *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_CHOOSE(t, f->cl, 1, &f->which, 100));
    f->err = mt_err(t);
    MT_END(t);
}

static int choose_armed(void)
{
    mt_sched s;
    struct fake_clock c;
    mt_event e;
    mt_clause cl[1];
    struct chooser2 a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    mt_sched_init(&s);
    use_fake_clock(&s, &c, 0);
    mt_event_init(&e);
    mt_clause_event(&cl[0], &e);
    a.cl = b.cl = cl;
    if (mt_sched_add(&s, &a.task, choose_shared) || mt_sched_add(&s, &b.task, choose_shared))
        return 1;
    if (mt_sched_run(&s) != 0)
        return 1;
    return a.err == MT_ETIMEDOUT && b.err == MT_EBUSY ? 0 : 1;
}

static void test_call_directly(void **state)
{
    (void)state;
    expect_misuse(call_directly,
                  "a task function called outside its scheduler (a wait outside a task)");
    expect_misuse(call_after_end,
                  "a task function called outside its scheduler (a wait outside a task)");
}

static void test_add_twice(void **state)
{
    (void)state;
    expect_misuse(add_twice, "mt_sched_add of a frame whose task is live (added twice?)");
    expect_misuse(add_in_finally, "mt_sched_add of a frame whose task is live (added twice?)");
}

static void test_await_live(void **state)
{
    (void)state;
    expect_misuse(await_twice, "MT_AWAIT of a frame whose task is live");
}

static void test_return_outside_end(void **state)
{
    (void)state;
    expect_misuse(return_outside_end, "task function returned outside MT_END");
    expect_misuse(return_odd_status, "task function returned outside MT_END");
}

static void test_wait_in_finally(void **state)
{
    (void)state;
    expect_misuse(wait_in_finally,
                  "a wait, MT_EXIT or MT_RAISE inside MT_FINALLY (the rest of the section was skipped)");
}

static void test_run_from_task(void **state)
{
    (void)state;
    expect_misuse(run_from_task, "mt_sched_run from one of its own tasks");
    expect_misuse(run_once_from_task, "mt_sched_run_once from one of its own tasks");
}

static void test_choose_armed(void **state)
{
    (void)state;
    expect_misuse(choose_armed, "MT_CHOOSE on clauses armed by another task's wait");
}

static void test_lost_resume_point(void **state)
{
    (void)state;
#if MT_LC_LABELS
    skip();
#else
    expect_misuse(lost_resume_point,
                  "resume point not found (a wait inside a switch statement?)");
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_directly),
        cmocka_unit_test(test_add_twice),
        cmocka_unit_test(test_await_live),
        cmocka_unit_test(test_return_outside_end),
        cmocka_unit_test(test_run_from_task),
        cmocka_unit_test(test_wait_in_finally),
        cmocka_unit_test(test_lost_resume_point),
        cmocka_unit_test(test_choose_armed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
