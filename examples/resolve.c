/* Resolves host names at once, without blocking the scheduler: getaddrinfo
 * has no non-blocking form, so each lookup is handed to a pool of worker
 * threads (MT_OFFLOAD), one task per name waiting for its own, each under
 * a timeout. A lookup that times out is left to finish on its worker,
 * which frees its result (the work's drop); the task reports the timeout
 * at once. --slow MS makes each lookup sleep first, to show that.
 * Usage: resolve [--workers N] [--timeout MS] [--slow MS] NAME...
 * Prints "NAME: ADDRESS..." (or the error) in the order given; exit
 * status 0 if every name resolved, else 1. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "multitask.h"

#define MAX_NAMES 64

/* The work: its input and result live here, not in the task's frame, for
 * a worker may still be writing them after the wait gave up. */
struct lookup {
    mt_work work;
    const char *name;
    long slow_ms;
    int rc;                 /* getaddrinfo's */
    struct addrinfo *res;
};

static int dropped; /* results freed by a worker (atomic) */

static void lookup_run(mt_work *w)
{
    struct lookup *l = (struct lookup *)w;
    struct addrinfo hints;

    if (l->slow_ms > 0) {
        struct timespec ts;
        ts.tv_sec = l->slow_ms / 1000;
        ts.tv_nsec = l->slow_ms % 1000 * 1000000L;
        nanosleep(&ts, NULL);
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM; /* one entry per address */
    l->rc = getaddrinfo(l->name, NULL, &hints, &l->res);
}

/* Its waiter timed out: runs on the worker, after lookup_run. */
static void lookup_drop(mt_work *w)
{
    struct lookup *l = (struct lookup *)w;
    if (l->rc == 0)
        freeaddrinfo(l->res);
    l->res = NULL;
    __atomic_add_fetch(&dropped, 1, __ATOMIC_RELAXED);
}

struct resolver {
    mt_task task;
    struct lookup *lookup;
    mt_pool *pool;
    long timeout;
    char line[1024];
};

/* "ADDR ADDR ..." of a result. */
static void addresses(const struct addrinfo *ai, char *out, size_t cap)
{
    size_t n = 0;
    for (; ai && n + INET6_ADDRSTRLEN + 2 < cap; ai = ai->ai_next) {
        const void *a = ai->ai_family == AF_INET
                            ? (const void *)&((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_addr
                            : (const void *)&((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_addr;
        out[n++] = ' ';
        if (inet_ntop(ai->ai_family, a, out + n, (socklen_t)(cap - n)))
            n += strlen(out + n);
    }
    out[n] = '\0';
}

static int resolver(mt_task *t)
{
    struct resolver *f = (struct resolver *)t;
    struct lookup *l = f->lookup;
    MT_BEGIN(t);
    MT_CATCH(t, MT_OFFLOAD(t, f->pool, &f->lookup->work, f->timeout));
    if (mt_err(t) == MT_ETIMEDOUT) {
        snprintf(f->line, sizeof f->line, "%s: timed out after %ld ms", l->name, f->timeout);
        MT_RAISE(t, MT_ETIMEDOUT, NULL);
    } else if (mt_err(t)) {
        snprintf(f->line, sizeof f->line, "%s: %s", l->name, mt_strerror(mt_err(t)));
        MT_RAISE(t, mt_err(t), NULL);
    } else if (l->rc != 0) {
        snprintf(f->line, sizeof f->line, "%s: %s", l->name, gai_strerror(l->rc));
        MT_RAISE(t, MT_EFAIL, NULL);
    }
    {
        char list[sizeof f->line - 64];
        addresses(l->res, list, sizeof list);
        snprintf(f->line, sizeof f->line, "%.60s:%s", l->name, list);
    }
    freeaddrinfo(l->res);
    l->res = NULL;
    MT_END(t);
}

static struct lookup lookups[MAX_NAMES];
static struct resolver resolvers[MAX_NAMES];
static mt_pool pool;

/* Failures are in the lines printed: no report of them. */
static void quiet(mt_task *t, const char *name, void *arg)
{
    (void)t;
    (void)name;
    (void)arg;
}

static int usage(void)
{
    fprintf(stderr, "usage: resolve [--workers N] [--timeout MS] [--slow MS] NAME...\n");
    return 2;
}

int main(int argc, char **argv)
{
    long workers = 4, timeout = 5000, slow = 0;
    int i, n = 0, failed = 0, r;

    for (i = 1; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        long v = atol(argv[i + 1]);
        if (!strcmp(argv[i], "--workers") && v > 0 && v <= MT_POOL_MAX)
            workers = v;
        else if (!strcmp(argv[i], "--timeout") && v >= 0)
            timeout = v;
        else if (!strcmp(argv[i], "--slow") && v >= 0)
            slow = v;
        else
            return usage();
    }
    if (i >= argc || argc - i > MAX_NAMES)
        return usage();
    if ((r = mt_pool_start(&pool, (size_t)workers)) != 0) {
        fprintf(stderr, "resolve: no worker threads: %s\n", mt_strerror(r));
        return 1;
    }
    for (; i < argc; i++, n++) {
        lookups[n].work.fn = lookup_run;
        lookups[n].work.drop = lookup_drop;
        lookups[n].name = argv[i];
        lookups[n].slow_ms = slow;
        resolvers[n].lookup = &lookups[n];
        resolvers[n].pool = &pool;
        resolvers[n].timeout = timeout;
        mt_add(&resolvers[n].task, resolver);
    }
    mt_sched_set_report(mt_default(), quiet, NULL);
    mt_run();
    for (i = 0; i < n; i++) {
        puts(resolvers[i].line);
        failed |= mt_state(&resolvers[i].task) != MT_DONE;
    }
    fflush(stdout);
    mt_pool_stop(&pool); /* waits for the lookups left running */
    if (__atomic_load_n(&dropped, __ATOMIC_RELAXED))
        fprintf(stderr, "resolve: %d timed-out lookup(s) finished later; results freed\n",
                __atomic_load_n(&dropped, __ATOMIC_RELAXED));
    mt_sched_destroy(mt_default());
    return failed;
}
