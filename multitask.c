/* multitask.c - the scheduler of multitask (see multitask.h and README.md).
 *
 * Reads top-down:
 *   Platform        includes, misuse stops, the allocator, the system-call shim
 *   Task states     the one table of what each state means
 *   Wait outcomes   the only writers of a task's err and w
 *   Task FIFOs      the run queue, wait lists, I/O waiters
 *   Timers          heap, wheel or sorted list; the forever list; parking;
 *                   firing due timers; the time to the next deadline
 *   Waits           checks every wait shares; await, condition, sleep
 *   Task endings    raise, report, finally pass, hand-over to the parent
 *   Queues, events, semaphores
 *   I/O             the backend contract, the operations, then one section
 *                   per backend: select, poll, epoll
 *   First of several  MT_CHOOSE: stand-ins in the objects' wait lists
 *   Wake-ups        interrupt and thread posts (mt_signal)
 *   The cycle       resuming a task; mt_sched_run_once as its phases
 *   Scheduler API   init, destroy, add, run, merge, embedding, clock, report
 *   Cancellation, state, errors
 *   Diagnostics     the dump, the stranded report, MT_DEBUG's aids
 *   Clock           the platform's time and idle wait
 *
 * Invariants the code keeps:
 * - where a live task is follows from its state (the table below):
 *   running; in the run queue (new, yielded, woken, polling a condition, or
 *   its descriptor ready); or parked: in exactly one timer structure (a
 *   deadline) or the forever list (none), and also on the object it waits
 *   on (a queue's, event's or semaphore's wait list; the I/O backend), or
 *   for MT_CHOOSE, its clauses' stand-ins are, one on each object. A
 *   condition poller or a ready descriptor waiter may also have a timer.
 * - a parent awaiting a child is parked; the child points back at it. Only
 *   top-level tasks point at their scheduler.
 * - a task's err and w are written only by the wait-outcome functions.
 * - the scheduler touches no frame after that task's finally pass: the pass
 *   may free it.
 * Private names are mt__ / MT__: a program that includes this file (header-
 * only use) sees no other name of ours (tests/unity/run.sh checks).
 */
#if !defined(_POSIX_C_SOURCE) && (defined(__unix__) || defined(__APPLE__))
#define _POSIX_C_SOURCE 200809L
#endif

#include "multitask.h"

#ifndef MT__C_INCLUDED /* compiled once, however it is included */
#define MT__C_INCLUDED

/* ---- Platform ------------------------------------------------------------ */

#if !MT_NO_STDIO
#include <stdio.h>
#endif
#if MT_POSIX
#include <time.h>
#endif
#if __STDC_HOSTED__
#include <string.h>
#endif
#if MT_THREADS
#include <sched.h> /* sched_yield */
#include <signal.h> /* the workers' signal mask */
#endif
#if MT_IO
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/select.h>
#if MT_BACKEND == MT_BACKEND_EPOLL
#include <sys/epoll.h>
#endif
#endif
#if MT_ASSERT && !defined(MT_ASSERT_FAIL)
#if !MT_POSIX && defined(__GNUC__) /* bare metal: a fault the debugger shows */
#define MT_ASSERT_FAIL(msg) ((void)(msg), __builtin_trap())
#elif !MT_POSIX
#define MT_ASSERT_FAIL(msg) do { (void)(msg); for (;;) {} } while (0)
#else
#include <stdlib.h> /* abort */
#if MT_NO_STDIO
#define MT_ASSERT_FAIL(msg) ((void)(msg), abort())
#else
#define MT_ASSERT_FAIL(msg)                                                  \
    (fprintf(stderr, "multitask: misuse: %s\n", (msg)), fflush(stderr), abort())
#endif
#endif
#endif
#if MT_ASSERT
#define MT__MISUSE(msg) MT_ASSERT_FAIL(msg)
#else
#define MT__MISUSE(msg) ((void)0)
#endif
#if !MT_NO_HEAP && !defined(MT_REALLOC)
#include <stdlib.h>
#define MT_REALLOC(p, n) realloc((p), (n))
#define MT_FREE(p) free(p)
#endif

/* The operations' and backends' system calls go through MT__SYS() so that
 * a test build can route them through a fault-injecting shim: with
 * MT_SYS_SHIM defined, MT__SYS(read) is mt_shim_read, and so on, which the
 * program defines before it includes this file (tests/test_faults.c). */
#ifdef MT_SYS_SHIM
#define MT__SYS(f) mt_shim_##f
#else
#define MT__SYS(f) f
#endif

#define MT__CONTAINER(ptr, type, member)                                     \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* A zeroed constant of type T, to reset an object with one store: C++
 * (which compiles this file in the single-header edition) wants it
 * initialised. SDCC (8051) places a const object in code memory and,
 * without an initialiser, reserves the space but writes no bytes: it reads
 * as erased flash (0xFF), not zero; and SDCC 4.2 takes no {0} for a type
 * whose first member is an aggregate. There it is a variable, zeroed in
 * RAM at startup like any other, and never written. */
#ifdef __cplusplus
#define MT__ZERO(T, name) static const T name = T()
#elif defined(__SDCC)
#define MT__ZERO(T, name) static T name
#else
#define MT__ZERO(T, name) static const T name
#endif

/* The library's own messages (MT_MSGS 0: left out, for the least RAM: AVR
 * keeps string literals there; mt_errmsg then gives mt_strerror's). */
#if MT_MSGS
#define MT__M(text) text
#else
#define MT__M(text) ((const char *)0)
#endif

/* The hot path's small steps, inlined where they are called (resume,
 * park): a call costs a hand-off a tenth of its instructions. Not when
 * optimising for size. */
#if defined(__GNUC__) && !defined(__OPTIMIZE_SIZE__)
#define MT__HOT __attribute__((__always_inline__)) inline
#else
#define MT__HOT
#endif

#if defined(__GNUC__)
#define MT__UNLIKELY(c) __builtin_expect(!!(c), 0)
#else
#define MT__UNLIKELY(c) (c)
#endif

#define MT__STR2(x) #x
#define MT__STR(x) MT__STR2(x)

/* ---- Task states ----------------------------------------------------------
 * bits = MT__SAW | MT__F_SHIELD | timer position << 9 | flags (MT__F_*) << 5
 * | state, where MT__SAW (the top bit) says a wait of the task ended
 * MT_ECANCELED (set by the wait outcomes; mt__deliver and mt__finish read
 * it), and MT__F_SHIELD (the next, or bit 11 with MT_TIMER_LIST) marks
 * MT_SHIELD's wait. The first six
 * states are the public ones a task is stored in (MT_WAITING is only ever
 * reported); the private ones follow them, and say how a task waits. Each
 * row of this list is one state, in the order of their values:
 *   X(name, how the scheduler treats it and what mt_state reports, the dump's
 *     state word, the dump's name of what it waits on, and for a wait on a
 *     list, the list's offset in its object)
 * A new kind of wait is a new row (and the code its MT__K_ flags select).
 * MT__K_PARKED   parked: in a timer structure or the forever list, and w
 *                names what it waits on; a timer or a cancel wakes it
 * MT__K_LIST     ... in a wait list (w.obj: that list)
 * MT__K_FD       ... registered with the I/O backend (w.io: fd << 3 | events)
 * MT__K_CHILD    ... awaiting a child (w.obj), or joining a group (w.obj):
 *                a timer or a cancel passes to the child (the group's
 *                children), and the task resumes once it (they) ended
 * MT__K_SLEEP    ... sleeping: its timer firing is success
 * MT__K_VERDICT  in the run queue, its wait not over: a timer or a cancel
 *                only sets the verdict it resumes with
 * (MT__K_ONLIST is parked in a wait list.) A private state is reported as
 * MT_WAITING with MT__K_WAITING, else as MT_RUNNABLE. The CL_ states are
 * not a task's: they are the states of MT_CHOOSE's stand-ins in wait lists
 * (see "Waiting for the first of several"), from MT__S_CL_QGET on. */
#define MT__K_PARKED 0x01u
#define MT__K_LIST 0x02u
#define MT__K_FD 0x04u
#define MT__K_CHILD 0x08u
#define MT__K_SLEEP 0x10u
#define MT__K_VERDICT 0x20u
#define MT__K_WAITING 0x40u /* reported as MT_WAITING (private states) */
#define MT__K_TRIES 0x80u   /* ready by its deadline: the operation tries once
                               more before the timer counts (mt__expire) */
#define MT__K_ONLIST (MT__K_PARKED | MT__K_LIST)

#if MT_THREADS
#define MT__ROOM_STATE(X) X(ROOM, MT__K_WAITING | MT__K_ONLIST, "waiting", "room in a channel", 0)
#else
#define MT__ROOM_STATE(X)
#endif
#define MT__STATES(X)                                                        \
    X(NEW, 0, "new", "-", 0)                                                 \
    X(DONE, 0, "done", "-", 0)                                               \
    X(FAILED, 0, "failed", "-", 0)                                           \
    X(CANCELLED, 0, "cancelled", "-", 0)                                     \
    X(RUNNABLE, MT__K_VERDICT, "runnable", "-", 0)                           \
    X(RUNNING, 0, "running", "-", 0)                                         \
    X(WOKEN, 0, "woken", "-", 0)                                             \
    X(CHILD, MT__K_WAITING | MT__K_PARKED | MT__K_CHILD, "waiting", "child", 0) \
    X(COND, MT__K_WAITING | MT__K_VERDICT, "polling", "condition", 0)        \
    X(SLEEP, MT__K_WAITING | MT__K_PARKED | MT__K_SLEEP, "waiting", "sleep", 0) \
    X(QGET, MT__K_WAITING | MT__K_ONLIST, "waiting", "queue % (get)",        \
      offsetof(mt_queue, getters))                                           \
    X(QPUT, MT__K_WAITING | MT__K_ONLIST, "waiting", "queue % (put)",        \
      offsetof(mt_queue, putters))                                           \
    X(EVENT, MT__K_WAITING | MT__K_ONLIST, "waiting", "event %",             \
      offsetof(mt_event, waiters))                                           \
    X(SEM, MT__K_WAITING | MT__K_ONLIST, "waiting", "semaphore %",           \
      offsetof(mt_sem, waiters))                                             \
    X(IO, MT__K_WAITING | MT__K_PARKED | MT__K_FD, "waiting", "fd", 0)       \
    X(IORDY, MT__K_VERDICT | MT__K_TRIES, "woken", "-", 0)                   \
    X(CHOOSE, MT__K_WAITING | MT__K_PARKED, "waiting", "first of", 0)        \
    X(JOIN, MT__K_WAITING | MT__K_PARKED | MT__K_CHILD, "waiting", "join group %", 0) \
    X(CLOSING, MT__K_WAITING, "ending", "its groups' children", 0)          \
    MT__ROOM_STATE(X)                                                        \
    X(GROUP, 0, "group", "-", 0)                                             \
    X(CL_QGET, MT__K_LIST, "clause", "queue % (get)", offsetof(mt_queue, getters)) \
    X(CL_QPUT, MT__K_LIST, "clause", "queue % (put)", offsetof(mt_queue, putters)) \
    X(CL_EVENT, MT__K_LIST, "clause", "event %", offsetof(mt_event, waiters)) \
    X(CL_SEM, MT__K_LIST, "clause", "semaphore %", offsetof(mt_sem, waiters)) \
    X(CL_IO, MT__K_FD, "clause", "fd", 0)

enum mt__state {
#define MT__STATE_ENUM(name, how, word, what, off) MT__S_##name,
    MT__STATES(MT__STATE_ENUM)
#undef MT__STATE_ENUM
    MT__S_COUNT
};

/* The public stored states keep their values; 32 fit the five state bits. */
typedef char mt__states_agree[((int)MT__S_NEW == (int)MT_NEW &&
                               (int)MT__S_RUNNING == (int)MT_RUNNING &&
                               (int)MT__S_WOKEN == (int)MT_RUNNING + 1 && MT__S_COUNT <= 32)
                                  ? 1
                                  : -1];

/* One byte a state: RAM on AVR, where constants live there. */
static const unsigned char mt__kinds[] = {
#define MT__STATE_KIND(name, how, word, what, off) (unsigned char)(how),
    MT__STATES(MT__STATE_KIND)
#undef MT__STATE_KIND
};

#define MT__ST(t) ((int)((t)->bits & 0x1Fu))
#define MT__SET_ST(t, st) ((t)->bits = (mt__bits)(((t)->bits & ~0x1Fu) | (unsigned)(st)))
#define MT__HOW(t) (mt__kinds[MT__ST(t)])
#define MT__LIVE(t) (MT__ST(t) >= MT_RUNNABLE)
/* Cancelled, and not in a shielded wait: its wait ends it. */
#define MT__DOOMED(t) (((t)->bits & (MT__F_CANCEL | MT__F_SHIELD)) == MT__F_CANCEL)
#define MT__SHIELD_FOREVER MT__M("MT_SHIELD: a shielded wait needs a finite timeout")
#if MT_TIMER_LIST
#define MT__SAW 0x400u /* see below */
#define MT__POS(t) (((t)->bits >> 9) & 1u) /* 1: in the timer list */
#define MT__SET_POS(t, p) ((t)->bits = (mt__bits)(((t)->bits & ~0x200u) | ((p) ? 0x200u : 0u)))
#define MT__POS_MAX 0xFFFFFFFEu
#else
#define MT__SAW 0x80000000u /* see below */
#define MT__POS(t) (((t)->bits >> 9) & 0x1FFFFFu)
#define MT__SET_POS(t, p) ((t)->bits = ((t)->bits & 0xC00001FFu) | ((uint32_t)(p) << 9))
#define MT__POS_MAX 0x1FFFFDu    /* heap positions: 1..MT__POS_MAX */
#define MT__POS_COARSE 0x1FFFFEu /* in the timer wheel's second level */
#define MT__POS_WHEEL 0x1FFFFFu  /* in its first level */
#endif

#if MT_LC_LABELS
#define MT__LINE_OF(t) ((t)->line)
#define MT__AT_START(t) ((t)->lc == NULL)
#define MT__LC_RESET(t) ((t)->lc = NULL)
#define MT__LC_TO_FINAL(t) ((void)0) /* the F_FINAL flag selects the section */
#else
#define MT__LINE_OF(t) ((t)->lc)
#define MT__AT_START(t) ((t)->lc == 0)
#define MT__LC_RESET(t) ((t)->lc = 0)
#define MT__LC_TO_FINAL(t) ((t)->lc = MT__LC_FINAL_LINE)
#endif

static mt_sched *mt__sched_of(mt_task *t)
{
    while (!(t->bits & MT__F_ROOT))
        t = t->up.parent;
    return t->up.sched;
}

/* ---- Group nodes in the chain ------------------------------------------------
 * A group's node (its first member) stands between its children and its
 * owner: each child's up.parent is the node. While the group is open, the
 * node is also in the owner's own chain: the owner's up.parent is the
 * node, and the node's up is what the owner's was (its parent, or with
 * F_ROOT its scheduler). So the walk to the scheduler is unchanged; a
 * task's open groups are the nodes it owns at the start of its chain, the
 * innermost first; its parent is past them. */
#define MT__GROUP_OF(n) ((mt_group *)(void *)(n))

static int mt__is_group(const mt_task *n) { return MT__ST(n) == MT__S_GROUP; }

/* The open group whose node u->up names, if t owns it; else NULL. */
static mt_group *mt__group_after(const mt_task *u, const mt_task *t)
{
    mt_task *p;
    if (u->bits & MT__F_ROOT)
        return NULL;
    p = u->up.parent;
    return mt__is_group(p) && MT__GROUP_OF(p)->owner == t ? MT__GROUP_OF(p) : NULL;
}

/* What the core asks of a group. On bare metal it goes through the
 * group's ops, which MT_SPAWN sets when it opens the group: a program that
 * starts no group links none of the group code (about 1.4 KB on a
 * Cortex-M0). Hosted, the calls are direct: the compiler inlines them, and
 * a child's end costs about 30 instructions less. */
#if !MT_POSIX
struct mt__gops {
    int (*end)(mt_sched *s, mt_task *t, int *r);
    void (*failed)(mt_sched *s, mt_group *g, mt_task *c, int code, const char *msg);
    mt_task *(*left)(mt_sched *s, mt_group *g, mt_task *c, int code, int saw);
    void (*cancel)(mt_group *g);
};
#endif
static int mt__groups_end(mt_sched *s, mt_task *t, int *r);
static void mt__group_failed_child(mt_sched *s, mt_group *g, mt_task *c, int code,
                                   const char *msg);
static mt_task *mt__group_left(mt_sched *s, mt_group *g, mt_task *c, int code, int saw);
static void mt__group_cancel(mt_group *g);
#if MT_POSIX
#define MT__GOP(g, direct, op) direct
#else
#define MT__GOP(g, direct, op) (g)->ops->op
#endif

#define MT__FOR_GROUPS(g, t)                                                 \
    for ((g) = mt__group_after((t), (t)); (g); (g) = mt__group_after(&(g)->node, (t)))

/* The task awaiting t, the node of the group t runs in, or NULL for a
 * top-level task. */
static mt_task *mt__parent_of(const mt_task *t)
{
    const mt_task *u = t;
    mt_group *g;

    while ((g = mt__group_after(u, t)) != NULL)
        u = &g->node;
    return (u->bits & MT__F_ROOT) ? NULL : u->up.parent;
}

/* ---- Wait outcomes --------------------------------------------------------
 * t->err is the result of the task's last wait, and once it ended its
 * final error. t->w is a union whose meaning follows the state: while the
 * task is parked (MT__K_PARKED), what it waits on; after a wait on a list
 * succeeded, still that list (the macro's finishing step reads it); after
 * an I/O wait, the ready events; otherwise the message that goes with a
 * nonzero err (NULL: mt_strerror's). Only these functions write the two,
 * so they cannot disagree (and the dump's query, which puts back what it
 * found). */

/* err = code. A wait that ended with the task's own cancellation is
 * remembered to its end: it ends cancelled (sticky), and a parent's timeout
 * yields to a child that never saw one. A cancelled child's MT_ECANCELED,
 * say, is not the task's own. */
static void mt__out_code(mt_task *t, int code)
{
    t->err = (int16_t)code;
    if (code == MT_ECANCELED && (t->bits & MT__F_CANCEL))
        t->bits |= MT__SAW;
}

/* A wait ends with `code` (0: success) and a static message. Returns
 * MT__GO, so a wait's starter can end with it. */
static int mt__out_set(mt_task *t, int code, const char *msg)
{
    mt__out_code(t, code);
    t->w.msg = msg;
    return MT__GO;
}

/* Ended by cancellation: the status a task function returns for it. */
static int mt__out_cancelled(mt_task *t)
{
    (void)mt__out_set(t, MT_ECANCELED, NULL);
    return MT__FAILED;
}

/* A timer or a cancel ends a wait that may already have its verdict: the
 * first one stands. A parked task's w still names what it waits on. */
static void mt__out_verdict(mt_task *t, int code)
{
    if (t->err)
        return;
    mt__out_code(t, code);
    if (!(MT__HOW(t) & MT__K_PARKED))
        t->w.msg = NULL;
}

/* The outcome a waker hands over (a child's ending), unless a verdict came
 * first: that one stands, without a message; a timeout yields if `late`
 * says the outcome came by the deadline all the same. */
static void mt__out_arrive(mt_task *t, int code, const char *msg, int late)
{
    if (!t->err || (late && t->err == MT_ETIMEDOUT)) {
        mt__out_code(t, code);
        t->w.msg = msg;
    } else {
        t->w.msg = NULL;
    }
}

/* A wait on an object completed with err: on success w keeps naming the
 * object, which the wait's finishing step reads. */
static void mt__out_woken(mt_task *t, int err)
{
    mt__out_code(t, err);
    if (err)
        t->w.msg = NULL;
}

/* A yield, or a condition already true, ends no wait: no error; w stays
 * (mt_fd_ready still tells the events of the last I/O wait). */
static void mt__out_yielded(mt_task *t) { t->err = 0; }

/* Parking: w names what the task waits on. */
static void mt__out_waits_on(mt_task *t, void *obj) { t->w.obj = obj; }

#if MT_IO
#define MT__IO_FD(t) ((int)((t)->w.io >> 3))
#define MT__IO_EV(t) ((int)((t)->w.io & 7))

/* Registering with the backend: w holds the descriptor and the events. */
static void mt__out_waits_fd(mt_task *t, int fd, int events)
{
    t->w.io = ((intptr_t)fd << 3) | (events & 7);
}

/* An I/O wait's readiness: `ready` events (0: none yet), or err (then w
 * reads as no message). */
static void mt__out_ready(mt_task *t, int ready, int err)
{
    t->w.io = err ? 0 : ready;
    mt__out_code(t, err);
}
#endif

static void mt__init_task(mt_task *t, mt_fn fn)
{
    t->next = NULL;
    t->fn = fn;
    (void)mt__out_set(t, 0, NULL);
    t->link[0] = NULL;
#if !MT_TIMER_LIST
    t->link[1] = NULL;
#endif
    t->deadline = 0;
#if !MT_TIMER_LIST
    t->seq = 0;
#endif
    t->bits = MT_RUNNABLE;
    MT__LC_RESET(t);
#if MT_LC_LABELS
    t->line = 0;
#endif
#if MT_DEBUG
    t->func = t->file = NULL; /* until MT_BEGIN says */
#endif
}

/* ---- Task FIFOs through next: the run queue, wait lists, I/O waiters ---- */

static void mt__waitq_push(mt__waitq *q, mt_task *t)
{
    t->next = NULL;
    if (q->tail)
        q->tail->next = t;
    else
        q->head = t;
    q->tail = t;
}

static mt_task *mt__waitq_pop(mt__waitq *q)
{
    mt_task *t = q->head;
    if (t) {
        q->head = t->next;
        if (!q->head)
            q->tail = NULL;
        t->next = NULL;
    }
    return t;
}

/* Unlink t, which follows prev (NULL: t is the head). */
static void mt__waitq_unlink(mt__waitq *q, mt_task *prev, mt_task *t)
{
    if (prev)
        prev->next = t->next;
    else
        q->head = t->next;
    if (q->tail == t)
        q->tail = prev;
    t->next = NULL;
}

/* O(position): only timeouts and cancellations leave from the middle. */
static int mt__waitq_del(mt__waitq *q, mt_task *t)
{
    mt_task *prev = NULL, *p = q->head;

    while (p && p != t) {
        prev = p;
        p = p->next;
    }
    if (!p)
        return 0;
    mt__waitq_unlink(q, prev, t);
    return 1;
}

static void mt__rq_push(mt_sched *s, mt_task *t) { mt__waitq_push(&s->rq, t); }

static mt_time mt__clock_now(mt_sched *s);

/* The cycle's clock reading, taken when first needed: a cycle that arms and
 * fires no timer never reads the clock. */
static mt_time mt__cycle_now(mt_sched *s)
{
    if (!s->now_valid) {
        s->now = mt__clock_now(s);
        s->now_valid = 1;
    }
    return s->now;
}

/* ---- Timers ------------------------------------------------------------
 * A binary min-heap threaded through the tasks (link[] = children) so that
 * arming allocates nothing. A node's position, kept in its bits, spells the
 * path from the root (the bits below the top one: 0 left, 1 right), which
 * replaces parent pointers. Ordered by deadline, then arming order, so equal
 * deadlines fire first come, first served. */

#if !MT_TIMER_LIST
static int mt__earlier(const mt_task *a, const mt_task *b)
{
    if (a->deadline != b->deadline)
        return mt_time_before(a->deadline, b->deadline);
    return (uint32_t)(a->seq - b->seq) > 0x7fffffffu;
}

static int mt__depth_of(uint32_t p)
{
#if defined(__GNUC__)
    /* unsigned long: at least 32 bits, where int may have 16 */
    return (int)(sizeof(unsigned long) * 8 - 1) - __builtin_clzl((unsigned long)p);
#else
    int d = 0;
    while ((p >> d) > 1)
        d++;
    return d;
#endif
}

static mt_task *mt__heap_at(const mt_sched *s, uint32_t p)
{
    mt_task *n = s->heap;
    int b;
    for (b = mt__depth_of(p) - 1; b >= 0; b--)
        n = n->link[(p >> b) & 1u];
    return n;
}

/* Fill path[] with the ancestors of position p, root first; returns how
 * many (p's depth). */
static int mt__heap_path(const mt_sched *s, uint32_t p, mt_task **path)
{
    int d = mt__depth_of(p), i;
    if (d > 0)
        path[0] = s->heap;
    for (i = 1; i < d; i++)
        path[i] = path[i - 1]->link[(p >> (d - i)) & 1u];
    return d;
}

/* Child c of a takes a's place; gp is a's parent (NULL: a is the root). */
static void mt__heap_swap(mt_sched *s, mt_task *gp, mt_task *a, mt_task *c)
{
    int side = a->link[1] == c;
    mt_task *other = a->link[!side];
    uint32_t pa = MT__POS(a);

    a->link[0] = c->link[0];
    a->link[1] = c->link[1];
    c->link[side] = a;
    c->link[!side] = other;
    MT__SET_POS(a, MT__POS(c));
    MT__SET_POS(c, pa);
    if (gp)
        gp->link[gp->link[1] == a] = c;
    else
        s->heap = c;
}

/* Move t up past the ancestors in path[0..d-1] that it precedes. */
static void mt__heap_up_path(mt_sched *s, mt_task *t, mt_task **path, int d)
{
    int i;
    for (i = d - 1; i >= 0 && mt__earlier(t, path[i]); i--)
        mt__heap_swap(s, i > 0 ? path[i - 1] : NULL, path[i], t);
}

static void mt__heap_down(mt_sched *s, mt_task *t, mt_task *parent)
{
    for (;;) {
        mt_task *c = t->link[0];
        if (!c)
            return;
        if (t->link[1] && mt__earlier(t->link[1], c))
            c = t->link[1];
        if (!mt__earlier(c, t))
            return;
        mt__heap_swap(s, parent, t, c);
        parent = c;
    }
}

static void mt__heap_insert(mt_sched *s, mt_task *t)
{
    mt_task *path[32]; /* ancestors; positions fit 22 bits */
    uint32_t p = ++s->nheap;
    int d;

    t->link[0] = t->link[1] = NULL;
    MT__SET_POS(t, p);
    if (p == 1) {
        s->heap = t;
        return;
    }
    d = mt__heap_path(s, p, path);
    path[d - 1]->link[p & 1u] = t;
    mt__heap_up_path(s, t, path, d);
}

static void mt__heap_remove(mt_sched *s, mt_task *t)
{
    mt_task *last;
    uint32_t p = MT__POS(t), n = s->nheap;

    /* Detach the last node first, so that if it is t's child, t's links
     * no longer name it when they are handed over. */
    if (n == 1) {
        last = s->heap;
        s->heap = NULL;
    } else {
        mt_task *lp = mt__heap_at(s, n >> 1);
        last = lp->link[n & 1u];
        lp->link[n & 1u] = NULL;
    }
    s->nheap = n - 1;
    MT__SET_POS(t, 0);
    if (last != t) {
        mt_task *parent = p > 1 ? mt__heap_at(s, p >> 1) : NULL; /* pop: no walk */
        last->link[0] = t->link[0];
        last->link[1] = t->link[1];
        MT__SET_POS(last, p);
        if (parent)
            parent->link[parent->link[1] == t] = last;
        else
            s->heap = last;
        if (parent && mt__earlier(last, parent)) {
            mt_task *path[32];
            mt__heap_up_path(s, last, path, mt__heap_path(s, p, path));
        } else
            mt__heap_down(s, last, parent);
    }
    t->link[0] = t->link[1] = NULL;
}

#if MT_WHEEL_BITS
/* The wheel, in two levels, so that arming, cancelling and firing are O(1)
 * also for long timeouts re-armed on every request (a server's idle
 * timeouts). The first level holds the deadlines in [wbase, cbase), one
 * slot per tick (at most MT__W, cbase = wbase + wlen); the second the next
 * MT__W2 blocks of MT__W ticks from cbase, one slot per block. A slot is a
 * ring through link[] (prev, next): in the first level in arming order (one
 * deadline each), in the second in deadline then arming order, so that an
 * idle wait knows the earliest deadline exactly while the first level is
 * empty. When it is empty and the clock has reached the second level's
 * first block, that block moves down whole (the cascade): no timer of the
 * block can be in the first level before it, so each slot there gets its
 * timers in arming order. The heap holds the rest (beyond the wheel,
 * overdue, or past too many in a second-level slot); the first timer of the
 * wheel and the heap's compare by (deadline, arming), which is the order
 * timers fire in. */
#define MT__W (1u << MT_WHEEL_BITS)
#define MT__W2_ON (MT__W2_BITS > 0) /* a constant: off folds the code away */
#define MT__REACH2 ((mt_time)((mt_time)MT__W2 << MT_WHEEL_BITS))
#define MT__BIT_SET(bits, i) ((bits)[(i) >> 5] |= (uint32_t)1 << ((i) & 31))
#define MT__BIT_CLR(bits, i) ((bits)[(i) >> 5] &= ~((uint32_t)1 << ((i) & 31)))

static int mt__ctz32(uint32_t x)
{
#if defined(__GNUC__)
    return __builtin_ctzl((unsigned long)x);
#else
    int n = 0;
    while (!(x & 1u)) {
        x >>= 1;
        n++;
    }
    return n;
#endif
}

/* Put t in a ring after p. */
static void mt__ring_after(mt_task *p, mt_task *t)
{
    t->link[0] = p;
    t->link[1] = p->link[1];
    p->link[1]->link[0] = t;
    p->link[1] = t;
}

/* Append t to the ring at *head; 1 if the ring was empty. */
static int mt__ring_push(mt_task **head, mt_task *t)
{
    mt_task *h = *head;

    if (!h) {
        *head = t->link[0] = t->link[1] = t;
        return 1;
    }
    mt__ring_after(h->link[0], t);
    return 0;
}

/* Take t out of the ring at *head; 1 if the ring is empty now. */
static int mt__ring_take(mt_task **head, mt_task *t)
{
    int last = t->link[1] == t;

    if (last) {
        *head = NULL;
    } else {
        t->link[0]->link[1] = t->link[1];
        t->link[1]->link[0] = t->link[0];
        if (*head == t)
            *head = t->link[1];
    }
    t->link[0] = t->link[1] = NULL;
    return last;
}

/* Where the second level starts: the first level's range ends there. */
static mt_time mt__cbase(const mt_sched *s) { return (mt_time)(s->wbase + s->wlen); }

/* The second level's slot of deadline d, in [cbase, cbase + MT__REACH2). */
static unsigned mt__coarse_slot(const mt_sched *s, mt_time d)
{
    mt_time r = (mt_time)((mt_time)(d - mt__cbase(s)) >> MT_WHEEL_BITS);
    return (s->cslot + (unsigned)r) & (MT__W2 - 1);
}

static void mt__wheel_add(mt_sched *s, mt_task *t)
{
    unsigned i = (unsigned)(t->deadline & (MT__W - 1));

    MT__SET_POS(t, MT__POS_WHEEL);
    if (mt__ring_push(&s->wheel[i], t))
        MT__BIT_SET(s->wbits, i);
    s->nwheel++;
}

/* Where t goes in the non-empty second-level ring at head, kept sorted by
 * deadline (offset from cbase), ties in arming order: the timer it goes
 * after (the last, if t goes first: then *first is set). NULL if more
 * than MT__WALK of them come after t. */
#define MT__WALK 8
static mt_task *mt__coarse_spot(const mt_sched *s, mt_task *head, mt_time d, int *first)
{
    mt_time base = mt__cbase(s), off = (mt_time)(d - base);
    mt_task *p = head->link[0];
    int n;

    for (n = 0; (mt_time)(p->deadline - base) > off; n++) {
        if (n == MT__WALK)
            return NULL;
        if (p == head) {
            *first = 1;
            return head->link[0];
        }
        p = p->link[0];
    }
    return p;
}

/* Into the second level, each slot's ring sorted so that its first timer
 * is its earliest, which an idle wait needs before the block comes down.
 * The timers of one timeout come in deadline order and are appended; one
 * that would pass more than MT__WALK others goes to the heap: returns 0. */
static int mt__coarse_add(mt_sched *s, mt_task *t)
{
    unsigned j = mt__coarse_slot(s, t->deadline);
    mt_task *head = s->coarse[j];

    if (!head) {
        (void)mt__ring_push(&s->coarse[j], t);
        MT__BIT_SET(s->cbits, j);
    } else {
        int first = 0;
        mt_task *p = mt__coarse_spot(s, head, t->deadline, &first);
        if (!p)
            return 0;
        mt__ring_after(p, t);
        if (first)
            s->coarse[j] = t;
    }
    MT__SET_POS(t, MT__POS_COARSE);
    s->ncoarse++;
    return 1;
}

static void mt__wheel_del(mt_sched *s, mt_task *t)
{
    unsigned i = (unsigned)(t->deadline & (MT__W - 1));

    if (mt__ring_take(&s->wheel[i], t))
        MT__BIT_CLR(s->wbits, i);
    MT__SET_POS(t, 0);
    s->nwheel--;
}

/* The second level's range moves only past empty slots (or one whose
 * timers all came down), so t's deadline still tells its slot. */
static void mt__coarse_del(mt_sched *s, mt_task *t)
{
    unsigned j = mt__coarse_slot(s, t->deadline);

    if (mt__ring_take(&s->coarse[j], t))
        MT__BIT_CLR(s->cbits, j);
    MT__SET_POS(t, 0);
    s->ncoarse--;
}

/* The first timer of the first level (its earliest deadline); it has
 * some. Empty slots are skipped a bitmap word at a time; the wrap of the
 * slot index falls on a word boundary. */
static mt_task *mt__wheel_first(const mt_sched *s)
{
    unsigned k = 0;

    while (k < MT__W) {
        unsigned i = (unsigned)((s->wbase + k) & (MT__W - 1));
        uint32_t word = s->wbits[i >> 5] >> (i & 31);
        if (word)
            return s->wheel[i + (unsigned)mt__ctz32(word)];
        k += 32 - (i & 31);
    }
    return NULL;
}

/* How many blocks past cbase the first timers of the second level are
 * (it has some). Under 32 slots, the bits above the last are clear. */
static unsigned mt__coarse_next(const mt_sched *s)
{
    unsigned k = 0;

    for (;;) {
        unsigned i = (s->cslot + k) & (MT__W2 - 1);
        uint32_t word = s->cbits[i >> 5] >> (i & 31);
        if (word)
            return k + (unsigned)mt__ctz32(word);
        k += MT__W2 < 32 ? MT__W2 - i : 32 - (i & 31);
    }
}

static mt_time mt__coarse_start(const mt_sched *s, unsigned r)
{
    return (mt_time)(mt__cbase(s) + ((mt_time)r << MT_WHEEL_BITS));
}

/* Move the block r blocks past cbase down into the empty first level,
 * which then spans it; its ring, in deadline then arming order, fills
 * each slot in arming order. */
static void mt__cascade(mt_sched *s, unsigned r)
{
    unsigned j = (s->cslot + r) & (MT__W2 - 1);
    mt_task *head = s->coarse[j], *t = head;

    s->wbase = mt__coarse_start(s, r);
    s->wlen = MT__W;
    s->cslot = (j + 1) & (MT__W2 - 1);
    s->coarse[j] = NULL;
    MT__BIT_CLR(s->cbits, j);
    do {
        mt_task *next = t->link[1];
        mt__wheel_add(s, t);
        s->ncoarse--;
        t = next;
    } while (t != head);
}

/* The first level is empty and the second is not: the second's blocks
 * keep their bounds. The first non-empty one comes down if the clock has
 * reached it; else the empty ones up to now's are skipped and the first
 * level's range runs from now to the next. */
static void mt__wheel_sync(mt_sched *s, mt_time now)
{
    mt_time cbase = mt__cbase(s);

    if (!mt_time_before(now, cbase)) {
        unsigned r = mt__coarse_next(s), q;
        if (!mt_time_before(now, mt__coarse_start(s, r))) {
            mt__cascade(s, r);
            return;
        }
        q = (unsigned)((mt_time)(now - cbase) >> MT_WHEEL_BITS) + 1; /* <= r */
        cbase = mt__coarse_start(s, q);
        s->cslot = (s->cslot + q) & (MT__W2 - 1);
    }
    s->wbase = now;
    s->wlen = (mt_time)(cbase - now);
}

/* The first level is empty: its range starts at now, up to MT__W ticks,
 * or up to the second level's first block. */
static void mt__wheel_restart(mt_sched *s, mt_time now)
{
    if (s->ncoarse) {
        mt__wheel_sync(s, now);
        return;
    }
    s->wbase = now; /* both empty: afresh */
    s->wlen = MT__W;
}
#endif

static int mt__timers_full(const mt_sched *s) { return s->nheap >= MT__POS_MAX; }

#if MT_WHEEL_BITS
/* mt__timer_add's other cases: the wheel's first level empty (its range
 * starts again), t beyond that level. Out of line: the frame is theirs. */
#if defined(__GNUC__)
__attribute__((__noinline__))
#endif
static void mt__timer_place(mt_sched *s, mt_task *t)
{
    if (!s->nwheel)
        mt__wheel_restart(s, mt__cycle_now(s));
    if ((mt_time)(t->deadline - s->wbase) < s->wlen)
        mt__wheel_add(s, t);
    else if (!MT__W2_ON || (mt_time)(t->deadline - mt__cbase(s)) >= MT__REACH2 ||
             !mt__coarse_add(s, t))
        mt__heap_insert(s, t);
}
#endif

/* Arm t's timer (t->deadline and t->seq are set). */
static void mt__timer_add(mt_sched *s, mt_task *t)
{
#if MT_WHEEL_BITS
    if (s->nwheel && (mt_time)(t->deadline - s->wbase) < s->wlen)
        mt__wheel_add(s, t);
    else
        mt__timer_place(s, t);
#else
    mt__heap_insert(s, t);
#endif
}

static void mt__timer_del(mt_sched *s, mt_task *t)
{
#if MT_WHEEL_BITS
    uint32_t p = MT__POS(t);
    if (p == MT__POS_WHEEL) {
        mt__wheel_del(s, t);
        return;
    }
    if (p == MT__POS_COARSE) {
        mt__coarse_del(s, t);
        return;
    }
#endif
    mt__heap_remove(s, t);
}

#if MT_WHEEL_BITS
static mt_task *mt__timer_first(mt_sched *s);

/* mt__timer_first with the wheel's first level empty and its second not:
 * the second's first timers come down if the clock has reached their
 * block. Out of line, so that the usual case needs no frame. */
#if defined(__GNUC__)
__attribute__((__noinline__))
#endif
static mt_task *mt__timer_descend(mt_sched *s)
{
    if (!mt_time_before(mt__cycle_now(s), mt__cbase(s))) {
        mt__wheel_sync(s, s->now);
        if (s->nwheel)
            return mt__timer_first(s);
    }
    return s->heap;
}
#endif

/* The armed timer that fires first, or NULL; a timer of the wheel's second
 * level only once the clock has reached its block (then it came down). */
static mt_task *mt__timer_first(mt_sched *s)
{
    mt_task *h = s->heap;
#if MT_WHEEL_BITS
    mt_task *w;
    if (!s->nwheel)
        return s->ncoarse ? mt__timer_descend(s) : h;
    w = mt__wheel_first(s);
    if (!h || mt__earlier(w, h))
        return w;
#endif
    return h;
}

/* The armed timer that fires first, whether due or not, to take all of
 * them in order: the second level's first block comes down at once. */
static mt_task *mt__timer_any(mt_sched *s)
{
#if MT_WHEEL_BITS
    if (!s->nwheel && s->ncoarse)
        mt__cascade(s, mt__coarse_next(s));
#endif
    return mt__timer_first(s);
}

static int mt__timers_armed(const mt_sched *s)
{
#if MT_WHEEL_BITS
    return s->nwheel || s->nheap || s->ncoarse;
#else
    return s->nheap > 0;
#endif
}

/* Parked tasks without a deadline: a doubly linked list through link[]
 * (prev, next), so that leaving it is O(1) and the scheduler can still
 * find every parked task (merge, diagnostics). */
static void mt__ever_add(mt_sched *s, mt_task *t)
{
    t->link[0] = NULL;
    t->link[1] = s->forever;
    if (s->forever)
        s->forever->link[0] = t;
    s->forever = t;
}

static void mt__ever_del(mt_sched *s, mt_task *t)
{
    if (t->link[0])
        t->link[0]->link[1] = t->link[1];
    else
        s->forever = t->link[1];
    if (t->link[1])
        t->link[1]->link[0] = t->link[0];
    t->link[0] = t->link[1] = NULL;
}
#else /* MT_TIMER_LIST */

/* One list sorted by deadline (FIFO among equals) through link[0]: O(n)
 * arming and cancelling, the smallest code and task header, for targets
 * with a few tasks. Parked tasks without a deadline are in a second list. */
static void mt__list_del(mt_task **head, mt_task *t)
{
    mt_task **pp = head;
    while (*pp != t)
        pp = &(*pp)->link[0];
    *pp = t->link[0];
    t->link[0] = NULL;
}

static int mt__timers_full(const mt_sched *s) { return s->nheap >= MT__POS_MAX; }

static void mt__timer_add(mt_sched *s, mt_task *t)
{
    mt_task **pp = &s->heap;
    while (*pp && !mt_time_before(t->deadline, (*pp)->deadline))
        pp = &(*pp)->link[0];
    t->link[0] = *pp;
    *pp = t;
    MT__SET_POS(t, 1);
    s->nheap++;
}

static void mt__timer_del(mt_sched *s, mt_task *t)
{
    mt__list_del(&s->heap, t);
    MT__SET_POS(t, 0);
    s->nheap--;
}

static mt_task *mt__timer_first(mt_sched *s) { return s->heap; }

static mt_task *mt__timer_any(mt_sched *s) { return s->heap; }

static int mt__timers_armed(const mt_sched *s) { return s->heap != NULL; }

static void mt__ever_add(mt_sched *s, mt_task *t)
{
    t->link[0] = s->forever;
    s->forever = t;
}

static void mt__ever_del(mt_sched *s, mt_task *t) { mt__list_del(&s->forever, t); }
#endif /* MT_TIMER_LIST */

/* A wait of `timeout` ticks (MT_FOREVER: no limit), cut to end at d. */
static long mt__wait_until(mt_sched *s, long timeout, mt_time d)
{
    mt_time now = mt__cycle_now(s);
    long left = mt_time_before(now, d) ? (long)(mt_time)(d - now) : 0;
    return timeout < 0 || left < timeout ? left : timeout;
}

#if MT_WHEEL_BITS
/* The second level holds the wheel's first timers, and their block has not
 * begun: the first of its first slot is their earliest. */
#if defined(__GNUC__)
__attribute__((__noinline__))
#endif
static long mt__coarse_wait(mt_sched *s, long timeout)
{
    mt_task *t = s->coarse[(s->cslot + mt__coarse_next(s)) & (MT__W2 - 1)];
    return mt__wait_until(s, timeout, t->deadline);
}
#endif

static void mt__arm(mt_sched *s, mt_task *t, long timeout)
{
    t->deadline = (mt_time)(mt__cycle_now(s) + (mt_time)timeout);
#if !MT_TIMER_LIST
    t->seq = s->seq++;
#endif
    mt__timer_add(s, t);
}

/* Park a running task in state st, waiting on obj, until woken or
 * `timeout` expires. */
static MT__HOT void mt__park(mt_sched *s, mt_task *t, int st, void *obj, long timeout)
{
    MT__SET_ST(t, st);
    mt__out_waits_on(t, obj);
    if (timeout < 0) {
        MT__SET_POS(t, 0);
        mt__ever_add(s, t);
    } else {
        mt__arm(s, t, timeout);
    }
}

/* Take a parked task off its timer, or the forever list. */
static void mt__unpark_timer(mt_sched *s, mt_task *t)
{
    if (MT__POS(t))
        mt__timer_del(s, t);
    else
        mt__ever_del(s, t);
}

#if MT_IO
static void mt__io_del(mt_sched *s, mt_task *t); /* the backend's (I/O) */
#endif
/* t is being cancelled: the children of its open groups first. */
static void mt__cancel_groups(mt_task *t)
{
    mt_group *g;
    MT__FOR_GROUPS(g, t)
        MT__GOP(g, mt__group_cancel, cancel)(g);
}

/* A timer or a cancel passes to the child t awaits, or the group it joins. */
static void mt__cancel_kids(mt_task *t)
{
    if (MT__ST(t) == MT__S_CHILD)
        (void)mt_cancel((mt_task *)t->w.obj);
    else
        MT__GOP((mt_group *)t->w.obj, mt__group_cancel, cancel)((mt_group *)t->w.obj);
}

/* MT_CHOOSE's stand-ins (see "Waiting for the first of several") act
 * through their fn, so that a program without MT_CHOOSE links none of it:
 * a node fires its clause (ready, err: what its object handed over), and
 * given the waiting task, it withdraws them all. */
static void mt__node_fire(mt_task *node, int ready, int err)
{
    ((mt_clause *)(void *)node)->ready = (unsigned char)ready;
    mt__out_code(node, err);
    (void)node->fn(node);
}

/* Take a parked task off the object it waits on (not its timer). */
static void mt__withdraw(mt_sched *s, mt_task *t)
{
    unsigned how = MT__HOW(t);

    if (MT__ST(t) == MT__S_CHOOSE)
        (void)((mt_clause *)t->w.obj)->node.fn(t);
    if (how & MT__K_LIST)
        (void)mt__waitq_del((mt__waitq *)t->w.obj, t);
#if MT_IO
    if (how & MT__K_FD)
        mt__io_del(s, t);
#else
    (void)s;
#endif
}

static void mt__unpark(mt_sched *s, mt_task *t)
{
    mt__withdraw(s, t);
    mt__unpark_timer(s, t);
}

/* A wait completed (err 0) or failed: t runs in the next cycle. */
static void mt__wake(mt_sched *s, mt_task *t, int err)
{
    mt__out_woken(t, err);
    MT__SET_ST(t, MT__S_WOKEN);
    mt__rq_push(s, t);
}

/* t's timer fired (it is off the timers already). Returns 1 if it was
 * not failed: ready by its deadline, its operation tries first. */
static int mt__fire(mt_sched *s, mt_task *t)
{
    unsigned how = MT__HOW(t);

    if (how & MT__K_SLEEP) {
        mt__wake(s, t, 0);
    } else if (how & MT__K_CHILD) { /* it resumes once the child (the */
        if (MT__ST(t) == MT__S_JOIN) {
            mt_group *g = (mt_group *)t->w.obj;
            if (g->want && g->done >= g->want) { /* won: the deadline is void */
                mt__ever_add(s, t);
                return 0;
            }
            g->saw = 0; /* only that cancellation counts */
        }
        mt__out_verdict(t, MT_ETIMEDOUT); /* group's children) ended */
        mt__ever_add(s, t);
        mt__cancel_kids(t);
    } else if (how & MT__K_PARKED) {
        mt__withdraw(s, t);
        mt__wake(s, t, MT_ETIMEDOUT);
    } else if (how & MT__K_TRIES) { /* woken by its descriptor: ready, it */
        return !t->err;              /* tries first; failed, that stands */
    } else { /* in the run queue already: it resumes with the timeout */
        (void)mt__out_set(t, MT_ETIMEDOUT, NULL);
    }
    return 0;
}

/* Fire every timer due at the cycle's time. A descriptor found ready by
 * its deadline is not failed: its operation tries first, and fails with
 * MT_ETIMEDOUT only if it would wait again (mt__io_park), so data that
 * came in time is taken. Its timer goes back, still due, for that. */
static void mt__expire(mt_sched *s)
{
    mt_task *t, *tries = NULL;

    if (!mt__timers_armed(s))
        return;
    while ((t = mt__timer_first(s)) != NULL &&
           !mt_time_before(mt__cycle_now(s), t->deadline)) {
        mt__timer_del(s, t);
        if (mt__fire(s, t)) {
            t->link[0] = tries;
            tries = t;
        }
    }
    while ((t = tries) != NULL) {
        tries = t->link[0];
        mt__timer_add(s, t);
    }
}

/* How long a cycle may block: `timeout` (MT_FOREVER: no limit), cut to the
 * earliest deadline; 0 while a task is runnable. Inline: once in each
 * cycle, where gcc would otherwise call a split-off part of it. */
static inline long mt__next_wait(mt_sched *s, long timeout)
{
    mt_task *t;

    if (s->rq.head || timeout == 0)
        return 0;
    if ((t = mt__timer_first(s)) != NULL)
        timeout = mt__wait_until(s, timeout, t->deadline);
#if MT_WHEEL_BITS
    if (!s->nwheel && s->ncoarse)
        timeout = mt__coarse_wait(s, timeout);
#endif
#if MT_THREADS
    if (s->roomq.head && (timeout < 0 || timeout > 1))
        timeout = 1; /* producers waiting for room try again each tick */
#endif
    return timeout;
}

/* ---- Waits ----------------------------------------------------------------
 * Each wait macro calls a starter: it either finishes the wait now (MT__GO,
 * the result in t->err), parks the task (MT__WAITING, MT__POLL), or ends
 * the task (MT__FAILED). */

static MT__HOT mt_task *mt__resume(mt_sched *s, mt_task *t); /* the cycle's */

/* Checks every wait makes first. Returns MT__PROCEED to go on, else the
 * status for the macro to return (MT__GO with the error in t->err, or
 * MT__FAILED). */
static int mt__wait_flagged(mt_task *t, long timeout);

static int mt__wait_begin(mt_task *t, long timeout)
{
    if (t->bits & (MT__F_FINAL | MT__F_CANCEL | MT__F_SHIELD))
        return mt__wait_flagged(t, timeout); /* rare: out of the way */
    if (timeout < MT_FOREVER || timeout > MT_TIMEOUT_MAX)
        return mt__out_set(t, MT_EINVAL, MT__M("timeout out of range"));
    (void)mt__out_set(t, 0, NULL);
    return MT__PROCEED;
}

/* mt__wait_begin for a task in its finally section, cancelled, or in
 * MT_SHIELD's wait. */
#if defined(__GNUC__)
__attribute__((__noinline__, __cold__))
#endif
static int mt__wait_flagged(mt_task *t, long timeout)
{
    if (t->bits & MT__F_FINAL)
        return MT__FAILED; /* a wait ends a finally section; t keeps its result */
    if (MT__DOOMED(t))
        return mt__out_cancelled(t); /* caught once already: end now */
    if (timeout < MT_FOREVER || timeout > MT_TIMEOUT_MAX)
        return mt__out_set(t, MT_EINVAL, MT__M("timeout out of range"));
    if (timeout < 0 && (t->bits & MT__F_SHIELD))
        return mt__out_set(t, MT_EINVAL, MT__SHIELD_FOREVER);
    if (t->bits & MT__F_CANCEL)
        t->bits |= MT__SAW; /* a shielded wait of a cancelled task */
    (void)mt__out_set(t, 0, NULL);
    return MT__PROCEED;
}

MT_API int mt__await(mt_task *t, mt_task *c, mt_fn fn, long timeout)
{
    mt_sched *s;
    int r = mt__wait_begin(t, timeout);

    if (r != MT__PROCEED)
        return r;
    if (!c || !fn || c == t)
        return mt__out_set(t, MT_EINVAL, MT__M("MT_AWAIT: NULL child or function"));
    s = mt__sched_of(t);
    if (MT__LIVE(c) || c == s->finishing) {
        MT__MISUSE("MT_AWAIT of a frame whose task is live");
        return mt__out_set(t, MT_EBUSY, NULL);
    }
    if (timeout >= 0 && mt__timers_full(s))
        return mt__out_set(t, MT_ENOMEM, MT__M("too many timers"));
    mt__init_task(c, fn);
    c->up.parent = t;
    s->live++;
    if (mt__resume(s, c)) {
        /* The child ended at once; its result is in t, unless it cancelled
         * t meanwhile: then t resumes at this wait cancelled. */
        if (MT__DOOMED(t))
            (void)mt__out_set(t, MT_ECANCELED, NULL);
        return MT__GO;
    }
    mt__park(s, t, MT__S_CHILD, c, timeout);
    if (MT__DOOMED(t)) { /* cancelled during the child's first run */
        mt__out_verdict(t, MT_ECANCELED);
        (void)mt_cancel(c);
    }
    return MT__WAITING;
}

MT_API int mt__poll_begin(mt_task *t, long timeout)
{
    int r = mt__wait_begin(t, timeout);

    if (r != MT__PROCEED)
        return r;
    if (timeout == 0)
        return mt__out_set(t, MT_ETIMEDOUT, NULL);
    MT__SET_POS(t, 0);
    if (timeout > 0) {
        mt_sched *s = mt__sched_of(t);
        if (mt__timers_full(s))
            return mt__out_set(t, MT_ENOMEM, MT__M("too many timers"));
        mt__arm(s, t, timeout);
    }
    return MT__POLL;
}

/* MT_WAIT_UNTIL's condition held at once: no wait, but a cancelled task
 * still ends here, and a bad timeout is refused, as at any wait. */
MT_API int mt__cond_met(mt_task *t, long timeout)
{
    if (MT__DOOMED(t))
        return mt__out_cancelled(t);
    if (timeout < MT_FOREVER || timeout > MT_TIMEOUT_MAX)
        return mt__out_set(t, MT_EINVAL, MT__M("timeout out of range"));
    if (timeout < 0 && (t->bits & MT__F_SHIELD))
        return mt__out_set(t, MT_EINVAL, MT__SHIELD_FOREVER);
    mt__out_yielded(t); /* no wait: w keeps what the last one left */
    return MT__GO;
}

/* A condition or descriptor wait is over before its timer fired. */
MT_API void mt__wait_end(mt_task *t)
{
    if (MT__POS(t))
        mt__timer_del(mt__sched_of(t), t);
}

MT_API int mt__sleep(mt_task *t, long ms)
{
    int r = mt__wait_begin(t, ms < 0 ? 0 : ms);

    if (r != MT__PROCEED)
        return r;
    if (ms < 0)
        return mt__out_set(t, MT_EINVAL, MT__M("negative sleep"));
    if (ms == 0)
        return MT__YIELDED;
    {
        mt_sched *s = mt__sched_of(t);
        if (mt__timers_full(s))
            return mt__out_set(t, MT_ENOMEM, MT__M("too many timers"));
        mt__park(s, t, MT__S_SLEEP, NULL, ms);
    }
    return MT__WAITING;
}

MT_API mt_time mt_deadline(mt_task *t, long timeout)
{
    mt_sched *s = mt__sched_of(t);
    return (mt_time)(mt__cycle_now(s) + (mt_time)(timeout > 0 ? timeout : 0));
}

MT_API long mt_until(mt_task *t, mt_time deadline)
{
    mt_time now = mt__cycle_now(mt__sched_of(t)), left;

    if (!mt_time_before(now, deadline))
        return 0;
    left = (mt_time)(deadline - now);
    return left > (mt_time)MT_TIMEOUT_MAX ? MT_TIMEOUT_MAX : (long)left;
}

/* ---- Task endings ---------------------------------------------------------- */

static void mt__note_failure(mt_task *t, const char *func)
{
    if (!(t->bits & MT__F_FINAL) && !mt__parent_of(t))
        mt__sched_of(t)->fail_name = func;
}

MT_API int mt__raise(mt_task *t, int code, const char *msg, const char *func)
{
    if (code >= 0 || code < INT16_MIN) {
        code = MT_EINVAL;
        msg = MT__M("MT_RAISE with a code that is not a negative int16_t");
    }
    (void)mt__out_set(t, code, msg);
    mt__note_failure(t, func);
    return MT__FAILED;
}

#if MT_ASSERT
/* Only the scheduler calls a task function, and it says which: the task
 * it resumes or asks (s->current), or the one whose finally section runs
 * (s->finishing). Plain code calling one directly would wait on nothing. */
MT_API void mt__enter(mt_task *t)
{
    const mt_task *r = t;
    while (r && !(r->bits & MT__F_ROOT))
        r = r->up.parent;
    if (!r || (r->up.sched->current != t &&
               !((t->bits & MT__F_FINAL) && r->up.sched->finishing == t)))
        MT__MISUSE("a task function called outside its scheduler (a wait outside a task)");
}
#endif

MT_API int mt__lost(mt_task *t, const char *func)
{
    if (t->bits & MT__F_FINAL)
        return MT__DONE; /* a finally pass with no finally section */
    MT__MISUSE("resume point not found (a wait inside a switch statement?)");
    mt__note_failure(t, func);
    (void)mt__out_set(t, MT_EINVAL, MT__M("resume point not found (a wait inside a switch statement?)"));
    return MT__FAILED;
}

MT_API int mt__caught(mt_task *t, const char *func)
{
    if (t->bits & MT__F_CATCH)
        return 1;
    mt__note_failure(t, func);
    return 0;
}

static void mt__report(mt_sched *s, mt_task *t)
{
    const char *name = s->fail_name ? s->fail_name : "(unnamed)";
    if (s->report) {
        s->report(t, name, s->report_arg);
        return;
    }
#if MT_POSIX && !MT_NO_STDIO /* bare metal: only through a hook, so that */
    fprintf(stderr, "multitask: task %s failed: %s (%s)\n", name, /* no */
            mt_errmsg(t), mt_errname(t->err)); /* program links stdio unasked */
#else
    (void)name;
#endif
}

static const char *mt__name_of(mt_sched *s, mt_task *t);


/* Hand a child's ending to its parent. A cancel of the parent wins over
 * the child's outcome. So does the parent's timeout, unless the child
 * never saw the cancellation it brought (`seen`: no wait of the child's
 * ended MT_ECANCELED): a child that completed by the deadline, done or
 * failed, reports that, as asyncio's wait_for does. */
static void mt__deliver(mt_sched *s, mt_task *p, int code, const char *msg, int seen)
{
    if (MT__ST(p) == MT__S_CHILD) /* else it runs: the child ended inline */
        mt__unpark(s, p);
    if (p->err == MT_ETIMEDOUT && !seen && code != MT_ECANCELED &&
        !(p->bits & MT__F_CANCEL))
        mt__out_arrive(p, code, msg, 1);
    else
        mt__out_arrive(p, code, msg, 0);
}

/* Task t returned ending status r: settle its state, report an unhandled
 * error of a top-level task, run its finally section, then hand the result
 * to its parent. Returns the parent (to resume), or NULL. */
#if defined(__GNUC__)
__attribute__((__noinline__)) /* cold: keeps mt__resume's frame small */
#endif
static mt_task *mt__finish(mt_sched *s, mt_task *t, int r)
{
    mt_task *p = (t->bits & MT__F_ROOT) ? NULL : t->up.parent;
    mt_group *g = p && mt__is_group(p) ? MT__GROUP_OF(p) : NULL; /* t's */
    int code = 0, seen;
    const char *msg = NULL;

    if (g && g->owner == t) { /* t owns open groups: they end first */
        if (MT__GOP(g, mt__groups_end, end)(s, t, &r))
            return NULL; /* it waits for their children */
        p = mt__parent_of(t);
        g = p && mt__is_group(p) ? MT__GROUP_OF(p) : NULL;
    }
    if ((t->bits & MT__F_CANCEL) && (t->bits & MT__SAW)) {
        r = MT__FAILED; /* it saw its cancellation: whatever it did then, */
        (void)mt__out_set(t, MT_ECANCELED, NULL); /* it ends cancelled */
    }
    seen = (t->bits & MT__SAW) != 0; /* see deliver and the join's verdict */
    s->finishing = t; /* not to be reused before its finally pass */
    if (r == MT__FAILED) {
        code = t->err ? t->err : (int)MT_EFAIL;
        msg = t->w.msg;
        (void)mt__out_set(t, code, msg);
        MT__SET_ST(t, code == MT_ECANCELED ? MT_CANCELLED : MT_FAILED);
        if (!p && code != MT_ECANCELED) {
            s->failed++;
            mt__report(s, t);
        } else if (g && code != MT_ECANCELED) {
            MT__GOP(g, mt__group_failed_child, failed)(s, g, t, code, msg);
        }
    } else {
        (void)mt__out_set(t, 0, NULL);
        MT__SET_ST(t, MT_DONE);
    }
    s->fail_name = NULL;
    s->live--;
    if (r != MT__DONE) {
        /* s->current stays the outer task: the section may free t, and a
         * dump from it must not walk t (mt__enter knows it by finishing). */
        t->bits |= MT__F_FINAL;
        MT__LC_TO_FINAL(t);
        if (t->fn(t) != MT__DONE) /* t may be freed from here on */
            MT__MISUSE("a wait, MT_EXIT or MT_RAISE inside MT_FINALLY (the rest of the section was skipped)");
    }
    s->finishing = NULL;
    if (g)
        return MT__GOP(g, mt__group_left, left)(s, g, t, code, seen);
    if (p)
        mt__deliver(s, p, code, msg, seen && p->err);
    return p;
}

/* mt__finish's common case, in short: a top-level task (no parent, no
 * group) that ended normally without a finally section, no cancel to
 * weigh. */
static int mt__ends_plain(const mt_task *t, int r)
{
    return r == MT__DONE && (t->bits & (MT__F_ROOT | MT__F_CANCEL)) == MT__F_ROOT;
}

static void mt__end_plain(mt_sched *s, mt_task *t)
{
    (void)mt__out_set(t, 0, NULL);
    MT__SET_ST(t, MT_DONE);
    s->fail_name = NULL;
    s->live--;
}

/* ---- Task groups -------------------------------------------------------------
 * A group opens at its first MT_SPAWN: its node goes into the owner's
 * chain (see "Group nodes in the chain"). Children sit in slots[lo, hi) in
 * the order they started, a slot NULL once its child ended: an ending
 * child is looked up from lo, so children that end in the order they
 * started cost O(1), others up to O(hi - lo). A spawn appends at hi, and
 * packs the live ones to the front when it reaches the end. A join, or
 * the owner's end, closes the group once no child is live: the node
 * leaves the chain. Cancelling the group cancels
 * each child (none ends inside mt_cancel, so the slots stay put) and
 * refuses new ones until it closes. */

/* 0..65535 (a long parameter: no "always true" where int is 16 bits). */
static int mt__fits_u16(long v) { return v >= 0 && v <= 0xFFFFL; }

MT_API int mt_group_init(mt_group *g, mt_task **slots, int cap)
{
    if (!g || !slots || cap < 1 || !mt__fits_u16(cap))
        return MT_EINVAL;
    if (g->owner && g->live)
        return MT_EBUSY;
    g->slots = slots;
    g->cap = (unsigned short)cap;
    return 0;
}

#if !MT_POSIX /* hosted, no pointers to them: the compiler inlines them */
static const struct mt__gops mt__group_ops = {mt__groups_end, mt__group_failed_child,
                                              mt__group_left, mt__group_cancel};
#endif

static void mt__group_open(mt_group *g, mt_task *t)
{
#if !MT_POSIX
    g->ops = &mt__group_ops;
#endif
    g->owner = t;
    g->first = g->failed = NULL;
    g->msg = NULL;
    g->live = g->lo = g->hi = g->done = g->want = g->lost = 0;
    g->err = 0;
    g->cancelling = g->saw = 0;
    g->node.bits = (mt__bits)(MT__S_GROUP | (t->bits & MT__F_ROOT));
    g->node.up = t->up;
    t->bits &= (mt__bits)~MT__F_ROOT;
    t->up.parent = &g->node;
}

static void mt__group_close(mt_group *g)
{
    mt_task *u = g->owner; /* the one before the node in the chain */

    while (u->up.parent != &g->node)
        u = u->up.parent;
    u->up = g->node.up;
    u->bits |= (mt__bits)(g->node.bits & MT__F_ROOT);
    g->owner = NULL;
    g->cancelling = 0;
}

static void mt__group_cancel(mt_group *g)
{
    unsigned i;

    g->cancelling = 1;
    for (i = g->lo; i < g->hi; i++)
        if (g->slots[i])
            (void)mt_cancel(g->slots[i]);
}

static int mt__groups_busy(const mt_task *t)
{
    mt_group *g;
    MT__FOR_GROUPS(g, t)
        if (g->live)
            return 1;
    return 0;
}

/* A free slot at hi, packing the live children to the front if need be. */
static int mt__group_room(mt_group *g)
{
    unsigned i, n = 0;

    if (g->hi < g->cap)
        return 1;
    for (i = g->lo; i < g->hi; i++)
        if (g->slots[i])
            g->slots[n++] = g->slots[i];
    g->lo = 0;
    g->hi = (unsigned short)n;
    return n < g->cap;
}

MT_API void mt__spawn(mt_task *t, mt_group *g, mt_task *c, mt_fn fn)
{
    mt_sched *s = mt__sched_of(t);

    if (!c || !fn || c == t || !g || (t->bits & MT__F_FINAL) ||
        (g->owner != t && (!g->slots || c == g->owner ||
                           (g->owner && mt__sched_of(g->owner) != s)))) {
        if (t->bits & MT__F_FINAL)
            MT__MISUSE("MT_SPAWN inside MT_FINALLY");
        (void)mt__out_set(t, MT_EINVAL, MT__M("MT_SPAWN: bad group, child or function"));
    } else if (MT__LIVE(c) || c == s->finishing) {
        MT__MISUSE("MT_SPAWN of a frame whose task is live");
        (void)mt__out_set(t, MT_EBUSY, NULL);
    } else if (g->owner && g->cancelling) {
        (void)mt__out_set(t, MT_ECANCELED, MT__M("MT_SPAWN: the group is cancelling"));
    } else if (g->owner && !mt__group_room(g)) {
        (void)mt__out_set(t, MT_ENOMEM, MT__M("MT_SPAWN: the group's slots are full"));
    } else {
        if (!g->owner)
            mt__group_open(g, t);
        mt__init_task(c, fn);
        c->up.parent = &g->node;
        g->slots[g->hi++] = c;
        g->live++;
        s->live++;
        mt__rq_push(s, c);
        (void)mt__out_set(t, 0, NULL);
    }
}

/* The join's verdict: its cancel stands; else the group's error; else its
 * timeout, unless it came late: the n winners were in (MT_JOIN_FIRST), or
 * no child saw the cancellation it brought (all completed by the deadline,
 * as MT_AWAIT's child may); else success. */
static int mt__group_verdict(mt_task *t, mt_group *g)
{
    int late = !(t->bits & MT__F_CANCEL) && (g->err || !g->saw);
    mt__out_arrive(t, g->err, g->msg, late);
    return MT__GO;
}

MT_API int mt__join(mt_task *t, mt_group *g, int n, long timeout)
{
    mt_sched *s;
    int r = mt__wait_begin(t, timeout);

    if (r != MT__PROCEED)
        return r;
    if (!g || !mt__fits_u16(n) || (g->owner && g->owner != t))
        return mt__out_set(t, MT_EINVAL, MT__M("MT_JOIN: bad group or count, or not its owner"));
    if (!g->owner)
        return MT__GO; /* never opened, or joined already */
    g->want = (unsigned short)n;
    if (n && g->done >= (unsigned)n && !g->cancelling)
        mt__group_cancel(g);
    if (!g->live) {
        mt__group_close(g);
        return mt__group_verdict(t, g);
    }
    s = mt__sched_of(t);
    if (timeout >= 0 && mt__timers_full(s))
        return mt__out_set(t, MT_ENOMEM, MT__M("too many timers"));
    mt__park(s, t, MT__S_JOIN, g, timeout);
    return MT__WAITING;
}

/* t ended (status *r) with groups open. Those with live children are
 * cancelled and t waits for them, CLOSING (in the forever list, its
 * outcome in err and w.msg): returns 1. Else they close now, and an error
 * no join raised becomes t's if t ended without one: returns 0. */
static int mt__groups_end(mt_sched *s, mt_task *t, int *r)
{
    mt_group *g;
    int busy = 0;

    MT__FOR_GROUPS(g, t)
        busy |= g->live != 0;
    if (busy) {
        MT__FOR_GROUPS(g, t)
            mt__group_cancel(g); /* idle ones too: they take no more */
        if (*r != MT__FAILED)
            (void)mt__out_set(t, 0, NULL);
        else if (!t->err)
            (void)mt__out_set(t, MT_EFAIL, NULL);
        s->fail_name = NULL; /* asked again when it ends */
        MT__SET_ST(t, MT__S_CLOSING);
        mt__ever_add(s, t);
        return 1;
    }
    while ((g = mt__group_after(t, t)) != NULL) {
        if (g->err && *r != MT__FAILED) {
            *r = MT__FAILED;
            (void)mt__out_set(t, g->err, g->msg);
        } else if (g->err && g->lost < 0xFFFF) {
            g->lost++; /* t's own error stands */
        }
        mt__group_close(g);
    }
    if (*r == MT__FAILED && (t->bits & MT__F_ROOT) && !s->fail_name)
        s->fail_name = mt__name_of(s, t); /* the report names it */
    return 0;
}

/* Child c of g failed with `code` (not MT_ECANCELED), before its finally
 * section: the first failure cancels the siblings and is raised at the
 * join; later ones are reported and counted. */
static void mt__group_failed_child(mt_sched *s, mt_group *g, mt_task *c, int code,
                                   const char *msg)
{
    if (!g->err) {
        g->err = (int16_t)code;
        g->msg = msg;
        g->failed = c;
        mt__group_cancel(g);
        return;
    }
    if (g->lost < 0xFFFF)
        g->lost++;
    s->fail_name = mt__name_of(s, c);
    mt__report(s, c);
}

/* The last child of g has ended: an owner that joins g resumes (returned),
 * one that waits to end ends when its other groups are idle too. */
#if defined(__GNUC__)
__attribute__((__noinline__)) /* keeps mt__group_left small: inlined */
#endif
static mt_task *mt__group_idle(mt_sched *s, mt_group *g)
{
    mt_task *o = g->owner;

    if (MT__ST(o) == MT__S_JOIN && o->w.obj == g) {
        mt__unpark_timer(s, o);
        mt__group_close(g);
        (void)mt__group_verdict(o, g);
        return o;
    }
    if (MT__ST(o) == MT__S_CLOSING && !mt__groups_busy(o)) {
        mt__ever_del(s, o);
        return mt__finish(s, o, o->err ? MT__FAILED : MT__FINISH);
    }
    return NULL;
}

/* Child c of g ended (code: its error, 0 if it completed) and its finally
 * pass ran. Returns the task to resume next, as an awaited child's end
 * does: the owner when its join is over, or the owner's parent when the
 * owner was waiting to end and now has. */
static mt_task *mt__group_left(mt_sched *s, mt_group *g, mt_task *c, int code, int saw)
{
    unsigned i = g->lo;

    if (g->slots[i] == c) { /* the oldest: the usual order */
        g->lo++;
    } else {
        while (i + 1u < g->hi && g->slots[i] != c)
            i++;
        g->slots[i] = NULL;
    }
    g->saw |= (unsigned char)saw;
    while (g->lo < g->hi && !g->slots[g->lo])
        g->lo++;
    if (!code) {
        if (!g->first)
            g->first = c;
        if (g->done < 0xFFFF)
            g->done++;
        if (g->want && g->done >= g->want && !g->cancelling)
            mt__group_cancel(g);
    }
    return --g->live ? NULL : mt__group_idle(s, g);
}

MT_API mt_task *mt_group_first(const mt_group *g) { return g ? g->first : NULL; }
MT_API mt_task *mt_group_failed(const mt_group *g) { return g ? g->failed : NULL; }
MT_API int mt_group_lost(const mt_group *g) { return g ? g->lost : 0; }
MT_API int mt_group_live(const mt_group *g) { return g && g->owner ? g->live : 0; }

/* ---- Queues, events, semaphores ------------------------------------------
 * A waker hands over what the waiter waited for before waking it: a put
 * stores the item and promises it to the first getter (held), a get frees a
 * slot and promises it to the first putter (freed), a signal keeps no unit.
 * Newcomers see only what is not promised, so waiters are served in order
 * and a woken task always finds its share when it resumes. */

/* Item copies. Hosted: memcpy, with the common small sizes spelled out so
 * the compiler moves them inline. Freestanding: <string.h> is not among
 * the headers such a build has, and items are small: a byte loop. */
static void mt__copy(void *dst, const void *src, size_t n)
{
#if __STDC_HOSTED__
    switch (n) {
    case 4:
        memcpy(dst, src, 4);
        return;
    case 8:
        memcpy(dst, src, 8);
        return;
    default:
        memcpy(dst, src, n);
        return;
    }
#else
    unsigned char *d = (unsigned char *)dst;
    const unsigned char *from = (const unsigned char *)src;
    while (n--)
        *d++ = *from++;
#endif
}

/* Wake the first task of a wait list: it resumes in its own scheduler. An
 * MT_CHOOSE stand-in fires its clause instead. */
static MT__HOT int mt__wake_first(mt__waitq *q)
{
    mt_task *t = mt__waitq_pop(q);
    mt_sched *s;

    if (!t)
        return 0;
    s = mt__sched_of(t);
    if (MT__ST(t) >= MT__S_CL_QGET) {
        mt__node_fire(t, 0, 0);
        return 1;
    }
    mt__unpark_timer(s, t);
    mt__wake(s, t, 0);
    return 1;
}

/* Park t on wait list q in state st. Returns the status for the macro. */
static int mt__park_on(mt_task *t, mt__waitq *q, int st, long timeout)
{
    mt_sched *s;

    if (timeout == 0)
        return mt__out_set(t, MT_ETIMEDOUT, NULL);
    s = mt__sched_of(t);
    if (timeout > 0 && mt__timers_full(s))
        return mt__out_set(t, MT_ENOMEM, MT__M("too many timers"));
    mt__waitq_push(q, t);
    mt__park(s, t, st, q, timeout);
    return MT__WAITING;
}

static int mt__queue_has_item(const mt_queue *q) { return q->len > q->held; }

static int mt__queue_has_room(const mt_queue *q)
{
    return q->unbounded || q->cap - q->len > q->freed;
}

static size_t mt__ring(const mt_queue *q, size_t i)
{
    i += q->head;
    return i >= q->cap ? i - q->cap : i;
}

/* Copy out the first item not promised to a woken getter (the promised
 * ones are the oldest, so a woken getter, with skip 0, takes the head).
 * The promised items then move up one slot to keep the ring whole. Then
 * promise the freed slot to a putter. */
static void mt__queue_take(mt_queue *q, void *item, size_t skip)
{
    size_t i;

    mt__copy(item, q->buf + mt__ring(q, skip) * q->size, q->size);
    for (i = skip; i > 0; i--)
        mt__copy(q->buf + mt__ring(q, i) * q->size, q->buf + mt__ring(q, i - 1) * q->size,
               q->size);
    q->head = mt__ring(q, 1);
    q->len--;
    if (!q->unbounded && q->putters.head) {
        q->freed++;
        (void)mt__wake_first(&q->putters);
    }
}

static int mt__queue_grow(mt_queue *q)
{
#if MT_NO_HEAP
    (void)q;
    return MT_ENOTSUP;
#else
    size_t cap = q->cap ? q->cap * 2 : 8;
    unsigned char *buf;

    if (cap < q->cap || cap > (size_t)PTRDIFF_MAX / q->size)
        return MT_ENOMEM;
    buf = (unsigned char *)MT_REALLOC(q->buf, cap * q->size);
    if (!buf)
        return MT_ENOMEM;
    /* Unwrap the ring: the items before head move just past the old end,
     * which fits, since the capacity at least doubled. */
    if (q->head + q->len > q->cap)
        mt__copy(buf + q->cap * q->size, buf,
               (q->head + q->len - q->cap) * q->size);
    q->buf = buf;
    q->cap = cap;
    return 0;
#endif
}

/* Copy in an item (there is room, or the queue can grow), then promise it
 * to a getter. */
static int mt__queue_store(mt_queue *q, const void *item)
{
    if (q->len == q->cap) {
        int r = mt__queue_grow(q);
        if (r)
            return r;
    }
    mt__copy(q->buf + mt__ring(q, q->len) * q->size, item, q->size);
    q->len++;
    if (q->getters.head) {
        q->held++;
        (void)mt__wake_first(&q->getters);
    }
    return 0;
}

MT_API int mt_queue_init(mt_queue *q, void *storage, size_t item_size,
                  size_t capacity, const void *contents, size_t count)
{
    size_t i;

    if (!q || !item_size || (!storage) != (!capacity) || item_size > PTRDIFF_MAX ||
        (capacity && capacity > (size_t)PTRDIFF_MAX / item_size) || /* no object is larger */
        (count && !contents) || (capacity && count > capacity))
        return MT_EINVAL;
    {
        MT__ZERO(mt_queue, empty); /* cppcheck-suppress unassignedVariable */
        *q = empty;
    }
    q->buf = (unsigned char *)storage;
    q->size = item_size;
    q->cap = capacity;
    q->unbounded = !capacity;
#if MT_NO_HEAP
    if (q->unbounded)
        return MT_ENOTSUP;
#endif
    for (i = 0; i < count; i++) {
        int r = mt__queue_store(q, (const unsigned char *)contents + i * item_size);
        if (r) {
            (void)mt_queue_free(q);
            return r;
        }
    }
    return 0;
}

MT_API int mt_queue_free(mt_queue *q)
{
    if (!q)
        return MT_EINVAL;
    if (q->getters.head || q->putters.head || q->held || q->freed)
        return MT_EBUSY; /* tasks wait on it, or were promised a share */
#if !MT_NO_HEAP
    if (q->unbounded && q->buf)
        MT_FREE(q->buf);
#endif
    if (q->unbounded) {
        q->buf = NULL;
        q->cap = q->len = q->head = q->held = 0;
    }
    return 0;
}

MT_API int mt_queue_try_get(mt_queue *q, void *item)
{
    if (!q || !item)
        return MT_EINVAL;
    if (!mt__queue_has_item(q))
        return MT_EAGAIN;
    mt__queue_take(q, item, q->held);
    return 0;
}

MT_API int mt_queue_try_put(mt_queue *q, const void *item)
{
    if (!q || !item)
        return MT_EINVAL;
    if (!mt__queue_has_room(q))
        return MT_EAGAIN;
    return mt__queue_store(q, item);
}

MT_API size_t mt_queue_len(const mt_queue *q) { return q ? q->len - q->held : 0; }

MT_API int mt_queue_empty(const mt_queue *q) { return !q || !mt__queue_has_item(q); }

MT_API int mt_queue_full(const mt_queue *q) { return q && !mt__queue_has_room(q); }

MT_API int mt__queue_get(mt_task *t, mt_queue *q, void *item, long timeout)
{
    int r = mt__wait_begin(t, timeout);

    if (r != MT__PROCEED)
        return r;
    if (!q || !item)
        return mt__out_set(t, MT_EINVAL, MT__M("MT_QUEUE_GET: NULL queue or item"));
    if (mt__queue_has_item(q)) {
        mt__queue_take(q, item, q->held);
        return MT__GO;
    }
    return mt__park_on(t, &q->getters, MT__S_QGET, timeout);
}

MT_API void mt__queue_got(mt_task *t, void *item)
{
    mt_queue *q = MT__CONTAINER(t->w.obj, mt_queue, getters);
    q->held--;
    mt__queue_take(q, item, 0);
}

MT_API int mt__queue_put(mt_task *t, mt_queue *q, const void *item, long timeout)
{
    int r = mt__wait_begin(t, timeout);

    if (r != MT__PROCEED)
        return r;
    if (!q || !item)
        return mt__out_set(t, MT_EINVAL, MT__M("MT_QUEUE_PUT: NULL queue or item"));
    if (mt__queue_has_room(q)) {
        r = mt__queue_store(q, item);
        return r ? mt__out_set(t, r, NULL) : MT__GO;
    }
    return mt__park_on(t, &q->putters, MT__S_QPUT, timeout);
}

MT_API void mt__queue_putted(mt_task *t, const void *item)
{
    mt_queue *q = MT__CONTAINER(t->w.obj, mt_queue, putters);
    q->freed--;
    (void)mt__queue_store(q, item); /* its slot was kept: cannot fail */
}

MT_API void mt_event_init(mt_event *e)
{
    MT__ZERO(mt_event, empty); /* cppcheck-suppress unassignedVariable */
    if (e)
        *e = empty;
}

MT_API void mt_event_set(mt_event *e)
{
    if (!e)
        return;
    e->set = 1;
    while (mt__wake_first(&e->waiters)) {
    }
}

MT_API void mt_event_clear(mt_event *e)
{
    if (e)
        e->set = 0;
}

MT_API int mt_event_is_set(const mt_event *e) { return e && e->set; }

MT_API int mt__event_wait(mt_task *t, mt_event *e, long timeout)
{
    int r = mt__wait_begin(t, timeout);

    if (r != MT__PROCEED)
        return r;
    if (!e)
        return mt__out_set(t, MT_EINVAL, MT__M("MT_EVENT_WAIT: NULL event"));
    if (e->set)
        return MT__GO;
    return mt__park_on(t, &e->waiters, MT__S_EVENT, timeout);
}

MT_API void mt_sem_init(mt_sem *sem, unsigned long count)
{
    MT__ZERO(mt_sem, empty); /* cppcheck-suppress unassignedVariable */
    if (!sem)
        return;
    *sem = empty;
    sem->count = count;
}

MT_API int mt_sem_signal(mt_sem *sem)
{
    if (!sem)
        return MT_EINVAL;
    if (mt__wake_first(&sem->waiters))
        return 0; /* handed over */
    if (sem->count == (unsigned long)-1)
        return MT_ENOMEM;
    sem->count++;
    return 0;
}

MT_API int mt_sem_try_wait(mt_sem *sem)
{
    if (!sem)
        return MT_EINVAL;
    if (!sem->count)
        return MT_EAGAIN;
    sem->count--;
    return 0;
}

MT_API unsigned long mt_sem_count(const mt_sem *sem) { return sem ? sem->count : 0; }

MT_API int mt__sem_wait(mt_task *t, mt_sem *sem, long timeout)
{
    int r = mt__wait_begin(t, timeout);

    if (r != MT__PROCEED)
        return r;
    if (!sem)
        return mt__out_set(t, MT_EINVAL, MT__M("MT_SEM_WAIT: NULL semaphore"));
    if (sem->count) {
        sem->count--;
        return MT__GO;
    }
    return mt__park_on(t, &sem->waiters, MT__S_SEM, timeout);
}

/* ---- I/O: descriptors and sockets -------------------------------------------
 * A task waiting on a descriptor is parked as any other (in a timer or the
 * forever list) and registered with the backend. When its descriptor is
 * ready the backend wakes it (MT__S_IORDY) but it keeps its timer: the
 * operation retries, and may wait again, within the same timeout.
 *
 * The backend contract. Exactly one backend is compiled (MT_BACKEND); its
 * section below defines these, and no other code knows which one it is.
 * Its state is s->io (an mt__io of its own, in multitask.h), where n counts
 * the registered waiters.
 *   mt__io_takes(fd)        1 if the backend can wait on fd (asked first)
 *   mt__io_add(s, t)        register t (w: fd and events). 0, or an error
 *                           code and t is not registered
 *   mt__io_del(s, t)        withdraw t (its timeout, a cancel); t may have
 *                           been woken already
 *   mt__io_poll(s, ms)      wait up to ms ticks (-1: no limit) for the
 *                           waiters' descriptors and the wake pipe, and
 *                           wake each waiter whose events came
 *                           (mt__io_wake); if the wait itself fails, wake
 *                           them all with the error rather than spin.
 *                           Returns 1 if the wake pipe was readable
 *   mt__io_limit(s, ms)     the longest the backend lets a cycle block
 *   mt__io_probe(fd, ev)    the events of ev ready now, without waiting;
 *                           negative: an error code
 *   mt__io_pipe(s)          the wake pipe was just made: watch it too
 *   mt__io_fds(s, fds, cap) what a foreign event loop must watch
 *                           (mt_sched_pollfds)
 *   mt__io_merge(dst, src)  move src's waiters (already re-parked in dst)
 *   mt__io_free(s)          release what the backend holds
 *   mt__io_idle(s, fd, ev)  1 if fd is known not ready for ev: the
 *                           operation waits without trying
 *   mt__io_drained(s, fd)   a read of fd returned less than asked
 *   mt__io_fresh(s, fd)     fd was just made (accept, connect): forget
 *                           what was known of a closed one of that number
 *   mt__io_close(s, fd)     fd is being closed (mt_close): its waiters end
 *                           with MT_EBADF, the backend lets it go
 *   mt__io_recheck(s, fd)   an operation woken for fd would block: report
 *                           fd again if it is ready after all
 *   mt__io_held(s)          1 if events may come for descriptors no task
 *                           waits on: a cycle with nothing runnable
 *                           takes them (poll 0)
 * A new backend is one section more, and one line more in multitask.h's
 * dispatch (its mt__io struct). */
#if MT_IO

static int mt__io_takes(int fd);
static int mt__io_add(mt_sched *s, mt_task *t);
static int mt__io_poll(mt_sched *s, long ms);
static long mt__io_limit(const mt_sched *s, long ms);
static int mt__io_probe(int fd, int events);
static int mt__io_pipe(mt_sched *s);
static int mt__io_fds(mt_sched *s, struct pollfd *fds, int cap);
static void mt__io_merge(mt_sched *dst, mt_sched *src);
static void mt__io_free(mt_sched *s);
static int mt__io_idle(const mt_sched *s, int fd, int ev);
static void mt__io_drained(mt_sched *s, int fd);
static void mt__io_fresh(mt_sched *s, int fd);
static void mt__io_close(mt_sched *s, int fd);
static int mt__io_held(const mt_sched *s);
static void mt__io_recheck(mt_sched *s, int fd);

/* The first try of an operation whose events fd is known not to have: it
 * waits without the system call (the epoll backend knows; see there). */
static int mt__io_skip(mt_task *t, int fd, int ev)
{
    mt_sched *s = mt__sched_of(t);
    return !t->w.io && !s->io_try && mt__io_idle(s, fd, ev);
}

/* A read of n bytes where len were asked for. */
static void mt__io_got(mt_task *t, int fd, ssize_t n, size_t len)
{
    if (n > 0 && (size_t)n < len)
        mt__io_drained(mt__sched_of(t), fd);
}

/* t, taken off its backend, its outcome set: it tries its operation. */
static void mt__io_woken(mt_sched *s, mt_task *t)
{
    if (!MT__POS(t))
        mt__ever_del(s, t);
    MT__SET_ST(t, MT__S_IORDY);
    mt__rq_push(s, t);
}

/* Wake t, taken off its backend: `ready` events came, or err. An MT_CHOOSE
 * stand-in fires its clause. */
static void mt__io_wake(mt_sched *s, mt_task *t, int ready, int err)
{
    if (MT__ST(t) == MT__S_CL_IO) {
        mt__node_fire(t, ready, err);
        return;
    }
    mt__out_ready(t, ready, err);
    mt__io_woken(s, t);
}

/* A clause that fires withdraws its siblings, which may sit in the very
 * list a backend is scanning: so scans only unlink the waiters they wake
 * into `later`, their outcome kept in them, and wake them once done,
 * skipping a stand-in withdrawn meanwhile (MT_NEW). */
static void mt__io_later(mt__waitq *later, mt_task *t, int ready, int err)
{
    if (MT__ST(t) == MT__S_CL_IO) { /* its w still names its descriptor */
        ((mt_clause *)(void *)t)->ready = (unsigned char)ready;
        mt__out_code(t, err);
    } else {
        mt__out_ready(t, ready, err);
    }
    mt__waitq_push(later, t);
}

static void mt__io_wake_later(mt_sched *s, mt__waitq *later)
{
    mt_task *t;
    while ((t = mt__waitq_pop(later)) != NULL) {
        if (MT__ST(t) == MT__S_CL_IO)
            mt__node_fire(t, ((mt_clause *)(void *)t)->ready, t->err);
        else if (MT__ST(t) == MT__S_IO)
            mt__io_woken(s, t);
    }
}

MT_API int mt__io_begin(mt_task *t, long timeout)
{
    int r = mt__wait_begin(t, timeout);
    if (r != MT__PROCEED)
        return r;
    mt__out_ready(t, 0, 0); /* no readiness yet: the first try */
    mt__sched_of(t)->io_try = timeout == 0; /* a poll: it must try */
    /* Bounded work per resume: past the burst, give way first (the
     * operation then starts afresh when the task resumes). */
    if (++mt__sched_of(t)->burst > MT_IO_BURST)
        return MT__YIELDED;
    return MT__GO;
}

MT_API int mt__io_park(mt_task *t, int fd, int events, long timeout)
{
    mt_sched *s = mt__sched_of(t);
    int r;

    if (fd < 0 || !(events & 7))
        return mt__out_set(t, MT_EINVAL, MT__M("bad descriptor or events"));
    if (!mt__io_takes(fd))
        return mt__out_set(t, MT_ERANGE, MT__M("descriptor >= FD_SETSIZE (select)"));
    if (MT__POS(t) && !mt_time_before(mt__cycle_now(s), t->deadline))
        return mt__out_set(t, MT_ETIMEDOUT, NULL); /* its deadline passed */
    if (!MT__POS(t)) { /* the first wait of this operation, or no deadline */
        if (timeout == 0)
            return mt__out_set(t, MT_ETIMEDOUT, NULL);
        if (timeout > 0) {
            if (mt__timers_full(s))
                return mt__out_set(t, MT_ENOMEM, MT__M("too many timers"));
            mt__arm(s, t, timeout);
        } else {
            mt__ever_add(s, t);
        }
    }
    MT__SET_ST(t, MT__S_IO);
    mt__out_waits_fd(t, fd, events);
    r = mt__io_add(s, t);
    if (r) { /* not registered: undo the park, raise the error */
        mt__unpark_timer(s, t);
        MT__SET_ST(t, MT_RUNNING);
        return mt__out_set(t, r, NULL);
    }
    return MT__WAITING;
}

/* Readiness now, without waiting (MT_WAIT_FD tries first): 1 if none of
 * the events is ready, else 0 with the ready events or the error set. */
MT_API int mt__fd_ready_now(mt_task *t, int fd, int events)
{
    int ready;

    if (t->w.io) /* woken: the backend said which */
        return 0;
    if (fd < 0 || !(events & 7)) {
        (void)mt__out_set(t, MT_EINVAL, MT__M("bad descriptor or events"));
        return 0;
    }
    if (!mt__io_takes(fd)) {
        (void)mt__out_set(t, MT_ERANGE, MT__M("descriptor >= FD_SETSIZE (select)"));
        return 0;
    }
    if (mt__io_skip(t, fd, events & 7))
        return 1;
    ready = mt__io_probe(fd, events & 7);
    if (ready < 0) {
        (void)mt__out_set(t, ready, NULL);
        return 0;
    }
    mt__out_ready(t, ready, 0);
    return ready == 0;
}

MT_API int mt_fd_ready(const mt_task *t) { return t ? (int)(t->w.io & 7) : 0; }

MT_API int mt_fd_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return MT_ESYS(errno);
    return 0;
}

MT_API int mt_sched_close(mt_sched *s, int fd)
{
    if (!s || fd < 0)
        return MT_EINVAL;
    mt__io_close(s, fd);
    if (close(fd) == 0)
        return 0;
    return errno == EBADF ? MT_EBADF : MT_ESYS(errno);
}

MT_API int mt_close(int fd) { return mt_sched_close(mt_default(), fd); }

static int mt__would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK; }

/* An operation ends with `code`: 0, the value for "done" to the macro. */
static int mt__io_err(mt_task *t, int code)
{
    (void)mt__out_set(t, code, NULL);
    return 0;
}

/* An operation's arguments: a negative descriptor, or a NULL where it
 * stores its result, is MT_EINVAL before any system call. 0: go on. */
static int mt__io_bad(mt_task *t, int fd, const void *out)
{
    if (fd >= 0 && out)
        return 0;
    (void)mt__out_set(t, MT_EINVAL, fd < 0 ? MT__M("negative descriptor") : MT__M("NULL pointer argument"));
    return 1;
}

/* An operation's system error: 1 if it would block, else 0 with t->err
 * set. Would block right after the backend said ready, with nothing done
 * (a spurious wake-up: another reader was first, or a fault), the backend
 * looks again: an edge-triggered one does not report a readiness twice. */
static int mt__io_failed(mt_task *t, int fd, int progress)
{
    int e = errno;
    if (mt__would_block(e)) {
        if (t->w.io && !progress)
            mt__io_recheck(mt__sched_of(t), fd);
        return 1;
    }
    return mt__io_err(t, e == EBADF ? MT_EBADF : MT_ESYS(e));
}

MT_API int mt__read(mt_task *t, int fd, void *buf, size_t len, ssize_t *n)
{
    if (mt__io_bad(t, fd, n))
        return 0;
    if (mt__io_skip(t, fd, MT_READABLE))
        return 1;
    for (;;) {
        ssize_t r = MT__SYS(read)(fd, buf, len);
        if (r >= 0) {
            *n = r;
            mt__io_got(t, fd, r, len);
            return 0;
        }
        if (errno != EINTR) {
            *n = -1;
            return mt__io_failed(t, fd, 0);
        }
    }
}

MT_API int mt__write(mt_task *t, int fd, const void *buf, size_t len, ssize_t *n)
{
    if (mt__io_bad(t, fd, n))
        return 0;
    if (mt__io_skip(t, fd, MT_WRITABLE))
        return 1;
    for (;;) {
        ssize_t r = MT__SYS(write)(fd, buf, len);
        if (r >= 0) {
            *n = r;
            return 0;
        }
        if (errno != EINTR) {
            *n = -1;
            return mt__io_failed(t, fd, 0);
        }
    }
}

MT_API int mt__recv(mt_task *t, int fd, void *buf, size_t len, int flags,
                    ssize_t *n, struct sockaddr *addr, socklen_t *addrlen)
{
    if (mt__io_bad(t, fd, n))
        return 0;
    if (mt__io_skip(t, fd, MT_READABLE))
        return 1;
    for (;;) {
        ssize_t r = addr ? MT__SYS(recvfrom)(fd, buf, len, flags, addr, addrlen)
                         : MT__SYS(recv)(fd, buf, len, flags);
        if (r >= 0) {
            *n = r;
            if (!(flags & ~(MSG_DONTWAIT | MSG_WAITALL))) /* a peek, urgent data... */
                mt__io_got(t, fd, r, len);                /* prove nothing */
            return 0;
        }
        if (errno != EINTR) {
            *n = -1;
            return mt__io_failed(t, fd, 0);
        }
    }
}

#ifdef MSG_NOSIGNAL
#define MT__NOSIGNAL MSG_NOSIGNAL
#else
#define MT__NOSIGNAL 0 /* BSDs: set SO_NOSIGPIPE on the socket instead */
#endif

MT_API int mt__send(mt_task *t, int fd, const void *buf, size_t len, int flags,
                    ssize_t *n, const struct sockaddr *addr, socklen_t addrlen)
{
    if (mt__io_bad(t, fd, n))
        return 0;
    if (mt__io_skip(t, fd, MT_WRITABLE))
        return 1;
    for (;;) {
        ssize_t r = addr ? MT__SYS(sendto)(fd, buf, len, flags | MT__NOSIGNAL, addr, addrlen)
                         : MT__SYS(send)(fd, buf, len, flags | MT__NOSIGNAL);
        if (r >= 0) {
            *n = r;
            return 0;
        }
        if (errno != EINTR) {
            *n = -1;
            return mt__io_failed(t, fd, 0);
        }
    }
}

MT_API int mt__accept(mt_task *t, int fd, int *newfd, struct sockaddr *addr,
                      socklen_t *addrlen)
{
    if (mt__io_bad(t, fd, newfd))
        return 0;
    if (mt__io_skip(t, fd, MT_READABLE))
        return 1;
    for (;;) {
        int c = MT__SYS(accept)(fd, addr, addrlen);
        if (c >= 0) {
            int r = mt_fd_nonblock(c);
            mt__io_fresh(mt__sched_of(t), c);
            if (r) {
                close(c);
                *newfd = -1;
                return mt__io_err(t, r);
            }
            *newfd = c;
            return 0;
        }
        /* The peer gave up before we took it: take the next one. */
        if (errno == ECONNABORTED || errno == EINTR)
            continue;
        *newfd = -1;
        return mt__io_failed(t, fd, 0);
    }
}

MT_API int mt__connect(mt_task *t, int fd, const struct sockaddr *addr,
                       socklen_t addrlen)
{
    if (mt__io_bad(t, fd, addr))
        return 0;
    if (t->w.io) { /* writable after EINPROGRESS: the outcome is in SO_ERROR */
        int e = 0;
        socklen_t sl = sizeof e;
        if (MT__SYS(getsockopt)(fd, SOL_SOCKET, SO_ERROR, &e, &sl) < 0)
            e = errno;
        return e ? mt__io_err(t, MT_ESYS(e)) : 0;
    }
    mt__io_fresh(mt__sched_of(t), fd); /* a new socket, maybe an old number */
    if (MT__SYS(connect)(fd, addr, addrlen) == 0)
        return 0;
    if (errno == EINPROGRESS || errno == EINTR)
        return 1;
    return mt__io_failed(t, fd, 0) ? 1 : 0;
}

MT_API int mt__xfer_all(mt_task *t, int fd, void *buf, size_t len,
                        size_t *done, int writing)
{
    size_t start;

    if (mt__io_bad(t, fd, done))
        return 0;
    if (!t->w.io)
        *done = 0; /* the first try */
    if (mt__io_skip(t, fd, writing ? MT_WRITABLE : MT_READABLE))
        return 1;
    start = *done;
    while (*done < len) {
        char *p = (char *)buf + *done;
        ssize_t r = writing ? MT__SYS(send)(fd, p, len - *done, MT__NOSIGNAL)
                            : MT__SYS(read)(fd, p, len - *done);
        if (r < 0 && writing && errno == ENOTSOCK)
            r = MT__SYS(write)(fd, p, len - *done);
        if (r > 0) {
            *done += (size_t)r;
            continue;
        }
        if (r == 0)
            return mt__io_err(t, MT_EEOF);
        if (errno == EINTR)
            continue;
        return mt__io_failed(t, fd, *done != start);
    }
    return 0;
}

MT_API void mt_line_init(mt_line *lb, char *storage, size_t cap)
{
    if (!lb)
        return;
    lb->buf = storage;
    lb->cap = storage ? cap : 0;
    lb->len = lb->line = 0;
}

MT_API int mt__readline(mt_task *t, int fd, mt_line *lb)
{
    size_t i;
    int drained, got = 0;

    if (mt__io_bad(t, fd, lb))
        return 0;
    if (!t->w.io && lb->line) { /* the first try: drop the previous line */
        memmove(lb->buf, lb->buf + lb->line, lb->len - lb->line);
        lb->len -= lb->line;
        lb->line = 0;
    }
    drained = mt__io_skip(t, fd, MT_READABLE);
    for (;;) {
        ssize_t r;
        for (i = 0; i < lb->len; i++)
            if (lb->buf[i] == '\n') {
                lb->line = i + 1;
                return 0;
            }
        if (lb->len == lb->cap) {
            (void)mt__out_set(t, MT_ETOOLONG, NULL);
            return 0;
        }
        if (drained) /* no line yet, and no more to read now */
            return 1;
        r = MT__SYS(read)(fd, lb->buf + lb->len, lb->cap - lb->len);
        if (r > 0) {
            mt__io_got(t, fd, r, lb->cap - lb->len);
            lb->len += (size_t)r;
            drained = mt__io_idle(mt__sched_of(t), fd, MT_READABLE);
            got = 1;
            continue;
        }
        if (r == 0) { /* EOF: the rest, unterminated, or 0 */
            lb->line = lb->len;
            return 0;
        }
        if (errno == EINTR)
            continue;
        return mt__io_failed(t, fd, got);
    }
}

/* ---- I/O backends: shared pieces ---------------------------------------- */

#if MT_BACKEND == MT_BACKEND_POLL || MT_BACKEND == MT_BACKEND_EPOLL
/* poll(2)'s events, which the poll backend waits on and both use to probe
 * one descriptor. */
static short mt__poll_events(int ev)
{
    return (short)(((ev & MT_READABLE) ? POLLIN : 0) |
                   ((ev & MT_WRITABLE) ? POLLOUT : 0) |
                   ((ev & MT_EXCEPT) ? POLLPRI : 0));
}

/* A hang-up or an error ends every wait on the descriptor, whatever its
 * events: poll() reports them always, and a waiter for MT_EXCEPT alone
 * would otherwise see the loop wake at once, round after round. */
static int mt__poll_ready(short re)
{
    if (re & (POLLHUP | POLLERR))
        return MT_READABLE | MT_WRITABLE | MT_EXCEPT;
    return ((re & POLLIN) ? MT_READABLE : 0) | ((re & POLLOUT) ? MT_WRITABLE : 0) |
           ((re & POLLPRI) ? MT_EXCEPT : 0);
}

/* poll(2)'s timeout from the cycle's: at most INT_MAX ms. */
static int mt__poll_ms(long ms)
{
    return ms < 0 ? -1 : (ms > 0x7fffffffL ? 0x7fffffff : (int)ms);
}

/* Wait for the wake pipe alone (or just sleep without one). Returns 1 if
 * it was readable. */
static int mt__poll_pipe(mt_sched *s, long ms)
{
    struct pollfd one;

    one.fd = s->wake_pipe ? s->wake_fd[0] : -1;
    one.events = POLLIN;
    one.revents = 0;
    return MT__SYS(poll)(&one, 1, mt__poll_ms(ms)) > 0 && (one.revents & POLLIN);
}

static int mt__io_probe(int fd, int events)
{
    struct pollfd p;
    int n;

    p.fd = fd;
    p.events = mt__poll_events(events);
    p.revents = 0;
    do
        n = MT__SYS(poll)(&p, 1, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0 && (p.revents & POLLNVAL))
        return MT_EBADF;
    return n > 0 ? (mt__poll_ready(p.revents) & events) : 0;
}
#endif

#if MT_BACKEND == MT_BACKEND_POLL || MT_BACKEND == MT_BACKEND_EPOLL
static int mt__io_takes(int fd)
{
    (void)fd; /* any descriptor */
    return 1;
}
#endif

#if MT_BACKEND == MT_BACKEND_SELECT || MT_BACKEND == MT_BACKEND_POLL
/* select and poll keep their waiters in one FIFO (s->io.waiters), scanned
 * at each poll anyway. */
static void mt__iolist_add(mt_sched *s, mt_task *t)
{
    mt__waitq_push(&s->io.waiters, t);
    s->io.n++;
}

static void mt__io_del(mt_sched *s, mt_task *t)
{
    if (mt__waitq_del(&s->io.waiters, t))
        s->io.n--;
}

/* The backend's wait itself failed (not EINTR: ENOMEM, EINVAL, ...): every
 * waiter is woken with the error rather than left waiting on a loop that
 * cannot see its descriptor, or spinning on the failure. */
static void mt__iolist_fail_all(mt_sched *s, int err)
{
    mt_task *t;
    while ((t = mt__waitq_pop(&s->io.waiters)) != NULL) {
        s->io.n--;
        mt__io_wake(s, t, 0, err);
    }
}

static void mt__io_merge(mt_sched *dst, mt_sched *src)
{
    if (!src->io.waiters.head)
        return;
    if (dst->io.waiters.tail)
        dst->io.waiters.tail->next = src->io.waiters.head;
    else
        dst->io.waiters.head = src->io.waiters.head;
    dst->io.waiters.tail = src->io.waiters.tail;
    dst->io.n += src->io.n;
    src->io.waiters.head = src->io.waiters.tail = NULL;
    src->io.n = 0;
}

static long mt__io_limit(const mt_sched *s, long ms)
{
    (void)s;
    return ms;
}

/* Level-triggered, they keep no readiness between waits: an operation
 * always tries first. */
static int mt__io_idle(const mt_sched *s, int fd, int ev)
{
    (void)s, (void)fd, (void)ev;
    return 0;
}

static void mt__io_drained(mt_sched *s, int fd) { (void)s, (void)fd; }

static void mt__io_fresh(mt_sched *s, int fd) { (void)s, (void)fd; }

static int mt__io_held(const mt_sched *s)
{
    (void)s;
    return 0;
}

static void mt__io_recheck(mt_sched *s, int fd) { (void)s, (void)fd; }

/* The waiters on fd (fd < 0: on any descriptor closed under them) end
 * with MT_EBADF. */
static void mt__iolist_badf(mt_sched *s, int fd)
{
    mt_task *t = s->io.waiters.head, *prev = NULL, *next;
    mt__waitq later = {NULL, NULL};

    for (; t; t = next) {
        int tfd = MT__IO_FD(t);
        next = t->next;
        if (fd >= 0 ? tfd == fd : fcntl(tfd, F_GETFD) < 0 && errno == EBADF) {
            mt__waitq_unlink(&s->io.waiters, prev, t);
            s->io.n--;
            mt__io_later(&later, t, 0, MT_EBADF);
        } else {
            prev = t;
        }
    }
    mt__io_wake_later(s, &later);
}

/* mt_close */
static void mt__io_close(mt_sched *s, int fd) { mt__iolist_badf(s, fd); }
#endif

/* ---- I/O backend: select -------------------------------------------------
 * The sets are built from the waiters at each poll. select() cannot take a
 * descriptor at or above FD_SETSIZE: such a wait is refused (MT_ERANGE). */
#if MT_BACKEND == MT_BACKEND_SELECT

static int mt__io_takes(int fd) { return fd < FD_SETSIZE; }

/* Each poll watches the pipe; one select cannot take is refused, rather
 * than left out (a blocked cycle would never see a post). */
static int mt__io_pipe(mt_sched *s)
{
    return s->wake_fd[0] < FD_SETSIZE ? 0 : MT_ERANGE;
}

static int mt__io_add(mt_sched *s, mt_task *t)
{
    mt__iolist_add(s, t);
    return 0;
}

/* The sets of the waiters and the wake pipe; returns the highest
 * descriptor in them, -1 if none. */
static int mt__select_sets(const mt_sched *s, fd_set *r, fd_set *w, fd_set *x)
{
    const mt_task *t;
    int maxfd = -1;

    FD_ZERO(r);
    FD_ZERO(w);
    FD_ZERO(x);
    if (s->wake_pipe) {
        FD_SET(s->wake_fd[0], r); /* a post ends the wait */
        maxfd = s->wake_fd[0];
    }
    for (t = s->io.waiters.head; t; t = t->next) {
        int fd = MT__IO_FD(t), ev = MT__IO_EV(t);
        if (ev & MT_READABLE)
            FD_SET(fd, r);
        if (ev & MT_WRITABLE)
            FD_SET(fd, w);
        if (ev & MT_EXCEPT)
            FD_SET(fd, x);
        if (fd > maxfd)
            maxfd = fd;
    }
    return maxfd;
}

static int mt__select_got(int fd, int ev, fd_set *r, fd_set *w, fd_set *x)
{
    return ((ev & MT_READABLE) && FD_ISSET(fd, r) ? MT_READABLE : 0) |
           ((ev & MT_WRITABLE) && FD_ISSET(fd, w) ? MT_WRITABLE : 0) |
           ((ev & MT_EXCEPT) && FD_ISSET(fd, x) ? MT_EXCEPT : 0);
}

static int mt__io_poll(mt_sched *s, long ms)
{
    fd_set r, w, x;
    struct timeval tv, *tvp = NULL;
    mt_task *t, *prev, *next;
    mt__waitq later = {NULL, NULL};
    int n, maxfd = mt__select_sets(s, &r, &w, &x);

    if (ms >= 0) {
        tv.tv_sec = (time_t)(ms / 1000);
        tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
        tvp = &tv;
    }
    n = MT__SYS(select)(maxfd + 1, &r, &w, &x, tvp);
    if (n < 0) {
        if (errno == EBADF) /* find the waiters whose descriptor was closed */
            mt__iolist_badf(s, -1);
        else if (errno != EINTR)
            mt__iolist_fail_all(s, MT_ESYS(errno));
        return 0; /* EINTR: the cycle goes on (a handler may have posted) */
    }
    for (prev = NULL, t = n > 0 ? s->io.waiters.head : NULL; t; t = next) {
        int ready = mt__select_got(MT__IO_FD(t), MT__IO_EV(t), &r, &w, &x);
        next = t->next;
        if (!ready) {
            prev = t;
            continue;
        }
        mt__waitq_unlink(&s->io.waiters, prev, t);
        s->io.n--;
        mt__io_later(&later, t, ready, 0);
    }
    mt__io_wake_later(s, &later);
    return n > 0 && s->wake_pipe && FD_ISSET(s->wake_fd[0], &r);
}

static int mt__io_probe(int fd, int events)
{
    fd_set r, w, x;
    struct timeval tv = {0, 0};
    int n;

    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&x);
    if (events & MT_READABLE)
        FD_SET(fd, &r);
    if (events & MT_WRITABLE)
        FD_SET(fd, &w);
    if (events & MT_EXCEPT)
        FD_SET(fd, &x);
    do
        n = MT__SYS(select)(fd + 1, &r, &w, &x, &tv);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EBADF ? MT_EBADF : MT_ESYS(errno);
    return mt__select_got(fd, events, &r, &w, &x);
}

/* One entry per descriptor in the sets, in descriptor order. */
static int mt__io_fds(mt_sched *s, struct pollfd *fds, int cap)
{
    fd_set r, w, x;
    int fd, k = 0, maxfd = mt__select_sets(s, &r, &w, &x);

    for (fd = 0; fd <= maxfd; fd++) {
        int ev = mt__select_got(fd, MT_READABLE | MT_WRITABLE | MT_EXCEPT, &r, &w, &x);
        if (!ev)
            continue;
        if (k < cap) {
            fds[k].fd = fd;
            fds[k].events = (short)(((ev & MT_READABLE) ? POLLIN : 0) |
                                    ((ev & MT_WRITABLE) ? POLLOUT : 0) |
                                    ((ev & MT_EXCEPT) ? POLLPRI : 0));
            fds[k].revents = 0;
        }
        k++;
    }
    return k;
}

static void mt__io_free(mt_sched *s) { (void)s; }
#endif /* select */

/* ---- I/O backend: poll -----------------------------------------------------
 * One pollfd per descriptor, however many tasks wait on it: poll() refuses
 * more entries than the descriptor limit (EINVAL), which a reader and a
 * writer per connection would otherwise reach at half of it. io.buf holds
 * the entries, then each waiter's entry index, then an open-addressing
 * table from descriptor to entry (a power of two, at least twice the
 * waiters), all rebuilt each cycle in one pass over the waiters. */
#if MT_BACKEND == MT_BACKEND_POLL

static int mt__io_add(mt_sched *s, mt_task *t)
{
    mt__iolist_add(s, t);
    return 0;
}

static int mt__io_pipe(mt_sched *s)
{
    (void)s; /* each poll watches it, once it is there */
    return 0;
}

static size_t mt__poll_hcap(size_t cap)
{
    size_t h = 16;
    while (h < 2 * cap)
        h *= 2;
    return h;
}

/* Room for the waiters and the wake pipe: the I/O layer's one allocation. */
static int mt__poll_reserve(mt_sched *s)
{
    size_t n = s->io.n, cap, bytes;
    struct pollfd *p;

    if (n + 1 <= s->io.cap)
        return 0;
    cap = n < 64 ? 64 : n * 2 + 1;
    bytes = cap * (sizeof *p + sizeof(uint32_t)) + mt__poll_hcap(cap) * sizeof(uint32_t);
    p = (struct pollfd *)MT_REALLOC(s->io.buf, bytes);
    if (!p)
        return MT_ENOMEM;
    s->io.buf = p;
    s->io.cap = cap;
    return 0;
}

static uint32_t *mt__poll_slots(const mt_sched *s)
{
    return (uint32_t *)(void *)((struct pollfd *)s->io.buf + s->io.cap);
}

/* Fill the entries, one per descriptor, and after them the wake pipe's
 * (fd -1, ignored, without one). Returns the entries before the pipe's. */
static size_t mt__poll_build(mt_sched *s)
{
    struct pollfd *p = (struct pollfd *)s->io.buf;
    uint32_t *slot = mt__poll_slots(s), *hash = slot + s->io.cap;
    size_t i, m = 0, hcap = mt__poll_hcap(s->io.n); /* within the allocation */
    mt_task *t;

    memset(hash, 0, hcap * sizeof *hash);
    for (i = 0, t = s->io.waiters.head; t; t = t->next, i++) {
        int fd = MT__IO_FD(t);
        size_t h = ((size_t)fd * 2654435761u) & (hcap - 1);
        while (hash[h] && p[hash[h] - 1].fd != fd)
            h = (h + 1) & (hcap - 1);
        if (!hash[h]) {
            p[m].fd = fd;
            p[m].events = 0;
            p[m].revents = 0;
            hash[h] = (uint32_t)++m;
        }
        slot[i] = hash[h] - 1;
        p[slot[i]].events = (short)(p[slot[i]].events | mt__poll_events(MT__IO_EV(t)));
    }
    p[m].fd = s->wake_pipe ? s->wake_fd[0] : -1; /* a post ends the wait */
    p[m].events = POLLIN;
    p[m].revents = 0;
    return m;
}

/* Wake the waiters whose entry came back with their events, or invalid. */
static void mt__poll_scan(mt_sched *s)
{
    const struct pollfd *p = (const struct pollfd *)s->io.buf;
    const uint32_t *slot = mt__poll_slots(s);
    mt_task *t, *prev = NULL, *next;
    mt__waitq later = {NULL, NULL};
    size_t i;

    for (i = 0, t = s->io.waiters.head; t; t = next, i++) {
        short re = p[slot[i]].revents;
        int ready = mt__poll_ready(re) & MT__IO_EV(t);
        next = t->next;
        if (!ready && !(re & POLLNVAL)) {
            prev = t;
            continue;
        }
        mt__waitq_unlink(&s->io.waiters, prev, t);
        s->io.n--;
        mt__io_later(&later, t, ready, (re & POLLNVAL) ? MT_EBADF : 0);
    }
    mt__io_wake_later(s, &later);
}

static int mt__io_poll(mt_sched *s, long ms)
{
    int r, piped;
    size_t m;

    if (!s->io.n) /* only the self-pipe, or a plain sleep: no array needed */
        return mt__poll_pipe(s, ms);
    if (mt__poll_reserve(s)) { /* waiting on would spin: fail them, as a failed poll does */
        mt__iolist_fail_all(s, MT_ENOMEM);
        return 0;
    }
    m = mt__poll_build(s);
    r = MT__SYS(poll)((struct pollfd *)s->io.buf, (nfds_t)m + 1, mt__poll_ms(ms));
    if (r < 0 && errno != EINTR) {
        mt__iolist_fail_all(s, MT_ESYS(errno));
        return 0;
    }
    if (r <= 0)
        return 0; /* EINTR: the cycle goes on (a handler may have posted) */
    piped = (((struct pollfd *)s->io.buf)[m].revents & POLLIN) != 0;
    mt__poll_scan(s);
    if (!s->io.n) /* idle: give the array back */
        mt__io_free(s);
    return piped;
}

/* The entries a poll would wait on, the wake pipe's last. */
static int mt__io_fds(mt_sched *s, struct pollfd *fds, int cap)
{
    const struct pollfd *p;
    int i, k;

    if (!s->io.n) { /* no array needed: the pipe alone */
        if (s->wake_pipe && cap > 0) {
            fds[0].fd = s->wake_fd[0];
            fds[0].events = POLLIN;
            fds[0].revents = 0;
        }
        return s->wake_pipe;
    }
    if (mt__poll_reserve(s))
        return MT_ENOMEM;
    k = (int)mt__poll_build(s) + s->wake_pipe;
    p = (const struct pollfd *)s->io.buf;
    for (i = 0; i < k && i < cap; i++)
        fds[i] = p[i];
    return k;
}

static void mt__io_free(mt_sched *s)
{
    if (s->io.buf)
        MT_FREE(s->io.buf);
    s->io.buf = NULL;
    s->io.cap = 0;
}
#endif /* poll */

/* ---- I/O backend: epoll (Linux) --------------------------------------------
 * Each descriptor someone waits on has its own short FIFO of waiters
 * (through next) in a table indexed by descriptor. The wake pipe is
 * registered once, level-triggered. The instance opens at the first need. */
#if MT_BACKEND == MT_BACKEND_EPOLL
/* A descriptor a task waited on stays in the instance, edge-triggered for
 * every event, until mt_close or the scheduler's end: a wait, a wake-up and
 * a withdrawal cost no system call. Per descriptor the table keeps the
 * events the edges reported since an operation last found them not ready
 * (EAGAIN, or a short read of a stream, which drained it: epoll(7)); an
 * operation whose events are known not ready waits without trying (unless
 * its timeout is 0), so a round trip is one read and one write, as in a
 * hand-written loop. Urgent data, a hang-up or an error seen end the
 * inference for the descriptor: a short read may leave them unread.
 * A registration outlives a close() the scheduler does not see: accept and
 * connect forget what the table knew of the descriptors they start, and
 * mt__ep_check finds a closed one when idle, and a number reused behind
 * its back within 1000 ticks. */
#define MT__EP_READY 7u   /* MT_READABLE | MT_WRITABLE | MT_EXCEPT seen */
#define MT__EP_REG 8u     /* in the instance */
#define MT__EP_TYPED 16u  /* whether it is a stream is known */
#define MT__EP_STREAM 32u /* a TCP socket */
#define MT__EP_HUP 64u    /* hang-up, error or urgent data seen: a short read
                           * may leave the end of file, the error or more */

static mt__epfd *mt__ep_ent(mt_sched *s, int fd)
{
    if ((size_t)fd >= s->io.cap) {
        size_t cap = s->io.cap ? s->io.cap : 64, i;
        mt__epfd *tab;
        while (cap <= (size_t)fd)
            cap *= 2;
        tab = (mt__epfd *)MT_REALLOC(s->io.fds, cap * sizeof *tab);
        if (!tab)
            return NULL;
        for (i = s->io.cap; i < cap; i++) {
            tab[i].waiters = NULL;
            tab[i].st = 0;
        }
        s->io.fds = tab;
        s->io.cap = cap;
    }
    return s->io.fds + fd;
}

/* The entry of fd if the instance holds fd, else NULL. */
static mt__epfd *mt__ep_reg(const mt_sched *s, int fd)
{
    mt__epfd *e;
    if (fd < 0 || (size_t)fd >= s->io.cap)
        return NULL;
    e = s->io.fds + fd;
    return (e->st & MT__EP_REG) ? e : NULL;
}

static int mt__ep_ctl(mt_sched *s, int op, int fd)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLET | EPOLLIN | EPOLLRDHUP | EPOLLOUT | EPOLLPRI;
    ev.data.fd = fd;
    return MT__SYS(epoll_ctl)(s->io.epfd, op, fd, &ev);
}

/* Put fd in the instance: it reports at once what is ready already. A
 * descriptor it still holds (its number forgotten, the file not closed)
 * is modified instead. Returns 0 or an error code. */
static int mt__ep_register(mt_sched *s, int fd, mt__epfd *e)
{
    if (mt__ep_ctl(s, EPOLL_CTL_ADD, fd) < 0 &&
        (errno != EEXIST || mt__ep_ctl(s, EPOLL_CTL_MOD, fd) < 0))
        return errno == EBADF ? MT_EBADF : MT_ESYS(errno);
    if (!(e->st & MT__EP_REG))
        s->io.nreg++;
    e->st = MT__EP_REG;
    return 0;
}

/* The table forgets fd (the instance let it go, or will not report it). */
static void mt__ep_forget(mt_sched *s, mt__epfd *e)
{
    if (e->st & MT__EP_REG)
        s->io.nreg--;
    e->st = 0;
}

/* Modifying the registration makes the instance report fd if it is ready
 * now: the edge a spurious EAGAIN swallowed is not lost. */
static void mt__io_recheck(mt_sched *s, int fd)
{
    if (mt__ep_reg(s, fd))
        (void)mt__ep_ctl(s, EPOLL_CTL_MOD, fd);
}

/* Edges may wait in the instance for descriptors no task waits on. */
static int mt__io_held(const mt_sched *s) { return s->io.nreg > 0; }

/* Wake every waiter of fd with err. */
static void mt__ep_fail(mt_sched *s, int fd, int err)
{
    mt_task **slot = &s->io.fds[fd].waiters, *t;
    while ((t = *slot) != NULL) {
        *slot = t->next;
        t->next = NULL;
        s->io.n--;
        mt__io_wake(s, t, 0, err);
    }
}

static int mt__io_pipe(mt_sched *s)
{
    struct epoll_event ev;

    if (!s->io.open)
        return 0; /* registered when the instance opens */
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN; /* level: stays ready until drained */
    ev.data.fd = s->wake_fd[0];
    if (epoll_ctl(s->io.epfd, EPOLL_CTL_ADD, s->wake_fd[0], &ev) < 0)
        return MT_ESYS(errno);
    return 0;
}

static int mt__ep_open(mt_sched *s)
{
    if (s->io.open)
        return 0;
    s->io.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->io.epfd < 0)
        return MT_ESYS(errno);
    s->io.open = 1;
    s->io.pid = (long)getpid();
    return s->wake_pipe ? mt__io_pipe(s) : 0;
}

/* Append t to its descriptor's waiters, registering the descriptor if the
 * instance does not hold it yet. */
static int mt__io_add(mt_sched *s, mt_task *t)
{
    int fd = MT__IO_FD(t), r = mt__ep_open(s);
    mt__epfd *e;
    mt_task **pp;

    if (r)
        return r;
    e = mt__ep_ent(s, fd);
    if (!e)
        return MT_ENOMEM;
    if (!(e->st & MT__EP_REG) && (r = mt__ep_register(s, fd, e)) != 0)
        return r;
    if (!s->io.n) /* the first waiter: closed descriptors within 1000 ticks */
        s->io.check_at = (mt_time)(mt__cycle_now(s) + 1000);
    e->st &= (unsigned char)~(unsigned)MT__IO_EV(t); /* its try found them not ready */
    for (pp = &e->waiters; *pp; pp = &(*pp)->next) {
    } /* first come, first served, as with select */
    t->next = NULL;
    *pp = t;
    s->io.n++;
    return 0;
}

static void mt__io_del(mt_sched *s, mt_task *t)
{
    int fd = MT__IO_FD(t);
    mt_task **pp;

    if ((size_t)fd >= s->io.cap)
        return;
    for (pp = &s->io.fds[fd].waiters; *pp && *pp != t; pp = &(*pp)->next) {
    }
    if (!*pp)
        return;
    *pp = t->next;
    t->next = NULL;
    s->io.n--;
}

/* 1 if fd's events ev are known not ready: the operation waits first. */
static int mt__io_idle(const mt_sched *s, int fd, int ev)
{
    const mt__epfd *e = mt__ep_reg(s, fd);
    return e && !(e->st & (unsigned)ev);
}

/* TCP: Unix streams stop a read at passed descriptors and credentials. */
static int mt__ep_is_stream(int fd)
{
    int type = 0;
    socklen_t len = sizeof type;
    struct sockaddr_storage a;
    socklen_t alen = sizeof a;

    if (MT__SYS(getsockopt)(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM)
        return 0;
    return getsockname(fd, (struct sockaddr *)(void *)&a, &alen) == 0 &&
           (a.ss_family == AF_INET || a.ss_family == AF_INET6);
}

/* A read of fd returned less than it asked for: a TCP socket has no more
 * now (datagrams, terminals, pipes and Unix sockets do not tell: they try
 * again). Its type is asked once. */
static void mt__io_drained(mt_sched *s, int fd)
{
    mt__epfd *e = mt__ep_reg(s, fd);

    if (!e)
        return;
    if (!(e->st & MT__EP_TYPED))
        e->st |= (unsigned char)(MT__EP_TYPED | (mt__ep_is_stream(fd) ? MT__EP_STREAM : 0));
    if ((e->st & MT__EP_STREAM) && !(e->st & MT__EP_HUP))
        e->st &= (unsigned char)~(unsigned)MT_READABLE;
}

/* fd names a descriptor just started (accepted, connecting): what the
 * table knew is of a closed one, and its waiters waited on that one. */
static void mt__io_fresh(mt_sched *s, int fd)
{
    if (fd < 0 || (size_t)fd >= s->io.cap || !s->io.fds[fd].st)
        return;
    mt__ep_fail(s, fd, MT_EBADF);
    mt__ep_forget(s, s->io.fds + fd);
}

/* mt_close: fd's waiters end with MT_EBADF; the instance lets it go. */
static void mt__io_close(mt_sched *s, int fd)
{
    mt__epfd *e;

    if ((size_t)fd >= s->io.cap)
        return;
    e = s->io.fds + fd;
    mt__ep_fail(s, fd, MT_EBADF);
    /* A child after fork shares the parent's instance: leave it alone. */
    if ((e->st & MT__EP_REG) && s->io.pid == (long)getpid())
        (void)mt__ep_ctl(s, EPOLL_CTL_DEL, fd);
    mt__ep_forget(s, e);
}

/* Each descriptor with waiters: is it closed (they fail, MT_EBADF)? The
 * full check also asks whether the registration is still this file's: a
 * number reused by another is registered again; and the modification
 * re-reports what is ready, which catches up with any edge an inference
 * got wrong. It is the costlier (an idle loop would have every writable
 * descriptor reported each time): once in 1000 ticks. */
static void mt__ep_verify(mt_sched *s, int full)
{
    size_t fd;
    for (fd = 0; fd < s->io.cap; fd++) {
        mt__epfd *e = s->io.fds + fd;
        int r;
        if (!e->waiters)
            continue;
        if (!full) {
            if (fcntl((int)fd, F_GETFD) < 0 && errno == EBADF)
                r = MT_EBADF;
            else
                continue;
        } else if (mt__ep_ctl(s, EPOLL_CTL_MOD, (int)fd) == 0) {
            continue;
        } else if (errno == ENOENT) {
            if ((r = mt__ep_register(s, (int)fd, e)) == 0)
                continue;
        } else {
            r = errno == EBADF ? MT_EBADF : MT_ESYS(errno);
        }
        mt__ep_forget(s, e);
        mt__ep_fail(s, (int)fd, r);
    }
}

/* fd reported events ev: they are ready until an operation finds them not;
 * wake its waiters that wanted them. */
static void mt__ep_ready(mt_sched *s, int fd, unsigned ev)
{
    int ready = ((ev & (EPOLLIN | EPOLLRDHUP)) ? MT_READABLE : 0) |
                ((ev & EPOLLOUT) ? MT_WRITABLE : 0) | ((ev & EPOLLPRI) ? MT_EXCEPT : 0);
    mt_task **pp, *t;
    mt__waitq later = {NULL, NULL};

    if ((size_t)fd >= s->io.cap)
        return;
    if (ev & (EPOLLHUP | EPOLLERR)) /* ends every wait: see mt__poll_ready */
        ready = MT_READABLE | MT_WRITABLE | MT_EXCEPT;
    s->io.fds[fd].st |= (unsigned char)ready;
    if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR | EPOLLPRI))
        s->io.fds[fd].st |= (unsigned char)MT__EP_HUP;
    for (pp = &s->io.fds[fd].waiters; (t = *pp) != NULL;) {
        if (!(ready & MT__IO_EV(t))) {
            pp = &t->next;
            continue;
        }
        *pp = t->next;
        t->next = NULL;
        s->io.n--;
        mt__io_later(&later, t, ready & MT__IO_EV(t), 0);
    }
    mt__io_wake_later(s, &later);
}

/* Never block past a second while tasks wait: epoll drops a closed
 * descriptor without a word, and only the check finds it. */
static long mt__io_limit(const mt_sched *s, long ms)
{
    return s->io.n && (ms < 0 || ms > 1000) ? 1000 : ms;
}

/* Closed descriptors are looked for when the loop is idle; the full check
 * runs once a second (1000 ticks) while tasks wait. 1 if it ran. */
static int mt__ep_check(mt_sched *s, int idle)
{
    mt_time now = mt__cycle_now(s);
    int due;

    if (!s->io.n)
        return 0;
    due = !mt_time_before(now, s->io.check_at);
    if (due)
        s->io.check_at = (mt_time)(now + 1000);
    if (due || idle)
        mt__ep_verify(s, due);
    return due;
}

/* One epoll_wait: wake the waiters of what came. *n: the events (-1: the
 * wait failed). Returns 1 if the wake pipe was among them. */
static int mt__ep_wait(mt_sched *s, long ms, int *n)
{
    struct epoll_event evs[256];
    int i, piped = 0;

    *n = MT__SYS(epoll_wait)(s->io.epfd, evs, 256, mt__poll_ms(ms));
    if (*n < 0 && errno != EINTR) { /* fail them all, rather than spin */
        int err = MT_ESYS(errno);
        size_t fd;
        for (fd = 0; fd < s->io.cap; fd++)
            mt__ep_fail(s, (int)fd, err);
        return 0;
    }
    for (i = 0; i < *n; i++) {
        if (s->wake_pipe && evs[i].data.fd == s->wake_fd[0])
            piped = 1;
        else
            mt__ep_ready(s, evs[i].data.fd, evs[i].events);
    }
    return piped;
}

static int mt__io_poll(mt_sched *s, long ms)
{
    int n, piped;

    if (mt__ep_open(s)) /* no instance: still block as asked, on the pipe */
        return mt__poll_pipe(s, ms);
    ms = mt__io_limit(s, ms);
    piped = mt__ep_wait(s, ms, &n);
    /* What the full check registered again or re-reported is taken in
     * this cycle, not after the clock moved on (a virtual clock jumps). */
    if (n >= 0 && mt__ep_check(s, n == 0 && (ms != 0 || !s->rq.head)))
        piped |= mt__ep_wait(s, 0, &n);
    return piped;
}

/* The instance is one pollable descriptor for all the others. */
static int mt__io_fds(mt_sched *s, struct pollfd *fds, int cap)
{
    int r = mt__ep_open(s);

    if (r)
        return r;
    if (cap > 0) {
        fds[0].fd = s->io.epfd;
        fds[0].events = POLLIN;
        fds[0].revents = 0;
    }
    return 1;
}

/* Move src's waiters of fd to dst; one that cannot be registered hears
 * why. What dst's edges reported is "seen", not "ready now": its instance
 * is asked to report fd again if it is ready. */
static void mt__ep_move(mt_sched *dst, mt_sched *src, int fd, mt__waitq *later)
{
    mt_task **slot = &src->io.fds[fd].waiters, *t;

    while ((t = *slot) != NULL) {
        mt__epfd *d = mt__ep_reg(dst, fd);
        int r, seen = d ? (int)(d->st & (unsigned)MT__IO_EV(t)) : 0;
        *slot = t->next;
        t->next = NULL;
        src->io.n--;
        r = mt__io_add(dst, t);
        if (!r && seen)
            mt__io_recheck(dst, fd);
        if (r)
            mt__io_later(later, t, 0, r);
    }
}

/* src keeps no registration: it would report the descriptors to its next
 * poll, or to a foreign loop watching src. */
static void mt__io_merge(mt_sched *dst, mt_sched *src)
{
    size_t fd;
    mt__waitq later = {NULL, NULL}; /* woken once all moved: see mt__io_later */

    for (fd = 0; fd < src->io.cap; fd++) {
        mt__epfd *e = src->io.fds + fd;
        mt__ep_move(dst, src, (int)fd, &later);
        if (e->st & MT__EP_REG)
            (void)mt__ep_ctl(src, EPOLL_CTL_DEL, (int)fd);
        mt__ep_forget(src, e);
    }
    mt__io_wake_later(dst, &later);
}

static void mt__io_free(mt_sched *s)
{
    if (s->io.open)
        close(s->io.epfd);
    if (s->io.fds)
        MT_FREE(s->io.fds);
}
#endif /* epoll */
#endif /* MT_IO */

#if MT_IO
#define MT__IO_WAITERS(s) ((s)->io.n)
#else
#define MT__IO_WAITERS(s) 0UL
#endif

/* ---- Waiting for the first of several (MT_CHOOSE) ---------------------------
 * Each clause's node stands for the task where a single wait would put it:
 * in its object's wait list, or with the I/O backend, in a CL_ state, its
 * up.parent the task. Objects serve it first come, first served with their
 * other waiters. The task parks in MT__S_CHOOSE (w.obj: the clauses; the
 * first keeps their count and which one fired). The first object to wake a
 * node hands over its share as to any waiter (an item promised, a slot, a
 * unit, a post) and fires the clause: the other nodes are withdrawn at
 * once and the task wakes; it completes the clause when it resumes. So one
 * clause completes and the others leave their objects as they were.
 * Arming k clauses is O(k), besides what the backend does per descriptor;
 * a wake-up is O(1) plus O(k) to withdraw the others. */

enum { MT__CL_NONE, MT__CL_GET, MT__CL_PUT, MT__CL_EVENT, MT__CL_SEM, MT__CL_SIGNAL, MT__CL_FD };

/* c[0].fired while nodes are being armed or withdrawn (else -1, or the
 * clause that fired). n and fired must hold MT_CHOOSE_MAX. */
#define MT__CL_BUSY (-2)
typedef char mt__choose_max_fits[MT_CHOOSE_MAX >= 1 && MT_CHOOSE_MAX <= 32767 ? 1 : -1];

static void mt__clause_set(mt_clause *c, int kind, void *obj, void *item)
{
    MT__ZERO(mt_clause, empty); /* cppcheck-suppress unassignedVariable */
    *c = empty;
    c->kind = (unsigned char)kind;
    c->obj = obj;
    c->item = item;
    c->fd = -1;
}

MT_API void mt_clause_get(mt_clause *c, mt_queue *q, void *item)
{
    if (c)
        mt__clause_set(c, MT__CL_GET, q, item);
}

MT_API void mt_clause_put(mt_clause *c, mt_queue *q, const void *item)
{
    if (c) /* read only: the item is copied in */
        mt__clause_set(c, MT__CL_PUT, q, (void *)(uintptr_t)item);
}

MT_API void mt_clause_event(mt_clause *c, mt_event *e)
{
    if (c)
        mt__clause_set(c, MT__CL_EVENT, e, NULL);
}

MT_API void mt_clause_sem(mt_clause *c, mt_sem *sem)
{
    if (c)
        mt__clause_set(c, MT__CL_SEM, sem, NULL);
}

MT_API void mt_clause_signal(mt_clause *c, mt_signal *sig)
{
    if (c)
        mt__clause_set(c, MT__CL_SIGNAL, sig, NULL);
}

#if MT_IO
MT_API void mt_clause_fd(mt_clause *c, int fd, int events)
{
    if (!c)
        return;
    mt__clause_set(c, MT__CL_FD, NULL, NULL);
    c->fd = fd;
    c->events = (unsigned char)(events & 7);
}

MT_API int mt_clause_ready(const mt_clause *c) { return c ? c->ready : 0; }
#endif

/* The semaphore of a semaphore or signal clause. */
static mt_sem *mt__clause_sem(const mt_clause *c)
{
    return c->kind == MT__CL_SIGNAL ? &((mt_signal *)c->obj)->sem : (mt_sem *)c->obj;
}

/* 0 if the clauses are well formed and free (their readiness cleared),
 * else the error code. */
static int mt__choice_bad(mt_clause *c, int n)
{
    int i;

    if (!c || n < 1 || n > MT_CHOOSE_MAX)
        return MT_EINVAL;
    for (i = 0; i < n; i++) {
        mt_clause *k = &c[i];
        if (MT__ST(&k->node) != MT_NEW)
            return MT_EBUSY; /* armed: another task waits on these clauses */
        k->ready = 0;
        if (k->kind == MT__CL_GET || k->kind == MT__CL_PUT) {
            if (!k->obj || !k->item)
                return MT_EINVAL;
        } else if (k->kind == MT__CL_EVENT || k->kind == MT__CL_SEM ||
                   k->kind == MT__CL_SIGNAL) {
            if (!k->obj)
                return MT_EINVAL;
#if MT_IO
        } else if (k->kind == MT__CL_FD) {
            if (k->fd < 0 || !k->events)
                return MT_EINVAL;
            if (!mt__io_takes(k->fd))
                return MT_ERANGE;
#endif
        } else {
            return MT_EINVAL; /* not described (zeroed), or not with this build */
        }
    }
    return 0;
}

/* Complete clause c now if it can: MT__GO (t->err its error, if any),
 * else MT__PROCEED. */
static int mt__clause_now(mt_task *t, mt_clause *c)
{
    mt_queue *q = (mt_queue *)c->obj;

    switch (c->kind) {
    case MT__CL_GET:
        if (!mt__queue_has_item(q))
            return MT__PROCEED;
        mt__queue_take(q, c->item, q->held);
        return MT__GO;
    case MT__CL_PUT: {
        int r;
        if (!mt__queue_has_room(q))
            return MT__PROCEED;
        r = mt__queue_store(q, c->item);
        return r ? mt__out_set(t, r, NULL) : MT__GO;
    }
    case MT__CL_EVENT:
        return ((mt_event *)c->obj)->set ? MT__GO : MT__PROCEED;
#if MT_IO
    case MT__CL_FD: {
        int r = mt__io_probe(c->fd, c->events);
        if (r < 0)
            return mt__out_set(t, r, NULL);
        c->ready = (unsigned char)r;
        return r ? MT__GO : MT__PROCEED;
    }
#endif
    default: { /* a semaphore, or a signal's */
        mt_sem *sem = mt__clause_sem(c);
        if (!sem->count)
            return MT__PROCEED;
        sem->count--;
        return MT__GO;
    }
    }
}

static int mt__clause_op(mt_task *x);

/* Put clause c's node where a waiting task would be. 0, or an error. */
static int mt__clause_arm(mt_sched *s, mt_task *t, mt_clause *c)
{
    static const unsigned char st[] = {MT__S_CL_SEM, MT__S_CL_QGET, MT__S_CL_QPUT,
                                       MT__S_CL_EVENT, MT__S_CL_SEM, MT__S_CL_SEM,
                                       MT__S_CL_IO};
    mt_task *node = &c->node;
    mt__waitq *list;

    node->next = NULL;
    node->fn = mt__clause_op;
    node->up.parent = t;
    node->bits = 0;
    MT__SET_ST(node, st[c->kind]);
#if MT_IO
    if (c->kind == MT__CL_FD) {
        int r;
        mt__out_waits_fd(node, c->fd, c->events);
        r = mt__io_add(s, node);
        if (r)
            MT__SET_ST(node, MT_NEW);
        return r;
    }
#else
    (void)s;
#endif
    if (c->kind == MT__CL_GET)
        list = &((mt_queue *)c->obj)->getters;
    else if (c->kind == MT__CL_PUT)
        list = &((mt_queue *)c->obj)->putters;
    else if (c->kind == MT__CL_EVENT)
        list = &((mt_event *)c->obj)->waiters;
    else
        list = &mt__clause_sem(c)->waiters;
    mt__waitq_push(list, node);
    mt__out_waits_on(node, list);
    return 0;
}

/* Withdraw the armed nodes among c[0, n). */
static void mt__clauses_off(mt_sched *s, mt_clause *c, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        if (MT__ST(&c[i].node) >= MT__S_CL_QGET) {
            mt__withdraw(s, &c[i].node);
            MT__SET_ST(&c[i].node, MT_NEW);
        }
    }
}

static int mt__choice_park(mt_task *t, mt_clause *c, int n, int *which, long timeout)
{
    mt_sched *s = mt__sched_of(t);
    int i;

    if (timeout == 0)
        return mt__out_set(t, MT_ETIMEDOUT, NULL);
    if (timeout > 0 && mt__timers_full(s))
        return mt__out_set(t, MT_ENOMEM, MT__M("too many timers"));
    c[0].n = (unsigned short)n;
    c[0].fired = MT__CL_BUSY; /* a node failed meanwhile is left alone */
    mt__out_waits_on(t, c);   /* the nodes find their clauses through t */
    for (i = 0; i < n; i++) {
        int r = mt__clause_arm(s, t, &c[i]);
        if (r) { /* a descriptor the backend refused: nothing stays armed */
            mt__clauses_off(s, c, i);
            *which = i;
            return mt__out_set(t, r, NULL);
        }
    }
    c[0].fired = -1;
    mt__park(s, t, MT__S_CHOOSE, c, timeout);
    return MT__WAITING;
}

MT_API int mt__choose(mt_task *t, mt_clause *c, int n, int *which, long timeout)
{
    int r = mt__wait_begin(t, timeout), i, first;

    if (r != MT__PROCEED)
        return r;
    if (!which)
        return mt__out_set(t, MT_EINVAL, MT__M("MT_CHOOSE: NULL which"));
    /* Ready ones are tried from the one after the last chosen: none starves. */
    first = *which >= 0 && *which < n - 1 ? *which + 1 : 0;
    *which = -1;
    r = mt__choice_bad(c, n);
    if (r == MT_EBUSY)
        MT__MISUSE("MT_CHOOSE on clauses armed by another task's wait");
    if (r)
        return mt__out_set(t, r, r == MT_EBUSY ? MT__M("MT_CHOOSE: clauses armed by another wait")
                                               : MT__M("MT_CHOOSE: bad clauses"));
    for (i = 0; i < n; i++) {
        int k = (first + i) % n;
        if (mt__clause_now(t, &c[k]) == MT__GO) {
            *which = k;
            return MT__GO;
        }
    }
    return mt__choice_park(t, c, n, which, timeout);
}

/* A node's fn. Given a node its object woke (its share handed over, the
 * readiness and error in it): the clause fires. Given the waiting task:
 * all its nodes are withdrawn. */
static int mt__clause_op(mt_task *x)
{
    mt_sched *s = mt__sched_of(x);
    mt_task *t = x->up.parent;
    mt_clause *c;

    if (MT__ST(x) == MT__S_CHOOSE) { /* withdraw every node */
        int was;
        c = (mt_clause *)x->w.obj;
        was = c[0].fired;
        c[0].fired = MT__CL_BUSY;
        mt__clauses_off(s, c, c[0].n);
        c[0].fired = (short)was;
        return 0;
    }
    c = (mt_clause *)t->w.obj;
    MT__SET_ST(x, MT_NEW); /* off its list already */
    /* Fired already, or being armed or withdrawn: then only the backend
     * can fail a node (a re-arm inside a withdrawal), handing nothing over. */
    if (c[0].fired != -1)
        return 0;
    c[0].fired = (short)((mt_clause *)(void *)x - c);
    mt__unpark(s, t); /* the other nodes, and the timer */
    mt__wake(s, t, x->err);
    return 0;
}

/* Resumed: the clause that fired completes (an item promised to it is
 * taken, its slot filled). */
MT_API void mt__chosen(mt_task *t, mt_clause *c, int *which)
{
    int k = c ? c[0].fired : -1;
    mt_queue *q;

    if (which)
        *which = k;
    if (k < 0)
        return;
    c[0].fired = -1;
    if (t->err)
        return;
    q = (mt_queue *)c[k].obj;
    if (c[k].kind == MT__CL_GET) {
        q->held--;
        mt__queue_take(q, c[k].item, 0);
    } else if (c[k].kind == MT__CL_PUT) {
        q->freed--;
        (void)mt__queue_store(q, c[k].item); /* its slot was kept: cannot fail */
    }
}

/* ---- Wake-ups from interrupt handlers and threads ---------------------------
 * The flags are written by handlers (and other threads) and read by the
 * scheduler: with GCC or Clang through atomic builtins. Clang has no
 * inline byte atomics where they are not always lock-free (Cortex-M0, AVR:
 * it warns, and calls __atomic_load_1, which no libc there has); there the
 * flags are volatile bytes ordered by fences, which it inlines (a byte load
 * or store is one instruction). Other compilers: plain volatile bytes,
 * which a single-core MCU needs no more, provided the compiler keeps other
 * memory accesses in order around volatile ones (GCC and Clang do not
 * promise that: hence the builtins). A ring's indices (MT_RING_INDEX_T) go
 * the same way.
 *
 * A post stores pending, then signalled; the scheduler clears signalled,
 * then reads pending. A store then a load: another core (or x86's store
 * buffer) may reorder them, so the scan could miss a pending flag whose
 * signalled was then cleared, and the post would wait for the next one.
 * Those four accesses are sequentially consistent (SC stores and loads, or
 * fences around them), which forbids it: the scan sees the flag, or
 * signalled stays set and the next cycle scans again. Where byte exchange
 * is lock-free the take is one (a load and a store could let a post that
 * lands between them be cleared unseen, its data not yet visible here). */
#if defined(__GNUC__) && defined(__ATOMIC_RELEASE) &&                                       \
    !(defined(__clang__) && defined(__GCC_ATOMIC_CHAR_LOCK_FREE) &&                         \
      (__GCC_ATOMIC_CHAR_LOCK_FREE < 2 || __GCC_ATOMIC_INT_LOCK_FREE < 2))
#define MT__FLAG_SET(f) __atomic_store_n(&(f), 1, __ATOMIC_SEQ_CST)
#define MT__FLAG_GET(f) __atomic_load_n(&(f), __ATOMIC_ACQUIRE)
#define MT__IDX_SET(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define MT__IDX_GET(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
static int mt__flag_take(MT_FLAG_T *f)
{
    if (!__atomic_load_n(f, __ATOMIC_SEQ_CST))
        return 0;
#if __GCC_ATOMIC_CHAR_LOCK_FREE == 2
    return __atomic_exchange_n(f, 0, __ATOMIC_SEQ_CST) != 0;
#else
    __atomic_store_n(f, 0, __ATOMIC_SEQ_CST); /* no exchange (Cortex-M0) */
    return 1;
#endif
}
#elif defined(__GNUC__)
#define MT__FLAG_SET(f) do { __atomic_thread_fence(__ATOMIC_SEQ_CST); (f) = 1; } while (0)
#define MT__FLAG_GET(f) mt__flag_get(&(f))
static int mt__flag_get(const MT_FLAG_T *f)
{
    int v = *f;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return v;
}
static int mt__flag_take(MT_FLAG_T *f)
{
    int v = *f;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (!v)
        return 0;
    *f = 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST); /* the clear, before later reads */
    return 1;
}
#define MT__IDX_SET(x, v) do { __atomic_thread_fence(__ATOMIC_RELEASE); (x) = (v); } while (0)
#define MT__IDX_GET(x) mt__idx_get(&(x))
static unsigned mt__idx_get(const volatile MT_RING_INDEX_T *x)
{
    unsigned v = *x;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return v;
}
#else
#define MT__FLAG_SET(f) ((f) = 1)
#define MT__FLAG_GET(f) (f)
#define MT__IDX_SET(x, v) ((x) = (v))
#define MT__IDX_GET(x) (x)
static int mt__flag_take(MT_FLAG_T *f)
{
    if (!*f)
        return 0;
    *f = 0;
    return 1;
}
#endif

/* A post skips the self-pipe when an earlier one's byte stands for it:
 * that takes an exchange that is safe in a signal handler (lock-free). */
#if MT_IO && defined(__GNUC__) && defined(__ATOMIC_RELEASE) && defined(__GCC_ATOMIC_CHAR_LOCK_FREE)
#define MT__POST_COALESCES (__GCC_ATOMIC_CHAR_LOCK_FREE == 2)
#else
#define MT__POST_COALESCES 0
#endif

#if MT_IO
/* Empty the wake pipe. A post stores its flags first and writes its byte
 * last, so a byte may come after the flags were taken: whenever the backend
 * sees the pipe readable it is drained too, and a late byte costs one
 * extra cycle, never a loop that wakes at once for ever. */
static void mt__wake_pipe_drain(mt_sched *s)
{
    char b[256];
    while (read(s->wake_fd[0], b, sizeof b) > 0) {
    }
}
#endif

/* Turn posts into wake-ups. The flag is cleared before the scan, so a post
 * that lands during the scan is seen now or at the next cycle (see the
 * ordering above). A ring's wake-up is decided by its count, not by its
 * flag: a post merged into an earlier one, whose item was taken, still
 * leaves its item to be seen here or at the next cycle. */
static void mt__take_signals(mt_sched *s)
{
    mt_signal *sig;

    (void)mt__flag_take(&s->signalled);
#if MT_IO
    if (s->wake_pipe)
        mt__wake_pipe_drain(s);
#endif
    for (sig = s->signals; sig; sig = sig->next) {
        int posted = mt__flag_take(&sig->pending);
        if (sig->ring ? !mt_ring_count((const mt_ring *)sig) : !posted)
            continue; /* a ring whose items were taken: nothing to wake for */
        if (sig->sem.waiters.head || !sig->sem.count)
            (void)mt_sem_signal(&sig->sem);
    }
}

#if MT_IO
/* One self-pipe per scheduler, both ends non-blocking, watched by the
 * backend: a post writes a byte, so a blocked cycle wakes at once. */
static int mt__wake_pipe_open(mt_sched *s)
{
    int r;

    if (pipe(s->wake_fd) < 0)
        return MT_ESYS(errno);
    r = mt_fd_nonblock(s->wake_fd[0]);
    if (!r)
        r = mt_fd_nonblock(s->wake_fd[1]);
    if (!r)
        r = mt__io_pipe(s);
    if (r) { /* no half-made pipe: the next init tries afresh */
        close(s->wake_fd[0]);
        close(s->wake_fd[1]);
        return r;
    }
    s->wake_pipe = 1;
    return 0;
}
#endif

/* 1 if sig is in s's list. */
static int mt__signal_of(const mt_sched *s, const mt_signal *sig)
{
    const mt_signal *p;
    for (p = s->signals; p && p != sig; p = p->next) {
    }
    return p != NULL;
}

#if MT_THREADS
/* Take sig off s's list (it is there): posts to it are then nothing. */
static void mt__signal_drop(mt_sched *s, mt_signal *sig)
{
    mt_signal **l;

    for (l = &s->signals; *l && *l != sig; l = &(*l)->next) {
    }
    if (*l)
        *l = sig->next;
    sig->next = NULL;
    sig->sched = NULL; /* registered nowhere: init need not look */
}
#endif

MT_API int mt_signal_init(mt_sched *s, mt_signal *sig)
{
    if (!s || !sig)
        return MT_EINVAL;
    if (mt__signal_of(s, sig)) /* registered already: linking it again */
        return 0;              /* would make the list a loop */
    if (sig->sched && sig->sched != s && mt__signal_of(sig->sched, sig))
        return MT_EBUSY; /* another scheduler's: merge or destroy that first */
    sig->pending = 0;
    sig->ring = 0; /* mt_ring_init sets it after */
    sig->sched = s;
    mt_sem_init(&sig->sem, 0);
    /* Before anything can fail: a post to a signal whose init failed then
     * only sets flags that the next cycle clears. */
    s->take_signals = mt__take_signals; /* linked in only if signals are used */
#if MT_IO
    if (!s->wake_pipe) {
        int r = mt__wake_pipe_open(s);
        if (r)
            return r;
    }
#endif
    sig->next = s->signals;
    s->signals = sig;
    return 0;
}

MT_API void mt_signal_post(mt_signal *sig)
{
    mt_sched *s = sig ? sig->sched : NULL; /* read once */

    if (!s)
        return; /* never initialised, or its scheduler destroyed: nothing */
    /* Stores, or a lock-free exchange: safe in a handler. */
    MT__FLAG_SET(sig->pending);
#if MT__POST_COALESCES
    /* The first post since the scheduler took its flags writes the byte;
     * a later one finds signalled set, so that byte (or the take still to
     * come, which will see this pending flag) stands for it too. */
    if (__atomic_exchange_n(&s->signalled, 1, __ATOMIC_SEQ_CST))
        return;
#else
    MT__FLAG_SET(s->signalled);
#endif
#if MT_IO
    if (s->wake_pipe) { /* write(2) is async-signal-safe */
        int e = errno;
        char b = 1;
        ssize_t r = write(s->wake_fd[1], &b, 1); /* full: it wakes anyway */
        (void)r;
        errno = e;
    }
#endif
}

MT_API int mt_sched_signalled(const mt_sched *s) { return s && MT__FLAG_GET(s->signalled); }

MT_API int mt__signal_wait(mt_task *t, mt_signal *sig, long timeout)
{
    if (!sig) {
        int r = mt__wait_begin(t, timeout);
        return r != MT__PROCEED ? r : mt__out_set(t, MT_EINVAL, MT__M("MT_SIGNAL_WAIT: NULL signal"));
    }
    return mt__sem_wait(t, &sig->sem, timeout);
}

/* ---- The ring -------------------------------------------------------------
 * Indices run over [0, 2 * cap), so a full ring (tail - head == cap) and an
 * empty one (tail == head) differ and every slot of the caller's buffer is
 * used; slot i is i mod cap. The producer writes the item, then publishes
 * it with a release store of tail; the consumer reads tail with acquire,
 * copies, then frees the slot with a release store of head, which the
 * producer reads with acquire before it writes the slot again. */

static unsigned mt__rb_next(const mt_ring *r, unsigned i)
{
    return i + 1 == 2u * r->cap ? 0 : i + 1;
}

static unsigned char *mt__rb_slot(const mt_ring *r, unsigned i)
{
    return r->buf + (size_t)(i < r->cap ? i : i - r->cap) * r->size;
}

static size_t mt__rb_held(const mt_ring *r, unsigned head, unsigned tail)
{
    return tail >= head ? tail - head : tail + 2u * r->cap - head;
}

MT_API int mt_ring_init(mt_sched *s, mt_ring *r, void *buf, size_t size, size_t capacity)
{
    int e;

    if (!s || !r || !buf || !size || !capacity || capacity > MT_RING_CAP_MAX ||
        size > (size_t)PTRDIFF_MAX / capacity)
        return MT_EINVAL;
    e = mt_signal_init(s, &r->sig);
    if (e)
        return e;
    r->buf = (unsigned char *)buf;
    r->size = size;
    r->cap = (MT_RING_INDEX_T)capacity;
    r->head = 0;
    r->tail = 0;
    r->sig.ring = 1;
    return 0;
}

/* Copy an item in: 1, or 0 when full. The producer's (one at a time). */
static int mt__rb_put(mt_ring *r, const void *item)
{
    unsigned tail = r->tail; /* its own index: no ordering needed */

    if (mt__rb_held(r, MT__IDX_GET(r->head), tail) == r->cap)
        return 0;
    mt__copy(mt__rb_slot(r, tail), item, r->size);
    MT__IDX_SET(r->tail, (MT_RING_INDEX_T)mt__rb_next(r, tail));
    return 1;
}

MT_API int mt_ring_put(mt_ring *r, const void *item)
{
    if (!r || !item || !r->cap)
        return MT_EINVAL;
    if (!mt__rb_put(r, item))
        return MT_EAGAIN;
    mt_signal_post(&r->sig);
    return 0;
}

/* Copy the oldest item out: 1, or 0 when empty. */
static int mt__rb_take(mt_ring *r, void *item)
{
    unsigned head = r->head;

    if (head == MT__IDX_GET(r->tail))
        return 0;
    mt__copy(item, mt__rb_slot(r, head), r->size);
    MT__IDX_SET(r->head, (MT_RING_INDEX_T)mt__rb_next(r, head));
    return 1;
}

MT_API int mt_ring_get(mt_ring *r, void *item)
{
    if (!r || !item || !r->cap)
        return MT_EINVAL;
    return mt__rb_take(r, item) ? 0 : MT_EAGAIN;
}

MT_API size_t mt_ring_count(const mt_ring *r)
{
    if (!r || !r->cap)
        return 0;
    return mt__rb_held(r, MT__IDX_GET(r->head), MT__IDX_GET(r->tail));
}

/* Take an item now, or park on the ring's semaphore, whatever unit it
 * holds (one given while no one waited, for items since taken): the next
 * put's post wakes the task once the scheduler sees the ring hold an item. */
MT_API int mt__ring_wait(mt_task *t, mt_ring *r, void *item, long timeout)
{
    int rc = mt__wait_begin(t, timeout);

    if (rc != MT__PROCEED)
        return rc;
    if (!r || !item || !r->cap)
        return mt__out_set(t, MT_EINVAL, MT__M("MT_RING_GET: NULL or uninitialised ring, or NULL item"));
    if (mt__rb_take(r, item))
        return MT__GO;
    return mt__park_on(t, &r->sig.sem.waiters, MT__S_SEM, timeout);
}

/* Woken: the scheduler saw an item, and only this consumer takes them. */
MT_API void mt__ring_got(mt_task *t, void *item)
{
    mt_ring *r = MT__CONTAINER(t->w.obj, mt_ring, sig.sem.waiters);

    if (!mt__rb_take(r, item))
        (void)mt__out_set(t, MT_EAGAIN, MT__M("MT_RING_GET: another consumer took the item"));
}

#if MT_THREADS
/* ---- The channel --------------------------------------------------------------
 * A ring whose producers take turns under a lock: the one holding it is,
 * for its put, the ring's one producer (the lock's acquire shows it the
 * tail the last one stored). The lock covers the copy and two index
 * accesses; the post comes after it. The consumer's side is the ring's. */

static void mt__chan_lock(mt_chan *c)
{
    unsigned spins = 0;

    while (__atomic_exchange_n(&c->lock, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(&c->lock, __ATOMIC_RELAXED))
            if (++spins % 64 == 0)
                (void)sched_yield(); /* its holder may be preempted: let it on */
}

/* A put: 1, or 0 when full. */
static int mt__chan_try(mt_chan *c, const void *item)
{
    int put;

    mt__chan_lock(c);
    put = mt__rb_put(&c->ring, item);
    __atomic_store_n(&c->lock, 0, __ATOMIC_RELEASE);
    if (put)
        mt_signal_post(&c->ring.sig);
    return put;
}

MT_API int mt_chan_init(mt_sched *s, mt_chan *c, void *buf, size_t size, size_t capacity)
{
    if (!c)
        return MT_EINVAL;
    c->lock = 0;
    return mt_ring_init(s, &c->ring, buf, size, capacity);
}

MT_API int mt_chan_put(mt_chan *c, const void *item)
{
    if (!c || !item || !c->ring.cap)
        return MT_EINVAL;
    return mt__chan_try(c, item) ? 0 : MT_EAGAIN;
}

MT_API int mt_chan_get(mt_chan *c, void *item) { return mt_ring_get(mt__chan_ring(c), item); }

MT_API size_t mt_chan_count(const mt_chan *c) { return c ? mt_ring_count(&c->ring) : 0; }

MT_API mt_ring *mt__chan_ring(mt_chan *c) { return c ? &c->ring : NULL; }

/* A ring wait that counts among the waits other threads end, so that a
 * consumer waiting for ever is not stranded. */
MT_API int mt__chan_get_wait(mt_task *t, mt_chan *c, void *item, long timeout)
{
    int r = mt__ring_wait(t, mt__chan_ring(c), item, timeout);

    if (r == MT__WAITING)
        mt__sched_of(t)->xwaits++;
    return r;
}

MT_API int mt__chan_got(mt_task *t, void *item)
{
    mt__sched_of(t)->xwaits--; /* every park resumes here */
    if (!t->err)
        mt__ring_got(t, item);
    return MT__GO;
}

/* Put now, or park on the scheduler's list of producers waiting for room
 * (see mt__room_poll). */
static int mt__chan_put_try(mt_task *t, mt_chan *c, const void *item, long timeout)
{
    int r;

    if (!c || !item || !c->ring.cap)
        return mt__out_set(t, MT_EINVAL, MT__M("MT_CHAN_PUT: NULL or uninitialised channel, or NULL item"));
    if (mt__chan_try(c, item))
        return MT__GO;
    r = mt__park_on(t, &mt__sched_of(t)->roomq, MT__S_ROOM, timeout);
    if (r == MT__WAITING)
        mt__sched_of(t)->xwaits++; /* a run goes on while it waits */
    return r;
}

MT_API int mt__chan_put_wait(mt_task *t, mt_chan *c, const void *item, long timeout)
{
    int r = mt__wait_begin(t, timeout);

    return r != MT__PROCEED ? r : mt__chan_put_try(t, c, item, timeout);
}

/* Resumed: timed out or cancelled (t->err: raise it), or woken to try
 * again, within what is left of the first timeout (the timer is gone, its
 * deadline kept). */
MT_API int mt__chan_put_again(mt_task *t, mt_chan *c, const void *item, long timeout)
{
    mt__sched_of(t)->xwaits--; /* every park resumes here */
    if (t->err)
        return MT__GO;
    if (MT__DOOMED(t)) /* cancelled while woken to try again: as if parked */
        return mt__out_set(t, MT_ECANCELED, NULL);
    if (timeout > 0) {
        mt_time left = (mt_time)(t->deadline - mt__cycle_now(mt__sched_of(t)));
        timeout = left > (mt_time)MT_TIMEOUT_MAX ? 0 : (long)left;
    }
    return mt__chan_put_try(t, c, item, timeout);
}

/* Wake the producers waiting for room, once a tick, to try again: the
 * consumer is on another thread and knows nothing of them. */
static void mt__room_poll(mt_sched *s)
{
    mt_time now = mt__cycle_now(s);

    if (now == s->room_tick)
        return;
    s->room_tick = now;
    while (mt__wake_first(&s->roomq)) {
    }
}

/* Producers waiting for room move with their scheduler. */
static void mt__merge_room(mt_sched *dst, mt_sched *src)
{
    mt_task *t;

    while ((t = mt__waitq_pop(&src->roomq)) != NULL) {
        mt__waitq_push(&dst->roomq, t);
        t->w.obj = &dst->roomq;
    }
}

/* ---- Work offloaded to a pool of threads --------------------------------------
 * The queue and every work's state change under the pool's lock; a worker
 * posts a finished work's signal under it too, so whoever takes the lock
 * after sees the state and the post together. The state is also stored
 * and loaded atomically, so that a new wait can see a work is busy
 * without the lock of the pool it was last in (which may be stopped).
 * A work's signal is registered with the waiting task's scheduler for the
 * wait only: no post can come after the wait (its work done, dropped or
 * left to a worker that drops it), so its storage need not outlive the
 * scheduler, and the next registration clears a post the wait missed. */
enum { MT__W_IDLE, MT__W_QUEUED, MT__W_RUNNING, MT__W_DONE, MT__W_LEFT };

#define MT__W_GET(w) __atomic_load_n(&(w)->state, __ATOMIC_ACQUIRE)
#define MT__W_SET(w, v) __atomic_store_n(&(w)->state, (v), __ATOMIC_RELEASE)

static mt_work *mt__work_pop(mt_pool *p)
{
    mt_work *w = p->head;

    if (w) {
        p->head = w->next;
        if (!p->head)
            p->tail = NULL;
        w->next = NULL;
    }
    return w;
}

/* Run one work, the lock released meanwhile. Its waiter gone, the result
 * is dropped here, and only then is the work free for another wait. */
static void mt__work_run(mt_pool *p, mt_work *w)
{
    MT__W_SET(w, MT__W_RUNNING);
    pthread_mutex_unlock(&p->lock);
    w->fn(w);
    pthread_mutex_lock(&p->lock);
    if (MT__W_GET(w) == MT__W_LEFT) {
        pthread_mutex_unlock(&p->lock);
        if (w->drop)
            w->drop(w);
        pthread_mutex_lock(&p->lock);
        MT__W_SET(w, MT__W_IDLE);
    } else {
        MT__W_SET(w, MT__W_DONE);
        mt_signal_post(&w->sig);
    }
}

static void *mt__worker(void *arg)
{
    mt_pool *p = (mt_pool *)arg;
    mt_work *w;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->more, &p->lock);
        if ((w = mt__work_pop(p)) == NULL)
            break; /* stopping, nothing left */
        mt__work_run(p, w);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Join the first n workers (told to stop) and mark the pool stopped. */
static void mt__pool_join(mt_pool *p, size_t n)
{
    size_t i;

    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->more);
    pthread_mutex_unlock(&p->lock);
    for (i = 0; i < n; i++)
        (void)pthread_join(p->threads[i], NULL);
    pthread_mutex_lock(&p->lock);
    p->n = 0;
    p->stopping = 0;
    pthread_mutex_unlock(&p->lock);
}

/* The lock and condition are made once and never destroyed: a task whose
 * work finished may settle with the pool after mt_pool_stop. */
static int mt__pool_init(mt_pool *p)
{
    int e;

    if (p->inited)
        return 0;
    if ((e = pthread_mutex_init(&p->lock, NULL)) != 0)
        return MT_ESYS(e);
    if ((e = pthread_cond_init(&p->more, NULL)) != 0) {
        pthread_mutex_destroy(&p->lock);
        return MT_ESYS(e);
    }
    p->inited = 1;
    return 0;
}

/* Workers block every signal from birth (the mask is inherited), so no
 * handler ever runs on one, not even in the instant after it starts. */
MT_API int mt_pool_start(mt_pool *p, size_t n)
{
    sigset_t all, old;
    size_t i;
    int e;

    if (!p || !n || n > MT_POOL_MAX)
        return MT_EINVAL;
    if ((e = mt__pool_init(p)) != 0)
        return e;
    pthread_mutex_lock(&p->lock);
    e = p->n || p->stopping ? MT_EBUSY : 0;
    pthread_mutex_unlock(&p->lock);
    if (e)
        return e;
    (void)sigfillset(&all);
    (void)pthread_sigmask(SIG_BLOCK, &all, &old);
    for (i = 0; i < n && !e; i++)
        if ((e = pthread_create(&p->threads[i], NULL, mt__worker, p)) != 0)
            i--;
    (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        mt__pool_join(p, i);
        return MT_ESYS(e);
    }
    pthread_mutex_lock(&p->lock);
    p->n = n;
    pthread_mutex_unlock(&p->lock);
    return 0;
}

MT_API int mt_pool_stop(mt_pool *p)
{
    size_t n;

    if (!p || !p->inited)
        return MT_EINVAL;
    pthread_mutex_lock(&p->lock);
    n = p->stopping ? 0 : p->n;
    pthread_mutex_unlock(&p->lock);
    if (!n)
        return MT_EINVAL;
    mt__pool_join(p, n);
    return 0;
}

/* The wait is over. Under the pool's lock no post is being made, so w's
 * signal leaves the scheduler there; w becomes free (idle) only after
 * that, and after any drop, since another thread may claim it at once.
 * With the result, w is free again. Without (timed out, cancelled): a
 * queued work leaves the queue; a running one is left to its worker,
 * which drops the result, then frees it; a finished one is dropped here. */
static void mt__work_over(mt_task *t, mt_work *w)
{
    mt_pool *p = w->pool;
    mt_work **l;
    int st, drop = 0;

    pthread_mutex_lock(&p->lock);
    mt__signal_drop(mt__sched_of(t), &w->sig);
    st = MT__W_GET(w);
    if (st == MT__W_QUEUED) {
        for (l = &p->head; *l != w; l = &(*l)->next) {
        }
        *l = w->next;
        if (p->tail == w)
            p->tail = p->head ? MT__CONTAINER(l, mt_work, next) : NULL;
    }
    drop = st == MT__W_DONE && t->err;
    if (st == MT__W_RUNNING)
        MT__W_SET(w, MT__W_LEFT);
    else if (!drop)
        MT__W_SET(w, MT__W_IDLE);
    pthread_mutex_unlock(&p->lock);
    if (drop) { /* busy (done) until dropped */
        if (w->drop)
            w->drop(w);
        MT__W_SET(w, MT__W_IDLE);
    }
}

/* Queue w (claimed): 0, or MT_EINVAL when the pool is stopped or
 * stopping. */
static int mt__work_queue(mt_pool *p, mt_work *w)
{
    int e;

    pthread_mutex_lock(&p->lock);
    e = !p->n || p->stopping ? MT_EINVAL : 0;
    if (!e) {
        w->pool = p;
        w->next = NULL;
        if (p->tail)
            p->tail->next = w;
        else
            p->head = w;
        p->tail = w;
        pthread_cond_signal(&p->more);
    }
    pthread_mutex_unlock(&p->lock);
    return e;
}

/* Claim w (idle to queued, atomically: two tasks, on two threads, cannot
 * both have it), register its wake-up, queue it, park. */
MT_API int mt__work_start(mt_task *t, mt_pool *p, mt_work *w, long timeout)
{
    int r = mt__wait_begin(t, timeout), idle = MT__W_IDLE;

    if (r != MT__PROCEED)
        return r;
    if (!p || !p->inited || !w || !w->fn)
        return mt__out_set(t, MT_EINVAL, MT__M("MT_OFFLOAD: NULL, no fn, or a pool never started"));
    if (!__atomic_compare_exchange_n(&w->state, &idle, MT__W_QUEUED, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return mt__out_set(t, MT_EBUSY, MT__M("MT_OFFLOAD: the work is queued or running"));
    r = mt_signal_init(mt__sched_of(t), &w->sig); /* clears an old post */
    if (!r && (r = mt__work_queue(p, w)) != 0)
        mt__signal_drop(mt__sched_of(t), &w->sig);
    if (r) {
        MT__W_SET(w, MT__W_IDLE);
        return mt__out_set(t, r, MT__M("MT_OFFLOAD: the pool is stopped, or no wake-up"));
    }
    r = mt__park_on(t, &w->sig.sem.waiters, MT__S_SEM, timeout);
    if (r != MT__WAITING) {
        mt__work_over(t, w); /* timeout 0, or no timer: the work goes */
    } else {
        mt__sched_of(t)->xwaits++; /* a run waits for it */
        mt__sched_of(t)->offloads++;
    }
    return r;
}

MT_API int mt__work_end(mt_task *t, mt_work *w)
{
    mt__sched_of(t)->xwaits--; /* every park resumes here */
    mt__sched_of(t)->offloads--;
    if (w)
        mt__work_over(t, w);
    return MT__GO;
}
#endif

/* ---- The cycle ----------------------------------------------------------------
 * mt_sched_run_once is its phases: take posts, work out how long it may
 * block, wait for events (the backend, or the clock's idle hook), take the
 * posts that came meanwhile, fire due timers, resume the runnable tasks.
 * mt_sched_run runs cycles in one loop; a cycle with nothing but runnable
 * tasks goes straight to them. */

static mt_time mt__clock_now(mt_sched *s);
static void mt__clock_idle(mt_sched *s, long ms);
static const char *mt__name_of(mt_sched *s, mt_task *t);
#if MT_DEBUG
static void mt__poison_stack(void);
static void mt__stats_after(mt_sched *s, mt_task *t, uint16_t line, mt_time began);
#endif

/* Run t's function once, as the task being resumed. */
static int mt__run(mt_sched *s, mt_task *t)
{
    mt_task *outer = s->current; /* a parent whose await runs t inline */
    int r;
#if MT_DEBUG
    uint16_t line = (uint16_t)MT__LINE_OF(t); /* the point it resumes at */
    mt_time began = mt__clock_now(s);
    mt__poison_stack(); /* from this frame: t's function's frame lands there */
#endif

    MT__SET_ST(t, MT_RUNNING);
#if MT_IO
    s->burst = 1; /* the operation it resumes in, if any, counts */
#endif
    s->current = t;
    r = t->fn(t);
    s->current = outer;
#if MT_DEBUG
    mt__stats_after(s, t, line, began);
#endif
    return r;
}

/* t's function returned without MT_END's status: it fails with MT_EINVAL,
 * reported under its name. Cold: out of mt__resume's way. */
#if defined(__GNUC__)
__attribute__((__noinline__, __cold__))
#endif
static mt_task *mt__misreturned(mt_sched *s, mt_task *t)
{
    MT__MISUSE("task function returned outside MT_END");
    (void)mt__out_set(t, MT_EINVAL, MT__M("task function returned outside MT_END"));
    if (!mt__parent_of(t))
        s->fail_name = mt__name_of(s, t); /* the report names the task */
    return mt__finish(s, t, MT__FAILED);
}

/* A cancelled task gave way: outside MT_SHIELD, it ends. Cold. */
#if defined(__GNUC__)
__attribute__((__noinline__, __cold__))
#endif
static int mt__doomed_yield(const mt_task *t) { return !(t->bits & MT__F_SHIELD); }

/* Resume t once and act on what it returned. Returns the parent to resume
 * next when t ended while awaited, else NULL. */
static MT__HOT mt_task *mt__resume(mt_sched *s, mt_task *t)
{
    int r = MT__UNLIKELY(t->bits & MT__F_CANCEL) && MT__AT_START(t)
                ? mt__out_cancelled(t) /* cancelled before it ever ran */
                : mt__run(s, t);

    if (r == MT__YIELDED) { /* the hot case first */
        if ((t->bits & MT__F_CANCEL) && mt__doomed_yield(t)) /* ignored it: end */
            return mt__finish(s, t, mt__out_cancelled(t));
        t->bits = (mt__bits)(t->bits ^ (unsigned)(MT_RUNNING ^ MT_RUNNABLE)); /* RUNNING: one flip */
        mt__out_yielded(t);
        mt__rq_push(s, t);
        return NULL;
    }
    switch (r) {
    case MT__WAITING:
        if (MT__ST(t) != MT_RUNNING)
            return NULL; /* a wait parked it */
        break; /* a plain "return 0" */
    case MT__POLL:
        MT__SET_ST(t, MT__S_COND);
        mt__rq_push(s, t);
        return NULL;
    case MT__DONE:
        if (mt__ends_plain(t, r)) {
            mt__end_plain(s, t);
            return NULL;
        }
        MT__FALLTHROUGH;
    case MT__FINISH:
    case MT__FAILED:
        return mt__finish(s, t, r);
    default:
        break;
    }
    return mt__misreturned(s, t);
}

static void mt__take_posts(mt_sched *s)
{
    if (MT__FLAG_GET(s->signalled))
        s->take_signals(s);
}

/* Block up to `wait` ticks for an event: in the backend when it has
 * descriptors or the wake pipe to watch, else in the clock's idle hook.
 * The backend is polled even with tasks runnable (wait 0), so I/O never
 * starves; with an idle hook (a virtual clock), the hook stands for the
 * blocking part. */
static void mt__wait_events(mt_sched *s, long wait)
{
#if MT_IO
    int block = s->io.n || (s->wake_pipe && wait != 0);
    /* Edges of descriptors no task waits on are taken too, without
     * blocking, when nothing is runnable: a foreign loop would otherwise
     * see them for ever. */
    if (block || (!s->rq.head && mt__io_held(s))) {
        if (mt__io_poll(s, !block || s->idle || MT__FLAG_GET(s->signalled) ? 0 : wait))
            mt__wake_pipe_drain(s);
        s->now_valid = 0;
        if (block && !s->idle)
            return;
    }
#endif
    /* No deadline: only an interrupt's post can end the wait, so the idle
     * hook is told MT_FOREVER (a port sleeps until the next interrupt);
     * with no signal registered, nothing could, and the cycle goes on. */
    if ((wait > 0 || (wait < 0 && s->signals)) && !MT__FLAG_GET(s->signalled) &&
        !s->rq.head) {
        mt__clock_idle(s, wait);
        s->now_valid = 0;
    }
}

/* Resume the tasks runnable now, each once: those queued while they run
 * wait for the next cycle, so a task yielding in a loop cannot starve the
 * rest. A child ending hands over to its parent at once. */
static int mt__run_ready(mt_sched *s)
{
    mt_task *t, *last = s->rq.tail;
    int n = 0;

    while (s->rq.head) {
        int stop;
        t = mt__waitq_pop(&s->rq);
        stop = t == last;
        while (t)
            t = mt__resume(s, t);
        n++;
        if (stop)
            break;
    }
    return n;
}

/* The phases before the tasks: posts, events, due timers. Out of line:
 * the cycles of yielding tasks skip them and pay none of their frame. */
#if defined(__GNUC__)
__attribute__((__noinline__))
#endif
static void mt__cycle_events(mt_sched *s, long timeout)
{
    mt__take_posts(s);
    mt__wait_events(s, mt__next_wait(s, timeout));
    mt__take_posts(s);
    mt__expire(s);
#if MT_THREADS
    if (s->roomq.head)
        mt__room_poll(s);
#endif
}

/* Timers armed or descriptors waited on: a cycle has more to do than run
 * tasks, and a run is not over while there are any. */
#if MT_THREADS /* waits that other threads end */
#define MT__THREAD_WAITS(s) ((s)->xwaits) /* one load: the cycles of yields test it */
#else
#define MT__THREAD_WAITS(s) 0
#endif
static int mt__has_waits(const mt_sched *s)
{
    return mt__timers_armed(s) || MT__IO_WAITERS(s) || MT__THREAD_WAITS(s);
}

/* Cycles: one (all 0), or as many as there are tasks that can still run
 * (mt_sched_run). With tasks runnable and nothing else to look at (no
 * descriptor, timer or post), the phases before the tasks would find
 * nothing: the cycle skips them. Returns the last cycle's count. */
static int mt__cycles(mt_sched *s, long timeout, int all)
{
    int n;

    s->running = 1;
    for (;;) {
        s->now_valid = 0;
        if (!s->rq.head || MT__FLAG_GET(s->signalled) || mt__has_waits(s))
            mt__cycle_events(s, timeout);
        n = mt__run_ready(s);
        if (!all || !(s->rq.head || mt__has_waits(s)))
            break;
    }
    s->running = 0;
    return n;
}

MT_API int mt_sched_run_once(mt_sched *s, long timeout)
{
    if (!s || timeout < MT_FOREVER)
        return MT_EINVAL;
    if (s->running) {
        MT__MISUSE("mt_sched_run_once from one of its own tasks");
        return MT_EBUSY;
    }
    return mt__cycles(s, timeout, 0);
}

/* ---- Scheduler API ----------------------------------------------------------- */

static void mt__stranded(mt_sched *s);

MT_API void mt_sched_init(mt_sched *s)
{
    /* cppcheck-suppress unassignedVariable ; zero-initialised, as wanted */
    MT__ZERO(mt_sched, empty);
    if (s)
        *s = empty;
}

MT_API int mt_sched_destroy(mt_sched *s)
{
    if (!s)
        return MT_EINVAL;
    if (s->live || s->running)
        return MT_EBUSY;
    while (s->signals) { /* a post to them is now nothing, until init again */
        mt_signal *sig = s->signals;
        s->signals = sig->next;
        sig->next = NULL;
        sig->sched = NULL;
    }
#if MT_IO
    if (s->wake_pipe) {
        close(s->wake_fd[0]);
        close(s->wake_fd[1]);
    }
    mt__io_free(s);
#endif
    mt_sched_init(s);
    return 0;
}

MT_API int mt_sched_add(mt_sched *s, mt_task *t, mt_fn fn)
{
    if (!s || !t || !fn)
        return MT_EINVAL;
    if (MT__LIVE(t) || t == s->finishing) {
        MT__MISUSE("mt_sched_add of a frame whose task is live (added twice?)");
        return MT_EBUSY;
    }
    mt__init_task(t, fn);
    t->bits |= MT__F_ROOT;
    t->up.sched = s;
    s->live++;
    mt__rq_push(s, t);
    return 0;
}

MT_API int mt_sched_run(mt_sched *s)
{
    unsigned long failed;

    if (!s)
        return MT_EINVAL;
    if (s->running) {
        MT__MISUSE("mt_sched_run from one of its own tasks");
        return MT_EBUSY;
    }
    failed = s->failed;
    if (s->rq.head || mt__has_waits(s))
        (void)mt__cycles(s, MT_FOREVER, 1);
    if (s->live) { /* all parked without a deadline, and no descriptor */
#if MT_POSIX && !MT_NO_STDIO
        mt__stranded(s);
#else
        if (s->stranded) /* bare metal: the dump and its strings (RAM on */
            s->stranded(s); /* AVR) are linked in only with an output */
#endif
        return MT_ESTRANDED;
    }
    return s->failed != failed ? MT_EUNHANDLED : 0;
}

MT_API unsigned long mt_sched_live(const mt_sched *s) { return s ? s->live : 0; }

MT_API int mt_sched_has_runnable(const mt_sched *s) { return s && s->rq.head != NULL; }

MT_API int mt_sched_has_timeouts(const mt_sched *s) { return s && mt__timers_armed(s); }

MT_API int mt_sched_has_io_waits(const mt_sched *s) { return s && MT__IO_WAITERS(s) > 0; }

/* The scheduler is named at the end of t's chain: by its root, or by the
 * node of an open group of the root. */
static void mt__reroot(mt_task *t, mt_sched *s)
{
    while (!(t->bits & MT__F_ROOT))
        t = t->up.parent;
    t->up.sched = s;
}

/* src's signals post to dst from now on; a post src had not taken yet is
 * dst's to take. */
static void mt__merge_signals(mt_sched *dst, mt_sched *src)
{
    mt_signal *sig;

    if (!src->signals)
        return;
    for (sig = src->signals; sig->next; sig = sig->next)
        sig->sched = dst;
    sig->sched = dst;
    sig->next = dst->signals;
    dst->signals = src->signals;
    src->signals = NULL;
    dst->take_signals = src->take_signals;
    if (mt__flag_take(&src->signalled))
        MT__FLAG_SET(dst->signalled);
}

/* Append src's run queue to dst's. */
static void mt__merge_runq(mt_sched *dst, mt_sched *src)
{
    mt_task *t;

    for (t = src->rq.head; t; t = t->next)
        mt__reroot(t, dst);
    if (src->rq.head) {
        if (dst->rq.tail)
            dst->rq.tail->next = src->rq.head;
        else
            dst->rq.head = src->rq.head;
        dst->rq.tail = src->rq.tail;
    }
    src->rq.head = src->rq.tail = NULL;
}

/* Move every parked task: the forever list, then the timers, popped in
 * order and re-armed, which keeps src's first-come order. */
static void mt__merge_parked(mt_sched *dst, mt_sched *src)
{
    mt_task *t;

    while ((t = src->forever) != NULL) {
        mt__ever_del(src, t);
        mt__reroot(t, dst);
        mt__ever_add(dst, t);
    }
    while ((t = mt__timer_any(src)) != NULL) {
        mt__timer_del(src, t);
        mt__reroot(t, dst);
#if !MT_TIMER_LIST
        t->seq = dst->seq++;
#endif
        mt__timer_add(dst, t);
    }
}

MT_API int mt_sched_merge(mt_sched *dst, mt_sched *src)
{
    if (!dst || !src || dst == src)
        return MT_EINVAL;
    if (dst->running || src->running)
        return MT_EBUSY;
    if (src->nheap > MT__POS_MAX - dst->nheap)
        return MT_ENOMEM;
#if MT_THREADS
    if (src->offloads) /* a worker posts to src now: it cannot be moved */
        return MT_EBUSY;
#endif
#if MT_IO
    if (src->signals && !dst->wake_pipe) { /* before anything moves */
        int r = mt__wake_pipe_open(dst);
        if (r)
            return r;
    }
#endif
    dst->now_valid = 0; /* re-arming reads dst's clock */
    mt__merge_signals(dst, src);
    mt__merge_runq(dst, src);
    mt__merge_parked(dst, src);
#if MT_THREADS
    mt__merge_room(dst, src);
#endif
#if MT_IO
    mt__io_merge(dst, src); /* its waiters are parked in dst by now */
#endif
    dst->live += src->live;
    dst->failed += src->failed;
#if MT_THREADS
    dst->xwaits += src->xwaits;
    src->xwaits = 0;
#endif
    src->live = src->failed = 0;
    return 0;
}

MT_API long mt_sched_timeout(mt_sched *s)
{
    long wait;

    if (!s || s->rq.head || MT__FLAG_GET(s->signalled))
        return 0;
    if (!s->running) { /* between cycles: a fresh reading, not kept */
        mt_time kept = s->now;
        int valid = s->now_valid;
        s->now_valid = 0;
        wait = mt__next_wait(s, MT_FOREVER);
        s->now = kept;
        s->now_valid = valid;
    } else {
        wait = mt__next_wait(s, MT_FOREVER);
    }
#if MT_IO
    wait = mt__io_limit(s, wait);
#endif
    return wait;
}

#if MT_IO
MT_API int mt_sched_pollfds(mt_sched *s, struct pollfd *fds, int cap)
{
    if (!s || cap < 0 || (!fds && cap > 0))
        return MT_EINVAL;
    return mt__io_fds(s, fds, cap);
}
#endif

MT_API void mt_sched_set_clock(mt_sched *s, mt_time (*now)(void *arg),
                        void (*idle)(void *arg, long ms), void *arg)
{
    if (!s)
        return;
    s->clock = now;
    s->idle = idle;
    s->clock_arg = arg;
}

MT_API mt_time mt_sched_now(mt_sched *s) { return s ? mt__cycle_now(s) : 0; }

MT_API void mt_sched_set_report(mt_sched *s,
                         void (*fn)(mt_task *t, const char *name, void *arg),
                         void *arg)
{
    if (!s)
        return;
    s->report = fn;
    s->report_arg = arg;
}

static MT_THREAD_LOCAL mt_sched mt__default_sched; /* zeroed: valid */

MT_API mt_sched *mt_default(void) { return &mt__default_sched; }

MT_API int mt_add(mt_task *t, mt_fn fn) { return mt_sched_add(&mt__default_sched, t, fn); }

MT_API int mt_run(void) { return mt_sched_run(&mt__default_sched); }

/* ---- Cancellation, state, errors --------------------------------------------- */

MT_API int mt_cancel(mt_task *t)
{
    unsigned how;

    if (!t)
        return MT_EINVAL;
    if (!MT__LIVE(t))
        return 0;
    t->bits |= MT__F_CANCEL;
    if (t->bits & MT__F_SHIELD) {
        t->bits |= MT__SAW; /* it ends cancelled, at its next wait or end */
        return 0;
    }
    mt__cancel_groups(t); /* children first, deepest first */
    how = MT__HOW(t);
    if (how & MT__K_CHILD) { /* it resumes once the child (the group) ended */
        mt__out_verdict(t, MT_ECANCELED);
        return MT__ST(t) == MT__S_CHILD ? mt_cancel((mt_task *)t->w.obj) : 0;
    }
    if (how & MT__K_PARKED) {
        mt_sched *s = mt__sched_of(t);
        mt__unpark(s, t);
        mt__wake(s, t, MT_ECANCELED);
    } else if (how & MT__K_VERDICT) { /* it resumes cancelled, unless its */
        if (MT__POS(t))              /* wait timed out or failed already */
            mt__timer_del(mt__sched_of(t), t);
        mt__out_verdict(t, MT_ECANCELED);
    }
    return 0; /* running: ends at its next wait; woken: its result stands */
}

MT_API int mt_state(const mt_task *t)
{
    if (!t)
        return MT_EINVAL;
    if (MT__ST(t) <= MT_RUNNING) /* the public states a task is stored in */
        return MT__ST(t);
    return (MT__HOW(t) & MT__K_WAITING) ? MT_WAITING : MT_RUNNABLE;
}

MT_API int mt_err(const mt_task *t) { return t ? t->err : (int)MT_EINVAL; }

MT_API const char *mt_errmsg(const mt_task *t)
{
    if (!t || !t->err)
        return "";
    /* While parked, w holds what the task waits on, not a message. */
    if ((MT__HOW(t) & MT__K_PARKED) || !t->w.msg)
        return mt_strerror(t->err);
    return t->w.msg;
}

MT_API const char *mt_version(void)
{
    return MT__STR(MT_VERSION_MAJOR) "." MT__STR(MT_VERSION_MINOR) "." MT__STR(MT_VERSION_PATCH);
}

/* The texts of mt_strerror and mt_errname. With avr-gcc they stay in flash
 * (avr-gcc copies string literals to RAM at startup: these would be 600
 * bytes of it), and each function copies its answer into a buffer of its
 * own that the next call overwrites, as C's strerror may; linked, the two
 * buffers take 61 bytes of RAM. Clang has no flash data on AVR: literals
 * there. */
#if defined(__AVR__) && defined(__GNUC__) && !defined(__clang__)
#include <avr/pgmspace.h>
#define MT__FLASH_TEXTS 1
#define MT__T(text) PSTR(text)
#define MT__T_OUT(p, buf) (strncpy_P((buf), (p), sizeof(buf) - 1), (const char *)(buf))
/* Room for the longest text, and for the longest name. */
#define MT__T_LEN(name, value, text) char name[sizeof(text)];
union mt__texts {
    char ok[sizeof("success")], user[sizeof("user-defined error")], unknown[sizeof("unknown error")];
    MT__ERRORS(MT__T_LEN)
};
#undef MT__T_LEN
#define MT__T_LEN(name, value, text) char name[sizeof(#name)];
union mt__names {
    char ok[sizeof("MT_OK")], user[sizeof("MT_EUSER")], other[sizeof("MT_E?")], sys[sizeof("MT_ESYS")];
    MT__ERRORS(MT__T_LEN)
};
#undef MT__T_LEN
#else
#define MT__FLASH_TEXTS 0
#define MT__T(text) text
#define MT__T_OUT(p, buf) (p)
#endif

MT_API const char *mt_strerror(int code)
{
#if MT__FLASH_TEXTS
    static char buf[sizeof(union mt__texts)];
#endif
    const char *p;
    switch (code) {
    case 0:
        p = MT__T("success");
        break;
#define MT__TEXT(name, value, text)                                          \
    case value:                                                              \
        p = MT__T(text);                                                     \
        break;
        MT__ERRORS(MT__TEXT)
#undef MT__TEXT
    default:
#if MT_IO
        if (code <= MT_ESYS_BASE && code > MT_ESYS_BASE - 4096)
            return strerror(MT_ESYS_BASE - code);
#endif
        p = code <= MT_EUSER ? MT__T("user-defined error") : MT__T("unknown error");
        break;
    }
    return MT__T_OUT(p, buf);
}

/* The name of a system error code: MT_ESYS(ECONNRESET) for the common
 * ones, MT_ESYS for the rest. */
#if MT_IO
static const char *mt__errno_name(int e)
{
#define MT__ERRNOS(X)                                                        \
    X(EPERM) X(ENOENT) X(EINTR) X(EIO) X(EBADF) X(EAGAIN) X(ENOMEM) X(EACCES) \
    X(EFAULT) X(EBUSY) X(EEXIST) X(EINVAL) X(ENFILE) X(EMFILE) X(ENOSPC)     \
    X(EPIPE) X(ERANGE) X(ENOTSOCK) X(EMSGSIZE) X(EOPNOTSUPP) X(EADDRINUSE)   \
    X(EADDRNOTAVAIL) X(ENETDOWN) X(ENETUNREACH) X(ECONNABORTED)              \
    X(ECONNRESET) X(ENOBUFS) X(EISCONN) X(ENOTCONN) X(ETIMEDOUT)             \
    X(ECONNREFUSED) X(EHOSTUNREACH) X(EALREADY) X(EINPROGRESS)
    switch (e) {
#define MT__ERRNO_NAME(name)                                                 \
    case name:                                                               \
        return "MT_ESYS(" #name ")";
        MT__ERRNOS(MT__ERRNO_NAME)
#undef MT__ERRNO_NAME
    default:
        break;
    }
    return "MT_ESYS";
}
#endif

MT_API const char *mt_errname(int code)
{
#if MT__FLASH_TEXTS
    static char buf[sizeof(union mt__names)];
#endif
    const char *p;
    switch (code) {
    case 0:
        p = MT__T("MT_OK");
        break;
#define MT__NAME(name, value, text)                                          \
    case value:                                                              \
        p = MT__T(#name);                                                    \
        break;
        MT__ERRORS(MT__NAME)
#undef MT__NAME
    default:
        if (code <= MT_ESYS_BASE && code > MT_ESYS_BASE - 4096) {
#if MT_IO
            return mt__errno_name(MT_ESYS_BASE - code);
#else
            p = MT__T("MT_ESYS");
#endif
        } else
            p = code <= MT_EUSER ? MT__T("MT_EUSER") : MT__T("MT_E?");
        break;
    }
    return MT__T_OUT(p, buf);
}

/* ---- Diagnostics -----------------------------------------------------------
 * The task dump, the stranded-task report, and in MT_DEBUG builds the
 * lost-locals poison and the per-wait statistics. A task's name and file
 * come from its own function: called with the query resume point, MT_BEGIN
 * answers with __func__ and __FILE__, so tasks carry no strings. */

MT_API int mt__query(mt_task *t, const char *func, const char *file)
{
    mt_sched *s = mt__sched_of(t);
    s->q_name = func;
    s->q_file = file;
    return MT__QUERIED;
}

#if MT_DUMP
/* Ask t's function for its name and file; NULL for what it cannot say. */
static void mt__ask(mt_sched *s, mt_task *t, const char **name, const char **file)
{
    if (t->bits & MT__F_FINAL) { /* its finally section: never re-enter */
        *name = *file = NULL;
        return;
    }
#if MT_DEBUG
    if (t->func || t->file) { /* it has run: MT_BEGIN said */
        *name = t->name ? t->name : t->func;
        *file = t->file;
        return;
    }
#endif
    /* The query leaves the task as it found it: a function built without
     * MT_DUMP answers as a lost resume point, setting an error. */
    const mt_task saved = *t;
    mt_task *outer = s->current;
#if MT_LC_LABELS
    t->lc = MT__LC_QUERY;
#else
    t->lc = MT__LC_QUERY_LINE;
#endif
    s->q_name = s->q_file = NULL;
    s->current = t;
    if (t->fn(t) != MT__QUERIED)
        s->q_name = s->q_file = NULL;
    s->current = outer;
    *t = saved;
    *name = s->q_name;
    *file = s->q_file;
#if MT_DEBUG
    if (t->name)
        *name = t->name;
#endif
}

/* A line of text built in place: no stdio, no allocation, cut at the end
 * of the buffer rather than overflowing it. */
#define MT__LINE_MAX 192
struct mt__text {
    char buf[MT__LINE_MAX];
    size_t n;
};

static void mt__put(struct mt__text *x, const char *str)
{
    while (*str && x->n < MT__LINE_MAX - 2)
        x->buf[x->n++] = *str++;
}

static void mt__put_num(struct mt__text *x, unsigned long v, unsigned base)
{
    char d[3 * sizeof v + 1];
    size_t i = sizeof d;
    d[--i] = '\0';
    do {
        d[--i] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (base == 16)
        mt__put(x, "0x");
    mt__put(x, d + i);
}

static void mt__put_ptr(struct mt__text *x, const void *p)
{
    mt__put_num(x, (unsigned long)(uintptr_t)p, 16); /* low bits: enough to tell apart */
}

static void mt__emit(const mt_sched *s, mt_out out, void *arg, struct mt__text *x)
{
    x->buf[x->n++] = '\n';
    x->buf[x->n] = '\0';
    if (out)
        out(arg, x->buf);
    else if (s->out)
        s->out(s->out_arg, x->buf);
#if !MT_NO_STDIO
    else
        fputs(x->buf, stderr);
#endif
    x->n = 0;
}

/* The dump's words for each state (the rows of MT__STATES): the state,
 * what it waits on ('%' stands for the object's address), and for a wait
 * list, its offset in the object. */
static const struct mt__kind_text {
    const char *word, *what;
    unsigned char off;
} mt__kind_texts[] = {
#define MT__STATE_TEXT(name, how, word, what, off) {word, what, (unsigned char)(off)},
    MT__STATES(MT__STATE_TEXT)
#undef MT__STATE_TEXT
};

static const char *mt__state_word(const mt_task *t)
{
    if (MT__ST(t) == MT_RUNNABLE && MT__AT_START(t))
        return "new"; /* added, not yet run */
    return mt__kind_texts[MT__ST(t)].word;
}

/* What a task waits on: the row's words, the object's address for '%'. */
static void mt__put_wait(mt_sched *s, struct mt__text *x, const mt_task *t)
{
    const struct mt__kind_text *k = &mt__kind_texts[MT__ST(t)];
    const char *what = k->what;
    const void *obj = NULL;

    if (MT__ST(t) == MT__S_JOIN)
        obj = t->w.obj;
    if (MT__HOW(t) & MT__K_LIST) {
        const mt_signal *sig;
        obj = (const char *)t->w.obj - k->off;
        for (sig = s->signals; sig && &sig->sem != obj; sig = sig->next) {
        }
        if (sig) { /* a signal's semaphore: name the signal */
            what = sig->ring ? "ring %" : "signal %";
            obj = sig;
        }
    }
    for (; *what; what++) {
        if (*what == '%')
            mt__put_ptr(x, obj);
        else if (x->n < MT__LINE_MAX - 2)
            x->buf[x->n++] = *what;
    }
#if MT_IO
    if (MT__HOW(t) & MT__K_FD) {
        mt__put(x, " ");
        mt__put_num(x, (unsigned long)MT__IO_FD(t), 10);
        mt__put(x, (MT__IO_EV(t) & MT_READABLE) ? " read" : "");
        mt__put(x, (MT__IO_EV(t) & MT_WRITABLE) ? " write" : "");
        mt__put(x, (MT__IO_EV(t) & MT_EXCEPT) ? " except" : "");
    }
#endif
    if (MT__ST(t) == MT__S_CHOOSE) { /* every object it waits on */
        const mt_clause *c = (const mt_clause *)t->w.obj;
        unsigned i;
        for (i = 0; i < c[0].n; i++) {
            mt__put(x, i ? ", " : ": ");
            mt__put_wait(s, x, &c[i].node);
        }
    }
}

/* A group child's line says its group, and who waits for it there. */
static void mt__put_group(struct mt__text *x, const mt_task *t)
{
    const mt_task *p = mt__parent_of(t), *o;

    if (!p || !mt__is_group(p))
        return;
    o = MT__GROUP_OF(p)->owner;
    mt__put(x, "  in group ");
    mt__put_ptr(x, (const void *)p);
    if (MT__ST(o) == MT__S_JOIN && o->w.obj == (const void *)p)
        mt__put(x, MT__GROUP_OF(p)->want ? ", joined (first)" : ", joined");
    else if (MT__ST(o) == MT__S_CLOSING)
        mt__put(x, ", its owner ending");
    else
        mt__put(x, ", not joined yet");
}

static void mt__dump_one(mt_sched *s, mt_out out, void *arg, mt_task *t, int depth)
{
    struct mt__text x;
    const char *name, *file;
    int d;

    x.n = 0;
    for (d = 0; d < depth; d++)
        mt__put(&x, "  ");
    mt__ask(s, t, &name, &file);
    if (name && *name) {
        mt__put(&x, name);
    } else {
        mt__put(&x, "task ");
        mt__put_ptr(&x, (const void *)t);
    }
    mt__put(&x, "  ");
    mt__put(&x, mt__state_word(t));
    mt__put(&x, "  ");
    mt__put(&x, file ? file : "?");
    mt__put(&x, ":");
    mt__put_num(&x, (unsigned long)MT__LINE_OF(t), 10);
    mt__put(&x, "  ");
    mt__put_wait(s, &x, t);
    if (MT__ST(t) > MT_RUNNING) { /* a private state: a wait, or just after */
        if (MT__POS(t)) { /* outside a cycle the last one's reading is stale */
            mt_time now = s->running ? mt__cycle_now(s) : mt__clock_now(s);
            mt__put(&x, "  ");
            if (mt_time_before(now, t->deadline)) {
                mt__put_num(&x, (unsigned long)(mt_time)(t->deadline - now), 10);
                mt__put(&x, MT_POSIX && !s->clock ? " ms left" : " ticks left");
            } else {
                mt__put(&x, "due");
            }
        } else if (MT__HOW(t) & MT__K_PARKED) {
            mt__put(&x, "  no timeout");
        }
    }
    mt__put_group(&x, t);
    mt__emit(s, out, arg, &x);
}

/* The step from t towards the running task, past groups: the task whose
 * group t runs in, or its awaiting parent; NULL for a top-level task. */
static mt_task *mt__step_up(const mt_task *t)
{
    mt_task *p = mt__parent_of(t);
    return p && mt__is_group(p) ? MT__GROUP_OF(p)->owner : p;
}

/* The child that t's await is running now, or NULL (a group child that
 * runs is listed with its group). */
static mt_task *mt__running_child(const mt_sched *s, const mt_task *t)
{
    mt_task *c = s->current, *p = NULL; /* NULL: gcc -Os cannot see c implies p set */
    while (c && (p = mt__parent_of(c)) != NULL && p != t)
        c = mt__is_group(p) ? MT__GROUP_OF(p)->owner : p;
    return c && p == t ? c : NULL;
}

/* A task, the live children of its open groups, and the chain of
 * children it awaits, each one level deeper. Returns tasks written. A
 * child ending (its finally section running) is not live: not listed. */
static int mt__dump_chain(mt_sched *s, mt_out out, void *arg, mt_task *t, int depth)
{
    int n = 0;
    while (t && MT__LIVE(t)) {
        mt_group *g;
        mt__dump_one(s, out, arg, t, depth++);
        n++;
        MT__FOR_GROUPS(g, t) {
            unsigned i;
            for (i = g->lo; i < g->hi; i++)
                if (g->slots[i])
                    n += mt__dump_chain(s, out, arg, g->slots[i], depth);
        }
        if (MT__ST(t) == MT__S_CHILD)
            t = (mt_task *)t->w.obj;
        else
            t = MT__ST(t) == MT_RUNNING ? mt__running_child(s, t) : NULL;
    }
    return n;
}

/* Top-level tasks found in a timer structure; those in the run queue too
 * (a polling condition, a ready descriptor) or running (a condition being
 * evaluated) were listed with it. */
static int mt__dump_timed(mt_sched *s, mt_out out, void *arg, mt_task *t)
{
    if (mt__parent_of(t) || !(MT__HOW(t) & MT__K_PARKED))
        return 0;
    return mt__dump_chain(s, out, arg, t, 0);
}

#if !MT_TIMER_LIST
static int mt__dump_heap(mt_sched *s, mt_out out, void *arg, mt_task *t)
{
    if (!t)
        return 0; /* the depth is the heap's: log2 of the timers */
    return mt__dump_timed(s, out, arg, t) + mt__dump_heap(s, out, arg, t->link[0]) +
           mt__dump_heap(s, out, arg, t->link[1]);
}
#endif

#if MT_WHEEL_BITS
static int mt__dump_ring(mt_sched *s, mt_out out, void *arg, mt_task *head)
{
    mt_task *t = head;
    int n = 0;

    if (t)
        do {
            n += mt__dump_timed(s, out, arg, t);
            t = t->link[1];
        } while (t != head);
    return n;
}

/* The wheel's timers, first level then second, each in deadline order. */
static int mt__dump_wheel(mt_sched *s, mt_out out, void *arg)
{
    unsigned i;
    int n = 0;

    for (i = 0; i < MT__W; i++)
        n += mt__dump_ring(s, out, arg, s->wheel[(s->wbase + i) & (MT__W - 1)]);
    for (i = 0; i < MT__W2; i++)
        n += mt__dump_ring(s, out, arg, s->coarse[(s->cslot + i) & (MT__W2 - 1)]);
    return n;
}
#endif

/* Every live task, each chain from its root; out NULL: s's own output. */
static int mt__dump_all(mt_sched *s, mt_out out, void *arg)
{
    mt_task *t;
    int n = 0;

    if (s->current) { /* a running top-level task is in no list */
        mt_task *root = s->current, *up;
        while ((up = mt__step_up(root)) != NULL)
            root = up;
        if (MT__ST(root) == MT_RUNNING)
            n += mt__dump_chain(s, out, arg, root, 0);
    }
    for (t = s->rq.head; t; t = t->next)
        if (!mt__parent_of(t))
            n += mt__dump_chain(s, out, arg, t, 0);
#if MT_TIMER_LIST
    for (t = s->heap; t; t = t->link[0])
        n += mt__dump_timed(s, out, arg, t);
#else
    n += mt__dump_heap(s, out, arg, s->heap);
#endif
#if MT_WHEEL_BITS
    n += mt__dump_wheel(s, out, arg);
#endif
#if MT_TIMER_LIST
    for (t = s->forever; t; t = t->link[0])
#else
    for (t = s->forever; t; t = t->link[1])
#endif
        if (!mt__parent_of(t))
            n += mt__dump_chain(s, out, arg, t, 0);
    return n;
}

MT_API int mt_sched_dump(mt_sched *s, mt_out out, void *arg)
{
    if (!s || !out)
        return MT_EINVAL;
    return mt__dump_all(s, out, arg);
}

/* A task's name for a report, asked of its function. */
static const char *mt__name_of(mt_sched *s, mt_task *t)
{
    const char *name, *file;
    mt__ask(s, t, &name, &file);
    return name;
}

/* mt_sched_run ends with tasks parked and nothing to wake them. */
static void mt__stranded(mt_sched *s)
{
    struct mt__text x;
    x.n = 0;
    mt__put(&x, "multitask: ");
    mt__put_num(&x, s->live, 10);
    mt__put(&x, s->live == 1 ? " task" : " tasks");
    mt__put(&x, " stranded: waiting, and nothing left can wake them:");
    mt__emit(s, NULL, NULL, &x);
    (void)mt__dump_all(s, NULL, NULL);
}
#else /* no dump: its code and strings, RAM on AVR, are not in the build */
MT_API int mt_sched_dump(mt_sched *s, mt_out out, void *arg)
{
    (void)out;
    (void)arg;
    return s ? MT_ENOTSUP : MT_EINVAL;
}

static void mt__stranded(mt_sched *s) { (void)s; }

static const char *mt__name_of(mt_sched *s, mt_task *t)
{
    (void)s;
    (void)t;
    return NULL;
}
#endif

MT_API void mt_sched_set_out(mt_sched *s, mt_out out, void *arg)
{
    if (!s)
        return;
    s->out = out;
    s->out_arg = out ? arg : NULL;
    s->stranded = out ? mt__stranded : NULL;
}

#if !MT_NO_STDIO
MT_API void mt_out_stdio(void *file, const char *line) { fputs(line, (FILE *)file); }
#endif

/* cppcheck-suppress constParameter ; written with MT_DEBUG */
MT_API int mt_set_name(mt_task *t, const char *name)
{
    if (!t)
        return MT_EINVAL;
#if MT_DEBUG
    t->name = name;
    return 0;
#else
    (void)name;
    return MT_ENOTSUP;
#endif
}

#if MT_DEBUG
/* Fill the stack below the scheduler with a pattern just before a task
 * resumes: its function's frame lands on it, so a C local kept across a
 * wait reads 0xA5 bytes every time, not whatever happened to be there. */
#if __STDC_HOSTED__
static void *(*volatile mt__fill)(void *, int, size_t) = memset;
#else
static void *mt__fill_bytes(void *p, int c, size_t n)
{
    unsigned char *b = (unsigned char *)p;
    while (n--)
        *b++ = (unsigned char)c;
    return p;
}
static void *(*volatile mt__fill)(void *, int, size_t) = mt__fill_bytes;
#endif
#if defined(__GNUC__)
/* Uninstrumented: AddressSanitizer would move the area off the stack. */
__attribute__((__noinline__, __no_sanitize_address__))
#endif
static void mt__poison_stack(void)
{
    /* No other local, and a fill the compiler cannot drop as a dead store:
     * at -O0 a loop index would sit at the top of the frame, just where
     * the task's first locals land. */
    unsigned char area[MT_DEBUG_POISON];
    (void)mt__fill(area, 0xA5, sizeof area);
}

/* The statistics slot of a resume point; NULL when the table is full
 * (counted). */
static mt__stat *mt__stat_at(mt_sched *s, mt_fn fn, uint16_t line)
{
    size_t i;

    for (i = 0; i < MT_DEBUG_STATS && s->stats[i].fn; i++)
        if (s->stats[i].fn == fn && s->stats[i].line == line)
            return &s->stats[i];
    if (i == MT_DEBUG_STATS) {
        s->stats_lost++;
        return NULL;
    }
    s->stats[i].fn = fn;
    s->stats[i].line = line;
    return &s->stats[i];
}

/* After a resume from `line` that began at `began`: count it. */
static void mt__stats_after(mt_sched *s, mt_task *t, uint16_t line, mt_time began)
{
    mt__stat *st = mt__stat_at(s, t->fn, line);
    mt_time ran = (mt_time)(mt__clock_now(s) - began);

    if (!st)
        return;
    if (!st->file) { /* MT_BEGIN has just told: a frame is valid here */
        st->name = t->func;
        st->file = t->file;
    }
    st->resumes++;
    if (ran > st->longest)
        st->longest = ran;
}
#endif

MT_API int mt_sched_stats(const mt_sched *s, mt_out out, void *arg)
{
#if MT_DEBUG
    struct mt__text x;
    size_t i;

    if (!s || !out)
        return MT_EINVAL;
    x.n = 0;
    for (i = 0; i < MT_DEBUG_STATS && s->stats[i].fn; i++) {
        const mt__stat *st = &s->stats[i];
        if (st->name && *st->name)
            mt__put(&x, st->name);
        else
            mt__put(&x, "task function");
        mt__put(&x, "  ");
        mt__put(&x, st->file ? st->file : "?");
        mt__put(&x, ":");
        mt__put_num(&x, st->line, 10);
        mt__put(&x, "  resumed ");
        mt__put_num(&x, st->resumes, 10);
        mt__put(&x, "  longest run ");
        mt__put_num(&x, (unsigned long)st->longest, 10);
        mt__put(&x, MT_POSIX && !s->clock ? " ms" : " ticks");
        mt__emit(s, out, arg, &x);
    }
    if (s->stats_lost) {
        mt__put(&x, "(");
        mt__put_num(&x, s->stats_lost, 10);
        mt__put(&x, " resumes at points beyond MT_DEBUG_STATS not counted)");
        mt__emit(s, out, arg, &x);
    }
    return (int)i;
#else
    (void)out;
    (void)arg;
    return s ? MT_ENOTSUP : MT_EINVAL;
#endif
}

/* ---- Platform hooks ------------------------------------------------------
 * A scheduler's clock and idle wait. The defaults are POSIX, and Arduino's
 * (millis(); on AVR the idle wait sleeps the CPU until an interrupt, the
 * millis() timer's at the latest); other bare-metal ports install theirs
 * with mt_sched_set_clock. */
#if !MT_POSIX && defined(ARDUINO)
#define MT__ARDUINO 1
unsigned long millis(void); /* Arduino.h's, C linkage */
#if defined(__AVR__)
#include <avr/sleep.h>
#endif
#else
#define MT__ARDUINO 0
#endif

static mt_time mt__clock_now(mt_sched *s)
{
    if (s->clock)
        return s->clock(s->clock_arg);
#if MT_POSIX
    {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (mt_time)((uint64_t)ts.tv_sec * 1000u +
                         (uint64_t)ts.tv_nsec / 1000000u);
    }
#elif MT__ARDUINO
    return (mt_time)millis();
#else
    return s->now; /* no clock: time stands still */
#endif
}

static void mt__clock_idle(mt_sched *s, long ms)
{
    if (s->idle) {
        s->idle(s->clock_arg, ms);
        return;
    }
#if MT_POSIX
    if (ms != 0) { /* no deadline (no I/O layer): a second at a time */
        struct timespec ts;
        if (ms < 0)
            ms = 1000;
        ts.tv_sec = (time_t)(ms / 1000);
        ts.tv_nsec = (long)(ms % 1000) * 1000000L;
        (void)nanosleep(&ts, NULL); /* a signal ends it: see mt_signal */
    }
#elif MT__ARDUINO && defined(__AVR__)
    if (ms != 0) { /* any interrupt ends it: the scheduler then looks again */
        set_sleep_mode(SLEEP_MODE_IDLE);
        sleep_mode();
    }
#else
    (void)ms;
#endif
}

#endif /* MT__C_INCLUDED */
