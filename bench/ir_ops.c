/* Instructions per operation: one operation of the library N times, for
 * bench/ir.sh to run under callgrind at two sizes. The difference of the
 * two instruction counts over the difference of the sizes is the cost of
 * one operation, free of start-up and of the machine's noise.
 * Usage: ir_ops OP N   OP: yield spawn spawn8 await group group1 queue
 *                          queue-idle choose event sem sleep idle idle100
 *                          ring, or a floor (floor.c, no library):
 *                          floor-yield floor-spawn floor-spawn-hot
 *                          floor-mailbox floor-mailbox-idle floor-flag */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floor.h"
#include "multitask.h"

static long n;

struct loop { mt_task task; long i; };

static int yielder(mt_task *t)
{
    struct loop *f = (struct loop *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < n; f->i++)
        MT_YIELD(t);
    MT_END(t);
}

static int leaf(mt_task *t)
{
    MT_BEGIN(t);
    MT_END(t);
}

struct awaiter { mt_task task; long i; mt_task child; };

static int awaiter(mt_task *t)
{
    struct awaiter *f = (struct awaiter *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < n; f->i++)
        MT_AWAIT(t, &f->child, leaf, MT_FOREVER);
    MT_END(t);
}

/* "group": n children, started 8 at a time into a group and joined;
 * "group1": one at a time. */
enum { KIDS = 8 };
struct owner { mt_task task; long i; int k, per; mt_group g; mt_task *slots[KIDS]; mt_task kids[KIDS]; };

static int owner(mt_task *t)
{
    struct owner *f = (struct owner *)t;
    MT_BEGIN(t);
    mt_group_init(&f->g, f->slots, KIDS);
    for (f->i = 0; f->i < n; f->i += f->per) {
        for (f->k = 0; f->k < f->per; f->k++)
            MT_SPAWN(t, &f->g, &f->kids[f->k], leaf);
        MT_JOIN(t, &f->g, MT_FOREVER);
    }
    MT_END(t);
}

static mt_queue q;
struct qtask { mt_task task; long i; int item; };

static int producer(mt_task *t)
{
    struct qtask *f = (struct qtask *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < n; f->i++) {
        f->item = (int)f->i;
        MT_QUEUE_PUT(t, &q, &f->item, MT_FOREVER);
    }
    MT_END(t);
}

/* The consumer of "choose": MT_CHOOSE over the queue and an event never
 * set. */
static mt_event never;
struct ctask { mt_task task; long i; int item, which; mt_clause cl[2]; };

static int chooser(mt_task *t)
{
    struct ctask *f = (struct ctask *)t;
    MT_BEGIN(t);
    mt_clause_get(&f->cl[0], &q, &f->item);
    mt_clause_event(&f->cl[1], &never);
    for (f->i = 0; f->i < n; f->i++)
        MT_CHOOSE(t, f->cl, 2, &f->which, MT_FOREVER);
    MT_END(t);
}

static mt_event consumed; /* set when the consumer is done */

static int consumer(mt_task *t)
{
    struct qtask *f = (struct qtask *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < n; f->i++)
        MT_QUEUE_GET(t, &q, &f->item, MT_FOREVER);
    mt_event_set(&consumed);
    MT_END(t);
}

/* "queue-idle": IDLE tasks wait (parked) for the consumer to end, as the
 * floor's idle machines do by polling. */
enum { IDLE = 100 };

static int idler(mt_task *t)
{
    MT_BEGIN(t);
    MT_EVENT_WAIT(t, &consumed, MT_FOREVER);
    MT_END(t);
}

/* Ping-pong: each side waits on its own object and wakes the other's. */
static mt_event evs[2];
static mt_sem sems[2];
struct side { mt_task task; long i; int me; };

static int event_side(mt_task *t)
{
    struct side *f = (struct side *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < n; f->i++) {
        if (f->me == 0 || f->i > 0)
            mt_event_set(&evs[!f->me]);
        MT_EVENT_WAIT(t, &evs[f->me], MT_FOREVER);
        mt_event_clear(&evs[f->me]);
    }
    mt_event_set(&evs[!f->me]);
    MT_END(t);
}

static int sem_side(mt_task *t)
{
    struct side *f = (struct side *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < n; f->i++) {
        MT_SEM_WAIT(t, &sems[f->me], MT_FOREVER);
        (void)mt_sem_signal(&sems[!f->me]);
    }
    MT_END(t);
}

static int sleeper(mt_task *t)
{
    struct loop *f = (struct loop *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < n; f->i++)
        MT_SLEEP(t, 1 + (f->i & 7));
    MT_END(t);
}

/* "idle", "idle100", "ring": a token passed round RING tasks, each waiting
 * on its own event as an idle connection waits for its next request: the
 * task woken re-arms its timeout and wakes the next. Each wake-up cancels
 * the oldest timer and arms the newest, as a server with RING connections
 * does per request. idle: a 30000-tick timeout (a 30 s idle timeout in ms);
 * idle100: 100 ticks; ring: none (MT_FOREVER), the baseline. The virtual
 * clock stands still, so no timer fires. n wake-ups, then RING more to end. */
enum { RING = 100 };
static mt_event ring_ev[RING];
static long ring_timeout, ring_hops;
struct ringer { mt_task task; int me; };

static int ringer(mt_task *t)
{
    struct ringer *f = (struct ringer *)t;
    MT_BEGIN(t);
    for (;;) {
        MT_EVENT_WAIT(t, &ring_ev[f->me], ring_timeout);
        mt_event_clear(&ring_ev[f->me]);
        mt_event_set(&ring_ev[(f->me + 1) % RING]);
        if (ring_hops++ >= n)
            break; /* and the next one ends too */
    }
    MT_END(t);
}

static mt_time vnow;
static mt_time vclock(void *arg) { (void)arg; return vnow; }
static void vidle(void *arg, long ms) { (void)arg; vnow = (mt_time)(vnow + (mt_time)ms); }

int main(int argc, char **argv)
{
    static struct loop l[2];
    static struct awaiter a;
    static struct qtask qt[2];
    static struct side sd[2];
    static mt_task spawned;
    static int storage[1];
    const char *op = argc > 2 ? argv[1] : "";
    mt_sched s;
    long i;

    n = argc > 2 ? atol(argv[2]) : 0;
    if (!strncmp(op, "floor-", 6)) { /* the same counts of operations */
        if (!strcmp(op, "floor-yield"))
            (void)floor_yield(2, 2 * n);
        else if (!strcmp(op, "floor-spawn"))
            (void)floor_spawn(n);
        else if (!strcmp(op, "floor-spawn-hot"))
            (void)floor_spawn_hot(n);
        else if (!strcmp(op, "floor-mailbox"))
            (void)floor_mailbox(n);
        else if (!strcmp(op, "floor-mailbox-idle"))
            (void)floor_mailbox_idle(n, IDLE);
        else if (!strcmp(op, "floor-flag"))
            (void)floor_flag(n); /* 2n hand-offs, as event and sem */
        else
            return 2;
        return 0;
    }
    mt_sched_init(&s);
    if (!strcmp(op, "yield")) { /* two tasks, n yields each: 2n */
        mt_sched_add(&s, &l[0].task, yielder);
        mt_sched_add(&s, &l[1].task, yielder);
    } else if (!strcmp(op, "spawn")) { /* add, run, finish: n */
        for (i = 0; i < n; i++) {
            mt_sched_add(&s, &spawned, leaf);
            mt_sched_run_once(&s, 0);
        }
    } else if (!strcmp(op, "spawn8")) { /* add 8, run them in one cycle: n */
        static mt_task eight[KIDS];
        for (i = 0; i < n; i += KIDS) {
            int k;
            for (k = 0; k < KIDS; k++)
                mt_sched_add(&s, &eight[k], leaf);
            mt_sched_run_once(&s, 0);
        }
    } else if (!strcmp(op, "await")) { /* a child that ends at once: n */
        mt_sched_add(&s, &a.task, awaiter);
    } else if (!strcmp(op, "group") || !strcmp(op, "group1")) { /* n children */
        static struct owner o;
        o.per = !strcmp(op, "group") ? KIDS : 1;
        mt_sched_add(&s, &o.task, owner);
    } else if (!strcmp(op, "queue") || !strcmp(op, "queue-idle")) { /* capacity 1: n items */
        static mt_task idlers[IDLE];
        mt_queue_init(&q, storage, sizeof storage[0], 1, NULL, 0);
        mt_event_init(&consumed);
        for (i = 0; !strcmp(op, "queue-idle") && i < IDLE; i++)
            mt_sched_add(&s, &idlers[i], idler);
        mt_sched_add(&s, &qt[0].task, producer);
        mt_sched_add(&s, &qt[1].task, consumer);
    } else if (!strcmp(op, "choose")) { /* the same, consumer in MT_CHOOSE */
        static struct ctask ct;
        mt_queue_init(&q, storage, sizeof storage[0], 1, NULL, 0);
        mt_event_init(&never);
        mt_sched_add(&s, &qt[0].task, producer);
        mt_sched_add(&s, &ct.task, chooser);
    } else if (!strcmp(op, "event") || !strcmp(op, "sem")) { /* 2n wake-ups */
        int ev = !strcmp(op, "event");
        for (i = 0; i < 2; i++) {
            mt_event_init(&evs[i]);
            mt_sem_init(&sems[i], i == 0);
            sd[i].me = (int)i;
            mt_sched_add(&s, &sd[i].task, ev ? event_side : sem_side);
        }
    } else if (!strcmp(op, "sleep")) { /* virtual clock, 2 sleepers: 2n */
        mt_sched_set_clock(&s, vclock, vidle, NULL);
        mt_sched_add(&s, &l[0].task, sleeper);
        mt_sched_add(&s, &l[1].task, sleeper);
    } else if (!strcmp(op, "idle") || !strcmp(op, "idle100") || !strcmp(op, "ring")) {
        static struct ringer r[RING]; /* n wake-ups, each re-arming a timer */
        ring_timeout = !strcmp(op, "idle") ? 30000 : !strcmp(op, "idle100") ? 100 : MT_FOREVER;
        mt_sched_set_clock(&s, vclock, vidle, NULL);
        for (i = 0; i < RING; i++) {
            mt_event_init(&ring_ev[i]);
            r[i].me = (int)i;
            mt_sched_add(&s, &r[i].task, ringer);
        }
        mt_event_set(&ring_ev[0]);
    } else {
        fprintf(stderr, "usage: ir_ops yield|spawn|spawn8|await|group|group1|queue|queue-idle|choose|event|sem|sleep|idle|idle100|ring|floor-... N\n");
        return 2;
    }
    if (mt_sched_run(&s) != 0 || mt_sched_destroy(&s) != 0) {
        fprintf(stderr, "ir_ops %s: the run failed\n", op);
        return 1;
    }
    return 0;
}
