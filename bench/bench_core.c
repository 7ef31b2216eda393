/* Core costs of the library beside their floors (floor.c: hand-written
 * state machines; threads.c: POSIX threads), each part a markdown table.
 * Every figure is the median of REPS runs with its spread (min-max); the
 * library and its baselines alternate within each repetition, so a noisy
 * moment hits both, and ratios are taken between medians of the same run.
 * Usage: bench_core PART [SCALE]   PART: yield spawn mem handoff vtimers
 *        rtimers, or all; SCALE divides the sizes (CI runs them briefly).
 * mem and rtimers are meant to run in a process of their own (bench/run.sh
 * does), so peak RSS and CPU time count only their own tasks. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floor.h"
#include "multitask.h"
#include "stats.h"

static long n_ops; /* 1,000,000 divided by SCALE */

static void row(const char *what, struct summary s, double base, double yield)
{
    printf("| %s | %.2f | %.2f-%.2f |", what, s.med, s.min, s.max);
    if (base > 0)
        printf(" %.2f |", s.med / base);
    else
        printf(" - |");
    if (yield > 0)
        printf(" %.2f |\n", s.med / yield);
    else
        printf("\n");
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

static void part_yield(void)
{
    double y2[REPS], f2[REPS], y10k[REPS], f10k[REPS], th1[REPS], thn[REPS];
    struct summary sy2, sf2, sy10k, sf10k, sth1, sthn;
    long rounds = n_ops / 20 > 100 ? n_ops / 20 : 100; /* threads are slow */
    int r;

    for (r = 0; r < REPS; r++) {
        y2[r] = bench_yield(2, 10 * n_ops);
        f2[r] = floor_yield(2, 10 * n_ops);
        y10k[r] = bench_yield(10000, 10 * n_ops);
        f10k[r] = floor_yield(10000, 10 * n_ops);
        th1[r] = threads_pingpong(rounds, 1);
        thn[r] = threads_pingpong(rounds, 0);
    }
    sy2 = summarize(y2), sf2 = summarize(f2), sy10k = summarize(y10k);
    sf10k = summarize(f10k), sth1 = summarize(th1), sthn = summarize(thn);
    printf("### 1. Yield\n\n");
    printf("%ld yields per run (threads: %ld hand-offs).\n\n", 10 * n_ops, 2 * rounds);
    printf("| what | ns per yield, median | spread | ratio to floor |\n|---|---|---|---|\n");
    row("multitask, 2 tasks", sy2, sf2.med, 0);
    row("floor: 2 switch state machines, round-robin", sf2, sf2.med, 0);
    row("multitask, 10,000 tasks", sy10k, sf10k.med, 0);
    row("floor: 10,000 switch state machines, round-robin", sf10k, sf10k.med, 0);
    row("2 threads, mutex + condvar ping-pong, one core (per hand-off)", sth1, sf2.med, 0);
    row("2 threads, mutex + condvar ping-pong, any core (per hand-off)", sthn, sf2.med, 0);
    printf("\nA thread hand-off costs %.0fx (one core) and %.0fx (any core) a multitask yield.\n\n",
           sth1.med / sy2.med, sthn.med / sy2.med);
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

/* ---- a task group: children started 8 at a time, then joined ---- */
enum { KIDS = 8 };
struct owner { mt_task task; long i, n; int k; mt_group g; mt_task *slots[KIDS]; struct leaf kid[KIDS]; };

static int owner(mt_task *t)
{
    struct owner *f = (struct owner *)t;
    MT_BEGIN(t);
    mt_group_init(&f->g, f->slots, KIDS);
    for (f->i = 0; f->i < f->n; f->i += KIDS) {
        for (f->k = 0; f->k < KIDS; f->k++)
            MT_SPAWN(t, &f->g, &f->kid[f->k].task, leaf);
        MT_JOIN(t, &f->g, MT_FOREVER);
    }
    MT_END(t);
}

static double bench_group(long n)
{
    mt_sched s;
    static struct owner o;
    double t0, t1;

    mt_sched_init(&s);
    o.n = n;
    mt_sched_add(&s, &o.task, owner);
    t0 = now_ns();
    mt_sched_run(&s);
    t1 = now_ns();
    return (t1 - t0) / (double)n;
}

static void part_spawn(void)
{
    double sp[REPS], fs[REPS], aw[REPS], gr[REPS], y2[REPS];
    struct summary ssp, sfs, saw, sgr, sy2;
    int r;

    for (r = 0; r < REPS; r++) {
        sp[r] = bench_spawn(n_ops);
        fs[r] = floor_spawn(n_ops);
        aw[r] = bench_await(n_ops);
        gr[r] = bench_group(n_ops);
        y2[r] = bench_yield(2, 10 * n_ops);
    }
    ssp = summarize(sp), sfs = summarize(fs), saw = summarize(aw), sy2 = summarize(y2);
    sgr = summarize(gr);
    printf("### 2. Spawn and memory\n\n");
    printf("%ld tasks per run.\n\n", n_ops);
    printf("| what | ns per task, median | spread | ratio to floor | ratio to a yield |\n|---|---|---|---|---|\n");
    row("multitask: add + run + finish, frame supplied (no allocation)", ssp, sfs.med, sy2.med);
    row("floor: malloc + run a state machine + free", sfs, sfs.med, sy2.med);
    row("multitask: await a child that ends at once", saw, 0, sy2.med);
    row("multitask: spawn into a task group + join, 8 per join (per child)", sgr, 0, sy2.med);
    row("multitask: yield, 2 tasks (reference)", sy2, 0, sy2.med);
    printf("\nA child of a task group (spawn + its share of the join) costs %.2fx an add + run + finish.\n\n",
           sgr.med / ssp.med);
}

/* ---- memory: n live tasks, each parked on one event ---- */
struct waiter { mt_task task; };
static mt_event ev;

static int waiter(mt_task *t)
{
    MT_BEGIN(t);
    MT_EVENT_WAIT(t, &ev, MT_FOREVER);
    MT_END(t);
}

static void part_mem(void)
{
    mt_sched s;
    double before = maxrss_bytes(), peak;
    struct waiter *w = calloc((size_t)n_ops, sizeof *w);
    long i;

    mt_sched_init(&s);
    mt_event_init(&ev);
    for (i = 0; i < n_ops; i++)
        mt_sched_add(&s, &w[i].task, waiter);
    mt_sched_run_once(&s, 0); /* every task runs to its wait */
    peak = maxrss_bytes();
    if (mt_sched_live(&s) != (unsigned long)n_ops)
        abort();
    mt_event_set(&ev);
    mt_sched_run(&s);
    free(w);
    printf("| memory | value |\n|---|---|\n");
    printf("| sizeof(mt_task), the library's state per task | %zu B |\n", sizeof(mt_task));
    printf("| sizeof(mt_sched) | %zu B |\n", sizeof(mt_sched));
    printf("| peak RSS, %ld live tasks (frame = mt_task, each waiting on an event) | %.1f MB |\n",
           n_ops, peak / 1e6);
    printf("| peak RSS before they were allocated | %.1f MB |\n", before / 1e6);
    printf("| RSS per live task (peak - before) / n | %.1f B |\n\n", (peak - before) / (double)n_ops);
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

/* The same hand-off, the consumer waiting with MT_CHOOSE on the queue and
 * an event that is never set (a 2-clause wait). */
struct ctask { mt_task task; mt_queue *q; mt_event *e; long i, n; int item, which; mt_clause cl[2]; };

static int cconsumer(mt_task *t)
{
    struct ctask *f = (struct ctask *)t;
    MT_BEGIN(t);
    mt_clause_get(&f->cl[0], f->q, &f->item);
    mt_clause_event(&f->cl[1], f->e);
    for (f->i = 0; f->i < f->n; f->i++)
        MT_CHOOSE(t, f->cl, 2, &f->which, MT_FOREVER);
    MT_END(t);
}

static double bench_choose(long n)
{
    mt_sched s;
    static mt_queue q;
    static mt_event e;
    static int store[1];
    static struct qtask p;
    static struct ctask c;
    double t0, t1;

    mt_sched_init(&s);
    mt_queue_init(&q, store, sizeof(int), 1, NULL, 0);
    mt_event_init(&e);
    p.q = c.q = &q;
    c.e = &e;
    p.n = c.n = n;
    mt_sched_add(&s, &p.task, qproducer);
    mt_sched_add(&s, &c.task, cconsumer);
    t0 = now_ns();
    mt_sched_run(&s);
    t1 = now_ns();
    return (t1 - t0) / (double)n;
}

/* ---- semaphore ping-pong between two tasks ---- */
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

/* ---- event ping-pong: wait for my event, clear it, set the other's ---- */
struct etask { mt_task task; mt_event *mine, *other; long i, n; };

static int eponger(mt_task *t)
{
    struct etask *f = (struct etask *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < f->n; f->i++) {
        MT_EVENT_WAIT(t, f->mine, MT_FOREVER);
        mt_event_clear(f->mine);
        mt_event_set(f->other);
    }
    MT_END(t);
}

static double bench_event(long n)
{
    mt_sched s;
    static mt_event a, b;
    static struct etask x, y;
    double t0, t1;

    mt_sched_init(&s);
    mt_event_init(&a);
    mt_event_init(&b);
    mt_event_set(&a); /* x starts */
    x.mine = &a, x.other = &b;
    y.mine = &b, y.other = &a;
    x.n = y.n = n;
    mt_sched_add(&s, &x.task, eponger);
    mt_sched_add(&s, &y.task, eponger);
    t0 = now_ns();
    mt_sched_run(&s);
    t1 = now_ns();
    return (t1 - t0) / (double)(2 * n);
}

static void part_handoff(void)
{
    double qu[REPS], ch[REPS], fm[REPS], evt[REPS], se[REPS], ff[REPS], y2[REPS];
    struct summary squ, sch, sfm, sev, sse, sff, sy2;
    int r;

    for (r = 0; r < REPS; r++) {
        qu[r] = bench_queue(10 * n_ops);
        ch[r] = bench_choose(10 * n_ops);
        fm[r] = floor_mailbox(10 * n_ops);
        evt[r] = bench_event(10 * n_ops);
        se[r] = bench_sem(10 * n_ops);
        ff[r] = floor_flag(10 * n_ops);
        y2[r] = bench_yield(2, 10 * n_ops);
    }
    squ = summarize(qu), sch = summarize(ch), sfm = summarize(fm), sev = summarize(evt);
    sse = summarize(se), sff = summarize(ff), sy2 = summarize(y2);
    printf("### 3. Hand-offs between two tasks\n\n");
    printf("%ld hand-offs per run.\n\n", 10 * n_ops);
    printf("| what | ns per hand-off, median | spread | ratio to floor | ratio to a yield |\n|---|---|---|---|---|\n");
    row("multitask: queue, capacity 1, producer -> consumer (per item)", squ, sfm.med, sy2.med);
    row("multitask: the same, consumer in MT_CHOOSE of 2 (queue get, event)", sch, sfm.med, sy2.med);
    row("floor: one-slot mailbox polled by 2 state machines (per item)", sfm, sfm.med, sy2.med);
    row("multitask: event set/wait ping-pong", sev, sff.med, sy2.med);
    row("multitask: semaphore signal/wait ping-pong", sse, sff.med, sy2.med);
    row("floor: flag ping-pong polled by 2 state machines", sff, sff.med, sy2.med);
    row("multitask: yield, 2 tasks (reference)", sy2, 0, sy2.med);
    printf("\nThe 2-clause MT_CHOOSE hand-off costs %.2fx the plain queue hand-off.\n\n",
           sch.med / squ.med);
}

/* ---- timers on a virtual clock: n tasks each sleep 0..100 ticks; only
 * the scheduler's work is timed ---- */
struct sleeper { mt_task task; long ms; mt_time due; float late; };

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

static double bench_vtimers(long n)
{
    mt_sched s;
    struct sleeper *sl = calloc((size_t)n, sizeof *sl);
    double t0, t1;
    long i;

    srand(1);
    for (i = 0; i < n; i++)
        sl[i].ms = rand() % 101;
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

static void part_vtimers(void)
{
    long sizes[2];
    double tm[2][REPS], sp[2][REPS];
    struct summary stm[2], ssp[2];
    int r, k;

    sizes[0] = n_ops / 10, sizes[1] = n_ops;
    for (r = 0; r < REPS; r++)
        for (k = 0; k < 2; k++) {
            tm[k][r] = bench_vtimers(sizes[k]);
            sp[k][r] = bench_spawn(sizes[k]);
        }
    /* A spawn is O(1) work: how much it grows from n/10 to n is the memory
     * hierarchy's share, the reference for the growth of a timer. */
    printf("Fake clock (virtual time jumps to the next deadline: the scheduler's work alone):\n\n");
    printf("| tasks, each one sleep of 0-100 ticks | task + sleep ns, median | spread | spawn alone ns | timer alone (difference) ns | growth from n/10: task + sleep | growth: spawn alone |\n|---|---|---|---|---|---|---|\n");
    for (k = 0; k < 2; k++) {
        stm[k] = summarize(tm[k]);
        ssp[k] = summarize(sp[k]);
        printf("| %ld | %.2f | %.2f-%.2f | %.2f | %.2f |", sizes[k], stm[k].med, stm[k].min,
               stm[k].max, ssp[k].med, stm[k].med - ssp[k].med);
        if (k)
            printf(" %.2f | %.2f |\n", stm[1].med / stm[0].med, ssp[1].med / ssp[0].med);
        else
            printf(" - | - |\n");
    }
    printf("\n");
}

/* ---- timers on the real clock: CPU time per timer, and lateness (the
 * wake-up's CLOCK_MONOTONIC time minus the deadline the scheduler computed,
 * in its millisecond ticks). One line per size, for bench/run.sh:
 * "multitask N cpu_ns_med cpu_min cpu_max p50_us p99_us wall_ms" ---- */
static float late_ns(mt_time due)
{
    double w = now_ns(), ms = (double)(unsigned long long)(w / 1e6); /* the tick, as the clock reads it */
    mt_time ticks = (mt_time)((mt_time)(unsigned long long)ms - due); /* wrap-safe */
    return (float)(w - ms * 1e6 + (double)ticks * 1e6);
}

static int rsleeper(mt_task *t)
{
    struct sleeper *f = (struct sleeper *)t;
    MT_BEGIN(t);
    f->due = mt_deadline(t, f->ms);
    MT_SLEEP(t, f->ms);
    f->late = late_ns(f->due);
    MT_END(t);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void bench_rtimers(long n, double *cpu, double *p50, double *p99, double *wall)
{
    mt_sched s;
    struct sleeper *sl = calloc((size_t)n, sizeof *sl);
    float *late = malloc((size_t)n * sizeof *late);
    double c0, t0;
    long i;

    srand(1);
    for (i = 0; i < n; i++)
        sl[i].ms = rand() % 101;
    for (i = 0; i < n; i++)
        late[i] = 0; /* fault the pages in untimed */
    mt_sched_init(&s);
    c0 = cpu_ns();
    t0 = now_ns();
    for (i = 0; i < n; i++)
        mt_sched_add(&s, &sl[i].task, rsleeper);
    mt_sched_run(&s);
    *wall = (now_ns() - t0) / 1e6;
    *cpu = (cpu_ns() - c0) / (double)n;
    for (i = 0; i < n; i++)
        late[i] = sl[i].late / 1e3f;
    qsort(late, (size_t)n, sizeof *late, cmp_float);
    *p50 = late[n / 2];
    *p99 = late[n * 99 / 100];
    free(late);
    free(sl);
}

static void part_rtimers(void)
{
    long sizes[2];
    double cpu[REPS], p50[REPS], p99[REPS], wall[REPS];
    struct summary sc;
    int r, k;

    sizes[0] = n_ops / 10, sizes[1] = n_ops;
    for (k = 0; k < 2; k++) {
        for (r = 0; r < REPS; r++)
            bench_rtimers(sizes[k], &cpu[r], &p50[r], &p99[r], &wall[r]);
        sc = summarize(cpu);
        printf("multitask %ld %.1f %.1f %.1f %.0f %.0f %.0f\n", sizes[k], sc.med, sc.min, sc.max,
               summarize(p50).med, summarize(p99).med, summarize(wall).med);
    }
}

int main(int argc, char **argv)
{
    const char *part = argc > 1 ? argv[1] : "all";
    long scale = argc > 2 ? atol(argv[2]) : 1;
    int all = strcmp(part, "all") == 0;

    n_ops = 1000000 / (scale > 0 ? scale : 1);
    if (n_ops < 1000)
        n_ops = 1000; /* percentiles and n/10 need some tasks */
    if (all || strcmp(part, "yield") == 0)
        part_yield();
    if (all || strcmp(part, "spawn") == 0)
        part_spawn();
    if (all || strcmp(part, "mem") == 0)
        part_mem();
    if (all || strcmp(part, "handoff") == 0)
        part_handoff();
    if (all || strcmp(part, "vtimers") == 0)
        part_vtimers();
    if (all || strcmp(part, "rtimers") == 0)
        part_rtimers();
    return 0;
}
