/* Fault injection: the library's system calls go through a shim (the
 * library compiled into this file with MT_SYS_SHIM) that a test programs to
 * fail: EINTR, EAGAIN, ECONNRESET, EPIPE, EMFILE, ENOMEM, short reads and
 * writes, a failing backend wait, an allocator out of memory, a clock that
 * jumps. Each test checks that
 * the right error reaches the right task, the others go on, and nothing is
 * left registered. */
#define _POSIX_C_SOURCE 200809L
#define MT_STATIC
#define MT_SYS_SHIM
#include "../multitask.h"

#if MT_IO
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#if MT_BACKEND == MT_BACKEND_EPOLL
#include <sys/epoll.h>
#endif

enum { F_READ, F_WRITE, F_RECV, F_SEND, F_ACCEPT, F_CONNECT, F_WAIT, F_CTL, F_ALLOC, F_N };

/* Per call: pass `skip` calls, then fail `count` with `err`; `cap` limits
 * the bytes a read or write may move (a short transfer). */
static struct fault {
    int skip, count, err;
    size_t cap;
} faults[F_N];
static unsigned long injected, calls[F_N]; /* calls: every one, failed or not */

static int fail_now(int f)
{
    struct fault *x = &faults[f];
    calls[f]++;
    if (x->skip) {
        x->skip--;
        return 0;
    }
    if (!x->count)
        return 0;
    x->count--;
    injected++;
    errno = x->err;
    return 1;
}

static size_t capped(int f, size_t len)
{
    return faults[f].cap && len > faults[f].cap ? faults[f].cap : len;
}

#if defined(__GNUC__)
#define SHIM static __attribute__((__unused__))
#else
#define SHIM static
#endif

SHIM ssize_t mt_shim_read(int fd, void *b, size_t n)
{
    return fail_now(F_READ) ? -1 : read(fd, b, capped(F_READ, n));
}
SHIM ssize_t mt_shim_write(int fd, const void *b, size_t n)
{
    return fail_now(F_WRITE) ? -1 : write(fd, b, capped(F_WRITE, n));
}
SHIM ssize_t mt_shim_recv(int fd, void *b, size_t n, int fl)
{
    return fail_now(F_RECV) ? -1 : recv(fd, b, capped(F_RECV, n), fl);
}
SHIM ssize_t mt_shim_recvfrom(int fd, void *b, size_t n, int fl, struct sockaddr *a, socklen_t *l)
{
    return fail_now(F_RECV) ? -1 : recvfrom(fd, b, capped(F_RECV, n), fl, a, l);
}
SHIM ssize_t mt_shim_send(int fd, const void *b, size_t n, int fl)
{
    return fail_now(F_SEND) ? -1 : send(fd, b, capped(F_SEND, n), fl);
}
SHIM ssize_t mt_shim_sendto(int fd, const void *b, size_t n, int fl, const struct sockaddr *a,
                            socklen_t l)
{
    return fail_now(F_SEND) ? -1 : sendto(fd, b, capped(F_SEND, n), fl, a, l);
}
SHIM int mt_shim_accept(int fd, struct sockaddr *a, socklen_t *l)
{
    return fail_now(F_ACCEPT) ? -1 : accept(fd, a, l);
}
SHIM int mt_shim_connect(int fd, const struct sockaddr *a, socklen_t l)
{
    return fail_now(F_CONNECT) ? -1 : connect(fd, a, l);
}
SHIM int mt_shim_getsockopt(int fd, int lv, int nm, void *v, socklen_t *l)
{
    return getsockopt(fd, lv, nm, v, l);
}
/* F_WAIT is the backend's own wait; poll's readiness probe for MT_WAIT_FD
 * (one descriptor) is left alone. */
static long waited_ms = -2; /* the timeout of the backend's last wait */

SHIM int mt_shim_poll(struct pollfd *p, nfds_t n, int ms)
{
    waited_ms = ms;
    if (n > 1 && fail_now(F_WAIT))
        return -1;
    return poll(p, n, ms);
}
SHIM int mt_shim_select(int n, fd_set *r, fd_set *w, fd_set *x, struct timeval *tv)
{
    waited_ms = tv ? (long)tv->tv_sec * 1000L + (long)(tv->tv_usec / 1000) : -1;
    return fail_now(F_WAIT) ? -1 : select(n, r, w, x, tv);
}
#if MT_BACKEND == MT_BACKEND_EPOLL
SHIM int mt_shim_epoll_wait(int ep, struct epoll_event *e, int n, int ms)
{
    waited_ms = ms;
    return fail_now(F_WAIT) ? -1 : epoll_wait(ep, e, n, ms);
}
SHIM int mt_shim_epoll_ctl(int ep, int op, int fd, struct epoll_event *e)
{
    return fail_now(F_CTL) ? -1 : epoll_ctl(ep, op, fd, e);
}
#endif

/* The allocator (unbounded queues, the poll array, the epoll table). */
#if !MT_NO_HEAP
#include <stdlib.h>
static void *shim_realloc(void *p, size_t n)
{
    return fail_now(F_ALLOC) ? NULL : realloc(p, n);
}
#define MT_REALLOC(p, n) shim_realloc((p), (n))
#define MT_FREE(p) free(p)
#endif

#include "../multitask.c"
#include "util.h"

static mt_sched s;
static struct reports rep;

static int setup(void **state)
{
    (void)state;
    memset(faults, 0, sizeof faults);
    start_sched(&s, NULL, 0, &rep);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    assert_sched_empty(&s);
    assert_int_equal(mt_sched_destroy(&s), 0);
    return 0;
}

static void fault(int f, int skip, int count, int err)
{
    faults[f].skip = skip;
    faults[f].count = count;
    faults[f].err = err;
}

/* A reader and a writer over one pair, each operation caught. */
struct rw {
    mt_task task;
    int fd, err, op; /* op: 0 read, 1 recv, 2 write, 3 send */
    char buf[16];
    ssize_t n;
};

static int rw(mt_task *t)
{
    struct rw *f = (struct rw *)t;
    MT_BEGIN(t);
    if (f->op == 0)
        MT_CATCH(t, MT_READ(t, f->fd, f->buf, sizeof f->buf, &f->n, 1000));
    else if (f->op == 1)
        MT_CATCH(t, MT_RECV(t, f->fd, f->buf, sizeof f->buf, 0, &f->n, 1000));
    else if (f->op == 2)
        MT_CATCH(t, MT_WRITE(t, f->fd, "hello", 5, &f->n, 1000));
    else
        MT_CATCH(t, MT_SEND(t, f->fd, "hello", 5, 0, &f->n, 1000));
    f->err = mt_err(t);
    MT_END(t);
}

/* EINTR on every operation is retried: the task never sees it. */
static void test_eintr_retried(void **state)
{
    static struct rw a, b;
    int sv[2], op;
    (void)state;

    unix_pair(sv);
    for (op = 0; op < 2; op++) {
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        a.fd = sv[0], a.op = op;     /* read or recv: waits, then EINTR */
        b.fd = sv[1], b.op = 2 + op; /* write or send: EINTR first */
        fault(op == 0 ? F_READ : F_RECV, 1, 1, EINTR);
        fault(op == 0 ? F_WRITE : F_SEND, 0, 1, EINTR);
        assert_int_equal(mt_sched_add(&s, &a.task, rw), 0);
        assert_int_equal(mt_sched_add(&s, &b.task, rw), 0);
        assert_int_equal(mt_sched_run(&s), 0);
        assert_int_equal(a.err, 0);
        assert_int_equal(b.err, 0);
        assert_int_equal(b.n, 5);
        assert_int_equal(a.n, 5);
        assert_memory_equal(a.buf, "hello", 5);
    }
    assert_int_equal(rep.count, 0);
    close(sv[0]);
    close(sv[1]);
}

/* A spurious EAGAIN after the backend said ready: the task waits again. */
static void test_spurious_eagain(void **state)
{
    static struct rw a, b;
    int sv[2];
    (void)state;

    unix_pair(sv);
    a.fd = sv[0], a.op = 1;
    b.fd = sv[1], b.op = 3;
    fault(F_RECV, 1, 1, EAGAIN); /* the try after the wake-up */
    assert_int_equal(mt_sched_add(&s, &a.task, rw), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1); /* a waits */
    assert_int_equal(mt_sched_add(&s, &b.task, rw), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(a.err, 0);
    assert_int_equal(a.n, 5);
    assert_int_equal(faults[F_RECV].count, 0);
    close(sv[0]);
    close(sv[1]);
}

/* Errors the peer causes reach the task that did the operation, as
 * MT_ESYS codes; a bystander is not touched. */
struct bystander { mt_task task; int i; };

static int bystander(mt_task *t)
{
    struct bystander *f = (struct bystander *)t;
    MT_BEGIN(t);
    for (f->i = 0; f->i < 5; f->i++)
        MT_YIELD(t);
    MT_END(t);
}

static void test_reset_and_pipe(void **state)
{
    static struct rw a, b;
    static struct bystander by;
    int sv[2];
    (void)state;

    unix_pair(sv);
    a.fd = sv[0], a.op = 1;
    b.fd = sv[1], b.op = 3;
    fault(F_RECV, 0, 1, ECONNRESET);
    fault(F_SEND, 0, 1, EPIPE);
    assert_int_equal(mt_sched_add(&s, &by.task, bystander), 0);
    assert_int_equal(mt_sched_add(&s, &a.task, rw), 0);
    assert_int_equal(mt_sched_add(&s, &b.task, rw), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(a.err, MT_ESYS(ECONNRESET));
    assert_int_equal(b.err, MT_ESYS(EPIPE));
    assert_int_equal(mt_state(&by.task), MT_DONE);
    assert_int_equal(by.i, 5);
    close(sv[0]);
    close(sv[1]);
}

/* An uncaught one ends the task and is reported with its code. */
struct sender { mt_task task; int fd; ssize_t n; };

static int sender(mt_task *t)
{
    struct sender *f = (struct sender *)t;
    MT_BEGIN(t);
    MT_SEND(t, f->fd, "x", 1, 0, &f->n, MT_FOREVER);
    MT_END(t);
}

static void test_uncaught_reported(void **state)
{
    static struct sender a;
    int sv[2];
    (void)state;

    unix_pair(sv);
    a.fd = sv[0];
    fault(F_SEND, 0, 1, EPIPE);
    assert_int_equal(mt_sched_add(&s, &a.task, sender), 0);
    assert_int_equal(mt_sched_run(&s), MT_EUNHANDLED);
    assert_int_equal(rep.count, 1);
    assert_int_equal(rep.code, MT_ESYS(EPIPE));
    assert_int_equal(mt_state(&a.task), MT_FAILED);
    close(sv[0]);
    close(sv[1]);
}

/* Short transfers: the "all" forms loop until every byte moved. */
struct bulk {
    mt_task task;
    int fd, writing, err;
    unsigned char buf[1000];
    size_t done;
};

static int bulk(mt_task *t)
{
    struct bulk *f = (struct bulk *)t;
    MT_BEGIN(t);
    if (f->writing)
        MT_CATCH(t, MT_WRITE_ALL(t, f->fd, f->buf, sizeof f->buf, &f->done, 2000));
    else
        MT_CATCH(t, MT_READ_ALL(t, f->fd, f->buf, sizeof f->buf, &f->done, 2000));
    f->err = mt_err(t);
    MT_END(t);
}

static void test_short_transfers(void **state)
{
    static struct bulk w, r;
    int sv[2], i;
    (void)state;

    unix_pair(sv);
    for (i = 0; i < (int)sizeof w.buf; i++)
        w.buf[i] = (unsigned char)(i * 7);
    w.fd = sv[0], w.writing = 1;
    r.fd = sv[1];
    faults[F_SEND].cap = 3; /* the write-all sends */
    faults[F_READ].cap = 1; /* one byte per read */
    assert_int_equal(mt_sched_add(&s, &r.task, bulk), 0);
    assert_int_equal(mt_sched_add(&s, &w.task, bulk), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(w.err, 0);
    assert_int_equal(r.err, 0);
    assert_int_equal(w.done, sizeof w.buf);
    assert_int_equal(r.done, sizeof r.buf);
    assert_memory_equal(r.buf, w.buf, sizeof w.buf);
    close(sv[0]);
    close(sv[1]);
}

/* accept: an aborted connection is skipped; EMFILE reaches the listener. */
struct acceptor { mt_task task; int fd, conn, err; };

static int acceptor(mt_task *t)
{
    struct acceptor *f = (struct acceptor *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_ACCEPT(t, f->fd, &f->conn, NULL, NULL, 1000));
    f->err = mt_err(t);
    MT_END(t);
}

static int listener_fd(struct sockaddr_in *a)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    socklen_t len = sizeof *a;
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)a, sizeof *a), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)a, &len), 0);
    assert_int_equal(mt_fd_nonblock(fd), 0);
    return fd;
}

static void test_accept_faults(void **state)
{
    static struct acceptor ac;
    struct sockaddr_in a;
    int lfd = listener_fd(&a), c;
    (void)state;

    c = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    ac.fd = lfd;
    fault(F_ACCEPT, 0, 2, ECONNABORTED); /* skipped: the real one follows */
    assert_int_equal(mt_sched_add(&s, &ac.task, acceptor), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(ac.err, 0);
    assert_true(ac.conn >= 0);
    close(ac.conn);

    fault(F_ACCEPT, 0, 1, EMFILE);
    assert_int_equal(mt_sched_add(&s, &ac.task, acceptor), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(ac.err, MT_ESYS(EMFILE));
    assert_int_equal(ac.conn, -1);
    close(c);
    close(lfd);
}

/* connect failing at once (not EINPROGRESS) reaches the task. */
struct connector { mt_task task; int fd, err; struct sockaddr_in a; };

static int connector(mt_task *t)
{
    struct connector *f = (struct connector *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_CONNECT(t, f->fd, (struct sockaddr *)&f->a, sizeof f->a, 1000));
    f->err = mt_err(t);
    MT_END(t);
}

static void test_connect_fault(void **state)
{
    static struct connector cn;
    int lfd = listener_fd(&cn.a);
    (void)state;

    cn.fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(mt_fd_nonblock(cn.fd), 0);
    fault(F_CONNECT, 0, 1, ENETUNREACH);
    assert_int_equal(mt_sched_add(&s, &cn.task, connector), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(cn.err, MT_ESYS(ENETUNREACH));
    close(cn.fd);
    close(lfd);
}

/* The backend's wait: EINTR is harmless; any other failure wakes every
 * descriptor waiter with the error (nothing left waiting on a loop that
 * cannot see it), and only them. */
static void test_backend_wait_faults(void **state)
{
    static struct rw a, b, c;
    static struct bystander by;
    int sv[2], sv2[2];
    (void)state;

    unix_pair(sv);
    a.fd = sv[0], a.op = 1;
    b.fd = sv[1], b.op = 3;
    fault(F_WAIT, 0, 2, EINTR);
    assert_int_equal(mt_sched_add(&s, &a.task, rw), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(mt_sched_run_once(&s, 0), 0); /* EINTR: nothing lost */
    assert_int_equal(mt_state(&a.task), MT_WAITING);
    assert_int_equal(mt_sched_add(&s, &b.task, rw), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(a.err, 0);
    assert_int_equal(a.n, 5);

    unix_pair(sv2);
    memset(&a, 0, sizeof a);
    a.fd = sv[0], a.op = 1;
    c.fd = sv2[0], c.op = 0;
    assert_int_equal(mt_sched_add(&s, &a.task, rw), 0);
    assert_int_equal(mt_sched_add(&s, &c.task, rw), 0);
    assert_int_equal(mt_sched_add(&s, &by.task, bystander), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 3);
    assert_int_equal(mt_sched_has_io_waits(&s), 1);
    fault(F_WAIT, 0, 1, ENOMEM);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(a.err, MT_ESYS(ENOMEM));
    assert_int_equal(c.err, MT_ESYS(ENOMEM));
    assert_int_equal(mt_state(&by.task), MT_DONE);
    close(sv[0]);
    close(sv[1]);
    close(sv2[0]);
    close(sv2[1]);
}

/* Long timeouts reach the backend whole or clamped to INT_MAX ms, never
 * wrapped: 2^32 + 20 ms is not 20 ms, and 2^31 ms is not "forever". */
#if LONG_MAX > 0x7fffffffL /* no such timeouts where long is 32 bits */
struct fd_forever { mt_task task; int fd, err; };

static int fd_forever(mt_task *t)
{
    struct fd_forever *f = (struct fd_forever *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_WAIT_FD(t, f->fd, MT_READABLE, MT_FOREVER));
    f->err = mt_err(t);
    MT_END(t);
}
#endif

static void test_long_timeouts(void **state)
{
#if LONG_MAX > 0x7fffffffL
    static mt_signal sig;
    static struct fd_forever w;
    const long big = 0x100000014L, half = 0x80000000L;
    int sv[2];
    (void)state;

    assert_int_equal(mt_signal_init(&s, &sig), 0); /* a pipe: the backend waits */
    unix_pair(sv);
    w.fd = sv[0];
    if (MT_BACKEND != MT_BACKEND_EPOLL) { /* the poll shim fails only waits on more than the pipe */
        assert_int_equal(mt_sched_add(&s, &w.task, fd_forever), 0);
        assert_int_equal(mt_sched_run_once(&s, 0), 1);
    }
    fault(F_WAIT, 0, 1, EINTR);
    assert_int_equal(mt_sched_run_once(&s, big), 0);
    assert_int_equal(waited_ms, MT_BACKEND == MT_BACKEND_SELECT ? big : 0x7fffffffL);
    fault(F_WAIT, 0, 1, EINTR);
    assert_int_equal(mt_sched_run_once(&s, half), 0);
    assert_int_equal(waited_ms, MT_BACKEND == MT_BACKEND_SELECT ? half : 0x7fffffffL);
    assert_int_equal(mt_cancel(&w.task), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    close(sv[0]);
    close(sv[1]);
#else
    (void)state;
    skip();
#endif
}

/* A virtual clock that moves only when a test sets it (no idle hook). */
static mt_time jump_now;

static mt_time jump_clock(void *arg)
{
    (void)arg;
    return jump_now;
}

#if MT_BACKEND == MT_BACKEND_EPOLL
/* epoll_ctl failing: the wait raises the error and registers nothing.
 * A withdrawal makes no system call; the check of the registrations
 * (when the loop is idle) failing wakes the descriptor's waiters with it. */
static void test_epoll_ctl_faults(void **state)
{
    static struct rw a, b;
    int sv[2];
    (void)state;

    unix_pair(sv);
    a.fd = sv[0], a.op = 1;
    fault(F_CTL, 0, 1, ENOMEM);
    assert_int_equal(mt_sched_add(&s, &a.task, rw), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(a.err, MT_ESYS(ENOMEM));
    assert_int_equal(mt_sched_has_io_waits(&s), 0);

    /* Two readers of one descriptor (a virtual clock: no blocking); the
     * first is cancelled: no epoll_ctl (the fault stays armed), and the
     * second still waits. */
    jump_now = 0;
    mt_sched_set_clock(&s, jump_clock, NULL, NULL);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.fd = sv[0], a.op = 1;
    b.fd = sv[0], b.op = 0;
    assert_int_equal(mt_sched_add(&s, &a.task, rw), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1); /* the first waiter: check at 1000 */
    jump_now = 10;
    assert_int_equal(mt_sched_add(&s, &b.task, rw), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1); /* b's deadline: 1010 */
    fault(F_CTL, 0, 1, ENOMEM);
    mt_cancel(&a.task);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(a.err, MT_ECANCELED);
    assert_int_equal(faults[F_CTL].count, 1);
    /* Idle, the loop only looks for closed descriptors... */
    jump_now = 999;
    assert_int_equal(mt_sched_run_once(&s, 0), 0);
    assert_int_equal(faults[F_CTL].count, 1);
    assert_int_equal(mt_sched_has_io_waits(&s), 1);
    /* ...and checks b's registration at 1000 ticks, which fails. */
    jump_now = 1000;
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(faults[F_CTL].count, 0);
    assert_int_equal(b.err, MT_ESYS(ENOMEM));
    close(sv[0]);
    close(sv[1]);
}
#endif

#if !MT_NO_HEAP
/* An unbounded queue that cannot grow: the put fails with MT_ENOMEM, from
 * plain code and from a task, and the items already in stay, in order. */
struct putter { mt_task task; mt_queue *q; int item, err; };

static int putter(mt_task *t)
{
    struct putter *f = (struct putter *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_QUEUE_PUT(t, f->q, &f->item, 1000));
    f->err = mt_err(t);
    MT_END(t);
}

static void test_alloc_faults(void **state)
{
    static struct putter p;
    mt_queue q;
    int in[20], out, i;
    (void)state;

    for (i = 0; i < 20; i++)
        in[i] = 100 + i;
    /* The first growth (8 slots) works, the second fails: init gives up
     * and frees what it took (leak-checked under ASan and valgrind). */
    fault(F_ALLOC, 1, 1, ENOMEM);
    assert_int_equal(mt_queue_init(&q, NULL, sizeof(int), 0, in, 20), MT_ENOMEM);

    assert_int_equal(mt_queue_init(&q, NULL, sizeof(int), 0, in, 8), 0);
    fault(F_ALLOC, 0, 2, ENOMEM);
    assert_int_equal(mt_queue_try_put(&q, &in[8]), MT_ENOMEM);
    p.q = &q;
    p.item = in[8];
    assert_int_equal(mt_sched_add(&s, &p.task, putter), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(p.err, MT_ENOMEM);
    assert_int_equal(mt_queue_len(&q), 8);
    assert_int_equal(mt_queue_try_put(&q, &in[8]), 0); /* memory again */
    for (i = 0; i < 9; i++) {
        assert_int_equal(mt_queue_try_get(&q, &out), 0);
        assert_int_equal(out, in[i]);
    }
    assert_int_equal(mt_queue_try_get(&q, &out), MT_EAGAIN);
    assert_int_equal(mt_queue_free(&q), 0);
}

#if MT_BACKEND != MT_BACKEND_SELECT
/* The backend's own memory (poll's array, epoll's table) running out: the
 * waiter hears MT_ENOMEM at once instead of waiting on a loop that cannot
 * see its descriptor; a bystander goes on; the next wait works. */
static void test_backend_alloc_fault(void **state)
{
    static struct rw a, b;
    static struct bystander by;
    int sv[2];
    (void)state;

    unix_pair(sv);
    a.fd = sv[0], a.op = 1;
    fault(F_ALLOC, 0, 1, ENOMEM);
    assert_int_equal(mt_sched_add(&s, &a.task, rw), 0);
    assert_int_equal(mt_sched_add(&s, &by.task, bystander), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(a.err, MT_ENOMEM);
    assert_int_equal(mt_state(&by.task), MT_DONE);
    assert_int_equal(mt_sched_has_io_waits(&s), 0);

    memset(&a, 0, sizeof a);
    a.fd = sv[0], a.op = 1;
    b.fd = sv[1], b.op = 3;
    assert_int_equal(mt_sched_add(&s, &a.task, rw), 0);
    assert_int_equal(mt_sched_add(&s, &b.task, rw), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(a.err, 0);
    assert_int_equal(a.n, 5);
    close(sv[0]);
    close(sv[1]);
}
#endif
#endif

/* The system calls of an echo round trip over loopback TCP, each read
 * with a 30 s timeout, in the steady state: on epoll a recv and a send (a
 * read that came short drained the socket: the next waits without trying;
 * the descriptor stays registered: no epoll_ctl) and one epoll_wait, as a
 * hand-written loop; select and poll try the recv first: EAGAIN. */
struct echo { mt_task task; int fd, rounds; char buf[64]; ssize_t n; };

static int echo(mt_task *t)
{
    struct echo *f = (struct echo *)t;
    MT_BEGIN(t);
    for (;;) {
        MT_RECV(t, f->fd, f->buf, sizeof f->buf, 0, &f->n, 30000);
        if (f->n == 0)
            break;
        MT_SEND(t, f->fd, f->buf, (size_t)f->n, 0, &f->n, 30000);
        f->rounds++;
    }
    MT_END(t);
}

/* The peer (blocking) sends, the scheduler blocks until it came. */
static void round_trip(int peer)
{
    char b[8];
    assert_int_equal(write(peer, "ping", 4), 4);
    assert_true(mt_sched_run_once(&s, MT_FOREVER) >= 1);
    assert_int_equal(read(peer, b, sizeof b), 4);
    assert_memory_equal(b, "ping", 4);
}

/* sv[0]: the server's end, non-blocking; sv[1]: the peer's, blocking. */
static void loopback_tcp(int sv[2])
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(l >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
    assert_int_equal(listen(l, 1), 0);
    sv[1] = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(sv[1] >= 0);
    assert_int_equal(connect(sv[1], (struct sockaddr *)&a, sizeof a), 0);
    sv[0] = accept(l, NULL, NULL);
    assert_true(sv[0] >= 0);
    assert_int_equal(mt_fd_nonblock(sv[0]), 0);
    close(l);
}

static void test_round_trip_calls(void **state)
{
    static struct echo e;
    int sv[2], i;
    (void)state;

    loopback_tcp(sv);
    e.fd = sv[0];
    assert_int_equal(mt_sched_add(&s, &e.task, echo), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    round_trip(sv[1]); /* the first: registers, learns the type */
    memset(calls, 0, sizeof calls);
    for (i = 0; i < 10; i++)
        round_trip(sv[1]);
    assert_int_equal(e.rounds, 11);
    assert_int_equal(calls[F_SEND], 10);
    if (MT_BACKEND != MT_BACKEND_POLL) /* poll's shim counts only waits on 2+ */
        assert_int_equal(calls[F_WAIT], 10);
    assert_int_equal(calls[F_RECV], MT_BACKEND == MT_BACKEND_EPOLL ? 10 : 20);
    assert_int_equal(calls[F_CTL], 0);
    close(sv[1]); /* the peer hangs up: the echo ends */
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(mt_state(&e.task), MT_DONE);
    close(sv[0]);
}

/* Readiness the epoll backend must not lose. Each case would end at once
 * on poll and select; on epoll a lost edge leaves the task waiting until
 * the check of the registrations (idle, or within a second) modifies its
 * registration: so each asserts that no epoll_ctl was needed once the
 * descriptor was registered (on select and poll there is none anyway). */
struct sink {
    mt_task task;
    int fd, op; /* 0 MT_READ, 1 MT_RECV, 2 MT_READLINE */
    char buf[64], lbuf[64];
    mt_line lb;
    ssize_t n;
    size_t total;
    int err;
};

static int sink(mt_task *t)
{
    struct sink *f = (struct sink *)t;
    MT_BEGIN(t);
    mt_line_init(&f->lb, f->lbuf, sizeof f->lbuf);
    for (;;) {
        if (f->op == 0) {
            MT_CATCH(t, MT_READ(t, f->fd, f->buf, sizeof f->buf, &f->n, 30000));
        } else if (f->op == 1) {
            MT_CATCH(t, MT_RECV(t, f->fd, f->buf, sizeof f->buf, 0, &f->n, 30000));
        } else {
            MT_CATCH(t, MT_READLINE(t, f->fd, &f->lb, 30000));
            f->n = (ssize_t)f->lb.line;
        }
        f->err = mt_err(t);
        if (f->err || f->n == 0)
            break;
        f->total += (size_t)f->n;
    }
    MT_END(t);
}

/* Start a sink on fd and let it park (registered); count from there. */
static void start_sink(struct sink *k, int fd, int op)
{
    memset(k, 0, sizeof *k);
    k->fd = fd, k->op = op;
    assert_int_equal(mt_sched_add(&s, &k->task, sink), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    memset(calls, 0, sizeof calls);
}

/* Data and the peer's end of file come in one edge: the read of the data
 * is short, and the end of file is still to be read. */
static void eof_case(int tcp, int op)
{
    static struct sink k;
    int sv[2];

    if (tcp)
        loopback_tcp(sv);
    else
        unix_pair(sv);
    start_sink(&k, sv[0], op);
    assert_int_equal(write(sv[1], "hello", 5), 5);
    assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(k.err, 0);
    assert_int_equal(k.total, 5);
    assert_int_equal(calls[F_CTL], 0);
    assert_int_equal(mt_sched_close(&s, sv[0]), 0); /* its number is next */
    close(sv[1]);
}

static void test_eof_after_short_read(void **state)
{
    (void)state;
    eof_case(0, 0);
    eof_case(1, 1);
    eof_case(1, 0);
    eof_case(0, 2);
    eof_case(1, 2);
}

/* recv(MSG_OOB) returns the urgent byte: short, and the normal data
 * waits behind it. */
struct oob { mt_task task; int fd, err, ready; char buf[64]; ssize_t n1, n2; };

static int oob(mt_task *t)
{
    struct oob *f = (struct oob *)t;
    MT_BEGIN(t);
    MT_CATCH(t, MT_WAIT_FD(t, f->fd, MT_EXCEPT, 30000));
    f->ready = mt_fd_ready(t);
    MT_CATCH(t, MT_RECV(t, f->fd, f->buf, 16, MSG_OOB, &f->n1, 30000));
    MT_CATCH(t, MT_RECV(t, f->fd, f->buf, sizeof f->buf, 0, &f->n2, 30000));
    f->err = mt_err(t);
    MT_END(t);
}

static void test_recv_oob_is_no_drain(void **state)
{
    static struct oob k;
    int sv[2];
    (void)state;

    loopback_tcp(sv);
    k.fd = sv[0];
    assert_int_equal(mt_sched_add(&s, &k.task, oob), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    memset(calls, 0, sizeof calls);
    assert_int_equal(send(sv[1], "hello", 5, 0), 5);
    assert_int_equal(send(sv[1], "!", 1, MSG_OOB), 1);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(k.err, 0);
    assert_int_equal(k.n1, 1);
    assert_int_equal(k.n2, 5);
    assert_int_equal(calls[F_CTL], 0);
    assert_int_equal(mt_sched_close(&s, sv[0]), 0);
    close(sv[1]);
}

/* A Unix stream read stops after a message that carried descriptors
 * (SCM_RIGHTS): short, with more queued behind it. */
static void send_with_fd(int sock, int passed)
{
    char c = 'a';
    struct iovec iov;
    struct msghdr m;
    union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
    struct cmsghdr *cm;

    memset(&m, 0, sizeof m);
    memset(&u, 0, sizeof u);
    iov.iov_base = &c;
    iov.iov_len = 1;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.b;
    m.msg_controllen = sizeof u.b;
    cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &passed, sizeof passed);
    assert_int_equal(sendmsg(sock, &m, 0), 1);
}

static void test_unix_read_stops_at_passed_fd(void **state)
{
    static struct sink k;
    int sv[2], got;
    char b[8];
    (void)state;

    unix_pair(sv);
    start_sink(&k, sv[0], 0);
    send_with_fd(sv[1], 0);
    assert_int_equal(write(sv[1], "bcd", 3), 3);
    assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(k.total, 4);
    assert_int_equal(calls[F_CTL], 0);
    /* the passed descriptor, received with read(): closed by the kernel */
    got = (int)read(sv[0], b, sizeof b);
    assert_int_equal(got, 0);
    assert_int_equal(mt_sched_close(&s, sv[0]), 0);
    close(sv[1]);
}

/* A child after fork closes its copy with mt_sched_close: the epoll
 * instance is shared, and must keep the parent's registration. */
static void test_fork_child_close(void **state)
{
    static struct sink k;
    int sv[2], st;
    pid_t pid;
    (void)state;

    unix_pair(sv);
    start_sink(&k, sv[0], 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        (void)mt_sched_close(&s, sv[0]);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(k.total, 1);
    assert_int_equal(calls[F_CTL], 0);
    assert_int_equal(mt_sched_close(&s, sv[0]), 0);
    close(sv[1]);
}

/* What epoll's edges reported is "seen since an operation found it not
 * ready", not "ready now": a waiter merged in from another scheduler
 * must not be told an empty socket is readable. */
struct fdwait { mt_task task; int fd, ready, err, then_read; };

static int fdwait(mt_task *t)
{
    struct fdwait *f = (struct fdwait *)t;
    char c;
    MT_BEGIN(t);
    MT_CATCH(t, MT_WAIT_FD(t, f->fd, MT_READABLE, MT_FOREVER));
    f->err = mt_err(t);
    f->ready = mt_fd_ready(t);
    if (f->then_read) /* the documented use: wait, then read yourself */
        assert_int_equal(read(f->fd, &c, 1), 1);
    MT_END(t);
}

static void test_merge_not_ready(void **state)
{
    mt_sched b;
    static struct fdwait w1, w2;
    int sv[2];
    char c;
    (void)state;

    unix_pair(sv);
    mt_sched_init(&b);
    w1.fd = w2.fd = sv[0];
    w1.then_read = 1;
    assert_int_equal(mt_sched_add(&s, &w1.task, fdwait), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(w1.ready, MT_READABLE);
    assert_int_equal(mt_sched_add(&b, &w2.task, fdwait), 0);
    assert_int_equal(mt_sched_run_once(&b, 0), 1);
    assert_int_equal(read(sv[0], &c, 1), -1); /* nothing to read */
    assert_int_equal(mt_sched_merge(&s, &b), 0);
    (void)mt_sched_run_once(&s, 0);
    assert_int_equal(mt_state(&w2.task), MT_WAITING);
    assert_int_equal(write(sv[1], "y", 1), 1);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(w2.err, 0);
    assert_int_equal(w2.ready, MT_READABLE);
    close(sv[0]);
    close(sv[1]);
    assert_int_equal(mt_sched_destroy(&b), 0);
}

/* A wait with timeout 0 is a poll: it tries, whatever epoll knew. */
struct try0 { mt_task task; int fd, peer, err0, err1, ready; char b[8]; ssize_t n0, n1; };

static int try0(mt_task *t)
{
    struct try0 *f = (struct try0 *)t;
    MT_BEGIN(t);
    MT_READ(t, f->fd, f->b, sizeof f->b, &f->n0, MT_FOREVER); /* "x": short */
    assert_int_equal(write(f->peer, "y", 1), 1);
    MT_CATCH(t, MT_WAIT_FD(t, f->fd, MT_READABLE, 0));
    f->err0 = mt_err(t);
    f->ready = mt_fd_ready(t);
    MT_CATCH(t, MT_READ(t, f->fd, f->b, sizeof f->b, &f->n1, 0));
    f->err1 = mt_err(t);
    MT_END(t);
}

static void test_timeout0_tries(void **state)
{
    static struct try0 k;
    int sv[2];
    (void)state;

    loopback_tcp(sv); /* TCP: a short read is taken for a drain */
    k.fd = sv[0], k.peer = sv[1];
    assert_int_equal(mt_sched_add(&s, &k.task, try0), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    assert_int_equal(write(sv[1], "x", 1), 1);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(k.n0, 1);
    assert_int_equal(k.err0, 0);
    assert_int_equal(k.ready, MT_READABLE);
    assert_int_equal(k.err1, 0);
    assert_int_equal(k.n1, 1);
    close(sv[0]);
    close(sv[1]);
}

/* A descriptor still registered with no task waiting on it costs a
 * yielding loop (the bystander) no system call: its edges are taken only
 * in cycles with nothing runnable. */

static void test_idle_registration_costs_no_call(void **state)
{
    static struct sink k;
    static struct bystander y;
    int sv[2];
    (void)state;

    unix_pair(sv);
    start_sink(&k, sv[0], 0);
    assert_int_equal(shutdown(sv[1], SHUT_WR), 0); /* the sink ends, fd stays */
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(mt_sched_add(&s, &y.task, bystander), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 1);
    memset(calls, 0, sizeof calls);
    while (mt_state(&y.task) != MT_DONE)
        (void)mt_sched_run_once(&s, 0);
    assert_int_equal(calls[F_WAIT], 0);
    assert_int_equal(mt_sched_close(&s, sv[0]), 0);
    close(sv[1]);
}

/* A clock that jumps far ahead: every due timer fires, in deadline order,
 * once; a wait with a deadline times out; nothing fires twice. */
static int order[3], norder;
struct sleeper { mt_task task; long ms; int id; };

static int sleeper(mt_task *t)
{
    struct sleeper *f = (struct sleeper *)t;
    MT_BEGIN(t);
    MT_SLEEP(t, f->ms);
    order[norder++] = f->id;
    MT_END(t);
}

static void test_clock_jump(void **state)
{
    static struct sleeper a, b, c;
    (void)state;

    jump_now = (mt_time)((mt_time)-1 - 0xFF); /* just below the wrap */
    mt_sched_set_clock(&s, jump_clock, NULL, NULL);
    a.ms = 300, a.id = 3;
    b.ms = 100, b.id = 1;
    c.ms = 200, c.id = 2;
    norder = 0;
    assert_int_equal(mt_sched_add(&s, &a.task, sleeper), 0);
    assert_int_equal(mt_sched_add(&s, &b.task, sleeper), 0);
    assert_int_equal(mt_sched_add(&s, &c.task, sleeper), 0);
    assert_int_equal(mt_sched_run_once(&s, 0), 3);
    jump_now = (mt_time)(jump_now + 5000); /* past all three, across the wrap */
    assert_int_equal(mt_sched_run_once(&s, 0), 3);
    assert_int_equal(norder, 3);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 3);
    assert_int_equal(mt_sched_run(&s), 0);
    assert_int_equal(norder, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_eintr_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spurious_eagain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_and_pipe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uncaught_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_transfers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accept_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_fault, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backend_wait_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_timeouts, setup, teardown),
#if MT_BACKEND == MT_BACKEND_EPOLL
        cmocka_unit_test_setup_teardown(test_epoll_ctl_faults, setup, teardown),
#endif
        cmocka_unit_test_setup_teardown(test_clock_jump, setup, teardown),
        cmocka_unit_test_setup_teardown(test_round_trip_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eof_after_short_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recv_oob_is_no_drain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unix_read_stops_at_passed_fd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fork_child_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_not_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout0_tries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_registration_costs_no_call, setup, teardown),
#if !MT_NO_HEAP
        cmocka_unit_test_setup_teardown(test_alloc_faults, setup, teardown),
#if MT_BACKEND != MT_BACKEND_SELECT
        cmocka_unit_test_setup_teardown(test_backend_alloc_fault, setup, teardown),
#endif
#endif
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    printf("faults injected: %lu\n", injected);
    return r;
}
#else
#include <stdio.h>
int main(void)
{
    puts("test_faults: no I/O layer in this build, nothing to inject");
    return 0;
}
#endif
