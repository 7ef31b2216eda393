/* Fetches several keys from a Redis-protocol server (kvserver, or
 * redis-server) at once, under one deadline: one connection and one task
 * per key, all in a task group, joined with MT_JOIN. If the deadline
 * passes, the join cancels the fetches still running (their sockets are
 * closed before it returns) and nothing is printed but the timeout; if one
 * fetch fails, its error cancels the others and is reported.
 * Usage: fetch PORT DEADLINE_MS KEY...     Prints KEY=VALUE (or KEY
 * missing) in the order given; exit status 0, or 1 on error or timeout. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "multitask.h"

#define MAX_KEYS 64
#define MAX_VALUE 4096

static struct sockaddr_in server;

struct fetcher {
    mt_task task;
    const char *key;
    int fd, missing;
    long vlen;
    char req[600];
    size_t reqlen, done;
    mt_line lb;
    char buf[MAX_VALUE + 64];
    char value[MAX_VALUE + 1];
};

/* One reply: "$-1" (missing) or "$LEN" and a line of LEN bytes. */
static int fetcher(mt_task *t)
{
    struct fetcher *f = (struct fetcher *)t;
    MT_BEGIN(t);
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (f->fd < 0 || mt_fd_nonblock(f->fd))
        MT_RAISE(t, MT_EFAIL, "no socket");
    MT_CONNECT(t, f->fd, (struct sockaddr *)&server, sizeof server, MT_FOREVER);
    MT_WRITE_ALL(t, f->fd, f->req, f->reqlen, &f->done, MT_FOREVER);
    mt_line_init(&f->lb, f->buf, sizeof f->buf);
    MT_READLINE(t, f->fd, &f->lb, MT_FOREVER); /* the group's join bounds it */
    if (f->lb.line < 4 || f->buf[0] != '$')
        MT_RAISE(t, MT_EFAIL, "not a bulk string reply");
    f->vlen = strtol(f->buf + 1, NULL, 10);
    if (f->vlen < 0) {
        f->missing = 1;
        MT_EXIT(t);
    }
    if (f->vlen > MAX_VALUE)
        MT_RAISE(t, MT_EFAIL, "value too long for this example");
    MT_READLINE(t, f->fd, &f->lb, MT_FOREVER);
    if ((long)f->lb.line != f->vlen + 2)
        MT_RAISE(t, MT_EFAIL, "value with a line break: not for this example");
    memcpy(f->value, f->buf, (size_t)f->vlen);
    f->value[f->vlen] = 0;
    MT_FINALLY(t);
    if (f->fd >= 0)
        mt_close(f->fd);
    MT_END(t);
}

struct fetch_all {
    mt_task task;
    mt_group g;
    mt_task *slots[MAX_KEYS];
    struct fetcher f[MAX_KEYS];
    int n;
    long deadline;
};

static int fetch_all(mt_task *t)
{
    struct fetch_all *f = (struct fetch_all *)t;
    int i;
    MT_BEGIN(t);
    mt_group_init(&f->g, f->slots, f->n);
    for (i = 0; i < f->n; i++)
        MT_SPAWN(t, &f->g, &f->f[i].task, fetcher);
    MT_CATCH(t, MT_JOIN(t, &f->g, f->deadline));
    if (mt_err(t) == MT_ETIMEDOUT) {
        fprintf(stderr, "fetch: timed out after %ld ms\n", f->deadline);
        MT_RAISE(t, MT_ETIMEDOUT, NULL);
    }
    if (mt_err(t)) {
        fprintf(stderr, "fetch: %s: %s\n", ((struct fetcher *)mt_group_failed(&f->g))->key,
                mt_errmsg(t));
        MT_RAISE(t, mt_err(t), NULL);
    }
    for (i = 0; i < f->n; i++) {
        if (f->f[i].missing)
            printf("%s missing\n", f->f[i].key);
        else
            printf("%s=%s\n", f->f[i].key, f->f[i].value);
    }
    MT_END(t);
}

static void quiet(mt_task *t, const char *name, void *arg)
{
    (void)t; /* fetch_all said what went wrong */
    (void)name;
    (void)arg;
}

int main(int argc, char **argv)
{
    static struct fetch_all all;
    int port, i, r;
    size_t klen;

    if (argc < 4 || (port = atoi(argv[1])) <= 0 || port > 65535 ||
        (all.deadline = atol(argv[2])) < 0 || all.deadline > MT_TIMEOUT_MAX) {
        fprintf(stderr, "usage: fetch PORT DEADLINE_MS KEY...\n");
        return 2;
    }
    memset(&server, 0, sizeof server);
    server.sin_family = AF_INET;
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    server.sin_port = htons((unsigned short)port);
    all.n = argc - 3 > MAX_KEYS ? MAX_KEYS : argc - 3;
    for (i = 0; i < all.n; i++) {
        struct fetcher *f = &all.f[i];
        f->key = argv[3 + i];
        f->fd = -1;
        klen = strlen(f->key);
        if (klen > 512) {
            fprintf(stderr, "fetch: key too long\n");
            return 2;
        }
        f->reqlen = (size_t)snprintf(f->req, sizeof f->req, "*2\r\n$3\r\nGET\r\n$%zu\r\n%s\r\n",
                                     klen, f->key);
    }
    mt_sched_set_report(mt_default(), quiet, NULL);
    mt_add(&all.task, fetch_all);
    r = mt_run();
    mt_sched_destroy(mt_default());
    return r == 0 ? 0 : 1;
}
