/* A worker that serves two job queues, urgent ones first, stops when asked
 * and reports when it has been idle: one MT_CHOOSE over both queues and a
 * shutdown event, with a periodic timeout.
 * Usage: worker [--virtual]
 * On the real clock it takes a second. With --virtual it runs on a clock
 * the idle hook moves forward by hand: the same output, instantly (the way
 * the tests run). */
#include <stdio.h>
#include <string.h>

#include "multitask.h"

static mt_sched sched;
static mt_time start;
static mt_queue urgent, normal;
static mt_event stop;

static long elapsed(void) { return (long)(mt_time)(mt_sched_now(&sched) - start); }

struct worker {
    mt_task task;
    mt_clause cl[3];
    int job, which, done;
};

static int worker(mt_task *t)
{
    struct worker *f = (struct worker *)t;
    MT_BEGIN(t);
    /* Described once: the same three clauses serve every wait. */
    mt_clause_get(&f->cl[0], &urgent, &f->job);
    mt_clause_get(&f->cl[1], &normal, &f->job);
    mt_clause_event(&f->cl[2], &stop);
    for (;;) {
        /* Priority: an urgent job waiting goes first. MT_CHOOSE alone takes
         * ready clauses in turn, which is fair, not ordered. */
        if (mt_queue_try_get(&urgent, &f->job) == 0) {
            f->which = 0;
        } else {
            MT_CATCH(t, MT_CHOOSE(t, f->cl, 3, &f->which, 300));
            if (mt_err(t) == MT_ETIMEDOUT) {
                printf("%5ld ms  worker: idle for 300 ms\n", elapsed());
                continue;
            }
            if (mt_err(t))
                MT_RAISE(t, mt_err(t), mt_errmsg(t));
            if (f->which == 2)
                break;
        }
        printf("%5ld ms  worker: %s job %d\n", elapsed(), f->which == 0 ? "urgent" : "normal",
               f->job);
        f->done++;
        MT_SLEEP(t, 40); /* the work */
    }
    printf("%5ld ms  worker: stopped after %d jobs (%lu urgent, %lu normal left)\n",
           elapsed(), f->done, (unsigned long)mt_queue_len(&urgent),
           (unsigned long)mt_queue_len(&normal));
    MT_END(t);
}

/* Puts `count` jobs numbered from `first` into q, one every `period` ms
 * after `delay`; then, if asked, sets the stop event. */
struct producer {
    mt_task task;
    mt_queue *q;
    long delay, period;
    int first, count, i, job, last;
};

static int producer(mt_task *t)
{
    struct producer *f = (struct producer *)t;
    MT_BEGIN(t);
    MT_SLEEP(t, f->delay);
    for (f->i = 0; f->i < f->count; f->i++) {
        f->job = f->first + f->i;
        MT_QUEUE_PUT(t, f->q, &f->job, MT_FOREVER);
        if (f->i + 1 < f->count)
            MT_SLEEP(t, f->period);
    }
    if (f->last) {
        MT_SLEEP(t, f->period);
        printf("%5ld ms  stop\n", elapsed());
        mt_event_set(&stop);
    }
    MT_END(t);
}

static mt_time virtual_now;
static mt_time vclock(void *arg) { (void)arg; return virtual_now; }
static void vidle(void *arg, long ms) { (void)arg; virtual_now += (mt_time)ms; }

int main(int argc, char **argv)
{
    static int ustore[4], nstore[8];
    static struct worker w;
    /* Normal jobs 1-4 every 50 ms from 10 ms; urgent 101-102 at 65 and 75
     * ms (they overtake the queued normal ones); then a quiet spell; normal
     * jobs 5-6 at 700 and 730 ms, the stop at 760 ms. */
    static struct producer p1 = {.q = &normal, .delay = 10, .period = 50, .first = 1, .count = 4};
    static struct producer p2 = {.q = &urgent, .delay = 65, .period = 10, .first = 101, .count = 2};
    static struct producer p3 = {.q = &normal, .delay = 700, .period = 30, .first = 5, .count = 2,
                                 .last = 1};

    mt_sched_init(&sched);
    if (argc > 1 && strcmp(argv[1], "--virtual") == 0)
        mt_sched_set_clock(&sched, vclock, vidle, NULL);
    start = mt_sched_now(&sched);
    if (mt_queue_init(&urgent, ustore, sizeof(int), 4, NULL, 0) ||
        mt_queue_init(&normal, nstore, sizeof(int), 8, NULL, 0))
        return 1;
    mt_event_init(&stop);
    mt_sched_add(&sched, &w.task, worker);
    mt_sched_add(&sched, &p1.task, producer);
    mt_sched_add(&sched, &p2.task, producer);
    mt_sched_add(&sched, &p3.task, producer);
    if (mt_sched_run(&sched) != 0)
        return 1;
    return mt_sched_destroy(&sched) == 0 ? 0 : 1;
}
