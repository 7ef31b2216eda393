/* The floors: what the same work costs with no library at all. Hand-written
 * switch-based state machines, resumed round-robin from an intrusive FIFO
 * through an indirect call, as a fair hand-rolled dispatcher would be. It
 * lives in its own file, and the dispatcher and machines are noinline, so
 * the compiler cannot fuse a machine into the loop and fold the work away:
 * every resume is a real call that loads and stores the machine's state. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

#include "floor.h"
#include "stats.h"

#if defined(__GNUC__) && !defined(__clang__)
#define NOINLINE __attribute__((noinline, noclone)) /* no specialised copies either */
#else
#define NOINLINE __attribute__((noinline))
#endif

struct sm {
    struct sm *next;
    int (*fn)(struct sm *); /* resume; returns 1 when the machine has ended */
    int state;              /* the resume point, as a switch label */
};

struct fifo { struct sm *head, *tail; };

static void push(struct fifo *q, struct sm *m)
{
    m->next = NULL;
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
}

/* Resume machines round-robin until all have ended; `done` is called on
 * each machine that ends (free for malloc'ed ones). */
static NOINLINE void run(struct fifo *q, void (*done)(void *))
{
    struct sm *m;

    while ((m = q->head) != NULL) {
        q->head = m->next;
        if (!q->head)
            q->tail = NULL;
        if (m->fn(m))
            done(m);
        else
            push(q, m);
    }
}

static NOINLINE void keep(void *m) { (void)m; }

/* ---- yield: each machine loops n times, giving way at every turn ---- */
struct ysm { struct sm sm; long i, n; };

static NOINLINE int ysm_fn(struct sm *m)
{
    struct ysm *y = (struct ysm *)m;
    switch (m->state) {
    case 0:
        for (y->i = 0; y->i < y->n; y->i++) {
            m->state = 1;
            return 0;
    case 1:;
        }
    }
    return 1;
}

double floor_yield(int ntasks, long total)
{
    struct ysm *y = calloc((size_t)ntasks, sizeof *y);
    struct fifo q = {NULL, NULL};
    double t0, t1;
    int i;

    for (i = 0; i < ntasks; i++) {
        y[i].n = total / ntasks;
        y[i].sm.fn = ysm_fn;
        push(&q, &y[i].sm);
    }
    t0 = now_ns();
    run(&q, keep);
    t1 = now_ns();
    free(y);
    return (t1 - t0) / (double)total;
}

/* ---- spawn: one malloc per machine, run once, ended, freed ---- */
struct leaf { struct sm sm; int v; };

static NOINLINE int leaf_fn(struct sm *m)
{
    ((struct leaf *)m)->v = 1;
    return 1;
}

double floor_spawn(long n)
{
    struct fifo q = {NULL, NULL};
    double t0, t1;
    long i;

    t0 = now_ns();
    for (i = 0; i < n; i++) {
        struct leaf *l = malloc(sizeof *l);
        if (!l)
            abort();
        l->sm.fn = leaf_fn;
        l->sm.state = 0;
        push(&q, &l->sm);
    }
    run(&q, free);
    t1 = now_ns();
    return (t1 - t0) / (double)n;
}

/* ---- hot spawn: one machine's frame reused, started, run to its end ---- */
double floor_spawn_hot(long n)
{
    static struct leaf l;
    struct fifo q = {NULL, NULL};
    double t0, t1;
    long i;

    t0 = now_ns();
    for (i = 0; i < n; i++) {
        l.sm.fn = leaf_fn;
        l.sm.state = 0;
        push(&q, &l.sm);
        run(&q, keep);
    }
    t1 = now_ns();
    return (t1 - t0) / (double)n;
}

/* ---- one-slot mailbox: a producer and a consumer poll it ---- */
struct box { int full, item; };
struct boxsm { struct sm sm; struct box *box; long i, n, sum; };

static NOINLINE int producer_fn(struct sm *m)
{
    struct boxsm *p = (struct boxsm *)m;
    switch (m->state) {
    case 0:
        for (p->i = 0; p->i < p->n; p->i++) {
            while (p->box->full) {
                m->state = 1;
                return 0;
    case 1:;
            }
            p->box->item = (int)p->i;
            p->box->full = 1;
        }
    }
    return 1;
}

static NOINLINE int consumer_fn(struct sm *m)
{
    struct boxsm *c = (struct boxsm *)m;
    switch (m->state) {
    case 0:
        for (c->i = 0; c->i < c->n; c->i++) {
            while (!c->box->full) {
                m->state = 1;
                return 0;
    case 1:;
            }
            c->sum += c->box->item; /* use the item, as a real consumer would */
            c->box->full = 0;
        }
    }
    return 1;
}

/* The mailbox's machines beside `idle` machines that wait for the consumer
 * to end. Machines that poll pay for every waiting one at every round:
 * what the mailbox saves by never parking, it pays once tasks wait. */
struct idlesm { struct sm sm; };
static struct boxsm *mbox_consumer;
static int mbox_over;

static NOINLINE int idle_fn(struct sm *m)
{
    (void)m;
    return mbox_over; /* ended once the consumer has */
}

static NOINLINE void mbox_ended(void *m)
{
    if (m == (void *)mbox_consumer)
        mbox_over = 1;
}

double floor_mailbox_idle(long n, int idle)
{
    static struct box box;
    static struct boxsm p, c;
    struct idlesm *w = calloc((size_t)(idle > 0 ? idle : 1), sizeof *w);
    struct fifo q = {NULL, NULL};
    double t0, t1;
    int i;

    if (!w)
        abort();
    box.full = 0;
    p.box = c.box = &box;
    p.n = c.n = n;
    p.sm.state = c.sm.state = 0;
    c.sum = 0;
    p.sm.fn = producer_fn;
    c.sm.fn = consumer_fn;
    mbox_consumer = &c;
    mbox_over = 0;
    push(&q, &p.sm);
    push(&q, &c.sm);
    for (i = 0; i < idle; i++) {
        w[i].sm.fn = idle_fn;
        push(&q, &w[i].sm);
    }
    t0 = now_ns();
    run(&q, mbox_ended);
    t1 = now_ns();
    free(w);
    if (c.sum != (n - 1) * n / 2) /* the items all arrived: nothing folded away */
        abort();
    return (t1 - t0) / (double)n;
}

double floor_mailbox(long n) { return floor_mailbox_idle(n, 0); }

/* ---- flag ping-pong: each machine waits for its flag, clears it and
 * raises the other's (an event, or a semaphore of one unit) ---- */
struct pingsm { struct sm sm; int *mine, *other; long i, n; };

static NOINLINE int ping_fn(struct sm *m)
{
    struct pingsm *p = (struct pingsm *)m;
    switch (m->state) {
    case 0:
        for (p->i = 0; p->i < p->n; p->i++) {
            while (!*p->mine) {
                m->state = 1;
                return 0;
    case 1:;
            }
            *p->mine = 0;
            *p->other = 1;
        }
    }
    return 1;
}

double floor_flag(long n)
{
    static int a, b;
    static struct pingsm x, y;
    struct fifo q = {NULL, NULL};
    double t0, t1;

    a = 1, b = 0;
    x.mine = &a, x.other = &b;
    y.mine = &b, y.other = &a;
    x.n = y.n = n;
    x.sm.state = y.sm.state = 0;
    x.sm.fn = y.sm.fn = ping_fn;
    push(&q, &x.sm);
    push(&q, &y.sm);
    t0 = now_ns();
    run(&q, keep);
    t1 = now_ns();
    return (t1 - t0) / (double)(2 * n);
}
