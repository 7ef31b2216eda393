/* RAM of a minimal program on AVR with the library's default settings: one
 * task that sleeps in a loop, main running the scheduler (run.sh size
 * reports its .data + .bss; run.sh test fails above 256 bytes). */
#include "multitask.h"
static volatile mt_time ticks;
static mt_time now(void *a) { (void)a; return ticks; }
static void idle(void *a, long ms) { (void)a; ticks += (mt_time)ms; }
struct blink { mt_task task; unsigned char n; };
static int blink(mt_task *t) {
    struct blink *f = (struct blink *)t;
    MT_BEGIN(t);
    for (;;) { f->n++; MT_SLEEP(t, 500); }
    MT_END(t);
}
static mt_sched s; static struct blink b;
int main(void) { mt_sched_set_clock(&s, now, idle, 0); mt_sched_add(&s, &b.task, blink); return mt_sched_run(&s); }
