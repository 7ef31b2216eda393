/* The timer baseline: libuv doing what bench_core's rtimers part does with
 * tasks: n timers of random 0-100 ms (the same seed, so the same
 * durations) on the real clock, one-shot, in one loop. Reports the CPU time
 * per timer (setup + run, getrusage) and the lateness: the callback's
 * CLOCK_MONOTONIC time minus the deadline libuv computed (its loop time
 * in ms + the timeout). One line per size, median of REPS:
 * "libuv N cpu_ns_med cpu_min cpu_max p50_us p99_us wall_ms"
 * Usage: uv_timers [SCALE] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "stats.h"

struct timer {
    uv_timer_t h; /* first: the callback's handle is the timer */
    long ms;
    uint64_t due;
    float late;
};

static void on_timer(uv_timer_t *h)
{
    struct timer *t = (struct timer *)h;
    t->late = (float)(now_ns() - (double)t->due * 1e6);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void run(long n, double *cpu, double *p50, double *p99, double *wall)
{
    uv_loop_t loop;
    struct timer *tm = calloc((size_t)n, sizeof *tm);
    float *late = calloc((size_t)n, sizeof *late);
    double c0, t0;
    long i;

    if (!tm || !late || uv_loop_init(&loop))
        abort();
    srand(1);
    for (i = 0; i < n; i++)
        tm[i].ms = rand() % 101;
    c0 = cpu_ns();
    t0 = now_ns();
    uv_update_time(&loop);
    for (i = 0; i < n; i++) {
        uv_timer_init(&loop, &tm[i].h);
        tm[i].due = uv_now(&loop) + (uint64_t)tm[i].ms;
        uv_timer_start(&tm[i].h, on_timer, (uint64_t)tm[i].ms, 0);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    *wall = (now_ns() - t0) / 1e6;
    *cpu = (cpu_ns() - c0) / (double)n;
    for (i = 0; i < n; i++) {
        late[i] = tm[i].late / 1e3f;
        uv_close((uv_handle_t *)&tm[i].h, NULL); /* untimed: so the loop can close */
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    qsort(late, (size_t)n, sizeof *late, cmp_float);
    *p50 = late[n / 2];
    *p99 = late[n * 99 / 100];
    free(late);
    free(tm);
}

int main(int argc, char **argv)
{
    long scale = argc > 1 ? atol(argv[1]) : 1, sizes[2];
    double cpu[REPS], p50[REPS], p99[REPS], wall[REPS];
    struct summary sc;
    int r, k;

    sizes[1] = 1000000 / (scale > 0 ? scale : 1);
    if (sizes[1] < 1000)
        sizes[1] = 1000; /* as bench_core does */
    sizes[0] = sizes[1] / 10;
    for (k = 0; k < 2; k++) {
        for (r = 0; r < REPS; r++)
            run(sizes[k], &cpu[r], &p50[r], &p99[r], &wall[r]);
        sc = summarize(cpu);
        printf("libuv %ld %.1f %.1f %.1f %.0f %.0f %.0f\n", sizes[k], sc.med, sc.min, sc.max,
               summarize(p50).med, summarize(p99).med, summarize(wall).med);
    }
    return 0;
}
