/* Core costs, in one run: yield, spawn, inline await, timers (arm + fire
 * on a virtual clock, so only the scheduler's work is timed). Each figure
 * is the median of REPS runs, with the spread (min-max), and the timer cost
 * is also given as a ratio to a yield measured in the same run. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "multitask.h"

#define REPS 5

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct stat { double med, min, max; };

static struct stat summarize(double *v)
{
    struct stat s;
    qsort(v, REPS, sizeof *v, cmp);
    s.med = v[REPS / 2];
    s.min = v[0];
    s.max = v[REPS - 1];
    return s;
}

/* ---- yield ---- */
struct yielder { mt_task task; long i, n; };

static int yielder(mt_task *t)
{
    struct yielder *f = (struct yielder *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < f->n; f->i++)
        MT_YIELD(t);
    MT_END(t);
}

static double bench_yield(int ntasks, long total)
{
    mt_sched s;
    struct yielder *y = calloc((size_t)ntasks, sizeof *y);
    double t0, t1;
    int i;

    memset(y, 0, (size_t)ntasks * sizeof *y);
    mt_sched_init(&s);
    for (i = 0; i < ntasks; i++) {
        y[i].n = total / ntasks;
        mt_sched_add(&s, &y[i].task, yielder);
    }
    t0 = now_ns();
    mt_sched_run(&s);
    t1 = now_ns();
    free(y);
    return (t1 - t0) / (double)total;
}

/* ---- spawn: add + run + finish, frame supplied ---- */
struct leaf { mt_task task; int v; };

static int leaf(mt_task *t)
{
    struct leaf *f = (struct leaf *)t;
    MT_BEGIN(t);
    f->v = 1;
    MT_END(t);
}

static double bench_spawn(long n)
{
    mt_sched s;
    struct leaf *l = calloc((size_t)n, sizeof *l);
    double t0, t1;
    long i;

    memset(l, 0, (size_t)n * sizeof *l); /* fault the pages in untimed */
    mt_sched_init(&s);
    t0 = now_ns();
    for (i = 0; i < n; i++)
        mt_sched_add(&s, &l[i].task, leaf);
    mt_sched_run(&s);
    t1 = now_ns();
    free(l);
    return (t1 - t0) / (double)n;
}

/* ---- inline await of a child that ends without waiting ---- */
struct awaiter { mt_task task; long i, n; struct leaf child; };

static int awaiter(mt_task *t)
{
    struct awaiter *f = (struct awaiter *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < f->n; f->i++)
        MT_AWAIT(t, &f->child.task, leaf, MT_FOREVER);
    MT_END(t);
}

static double bench_await(long n)
{
    mt_sched s;
    static struct awaiter a;
    double t0, t1;

    mt_sched_init(&s);
    a.n = n;
    mt_sched_add(&s, &a.task, awaiter);
    t0 = now_ns();
    mt_sched_run(&s);
    t1 = now_ns();
    return (t1 - t0) / (double)n;
}

/* ---- queue hand-off: producer -> capacity-1 queue -> consumer ---- */
struct qtask { mt_task task; mt_queue *q; long i, n; int item; };

static int qproducer(mt_task *t)
{
    struct qtask *f = (struct qtask *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < f->n; f->i++) {
        f->item = (int)f->i;
        MT_QUEUE_PUT(t, f->q, &f->item, MT_FOREVER);
    }
    MT_END(t);
}

static int qconsumer(mt_task *t)
{
    struct qtask *f = (struct qtask *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < f->n; f->i++)
        MT_QUEUE_GET(t, f->q, &f->item, MT_FOREVER);
    MT_END(t);
}

static double bench_queue(long n)
{
    mt_sched s;
    static mt_queue q;
    static int store[1];
    static struct qtask p, c;
    double t0, t1;

    mt_sched_init(&s);
    mt_queue_init(&q, store, sizeof(int), 1, NULL, 0);
    p.q = c.q = &q;
    p.n = c.n = n;
    mt_sched_add(&s, &p.task, qproducer);
    mt_sched_add(&s, &c.task, qconsumer);
    t0 = now_ns();
    mt_sched_run(&s);
    t1 = now_ns();
    return (t1 - t0) / (double)n;
}

/* ---- event and semaphore ping-pong between two tasks ---- */
struct ptask { mt_task task; mt_sem *mine, *other; long i, n; };

static int pinger(mt_task *t)
{
    struct ptask *f = (struct ptask *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < f->n; f->i++) {
        mt_sem_signal(f->other);
        MT_SEM_WAIT(t, f->mine, MT_FOREVER);
    }
    MT_END(t);
}

static double bench_sem(long n)
{
    mt_sched s;
    static mt_sem a, b;
    static struct ptask x, y;
    double t0, t1;

    mt_sched_init(&s);
    mt_sem_init(&a, 0);
    mt_sem_init(&b, 1);
    x.mine = &a, x.other = &b;
    y.mine = &b, y.other = &a;
    x.n = n;
    y.n = n;
    mt_sched_add(&s, &x.task, pinger);
    mt_sched_add(&s, &y.task, pinger);
    t0 = now_ns();
    mt_sched_run(&s);
    t1 = now_ns();
    return (t1 - t0) / (double)(2 * n);
}

/* ---- timers: n tasks each sleep a random 1..100 ticks, virtual clock ---- */
struct sleeper { mt_task task; long ms; };

static int sleeper(mt_task *t)
{
    struct sleeper *f = (struct sleeper *)t;
    MT_BEGIN(t);
    MT_SLEEP(t, f->ms);
    MT_END(t);
}

static mt_time vnow;
static mt_time vclock(void *arg) { (void)arg; return vnow; }
static void vidle(void *arg, long ms) { (void)arg; vnow += (mt_time)ms; }

static double bench_timers(long n)
{
    mt_sched s;
    struct sleeper *sl = calloc((size_t)n, sizeof *sl);
    double t0, t1;
    long i;

    srand(1);
    memset(sl, 0, (size_t)n * sizeof *sl);
    for (i = 0; i < n; i++)
        sl[i].ms = 1 + rand() % 100;
    mt_sched_init(&s);
    mt_sched_set_clock(&s, vclock, vidle, NULL);
    t0 = now_ns();
    for (i = 0; i < n; i++)
        mt_sched_add(&s, &sl[i].task, sleeper);
    mt_sched_run(&s);
    t1 = now_ns();
    free(sl);
    return (t1 - t0) / (double)n;
}

int main(int argc, char **argv)
{
    long scale = argc > 1 ? atol(argv[1]) : 1; /* CI passes a small divisor */
    double y2[REPS], y10k[REPS], sp[REPS], aw[REPS], tm[REPS], qu[REPS], se[REPS];
    struct stat s_y2, s_y10k, s_sp, s_aw, s_tm, s_qu, s_se;
    int r;
    long n = 1000000 / (scale > 0 ? scale : 1);

    for (r = 0; r < REPS; r++) {
        y2[r] = bench_yield(2, 10 * n);
        y10k[r] = bench_yield(10000, 10 * n);
        sp[r] = bench_spawn(n);
        aw[r] = bench_await(n);
        tm[r] = bench_timers(n);
        qu[r] = bench_queue(10 * n);
        se[r] = bench_sem(10 * n);
    }
    s_qu = summarize(qu);
    s_se = summarize(se);
    s_y2 = summarize(y2);
    s_y10k = summarize(y10k);
    s_sp = summarize(sp);
    s_aw = summarize(aw);
    s_tm = summarize(tm);
    printf("| what (n = %ld) | ns per op, median | spread | ratio to a yield |\n", n);
    printf("|---|---|---|---|\n");
    printf("| yield, 2 tasks | %.2f | %.2f-%.2f | 1.00 |\n", s_y2.med, s_y2.min, s_y2.max);
    printf("| yield, 10,000 tasks | %.2f | %.2f-%.2f | %.2f |\n", s_y10k.med, s_y10k.min, s_y10k.max, s_y10k.med / s_y2.med);
    printf("| spawn: add + run + finish | %.2f | %.2f-%.2f | %.2f |\n", s_sp.med, s_sp.min, s_sp.max, s_sp.med / s_y2.med);
    printf("| await a child that ends at once | %.2f | %.2f-%.2f | %.2f |\n", s_aw.med, s_aw.min, s_aw.max, s_aw.med / s_y2.med);
    printf("| queue hand-off (capacity 1, producer -> consumer) | %.2f | %.2f-%.2f | %.2f |\n", s_qu.med, s_qu.min, s_qu.max, s_qu.med / s_y2.med);
    printf("| semaphore hand-off (ping-pong, per signal) | %.2f | %.2f-%.2f | %.2f |\n", s_se.med, s_se.min, s_se.max, s_se.med / s_y2.med);
    printf("| task + sleep 1-100 ticks (arm + fire) | %.2f | %.2f-%.2f | %.2f |\n", s_tm.med, s_tm.min, s_tm.max, s_tm.med / s_y2.med);
    printf("| timer alone (sleep task - spawn) | %.2f | | %.2f |\n", s_tm.med - s_sp.med, (s_tm.med - s_sp.med) / s_y2.med);
    printf("\nsizeof(mt_task) = %zu bytes, sizeof(mt_sched) = %zu bytes\n", sizeof(mt_task), sizeof(mt_sched));
    return 0;
}
