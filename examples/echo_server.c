/* The seed's echo server: a listener task accepts connections and adds one
 * handler task per connection, in a malloc'ed frame that the handler's
 * finally section frees. Idle connections time out; SIGINT or SIGTERM
 * cancels the listener and lets the handlers finish. SIGUSR1 writes a task
 * dump to stderr: what every task waits on. Out of descriptors (EMFILE),
 * the listener pauses and tries again (10 ms, doubling up to 1 s) while
 * the connections it has go on and end, so it rides out the exhaustion.
 * Usage: echo_server [PORT] [IDLE_MS]   (port 0: any; prints the port)
 *        echo_server --demo             (also runs three clients in-process) */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "multitask.h"

static long idle_ms = 10000;

struct handler {
    mt_task task;
    int fd;
    char buf[4096];
    ssize_t n;
    size_t done;
};

static int handler(mt_task *t)
{
    struct handler *f = (struct handler *)t;
    MT_BEGIN(t);
    for (;;) {
        MT_CATCH(t, MT_RECV(t, f->fd, f->buf, sizeof f->buf, 0, &f->n, idle_ms));
        if (mt_err(t) == MT_ETIMEDOUT)
            break; /* idle: hang up */
        if (mt_err(t) || f->n == 0)
            break; /* reset, or the client closed */
        MT_WRITE_ALL(t, f->fd, f->buf, (size_t)f->n, &f->done, idle_ms);
    }
    MT_FINALLY(t);
    mt_close(f->fd);
    free(f); /* the scheduler never touches the frame after this */
    MT_END(t);
}

struct listener {
    mt_task task;
    int fd, conn;
    long pause; /* ms before the next try after a failed accept; 0: none failed */
};

/* Whether an accept error says the listening socket itself is unusable.
 * Every other one passes: running out of descriptors (EMFILE, ENFILE) or
 * of memory (ENOBUFS, ENOMEM), and the errors of a connection that failed
 * before it was taken (EPROTO, EPERM, ENETDOWN, ...); the library already
 * retries ECONNABORTED and EINTR. */
static int accept_fatal(int err)
{
    return err == MT_EBADF || err == MT_EINVAL || err == MT_ERANGE || err == MT_ESYS(EBADF) ||
           err == MT_ESYS(ENOTSOCK) || err == MT_ESYS(EINVAL) || err == MT_ESYS(EFAULT);
}

static int listener(mt_task *t)
{
    struct listener *f = (struct listener *)t;
    struct handler *h;
    MT_BEGIN(t);
    for (;;) {
        MT_CATCH(t, MT_ACCEPT(t, f->fd, &f->conn, NULL, NULL, MT_FOREVER));
        if (mt_err(t) == MT_ECANCELED)
            break; /* shutting down */
        if (mt_err(t)) {
            if (accept_fatal(mt_err(t)))
                MT_RAISE(t, mt_err(t), NULL);
            if (!f->pause)
                fprintf(stderr, "echo_server: accept: %s; pausing\n", mt_errmsg(t));
            /* The pending connection stays in the backlog, and the socket
             * readable: try again once some of ours may have closed. */
            f->pause = !f->pause ? 10 : f->pause < 500 ? f->pause * 2 : 1000;
            MT_SLEEP(t, f->pause);
            continue;
        }
        f->pause = 0;
        h = (struct handler *)calloc(1, sizeof *h);
        if (!h) {
            close(f->conn); /* out of memory: refuse this one */
            continue;
        }
        h->fd = f->conn;
        mt_add(&h->task, handler);
    }
    MT_FINALLY(t); /* cancelled: stop listening */
    mt_close(f->fd);
    MT_END(t);
}

/* SIGINT/SIGTERM post a signal; this task turns it into a cancellation. */
static mt_signal stop_signal;
static struct listener lst;

static void on_stop(int signo)
{
    (void)signo;
    mt_signal_post(&stop_signal);
}

/* SIGUSR1: the dump is written by a task, since a signal handler may
 * only post (the scheduler's lists are not safe to read from a handler). */
static mt_signal dump_signal;
static mt_task dump_task;

static void on_dump(int signo)
{
    (void)signo;
    mt_signal_post(&dump_signal);
}

static int dumper(mt_task *t)
{
    MT_BEGIN(t);
    for (;;) {
        MT_SIGNAL_WAIT(t, &dump_signal, MT_FOREVER);
        mt_sched_dump(mt_default(), mt_out_stdio, stderr);
    }
    MT_END(t);
}

static int stopper(mt_task *t)
{
    MT_BEGIN(t);
    MT_SIGNAL_WAIT(t, &stop_signal, MT_FOREVER);
    fprintf(stderr, "echo_server: shutting down\n");
    mt_cancel(&lst.task);
    mt_cancel(&dump_task);
    MT_END(t);
}

/* --demo: clients in the same process, over loopback. */
struct client {
    mt_task task;
    int id, fd, i;
    struct sockaddr_in addr;
    char out[64], in[64];
    size_t len, done;
};

static int client(mt_task *t)
{
    struct client *f = (struct client *)t;
    MT_BEGIN(t);
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (f->fd < 0 || mt_fd_nonblock(f->fd))
        MT_RAISE(t, MT_EFAIL, "socket");
    MT_CONNECT(t, f->fd, (struct sockaddr *)&f->addr, sizeof f->addr, 1000);
    for (f->i = 1; f->i <= 2; f->i++) {
        f->len = (size_t)snprintf(f->out, sizeof f->out, "client %d, line %d\n", f->id, f->i);
        MT_WRITE_ALL(t, f->fd, f->out, f->len, &f->done, 1000);
        MT_READ_ALL(t, f->fd, f->in, f->len, &f->done, 1000);
        printf("client %d got back: %.*s", f->id, (int)f->len, f->in);
    }
    MT_FINALLY(t);
    if (f->fd >= 0)
        mt_close(f->fd);
    MT_END(t);
}

struct demo {
    mt_task task;
    struct client c[3];
    int i;
};

static int demo(mt_task *t)
{
    struct demo *f = (struct demo *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < 3; f->i++) /* the three at once: add, not await */
        mt_add(&f->c[f->i].task, client);
    MT_WAIT_UNTIL(t, mt_state(&f->c[0].task) < MT_RUNNABLE &&
                     mt_state(&f->c[1].task) < MT_RUNNABLE &&
                     mt_state(&f->c[2].task) < MT_RUNNABLE, 5000);
    mt_signal_post(&stop_signal); /* as if Ctrl-C */
    MT_END(t);
}

int main(int argc, char **argv)
{
    static mt_task stop_task;
    static struct demo d;
    int is_demo = argc > 1 && strcmp(argv[1], "--demo") == 0;
    int port = argc > 1 && !is_demo ? atoi(argv[1]) : 0, one = 1, i, r;
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    struct sigaction sa;

    if (argc > 2)
        idle_ms = atol(argv[2]);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    lst.fd = socket(AF_INET, SOCK_STREAM, 0);
    if (lst.fd < 0 || setsockopt(lst.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(lst.fd, (struct sockaddr *)&a, sizeof a) || listen(lst.fd, SOMAXCONN) ||
        mt_fd_nonblock(lst.fd) || getsockname(lst.fd, (struct sockaddr *)&a, &alen)) {
        perror("echo_server");
        return 1;
    }
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);

    mt_signal_init(mt_default(), &stop_signal);
    mt_signal_init(mt_default(), &dump_signal);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_dump;
    sigaction(SIGUSR1, &sa, NULL);

    mt_add(&lst.task, listener);
    mt_add(&stop_task, stopper);
    mt_add(&dump_task, dumper);
    if (is_demo) {
        for (i = 0; i < 3; i++) {
            d.c[i].id = i + 1;
            d.c[i].fd = -1;
            d.c[i].addr = a;
        }
        mt_add(&d.task, demo);
    }
    r = mt_run();
    mt_sched_destroy(mt_default());
    return r == 0 ? 0 : 1;
}
