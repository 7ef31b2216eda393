/* A small program for measuring the core's share of a linked image: tasks,
 * yield, sleep, await with a timeout, catch, cancel; a clock hook. */
#include "multitask.h"
static volatile mt_time ticks;
static mt_time now(void *a) { (void)a; return ticks; }
static void idle(void *a, long ms) { (void)a; ticks += (mt_time)ms; }
struct child { mt_task task; int v; };
static int child(mt_task *t) { struct child *f = (struct child *)t; MT_BEGIN(t); MT_SLEEP(t, 5); f->v = 1; MT_END(t); }
struct par { mt_task task; struct child c; int i; };
static int par(mt_task *t) { struct par *f = (struct par *)t; MT_BEGIN(t); for (f->i = 0; f->i < 3; f->i++) { MT_YIELD(t);
 MT_CATCH(t, MT_AWAIT(t, &f->c.task, child, 100)); } MT_END(t); }
static mt_sched s; static struct par p;
int main(void) { mt_sched_set_clock(&s, now, idle, 0); mt_sched_add(&s, &p.task, par); mt_cancel(&p.task); return mt_sched_run(&s); }
