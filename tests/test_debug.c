/* Diagnostics: the task dump, the stranded-task report, and (MT_DEBUG) task
 * names, the lost-locals poison and the per-wait statistics. Each checks the
 * text written, line by line. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#if MT_IO
#include <sys/socket.h>
#include <unistd.h>
#endif

/* Collects what the library writes. */
struct capture {
    char text[8192];
    size_t len;
    int lines;
};

static void capture_out(void *arg, const char *line)
{
    struct capture *c = (struct capture *)arg;
    size_t n = strlen(line);
    assert_true(n > 0 && line[n - 1] == '\n');
    assert_true(c->len + n < sizeof c->text);
    memcpy(c->text + c->len, line, n + 1);
    c->len += n;
    c->lines++;
}

/* `line` (a whole line, newline excluded) occurs exactly once. */
static void assert_line(const struct capture *c, const char *line)
{
    char want[256];
    const char *at;
    snprintf(want, sizeof want, "\n%s\n", line);
    /* search in "\n" + text so the first line matches too */
    {
        static char buf[8200];
        buf[0] = '\n';
        memcpy(buf + 1, c->text, c->len + 1);
        at = strstr(buf, want);
        if (!at || strstr(at + 1, want)) {
            print_error("want once: '%s'\n--- got:\n%s", line, c->text);
            fail();
        }
    }
}

static char *ptr_text(const void *p)
{
    static char b[4][32];
    static int i;
    i = (i + 1) % 4;
    snprintf(b[i], sizeof b[i], "0x%lx", (unsigned long)(uintptr_t)p);
    return b[i];
}

/* ---- The dump ---------------------------------------------------------- */

static mt_sched s;
static struct fake_clock clk;
static mt_queue q;
static int qbuf[2];
static mt_event ev;
static mt_sem sem;
static struct capture cap;
static int dumped;

struct sleeper { mt_task task; int line; };

static int sleeper(mt_task *t)
{
    struct sleeper *f = (struct sleeper *)t;
    MT_BEGIN(t);
    f->line = __LINE__; MT_SLEEP(t, 100);
    MT_END(t);
}

struct getter { mt_task task; int line, item; };

static int getter(mt_task *t)
{
    struct getter *f = (struct getter *)t;
    MT_BEGIN(t);
    f->line = __LINE__; MT_QUEUE_GET(t, &q, &f->item, MT_FOREVER);
    MT_END(t);
}

struct eventer { mt_task task; int line; };

static int eventer(mt_task *t)
{
    struct eventer *f = (struct eventer *)t;
    MT_BEGIN(t);
    f->line = __LINE__; MT_EVENT_WAIT(t, &ev, 5000);
    MT_END(t);
}

struct sem_child { mt_task task; int line; };

static int sem_child(mt_task *t)
{
    struct sem_child *f = (struct sem_child *)t;
    MT_BEGIN(t);
    f->line = __LINE__; MT_SEM_WAIT(t, &sem, MT_FOREVER);
    MT_END(t);
}

struct parent { mt_task task; int line; struct sem_child child; };

static int parent(mt_task *t)
{
    struct parent *f = (struct parent *)t;
    MT_BEGIN(t);
    f->line = __LINE__; MT_AWAIT(t, &f->child.task, sem_child, MT_FOREVER);
    MT_END(t);
}

struct dumper { mt_task task; int line; };

static int dumper(mt_task *t)
{
    struct dumper *f = (struct dumper *)t;
    MT_BEGIN(t);
    f->line = __LINE__; MT_YIELD(t);
    dumped = mt_sched_dump(&s, capture_out, &cap);
    MT_END(t);
}

static void setup_world(void)
{
    mt_sched_init(&s);
    use_fake_clock(&s, &clk, 1000);
    assert_int_equal(mt_queue_init(&q, qbuf, sizeof qbuf[0], 2, NULL, 0), 0);
    mt_event_init(&ev);
    mt_sem_init(&sem, 0);
    memset(&cap, 0, sizeof cap);
    dumped = 0;
}

static void test_dump_lists_every_task(void **state)
{
    static struct sleeper sl;
    static struct getter g;
    static struct eventer e;
    static struct parent p;
    static struct dumper d;
    static struct sleeper fresh;
    char want[256];
    const char *at;
    (void)state;

    setup_world();
    assert_int_equal(mt_sched_add(&s, &sl.task, sleeper), 0);
    assert_int_equal(mt_sched_add(&s, &g.task, getter), 0);
    assert_int_equal(mt_sched_add(&s, &e.task, eventer), 0);
    assert_int_equal(mt_sched_add(&s, &p.task, parent), 0);
    assert_int_equal(mt_sched_add(&s, &d.task, dumper), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 5); /* all park; d yields */
    clk.now += 40;
    assert_int_equal(mt_sched_add(&s, &fresh.task, sleeper), 0); /* never ran */
    assert_int_equal(mt_sched_run_once(&s, 0), 2);          /* d dumps first */

    assert_int_equal(dumped, 7);
    assert_int_equal(cap.lines, 7);
    snprintf(want, sizeof want, "dumper  running  tests/test_debug.c:%d  -", d.line);
    assert_line(&cap, want);
    assert_line(&cap, "sleeper  new  tests/test_debug.c:0  -");
    snprintf(want, sizeof want, "sleeper  waiting  tests/test_debug.c:%d  sleep  60 ticks left", sl.line);
    assert_line(&cap, want);
    snprintf(want, sizeof want, "getter  waiting  tests/test_debug.c:%d  queue %s (get)  no timeout",
             g.line, ptr_text(&q));
    assert_line(&cap, want);
    snprintf(want, sizeof want, "eventer  waiting  tests/test_debug.c:%d  event %s  4960 ticks left",
             e.line, ptr_text(&ev));
    assert_line(&cap, want);
    /* the child is indented, on the line right after its parent */
    snprintf(want, sizeof want,
             "parent  waiting  tests/test_debug.c:%d  child  no timeout\n"
             "  sem_child  waiting  tests/test_debug.c:%d  semaphore %s  no timeout\n",
             p.line, p.child.line, ptr_text(&sem));
    at = strstr(cap.text, want);
    if (!at) {
        print_error("want:\n%s--- got:\n%s", want, cap.text);
        fail();
    }

    /* From plain code: the same tasks, none running. */
    memset(&cap, 0, sizeof cap);
    assert_int_equal(mt_sched_dump(&s, capture_out, &cap), 6);
    assert_null(strstr(cap.text, "running"));

    /* Clean up: the dump changed nothing, the tasks end as usual. */
    mt_cancel(&g.task);
    mt_cancel(&p.task);
    mt_event_set(&ev);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(mt_state(&g.task), MT_CANCELLED);
    assert_int_equal(mt_state(&p.task), MT_CANCELLED);
    assert_int_equal(mt_state(&e.task), MT_DONE);
    assert_int_equal(mt_state(&sl.task), MT_DONE);
    assert_sched_empty(&s);
    memset(&cap, 0, sizeof cap);
    assert_int_equal(mt_sched_dump(&s, capture_out, &cap), 0);
    assert_int_equal(cap.lines, 0);
}

/* A dump from a child that its parent's await runs inline: the chain shows
 * root first, both running. */
struct inline_child { mt_task task; };

static int inline_child(mt_task *t)
{
    MT_BEGIN(t);
    dumped = mt_sched_dump(&s, capture_out, &cap);
    MT_END(t);
}

struct inline_parent { mt_task task; struct inline_child c; int line; };

static int inline_parent(mt_task *t)
{
    struct inline_parent *f = (struct inline_parent *)t;
    MT_BEGIN(t);
    f->line = __LINE__; MT_AWAIT(t, &f->c.task, inline_child, MT_FOREVER);
    MT_END(t);
}

static void test_dump_running_chain(void **state)
{
    static struct inline_parent p;
    char want[256];
    (void)state;

    setup_world();
    assert_int_equal(mt_sched_add(&s, &p.task, inline_parent), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(dumped, 2);
    snprintf(want, sizeof want,
             "inline_parent  running  tests/test_debug.c:%d  -\n"
             "  inline_child  running  tests/test_debug.c:0  -\n", p.line);
    assert_string_equal(cap.text, want);
    assert_sched_empty(&s);
}

/* A chain whose middle task resumed from the run queue: root waiting, the
 * middle one and the child its await runs inline both running. */
struct deep_b { mt_task task; };

static int deep_b(mt_task *t)
{
    MT_BEGIN(t);
    dumped = mt_sched_dump(&s, capture_out, &cap);
    MT_END(t);
}

struct deep_a { mt_task task; struct deep_b b; int line; };

static int deep_a(mt_task *t)
{
    struct deep_a *f = (struct deep_a *)t;
    MT_BEGIN(t);
    MT_YIELD(t);
    f->line = __LINE__; MT_AWAIT(t, &f->b.task, deep_b, MT_FOREVER);
    MT_END(t);
}

struct deep_r { mt_task task; struct deep_a a; int line; };

static int deep_r(mt_task *t)
{
    struct deep_r *f = (struct deep_r *)t;
    MT_BEGIN(t);
    f->line = __LINE__; MT_AWAIT(t, &f->a.task, deep_a, MT_FOREVER);
    MT_END(t);
}

static void test_dump_running_middle(void **state)
{
    static struct deep_r r;
    char want[384];
    (void)state;

    setup_world();
    assert_int_equal(mt_sched_add(&s, &r.task, deep_r), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(dumped, 3);
    snprintf(want, sizeof want,
             "deep_r  waiting  tests/test_debug.c:%d  child  no timeout\n"
             "  deep_a  running  tests/test_debug.c:%d  -\n"
             "    deep_b  running  tests/test_debug.c:0  -\n", r.line, r.a.line);
    assert_string_equal(cap.text, want);
    assert_sched_empty(&s);
}

/* A dump from the finally section of a child that ends while its parent
 * still points at it: the child is not listed, and its section (which may
 * free the frame) runs once, in both continuation modes. */
struct fin_child { mt_task task; int finals; };

static int fin_child(mt_task *t)
{
    struct fin_child *f = (struct fin_child *)t;
    MT_BEGIN(t);
    MT_YIELD(t);
    MT_FINALLY(t);
    f->finals++;
    dumped = mt_sched_dump(&s, capture_out, &cap);
    MT_END(t);
}

struct fin_parent { mt_task task; struct fin_child c; };

static int fin_parent(mt_task *t)
{
    struct fin_parent *f = (struct fin_parent *)t;
    MT_BEGIN(t);
    MT_AWAIT(t, &f->c.task, fin_child, MT_FOREVER);
    MT_END(t);
}

static void test_dump_from_finally(void **state)
{
    static struct fin_parent p;
    (void)state;

    setup_world();
    assert_int_equal(mt_sched_add(&s, &p.task, fin_parent), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(p.c.finals, 1);
    assert_int_equal(dumped, 1);
    assert_non_null(strstr(cap.text, "fin_parent  waiting"));
    assert_null(strstr(cap.text, "fin_child"));
    assert_sched_empty(&s);
}

/* A condition that dumps while its task polls with a timeout (the task is
 * then both running and in a timer structure): listed once. */
static int dump_says_done(void)
{
    dumped = mt_sched_dump(&s, capture_out, &cap);
    return 1;
}

struct poller { mt_task task; int line; };

static int poller(mt_task *t)
{
    struct poller *f = (struct poller *)t;
    MT_BEGIN(t);
    MT_YIELD(t);
    f->line = __LINE__; MT_WAIT_UNTIL(t, cap.lines > 0 && dump_says_done(), 100);
    MT_END(t);
}

static int poll_trigger(mt_task *t)
{
    MT_BEGIN(t);
    MT_YIELD(t);
    MT_YIELD(t);
    cap.lines = 1; /* from now on the poller's condition dumps */
    cap.text[0] = '\0';
    MT_END(t);
}

static void test_dump_polling_once(void **state)
{
    static struct poller p;
    static mt_task trig;
    (void)state;

    setup_world();
    assert_int_equal(mt_sched_add(&s, &p.task, poller), 0);
    assert_int_equal(mt_sched_add(&s, &trig, poll_trigger), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(dumped, 1);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_sched_empty(&s);
}

static void test_dump_misuse(void **state)
{
    (void)state;
    setup_world();
    assert_int_equal(mt_sched_dump(NULL, capture_out, &cap), MT_EINVAL);
    assert_int_equal(mt_sched_dump(&s, NULL, &cap), MT_EINVAL);
    assert_int_equal(mt_sched_stats(NULL, capture_out, &cap), MT_EINVAL);
    assert_int_equal(mt_set_name(NULL, "x"), MT_EINVAL);
    assert_int_equal(cap.lines, 0);
}

#if MT_IO
struct reader { mt_task task; int fd, line; char buf[8]; ssize_t n; };

static int reader(mt_task *t)
{
    struct reader *f = (struct reader *)t;
    MT_BEGIN(t);
    f->line = __LINE__; MT_READ(t, f->fd, f->buf, sizeof f->buf, &f->n, 2000);
    MT_END(t);
}

static void test_dump_fd_wait(void **state)
{
    static struct reader r;
    int sv[2];
    char want[256];
    (void)state;

    setup_world();
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(mt_fd_nonblock(sv[0]), 0);
    r.fd = sv[0];
    assert_int_equal(mt_sched_add(&s, &r.task, reader), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_sched_dump(&s, capture_out, &cap), 1);
    snprintf(want, sizeof want, "reader  waiting  tests/test_debug.c:%d  fd %d read  2000 ticks left",
             r.line, sv[0]);
    assert_line(&cap, want);
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(r.n, 1);
    close(sv[0]);
    close(sv[1]);
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
}
#endif

/* The states and waits the first dump test does not reach, from plain
 * code: polling a condition, woken but not yet run, a put on a full queue,
 * a deadline already past (due), and a wait for an exceptional condition. */
static int never;

struct cond_waiter { mt_task task; int line; };

static int cond_waiter(mt_task *t)
{
    struct cond_waiter *f = (struct cond_waiter *)t;
    MT_BEGIN(t);
    f->line = __LINE__; MT_CATCH(t, MT_WAIT_UNTIL(t, never, 50));
    MT_END(t);
}

struct putter { mt_task task; int line, item; };

static int putter(mt_task *t)
{
    struct putter *f = (struct putter *)t;
    MT_BEGIN(t);
    f->line = __LINE__; MT_QUEUE_PUT(t, &q, &f->item, MT_FOREVER);
    MT_END(t);
}

#if MT_IO
struct oob { mt_task task; int fd, line; };

static int oob(mt_task *t)
{
    struct oob *f = (struct oob *)t;
    MT_BEGIN(t);
    f->line = __LINE__; MT_WAIT_FD(t, f->fd, MT_EXCEPT, MT_FOREVER);
    MT_END(t);
}
#endif

static void test_dump_other_states(void **state)
{
    static struct cond_waiter cw;
    static struct putter pu;
    static struct getter g;
    static struct sleeper sl;
    static const int full[] = {1, 2};
    char want[256];
#if MT_IO
    static struct oob o;
    int sv[2];
#endif
    (void)state;

    setup_world();
    assert_int_equal(mt_queue_init(&q, qbuf, sizeof qbuf[0], 2, full, 2), 0);
    never = 0;
    assert_int_equal(mt_sched_add(&s, &cw.task, cond_waiter), 0);
    assert_int_equal(mt_sched_add(&s, &pu.task, putter), 0);
    assert_int_equal(mt_sched_add(&s, &sl.task, sleeper), 0);
    assert_int_equal(mt_sched_add(&s, &g.task, getter), 0);
#if MT_IO
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(mt_fd_nonblock(sv[0]), 0);
    o.fd = sv[0];
    assert_int_equal(mt_sched_add(&s, &o.task, oob), 0);
#endif
    assert_int_equal(mt_sched_run_once(&s, 0), 4 + MT_IO); /* cw polls, g takes 1 */
    assert_int_equal(mt_state(&g.task), MT_DONE);
    assert_int_equal(mt_state(&pu.task), MT_RUNNABLE);      /* woken: a slot */
    clk.now += 150; /* past the sleeper's deadline, before a cycle */
    assert_int_equal(mt_sched_dump(&s, capture_out, &cap), 3 + MT_IO);

    snprintf(want, sizeof want, "cond_waiter  polling  tests/test_debug.c:%d  condition  due",
             cw.line);
    assert_line(&cap, want);
    snprintf(want, sizeof want, "putter  woken  tests/test_debug.c:%d  -", pu.line);
    assert_line(&cap, want);
    snprintf(want, sizeof want, "sleeper  waiting  tests/test_debug.c:%d  sleep  due", sl.line);
    assert_line(&cap, want);
#if MT_IO
    snprintf(want, sizeof want, "oob  waiting  tests/test_debug.c:%d  fd %d except  no timeout",
             o.line, sv[0]);
    assert_line(&cap, want);
#endif

    /* A put waiting on a full queue. */
    memset(&cap, 0, sizeof cap);
    assert_int_equal(mt_sched_run_once(&s, 0), 3); /* pu puts, cw and sl time out */
    pu.item = 3;
    assert_int_equal(mt_sched_add(&s, &pu.task, putter), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_sched_dump(&s, capture_out, &cap), 1 + MT_IO);
    snprintf(want, sizeof want, "putter  waiting  tests/test_debug.c:%d  queue %s (put)  no timeout",
             pu.line, ptr_text(&q));
    assert_line(&cap, want);

    mt_cancel(&pu.task);
#if MT_IO
    mt_cancel(&o.task);
#endif
    assert_int_equal(mt_sched_run(&s), 0);
#if MT_IO
    close(sv[0]);
    close(sv[1]);
    assert_int_equal(mt_sched_destroy(&s), 0);
#endif
    assert_sched_empty(&s);
}

/* A dump from a finally section that has just freed its frame: the dump
 * must not reach the freed frame (ASan and valgrind check the reads). */
struct self_freer { mt_task task; };

static int self_freer(mt_task *t)
{
    struct self_freer *f = (struct self_freer *)t;
    MT_BEGIN(t);
    MT_SLEEP(t, 1);
    MT_FINALLY(t);
    free(f);
    dumped = mt_sched_dump(&s, capture_out, &cap);
    MT_END(t);
}

static void test_dump_after_free_in_finally(void **state)
{
    static struct sleeper other;
    struct self_freer *f = calloc(1, sizeof *f);
    (void)state;

    assert_non_null(f);
    setup_world();
    assert_int_equal(mt_sched_add(&s, &f->task, self_freer), 0);
    assert_int_equal(mt_sched_add(&s, &other.task, sleeper), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    clk.now += 1;
    assert_int_equal(mt_sched_run_once(&s, 0), 1); /* f ends, frees, dumps */
    assert_int_equal(dumped, 1); /* the sleeper only */
    assert_int_equal(cap.lines, 1);
    assert_non_null(strstr(cap.text, "sleeper  waiting"));
    assert_int_equal(mt_sched_run(&s), 0);
    assert_sched_empty(&s);
}

/* ---- Stranded tasks ---------------------------------------------------- */

static mt_event ping, pong;

struct waits_for { mt_task task; mt_event *mine, *theirs; int line; };

/* Each waits for the other to set its event first: a deadlock. */
static int waits_for(mt_task *t)
{
    struct waits_for *f = (struct waits_for *)t;
    MT_BEGIN(t);
    f->line = __LINE__; MT_EVENT_WAIT(t, f->theirs, MT_FOREVER);
    mt_event_set(f->mine);
    MT_END(t);
}

static void test_stranded_report(void **state)
{
    static struct getter g;
    static struct waits_for a, b;
    static struct sleeper sl;
    char want[256];
    (void)state;

    setup_world();
    mt_event_init(&ping);
    mt_event_init(&pong);
    a.mine = &ping;
    a.theirs = &pong;
    b.mine = &pong;
    b.theirs = &ping;
    mt_sched_set_out(&s, capture_out, &cap);
    assert_int_equal(mt_sched_add(&s, &sl.task, sleeper), 0); /* ends: not stranded */
    assert_int_equal(mt_sched_add(&s, &g.task, getter), 0);
    assert_int_equal(mt_sched_add(&s, &a.task, waits_for), 0);
    assert_int_equal(mt_sched_add(&s, &b.task, waits_for), 0);
    assert_int_equal(mt_sched_run(&s), MT_ESTRANDED);
    assert_int_equal(mt_state(&sl.task), MT_DONE);
    assert_int_equal(cap.lines, 4);
    assert_true(strncmp(cap.text, "multitask: 3 tasks stranded: waiting, and nothing left "
                                  "can wake them:\n", 69) == 0);
    snprintf(want, sizeof want, "getter  waiting  tests/test_debug.c:%d  queue %s (get)  no timeout",
             g.line, ptr_text(&q));
    assert_line(&cap, want);
    snprintf(want, sizeof want, "waits_for  waiting  tests/test_debug.c:%d  event %s  no timeout",
             a.line, ptr_text(&pong));
    assert_line(&cap, want);
    snprintf(want, sizeof want, "waits_for  waiting  tests/test_debug.c:%d  event %s  no timeout",
             b.line, ptr_text(&ping));
    assert_line(&cap, want);

    /* They stay parked: plain code can still wake them and run again. */
    assert_int_equal(mt_queue_try_put(&q, &(int){7}), 0);
    mt_event_set(&ping);
    memset(&cap, 0, sizeof cap);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(cap.lines, 0);
    assert_int_equal(g.item, 7);
    assert_int_equal(mt_state(&a.task), MT_DONE);
    assert_int_equal(mt_state(&b.task), MT_DONE);
    assert_sched_empty(&s);
}

#if MT_IO && MT_DUMP
/* With the sink reset (NULL), the report goes to stderr again: one task,
 * "1 task" in the header. */
static void test_stranded_to_stderr(void **state)
{
    static struct getter g;
    char got[1024], want[256];
    int fds[2], saved, added, ran;
    ssize_t n;
    (void)state;

    setup_world();
    mt_sched_set_out(&s, capture_out, &cap);
    mt_sched_set_out(&s, NULL, NULL);
    assert_int_equal(pipe(fds), 0);
    fflush(stderr);
    saved = dup(2);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fds[1], 2), 2);
    added = mt_sched_add(&s, &g.task, getter);
    ran = mt_sched_run(&s);
    fflush(stderr);
    assert_int_equal(dup2(saved, 2), 2); /* before any assert: cmocka writes to 2 */
    close(saved);
    assert_int_equal(added, 0);
    assert_int_equal(ran, MT_ESTRANDED);
    close(fds[1]);
    n = read(fds[0], got, sizeof got - 1);
    close(fds[0]);
    assert_true(n > 0);
    got[n] = '\0';
    assert_int_equal(cap.lines, 0);
    snprintf(want, sizeof want,
             "multitask: 1 task stranded: waiting, and nothing left can wake them:\n"
             "getter  waiting  tests/test_debug.c:%d  queue %s (get)  no timeout\n",
             g.line, ptr_text(&q));
    assert_string_equal(got, want);
    mt_cancel(&g.task);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_sched_empty(&s);
}
#endif

/* A child stranded under its parent; a stranded run also outranks an
 * unhandled error in the verdict, and both are reported. */
struct raiser { mt_task task; };

static int raiser(mt_task *t)
{
    MT_BEGIN(t);
    MT_RAISE(t, MT_EFAIL, "boom");
    MT_END(t);
}

static void test_stranded_child_and_failure(void **state)
{
    static struct parent p;
    static struct raiser r;
    struct reports rep = {0};
    char want[256];
    (void)state;

    setup_world();
    mt_sched_set_out(&s, capture_out, &cap);
    mt_sched_set_report(&s, record_report, &rep);
    assert_int_equal(mt_sched_add(&s, &p.task, parent), 0);
    assert_int_equal(mt_sched_add(&s, &r.task, raiser), 0);
    assert_int_equal(mt_sched_run(&s), MT_ESTRANDED);
    assert_int_equal(rep.count, 1);
    assert_int_equal(cap.lines, 3);
    assert_non_null(strstr(cap.text, "multitask: 2 tasks stranded"));
    snprintf(want, sizeof want,
             "parent  waiting  tests/test_debug.c:%d  child  no timeout\n"
             "  sem_child  waiting  tests/test_debug.c:%d  semaphore %s  no timeout\n",
             p.line, p.child.line, ptr_text(&sem));
    assert_non_null(strstr(cap.text, want));

    assert_int_equal(mt_sem_signal(&sem), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(mt_state(&p.task), MT_DONE);
    assert_sched_empty(&s);
}

/* The default output, and mt_out_stdio. */
static void test_out_stdio(void **state)
{
    FILE *f = tmpfile();
    char buf[256];
    (void)state;

    assert_non_null(f);
    mt_out_stdio(f, "one line\n");
    rewind(f);
    assert_non_null(fgets(buf, sizeof buf, f));
    assert_string_equal(buf, "one line\n");
    fclose(f);
}

/* ---- MT_DEBUG ------------------------------------------------------------ */

#if MT_DEBUG
static void test_names(void **state)
{
    static struct sleeper a, b;
    char want[256];
    (void)state;

    setup_world();
    assert_int_equal(mt_set_name(&a.task, "conn 7"), 0); /* before the add */
    assert_int_equal(mt_sched_add(&s, &a.task, sleeper), 0);
    assert_int_equal(mt_sched_add(&s, &b.task, sleeper), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 2);
    assert_int_equal(mt_sched_dump(&s, capture_out, &cap), 2);
    snprintf(want, sizeof want, "conn 7  waiting  tests/test_debug.c:%d  sleep  100 ticks left", a.line);
    assert_line(&cap, want);
    snprintf(want, sizeof want, "sleeper  waiting  tests/test_debug.c:%d  sleep  100 ticks left", b.line);
    assert_line(&cap, want);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_sched_empty(&s);
}

/* THE BUG this catches: a C local kept across a wait. Without the poison it
 * often "works" (the stack slot happens to keep 42); with it, the task reads
 * the pattern every time. */
struct lost { mt_task task; int seen; };

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#if defined(__clang__)
#pragma GCC diagnostic ignored "-Wsometimes-uninitialized"
#else
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#endif
static int buggy(mt_task *t)
{
    struct lost *f = (struct lost *)t;
    volatile int kept; /* WRONG: must be a frame field */
    MT_BEGIN(t);
    kept = 42;
    MT_YIELD(t);
    f->seen = kept;
    MT_END(t);
}
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

static void test_lost_local_poisoned(void **state)
{
    static struct lost l;
    (void)state;

    /* valgrind tracks the stack itself: it reports the read of `kept` as
     * uninitialised (the bug, caught) and the poison is not seen. */
    if (getenv("MT_UNDER_VALGRIND"))
        skip();

    setup_world();
    assert_int_equal(mt_sched_add(&s, &l.task, buggy), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(l.seen, (int)0xA5A5A5A5u);
    assert_sched_empty(&s);
}

/* Statistics: per resume point, resumes and the longest run before the
 * next wait; the fake clock moves while a task runs. */
struct worker { mt_task task; int i, start_line, yield_line, sleep_line; };

static int worker(mt_task *t)
{
    struct worker *f = (struct worker *)t;
    MT_BEGIN(t);
    clk.now += 3; /* after the start */
    for (f->i = 0; f->i < 4; f->i++) {
        f->yield_line = __LINE__; MT_YIELD(t);
        clk.now += (mt_time)(f->i == 2 ? 25 : 1);
    }
    f->sleep_line = __LINE__; MT_SLEEP(t, 10);
    MT_END(t);
}

static void test_stats(void **state)
{
    static struct worker w;
    char want[256];
    (void)state;

    setup_world();
    assert_int_equal(mt_sched_add(&s, &w.task, worker), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(mt_sched_stats(&s, capture_out, &cap), 3);
    assert_int_equal(cap.lines, 3);
    assert_line(&cap, "worker  tests/test_debug.c:0  resumed 1  longest run 3 ticks");
    snprintf(want, sizeof want, "worker  tests/test_debug.c:%d  resumed 4  longest run 25 ticks",
             w.yield_line);
    assert_line(&cap, want);
    snprintf(want, sizeof want, "worker  tests/test_debug.c:%d  resumed 1  longest run 0 ticks",
             w.sleep_line);
    assert_line(&cap, want);
    assert_sched_empty(&s);
}
#else
static void test_debug_off(void **state)
{
    static mt_task t;
    (void)state;
    setup_world();
    assert_int_equal(mt_set_name(&t, "x"), MT_ENOTSUP);
    assert_int_equal(mt_sched_stats(&s, capture_out, &cap), MT_ENOTSUP);
    assert_int_equal(cap.lines, 0);
}
#endif

#if !MT_DUMP
#error "these tests need MT_DUMP (MT_DUMP=0 is checked by tests/target)"
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dump_lists_every_task),
        cmocka_unit_test(test_dump_running_chain),
        cmocka_unit_test(test_dump_running_middle),
        cmocka_unit_test(test_dump_from_finally),
        cmocka_unit_test(test_dump_polling_once),
        cmocka_unit_test(test_dump_other_states),
        cmocka_unit_test(test_dump_after_free_in_finally),
        cmocka_unit_test(test_dump_misuse),
#if MT_IO
        cmocka_unit_test(test_dump_fd_wait),
#endif
        cmocka_unit_test(test_stranded_report),
#if MT_IO && MT_DUMP
        cmocka_unit_test(test_stranded_to_stderr),
#endif
        cmocka_unit_test(test_stranded_child_and_failure),
        cmocka_unit_test(test_out_stdio),
#if MT_DEBUG
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_lost_local_poisoned),
        cmocka_unit_test(test_stats),
#else
        cmocka_unit_test(test_debug_off),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
