/* Shared by the benchmarks: clocks and the summary of repeated runs (the
 * machines are noisy, so every figure is a median with its min-max spread). */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#define REPS 5

static inline double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* User + system CPU time of this process so far. */
static inline double cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec) * 1e9 +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) * 1e3;
}

/* Peak resident set size of this process, in bytes (Linux: ru_maxrss in KiB). */
static inline double maxrss_bytes(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss * 1024.0;
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

struct summary { double med, min, max; };

/* Median and spread of REPS values (sorts them in place). */
static inline struct summary summarize(double *v)
{
    struct summary s;
    qsort(v, REPS, sizeof *v, cmp_double);
    s.med = v[REPS / 2];
    s.min = v[0];
    s.max = v[REPS - 1];
    return s;
}

#endif
