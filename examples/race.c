/* Races connects to several addresses of one service, as "happy eyeballs"
 * does: the attempts run at once in a task group, each starting STAGGER_MS
 * after the one before; the first to connect wins (MT_JOIN_FIRST), the
 * others are cancelled, and their sockets are closed before the parent
 * goes on. An attempt that fails steps aside: it ends cancelled (neither a
 * win nor an error for the group) after saying why. Then the winner sends
 * one line and prints the reply (an echo server answers with the line).
 * Usage: race PORT [STAGGER_MS] [ADDRESS...]   (default: 127.0.0.1 ::1)
 * Exit status 0 with a winner, 1 if no attempt connected in 2 s. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "multitask.h"

#define MAX_ADDRS 8
#define DEADLINE_MS 2000

struct attempt {
    mt_task task;
    const char *name;
    struct sockaddr_storage addr;
    socklen_t alen;
    long delay;
    int fd;
};

static int attempt(mt_task *t)
{
    struct attempt *f = (struct attempt *)t;
    MT_BEGIN(t);
    MT_SLEEP(t, f->delay); /* a later attempt starts later */
    f->fd = socket(f->addr.ss_family, SOCK_STREAM, 0);
    if (f->fd < 0 || mt_fd_nonblock(f->fd)) {
        fprintf(stderr, "race: %s: no socket\n", f->name);
        MT_RAISE(t, MT_ECANCELED, "no socket"); /* steps aside */
    }
    MT_CATCH(t, MT_CONNECT(t, f->fd, (struct sockaddr *)&f->addr, f->alen, DEADLINE_MS));
    if (mt_err(t) == MT_ECANCELED)
        MT_EXIT(t); /* another won */
    if (mt_err(t)) {
        fprintf(stderr, "race: %s: %s\n", f->name, mt_errmsg(t));
        MT_RAISE(t, MT_ECANCELED, "connect failed"); /* steps aside */
    }
    MT_FINALLY(t);
    if (mt_state(t) == MT_CANCELLED && f->fd >= 0) { /* lost, or failed: */
        mt_close(f->fd);                             /* nothing to keep */
        f->fd = -1;
    }
    if (mt_state(t) == MT_CANCELLED)
        fprintf(stderr, "race: %s: out of the race\n", f->name);
    MT_END(t);
}

struct racer {
    mt_task task;
    mt_group g;
    mt_task *slots[MAX_ADDRS];
    struct attempt a[MAX_ADDRS];
    int n;
    struct attempt *won;
    char line[64];
    size_t done;
    ssize_t got;
};

static int racer(mt_task *t)
{
    struct racer *f = (struct racer *)t;
    int i;
    MT_BEGIN(t);
    mt_group_init(&f->g, f->slots, f->n);
    for (i = 0; i < f->n; i++)
        MT_SPAWN(t, &f->g, &f->a[i].task, attempt);
    MT_CATCH(t, MT_JOIN_FIRST(t, &f->g, 1, DEADLINE_MS));
    /* Every attempt has ended here: the losers' sockets are closed. */
    f->won = (struct attempt *)mt_group_first(&f->g);
    if (mt_err(t) || !f->won)
        MT_RAISE(t, mt_err(t) ? mt_err(t) : MT_EFAIL, "no attempt connected");
    printf("connected to %s\n", f->won->name);
    fflush(stdout);
    MT_WRITE_ALL(t, f->won->fd, "hello from race\n", 16, &f->done, DEADLINE_MS);
    MT_READ(t, f->won->fd, f->line, sizeof f->line - 1, &f->got, DEADLINE_MS);
    f->line[f->got > 0 ? f->got : 0] = 0;
    printf("reply: %s", f->line);
    MT_FINALLY(t);
    if (f->won && f->won->fd >= 0)
        mt_close(f->won->fd);
    MT_END(t);
}

static int parse(struct attempt *a, const char *name, int port)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)&a->addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->addr;

    memset(&a->addr, 0, sizeof a->addr);
    a->name = name;
    a->fd = -1;
    if (inet_pton(AF_INET, name, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((unsigned short)port);
        a->alen = sizeof *v4;
        return 0;
    }
    if (inet_pton(AF_INET6, name, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((unsigned short)port);
        a->alen = sizeof *v6;
        return 0;
    }
    return -1;
}

int main(int argc, char **argv)
{
    static const char *defaults[] = {"127.0.0.1", "::1"};
    static struct racer r;
    const char *const *names = defaults;
    int port, i, rc;
    long stagger = 100;

    if (argc < 2 || (port = atoi(argv[1])) <= 0 || port > 65535) {
        fprintf(stderr, "usage: race PORT [STAGGER_MS] [ADDRESS...]\n");
        return 2;
    }
    if (argc > 2)
        stagger = atol(argv[2]);
    r.n = 2;
    if (argc > 3) {
        names = (const char *const *)argv + 3;
        r.n = argc - 3 > MAX_ADDRS ? MAX_ADDRS : argc - 3;
    }
    for (i = 0; i < r.n; i++) {
        if (stagger < 0 || stagger > 60000 || parse(&r.a[i], names[i], port)) {
            fprintf(stderr, "race: bad address or stagger: %s\n", names[i]);
            return 2;
        }
        r.a[i].delay = stagger * i;
    }
    mt_add(&r.task, racer);
    rc = mt_run();
    mt_sched_destroy(mt_default());
    return rc == 0 && mt_state(&r.task) == MT_DONE ? 0 : 1;
}
