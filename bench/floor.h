/* The baselines that bench_core measures beside the library: each returns
 * nanoseconds per operation (floor.c: hand-written state machines;
 * threads.c: POSIX threads). */
#ifndef BENCH_FLOOR_H
#define BENCH_FLOOR_H

double floor_yield(int ntasks, long total); /* per resume */
double floor_spawn(long n);                 /* per malloc + run + free */
double floor_spawn_hot(long n);             /* per start + run, frame reused */
double floor_mailbox(long n);               /* per item through one slot */
double floor_mailbox_idle(long n, int idle); /* the same, `idle` machines waiting */
double floor_flag(long n);                  /* per hand-off of a flag */
double threads_pingpong(long rounds, int same_cpu); /* per hand-off */

#endif
