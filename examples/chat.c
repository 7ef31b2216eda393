/* A line-based chat over TCP: every line a client sends goes to all the
 * other clients. Each connection is one task in one malloc'ed block that
 * runs two children in a task group: a reader (its socket's lines -> the
 * other clients' queues) and a writer (its own bounded queue -> its
 * socket). The group does the bookkeeping: a child's error ends the other,
 * a cancel of the connection ends both, and the connection frees its block
 * once both have ended. A client whose queue stays full for SLOW_MS is
 * disconnected: senders wait on a full queue only until that client's one
 * deadline, so a client that stops reading holds the others up once, for
 * at most SLOW_MS, and then is gone. A client that is done sending (EOF)
 * still gets what was queued for it; then it is closed.
 * Usage: chat [PORT] [SLOW_MS]   (port 0: any; prints the port)
 * Try:   nc 127.0.0.1 PORT        in two terminals. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "multitask.h"

#define MAX_CLIENTS 256
#define MAX_LINE 512             /* longer lines end the connection */
#define MSG_MAX (MAX_LINE + 32)  /* a line with its sender's name */
#define QUEUE_LEN 64             /* messages a client may owe us */
#define SNDBUF 65536             /* a small kernel buffer: backlogs show in our queues */
#define WRITE_MS 30000           /* a client that takes nothing for this long goes */

static long slow_ms = 1000;

struct msg {
    size_t len;
    char text[MSG_MAX];
};

struct conn;

struct reader {
    mt_task task;
    struct conn *c;
    mt_line lb;
    char line[MAX_LINE];
    struct msg msg;     /* what the puts copy from */
    int i;              /* the recipient's slot */
    struct conn *peer;  /* the recipient whose full queue we wait on */
};

struct writer {
    mt_task task;
    struct conn *c;
    struct msg msg;
    char out[8192];     /* several messages per write */
    size_t olen, done;
};

/* One block per client: the connection's task, its group and children. */
struct conn {
    mt_task task;
    mt_group g;
    mt_task *slots[2];
    struct reader rd;
    struct writer wr;
    mt_queue q;
    struct msg store[QUEUE_LEN];
    struct msg drop;
    int fd, id, slot, closing, full;
    int senders;           /* readers waiting, or about to resume, on q */
    struct conn *prev, *next; /* every live connection, in or out of the table */
    long long full_since;  /* ms; valid while full */
};

static struct conn *clients[MAX_CLIENTS];
static int nslots; /* slots ever used: the broadcast scans these */
static struct conn *live; /* all connections until they end: shutdown cancels
                             them all, also those out of the table already */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* No more lines for c: out of the table. */
static void conn_leave(struct conn *c)
{
    if (clients[c->slot] == c)
        clients[c->slot] = NULL;
}

/* Disconnect c: its reader and writer are cancelled, then it ends. */
static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    conn_leave(c);
    mt_cancel(&c->task);
}

/* How much longer senders may wait on c's full queue: what is left of
 * SLOW_MS since it filled up, shared by all of them. */
static long slow_left(struct conn *c)
{
    long long left;
    if (!c->full) {
        c->full = 1;
        c->full_since = now_ms();
    }
    left = slow_ms - (now_ms() - c->full_since);
    return left > 0 ? (long)left : 0;
}

static int reader(mt_task *t)
{
    struct reader *f = (struct reader *)t;
    struct conn *c = f->c, *p;
    size_t n;
    MT_BEGIN(t);
    mt_line_init(&f->lb, f->line, sizeof f->line);
    for (;;) {
        MT_CATCH(t, MT_READLINE(t, c->fd, &f->lb, MT_FOREVER));
        if (mt_err(t) == MT_ECANCELED)
            MT_EXIT(t);
        if (mt_err(t) || f->lb.line == 0)
            break; /* closed, reset, or a line too long */
        n = f->lb.line;
        while (n > 0 && (f->line[n - 1] == '\n' || f->line[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        f->msg.len = (size_t)snprintf(f->msg.text, sizeof f->msg.text, "user%d: %.*s\n",
                                      c->id, (int)n, f->line);
        for (f->i = 0; f->i < nslots; f->i++) {
            p = clients[f->i];
            if (!p || p == c || mt_queue_try_put(&p->q, &f->msg) == 0)
                continue;
            f->peer = p; /* it stays until we have resumed: see conn */
            f->peer->senders++;
            MT_CATCH(t, MT_QUEUE_PUT(t, &f->peer->q, &f->msg, slow_left(f->peer)));
            f->peer->senders--;
            if (mt_err(t) == MT_ECANCELED)
                MT_EXIT(t);
            if (mt_err(t) == MT_ETIMEDOUT && !f->peer->closing) {
                fprintf(stderr, "chat: user%d too slow, disconnected\n", f->peer->id);
                conn_close(f->peer);
            }
        }
    }
    /* The client is done sending, or gone: no more lines for it, and an
     * empty message tells the writer to end after what is queued (if it
     * cannot be queued, the error ends the writer too). */
    conn_leave(c);
    f->msg.len = 0;
    if (mt_queue_try_put(&c->q, &f->msg) != 0)
        MT_RAISE(t, MT_ENOMEM, "no room for the end of the queue");
    MT_END(t);
}

static int writer(mt_task *t)
{
    struct writer *f = (struct writer *)t;
    struct conn *c = f->c;
    MT_BEGIN(t);
    for (;;) {
        MT_QUEUE_GET(t, &c->q, &f->msg, MT_FOREVER);
        f->olen = 0;
        while (f->msg.len > 0) { /* take what else is queued: one write for many lines */
            memcpy(f->out + f->olen, f->msg.text, f->msg.len);
            f->olen += f->msg.len;
            if (sizeof f->out - f->olen < MSG_MAX || mt_queue_try_get(&c->q, &f->msg) != 0)
                break;
        }
        if (!mt_queue_full(&c->q))
            c->full = 0; /* it drains: the slow clock starts again */
        if (f->olen) /* an error ends the writer, and the group ends the reader */
            MT_WRITE_ALL(t, c->fd, f->out, f->olen, &f->done, WRITE_MS);
        if (f->msg.len == 0)
            break; /* the end: the client has all it was owed */
    }
    MT_END(t);
}

/* Take what other readers bring to c's queue: each one waiting there is
 * handed a slot. Returns 1 while one still has to come and put it. */
static int conn_drain(struct conn *c)
{
    while (mt_queue_try_get(&c->q, &c->drop) == 0) {
    }
    return c->senders > 0 || mt_queue_free(&c->q) == MT_EBUSY;
}

static int conn_task(mt_task *t)
{
    struct conn *c = (struct conn *)t;
    MT_BEGIN(t);
    mt_group_init(&c->g, c->slots, 2);
    c->rd.c = c->wr.c = c;
    MT_SPAWN(t, &c->g, &c->rd.task, reader);
    MT_SPAWN(t, &c->g, &c->wr.task, writer);
    MT_CATCH(t, MT_JOIN(t, &c->g, MT_FOREVER)); /* both ended: done, failed, cancelled */
    conn_leave(c);
    /* Other readers may still wait to put into our queue, each until its
     * own deadline: hand them their slots, and let them resume and put,
     * before the block goes (shielded: this runs even when cancelled). */
    while (conn_drain(c))
        MT_SHIELD(t, MT_YIELD(t));
    MT_FINALLY(t);
    conn_leave(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        live = c->next;
    if (c->next)
        c->next->prev = c->prev;
    mt_close(c->fd);
    free(c);
    MT_END(t);
}

static void join(int fd)
{
    static int next_id = 1;
    struct conn *c;
    struct msg hello;
    int slot = 0, size = SNDBUF;

    while (slot < MAX_CLIENTS && clients[slot])
        slot++;
    if (slot == MAX_CLIENTS || (c = (struct conn *)calloc(1, sizeof *c)) == NULL) {
        (void)send(fd, "* chat is full\n", 15, MSG_NOSIGNAL); /* best effort */
        close(fd);
        return;
    }
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    mt_queue_init(&c->q, c->store, sizeof c->store[0], QUEUE_LEN, NULL, 0);
    c->fd = fd;
    c->id = next_id++;
    c->slot = slot;
    hello.len = (size_t)snprintf(hello.text, MSG_MAX, "* welcome, you are user%d\n", c->id);
    mt_queue_try_put(&c->q, &hello); /* the queue is empty: it fits */
    clients[slot] = c;
    c->next = live;
    if (live)
        live->prev = c;
    live = c;
    if (slot >= nslots)
        nslots = slot + 1;
    mt_add(&c->task, conn_task);
}

struct listener {
    mt_task task;
    int fd, conn;
};

static int listener(mt_task *t)
{
    struct listener *f = (struct listener *)t;
    MT_BEGIN(t);
    for (;;) {
        MT_CATCH(t, MT_ACCEPT(t, f->fd, &f->conn, NULL, NULL, MT_FOREVER));
        if (mt_err(t) == MT_ECANCELED)
            break;
        if (mt_err(t)) {
            MT_SLEEP(t, 100); /* out of descriptors, say: let some close */
            continue;
        }
        join(f->conn);
    }
    MT_FINALLY(t);
    mt_close(f->fd);
    MT_END(t);
}

/* SIGINT/SIGTERM post a signal; this task turns it into cancellations. */
static mt_signal stop_signal;
static struct listener lst;

static void on_stop(int signo)
{
    (void)signo;
    mt_signal_post(&stop_signal);
}

static int stopper(mt_task *t)
{
    struct conn *c;
    MT_BEGIN(t);
    MT_SIGNAL_WAIT(t, &stop_signal, MT_FOREVER);
    fprintf(stderr, "chat: shutting down\n");
    mt_cancel(&lst.task);
    for (c = live; c; c = c->next) /* a cancel ends none at once: the list holds */
        conn_close(c);
    MT_END(t);
}

int main(int argc, char **argv)
{
    static mt_task stop_task;
    int port = argc > 1 ? atoi(argv[1]) : 0, one = 1, r;
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    struct sigaction sa;

    if (argc > 2)
        slow_ms = atol(argv[2]);
    if (slow_ms < 0 || slow_ms > MT_TIMEOUT_MAX) {
        fprintf(stderr, "chat: SLOW_MS out of range\n");
        return 2;
    }
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)port);
    lst.fd = socket(AF_INET, SOCK_STREAM, 0);
    if (lst.fd < 0 || setsockopt(lst.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
        bind(lst.fd, (struct sockaddr *)&a, sizeof a) || listen(lst.fd, 128) ||
        mt_fd_nonblock(lst.fd) || getsockname(lst.fd, (struct sockaddr *)&a, &alen)) {
        perror("chat");
        return 1;
    }
    printf("listening on 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);

    mt_signal_init(mt_default(), &stop_signal);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    mt_add(&lst.task, listener);
    mt_add(&stop_task, stopper);
    r = mt_run();
    mt_sched_destroy(mt_default());
    return r == 0 ? 0 : 1;
}
