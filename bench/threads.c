/* The other baseline for a yield: two POSIX threads handing a turn back and
 * forth through a mutex and a condition variable, the way code without
 * tasks hands work between two activities. With same_cpu both threads are
 * pinned to one core (a context switch per hand-off, like a cooperative
 * scheduler on one core); without, the kernel places them (a cross-core
 * wake-up per hand-off). gnu99: it needs sched_setaffinity. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "floor.h"
#include "stats.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int turn;
static long rounds;

static void *player(void *arg)
{
    int me = (int)(long)arg;
    long i;

    for (i = 0; i < rounds; i++) {
        pthread_mutex_lock(&mu);
        while (turn != me)
            pthread_cond_wait(&cv, &mu);
        turn = !me;
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}

double threads_pingpong(long n, int same_cpu)
{
    pthread_t a, b;
    pthread_attr_t attr;
    cpu_set_t one, saved;
    double t0, t1;
    int cpu = sched_getcpu();

    /* threads inherit the creator's affinity: pin ourselves, then restore */
    sched_getaffinity(0, sizeof saved, &saved);
    if (same_cpu) {
        CPU_ZERO(&one);
        CPU_SET(cpu >= 0 ? cpu : 0, &one);
        sched_setaffinity(0, sizeof one, &one);
    }
    pthread_attr_init(&attr);
    rounds = n;
    turn = 0;
    t0 = now_ns();
    if (pthread_create(&a, &attr, player, (void *)0L) ||
        pthread_create(&b, &attr, player, (void *)1L))
        abort();
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    t1 = now_ns();
    pthread_attr_destroy(&attr);
    sched_setaffinity(0, sizeof saved, &saved);
    return (t1 - t0) / (double)(2 * n);
}
