/* Drives an echo server: N concurrent connections, each sending M messages
 * of 64 bytes and checking every echo, with connect and read timeouts.
 * Usage: echo_client PORT [N] [M]     Exit status 0 only if all verified. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "multitask.h"

#define MSG 64

static struct sockaddr_in server;
static long messages = 100;
static long verified, failed;

struct conn {
    mt_task task;
    int id, fd;
    long i;
    char out[MSG], in[MSG];
    size_t done;
};

static int conn(mt_task *t)
{
    struct conn *f = (struct conn *)t;
    MT_BEGIN(t);
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (f->fd < 0 || mt_fd_nonblock(f->fd))
        MT_RAISE(t, MT_EFAIL, "socket");
    MT_CONNECT(t, f->fd, (struct sockaddr *)&server, sizeof server, 2000);
    for (f->i = 0; f->i < messages; f->i++) {
        memset(f->out, 'a' + (int)((f->id + f->i) % 26), MSG);
        snprintf(f->out, MSG, "%d:%ld:", f->id, f->i);
        MT_WRITE_ALL(t, f->fd, f->out, MSG, &f->done, 2000);
        MT_READ_ALL(t, f->fd, f->in, MSG, &f->done, 2000);
        if (memcmp(f->in, f->out, MSG) != 0)
            MT_RAISE(t, MT_EFAIL, "echo differs");
        verified++;
    }
    MT_FINALLY(t);
    if (mt_state(t) == MT_FAILED)
        failed++;
    if (f->fd >= 0)
        mt_close(f->fd);
    MT_END(t);
}

int main(int argc, char **argv)
{
    long n = argc > 2 ? atol(argv[2]) : 10, i;
    struct conn *c;
    int r;

    if (argc < 2 || n <= 0) {
        fprintf(stderr, "usage: echo_client PORT [CONNECTIONS] [MESSAGES]\n");
        return 2;
    }
    if (argc > 3)
        messages = atol(argv[3]);
    memset(&server, 0, sizeof server);
    server.sin_family = AF_INET;
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    server.sin_port = htons((unsigned short)atoi(argv[1]));
    c = (struct conn *)calloc((size_t)n, sizeof *c);
    if (!c)
        return 1;
    for (i = 0; i < n; i++) {
        c[i].id = (int)i;
        c[i].fd = -1;
        mt_add(&c[i].task, conn);
    }
    r = mt_run();
    mt_sched_destroy(mt_default()); /* closes what it opened (epoll, self-pipe) */
    printf("%ld connections x %ld messages: %ld echoes verified, %ld connections failed\n",
           n, messages, verified, failed);
    free(c);
    return r == 0 && failed == 0 && verified == n * messages ? 0 : 1;
}
