/* Tasks that sleep with different periods, and a wait that times out.
 * Usage: sleepers [--virtual]
 * On the real clock it takes 1.2 s. With --virtual it runs on a clock that
 * the idle hook moves forward by hand: the same output, instantly, every
 * time (the way the tests run). */
#include <stdio.h>
#include <string.h>

#include "multitask.h"

static mt_sched sched;
static mt_time start;

static long elapsed(void) { return (long)(mt_time)(mt_sched_now(&sched) - start); }

struct ticker {
    mt_task task;
    const char *name;
    long period;
    int count, i;
};

static int ticker(mt_task *t)
{
    struct ticker *f = (struct ticker *)t;
    MT_BEGIN(t);
    for (f->i = 1; f->i <= f->count; f->i++) {
        MT_SLEEP(t, f->period);
        printf("%5ld ms  %s %d\n", elapsed(), f->name, f->i);
    }
    MT_END(t);
}

/* A job that takes a second, and a task that will wait only 300 ms for it. */
static int slow_job(mt_task *t)
{
    MT_BEGIN(t);
    MT_SLEEP(t, 1000);
    printf("slow job finished (never printed: it is cancelled)\n");
    MT_FINALLY(t);
    printf("%5ld ms  slow job: cancelled, cleaning up\n", elapsed());
    MT_END(t);
}

struct impatient {
    mt_task task;
    mt_task job;
};

static int impatient(mt_task *t)
{
    struct impatient *f = (struct impatient *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_AWAIT(t, &f->job, slow_job, 300));
    printf("%5ld ms  impatient: %s (%s)\n", elapsed(), mt_errmsg(t),
           mt_errname(mt_err(t)));
    MT_END(t);
}

/* The virtual clock: reading it costs nothing, idling jumps it forward. */
static mt_time virtual_now;
static mt_time vclock(void *arg) { (void)arg; return virtual_now; }
static void vidle(void *arg, long ms) { (void)arg; virtual_now += (mt_time)ms; }

int main(int argc, char **argv)
{
    static struct ticker fast = {.name = "fast", .period = 250, .count = 4};
    static struct ticker slow = {.name = "slow", .period = 400, .count = 3};
    static struct impatient imp;

    mt_sched_init(&sched);
    if (argc > 1 && strcmp(argv[1], "--virtual") == 0)
        mt_sched_set_clock(&sched, vclock, vidle, NULL);
    start = mt_sched_now(&sched);
    mt_sched_add(&sched, &fast.task, ticker);
    mt_sched_add(&sched, &slow.task, ticker);
    mt_sched_add(&sched, &imp.task, impatient);
    if (mt_sched_run(&sched) != 0)
        return 1;
    return mt_sched_destroy(&sched) == 0 ? 0 : 1; /* closes what it opened */
}
